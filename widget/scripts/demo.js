// Demo page only: shows the widget's global API (queued calls work before the widget has loaded).
(function () {
  'use strict';
  var widget = window.publicStatsWidget;
  if (!widget) return;
  document.getElementById('demo-open-chat').addEventListener('click', function () { widget.open('chat'); });
  document.getElementById('demo-open-callback').addEventListener('click', function () { widget.open('callback'); });
  var last = document.getElementById('demo-last-event');
  ['ready', 'opened', 'closed', 'stats', 'message', 'callback', 'chatstarted', 'chatended', 'error'].forEach(function (name) {
    widget.on(name, function (data) {
      last.textContent = name + (data && data.availableAgents != null ? ' (' + data.availableAgents + ' available)' : '');
    });
  });
})();
