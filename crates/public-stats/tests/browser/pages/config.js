/* config.html: the top-level settings of the JSON in ?c= replace the demo configuration's. */
(function () {
  var c = window.pureCloudCustomChatConfig;
  var extra = JSON.parse(new URLSearchParams(location.search).get('c') || '{}');
  Object.keys(extra).forEach(function (k) {
    if (extra[k] === null) delete c[k]; else c[k] = extra[k];
  });
})();
