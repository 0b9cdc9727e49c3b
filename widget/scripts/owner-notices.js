/*! public-stats widget: what the console tells the site's owner about the page's settings.
 * Loaded only when there is something to tell; never shown to visitors. See widget/README.md. */
// Each text is logged once per page view, with its {placeholders} filled in by chat-widget.js
// (tellOwner). They say what was found and which setting to change, because a visitor's symptom
// ("Checking availability", "could not be sent") tells the owner nothing.
window.publicStatsWidget.addNotices({
  chatEnvironment: 'webMessaging.deploymentId needs webMessaging.environment (e.g. "mypurecloud.com") or ' +
    'webMessaging.url: the chat is not offered.',
  legacyChat: 'pureCloudChatConfig configures the retired Genesys web chat, which this widget cannot use: the ' +
    'chat is not offered (callbacks only). To offer a chat, create a Web Messaging deployment in Genesys Cloud ' +
    'and add webMessaging: { deploymentId: "...", environment: "mypurecloud.com" } to pureCloudCustomChatConfig.',
  autoConnect: 'autoConnect is true, but no chat is configured: the chat is not offered (callbacks only). To ' +
    'offer a chat, create a Web Messaging deployment in Genesys Cloud and add webMessaging: { deploymentId: "...", environment: "mypurecloud.com" } to pureCloudCustomChatConfig.',
  openChat: 'open("chat") was called, but no chat is configured: the chooser opens instead. To offer a chat, ' +
    'create a Web Messaging deployment in Genesys Cloud and add webMessaging: { deploymentId: "...", environment: "mypurecloud.com" } to pureCloudCustomChatConfig.',
  container: 'an element with id "{value}" already exists in the page: the widget is not shown. Set containerEl ' +
    'to an id the page does not use.',
  scriptHost: 'scriptHost "{value}" points to {url}, which does not serve the widget, so it is loaded from ' +
    '{own}, where chat-injector.js came from. Set scriptHost to "{own}" or leave it out.',
  contrast: 'chatWidget.color "{color}" on chatWidget.backgroundColor "{background}" has a contrast of only ' +
    '{ratio}:1 (WCAG AA asks 4.5:1 for text): the widget writes in {better} instead. Choose colours with 4.5:1 ' +
    'or more to use your own.',
  logo: 'header.logo "{value}" could not be loaded (from {url}): the built-in logo is shown instead. Set ' +
    'header.logo to the full URL of an image that exists, or leave it out.',
  wrongAddress: 'statsWebsocketUri "{value}" does not reach the stats service ({found} at {url}), so the ' +
    'widget uses {service}, where its own files come from. Set statsWebsocketUri to "{socket}" or leave it out.',
  unreachable: 'the stats service does not answer at {url} ({found}; {setting} is "{value}"): availability is ' +
    'not shown and callbacks are not offered. Set {setting} to the address of the public-stats service.',
  socket: 'the live statistics socket {url} does not connect, although the service answers at {service}: the ' +
    'counts are refreshed every 15 s instead of live. A proxy in front of the service may not pass WebSockets.',
  queue: 'queueId "{value}" is not a queue this service publishes (the service says: {detail}): availability is ' +
    'not shown and callbacks are not offered. Use the ID of one of the queues in the service\'s ' +
    'PURECLOUD_MONITORED_QUEUES; {service}api/queues lists them.',
  socketOrigin: 'the service at {service} refused the live statistics socket: this page\'s origin, {origin}, is not ' +
    'in the service\'s ALLOWED_ORIGINS, so the counts are refreshed every 15 s instead of live and callbacks are ' +
    'refused too. Add it there, e.g. ALLOWED_ORIGINS={origin} (ALLOWED_ORIGINS=* admits any site).',
  origin: 'the browser refused to send the callback request to {service}: this page\'s origin, {origin}, is ' +
    'most likely not in the service\'s ALLOWED_ORIGINS (the service logs the origins it refuses). Add it ' +
    'there, e.g. ALLOWED_ORIGINS={origin}',
  callback: 'the service refused the callback request (HTTP {status}): {detail} The visitor was asked to try ' +
    'again; this is about the page\'s settings, not what the visitor typed.'
});
