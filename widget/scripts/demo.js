// Demo page only: uses the widget's global API. This script may run before the async loader: a
// call is then queued in { q: [[method, args]] }, which the loader adopts and the widget replays.
(function () {
  'use strict';
  function widget(method) {
    var args = [].slice.call(arguments, 1);
    var w = window.publicStatsWidget;
    if (w && w.v) w[method].apply(w, args);
    else (window.publicStatsWidget = w || { q: [] }).q.push([method, args]);
  }
  document.getElementById('demo-open-chat').addEventListener('click', function () { widget('open', 'chat'); });
  document.getElementById('demo-open-callback').addEventListener('click', function () { widget('open', 'callback'); });
  var last = document.getElementById('demo-last-event');
  ['ready', 'opened', 'closed', 'stats', 'hours', 'message', 'callback', 'chatstarted', 'chatended', 'error'].forEach(function (name) {
    widget('on', name, function (data) {
      last.textContent = name + (data && data.availableAgents != null ? ' (' + data.availableAgents + ' available)' : '') +
        (name === 'hours' && data ? ' (' + (data.open ? 'open' : data.reason) + ')' : '');
    });
  });
})();
