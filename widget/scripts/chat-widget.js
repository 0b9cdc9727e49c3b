/*! public-stats widget: header, channel chooser with live statistics. The callback form is in
 * chat-callback.js, loaded when it is first shown; the chat (Web Messaging) in chat-messaging.js,
 * loaded when a chat starts. See widget/README.md. */

/* Code map, in file order (the same map is in widget/README.md):
 *   Settings      window.pureCloudCustomChatConfig → `settings`, with the defaults
 *   Strings       English `strings`, language packs, localized(), localizedPlural(), waitText()
 *   Events        on/off/emit behind the public API's events
 *   DOM helpers   buildElement() (text only ever as textContent), icon(), storage, chatRecord
 *   Reconnecting  createReconnector(): full-jitter backoff, also used by chat-messaging.js
 *   Mounting      mount() and its steps: host element, header, chooser, panel, API, restore
 *   Open/close    setOpen(), showView(), focus, header text, phone viewport, announce()
 *   Statistics    live socket, REST fallback → "N agents available" and the estimated wait
 *   Hours         business hours: "Open now" / "Closed — opens …", and what each channel offers
 *   Callback      loads chat-callback.js (the form) when it is first shown
 *   Chat          loads chat-messaging.js on first use; `internals` is what both get from here
 *   Start         the language pack, then mount() once <body> exists
 */
