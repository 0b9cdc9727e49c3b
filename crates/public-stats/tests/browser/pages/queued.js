/* queued.html: uses the widget's API before the loader has run, as widget/README.md documents. */
window.__queued = { loaderWasThere: !!window.publicStatsWidget, opened: [], ready: 0 };
(window.publicStatsWidget = window.publicStatsWidget || { q: [] }).q.push(
  ['on', ['opened', function (data) { window.__queued.opened.push(data); }]],
  ['on', ['ready', function () { window.__queued.ready++; }]],
  ['open', ['callback']]
);
