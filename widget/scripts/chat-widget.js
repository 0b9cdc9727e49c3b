/* The widget (a first version: live agent count and wait time). */
(function () {
  'use strict';
  var config = window.publicStatsWidget.config;
  var host = config.scriptHost || '/';
  var css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = host + 'style/widget.css';
  document.head.appendChild(css);

  function mount() {
    var box = document.createElement('aside');
    box.className = 'psw';
    box.setAttribute('aria-live', 'polite');
    box.textContent = 'Connecting…';
    document.body.appendChild(box);
    var base = config.statsWebsocketUri || (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
    var socket = new WebSocket(base + '/');
    socket.onmessage = function (event) {
      var stats = JSON.parse(event.data).queueStats || {};
      var queue = stats[config.queueId];
      if (queue) box.textContent = queue.availableAgents + ' agents available';
    };
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
