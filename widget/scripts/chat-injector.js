/*! public-stats widget loader. Reads window.pureCloudCustomChatConfig, defines one global,
 * window.publicStatsWidget (open, close, toggle, on, off; calls made before the widget has loaded
 * are queued and replayed), and loads scripts/chat-widget.js from scriptHost. See widget/README.md. */
(function (w, d) {
  'use strict';
  var api = w.publicStatsWidget;
  if (api && api.v) return; // included twice: one widget
  // A page may have created a stub { q: [] } itself; keep its queued calls.
  var q = (api && api.q) || [];
  api = w.publicStatsWidget = { v: 1, q: q };
  ['open', 'close', 'toggle', 'on', 'off'].forEach(function (m) {
    api[m] = function () {
      q.push([m, [].slice.call(arguments)]);
      return api;
    };
  });
  var c = w.pureCloudCustomChatConfig;
  if (!c || typeof c !== 'object' || typeof c.queueId !== 'string' || !c.queueId) {
    console.error('public-stats widget: window.pureCloudCustomChatConfig.queueId is required ' +
      '(define pureCloudCustomChatConfig = { queueId: "…" } before chat-injector.js); the widget is not shown.');
    return;
  }
  var me = d.currentScript;
  var host = c.scriptHost || (me && me.src ? me.src.replace(/scripts\/[^/]*$/, '') : '/');
  if (host.slice(-1) !== '/') host += '/';
  api.host = host;
  api.nonce = (me && me.nonce) || '';
  // Trusted Types: a page enforcing them must allow the policy name "public-stats".
  var tt = null;
  try {
    if (w.trustedTypes) tt = w.trustedTypes.createPolicy('public-stats', { createScriptURL: function (s) { return s; } });
  } catch (e) { /* policy not allowed: plain strings */ }
  // Loads scriptHost + path once; cb(ok).
  api.load = function (path, cb) {
    var s = d.createElement('script');
    var url = host + path;
    s.src = tt ? tt.createScriptURL(url) : url;
    s.async = true;
    if (api.nonce) s.nonce = api.nonce;
    s.onload = function () { if (cb) cb(true); };
    s.onerror = function () {
      console.error('public-stats widget: could not load ' + url);
      if (cb) cb(false);
    };
    (d.head || d.documentElement).appendChild(s);
  };
  api.load('scripts/chat-widget.js');
})(window, document);
