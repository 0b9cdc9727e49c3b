// Wraps the page's fetch for the callback tests: see record_requests in callback.rs.
window.__callbackRequests = [];
window.__callbackFaults = [];
(function () {
  var realFetch = window.fetch;
  window.fetch = function (input, init) {
    if (String(input).indexOf('/api/callback') < 0) return realFetch.call(window, input, init);
    var record = {
      key: new Headers(init.headers).get('Idempotency-Key'),
      body: JSON.parse(init.body),
      fault: window.__callbackFaults.shift() || null
    };
    window.__callbackRequests.push(record);
    if (record.fault === 'offline') return Promise.reject(new TypeError('Failed to fetch'));
    return realFetch.call(window, input, init).then(function (response) {
      return response.clone().json().catch(function () { return null; }).then(function (answer) {
        record.answer = answer;
        record.retryAfter = response.headers.get('Retry-After');
        record.status = response.status;
        if (record.fault === 'lose') throw new TypeError('Failed to fetch');
        return response;
      });
    });
  };
})();
