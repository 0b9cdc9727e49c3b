/* Loaded first by every test page: records what the tests assert on that the page itself would
   otherwise lose — Content-Security-Policy violations, uncaught errors and WebSockets opened. */
window.__testProbe = { csp: [], errors: [] };
document.addEventListener('securitypolicyviolation', function (e) {
  window.__testProbe.csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' [' + e.sample + ']' +
    ' at ' + e.sourceFile + ':' + e.lineNumber);
});
window.addEventListener('error', function (e) {
  window.__testProbe.errors.push(String(e.message) + ' at ' + e.filename + ':' + e.lineno);
});
// Every WebSocket the page opens, by URL (the widget's live statistics, its chat).
window.__testProbe.sockets = [];
(function (Native) {
  function Probe(url, protocols) {
    window.__testProbe.sockets.push(String(url));
    return protocols === undefined ? new Native(url) : new Native(url, protocols);
  }
  Probe.prototype = Native.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { Probe[k] = Native[k]; });
  window.WebSocket = Probe;
})(window.WebSocket);
