/* Loader: reads window.pureCloudCustomChatConfig and loads the widget from scriptHost. */
(function () {
  'use strict';
  var config = window.pureCloudCustomChatConfig;
  if (!config || !config.queueId) {
    console.error('public-stats: define pureCloudCustomChatConfig with a queueId before loading chat-injector.js');
    return;
  }
  if (window.publicStatsWidget) return;
  window.publicStatsWidget = { config: config };
  var host = config.scriptHost || '/';
  var script = document.createElement('script');
  script.src = host + 'scripts/chat-widget.js';
  script.async = true;
  document.head.appendChild(script);
})();
