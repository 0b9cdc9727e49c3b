/*! public-stats widget: chat over the Genesys Cloud Web Messaging guest WebSocket
 * (configureSession / onMessage / echo / getJwt). Loaded by chat-widget.js when a chat starts or
 * resumes; what it needs from there is publicStatsWidget.internals. Messages are rendered with
 * textContent only. See widget/README.md. */
(function () {
  'use strict';
  var api = window.publicStatsWidget;
  var widget = api && api.internals;
  if (!widget || api.chat) return;
  var settings = widget.settings;
  var localized = widget.localized;
  var buildElement = widget.buildElement;
  var CHAT_STATE = widget.CHAT_STATE;
  var webMessagingConfig = widget.webMessagingConfig;
  // Guest socket: webMessaging.url (relative URLs are on the service's host, e.g. the sandbox's
  // /sandbox/genesys/v1), else wss://webmessaging.{environment}/v1.
  var environment = webMessagingConfig.environment || '';
  var socketUrl = (webMessagingConfig.url ? new URL(webMessagingConfig.url, settings.serviceUrl).href
    : 'wss://webmessaging.' + environment + '/v1').replace(/^http/, 'ws');
  var apiUrl = webMessagingConfig.apiUrl ||
    (webMessagingConfig.url ? socketUrl.replace(/^ws/, 'http').replace(/\/v1\/?$/, '') : 'https://api.' + environment);
  var ECHO_TRACING_ID = 'psw-echo';

  var elements = {};
  var socket = null;
  var connected = false;
  var closedByUs = false; // no reconnect
  var reconnector = widget.createReconnector(connect);
  var echoTimeout = 0;
  var shownIds = {}; // message ids already in the log
  var heldMessages = null; // live messages held back while a resumed session's history loads
  var agentName = '';
  var typingTimer = 0;
  var lastTypingSent = 0;
  var saved = widget.chatRecord.get() || {};
  var token = saved.t || newUuid();
  var chatState = saved.s || CHAT_STATE.none;
  var unsentTexts = {}; // tracing id → the text, put back if the message is refused
  // A chat started from the chooser after the agent ended the last one starts a new conversation.
  var startNew = chatState === CHAT_STATE.readOnly;

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = bytes[6] & 15 | 64; // version 4
    bytes[8] = bytes[8] & 63 | 128; // variant 10
    var hex = [].map.call(bytes, function (byte) { return (byte + 256).toString(16).slice(1); }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  }
  function saveState(state) {
    chatState = state;
    widget.chatRecord.set({ t: token, s: state });
    widget.setChatActive(state === CHAT_STATE.active);
  }

  function buildChatView() {
    var section = widget.chatSection();
    section.textContent = '';
    elements.status = buildElement('p', { class: 'psw-status', id: 'psw-chat-status', role: 'status', text: localized('connecting') });
    elements.endButton = buildElement('button', { type: 'button', class: 'psw-secondary', id: 'psw-chat-end', onclick: endOrBack });
    elements.log = buildElement('div', { class: 'psw-log', id: 'psw-chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': localized('chatTitle'), tabindex: '0' });
    elements.typing = buildElement('p', { class: 'psw-typing', id: 'psw-chat-typing' });
    elements.input = buildElement('textarea', {
      class: 'psw-text', id: 'psw-chat-input', rows: '1', maxlength: '4000', placeholder: localized('placeholder'),
      enterkeyhint: 'send', oninput: sendTyping, onkeydown: function (event) {
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendMessage(); }
      }
    });
    elements.form = buildElement('form', { class: 'psw-composer', id: 'psw-chat-form', onsubmit: function (event) { event.preventDefault(); sendMessage(); } }, [
      buildElement('label', { class: 'psw-sr', for: 'psw-chat-input', text: localized('message') }),
      elements.input,
      buildElement('button', { type: 'submit', class: 'psw-primary', id: 'psw-chat-send', text: localized('send') })
    ]);
    elements.endedText = buildElement('p', { id: 'psw-chat-ended-text' });
    elements.newChat = buildElement('button', { type: 'button', class: 'psw-primary', id: 'psw-chat-new', text: localized('newChat'), onclick: startNewChat });
    elements.ended = buildElement('div', { class: 'psw-ended', id: 'psw-chat-ended', hidden: true }, [elements.endedText, elements.newChat]);
    section.appendChild(buildElement('div', { class: 'psw-bar' }, [elements.status, elements.endButton]));
    section.appendChild(elements.log);
    section.appendChild(elements.typing);
    section.appendChild(elements.form);
    section.appendChild(elements.ended);
    updateEndButton();
  }
  // "End chat" while a conversation is active, else "Back" (to the chooser).
  function updateEndButton() { elements.endButton.textContent = localized(chatState === CHAT_STATE.active ? 'end' : 'back'); }
  function showStatus(key, values) { elements.status.textContent = localized(key, values); }

  // ---- Socket ----
  function connect() {
    reconnector.cancel();
    if (socket) return;
    closedByUs = false;
    var opening;
    try {
      opening = new WebSocket(socketUrl + (socketUrl.indexOf('?') < 0 ? '?' : '&') + 'deploymentId=' + encodeURIComponent(settings.deploymentId));
    } catch (e) { return reconnector.retry(); }
    socket = opening;
    opening.onopen = function () {
      var frame = { action: 'configureSession', token: token, deploymentId: settings.deploymentId };
      if (startNew) frame.startNew = true;
      sendFrame(frame);
    };
    opening.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      receiveFrame(frame);
    };
    opening.onclose = function () {
      if (socket !== opening) return;
      socket = null;
      connected = false;
      clearTimeout(echoTimeout);
      if (closedByUs) return;
      showStatus('reconnecting');
      reconnector.retry();
    };
  }
  // False when the socket is not open.
  function sendFrame(frame) {
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function hangUp() {
    closedByUs = true;
    reconnector.cancel();
    if (socket) { var closing = socket; socket = null; connected = false; closing.close(1000); }
  }
  function reconnectNow() {
    if (!socket && !closedByUs) { reconnector.reset(); connect(); }
  }
  // Health check: an echo every 30 s; no answer within 10 s means a dead socket.
  setInterval(function () {
    if (!connected) return;
    sendFrame({ action: 'echo', token: token, tracingId: ECHO_TRACING_ID, message: { type: 'Text', text: 'ping' } });
    clearTimeout(echoTimeout);
    echoTimeout = setTimeout(function () { if (socket) socket.close(); }, 10000);
  }, 30000);
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') reconnectNow();
  });
  window.addEventListener('online', reconnectNow);

  function receiveFrame(frame) {
    var body = frame.body;
    if (frame.tracingId === ECHO_TRACING_ID) { clearTimeout(echoTimeout); return; }
    switch (frame.class) {
      case 'SessionResponse':
        connected = true;
        reconnector.reset();
        startNew = false;
        if (body.newSession && chatState === CHAT_STATE.active) saveState(CHAT_STATE.none);
        if (body.clearedExistingSession) { elements.log.textContent = ''; shownIds = {}; agentName = ''; }
        if (body.readOnly) becomeReadOnly(false);
        else {
          if (chatState === CHAT_STATE.readOnly) saveState(CHAT_STATE.none);
          elements.ended.hidden = true;
          elements.form.hidden = false;
          showStatus(chatState === CHAT_STATE.active ? (agentName ? 'joined' : 'waiting') : 'ready', { name: agentName });
        }
        updateEndButton();
        if (!body.newSession) loadHistory();
        break;
      case 'StructuredMessage':
        if (heldMessages) heldMessages.push(body); else showMessage(body, true);
        break;
      case 'JwtResponse':
        fetch(apiUrl + '/api/v2/webmessaging/messages?pageSize=25', { headers: { Authorization: 'Bearer ' + body.jwt } })
          .then(function (response) { return response.ok ? response.json() : { entities: [] }; })
          .then(function (page) { showHistory((page.entities || []).reverse()); }, function () { showHistory([]); });
        break;
      case 'SessionClearedEvent':
      case 'SessionExpiredEvent':
        endChat();
        break;
      case 'ConnectionClosedEvent':
        hangUp();
        showStatus('closedElsewhere');
        break;
      case 'TooManyRequestsErrorMessage':
        showSystemMessage(localized('tooFast'));
        restoreUnsent(frame.tracingId);
        break;
      default:
        if (frame.code !== 200 && frame.type === 'response') {
          if (frame.code === 4006 || frame.code === 4007) { token = newUuid(); saveState(CHAT_STATE.none); }
          showSystemMessage(localized('sendFailed', { reason: typeof body === 'string' ? body : frame.code }));
          restoreUnsent(frame.tracingId);
        }
    }
  }
  // A resumed session: fetch what was said (history API with a getJwt token), then show the
  // messages that arrived meanwhile; ids already shown are skipped.
  function loadHistory() {
    heldMessages = [];
    sendFrame({ action: 'getJwt', token: token, tracingId: newUuid() });
    setTimeout(function () { if (heldMessages) showHistory([]); }, 8000);
  }
  function showHistory(history) {
    var held = heldMessages || [];
    heldMessages = null;
    history.concat(held).forEach(function (message) { showMessage(message, false); });
    if (chatState === CHAT_STATE.active) showStatus(agentName ? 'joined' : 'waiting', { name: agentName });
  }

  // `live`: just received (not from the history): events apply, and it counts as news.
  function showMessage(message, live) {
    if (!message || shownIds[message.id]) return;
    if (message.id) shownIds[message.id] = 1;
    var outbound = message.direction === 'Outbound'; // from the agent or bot
    if (message.type === 'Event') {
      (message.events || []).forEach(function (event) {
        if (!outbound || !live) return;
        if (event.eventType === 'Typing') showTyping(event.typing && event.typing.duration);
        if (event.eventType === 'Presence' && event.presence && event.presence.type === 'Disconnect') becomeReadOnly(true);
      });
      return;
    }
    var text = message.text || (message.content || []).map(function (part) { return part.quickReply ? part.quickReply.text : ''; }).join('\n');
    if (!text) return;
    var from = message.channel && message.channel.from || {};
    var bot = message.originatingEntity === 'Bot';
    var name = outbound ? from.nickname || from.firstName || localized(bot ? 'bot' : 'agent') : localized('you');
    if (outbound && !bot && from.nickname && from.nickname !== agentName) {
      agentName = from.nickname;
      showStatus('joined', { name: agentName });
    }
    if (!outbound) {
      delete unsentTexts[message.metadata && message.metadata.customMessageId];
      if (chatState !== CHAT_STATE.active) { saveState(CHAT_STATE.active); updateEndButton(); showStatus('waiting'); }
    }
    if (outbound) hideTyping();
    var sender = buildElement('span', { class: outbound ? 'psw-from' : 'psw-from psw-sr', text: localized('said', { name: name }) });
    elements.log.appendChild(buildElement('p', { class: 'psw-msg ' + (outbound ? 'psw-msg--agent' : 'psw-msg--guest') }, [sender, document.createTextNode(text)]));
    elements.log.scrollTop = elements.log.scrollHeight;
    if (live) {
      if (outbound) widget.countUnread();
      widget.emit('message', {
        id: message.id, from: outbound ? (bot ? 'bot' : 'agent') : 'guest', name: name, text: text,
        time: message.channel && message.channel.time
      });
    }
  }
  function showSystemMessage(text) {
    elements.log.appendChild(buildElement('p', { class: 'psw-msg psw-msg--system', text: text }));
    elements.log.scrollTop = elements.log.scrollHeight;
  }
  function showTyping(durationMs) {
    elements.typing.textContent = localized('typing', { name: agentName || localized('agent') });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, durationMs || 5000);
  }
  function hideTyping() { clearTimeout(typingTimer); elements.typing.textContent = ''; }

  // ---- Visitor actions ----
  function sendMessage() {
    var text = elements.input.value.trim();
    if (!text || chatState === CHAT_STATE.readOnly) return;
    var tracingId = newUuid();
    if (!sendFrame({ action: 'onMessage', token: token, tracingId: tracingId, message: { type: 'Text', text: text } })) {
      showStatus('reconnecting');
      return; // the text stays in the box
    }
    unsentTexts[tracingId] = elements.input.value;
    elements.input.value = '';
    lastTypingSent = Date.now();
    if (chatState !== CHAT_STATE.active) widget.emit('chatstarted', {});
  }
  function restoreUnsent(tracingId) {
    if (tracingId && unsentTexts[tracingId] != null && !elements.input.value) elements.input.value = unsentTexts[tracingId];
    delete unsentTexts[tracingId];
  }
  // The visitor's typing, at most every 5 s.
  function sendTyping() {
    if (chatState !== CHAT_STATE.active || Date.now() - lastTypingSent < 5000) return;
    lastTypingSent = Date.now();
    sendFrame({ action: 'onMessage', token: token, message: { type: 'Event', events: [{ eventType: 'Typing', typing: { type: 'On' } }] } });
  }
  function endOrBack() {
    if (chatState === CHAT_STATE.active) {
      sendFrame({ action: 'onMessage', token: token, message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Clear' } }] } });
      return;
    }
    hangUp();
    widget.showChooser();
  }
  function startNewChat() {
    elements.log.textContent = '';
    shownIds = {};
    agentName = '';
    elements.ended.hidden = true;
    elements.form.hidden = false;
    startNew = chatState === CHAT_STATE.readOnly;
    if (startNew && socket && connected) {
      sendFrame({ action: 'configureSession', token: token, deploymentId: settings.deploymentId, startNew: true });
    } else {
      if (chatState !== CHAT_STATE.readOnly) { token = newUuid(); saveState(CHAT_STATE.none); }
      hangUp();
      connect();
    }
    elements.input.focus();
  }

  // ---- End states ----
  // The agent ended it (`live`) or it was read-only on resume: readable, no reply.
  function becomeReadOnly(live) {
    saveState(CHAT_STATE.readOnly);
    hideTyping();
    showEnded('endedByAgent', live);
  }
  // Ended (by the visitor, or expired): the token is forgotten.
  function endChat() {
    token = newUuid();
    widget.chatRecord.set(null);
    chatState = CHAT_STATE.none;
    widget.setChatActive(false);
    hideTyping();
    hangUp();
    showEnded('ended', true);
  }
  function showEnded(key, live) {
    elements.form.hidden = true;
    elements.ended.hidden = false;
    elements.endedText.textContent = localized(key);
    showStatus(key);
    updateEndButton();
    if (live) {
      widget.emit('chatended', { by: key === 'ended' ? 'visitor' : 'agent' });
      if (widget.chatViewOpen()) elements.newChat.focus();
    }
  }

  api.chat = {
    start: function (noFocus) {
      if (!elements.log) { buildChatView(); widget.setChatActive(chatState === CHAT_STATE.active); }
      if (!socket) connect();
      if (!noFocus && widget.chatViewOpen()) this.focusTarget().focus();
    },
    focusTarget: function () { return elements.form && !elements.form.hidden ? elements.input : elements.newChat; }
  };
})();
