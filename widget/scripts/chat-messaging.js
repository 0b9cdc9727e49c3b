/*! public-stats widget: chat over the Genesys Cloud Web Messaging guest WebSocket
 * (configureSession / onMessage / echo / getJwt). Loaded by chat-widget.js when a chat starts or
 * resumes. Messages are rendered with textContent only. See widget/README.md. */
(function (w, d) {
  'use strict';
  var api = w.publicStatsWidget;
  var c = api && api.core;
  if (!c || api.chat) return;
  var cfg = c.cfg;
  var t = c.t;
  var h = c.h;
  var wm = c.raw.webMessaging || {};
  // Guest socket: webMessaging.url (relative URLs are on the service's host, e.g. the sandbox's
  // /sandbox/genesys/v1), else wss://webmessaging.{environment}/v1.
  var env = wm.environment || '';
  var wsUrl = (wm.url ? new URL(wm.url, cfg.service).href : 'wss://webmessaging.' + env + '/v1').replace(/^http/, 'ws');
  var apiUrl = wm.apiUrl || (wm.url ? wsUrl.replace(/^ws/, 'http').replace(/\/v1\/?$/, '') : 'https://api.' + env);
  var ECHO = 'psw-echo';

  var el = {};
  var sock = null;
  var connected = false;
  var closing = false; // we closed it: no reconnect
  var tries = 0;
  var timer = 0;
  var pongTimer = 0;
  var seen = {};
  var buffer = null; // while the history of a resumed session loads
  var agentName = '';
  var typingTimer = 0;
  var lastTyping = 0;
  var saved = c.store.get('localStorage', c.key()) || {};
  var token = saved.t || uuid();
  var state = saved.s || 'n'; // n: no conversation yet, a: active, r: read-only (agent ended it)
  var pending = {};
  // A chat started from the chooser after the agent ended the last one starts a new conversation.
  var startNew = state === 'r';

  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = b[6] & 15 | 64;
    b[8] = b[8] & 63 | 128;
    var x = [].map.call(b, function (v) { return (v + 256).toString(16).slice(1); }).join('');
    return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
  }
  function save(s) {
    state = s;
    c.store.set('localStorage', c.key(), { t: token, s: s });
    c.setActive(s === 'a');
  }

  function build() {
    var sec = c.section();
    sec.textContent = '';
    el.status = h('p', { class: 'psw-status', id: 'psw-chat-status', role: 'status', text: t('connecting') });
    el.end = h('button', { type: 'button', class: 'psw-secondary', id: 'psw-chat-end', onclick: endOrBack });
    el.log = h('div', { class: 'psw-log', id: 'psw-chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': t('chatTitle'), tabindex: '0' });
    el.typing = h('p', { class: 'psw-typing', id: 'psw-chat-typing' });
    el.input = h('textarea', {
      class: 'psw-text', id: 'psw-chat-input', rows: '1', maxlength: '4000', placeholder: t('placeholder'),
      enterkeyhint: 'send', oninput: typing, onkeydown: function (e) {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
      }
    });
    el.form = h('form', { class: 'psw-composer', id: 'psw-chat-form', onsubmit: function (e) { e.preventDefault(); send(); } }, [
      h('label', { class: 'psw-sr', for: 'psw-chat-input', text: t('message') }),
      el.input,
      h('button', { type: 'submit', class: 'psw-primary', id: 'psw-chat-send', text: t('send') })
    ]);
    el.endedText = h('p', { id: 'psw-chat-ended-text' });
    el.again = h('button', { type: 'button', class: 'psw-primary', id: 'psw-chat-new', text: t('newChat'), onclick: newChat });
    el.ended = h('div', { class: 'psw-ended', id: 'psw-chat-ended', hidden: true }, [el.endedText, el.again]);
    sec.appendChild(h('div', { class: 'psw-bar' }, [el.status, el.end]));
    sec.appendChild(el.log);
    sec.appendChild(el.typing);
    sec.appendChild(el.form);
    sec.appendChild(el.ended);
    bar();
  }
  function bar() { el.end.textContent = t(state === 'a' ? 'end' : 'back'); }
  function status(k, v) { el.status.textContent = t(k, v); }

  // ---- Socket ----
  function connect() {
    clearTimeout(timer);
    if (sock) return;
    closing = false;
    var s;
    try { s = new WebSocket(wsUrl + (wsUrl.indexOf('?') < 0 ? '?' : '&') + 'deploymentId=' + encodeURIComponent(cfg.deploymentId)); } catch (e) { return retry(); }
    sock = s;
    s.onopen = function () {
      var m = { action: 'configureSession', token: token, deploymentId: cfg.deploymentId };
      if (startNew) m.startNew = true;
      out(m);
    };
    s.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      frame(m);
    };
    s.onclose = function () {
      if (sock !== s) return;
      sock = null;
      connected = false;
      clearTimeout(pongTimer);
      if (closing) return;
      status('reconnecting');
      retry();
    };
  }
  // Full-jitter exponential backoff, capped at 30 s.
  function retry() {
    timer = setTimeout(connect, Math.random() * Math.min(30000, 1000 * Math.pow(2, tries++)));
  }
  function out(m) {
    if (sock && sock.readyState === 1) { sock.send(JSON.stringify(m)); return true; }
    return false;
  }
  function hangUp() {
    closing = true;
    clearTimeout(timer);
    if (sock) { var s = sock; sock = null; connected = false; s.close(1000); }
  }
  // Health check: an echo every 30 s; no answer within 10 s means a dead socket.
  setInterval(function () {
    if (!connected) return;
    out({ action: 'echo', token: token, tracingId: ECHO, message: { type: 'Text', text: 'ping' } });
    clearTimeout(pongTimer);
    pongTimer = setTimeout(function () { if (sock) sock.close(); }, 10000);
  }, 30000);
  d.addEventListener('visibilitychange', function () {
    if (d.visibilityState === 'visible' && !sock && !closing) { tries = 0; connect(); }
  });
  w.addEventListener('online', function () { if (!sock && !closing) { tries = 0; connect(); } });

  function frame(m) {
    var b = m.body;
    if (m.tracingId === ECHO) { clearTimeout(pongTimer); return; }
    switch (m.class) {
      case 'SessionResponse':
        connected = true;
        tries = 0;
        startNew = false;
        if (b.newSession && state === 'a') save('n');
        if (b.clearedExistingSession) { el.log.textContent = ''; seen = {}; agentName = ''; }
        if (b.readOnly) readOnly(false);
        else {
          if (state === 'r') save('n');
          el.ended.hidden = true;
          el.form.hidden = false;
          status(state === 'a' ? (agentName ? 'joined' : 'waiting') : 'ready', { name: agentName });
        }
        bar();
        if (!b.newSession) history();
        break;
      case 'StructuredMessage':
        if (buffer) buffer.push(b); else message(b, true);
        break;
      case 'JwtResponse':
        fetch(apiUrl + '/api/v2/webmessaging/messages?pageSize=25', { headers: { Authorization: 'Bearer ' + b.jwt } })
          .then(function (r) { return r.ok ? r.json() : { entities: [] }; })
          .then(function (p) { flush((p.entities || []).reverse()); }, function () { flush([]); });
        break;
      case 'SessionClearedEvent':
        ended('ended');
        break;
      case 'SessionExpiredEvent':
        ended('ended');
        break;
      case 'ConnectionClosedEvent':
        hangUp();
        status('closedElsewhere');
        break;
      case 'TooManyRequestsErrorMessage':
        system(t('tooFast'));
        restore(m.tracingId);
        break;
      default:
        if (m.code !== 200 && m.type === 'response') {
          if (m.code === 4006 || m.code === 4007) { token = uuid(); save('n'); }
          system(t('sendFailed', { reason: typeof b === 'string' ? b : m.code }));
          restore(m.tracingId);
        }
    }
  }
  // A resumed session: fetch what was said (history API with a getJwt token), then show the
  // messages that arrived meanwhile; ids already shown are skipped.
  function history() {
    buffer = [];
    out({ action: 'getJwt', token: token, tracingId: uuid() });
    setTimeout(function () { if (buffer) flush([]); }, 8000);
  }
  function flush(list) {
    var later = buffer || [];
    buffer = null;
    list.concat(later).forEach(function (b) { message(b, false); });
    if (state === 'a') status(agentName ? 'joined' : 'waiting', { name: agentName });
  }

  function message(b, live) {
    if (!b || seen[b.id]) return;
    if (b.id) seen[b.id] = 1;
    var outbound = b.direction === 'Outbound';
    if (b.type === 'Event') {
      (b.events || []).forEach(function (e) {
        if (!outbound || !live) return;
        if (e.eventType === 'Typing') showTyping(e.typing && e.typing.duration);
        if (e.eventType === 'Presence' && e.presence && e.presence.type === 'Disconnect') readOnly(true);
      });
      return;
    }
    var text = b.text || (b.content || []).map(function (x) { return x.quickReply ? x.quickReply.text : ''; }).join('\n');
    if (!text) return;
    var from = b.channel && b.channel.from || {};
    var bot = b.originatingEntity === 'Bot';
    var name = outbound ? from.nickname || from.firstName || t(bot ? 'bot' : 'agent') : t('you');
    if (outbound && !bot && from.nickname && from.nickname !== agentName) {
      agentName = from.nickname;
      status('joined', { name: agentName });
    }
    if (!outbound) {
      delete pending[b.metadata && b.metadata.customMessageId];
      if (state !== 'a') { save('a'); bar(); status('waiting'); }
    }
    if (outbound) hideTyping();
    var who = h('span', { class: outbound ? 'psw-from' : 'psw-from psw-sr', text: t('said', { name: name }) });
    el.log.appendChild(h('p', { class: 'psw-msg ' + (outbound ? 'psw-msg--agent' : 'psw-msg--guest') }, [who, d.createTextNode(text)]));
    el.log.scrollTop = el.log.scrollHeight;
    if (live) {
      if (outbound) c.unread();
      c.emit('message', { id: b.id, from: outbound ? (bot ? 'bot' : 'agent') : 'guest', name: name, text: text, time: b.channel && b.channel.time });
    }
  }
  function system(text) {
    el.log.appendChild(h('p', { class: 'psw-msg psw-msg--system', text: text }));
    el.log.scrollTop = el.log.scrollHeight;
  }
  function showTyping(ms) {
    el.typing.textContent = t('typing', { name: agentName || t('agent') });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, ms || 5000);
  }
  function hideTyping() { clearTimeout(typingTimer); el.typing.textContent = ''; }

  // ---- Visitor actions ----
  function send() {
    var text = el.input.value.trim();
    if (!text || state === 'r') return;
    var id = uuid();
    if (!out({ action: 'onMessage', token: token, tracingId: id, message: { type: 'Text', text: text } })) {
      status('reconnecting');
      return; // the text stays in the box
    }
    pending[id] = el.input.value;
    el.input.value = '';
    lastTyping = Date.now();
    if (state !== 'a') c.emit('chatstarted', {});
  }
  function restore(id) {
    if (id && pending[id] != null && !el.input.value) el.input.value = pending[id];
    delete pending[id];
  }
  function typing() {
    if (state !== 'a' || Date.now() - lastTyping < 5000) return;
    lastTyping = Date.now();
    out({ action: 'onMessage', token: token, message: { type: 'Event', events: [{ eventType: 'Typing', typing: { type: 'On' } }] } });
  }
  function endOrBack() {
    if (state === 'a') {
      out({ action: 'onMessage', token: token, message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Clear' } }] } });
      return;
    }
    hangUp();
    c.back();
  }
  function newChat() {
    el.log.textContent = '';
    seen = {};
    agentName = '';
    el.ended.hidden = true;
    el.form.hidden = false;
    startNew = state === 'r';
    if (startNew && sock && connected) {
      out({ action: 'configureSession', token: token, deploymentId: cfg.deploymentId, startNew: true });
    } else {
      if (state !== 'r') { token = uuid(); save('n'); }
      hangUp();
      connect();
    }
    el.input.focus();
  }

  // ---- End states ----
  function readOnly(live) {
    save('r');
    hideTyping();
    finish('endedByAgent', live);
  }
  function ended(k) {
    token = uuid();
    c.store.set('localStorage', c.key(), null);
    state = 'n';
    c.setActive(false);
    hideTyping();
    hangUp();
    finish(k, true);
  }
  function finish(k, live) {
    el.form.hidden = true;
    el.ended.hidden = false;
    el.endedText.textContent = t(k);
    status(k);
    bar();
    if (live) {
      c.emit('chatended', { by: k === 'ended' ? 'visitor' : 'agent' });
      if (c.isOpen()) el.again.focus();
    }
  }

  api.chat = {
    start: function (noFocus) {
      if (!el.log) { build(); c.setActive(state === 'a'); }
      if (!sock) connect();
      if (!noFocus && c.isOpen()) this.focusTarget().focus();
    },
    focusTarget: function () { return el.form && !el.form.hidden ? el.input : el.again; }
  };
})(window, document);
