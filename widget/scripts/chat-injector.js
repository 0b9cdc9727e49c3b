/*! public-stats widget loader. Reads pureCloudCustomChatConfig, defines one global,
 * window.publicStatsWidget (open, close, toggle, on, off; calls made before the widget has loaded
 * are queued and replayed), and loads scripts/chat-widget.js from scriptHost. See widget/README.md. */
// Served ASCII only (comments are left out): the page that loads it may declare no charset.
(function (w, d) {
  'use strict';
  var api = w.publicStatsWidget;
  // Included twice: one widget.
  if (api && api.v) return;
  // A page may have created a stub { q: [] } itself; keep its queued calls.
  var q = (api && api.q) || [];
  api = w.publicStatsWidget = { v: 1, q: q };
  ['open', 'close', 'toggle', 'invite', 'on', 'off'].forEach(function (m) {
    api[m] = function () {
      q.push([m, [].slice.call(arguments)]);
      return api;
    };
  });
  // The seed's pages declare their settings with `const` or `let`: a global binding that every
  // classic script sees, but not a property of window. `typeof` reads both kinds (and `var`).
  var c = typeof pureCloudCustomChatConfig !== 'undefined' ? pureCloudCustomChatConfig : null;
  // The settings of the seed's retired web chat, only to tell the owner it is not used.
  api.legacyChat = typeof pureCloudChatConfig !== 'undefined' ? pureCloudChatConfig : null;
  if (!c || typeof c !== 'object' || typeof c.queueId !== 'string' || !c.queueId) {
    console.error('public-stats widget: pureCloudCustomChatConfig.queueId is required ' +
      '(define pureCloudCustomChatConfig = { queueId: "..." } before chat-injector.js); the widget is not shown.');
    return;
  }
  api.config = c;
  var me = d.currentScript;
  function folder(url) { return new URL(url, location.href).href.replace(/\/?$/, '/'); }
  // The folder this loader came from (.../scripts/chat-injector.js: .../): the widget's other
  // files are there too.
  var own = me && me.src ? folder(me.src.replace(/scripts\/[^/]*$/, '')) : '';
  api.host = c.scriptHost ? folder(c.scriptHost) : own || folder('/');
  api.nonce = (me && me.nonce) || '';
  // Trusted Types: a page enforcing them must allow the policy name "public-stats".
  var tt = null;
  try {
    if (w.trustedTypes) tt = w.trustedTypes.createPolicy('public-stats', { createScriptURL: function (s) { return s; } });
  } catch (e) { /* policy not allowed: plain strings */ }
  // Loads api.host + path once; cb(ok). `quiet`: the caller reports a failure itself.
  api.load = function (path, cb, quiet) {
    var s = d.createElement('script');
    var url = api.host + path;
    s.src = tt ? tt.createScriptURL(url) : url;
    s.async = true;
    // The files are UTF-8; without this a page with no charset would decode them as its own.
    s.charset = 'utf-8';
    if (api.nonce) s.nonce = api.nonce;
    s.onload = function () { if (cb) cb(true); };
    s.onerror = function () {
      if (!quiet) console.error('public-stats widget: could not load ' + url);
      if (cb) cb(false);
    };
    (d.head || d.documentElement).appendChild(s);
  };
  // scriptHost is often the seed's '/', which on a page of another site is that site, not the
  // service: the widget is then loaded from where this loader came from (chat-widget.js tells
  // the owner, from api.movedFrom).
  var elsewhere = own && own !== api.host;
  api.load('scripts/chat-widget.js', function (ok) {
    if (api.widgetLoaded || !elsewhere) return;
    api.movedFrom = api.host;
    api.host = own;
    api.load('scripts/chat-widget.js');
  }, elsewhere);
})(window, document);