(function () {
  'use strict';
  // Set up by chat-injector.js.
  var api = window.publicStatsWidget;
  // No loader, or this file included twice.
  if (!api || !api.v || api.widgetLoaded) return;
  api.widgetLoaded = true;

  // ---- Settings (names and defaults documented in widget/README.md) ----
  // The page's pureCloudCustomChatConfig, found by the loader.
  var config = api.config;
  var chatWidgetConfig = config.chatWidget || {};
  var headerConfig = config.header || {};
  var webMessagingConfig = config.webMessaging || {};
  var callbackConfig = config.callback || {};
  var hoursConfig = config.hours || {};
  var availabilityConfig = config.availability || {};
  var scriptHost = api.host;
  // object[key], unless it is absent or empty.
  function valueOr(object, key, fallback) {
    return object[key] != null && object[key] !== '' ? object[key] : fallback;
  }
  function absoluteUrl(url) { return new URL(url, location.href); }
  // The URL as a base ending in '/', or '' when it is not a URL at all.
  function withSlash(url) {
    try { return absoluteUrl(url).href.replace(/\/?$/, '/'); } catch (e) { return ''; }
  }
  function httpOf(url) { return url.replace(/^ws/, 'http'); }
  function wsOf(url) { return url.replace(/^http/, 'ws'); }

  // Messages for the site's owner, in the console: each at most once per `topic` (default: its
  // key), never shown to visitors. Their texts are in owner-notices.js, loaded only when there
  // is something to tell.
  var toldOwner = {};
  // Key → text, once owner-notices.js has run.
  var ownerNotices = null;
  // [key, values, console method], waiting for the texts.
  var untold = [];
  function tellOwner(key, values, level, topic) {
    if (toldOwner[topic || key]) return;
    toldOwner[topic || key] = true;
    untold.push([key, values || {}, level || 'error']);
    if (ownerNotices) flushNotices();
    else if (untold.length === 1) api.load('scripts/owner-notices.js', flushNotices);
  }
  api.addNotices = function (texts) { ownerNotices = texts; };
  function flushNotices() {
    untold.splice(0).forEach(function (notice) {
      var text = ownerNotices ? fill(ownerNotices[notice[0]], notice[1]) : notice[0] + ' ' + JSON.stringify(notice[1]);
      console[notice[2]]('public-stats widget: ' + text);
    });
  }

  // The service: serviceUrl, else the address in statsWebsocketUri, else where the widget's files
  // came from. The seed's pages often keep its default statsWebsocketUri (ws://localhost:8080) or
  // an old address: when that does not answer, the service is looked for where the files came
  // from (see serviceMissing()).
  var filesOrigin = withSlash(absoluteUrl(scriptHost).origin);
  var statsBase = config.statsWebsocketUri ? withSlash(httpOf(String(config.statsWebsocketUri))) : '';
  if (api.movedFrom) tellOwner('scriptHost', { value: config.scriptHost, url: api.movedFrom, own: scriptHost }, 'warn');
  var serviceUrl = (config.serviceUrl && withSlash(config.serviceUrl)) || statsBase || filesOrigin;
  // Where to look for the service when the configured address does not answer.
  var fallbackServiceUrl = !config.serviceUrl && statsBase && statsBase !== filesOrigin && filesOrigin;
  var settings = {
    queueId: config.queueId,
    containerId: valueOr(config, 'containerEl', 'purecloud-chatwidget-chat-container'),
    autoConnect: config.autoConnect === true,
    chatWidth: +valueOr(chatWidgetConfig, 'width', 450),
    chatHeight: +valueOr(chatWidgetConfig, 'height', 500),
    // The background of the seed (Genesys's Node.js sample this widget replaces); its README's
    // `color` default (#4498B4, the background itself) is a typo, and its example's #F6F6F6 has
    // 3.0:1 on it: black has 6.4:1 (WCAG AA needs 4.5:1).
    backgroundColor: valueOr(chatWidgetConfig, 'backgroundColor', '#4498B4'),
    textColor: valueOr(chatWidgetConfig, 'color', '#000000'),
    animationMs: +valueOr(config, 'expandAnimationMs', 800),
    logo: valueOr(headerConfig, 'logo', scriptHost + 'img/logo.svg'),
    serviceUrl: serviceUrl,
    statsSocketUrl: wsOf(statsBase || serviceUrl),
    connectStats: config.connectStats === 'load' ? 'load' : 'open',
    mediaType: config.mediaType || '',
    deploymentId: webMessagingConfig.deploymentId || '',
    zIndex: valueOr(config, 'zIndex', 2147483000),
    countryCode: callbackConfig.countryCode || '',
    showTime: callbackConfig.scheduling !== false,
    // Ask for the business hours at page load, for the collapsed header (one request).
    hoursAtLoad: hoursConfig.inHeader !== false
  };
  if (settings.deploymentId && !webMessagingConfig.environment && !webMessagingConfig.url) {
    tellOwner('chatEnvironment', null, 'error', 'chat');
    settings.deploymentId = '';
  }
  // The seed's pages configure Genesys's retired web chat; its settings cannot become a Web
  // Messaging deployment, so the owner is told what to add instead of the chat silently missing.
  if (!settings.deploymentId && (api.legacyChat || settings.autoConnect)) {
    tellOwner(api.legacyChat ? 'legacyChat' : 'autoConnect', null, 'warn', 'chat');
  }
  // Text on backgroundColor must stay readable (WCAG AA asks 4.5:1): the seed's own example, #F6F6F6
  // on #4498B4, has 3.0:1. Below that the widget writes in black or white, whichever reads
  // better, and tells the owner.
  var textContrast = contrast(settings.textColor, settings.backgroundColor);
  if (textContrast < 4.5) {
    // Black and white read equally well on a luminance of 0.18.
    var betterText = luminance(settings.backgroundColor) > 0.18 ? '#000000' : '#ffffff';
    tellOwner('contrast', { color: settings.textColor, background: settings.backgroundColor, ratio: textContrast.toFixed(1), better: betterText }, 'warn');
    settings.textColor = betterText;
  }
  // The WCAG contrast ratio of two CSS colours (9 when either is not an opaque colour: no check).
  function contrast(first, second) {
    var a = luminance(first);
    var b = luminance(second);
    return a < 0 || b < 0 ? 9 : (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  // The relative luminance of a CSS colour, or -1. A canvas turns any opaque colour into #rrggbb.
  function luminance(color) {
    // #rgb and #rrggbb are read as they are: a first canvas costs the page milliseconds at load.
    var hex = /^#([\da-f])([\da-f])([\da-f])$/i.exec(color);
    if (hex) color = '#' + hex[1] + hex[1] + hex[2] + hex[2] + hex[3] + hex[3];
    if (/^#[\da-f]{6}$/i.test(color)) return lum(color.toLowerCase());
    var canvas = document.createElement('canvas').getContext('2d');
    // Not a colour: the sentinel stays, and matches no #rrggbb below.
    canvas.fillStyle = '#0000';
    canvas.fillStyle = color;
    return lum(canvas.fillStyle);
  }
  function lum(color) {
    var rgb = /^#(..)(..)(..)$/.exec(color);
    return rgb ? .2126 * linear(rgb[1]) + .7152 * linear(rgb[2]) + .0722 * linear(rgb[3]) : -1;
  }
  // An sRGB channel (two hex digits) as linear light.
  function linear(hex) {
    var channel = parseInt(hex, 16) / 255;
    return channel <= .04045 ? channel / 12.92 : Math.pow((channel + .055) / 1.055, 2.4);
  }
  var locale = config.locale || document.documentElement.lang || navigator.language || 'en';
  var language = locale.slice(0, 2).toLowerCase();

  // ---- Strings: English < language pack < config.strings < config.header.* ----
  var strings = {
    defaultText: 'Click here to chat',
    activeText: 'Chatting with PureCloud',
    previewText: 'Choose a channel',
    checking: 'Checking availability…',
    unknown: 'Live availability is not known right now.',
    noChannel: 'You cannot contact us here right now. Please try again later.',
    agents_one: '{n} agent available',
    agents_other: '{n} agents available',
    noAgents: 'No agents are available right now.',
    steer: "Leave your number and we'll call you back as soon as someone is free.",
    wait: 'Estimated wait: {t}',
    lessMinute: 'less than a minute',
    minutes_one: 'about {n} minute',
    minutes_other: 'about {n} minutes',
    overHour: 'more than an hour',
    chatTile: 'Chat with an expert',
    callbackTile: "Let us call you back when we're available",
    unread_one: '{n} new message',
    unread_other: '{n} new messages',
    loadFailed: 'This could not be loaded. Please try again later.',
    cbTitle: 'Request a callback',
    back: 'Back',
    chatTitle: 'Chat',
    connecting: 'Connecting…',
    reconnecting: 'Connection lost. Reconnecting…',
    hoursOpen: 'Open now',
    hoursClosed: 'Closed',
    hoursHoliday: 'Closed for a holiday',
    hoursEmergency: 'Closed due to an emergency',
    hoursOpens: '{reason} — opens {when}',
    whenToday: 'today at {time}',
    whenTomorrow: 'tomorrow at {time}',
    whenDay: '{day} at {time}',
    availableFrom: 'Available {when}',
    notNow: 'Not available right now'
  };
  // The language of the strings shown: English unless a pack or config.strings replaced them.
  var stringsLanguage = config.strings ? locale : 'en';
  // Called by scripts/i18n/{language}.js and {language}-more.js; config.strings and the header
  // settings stay over them.
  api.addStrings = function (packLanguage, pack) {
    if (packLanguage !== language) return;
    mergeStrings(pack);
    mergeStrings(config.strings);
    applyHeaderTexts();
    stringsLanguage = locale;
  };
  function mergeStrings(overrides) {
    for (var key in overrides) if (typeof overrides[key] === 'string') strings[key] = overrides[key];
  }
  // strings[key] with its {placeholders} filled in from `values`.
  function localized(key, values) { return fill(strings[key], values); }
  function fill(template, values) {
    return (template || '').replace(/\{(\w+)\}/g, function (placeholder, name) {
      return values && values[name] != null ? values[name] : placeholder;
    });
  }
  // Numbers, plurals and dates follow the words around them: the page's locale (en-GB keeps its
  // dates), but English for the English fallback on a page in another language (WebKit writes
  // Arabic numbers in Arabic digits: "٣ agents available"), and English for a tag that is not a
  // locale (lang="en_US" makes toLocaleString throw).
  function formatLocale() {
    try { return Intl.getCanonicalLocales(stringsLanguage === 'en' && language !== 'en' ? 'en' : locale)[0] || 'en'; } catch (e) { return 'en'; }
  }
  var pluralRules = {};
  // key_one, key_other, …: the form Intl.PluralRules picks for `count` (key_other if missing).
  function localizedPlural(key, count) {
    var tag = formatLocale();
    pluralRules[tag] = pluralRules[tag] || new Intl.PluralRules(tag);
    var pluralKey = key + '_' + pluralRules[tag].select(count);
    return localized(strings[pluralKey] ? pluralKey : key + '_other', { n: count.toLocaleString(tag) });
  }
  // The estimated wait in words; '' when unknown (-1, absent).
  function waitText(seconds) {
    if (typeof seconds !== 'number' || !(seconds >= 0)) return '';
    if (seconds < 60) return localized('lessMinute');
    var minutes = Math.ceil(seconds / 60);
    return minutes > 60 ? localized('overHour') : localizedPlural('minutes', minutes);
  }
  // A coming instant as the visitor says it, on the visitor's clock: "today at 14:00", "tomorrow
  // at 08:00", "Monday at 08:00", and with its date from a week ahead.
  function whenText(date) {
    var tag = formatLocale();
    var time = date.toLocaleTimeString(tag, { timeStyle: 'short' });
    var days = dayNumber(date) - dayNumber(new Date());
    if (days < 2) return localized(days > 0 ? 'whenTomorrow' : 'whenToday', { time: time });
    var day = date.toLocaleDateString(tag, days < 7 ? { weekday: 'long' } : { weekday: 'long', day: 'numeric', month: 'long' });
    return localized('whenDay', { day: day, time: time });
  }
  // Days since 1970 on the visitor's calendar (their time zone, not the contact centre's).
  function dayNumber(date) { return Math.floor((date - date.getTimezoneOffset() * 60000) / 864e5); }

  // ---- Events ----
  // Event name → its handlers.
  var handlers = {};
  var isReady = false;
  function on(eventName, handler) {
    if (typeof handler !== 'function') return api;
    (handlers[eventName] = handlers[eventName] || []).push(handler);
    if (eventName === 'ready' && isReady) handler();
    return api;
  }
  // off(name, handler) removes that handler; off(name) removes all.
  function off(eventName, handler) {
    handlers[eventName] = (handlers[eventName] || []).filter(function (other) { return other !== handler && handler; });
    return api;
  }
  function emit(eventName, data) {
    (handlers[eventName] || []).slice().forEach(function (handler) {
      try { handler(data); } catch (e) { console.error(e); }
    });
  }

  // ---- DOM helpers (no innerHTML anywhere: text is always textContent) ----
  // Attributes: `text` → textContent, `class` → className, on… → listeners, true → present;
  // null and false are left out, and so are null children.
  function buildElement(tag, attributes, children) {
    var element = document.createElement(tag);
    for (var name in attributes || {}) {
      var value = attributes[name];
      if (value == null || value === false) continue;
      if (name === 'text') element.textContent = value;
      else if (name === 'class') element.className = value;
      else if (name.slice(0, 2) === 'on') element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? '' : value);
    }
    (children || []).forEach(function (child) { if (child) element.appendChild(child); });
    return element;
  }
  var SVG_NAMESPACE = 'http://www.w3.org/2000/svg';
  function icon(pathData, extraClass) {
    var svg = document.createElementNS(SVG_NAMESPACE, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'psw-icon ' + (extraClass || ''));
    var path = document.createElementNS(SVG_NAMESPACE, 'path');
    path.setAttribute('d', pathData);
    svg.appendChild(path);
    return svg;
  }
  var ICON_PATHS = {
    chat: 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z',
    phone: 'M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25c1.1.37 2.3.57 3.6.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z',
    chevron: 'M7.4 15.4 12 10.8l4.6 4.6L18 14l-6-6-6 6z'
  };
  // JSON values in localStorage / sessionStorage (`area`); when storage is off, reads give null
  // and writes do nothing. Writing null removes the key.
  var storage = {
    get: function (area, key) { try { return JSON.parse(window[area].getItem(key)); } catch (e) { return null; } },
    set: function (area, key, value) {
      try { value == null ? window[area].removeItem(key) : window[area].setItem(key, JSON.stringify(value)); } catch (e) { /* storage off */ }
    }
  };
  // A random (version 4) UUID; crypto.randomUUID() exists only on https pages and localhost.
  function newUuid() {
    return crypto.randomUUID ? crypto.randomUUID() : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, function (c) {
      return (c ^ crypto.getRandomValues(new Uint8Array(1))[0] & 15 >> c / 4).toString(16);
    });
  }
  // sessionStorage: the view open in this tab, reopened after a reload.
  var VIEW_KEY = 'psw-view';
  // The chat, in localStorage["psw-wm-{deploymentId}"]: {t: Web Messaging token, s: CHAT_STATE}.
  // The stored codes are kept short and unchanged, so saved chats still resume.
  // readOnly: the agent ended the chat.
  var CHAT_STATE = { none: 'n', active: 'a', readOnly: 'r' };
  var chatRecord = {
    get: function () { return storage.get('localStorage', 'psw-wm-' + settings.deploymentId); },
    set: function (record) { storage.set('localStorage', 'psw-wm-' + settings.deploymentId, record); }
  };

  // ---- Reconnecting (the statistics socket here, the chat socket in chat-messaging.js) ----
  // retry() calls connect() after a full-jitter exponential backoff: a random delay in
  // [0, min(30 s, 1 s × 2^attempt)); reset() once connected; cancel() drops a pending retry;
  // attempts() counts the retries since the last reset.
  function createReconnector(connect) {
    var attempt = 0;
    var timer = 0;
    return {
      retry: function () {
        clearTimeout(timer);
        timer = setTimeout(connect, Math.random() * Math.min(30000, 1000 * Math.pow(2, attempt++)));
      },
      reset: function () { attempt = 0; },
      cancel: function () { clearTimeout(timer); },
      attempts: function () { return attempt; }
    };
  }

  // ---- Mounting ----
  // The widget's elements by role: elements.header, elements.phone, …
  var elements = {};
  var shadowRoot;
  // The view shown: 'chooser', 'callback' or 'chat'.
  var currentView = 'chooser';
  var isOpen = false;
  var chatActive = false;
  var unreadCount = 0;
  var stylesheetLoaded = false;
  var focusWhenStyled = false;

  function mount() {
    if (document.getElementById(settings.containerId)) {
      tellOwner('container', { value: settings.containerId });
      return;
    }
    createHost();
    shadowRoot.appendChild(buildRoot());
    document.body.appendChild(elements.host);
    followScreen();
    installPublicApi();
    restoreState();
    isReady = true;
    emit('ready');
  }

  // <public-stats-widget> with the settings as CSS properties, and its shadow root with the
  // stylesheet.
  function createHost() {
    var host = elements.host = document.createElement('public-stats-widget');
    host.id = settings.containerId;
    // Hidden until widget.css (its :host rule is !important) has loaded: never unstyled, and
    // never shown at all if the stylesheet cannot load.
    host.style.display = 'none';
    // ... and until the hours asked at load are in the header, which they would otherwise grow
    // under the visitor's eyes (a layout shift); at most 2 s.
    if (settings.hoursAtLoad) {
      host.setAttribute('data-wait', '');
      setTimeout(reveal, 2000);
    }
    var properties = {
      '--psw-bg': settings.backgroundColor,
      '--psw-fg': settings.textColor,
      '--psw-z': settings.zIndex,
      '--psw-anim': settings.animationMs + 'ms',
      '--psw-chat-w': settings.chatWidth + 'px',
      '--psw-chat-h': settings.chatHeight + 'px'
    };
    for (var name in properties) host.style.setProperty(name, properties[name]);
    // The page's direction reaches the widget by inheritance (`all: initial` leaves it), and the
    // corner follows it in widget.css: reading it here would make a loading page compute its
    // style at once.
    if (config.position) host.setAttribute('data-position', config.position);
    if (config.dir) host.dir = config.dir;
    shadowRoot = host.attachShadow({ mode: 'open' });
    // Nothing can take the focus before the stylesheet shows the widget: an open() queued by the
    // page focuses once it has loaded.
    var stylesheet = buildElement('link', { rel: 'stylesheet', href: scriptHost + 'style/widget.css', onload: function () {
      stylesheetLoaded = true;
      if (focusWhenStyled && isOpen) focusView();
    } });
    if (api.nonce) stylesheet.nonce = api.nonce;
    shadowRoot.appendChild(stylesheet);
  }

  // Everything inside the shadow root: the header, the panel with its views, the announcer.
  function buildRoot() {
    var header = buildHeader();
    var panel = elements.panel = buildElement('div', { class: 'psw-panel', id: 'psw-panel', role: 'dialog', 'aria-labelledby': 'psw-title' }, [
      elements.inner = buildElement('div', { class: 'psw-inner' })
    ]);
    elements.announcer = buildElement('div', { class: 'psw-sr', id: 'psw-announce', 'aria-live': 'assertive', 'aria-atomic': 'true' });
    return elements.root = buildElement('div', { class: 'psw', id: 'psw', lang: stringsLanguage, onkeydown: function (event) {
      if (event.key === 'Escape' && isOpen) { event.stopPropagation(); setOpen(false); }
    } }, [header, panel, elements.announcer]);
  }

  function buildHeader() {
    elements.title = buildElement('span', { class: 'psw-title', id: 'psw-title', text: localized('defaultText') });
    elements.headerHours = buildElement('span', { class: 'psw-sub', id: 'psw-header-hours', hidden: true });
    elements.headerStats = buildElement('span', { class: 'psw-sub', id: 'psw-header-stats', hidden: true });
    elements.unreadBadge = buildElement('span', { class: 'psw-badge', id: 'psw-unread', hidden: true });
    return elements.header = buildElement('button', {
      type: 'button', class: 'psw-header', id: 'psw-header', 'aria-expanded': 'false', 'aria-controls': 'psw-panel',
      // The pointer on its way, or the keyboard's focus: the views are built before the click.
      onclick: function () { setOpen(!isOpen); }, onpointerenter: views, onfocus: views
    }, [
      settings.logo ? buildElement('img', { class: 'psw-logo', src: settings.logo, alt: '', onerror: logoFailed }) : null,
      buildElement('span', { class: 'psw-labels' }, [elements.title, elements.headerHours, elements.headerStats]),
      elements.unreadBadge,
      icon(ICON_PATHS.chevron, 'psw-chevron')
    ]);
  }

  // The seed's example logo is a path on the page's own site (/img/logo-genesys.svg), which a
  // migrated page often lacks: the built-in logo replaces a broken one, and nothing replaces a
  // broken built-in one.
  function logoFailed(event) {
    var logo = event.target;
    var builtIn = api.host + 'img/logo.svg';
    if (logo.src === absoluteUrl(builtIn).href) return logo.remove();
    tellOwner('logo', { value: settings.logo, url: logo.src }, 'warn');
    logo.src = builtIn;
  }

  // The channel chooser: business hours and live availability, then a tile per channel.
  function buildChooser() {
    elements.hours = buildElement('span', { class: 'psw-hours', id: 'psw-hours', hidden: true });
    elements.agents = buildElement('span', { class: 'psw-agents', id: 'psw-agents', text: localized('checking') });
    elements.ewt = buildElement('span', { class: 'psw-ewt', id: 'psw-ewt', hidden: true });
    elements.noAgents = buildElement('p', { class: 'psw-none', id: 'psw-none', hidden: true, text: localized('steer') });
    elements.noChannel = buildElement('p', { class: 'psw-none', id: 'psw-no-channel', hidden: true, text: localized('noChannel') });
    elements.chatTile = buildElement('button', { type: 'button', class: 'psw-tile', id: 'psw-tile-chat', onclick: function () {
      if (!isOff(elements.chatTile)) startChat();
    } },
      [icon(ICON_PATHS.chat), buildElement('span', { text: localized('chatTile') }), tileNote('chat')]);
    elements.callbackTile = buildElement('button', { type: 'button', class: 'psw-tile', id: 'psw-tile-callback', onclick: function () {
      if (!isOff(elements.callbackTile)) withCallbackForm(function () { if (isOpen && currentView === 'chooser') showView('callback', true); });
    } },
      [icon(ICON_PATHS.phone), buildElement('span', { text: localized('callbackTile') }), tileNote('callback')]);
    if (!settings.deploymentId) elements.chatTile.hidden = true;
    return elements.chooser = buildElement('section', { class: 'psw-view psw-chooser', id: 'psw-chooser', 'aria-label': localized('previewText') }, [
      buildElement('p', { class: 'psw-stats', id: 'psw-stats', 'aria-live': 'polite', 'aria-atomic': 'true' }, [elements.hours, elements.agents, elements.ewt]),
      elements.noAgents,
      elements.noChannel,
      buildElement('div', { class: 'psw-tiles' }, [elements.chatTile, elements.callbackTile])
    ]);
  }

  // The views are built when first needed (the header pointed at or focused, the widget opened):
  // the page pays for the collapsed header alone.
  function views() {
    if (elements.chooser) return;
    [buildChooser(), buildCallbackView(), buildChatView()].forEach(function (view) { elements.inner.appendChild(view); });
    renderStats();
  }
  // Why a disabled tile cannot be chosen now; part of the button's name.
  function tileNote(channel) {
    return elements[channel + 'Note'] = buildElement('span', { class: 'psw-note', id: 'psw-tile-' + channel + '-note', hidden: true });
  }
  // A tile shown but disabled by the availability rules (aria-disabled: it keeps the focus and is
  // read with its note).
  function isOff(tile) { return tile.getAttribute('aria-disabled') === 'true'; }
  function usable(tile) { return !tile.hidden && !isOff(tile); }

  // Filled by chat-callback.js.
  function buildCallbackView() {
    return elements.callback = buildElement('section', { class: 'psw-view psw-callback', id: 'psw-callback', 'aria-label': localized('cbTitle'), hidden: true });
  }
  // Filled by chat-messaging.js.
  function buildChatView() {
    return elements.chat = buildElement('section', { class: 'psw-view psw-chat', id: 'psw-chat', 'aria-label': localized('chatTitle'), hidden: true });
  }

  // Replaces the loader's queueing stubs with the real methods, then replays what was queued.
  function installPublicApi() {
    // A channel the availability rules turn off opens the chooser, whose tile says why.
    api.open = function (view) {
      restoreSaved();
      views();
      if (view === 'chat' && settings.deploymentId) {
        if (chatAllowed()) startChat(); else setOpen(true, 'chooser');
        return api;
      }
      if (view === 'chat') tellOwner('openChat', null, 'warn', 'chat');
      if (view === 'callback' && usable(elements.callbackTile)) withCallbackForm(function () { setOpen(true, 'callback'); });
      else setOpen(true, view === 'chooser' || view === 'callback' ? 'chooser' : null);
      return api;
    };
    api.close = function () { setOpen(false); return api; };
    api.toggle = function () { setOpen(!isOpen); return api; };
    api.invite = function (message) { invite(message, 1); return api; };
    api.on = on;
    api.off = off;
    api.internals = internals;
    api.q.splice(0).forEach(function (call) { api[call[0]].apply(api, call[1]); });
  }

  // What this page had before a reload: statistics at load, an active chat, an open callback form.
  function restoreState() {
    if (config.invitation) invite();
    if (settings.connectStats === 'load') startStats();
    // A page's first reads of storage, and its first fetch(), cost it milliseconds while it
    // loads: they wait for its first idle moment (the storage for the first opening if that
    // comes sooner; the hours for nothing, since an opening asks for them itself). At most 1 s
    // late on a page that is never idle, so that the hours still come before the header shows
    // at 2 s (setTimeout reads the options as a delay of 0).
    (window.requestIdleCallback || setTimeout)(function () {
      restoreSaved();
      if (settings.hoursAtLoad && !statsStarted) fetchStats();
    }, { timeout: 1000 });
  }
  var restored = false;
  function restoreSaved() {
    if (restored) return;
    restored = true;
    var savedChat = settings.deploymentId && chatRecord.get();
    var savedView = storage.get('sessionStorage', VIEW_KEY);
    var resume = savedChat && savedChat.s === CHAT_STATE.active;
    if (settings.deploymentId && settings.autoConnect && !resume && settings.hoursAtLoad) {
      // autoConnect waits for the business hours: a closed queue may keep the chat off.
      autoConnectWaiting = true;
      if (hoursKnown) hoursSettled();
    } else if (settings.deploymentId && (settings.autoConnect || resume)) {
      startChat(true, !(settings.autoConnect || savedView === 'chat'));
    } else if (savedView === 'callback') {
      withCallbackForm(function () { setOpen(true, 'callback', true); });
    }
  }

  // ---- Open / close / views ----
  function setOpen(open, view, noFocus) {
    restoreSaved();
    views();
    reveal();
    if (view) showView(view);
    var wasOpen = isOpen;
    isOpen = open;
    elements.root.classList.toggle('psw--open', open);
    elements.host.toggleAttribute('data-open', open);
    elements.header.setAttribute('aria-expanded', String(open));
    storage.set('sessionStorage', VIEW_KEY, open ? currentView : null);
    if (open) unreadCount = 0;
    updateHeader();
    if (open) {
      startStats();
      fitToScreen();
      if (!noFocus) focusView();
      if (!wasOpen) emit('opened', { view: currentView });
    } else if (wasOpen) {
      // A finished callback request is not shown again: the next opening starts at the chooser.
      if (currentView === 'callback' && api.callback && api.callback.closed()) showView('chooser');
      if (shadowRoot.activeElement) elements.header.focus();
      emit('closed');
    }
  }
  function showView(view, moveFocus) {
    views();
    currentView = view;
    ['chooser', 'callback', 'chat'].forEach(function (name) { elements[name].hidden = name !== view; });
    elements.root.classList.toggle('psw--chat', view === 'chat');
    if (isOpen) storage.set('sessionStorage', VIEW_KEY, view);
    updateHeader();
    if (moveFocus) focusView();
  }
  // The view's first control; deferred until the stylesheet has shown the widget.
  function focusView() {
    focusWhenStyled = !stylesheetLoaded;
    if (focusWhenStyled) return;
    var target;
    if (currentView === 'chooser') target = [elements.chatTile, elements.callbackTile, elements.header].filter(usable)[0];
    // api.callback or api.chat, once its file has run.
    else target = api[currentView] && api[currentView].focusTarget();
    if (target) target.focus();
  }
  var VIEW_TITLES = { chooser: 'previewText', callback: 'cbTitle', chat: 'chatTitle' };
  function updateHeader() {
    // The seed showed header.activeText in the header whenever the widget was open: a page that
    // sets it gets it there; otherwise each view has its own title.
    var titleKey = chatActive && (currentView === 'chat' || !isOpen) ? 'activeText'
      : isOpen ? (headerConfig.activeText ? 'activeText' : VIEW_TITLES[currentView]) : 'defaultText';
    elements.title.textContent = localized(titleKey);
    elements.unreadBadge.hidden = !unreadCount || isOpen;
    // Intl's first use costs a fresh page tens of milliseconds: not at load for an empty badge.
    if (unreadCount) elements.unreadBadge.textContent = localizedPlural('unread', unreadCount);
  }
  // The widget's size and layout follow the screen, not the page. A page without
  // <meta name="viewport" content="width=device-width"> (the seed's pages have none) is laid out
  // 980 px wide on a phone and shown shrunk to fit (visualViewport.scale about 0.4): the widget
  // then zooms itself by the inverse, so it is as large as on any phone page, and takes the phone
  // layout below 480 px of screen. Open on a phone, it fills the visual viewport, so the
  // on-screen keyboard (which shrinks the visual viewport, not the layout one) never covers the
  // input.
  var visualViewport = window.visualViewport;
  function fitToScreen() {
    var host = elements.host;
    var scale = visualViewport ? visualViewport.scale : 1;
    var zoom = scale < 0.9 ? 1 / scale : 1;
    host.style.setProperty('--psw-zoom', zoom);
    // In the widget's zoomed pixels: viewport units would be zoomed too.
    var width = document.documentElement.clientWidth / zoom;
    host.style.setProperty('--psw-vw', width + 'px');
    host.toggleAttribute('data-phone', width < 480);
    if (!visualViewport) return;
    host.style.setProperty('--psw-vh', visualViewport.height / zoom + 'px');
    host.style.setProperty('--psw-vt', visualViewport.offsetTop / zoom + 'px');
  }
  function followScreen() {
    // Measured in each layout's report, the first included, not while mounting: reading a size
    // here would lay out the still-loading page inside the widget's script. The root's box
    // changes with the window's width and with a scrollbar coming or going.
    new ResizeObserver(fitToScreen).observe(document.documentElement);
    if (!visualViewport) return;
    visualViewport.addEventListener('resize', fitToScreen);
    visualViewport.addEventListener('scroll', fitToScreen);
  }
  // Says `text` through the assertive live region (emptied first, so a repeat is said again).
  function announce(text) {
    elements.announcer.textContent = '';
    setTimeout(function () { elements.announcer.textContent = text; }, 50);
  }

  // ---- Live statistics ----
  // The socket delivers; the REST endpoint gives the first answer and is polled while the socket
  // does not. Before the statistics start (first opening, or connectStats: 'load'), the REST
  // endpoint is asked for the business hours alone, once at page load. An address that has never answered is not tried for ever (each failed attempt is
  // a console error of the browser's own): the socket gives up after a few attempts, the REST
  // endpoint after two more polls, until the tab is shown again or the browser comes online.
  var statsStarted = false;
  var statsSocket = null;
  // The current socket has sent a frame.
  var socketDelivers = false;
  var socketEverOpened = false;
  var statsReconnector = createReconnector(connectStats);
  var pollTimer = 0;
  // REST attempts that found no service, while it has never answered.
  var pollFailures = 0;
  // The service has answered at least once.
  var serviceAnswered = false;
  // No address has answered: callbacks cannot work either.
  var serviceUnreachable = false;
  // The service does not publish settings.queueId: nothing to retry.
  var queueUnknown = false;
  // Nothing has arrived within STATS_PATIENCE.
  var statsLate = false;
  // {url, found}: the configured address, when the fallback is used.
  var wrongAddress = null;
  var STATS_PATIENCE = 8000;
  // Before an address that never connected is given up.
  var SOCKET_TRIES = 4;
  var latestStats = { observations: null, ewt: null, countsStale: false, ewtStale: false };
  function startStats() {
    if (statsStarted) return;
    statsStarted = true;
    // Found unreachable when asked for the hours at load: the poll scheduled here tries again.
    if (serviceUnreachable) schedulePoll(); else fetchStats();
    connectStats();
    if (queueUnknown || serviceUnreachable) renderStats();
    // Never "Checking availability…" for long: after a while it is "not known right now".
    setTimeout(function () { statsLate = true; if (!latestStats.observations) renderStats(); }, STATS_PATIENCE);
  }
  function statsUrl(live) {
    var mediaType = settings.mediaType ? 'mediaType=' + encodeURIComponent(settings.mediaType) : '';
    return (live ? settings.statsSocketUrl : settings.serviceUrl) + 'api/stats/' + encodeURIComponent(settings.queueId) +
      (live ? '/live' + (mediaType ? '?' + mediaType : '') : '?key=' + (statsStarted ? 'ewt&key=observations&key=' : '') + 'hours' + (mediaType ? '&' + mediaType : ''));
  }
  function connectStats() {
    statsReconnector.cancel();
    if (!statsStarted || statsSocket || queueUnknown || socketRefused || serviceUnreachable) return;
    var socket;
    try { socket = new WebSocket(statsUrl(true)); } catch (e) { return statsReconnector.retry(); }
    statsSocket = socket;
    socket.onopen = function () { socketEverOpened = true; };
    socket.onmessage = function (event) {
      if (!socketDelivers) { socketDelivers = true; statsReconnector.reset(); clearTimeout(pollTimer); pollTimer = 0; }
      try { receiveStats(JSON.parse(event.data)); } catch (e) { /* not ours */ }
    };
    socket.onclose = function () {
      if (statsSocket !== socket) return;
      statsSocket = null;
      socketDelivers = false;
      schedulePoll();
      if (!socketEverOpened && serviceAnswered && !socketChecked) return checkSocketRefusal();
      if (socketEverOpened || (statsReconnector.attempts() < SOCKET_TRIES && !pollFailures)) return statsReconnector.retry();
      if (serviceAnswered) {
        tellOwner('socket', { url: statsUrl(true), service: settings.serviceUrl }, 'warn');
      }
    };
  }
  // A socket that never opened although the service answers: the browser hides why, so the same
  // address is asked over HTTP once. A refused origin is answered 403 and retrying cannot help:
  // the owner is told which setting admits the page, and the counts come by polling.
  var socketChecked = false;
  var socketRefused = false;
  function checkSocketRefusal() {
    socketChecked = true;
    fetch(statsUrl(true).replace(/^ws/, 'http')).then(function (response) {
      return response.status === 403 ? response.json() : null;
    }).then(function (problem) {
      if (!problem || !/foreign-origin/.test(problem.type)) return statsReconnector.retry();
      socketRefused = true;
      tellOwner('socketOrigin', { service: settings.serviceUrl, origin: location.origin });
    }, function () { statsReconnector.retry(); });
  }
  // Stops the socket for good (until a resync): a wrong address, or a queue the service lacks.
  function dropStatsSocket() {
    statsReconnector.cancel();
    var socket = statsSocket;
    statsSocket = null;
    if (socket) socket.close();
  }
  // One request at a time: asked again while one is on its way (the widget opened while the
  // hours asked at load are), it asks once more after the answer.
  var fetching = false;
  var fetchAgain = false;
  function fetchStats() {
    clearTimeout(pollTimer);
    pollTimer = 0;
    if (document.visibilityState === 'hidden' || queueUnknown) return;
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    var base = settings.serviceUrl;
    // Revalidated, never taken from the browser's cache: the service lets an answer be kept for
    // its CACHE_SECONDS, but business hours change at an instant (the widget asks at that
    // instant) or when an emergency is declared.
    fetch(statsUrl(false), { cache: 'no-cache' }).then(function (response) {
      fetching = false;
      // Only the service answers JSON here: a site's HTML page or a proxy's error means that
      // the address is wrong.
      if (!/json/.test(response.headers.get('Content-Type'))) return serviceMissing(base, 'HTTP ' + response.status + ' ' + response.headers.get('Content-Type'));
      return response.json().then(function (body) {
        body = body || {};
        // A 404 about something else than the queue: the service is not at this path.
        if (response.status === 404 && !/unknown-queue/.test(body.type)) return serviceMissing(base, 'HTTP 404 ' + body.type);
        serviceFound();
        if (response.status === 404) queueNotPublished(body);
        else if (response.ok) receiveStats(body, true);
        afterAnswer();
      }, function () { serviceFound(); afterAnswer(); });
    }, function () { fetching = false; serviceMissing(base, 'no answer'); });
  }
  function reveal() { elements.host.removeAttribute('data-wait'); }
  function afterAnswer() {
    reveal();
    schedulePoll();
    if (fetchAgain) { fetchAgain = false; fetchStats(); }
    hoursSettled();
  }
  // While the socket does not deliver: every 15 s once the service has answered; twice more
  // (after 30 s and 2 min) while it never has. Not before the statistics start.
  function schedulePoll() {
    if (!statsStarted || pollTimer || socketDelivers || queueUnknown) return;
    var delay = serviceAnswered ? 15000 : [0, 30000, 120000][pollFailures];
    if (delay) pollTimer = setTimeout(fetchStats, delay);
  }
  function serviceFound() {
    if (!serviceAnswered && wrongAddress) {
      tellOwner('wrongAddress', { value: config.statsWebsocketUri, found: wrongAddress.found, url: wrongAddress.url,
        service: settings.serviceUrl, socket: wsOf(settings.serviceUrl) }, 'warn', 'address');
    }
    serviceAnswered = true;
    pollFailures = 0;
    if (serviceUnreachable) { serviceUnreachable = false; updateChannels(); }
    if (!statsSocket && !queueUnknown && statsReconnector.attempts() < SOCKET_TRIES) connectStats();
  }
  // The service did not answer at `url` (`found`: what did).
  function serviceMissing(url, found) {
    // The address is looked for again below, or polled.
    fetchAgain = false;
    // An outage, not a wrong setting: keep polling.
    if (serviceAnswered) return schedulePoll();
    var fallback = fallbackServiceUrl;
    if (fallback && url !== fallback) {
      // A wrong statsWebsocketUri: the service is most likely where the widget's files came from.
      wrongAddress = { url: url, found: found };
      settings.serviceUrl = fallback;
      if (!socketEverOpened) {
        dropStatsSocket();
        settings.statsSocketUrl = wsOf(fallback);
        statsReconnector.reset();
        connectStats();
      }
      return fetchStats();
    }
    pollFailures++;
    dropStatsSocket();
    var setting = config.serviceUrl ? 'serviceUrl' : config.statsWebsocketUri ? 'statsWebsocketUri' : 'scriptHost';
    tellOwner('unreachable', { url: (wrongAddress ? wrongAddress.url + ' nor at ' : '') + url, found: found, setting: setting,
      value: config[setting] || scriptHost }, 'error', 'address');
    serviceUnreachable = true;
    renderStats();
    schedulePoll();
    hoursSettled();
  }
  // The service answered 404: it does not publish this queue (or the ID is not one).
  function queueNotPublished(problem) {
    queueUnknown = true;
    dropStatsSocket();
    tellOwner('queue', { value: settings.queueId, detail: problem.detail, service: settings.serviceUrl });
    renderStats();
  }
  // The tiles of the channels that can work, as the availability rules show them; a line for the
  // visitor when none is shown. An active chat stays reachable whatever the rules.
  function updateChannels() {
    if (!elements.chooser) return;
    showTile('chat', !settings.deploymentId, chatActive ? { action: 'show' } : channelVerdict('chat'));
    showTile('callback', queueUnknown || serviceUnreachable, channelVerdict('callback'));
    elements.noChannel.hidden = !(elements.callbackTile.hidden && elements.chatTile.hidden);
  }
  function showTile(channel, unusable, verdict) {
    var tile = elements[channel + 'Tile'];
    var off = verdict.action === 'disable';
    tile.hidden = unusable || verdict.action === 'hide';
    if (off) tile.setAttribute('aria-disabled', 'true'); else tile.removeAttribute('aria-disabled');
    elements[channel + 'Note'].textContent = off ? verdict.note : '';
    elements[channel + 'Note'].hidden = !off;
  }
  function chatAllowed() { views(); return chatActive || usable(elements.chatTile); }
  function resyncStats() {
    if (queueUnknown || document.visibilityState !== 'visible') return;
    // Before the statistics start: the hours again, if the queue has them or they never came.
    if (!statsStarted) return settings.hoursAtLoad && (hours || !hoursAnswered) && fetchStats();
    pollFailures = 0;
    fetchStats();
    if (!statsSocket) { statsReconnector.reset(); connectStats(); }
  }
  document.addEventListener('visibilitychange', resyncStats);
  window.addEventListener('online', resyncStats);

  // Accepts the live frame and the REST answer ({queueId?, observations, ewt, hours?, stale?,
  // observationsAsOf?, ewtAsOf?}; ewt -1 = unknown), the seed's {queueStats: {id: observations},
  // hours?: {id: hours}} and a bare observations object. A stale part is not shown: only
  // `ewtAsOf` → only the EWT is stale, only `observationsAsOf` → only the counts; neither → both.
  // A REST answer (`fromRest`) without `hours`: the queue has none; a frame without them changes
  // nothing.
  function receiveStats(message, fromRest) {
    if (!message || typeof message !== 'object') return;
    var hoursCame = fromRest || 'hours' in message;
    if (hoursCame) receiveHours(message.hours, fromRest);
    var observations = message.observations || (message.queueStats && message.queueStats[settings.queueId]) ||
      (typeof message.availableAgents === 'number' ? message : null);
    var hasEwt = 'ewt' in message;
    if (!statsStarted || (!observations && !hasEwt)) return hoursCame && renderStats();
    if (observations) latestStats.observations = observations;
    if (hasEwt) {
      var ewt = message.ewt;
      latestStats.ewt = ewt && typeof ewt === 'object' ? ewt[settings.mediaType || 'message'] : ewt;
    }
    var stale = message.stale === true;
    var countsAsOf = 'observationsAsOf' in message;
    var ewtAsOf = 'ewtAsOf' in message;
    latestStats.countsStale = stale && (countsAsOf || !ewtAsOf);
    latestStats.ewtStale = stale && (ewtAsOf || !countsAsOf);
    renderStats();
  }
  // Free agents, or null while not known (or stale).
  function knownAgents() {
    var observations = latestStats.observations;
    return observations && !latestStats.countsStale && typeof observations.availableAgents === 'number'
      ? observations.availableAgents : null;
  }
  // The estimated wait in seconds, or null while not known (or stale, or -1).
  function knownEwt() {
    return knownAgents() == null || latestStats.ewtStale || !(latestStats.ewt >= 0) ? null : latestStats.ewt;
  }
  // The hours everywhere they show, then the channels, then (once started) the statistics. While
  // the queue is closed the counts are not shown: the hours say what matters.
  function renderStats() {
    var closed = isClosed();
    var hoursLine = hoursText();
    // The chooser's part once it is built (until then only the header shows them).
    var chooser = elements.chooser;
    showText(elements.headerHours, hoursLine);
    elements.root.classList.toggle('psw--closed', closed);
    if (chooser) { showText(elements.hours, hoursLine); updateChannels(); }
    if (!statsStarted) return;
    var observations = latestStats.observations;
    var available = knownAgents();
    var unknown = observations || statsLate || queueUnknown || serviceUnreachable;
    var agentsText = available == null ? localized(unknown ? 'unknown' : 'checking')
      : available === 0 ? localized('noAgents') : localizedPlural('agents', available);
    var wait = available == null ? '' : waitText(knownEwt());
    if (chooser) {
      showText(elements.agents, closed ? '' : agentsText);
      showText(elements.ewt, closed ? '' : wait && localized('wait', { t: wait }));
      // Nobody can answer now: steer to the callback, if it can be asked for.
      var steer = (closed || available === 0) && usable(elements.callbackTile);
      showText(elements.noAgents, steer ? localized('steer') : '');
      elements.root.classList.toggle('psw--none', steer);
    }
    showText(elements.headerStats, available == null || closed ? '' : agentsText);
    emit('stats', {
      availableAgents: available,
      ewt: wait ? latestStats.ewt : null,
      stale: latestStats.countsStale || latestStats.ewtStale,
      observations: observations
    });
  }

  // The text, hidden when there is none; rewritten only when it changes (live regions).
  function showText(element, text) {
    if (element.textContent !== text) element.textContent = text;
    element.hidden = !text;
  }

  // ---- Business hours ----
  // The service's evaluation of the queue's schedule group ({open, reason, nextChange, timeZone,
  // openIntervals, stale?}, see widget/README.md), from the REST answers and the live frames.
  // null: the queue has no business hours (or none are known yet), and it is open as before.
  var hours = null;
  var hoursAnswered = false;
  var hoursTimer = 0;
  // The nextChange the timer last asked about.
  var hoursAskedFor = '';
  // autoConnect, waiting for the hours asked at load.
  var autoConnectWaiting = false;
  var HOURS_KEYS = { open: 'hoursOpen', closed: 'hoursClosed', holiday: 'hoursHoliday', emergency: 'hoursEmergency' };
  // `value`: the queue's hours, or the `/` socket's map of queues to hours.
  function receiveHours(value, fromRest) {
    if (value && typeof value.open !== 'boolean') value = value[settings.queueId];
    value = value && typeof value.open === 'boolean' ? value : null;
    var changed = hoursKey(value) !== hoursKey(hours);
    hours = value;
    if (fromRest) hoursAnswered = true;
    // The socket announces the change at its moment; without it, the widget asks then (spread
    // over two seconds, so that a page's visitors do not all ask at once). Long waits are cut
    // into days: asking once a day does no harm. A change already past that comes back unchanged
    // when asked about (this clock is ahead of the service's) is asked about at the poll's pace.
    clearTimeout(hoursTimer);
    var next = hours && hours.nextChange;
    var change = Date.parse(next);
    if (change) {
      var wait = change - Date.now();
      wait = wait > 0 ? wait : next === hoursAskedFor ? 15000 : 0;
      hoursTimer = setTimeout(function () {
        hoursAskedFor = next;
        if (!socketDelivers) fetchStats();
      }, Math.min(wait + Math.random() * 2000, 864e5));
    }
    if (changed) emit('hours', hours);
    if (api.callback) api.callback.hoursChanged();
  }
  function hoursKey(value) { return value ? [value.open, value.reason, value.nextChange].join() : ''; }
  function isClosed() { return !!hours && !hours.open; }
  // When a closed queue opens, or null (open, no hours, or no opening ahead, as in an emergency).
  function nextOpening() {
    var next = isClosed() && Date.parse(hours.nextChange);
    return next ? new Date(next) : null;
  }
  // "Open now", "Closed — opens Monday at 08:00", …: the site's own text for the page's language
  // (hours.messages[locale or language][reason]) or the strings'. The next opening is added to
  // a text without its own {when}.
  function hoursText() {
    if (!hours) return '';
    var reason = hours.open ? 'open' : HOURS_KEYS[hours.reason] ? hours.reason : 'closed';
    var messages = hoursConfig.messages || {};
    var own = messages[locale] || messages[language] || {};
    var text = typeof own[reason] === 'string' ? own[reason] : localized(HOURS_KEYS[reason]);
    var next = nextOpening();
    var when = next ? whenText(next) : '';
    return when && text.indexOf('{when}') < 0 ? localized('hoursOpens', { reason: text, when: when }) : fill(text, { when: when });
  }
  // What a channel's tile does now by the availability rules: {action: 'show' | 'disable' |
  // 'hide', note: why, for a disabled tile}. The strictest rule that applies wins.
  var AVAILABILITY_DEFAULTS = {
    chat: { whenClosed: 'disable', whenNoAgents: 'show', whenEwtAbove: 'disable' },
    callback: { whenClosed: 'show', whenNoAgents: 'show', whenEwtAbove: 'disable' }
  };
  var STRICTNESS = { show: 0, disable: 1, hide: 2 };
  function channelVerdict(channel) {
    var queueRules = ((availabilityConfig.queues || {})[settings.queueId] || {})[channel];
    var rules = Object.assign({}, AVAILABILITY_DEFAULTS[channel], availabilityConfig[channel], queueRules);
    var verdict = { action: 'show', note: '' };
    function apply(action, note) {
      if (STRICTNESS[action] > STRICTNESS[verdict.action]) verdict = { action: action, note: note };
    }
    var next = nextOpening();
    if (isClosed()) {
      apply(rules.whenClosed, next ? localized('availableFrom', { when: whenText(next) }) : localized('notNow'));
      // A callback is placed when the queue opens: with no opening ahead it cannot be taken.
      if (channel === 'callback' && !next) apply('disable', localized('notNow'));
    }
    if (knownAgents() === 0) apply(rules.whenNoAgents, localized('notNow'));
    var ewt = knownEwt();
    if (ewt != null && rules.maxEwtSeconds != null && ewt > +rules.maxEwtSeconds) apply(rules.whenEwtAbove, localized('notNow'));
    return verdict;
  }
  // The hours asked at load have come (or cannot): autoConnect, unless the rules keep the chat off.
  var hoursKnown = false;
  function hoursSettled() {
    hoursKnown = true;
    if (!autoConnectWaiting) return;
    autoConnectWaiting = false;
    if (chatAllowed()) startChat(true); else setOpen(true, 'chooser', true);
  }

  // ---- Callback: the form is loaded when it is first shown ----
  // Waiting for chat-callback.js: what to do once it has run, or failed to load (its view then
  // says so, and the next showing tries again).
  var callbackWaiting = null;
  function withCallbackForm(then) {
    views();
    if (api.callback) return then();
    if (callbackWaiting) return callbackWaiting.push(then);
    callbackWaiting = [then];
    loadWithStrings('scripts/chat-callback.js', function (loaded) {
      if (!loaded) elements.callback.textContent = localized('loadFailed');
      callbackWaiting.splice(0).forEach(function (waiting) { waiting(); });
      callbackWaiting = null;
    });
  }

  // ---- Chat: the Web Messaging client is loaded on first use ----
  var chatLoading = false;
  function startChat(noFocus, stayClosed) {
    showView('chat');
    if (!stayClosed) setOpen(true, null, noFocus);
    if (api.chat) return api.chat.start(noFocus);
    if (chatLoading) return;
    chatLoading = true;
    elements.chat.textContent = localized('connecting');
    loadWithStrings('scripts/chat-messaging.js', function (loaded) {
      chatLoading = false;
      if (!loaded) elements.chat.textContent = localized('loadFailed');
      else if (api.chat) api.chat.start(noFocus || !isOpen);
    });
  }

  // The invitation's module, loaded when a page configures or asks for one; `now`: show it.
  function invite(message, now) {
    if (api.invitation) return now && api.invitation(message);
    loadWithStrings('scripts/chat-invite.js', function () { if (now && api.invitation) api.invitation(message); });
  }

  // What chat-messaging.js and chat-callback.js use, as publicStatsWidget.internals.
  var internals = {
    settings: settings,
    webMessagingConfig: webMessagingConfig,
    formatLocale: formatLocale,
    localized: localized,
    fill: fill,
    buildElement: buildElement,
    icon: icon,
    emit: emit,
    announce: announce,
    tellOwner: tellOwner,
    serviceAnswered: function () { return serviceAnswered; },
    hours: function () { return hours; },
    whenText: whenText,
    dayNumber: dayNumber,
    nextOpening: nextOpening,
    refreshHours: function () { fetchStats(); },
    newUuid: newUuid,
    chatRecord: chatRecord,
    CHAT_STATE: CHAT_STATE,
    createReconnector: createReconnector,
    // The view's section ('chooser', 'callback' or 'chat'), built if it was not yet.
    section: function (view) { views(); return elements[view]; },
    chatViewOpen: function () { return isOpen && currentView === 'chat'; },
    setChatActive: function (active) { chatActive = active; updateHeader(); updateChannels(); },
    countUnread: function () { if (!isOpen || currentView !== 'chat') { unreadCount++; updateHeader(); } },
    showChooser: function () { showView('chooser', true); },
    close: function () { setOpen(false); },
    isOpen: function () { return isOpen; },
    chatActive: function () { return chatActive; },
    openQuietly: function () { setOpen(true, 'chooser', true); }
  };

  // ---- Start ----
  function mountWhenBodyExists() {
    if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
  }
  function applyHeaderTexts() {
    ['defaultText', 'activeText', 'previewText'].forEach(function (key) { if (headerConfig[key]) strings[key] = headerConfig[key]; });
  }
  var LANGUAGE_PACKS = { es: 1, fr: 1, de: 1 };
  // A pack comes in two files: {language}.js before the widget mounts, {language}-more.js (the
  // callback form's and the chat's strings) before the first of those files, which need it when
  // they run. Its failure to load leaves those strings in English.
  var morePack = !LANGUAGE_PACKS[language];
  function loadWithStrings(path, then) {
    if (morePack) return api.load(path, then);
    api.load('scripts/i18n/' + language + '-more.js', function () { morePack = true; api.load(path, then); });
  }
  mergeStrings(config.strings);
  applyHeaderTexts();
  if (LANGUAGE_PACKS[language]) api.load('scripts/i18n/' + language + '.js', mountWhenBodyExists);
  else mountWhenBodyExists();
})();
