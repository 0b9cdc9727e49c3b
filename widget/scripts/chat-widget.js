/*! public-stats widget: header, channel chooser with live statistics, callback form. The chat
 * (Web Messaging) is in chat-messaging.js, loaded when a chat starts. See widget/README.md. */

/* Code map, in file order (the same map is in widget/README.md):
 *   Settings      window.pureCloudCustomChatConfig → `settings`, with the defaults
 *   Strings       English `strings`, language packs, localized(), localizedPlural(), waitText()
 *   Events        on/off/emit behind the public API's events
 *   DOM helpers   buildElement() (text only ever as textContent), icon(), storage, chatRecord
 *   Reconnecting  createReconnector(): full-jitter backoff, also used by chat-messaging.js
 *   Mounting      mount() and its steps: host element, header, chooser, panel, API, restore
 *   Open/close    setOpen(), showView(), focus, header text, phone viewport, announce()
 *   Statistics    live socket, REST fallback → "N agents available" and the estimated wait
 *   Callback      the form, its checks, POST /api/callback, the server's errors by field
 *   Chat          loads chat-messaging.js on first use; `internals` is what it gets from here
 *   Start         the language pack, then mount() once <body> exists
 */
(function () {
  'use strict';
  var api = window.publicStatsWidget; // set up by chat-injector.js
  if (!api || !api.v || api.widgetLoaded) return; // no loader, or this file included twice
  api.widgetLoaded = true;

  // ---- Settings (names and defaults documented in widget/README.md) ----
  var config = window.pureCloudCustomChatConfig;
  var chatWidgetConfig = config.chatWidget || {};
  var headerConfig = config.header || {};
  var webMessagingConfig = config.webMessaging || {};
  var callbackConfig = config.callback || {};
  var scriptHost = api.host;
  // object[key], unless it is absent or empty.
  function valueOr(object, key, fallback) {
    return object[key] != null && object[key] !== '' ? object[key] : fallback;
  }
  function absoluteUrl(url) { return new URL(url, location.href); }
  function withSlash(url) { return absoluteUrl(url).href.replace(/\/?$/, '/'); }

  var serviceUrl = withSlash(config.serviceUrl ||
    (config.statsWebsocketUri ? config.statsWebsocketUri.replace(/^ws/, 'http') : absoluteUrl(scriptHost).origin));
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
    statsSocketUrl: (config.statsWebsocketUri ? withSlash(config.statsWebsocketUri) : serviceUrl).replace(/^http/, 'ws'),
    connectStats: config.connectStats === 'load' ? 'load' : 'open',
    mediaType: config.mediaType || '',
    deploymentId: webMessagingConfig.deploymentId || '',
    zIndex: valueOr(config, 'zIndex', 2147483000),
    countryCode: callbackConfig.countryCode || '',
    showTime: callbackConfig.scheduling !== false
  };
  if (settings.deploymentId && !webMessagingConfig.environment && !webMessagingConfig.url) {
    console.error('public-stats widget: webMessaging.deploymentId needs webMessaging.environment (e.g. "mypurecloud.com") or webMessaging.url; the chat is not offered.');
    settings.deploymentId = '';
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
    first: 'First name',
    last: 'Last name',
    phone: 'Phone number',
    phoneHint: 'With the country code, e.g. +1 317 555 0100',
    time: 'Preferred time (optional)',
    submit: 'Request callback',
    sending: 'Sending…',
    back: 'Back',
    close: 'Close',
    firstMissing: 'Enter your first name.',
    lastMissing: 'Enter your last name.',
    phoneInvalid: 'Enter a phone number of 7 to 15 digits, starting with + and the country code.',
    timePast: 'Choose a time in the future.',
    cbFailed: 'Your request could not be sent. Please try again.',
    cbDone: "Thank you. We'll call you back on {phone}.",
    cbDoneAt: "Thank you. We'll call you back on {phone} around {time}.",
    chatTitle: 'Chat',
    message: 'Message',
    placeholder: 'Type your message',
    send: 'Send',
    end: 'End chat',
    connecting: 'Connecting…',
    reconnecting: 'Connection lost. Reconnecting…',
    ready: 'Send a message to start the chat.',
    waiting: 'Waiting for an agent…',
    joined: 'You are chatting with {name}.',
    typing: '{name} is typing…',
    agent: 'Agent',
    bot: 'Assistant',
    you: 'You',
    said: '{name}:',
    ended: 'The chat has ended.',
    endedByAgent: 'The agent has ended the chat. You can read the conversation but not reply.',
    newChat: 'Start a new chat',
    closedElsewhere: 'This chat was closed because it was opened elsewhere.',
    sendFailed: 'Your message could not be sent: {reason}',
    tooFast: 'You are sending messages too quickly. Please wait a moment.'
  };
  // The language of the strings shown: English unless a pack or config.strings replaced them.
  var stringsLanguage = config.strings ? locale : 'en';
  // Called by scripts/i18n/{language}.js.
  api.addStrings = function (packLanguage, pack) {
    if (packLanguage === language) { mergeStrings(pack); stringsLanguage = locale; }
  };
  function mergeStrings(overrides) {
    for (var key in overrides) if (typeof overrides[key] === 'string') strings[key] = overrides[key];
  }
  // strings[key] with its {placeholders} filled in from `values`.
  function localized(key, values) {
    return (strings[key] || '').replace(/\{(\w+)\}/g, function (placeholder, name) {
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

  // ---- Events ----
  var handlers = {}; // event name → functions
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
  // sessionStorage: the view open in this tab, reopened after a reload.
  var VIEW_KEY = 'psw-view';
  // The chat, in localStorage["psw-wm-{deploymentId}"]: {t: Web Messaging token, s: CHAT_STATE}.
  // The stored codes are kept short and unchanged, so saved chats still resume.
  var CHAT_STATE = { none: 'n', active: 'a', readOnly: 'r' }; // read-only: the agent ended it
  var chatRecord = {
    get: function () { return storage.get('localStorage', 'psw-wm-' + settings.deploymentId); },
    set: function (record) { storage.set('localStorage', 'psw-wm-' + settings.deploymentId, record); }
  };

  // ---- Reconnecting (the statistics socket here, the chat socket in chat-messaging.js) ----
  // retry() calls connect() after a full-jitter exponential backoff: a random delay in
  // [0, min(30 s, 1 s × 2^attempt)); reset() once connected; cancel() drops a pending retry.
  function createReconnector(connect) {
    var attempt = 0;
    var timer = 0;
    return {
      retry: function () {
        clearTimeout(timer);
        timer = setTimeout(connect, Math.random() * Math.min(30000, 1000 * Math.pow(2, attempt++)));
      },
      reset: function () { attempt = 0; },
      cancel: function () { clearTimeout(timer); }
    };
  }

  // ---- Mounting ----
  var elements = {}; // the widget's elements by role: elements.header, elements.phone, …
  var shadowRoot;
  var currentView = 'chooser'; // or 'callback', 'chat'
  var isOpen = false;
  var chatActive = false;
  var unreadCount = 0;
  var stylesheetLoaded = false;
  var focusWhenStyled = false;

  function mount() {
    if (document.getElementById(settings.containerId)) {
      console.error('public-stats widget: an element with id "' + settings.containerId + '" already exists; set containerEl to a free id.');
      return;
    }
    var direction = config.dir || getComputedStyle(document.body).direction || 'ltr';
    createHost(direction);
    shadowRoot.appendChild(buildRoot(direction));
    document.body.appendChild(elements.host);
    installPublicApi();
    restoreState();
    isReady = true;
    emit('ready');
  }

  // <public-stats-widget> with the settings as CSS properties, and its shadow root with the
  // stylesheet.
  function createHost(direction) {
    var host = elements.host = document.createElement('public-stats-widget');
    host.id = settings.containerId;
    // Hidden until widget.css (its :host rule is !important) has loaded: never unstyled, and
    // never shown at all if the stylesheet cannot load.
    host.style.display = 'none';
    var properties = {
      '--psw-bg': settings.backgroundColor,
      '--psw-fg': settings.textColor,
      '--psw-z': settings.zIndex,
      '--psw-anim': settings.animationMs + 'ms',
      '--psw-chat-w': settings.chatWidth + 'px',
      '--psw-chat-h': settings.chatHeight + 'px'
    };
    for (var name in properties) host.style.setProperty(name, properties[name]);
    host.setAttribute('data-position', config.position || (direction === 'rtl' ? 'left' : 'right'));
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
  function buildRoot(direction) {
    var header = buildHeader();
    var panel = elements.panel = buildElement('div', { class: 'psw-panel', id: 'psw-panel', role: 'dialog', 'aria-labelledby': 'psw-title' }, [
      buildElement('div', { class: 'psw-inner' }, [buildChooser(), buildCallback(), buildChatView()])
    ]);
    elements.announcer = buildElement('div', { class: 'psw-sr', id: 'psw-announce', 'aria-live': 'assertive', 'aria-atomic': 'true' });
    return elements.root = buildElement('div', { class: 'psw', id: 'psw', dir: direction, lang: stringsLanguage, onkeydown: function (event) {
      if (event.key === 'Escape' && isOpen) { event.stopPropagation(); setOpen(false); }
    } }, [header, panel, elements.announcer]);
  }

  function buildHeader() {
    elements.title = buildElement('span', { class: 'psw-title', id: 'psw-title', text: localized('defaultText') });
    elements.headerStats = buildElement('span', { class: 'psw-sub', id: 'psw-header-stats', hidden: true });
    elements.unreadBadge = buildElement('span', { class: 'psw-badge', id: 'psw-unread', hidden: true });
    return elements.header = buildElement('button', {
      type: 'button', class: 'psw-header', id: 'psw-header', 'aria-expanded': 'false', 'aria-controls': 'psw-panel',
      onclick: function () { setOpen(!isOpen); }
    }, [
      settings.logo ? buildElement('img', { class: 'psw-logo', src: settings.logo, alt: '' }) : null,
      buildElement('span', { class: 'psw-labels' }, [elements.title, elements.headerStats]),
      elements.unreadBadge,
      icon(ICON_PATHS.chevron, 'psw-chevron')
    ]);
  }

  // The channel chooser: live availability, then a tile per channel.
  function buildChooser() {
    elements.agents = buildElement('span', { class: 'psw-agents', id: 'psw-agents', text: localized('checking') });
    elements.ewt = buildElement('span', { class: 'psw-ewt', id: 'psw-ewt', hidden: true });
    elements.noAgents = buildElement('p', { class: 'psw-none', id: 'psw-none', hidden: true, text: localized('steer') });
    elements.chatTile = buildElement('button', { type: 'button', class: 'psw-tile', id: 'psw-tile-chat', onclick: function () { startChat(); } },
      [icon(ICON_PATHS.chat), buildElement('span', { text: localized('chatTile') })]);
    elements.callbackTile = buildElement('button', { type: 'button', class: 'psw-tile', id: 'psw-tile-callback', onclick: function () { showView('callback', true); } },
      [icon(ICON_PATHS.phone), buildElement('span', { text: localized('callbackTile') })]);
    if (!settings.deploymentId) elements.chatTile.hidden = true;
    return elements.chooser = buildElement('section', { class: 'psw-view psw-chooser', id: 'psw-chooser', 'aria-label': localized('previewText') }, [
      buildElement('p', { class: 'psw-stats', id: 'psw-stats', 'aria-live': 'polite', 'aria-atomic': 'true' }, [elements.agents, elements.ewt]),
      elements.noAgents,
      buildElement('div', { class: 'psw-tiles' }, [elements.chatTile, elements.callbackTile])
    ]);
  }

  // Filled by chat-messaging.js.
  function buildChatView() {
    return elements.chat = buildElement('section', { class: 'psw-view psw-chat', id: 'psw-chat', 'aria-label': localized('chatTitle'), hidden: true });
  }

  // Replaces the loader's queueing stubs with the real methods, then replays what was queued.
  function installPublicApi() {
    api.open = function (view) {
      if (view === 'chat' && settings.deploymentId) startChat();
      else setOpen(true, view === 'callback' || view === 'chooser' ? view : null);
      return api;
    };
    api.close = function () { setOpen(false); return api; };
    api.toggle = function () { setOpen(!isOpen); return api; };
    api.on = on;
    api.off = off;
    api.internals = internals;
    api.q.splice(0).forEach(function (call) { api[call[0]].apply(api, call[1]); });
  }

  // What this page had before a reload: statistics at load, an active chat, an open callback form.
  function restoreState() {
    if (settings.connectStats === 'load') startStats();
    var savedChat = settings.deploymentId && chatRecord.get();
    var savedView = storage.get('sessionStorage', VIEW_KEY);
    if (settings.deploymentId && (settings.autoConnect || (savedChat && savedChat.s === CHAT_STATE.active))) {
      startChat(true, !(settings.autoConnect || savedView === 'chat'));
    } else if (savedView === 'callback') {
      setOpen(true, 'callback', true);
    }
  }

  // ---- Open / close / views ----
  function setOpen(open, view, noFocus) {
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
      followVisualViewport(true);
      if (!noFocus) focusView();
      if (!wasOpen) emit('opened', { view: currentView });
    } else if (wasOpen) {
      followVisualViewport(false);
      // A finished callback request is not shown again: the next opening starts at the chooser.
      if (currentView === 'callback' && !elements.callbackDone.hidden) {
        elements.callbackDone.hidden = true;
        elements.callbackForm.hidden = false;
        showView('chooser');
      }
      if (shadowRoot.activeElement) elements.header.focus();
      emit('closed');
    }
  }
  function showView(view, moveFocus) {
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
    if (currentView === 'chooser') target = elements.chatTile.hidden ? elements.callbackTile : elements.chatTile;
    else if (currentView === 'callback') target = elements.callbackDone.hidden ? elements.first : elements.callbackClose;
    else target = api.chat && api.chat.focusTarget();
    if (target) target.focus();
  }
  var VIEW_TITLES = { chooser: 'previewText', callback: 'cbTitle', chat: 'chatTitle' };
  function updateHeader() {
    var titleKey = chatActive && (currentView === 'chat' || !isOpen) ? 'activeText'
      : isOpen ? VIEW_TITLES[currentView] : 'defaultText';
    elements.title.textContent = localized(titleKey);
    elements.unreadBadge.hidden = !unreadCount || isOpen;
    elements.unreadBadge.textContent = localizedPlural('unread', unreadCount);
  }
  // Full-screen below 480 px: follow the visual viewport, so the on-screen keyboard never covers
  // the input (it shrinks the visual viewport, not the layout viewport, in current browsers).
  var visualViewport = window.visualViewport;
  function fitToVisualViewport() {
    elements.host.style.setProperty('--psw-vh', visualViewport.height + 'px');
    elements.host.style.setProperty('--psw-vt', visualViewport.offsetTop + 'px');
  }
  function followVisualViewport(follow) {
    if (!visualViewport) return;
    var method = follow ? 'addEventListener' : 'removeEventListener';
    visualViewport[method]('resize', fitToVisualViewport);
    visualViewport[method]('scroll', fitToVisualViewport);
    if (follow) fitToVisualViewport();
  }
  // Says `text` through the assertive live region (emptied first, so a repeat is said again).
  function announce(text) {
    elements.announcer.textContent = '';
    setTimeout(function () { elements.announcer.textContent = text; }, 50);
  }

  // ---- Live statistics ----
  var statsStarted = false;
  var statsSocket = null;
  var statsReconnector = createReconnector(connectStats);
  var pollTimer = 0;
  var latestStats = { observations: null, ewt: null, countsStale: false, ewtStale: false };
  function startStats() {
    if (statsStarted) return;
    statsStarted = true;
    fetchStats();
    connectStats();
  }
  function statsUrl(live) {
    var mediaType = settings.mediaType ? 'mediaType=' + encodeURIComponent(settings.mediaType) : '';
    return (live ? settings.statsSocketUrl : settings.serviceUrl) + 'api/stats/' + encodeURIComponent(settings.queueId) +
      (live ? '/live' + (mediaType ? '?' + mediaType : '') : '?key=ewt&key=observations' + (mediaType ? '&' + mediaType : ''));
  }
  function connectStats() {
    statsReconnector.cancel();
    if (statsSocket) return;
    var socket;
    try { socket = new WebSocket(statsUrl(true)); } catch (e) { return statsReconnector.retry(); }
    var receivedAny = false;
    statsSocket = socket;
    socket.onmessage = function (event) {
      if (!receivedAny) { receivedAny = true; statsReconnector.reset(); clearInterval(pollTimer); pollTimer = 0; }
      try { receiveStats(JSON.parse(event.data)); } catch (e) { /* not ours */ }
    };
    socket.onclose = function () {
      if (statsSocket !== socket) return;
      statsSocket = null;
      // No stream (yet): poll the REST endpoint meanwhile.
      if (!pollTimer) pollTimer = setInterval(fetchStats, 15000);
      statsReconnector.retry();
    };
  }
  function fetchStats() {
    if (document.visibilityState === 'hidden') return;
    fetch(statsUrl(false)).then(function (response) { return response.ok ? response.json() : null; })
      .then(function (message) { if (message) receiveStats(message); }, function () { /* offline: the stream retries */ });
  }
  function resyncStats() {
    if (!statsStarted || document.visibilityState !== 'visible') return;
    fetchStats();
    if (!statsSocket) { statsReconnector.reset(); connectStats(); }
  }
  document.addEventListener('visibilitychange', resyncStats);
  window.addEventListener('online', resyncStats);

  // Accepts the live frame and the REST answer ({queueId?, observations, ewt, stale?,
  // observationsAsOf?, ewtAsOf?}; ewt -1 = unknown), the seed's {queueStats: {id: observations}}
  // and a bare observations object. A stale part is not shown: only `ewtAsOf` → only the EWT is
  // stale, only `observationsAsOf` → only the counts; neither → both.
  function receiveStats(message) {
    if (!message || typeof message !== 'object') return;
    var observations = message.observations || (message.queueStats && message.queueStats[settings.queueId]) ||
      (typeof message.availableAgents === 'number' ? message : null);
    var hasEwt = 'ewt' in message;
    if (!observations && !hasEwt) return;
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
  function renderStats() {
    var observations = latestStats.observations;
    var available = observations && !latestStats.countsStale && typeof observations.availableAgents === 'number'
      ? observations.availableAgents : null;
    var agentsText = available == null ? localized(observations ? 'unknown' : 'checking')
      : available === 0 ? localized('noAgents') : localizedPlural('agents', available);
    var wait = available == null || latestStats.ewtStale ? '' : waitText(latestStats.ewt);
    var waitLine = wait && localized('wait', { t: wait });
    if (elements.agents.textContent !== agentsText) elements.agents.textContent = agentsText;
    if (elements.ewt.textContent !== waitLine) elements.ewt.textContent = waitLine;
    elements.ewt.hidden = !waitLine;
    elements.noAgents.hidden = available !== 0;
    elements.root.classList.toggle('psw--none', available === 0);
    elements.headerStats.hidden = available == null;
    elements.headerStats.textContent = available == null ? '' : agentsText;
    emit('stats', {
      availableAgents: available,
      ewt: waitLine ? latestStats.ewt : null,
      stale: latestStats.countsStale || latestStats.ewtStale,
      observations: observations
    });
  }

  // ---- Callback ----
  // A labelled input (elements[name]) with its error line (elements[name + 'Error']) and hint.
  function buildField(name, label, attributes, hint) {
    var id = 'psw-' + name;
    var describedBy = (hint ? id + '-hint ' : '') + id + '-error';
    elements[name] = buildElement('input', Object.assign({ id: id, class: 'psw-input', 'aria-describedby': describedBy }, attributes));
    elements[name + 'Error'] = buildElement('p', { class: 'psw-error', id: id + '-error' });
    return buildElement('div', { class: 'psw-field' }, [
      buildElement('label', { for: id, text: label }),
      hint ? buildElement('p', { class: 'psw-hint', id: id + '-hint', text: hint }) : null,
      elements[name],
      elements[name + 'Error']
    ]);
  }
  function buildCallback() {
    elements.formError = buildElement('p', { class: 'psw-error', id: 'psw-callback-error' }); // above the buttons
    elements.submit = buildElement('button', { type: 'submit', class: 'psw-primary', id: 'psw-callback-submit', text: localized('submit') });
    elements.callbackForm = buildElement('form', { class: 'psw-form', id: 'psw-callback-form', novalidate: true, onsubmit: submitCallback, oninput: function (event) {
      // Typing in a field clears its error.
      var name = event.target.id.slice('psw-'.length);
      if (elements[name + 'Error']) setError(name, '');
    } }, [
      buildField('first', localized('first'), { name: 'given-name', autocomplete: 'given-name', required: true, maxlength: 100 }),
      buildField('last', localized('last'), { name: 'family-name', autocomplete: 'family-name', required: true, maxlength: 100 }),
      buildField('phone', localized('phone'), { type: 'tel', name: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, maxlength: 32 }, localized('phoneHint')),
      settings.showTime ? buildField('time', localized('time'), { type: 'datetime-local', name: 'time' }) : null,
      elements.formError,
      buildElement('div', { class: 'psw-actions' }, [
        buildElement('button', { type: 'button', class: 'psw-secondary', id: 'psw-callback-back', text: localized('back'), onclick: function () { showView('chooser', true); } }),
        elements.submit
      ])
    ]);
    elements.callbackDoneText = buildElement('p', { class: 'psw-done-text', id: 'psw-callback-done-text' });
    elements.callbackClose = buildElement('button', { type: 'button', class: 'psw-primary', id: 'psw-callback-close', text: localized('close'), onclick: function () {
      setOpen(false);
    } });
    elements.callbackDone = buildElement('div', { class: 'psw-done', id: 'psw-callback-done', hidden: true }, [elements.callbackDoneText, elements.callbackClose]);
    return elements.callback = buildElement('section', { class: 'psw-view psw-callback', id: 'psw-callback', 'aria-label': localized('cbTitle'), hidden: true },
      [elements.callbackForm, elements.callbackDone]);
  }
  // `name`: a field, or 'form' for the line above the buttons.
  function setError(name, message) {
    elements[name + 'Error'].textContent = message || '';
    var input = name === 'form' ? null : elements[name];
    if (input) message ? input.setAttribute('aria-invalid', 'true') : input.removeAttribute('aria-invalid');
  }
  // The number as sent (separators removed, 00 → +, callback.countryCode before a national
  // number), or null unless it is + and 7 to 15 digits.
  function normalizePhone(value) {
    var number = value.replace(/[\s().\-/]/g, '').replace(/^00/, '+');
    if (number[0] !== '+' && settings.countryCode) number = settings.countryCode.replace(/[^\d+]/g, '') + number.replace(/^0/, '');
    return /^\+?\d{7,15}$/.test(number) ? number : null;
  }
  var sendingCallback = false;
  function submitCallback(event) {
    event.preventDefault();
    if (sendingCallback) return;
    var first = elements.first.value.trim();
    var last = elements.last.value.trim();
    var number = normalizePhone(elements.phone.value);
    var when = settings.showTime && elements.time.value ? new Date(elements.time.value) : null;
    var problems = [ // [field, message or false]
      ['first', !first && localized('firstMissing')],
      ['last', !last && localized('lastMissing')],
      ['phone', !number && localized('phoneInvalid')]
    ];
    if (settings.showTime) problems.push(['time', when && !(when > new Date()) && localized('timePast')]);
    setError('form', '');
    var firstInvalid = null;
    problems.forEach(function (problem) {
      setError(problem[0], problem[1]);
      if (problem[1] && !firstInvalid) firstInvalid = problem[0];
    });
    if (firstInvalid) { elements[firstInvalid].focus(); return; }
    var body = { queueId: settings.queueId, callbackNumbers: [number], callbackUserName: first + ' ' + last };
    if (when) body.callbackScheduledTime = when.toISOString();
    setSending(true);
    fetch(settings.serviceUrl + 'api/callback', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (response) {
        if (response.ok) return showCallbackDone(number, when);
        return response.json().then(function (problem) { showCallbackErrors(problem, response.status); },
          function () { showCallbackErrors({}, response.status); });
      }, function () { showCallbackErrors({}, 0); })
      .then(function () { setSending(false); });
  }
  function setSending(sending) {
    sendingCallback = sending;
    sending ? elements.submit.setAttribute('aria-disabled', 'true') : elements.submit.removeAttribute('aria-disabled');
    elements.submit.textContent = localized(sending ? 'sending' : 'submit');
  }
  function showCallbackDone(number, when) {
    elements.callbackForm.reset();
    elements.callbackForm.hidden = true;
    elements.callbackDone.hidden = false;
    elements.callbackDoneText.textContent = when
      ? localized('cbDoneAt', { phone: number, time: when.toLocaleString(formatLocale(), { dateStyle: 'medium', timeStyle: 'short' }) })
      : localized('cbDone', { phone: number });
    announce(elements.callbackDoneText.textContent);
    elements.callbackClose.focus();
    emit('callback', { queueId: settings.queueId, scheduled: when ? when.toISOString() : null });
  }
  // The service's field names (an `invalid-params` name, or the first `name` a 4xx detail quotes)
  // → the form field whose error line shows the message. Any other: the line above the buttons.
  var FORM_FIELDS = {
    callbackNumbers: 'phone',
    callbackUserName: 'first',
    callbackScheduledTime: 'time' // unless callback.scheduling hides it
  };
  function formFieldFor(serverField) {
    var name = Object.prototype.hasOwnProperty.call(FORM_FIELDS, serverField) && FORM_FIELDS[serverField];
    return name && elements[name] ? name : 'form';
  }
  function firstQuotedName(text) {
    var quoted = /`([^`]+)`/.exec(text || '');
    return quoted ? quoted[1] : '';
  }
  // A problem+json: each message goes next to the field it names (RFC 9457 "invalid-params", else
  // a 4xx `detail`), or above the buttons; announced; the visitor's input is kept.
  function showCallbackErrors(problem, status) {
    problem = problem || {};
    var entries = problem['invalid-params'] || problem.invalidParams || problem.errors;
    // The server speaks English: a non-field error in another language is the generic string.
    var generalMessage = /^en/i.test(stringsLanguage) && serverText(problem.detail || problem.title) || localized('cbFailed');
    if (!entries || !entries.length) {
      entries = [{ name: status > 399 && status < 500 ? problem.field || firstQuotedName(problem.detail) : '', reason: generalMessage }];
    }
    var messages = [];
    var focusField;
    entries.forEach(function (entry) {
      var field = formFieldFor(entry && (entry.name || entry.field));
      var message = serverText(entry && entry.reason) || generalMessage;
      var shown = elements[field + 'Error'].textContent;
      setError(field, shown ? shown + ' ' + message : message);
      messages.push(message);
      focusField = focusField || field;
    });
    (focusField === 'form' ? elements.submit : elements[focusField]).focus();
    announce(messages.join(' '));
    emit('error', { kind: 'callback', status: status, detail: messages.join(' ') });
  }
  // "`field` is bad; see `x`" → "Is bad; see x." (shown next to that field)
  function serverText(text) {
    text = typeof text === 'string' ? text.replace(/^`[^`]*`\s*/, '').replace(/`/g, '') : '';
    return text && (text[0].toUpperCase() + text.slice(1)).replace(/([^.!?…])$/, '$1.');
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
    api.load('scripts/chat-messaging.js', function (loaded) {
      chatLoading = false;
      if (!loaded) elements.chat.textContent = localized('loadFailed');
      else if (api.chat) api.chat.start(noFocus || !isOpen);
    });
  }

  // What chat-messaging.js uses, as publicStatsWidget.internals.
  var internals = {
    settings: settings,
    webMessagingConfig: webMessagingConfig,
    localized: localized,
    buildElement: buildElement,
    emit: emit,
    chatRecord: chatRecord,
    CHAT_STATE: CHAT_STATE,
    createReconnector: createReconnector,
    chatSection: function () { return elements.chat; },
    chatViewOpen: function () { return isOpen && currentView === 'chat'; },
    setChatActive: function (active) { chatActive = active; updateHeader(); },
    countUnread: function () { if (!isOpen || currentView !== 'chat') { unreadCount++; updateHeader(); } },
    showChooser: function () { showView('chooser', true); }
  };

  // ---- Start ----
  function mountWhenBodyExists() {
    if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
  }
  function applyHeaderTexts() {
    ['defaultText', 'activeText', 'previewText'].forEach(function (key) { if (headerConfig[key]) strings[key] = headerConfig[key]; });
  }
  var LANGUAGE_PACKS = { es: 1, fr: 1, de: 1 };
  if (config.strings) mergeStrings(config.strings);
  if (LANGUAGE_PACKS[language]) {
    api.load('scripts/i18n/' + language + '.js', function () {
      if (config.strings) mergeStrings(config.strings); // over the pack
      applyHeaderTexts();
      mountWhenBodyExists();
    });
  } else {
    applyHeaderTexts();
    mountWhenBodyExists();
  }
})();
