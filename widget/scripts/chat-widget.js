/*! public-stats widget: header, channel chooser with live statistics, callback form. The chat
 * (Web Messaging) is in chat-messaging.js, loaded when a chat starts. See widget/README.md. */
(function (w, d) {
  'use strict';
  var api = w.publicStatsWidget;
  if (!api || !api.v || api.w) return; // no loader, or this file included twice
  api.w = 1;
  var raw = w.pureCloudCustomChatConfig;
  var cw = raw.chatWidget || {};
  var hd = raw.header || {};
  var wm = raw.webMessaging || {};
  var host = api.host;
  function opt(o, k, dflt) { return o[k] != null && o[k] !== '' ? o[k] : dflt; }
  function abs(u) { return new URL(u, location.href); }

  // ---- Settings (names and defaults documented in widget/README.md) ----
  var svc = raw.serviceUrl || (raw.statsWebsocketUri ? raw.statsWebsocketUri.replace(/^ws/, 'http') : abs(host).origin);
  svc = abs(svc).href.replace(/\/?$/, '/');
  var cfg = {
    queueId: raw.queueId,
    containerEl: opt(raw, 'containerEl', 'purecloud-chatwidget-chat-container'),
    autoConnect: raw.autoConnect === true,
    width: +opt(cw, 'width', 450),
    height: +opt(cw, 'height', 500),
    // The seed's background; its README's `color` default (#4498B4, the background itself) is a
    // typo, and its example's #F6F6F6 has 3.0:1 on it: black has 6.4:1 (WCAG AA needs 4.5:1).
    bg: opt(cw, 'backgroundColor', '#4498B4'),
    fg: opt(cw, 'color', '#000000'),
    anim: +opt(raw, 'expandAnimationMs', 800),
    logo: opt(hd, 'logo', host + 'img/logo.svg'),
    service: svc,
    statsWs: (raw.statsWebsocketUri ? abs(raw.statsWebsocketUri).href.replace(/\/?$/, '/') : svc).replace(/^http/, 'ws'),
    connectStats: raw.connectStats === 'load' ? 'load' : 'open',
    mediaType: raw.mediaType || '',
    deploymentId: wm.deploymentId || '',
    zIndex: opt(raw, 'zIndex', 2147483000),
    countryCode: raw.callback && raw.callback.countryCode || '',
    showTime: !(raw.callback && raw.callback.scheduling === false)
  };
  if (cfg.deploymentId && !wm.environment && !wm.url) {
    console.error('public-stats widget: webMessaging.deploymentId needs webMessaging.environment (e.g. "mypurecloud.com") or webMessaging.url; the chat is not offered.');
    cfg.deploymentId = '';
  }
  var locale = raw.locale || d.documentElement.lang || navigator.language || 'en';
  var lang = locale.slice(0, 2).toLowerCase();

  // ---- Strings: English < language pack < config.strings < config.header.* ----
  var S = {
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
  var strLang = raw.strings ? locale : 'en';
  api.addStrings = function (l, s) { if (l === lang) { mix(s); strLang = locale; } };
  function mix(s) { for (var k in s) if (typeof s[k] === 'string') S[k] = s[k]; }
  function t(k, v) {
    return (S[k] || '').replace(/\{(\w+)\}/g, function (m, n) { return v && v[n] != null ? v[n] : m; });
  }
  var rules;
  function plural(k, n) {
    try { rules = rules || new Intl.PluralRules(locale); } catch (e) { rules = new Intl.PluralRules('en'); }
    var f = k + '_' + rules.select(n);
    return t(S[f] ? f : k + '_other', { n: n.toLocaleString(locale) });
  }
  function waitText(s) {
    if (typeof s !== 'number' || !(s >= 0)) return '';
    if (s < 60) return t('lessMinute');
    var m = Math.ceil(s / 60);
    return m > 60 ? t('overHour') : plural('minutes', m);
  }

  // ---- Events ----
  var handlers = {};
  var ready = false;
  function on(n, f) {
    if (typeof f !== 'function') return api;
    (handlers[n] = handlers[n] || []).push(f);
    if (n === 'ready' && ready) f();
    return api;
  }
  function off(n, f) {
    handlers[n] = (handlers[n] || []).filter(function (g) { return g !== f && f; });
    return api;
  }
  function emit(n, data) {
    (handlers[n] || []).slice().forEach(function (f) {
      try { f(data); } catch (e) { console.error(e); }
    });
  }

  // ---- DOM helpers (no innerHTML anywhere: text is always textContent) ----
  function h(tag, props, kids) {
    var e = d.createElement(tag);
    for (var k in props || {}) {
      var v = props[k];
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  var NS = 'http://www.w3.org/2000/svg';
  function icon(path, cls) {
    var s = d.createElementNS(NS, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    s.setAttribute('class', 'psw-icon ' + (cls || ''));
    var p = d.createElementNS(NS, 'path');
    p.setAttribute('d', path);
    s.appendChild(p);
    return s;
  }
  var I = {
    chat: 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z',
    phone: 'M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25c1.1.37 2.3.57 3.6.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z',
    chevron: 'M7.4 15.4 12 10.8l4.6 4.6L18 14l-6-6-6 6z'
  };
  var store = {
    get: function (s, k) { try { return JSON.parse(w[s].getItem(k)); } catch (e) { return null; } },
    set: function (s, k, v) { try { v == null ? w[s].removeItem(k) : w[s].setItem(k, JSON.stringify(v)); } catch (e) { /* storage off */ } }
  };

  // ---- State ----
  var el = {};
  var view = 'chooser';
  var isOpen = false;
  var chatActive = false;
  var unread = 0;
  var stats = { obs: null, ewt: null, stale: false, ewtStale: false };
  var shadow;
  var styled = false;
  var focusLater = false;

  function mount() {
    if (d.getElementById(cfg.containerEl)) {
      console.error('public-stats widget: an element with id "' + cfg.containerEl + '" already exists; set containerEl to a free id.');
      return;
    }
    var box = d.createElement('public-stats-widget');
    box.id = cfg.containerEl;
    // Hidden until widget.css (its :host rule is !important) has loaded: never unstyled, and
    // never shown at all if the stylesheet cannot load.
    box.style.display = 'none';
    [['--psw-bg', cfg.bg], ['--psw-fg', cfg.fg], ['--psw-z', cfg.zIndex], ['--psw-anim', cfg.anim + 'ms'],
      ['--psw-chat-w', cfg.width + 'px'], ['--psw-chat-h', cfg.height + 'px']].forEach(function (p) {
      box.style.setProperty(p[0], p[1]);
    });
    var dir = raw.dir || getComputedStyle(d.body).direction || 'ltr';
    box.setAttribute('data-position', raw.position || (dir === 'rtl' ? 'left' : 'right'));
    shadow = box.attachShadow({ mode: 'open' });
    // Nothing can take the focus before the stylesheet shows the widget: an open() queued by the
    // page focuses once it has loaded.
    var css = h('link', { rel: 'stylesheet', href: host + 'style/widget.css', onload: function () {
      styled = true;
      if (focusLater && isOpen) focusView();
    } });
    if (api.nonce) css.nonce = api.nonce;
    shadow.appendChild(css);

    el.title = h('span', { class: 'psw-title', id: 'psw-title', text: t('defaultText') });
    el.sub = h('span', { class: 'psw-sub', id: 'psw-header-stats', hidden: true });
    el.badge = h('span', { class: 'psw-badge', id: 'psw-unread', hidden: true });
    el.header = h('button', {
      type: 'button', class: 'psw-header', id: 'psw-header', 'aria-expanded': 'false', 'aria-controls': 'psw-panel',
      onclick: function () { setOpen(!isOpen); }
    }, [
      cfg.logo ? h('img', { class: 'psw-logo', src: cfg.logo, alt: '' }) : null,
      h('span', { class: 'psw-labels' }, [el.title, el.sub]),
      el.badge,
      icon(I.chevron, 'psw-chevron')
    ]);

    // Chooser
    el.agents = h('span', { class: 'psw-agents', id: 'psw-agents', text: t('checking') });
    el.ewt = h('span', { class: 'psw-ewt', id: 'psw-ewt', hidden: true });
    el.none = h('p', { class: 'psw-none', id: 'psw-none', hidden: true, text: t('steer') });
    el.chatTile = h('button', { type: 'button', class: 'psw-tile', id: 'psw-tile-chat', onclick: function () { startChat(); } },
      [icon(I.chat), h('span', { text: t('chatTile') })]);
    el.cbTile = h('button', { type: 'button', class: 'psw-tile', id: 'psw-tile-callback', onclick: function () { show('callback', true); } },
      [icon(I.phone), h('span', { text: t('callbackTile') })]);
    if (!cfg.deploymentId) el.chatTile.hidden = true;
    el.chooser = h('section', { class: 'psw-view psw-chooser', id: 'psw-chooser', 'aria-label': t('previewText') }, [
      h('p', { class: 'psw-stats', id: 'psw-stats', 'aria-live': 'polite', 'aria-atomic': 'true' }, [el.agents, el.ewt]),
      el.none,
      h('div', { class: 'psw-tiles' }, [el.chatTile, el.cbTile])
    ]);

    el.callback = buildCallback();
    el.chat = h('section', { class: 'psw-view psw-chat', id: 'psw-chat', 'aria-label': t('chatTitle'), hidden: true });
    el.panel = h('div', { class: 'psw-panel', id: 'psw-panel', role: 'dialog', 'aria-labelledby': 'psw-title' }, [
      h('div', { class: 'psw-inner' }, [el.chooser, el.callback, el.chat])
    ]);
    el.announce = h('div', { class: 'psw-sr', id: 'psw-announce', 'aria-live': 'assertive', 'aria-atomic': 'true' });
    el.root = h('div', { class: 'psw', id: 'psw', dir: dir, lang: strLang, onkeydown: function (e) {
      if (e.key === 'Escape' && isOpen) { e.stopPropagation(); setOpen(false); }
    } }, [el.header, el.panel, el.announce]);
    shadow.appendChild(el.root);
    d.body.appendChild(box);
    el.host = box;

    // Public API: replaces the loader's queueing stubs, then replays what was queued.
    api.open = function (v) {
      if (v === 'chat' && cfg.deploymentId) startChat();
      else setOpen(true, v === 'callback' || v === 'chooser' ? v : null);
      return api;
    };
    api.close = function () { setOpen(false); return api; };
    api.toggle = function () { setOpen(!isOpen); return api; };
    api.on = on;
    api.off = off;
    api.core = core;
    var queued = api.q.splice(0);
    queued.forEach(function (c) { api[c[0]].apply(api, c[1]); });

    if (cfg.connectStats === 'load') startStats();
    var saved = cfg.deploymentId && store.get('localStorage', chatKey());
    if (cfg.deploymentId && (cfg.autoConnect || (saved && saved.s === 'a'))) {
      var wasOpen = store.get('sessionStorage', 'psw-view') === 'chat';
      startChat(true, !(cfg.autoConnect || wasOpen));
    } else if (store.get('sessionStorage', 'psw-view') === 'callback') {
      setOpen(true, 'callback', true);
    }
    ready = true;
    emit('ready');
  }

  function chatKey() { return 'psw-wm-' + cfg.deploymentId; }

  // ---- Open / close / views ----
  function setOpen(open, v, noFocus) {
    if (v) show(v);
    var was = isOpen;
    isOpen = open;
    el.root.classList.toggle('psw--open', open);
    el.host.toggleAttribute('data-open', open);
    el.header.setAttribute('aria-expanded', String(open));
    store.set('sessionStorage', 'psw-view', open ? view : null);
    header();
    if (open) {
      unread = 0;
      header();
      startStats();
      viewport(true);
      if (!noFocus) focusView();
      if (!was) emit('opened', { view: view });
    } else if (was) {
      viewport(false);
      // A finished callback request is not shown again: the next opening starts at the chooser.
      if (view === 'callback' && !el.done.hidden) { el.done.hidden = true; el.form.hidden = false; show('chooser'); }
      if (shadow.activeElement) el.header.focus();
      emit('closed');
    }
  }
  function show(v, focus) {
    view = v;
    ['chooser', 'callback', 'chat'].forEach(function (n) { el[n].hidden = n !== v; });
    el.root.classList.toggle('psw--chat', v === 'chat');
    if (isOpen) store.set('sessionStorage', 'psw-view', v);
    header();
    if (focus) focusView();
  }
  function focusView() {
    var target;
    focusLater = !styled;
    if (focusLater) return;
    if (view === 'chooser') target = el.chatTile.hidden ? el.cbTile : el.chatTile;
    else if (view === 'callback') target = el.done.hidden ? el.first : el.doneBtn;
    else target = api.chat && api.chat.focusTarget();
    if (target) target.focus();
  }
  function header() {
    var k = chatActive && (view === 'chat' || !isOpen) ? 'activeText' : !isOpen ? 'defaultText'
      : view === 'callback' ? 'cbTitle' : view === 'chat' ? 'chatTitle' : 'previewText';
    el.title.textContent = t(k);
    el.badge.hidden = !unread || isOpen;
    el.badge.textContent = plural('unread', unread);
  }
  // Full-screen below 480 px: follow the visual viewport, so the on-screen keyboard never covers
  // the input (it shrinks the visual viewport, not the layout viewport, in current browsers).
  var vv = w.visualViewport;
  function fit() {
    el.host.style.setProperty('--psw-vh', vv.height + 'px');
    el.host.style.setProperty('--psw-vt', vv.offsetTop + 'px');
  }
  function viewport(on) {
    if (!vv) return;
    vv[on ? 'addEventListener' : 'removeEventListener']('resize', fit);
    vv[on ? 'addEventListener' : 'removeEventListener']('scroll', fit);
    if (on) fit();
  }
  function announce(text) {
    el.announce.textContent = '';
    setTimeout(function () { el.announce.textContent = text; }, 50);
  }

  // ---- Live statistics ----
  var statsOn = false;
  var ws = null;
  var tries = 0;
  var retryTimer = 0;
  var pollTimer = 0;
  function startStats() {
    if (statsOn) return;
    statsOn = true;
    fetchStats();
    connect();
  }
  function statsUrl(live) {
    var mt = cfg.mediaType ? 'mediaType=' + encodeURIComponent(cfg.mediaType) : '';
    return (live ? cfg.statsWs : cfg.service) + 'api/stats/' + encodeURIComponent(cfg.queueId) +
      (live ? '/live' + (mt ? '?' + mt : '') : '?key=ewt&key=observations' + (mt ? '&' + mt : ''));
  }
  function connect() {
    clearTimeout(retryTimer);
    if (ws) return;
    var s;
    try { s = new WebSocket(statsUrl(true)); } catch (e) { return retry(); }
    var got = false;
    ws = s;
    s.onmessage = function (e) {
      if (!got) { got = true; tries = 0; clearInterval(pollTimer); pollTimer = 0; }
      try { onStats(JSON.parse(e.data)); } catch (x) { /* not ours */ }
    };
    s.onclose = function () {
      if (ws !== s) return;
      ws = null;
      // No stream (yet): poll the REST endpoint meanwhile.
      if (!pollTimer) pollTimer = setInterval(fetchStats, 15000);
      retry();
    };
  }
  // Full-jitter exponential backoff: a random delay in [0, min(30 s, 1 s × 2^attempt)).
  function retry() {
    retryTimer = setTimeout(connect, Math.random() * Math.min(30000, 1000 * Math.pow(2, tries++)));
  }
  function fetchStats() {
    if (d.visibilityState === 'hidden') return;
    fetch(statsUrl(false)).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (m) { if (m) onStats(m); }, function () { /* offline: the stream retries */ });
  }
  function resync() {
    if (!statsOn || d.visibilityState !== 'visible') return;
    fetchStats();
    if (!ws) { tries = 0; connect(); }
  }
  d.addEventListener('visibilitychange', resync);
  w.addEventListener('online', resync);

  // Accepts the live frame and the REST answer ({queueId?, observations, ewt, stale?,
  // observationsAsOf?, ewtAsOf?}; ewt -1 = unknown), the seed's {queueStats: {id: obs}} and a bare
  // observations object. A stale part is not shown: only `ewtAsOf` → only the EWT is stale, only
  // `observationsAsOf` → only the counts; neither → both.
  function onStats(m) {
    if (!m || typeof m !== 'object') return;
    var o = m.observations || (m.queueStats && m.queueStats[cfg.queueId]) || (typeof m.availableAgents === 'number' ? m : null);
    if (!o && !('ewt' in m)) return;
    if (o) stats.obs = o;
    if ('ewt' in m) {
      var e = m.ewt;
      stats.ewt = e && typeof e === 'object' ? e[cfg.mediaType || 'message'] : e;
    }
    var st = m.stale === true;
    var oa = 'observationsAsOf' in m;
    var ea = 'ewtAsOf' in m;
    stats.stale = st && (oa || !ea);
    stats.ewtStale = st && (ea || !oa);
    renderStats();
  }
  function renderStats() {
    var o = stats.obs;
    var n = o && !stats.stale && typeof o.availableAgents === 'number' ? o.availableAgents : null;
    var wait = n == null || stats.ewtStale ? '' : waitText(stats.ewt);
    var text = n == null ? t(o ? 'unknown' : 'checking') : n === 0 ? t('noAgents') : plural('agents', n);
    if (el.agents.textContent !== text) el.agents.textContent = text;
    wait = wait && t('wait', { t: wait });
    if (el.ewt.textContent !== wait) el.ewt.textContent = wait;
    el.ewt.hidden = !wait;
    el.none.hidden = n !== 0;
    el.root.classList.toggle('psw--none', n === 0);
    el.sub.hidden = n == null;
    el.sub.textContent = n == null ? '' : text;
    emit('stats', { availableAgents: n, ewt: wait ? stats.ewt : null, stale: stats.stale || stats.ewtStale, observations: o });
  }

  // ---- Callback ----
  function field(id, label, attrs, hint) {
    var desc = (hint ? 'psw-' + id + '-hint ' : '') + 'psw-' + id + '-error';
    var input = h('input', Object.assign({ id: 'psw-' + id, class: 'psw-input', 'aria-describedby': desc }, attrs));
    el[id] = input;
    el[id + 'Err'] = h('p', { class: 'psw-error', id: 'psw-' + id + '-error' });
    return h('div', { class: 'psw-field' }, [
      h('label', { for: 'psw-' + id, text: label }),
      hint ? h('p', { class: 'psw-hint', id: 'psw-' + id + '-hint', text: hint }) : null,
      input,
      el[id + 'Err']
    ]);
  }
  function buildCallback() {
    el.formErr = h('p', { class: 'psw-error', id: 'psw-callback-error' });
    el.submit = h('button', { type: 'submit', class: 'psw-primary', id: 'psw-callback-submit', text: t('submit') });
    el.form = h('form', { class: 'psw-form', id: 'psw-callback-form', novalidate: true, onsubmit: submit, oninput: function (e) {
      var id = e.target.id.slice(4);
      if (el[id + 'Err']) setErr(id, '');
    } }, [
      field('first', t('first'), { name: 'given-name', autocomplete: 'given-name', required: true, maxlength: 100 }),
      field('last', t('last'), { name: 'family-name', autocomplete: 'family-name', required: true, maxlength: 100 }),
      field('phone', t('phone'), { type: 'tel', name: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, maxlength: 32 }, t('phoneHint')),
      cfg.showTime ? field('time', t('time'), { type: 'datetime-local', name: 'time' }) : null,
      el.formErr,
      h('div', { class: 'psw-actions' }, [
        h('button', { type: 'button', class: 'psw-secondary', id: 'psw-callback-back', text: t('back'), onclick: function () { show('chooser', true); } }),
        el.submit
      ])
    ]);
    el.doneText = h('p', { class: 'psw-done-text', id: 'psw-callback-done-text' });
    el.doneBtn = h('button', { type: 'button', class: 'psw-primary', id: 'psw-callback-close', text: t('close'), onclick: function () {
      setOpen(false);
    } });
    el.done = h('div', { class: 'psw-done', id: 'psw-callback-done', hidden: true }, [el.doneText, el.doneBtn]);
    return h('section', { class: 'psw-view psw-callback', id: 'psw-callback', 'aria-label': t('cbTitle'), hidden: true }, [el.form, el.done]);
  }
  function setErr(id, msg) {
    el[id + 'Err'].textContent = msg || '';
    if (id !== 'form' && el[id]) msg ? el[id].setAttribute('aria-invalid', 'true') : el[id].removeAttribute('aria-invalid');
  }
  function phone(v) {
    var p = v.replace(/[\s().\-/]/g, '').replace(/^00/, '+');
    if (p[0] !== '+' && cfg.countryCode) p = cfg.countryCode.replace(/[^\d+]/g, '') + p.replace(/^0/, '');
    return /^\+?\d{7,15}$/.test(p) ? p : null;
  }
  var busy = false;
  function submit(e) {
    e.preventDefault();
    if (busy) return;
    var first = el.first.value.trim();
    var last = el.last.value.trim();
    var num = phone(el.phone.value);
    var when = cfg.showTime && el.time.value ? new Date(el.time.value) : null;
    var errs = [['first', !first && t('firstMissing')], ['last', !last && t('lastMissing')], ['phone', !num && t('phoneInvalid')]];
    if (cfg.showTime) errs.push(['time', when && !(when > new Date()) && t('timePast')]);
    setErr('form', '');
    var bad = null;
    errs.forEach(function (x) { setErr(x[0], x[1]); if (x[1] && !bad) bad = x[0]; });
    if (bad) { el[bad].focus(); return; }
    var body = { queueId: cfg.queueId, callbackNumbers: [num], callbackUserName: first + ' ' + last };
    if (when) body.callbackScheduledTime = when.toISOString();
    busy = true;
    el.submit.setAttribute('aria-disabled', 'true');
    el.submit.textContent = t('sending');
    fetch(cfg.service + 'api/callback', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (r) {
        if (r.ok) return done(num, when);
        return r.json().then(function (p) { failed(p, r.status); }, function () { failed({}, r.status); });
      }, function () { failed({}, 0); })
      .then(function () {
        busy = false;
        el.submit.removeAttribute('aria-disabled');
        el.submit.textContent = t('submit');
      });
  }
  function done(num, when) {
    el.form.reset();
    el.form.hidden = true;
    el.done.hidden = false;
    el.doneText.textContent = when
      ? t('cbDoneAt', { phone: num, time: when.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' }) })
      : t('cbDone', { phone: num });
    announce(el.doneText.textContent);
    el.doneBtn.focus();
    emit('callback', { queueId: cfg.queueId, scheduled: when ? when.toISOString() : null });
  }
  // A problem+json: each message goes next to the field it names (RFC 9457 "invalid-params", else
  // the words of a 4xx `detail`), or above the buttons; announced; the visitor's input is kept.
  // The server speaks English: a non-field error in another language is the generic string.
  function failed(p, status) {
    p = p || {};
    var list = p['invalid-params'] || p.invalidParams || p.errors;
    var msg = /^en/i.test(strLang) && clean(p.detail || p.title) || t('cbFailed');
    var said = [];
    var focus;
    (list && list.length ? list : [{ name: status > 399 && status < 500 ? p.field || p.detail : '', reason: msg }]).forEach(function (x) {
      var hint = x && (x.name || x.field) || '';
      var id = /number|phone/i.test(hint) ? 'phone' : /time|schedul/i.test(hint) && cfg.showTime ? 'time'
        : /name/i.test(hint) ? 'first' : 'form';
      var m = clean(x && x.reason) || msg;
      var e = el[id + 'Err'];
      setErr(id, e.textContent ? e.textContent + ' ' + m : m);
      said.push(m);
      focus = focus || id;
    });
    (focus === 'form' ? el.submit : el[focus]).focus();
    announce(said.join(' '));
    emit('error', { kind: 'callback', status: status, detail: said.join(' ') });
  }
  // "`field` is bad; see `x`" → "Is bad; see x." (shown next to that field)
  function clean(s) {
    s = typeof s === 'string' ? s.replace(/^`[^`]*`\s*/, '').replace(/`/g, '') : '';
    return s && (s[0].toUpperCase() + s.slice(1)).replace(/([^.!?…])$/, '$1.');
  }

  // ---- Chat: the Web Messaging client is loaded on first use ----
  var chatLoading = false;
  function startChat(noFocus, stayClosed) {
    show('chat');
    if (!stayClosed) setOpen(true, null, noFocus);
    if (api.chat) return api.chat.start(noFocus);
    if (chatLoading) return;
    chatLoading = true;
    el.chat.textContent = t('connecting');
    api.load('scripts/chat-messaging.js', function (ok) {
      chatLoading = false;
      if (!ok) el.chat.textContent = t('loadFailed');
      else if (api.chat) api.chat.start(noFocus || !isOpen);
    });
  }

  // What chat-messaging.js uses.
  var core = {
    cfg: cfg, raw: raw, t: t, plural: plural, h: h, emit: emit, announce: announce, store: store, key: chatKey,
    section: function () { return el.chat; },
    isOpen: function () { return isOpen && view === 'chat'; },
    setActive: function (on) { chatActive = on; header(); },
    unread: function () { if (!isOpen || view !== 'chat') { unread++; header(); } },
    back: function () { show('chooser', true); }
  };

  function boot() {
    if (d.body) mount(); else d.addEventListener('DOMContentLoaded', mount);
  }
  if (raw.strings) mix(raw.strings);
  var packs = { es: 1, fr: 1, de: 1 };
  function headers() {
    ['defaultText', 'activeText', 'previewText'].forEach(function (k) { if (hd[k]) S[k] = hd[k]; });
  }
  if (packs[lang]) {
    api.load('scripts/i18n/' + lang + '.js', function () {
      if (raw.strings) mix(raw.strings);
      headers();
      boot();
    });
  } else {
    headers();
    boot();
  }
})(window, document);
