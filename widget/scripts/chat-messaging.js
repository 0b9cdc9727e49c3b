/*! public-stats widget: chat over the Genesys Cloud Web Messaging guest WebSocket
 * (configureSession / onMessage / echo / getJwt / closeSession), as Genesys's transport SDK
 * speaks it, honouring the deployment's config.json. Loaded by chat-widget.js when a chat starts
 * or resumes; what it needs from there is publicStatsWidget.internals. Messages are rendered
 * with textContent only. See widget/README.md. */
(function () {
  'use strict';
  var api = window.publicStatsWidget;
  var widget = api && api.internals;
  if (!widget || api.chat) return;
  var settings = widget.settings;
  var buildElement = widget.buildElement;
  var CHAT_STATE = widget.CHAT_STATE;
  var webMessagingConfig = widget.webMessagingConfig;
  var newUuid = widget.newUuid;
  // Guest socket: webMessaging.url (relative URLs are on the service's host, e.g. the sandbox's
  // /sandbox/genesys/v1), else wss://webmessaging.{environment}/v1.
  var environment = webMessagingConfig.environment || '';
  var socketUrl = (webMessagingConfig.url ? new URL(webMessagingConfig.url, settings.serviceUrl).href
    : 'wss://webmessaging.' + environment + '/v1').replace(/^http/, 'ws');
  var apiUrl = webMessagingConfig.apiUrl ||
    (webMessagingConfig.url ? socketUrl.replace(/^ws/, 'http').replace(/\/v1\/?$/, '') : 'https://api.' + environment);
  // The deployment's config.json, where Genesys's SDKs read it (api-cdn), or next to the API.
  var configUrl = (webMessagingConfig.url || webMessagingConfig.apiUrl ? apiUrl : 'https://api-cdn.' + environment) +
    '/webdeployments/v1/deployments/' + encodeURIComponent(settings.deploymentId) + '/config.json';
  var ECHO_TRACING_ID = 'psw-echo';
  // Seconds before the session's expiry that the visitor is warned (the transport SDK's default).
  var EXPIRY_NOTICE_SECONDS = 300;
  // The chat's strings that chat-widget.js does not have (language packs and config.strings may
  // have them).
  var moreStrings = {
    message: 'Message',
    placeholder: 'Type your message',
    send: 'Send',
    end: 'End chat',
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
    tooFast: 'You are sending messages too quickly. Please wait a moment.',
    unavailable: 'Chat is not available right now.',
    agentLeft: 'The agent has left the chat.',
    expiring: 'This chat will end soon unless you send a message.',
    attach: 'Attach a file',
    quickReplies: 'Quick replies',
    cards: 'Cards',
    times: 'Available times',
    delivered: 'Delivered',
    read: 'Read',
    transcript: 'Chat transcript',
    download: 'Download',
    print: 'Print',
    expired: 'Your chat session expired after a period of inactivity.',
    cleared: 'This conversation was cleared.',
    switchedOff: 'Chat has been switched off. Please try again later.',
    sound: 'Sound',
    detailsRefused: 'Your details were too long to send. Please shorten them.'
  };
  // Pages of history a resumed chat loads at most (25 messages each).
  var HISTORY_PAGES = 20;
  // Receipt statuses in the order they happen; a later one never goes back to an earlier one.
  var RECEIPTS = ['Delivered', 'Read'];
  var receipts = {}; // message id → 1 + index in RECEIPTS
  var guestLines = {}; // message id → the visitor's line in the log
  var unanswered = []; // ids of the visitor's messages in the history with no answer after them yet
  var transcript = []; // {time, name, text} of every message shown, for chat-transcript.js
  var modulesWaiting = {}; // name → callbacks waiting for chat-{name}.js
  api.chatParts = {};

  var elements = {};
  var features = null; // messenger.apps.conversations of the deployment's config.json
  var loadingConfig = false;
  var socket = null;
  var connected = false;
  var closedByUs = false; // no reconnect
  var reconnector = widget.createReconnector(connect);
  var echoTimeout = 0;
  var shownIds = {}; // message ids already in the log
  // direction + channel.time → how many messages of that kind are in the log, live and from the
  // history apart: several messages may share a millisecond, so a message is a repeat only when
  // it matches one shown from the other source.
  var shownTimes = { live: {}, history: {} };
  var heldMessages = null; // live messages held back while a resumed session's history loads
  var agentName = '';
  var typingTimer = 0;
  var lastTypingSent = 0;
  var saved = widget.chatRecord.get() || {};
  var token = saved.t || newUuid();
  var chatState = saved.s || CHAT_STATE.none;
  var pending = []; // {id: tracingId, text} of sends not echoed yet, oldest first
  var startingNew = false; // a new chat after a read-only one: closeSession, then startNew
  var clearing = false; // the visitor's Clear was accepted: the socket closing is expected
  var restarts = 0; // new tokens since the last SessionResponse
  var durationSeconds = 0;
  var expiresAt = 0; // ms
  var expiryTimer = 0;
  // What the visitor may upload, from the SessionResponse (null: no uploads): {types: MIME
  // types, `*/*` and `image/*` allowed; max: bytes, a KB being 1,000 bytes; blocked: extensions}.
  var uploads = null;
  // This tab sent the Clear: "ended" rather than "cleared".
  var clearRequested = false;
  // The optional pre-chat form ({fields}, chat-prechat.js): its answers go as the session's custom
  // attributes with the first message; `answered` once given for this session.
  var preChat = ((webMessagingConfig.preChat || {}).fields || []).length;
  var answers = null;
  var answered = false;
  var maxCustomBytes = 0;
  // One guest socket per browser: the tab holding the Web Lock owns it and broadcasts what it
  // receives ({f: frame, t: token}); the other tabs mirror that and post what they send ({s})
  // or ask it to connect ({h}). Without locks or BroadcastChannel every tab has its own socket.
  var lockName = 'psw-wm-' + settings.deploymentId;
  var channel = window.BroadcastChannel && navigator.locks ? new BroadcastChannel(lockName) : null;
  var holding = !channel;
  // The holder's SessionResponse, replayed to a tab that joins.
  var lastSession = null;

  function localized(key, values) {
    return widget.localized(key, values) || (moreStrings[key] || '').replace(/\{(\w+)\}/g, function (placeholder, name) {
      return values && values[name] != null ? values[name] : placeholder;
    });
  }
  function saveState(state) {
    chatState = state;
    widget.chatRecord.set({ t: token, s: state });
    widget.setChatActive(state === CHAT_STATE.active);
  }
  // A deployment setting; absent means off, as in the transport SDK's DeploymentConfig.
  function enabled(name) {
    var setting = features && features[name];
    return setting === true || !!(setting && setting.enabled === true);
  }

  function buildChatView() {
    var section = widget.section('chat');
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
    // The picker opens from the attach button; its input stays out of sight and out of the tab order.
    elements.file = buildElement('input', { type: 'file', id: 'psw-chat-file', multiple: true, hidden: true, onchange: function () {
      addFiles(elements.file.files);
    } });
    elements.attach = buildElement('button', { type: 'button', class: 'psw-secondary', id: 'psw-chat-attach', 'aria-label': localized('attach'), hidden: true, onclick: function () {
      elements.file.click();
    } }, [widget.icon('M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z')]);
    elements.attach.firstChild.style.width = '20px';
    elements.form = buildElement('form', { class: 'psw-composer', id: 'psw-chat-form', onsubmit: function (event) { event.preventDefault(); sendMessage(); } }, [
      buildElement('label', { class: 'psw-sr', for: 'psw-chat-input', text: localized('message') }),
      elements.file,
      elements.attach,
      elements.input,
      buildElement('button', { type: 'submit', class: 'psw-primary', id: 'psw-chat-send', text: localized('send') })
    ]);
    elements.endedText = buildElement('p', { id: 'psw-chat-ended-text' });
    elements.newChat = buildElement('button', { type: 'button', class: 'psw-primary', id: 'psw-chat-new', text: localized('newChat'), onclick: startNewChat });
    elements.ended = buildElement('div', { class: 'psw-ended', id: 'psw-chat-ended', hidden: true }, [elements.endedText, elements.newChat]);
    elements.sound = buildElement('button', { type: 'button', class: 'psw-secondary psw-tool', id: 'psw-chat-sound', 'aria-pressed': String(soundOn()), text: localized('sound'), hidden: calm.matches, onclick: toggleSound });
    // Cards, carousels, date pickers and receipts have their own stylesheet, loaded with the chat.
    section.getRootNode().appendChild(buildElement('link', { rel: 'stylesheet', href: api.host + 'style/chat-rich.css', nonce: api.nonce || null }));
    section.appendChild(buildElement('div', { class: 'psw-bar' }, [elements.status, elements.sound, buildElement('div', { class: 'psw-tools', role: 'group', 'aria-label': localized('transcript') }, ['download', 'print'].map(function (what) {
      return buildElement('button', { type: 'button', class: 'psw-secondary psw-tool', id: 'psw-chat-' + what, text: localized(what), onclick: function () { withTranscript(what); } });
    })), elements.endButton]));
    section.appendChild(elements.log);
    section.appendChild(elements.typing);
    section.appendChild(elements.form);
    section.appendChild(elements.ended);
    // Files dropped onto the chat are attached, where the session takes uploads.
    section.addEventListener('dragover', function (event) { if (canAttach()) event.preventDefault(); });
    section.addEventListener('drop', function (event) {
      var files = event.dataTransfer.files;
      if (!canAttach() || !files.length) return;
      event.preventDefault();
      addFiles(files);
    });
    updateEndButton();
  }
  // "End chat" while a conversation is active and the deployment lets the visitor clear it,
  // else "Back" (to the chooser).
  function updateEndButton() { elements.endButton.textContent = localized(canEnd() ? 'end' : 'back'); }
  function canEnd() { return chatState === CHAT_STATE.active && enabled('conversationClear'); }
  function showStatus(key, values) { elements.status.textContent = localized(key, values); }

  // ---- The deployment's config.json: read before the socket opens, as the SDKs do ----
  function loadConfig() {
    if (loadingConfig) return;
    loadingConfig = true;
    fetch(configUrl).then(function (response) { return response.ok ? response.json() : Promise.reject(); }).then(function (config) {
      loadingConfig = false;
      var messenger = config.messenger || {};
      if (config.status === 'Inactive' || !messenger.enabled) return unavailable();
      features = (messenger.apps || {}).conversations || {};
      updateEndButton();
      connect();
    }, function () {
      loadingConfig = false;
      showStatus('loadFailed');
      reconnector.retry();
    });
  }
  function unavailable() {
    var off = localized('switchedOff');
    if (elements.log.firstChild && elements.log.lastChild.textContent !== off) showSystemMessage(off);
    hangUp();
    relay({ class: 'PswOff' });
    showStatus('unavailable');
    elements.form.hidden = true;
    // Nothing to end; read again before any new connection.
    features = null;
    updateEndButton();
  }

  // ---- Socket ----
  function connect() {
    reconnector.cancel();
    if (socket) return;
    if (!features) return loadConfig();
    closedByUs = false;
    if (!holding) return channel.postMessage({ h: 1 });
    var opening;
    try {
      opening = new WebSocket(socketUrl + (socketUrl.indexOf('?') < 0 ? '?' : '&') + 'deploymentId=' + encodeURIComponent(settings.deploymentId));
    } catch (e) { return reconnector.retry(); }
    socket = opening;
    opening.onopen = function () { configure(false); };
    opening.onmessage = function (event) {
      var frame;
      if (socket !== opening) return;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      receiveFrame(frame);
      relay(frame);
    };
    opening.onclose = function (event) {
      if (socket !== opening) return;
      socket = null;
      connected = false;
      lastSession = null;
      clearTimeout(echoTimeout);
      relay({ class: 'PswDown' });
      if (closedByUs) return;
      // Closed for policy: the deployment may have been switched off; config.json says.
      if (event.code === 1008) features = null;
      showStatus('reconnecting');
      reconnector.retry();
    };
  }
  // False when the socket is not open (in another tab: was not, when last heard of).
  function sendFrame(frame) {
    if (!holding) { channel.postMessage(connected ? { s: frame } : { h: 1 }); return connected; }
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function configure(startNew) {
    sendFrame({ action: 'configureSession', token: token, deploymentId: settings.deploymentId, startNew: startNew, tracingId: newUuid() });
  }
  function hangUp() {
    closedByUs = true;
    reconnector.cancel();
    if (socket) { var closing = socket; socket = null; connected = false; closing.close(1000); relay({ class: 'PswDown' }); }
  }
  function reconnectNow() {
    if (holding && !socket && !closedByUs) { reconnector.reset(); connect(); }
  }
  function relay(frame) { if (channel && holding) channel.postMessage({ f: frame, t: token }); }
  if (channel) channel.onmessage = function (event) {
    var data = event.data || {};
    if (!holding) {
      if (data.f) { token = data.t; receiveFrame(data.f); }
    } else if (data.s) {
      data.s.token = token;
      sendFrame(data.s);
    } else if (data.h) {
      if (lastSession) relay(lastSession);
      // A tab started a chat while this one had none: its token is in the saved record.
      if (!socket) { token = (widget.chatRecord.get() || {}).t || token; closedByUs = false; connect(); }
    }
  };
  // Waits (without end) for the lock; given it when the holding tab closes, this tab connects
  // with the saved token, unless its chat had ended.
  function elect() {
    if (channel) navigator.locks.request(lockName, function () {
      holding = true;
      connected = false;
      token = (widget.chatRecord.get() || {}).t || token;
      if (!closedByUs) connect();
      return new Promise(function () {});
    });
  }
  // Health check: an echo every 30 s; no answer within 10 s means a dead socket.
  setInterval(function () {
    if (!connected || !holding) return;
    sendFrame({ action: 'echo', token: token, tracingId: ECHO_TRACING_ID, message: { type: 'Text', text: 'ping' } });
    clearTimeout(echoTimeout);
    echoTimeout = setTimeout(function () { if (socket) socket.close(); }, 10000);
  }, 30000);
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') reconnectNow();
    tickTitle();
  });
  window.addEventListener('online', reconnectNow);

  function receiveFrame(frame) {
    var body = frame.body || {};
    if (frame.tracingId === ECHO_TRACING_ID) {
      clearTimeout(echoTimeout);
      var metadata = body.metadata || {};
      return updateExpiry(+metadata.durationSeconds, +metadata.expirationDate);
    }
    switch (frame.class) {
      case 'SessionResponse':
        return sessionConfigured(body);
      case 'StructuredMessage':
        if (heldMessages) heldMessages.push(frame); else showMessage(body, true, frame.tracingId);
        break;
      case 'JwtResponse':
        // Only the tab waiting for its history asks.
        if (heldMessages) loadHistoryPage(body.jwt, 1, []);
        break;
      case 'SessionClearedEvent':
        clearing = true;
        endChat(clearRequested ? 'ended' : 'cleared');
        break;
      case 'SessionExpiredEvent':
        endChat('expired');
        break;
      case 'PswDown':
        connected = false;
        break;
      case 'PswOff':
        return unavailable();
      case 'ConnectionClosedEvent':
        // After a Clear the server closes every socket of the session; otherwise another
        // device or tab took the session over.
        hangUp();
        if (!clearing) showStatus('closedElsewhere');
        clearing = false;
        break;
      case 'TooManyRequestsErrorMessage':
        failOldestSend(localized('tooFast'));
        break;
      default:
        if (frame.code === 4006 || frame.code === 4007) return restartSession(frame.code === 4006);
        // A file's frames (PresignedUrlResponse, UploadSuccessEvent, UploadFailureEvent,
        // GenerateUrlError, AttachmentDeletedResponse: all name the file), and the file errors
        // (4001–4010) of a message with files, getAttachment or deleteAttachment.
        if (body.attachmentId || frame.code > 4000 && frame.code < 4011) return api.chatFiles && api.chatFiles.receive(frame);
        if (frame.code === 4013) {
          failOldestSend(localized('detailsRefused'));
          answered = false;
          return askFirst(localized('detailsRefused'));
        }
        if (frame.code !== 200 && frame.type === 'response') {
          // A refused configureSession (e.g. the deployment was switched off meanwhile).
          if (!connected) return unavailable();
          failOldestSend(localized('sendFailed', { reason: typeof frame.body === 'string' ? frame.body : frame.code }));
        }
    }
  }
  function sessionConfigured(body) {
    // The answer to closeSession: the new chat's session can be configured now.
    if (!body.connected) { if (startingNew) configure(true); return; }
    connected = true;
    restarts = 0;
    clearing = false;
    reconnector.reset();
    maxCustomBytes = body.maxCustomDataBytes;
    if (holding) lastSession = { class: 'SessionResponse', body: Object.assign({}, body, { newSession: false }) };
    // Another tab started a new chat while this one showed the old one ended.
    if (body.newSession && !elements.ended.hidden) clearLog();
    updateExpiry(body.durationSeconds, body.expirationDate);
    var inbound = (body.allowedMedia || {}).inbound;
    uploads = inbound ? {
      types: (inbound.fileTypes || []).map(function (fileType) { return fileType.type; }),
      max: inbound.maxFileSizeKB * 1000,
      blocked: body.blockedExtensions || []
    } : null;
    elements.attach.hidden = !uploads;
    if (body.readOnly) {
      if (startingNew) return closeForNewChat();
      becomeReadOnly(false);
    } else {
      startingNew = false;
      if (body.newSession && chatState !== CHAT_STATE.none) saveState(CHAT_STATE.none);
      elements.ended.hidden = true;
      elements.form.hidden = false;
      showStatus(chatState === CHAT_STATE.active ? (agentName ? 'joined' : 'waiting') : 'ready', { name: agentName });
      updateEndButton();
      if (chatState === CHAT_STATE.none && preChat && !answered) askFirst();
      else if (body.newSession && holding && enabled('autoStart')) join();
    }
    if (!body.newSession) loadHistory();
  }
  // The token's session expired or is unknown to the server (a visitor back after days): a new
  // session with a new token; past two in a row, after the reconnect delay.
  // Another tab only mirrors this (the holder configures).
  function restartSession(expired) {
    var lost = pending.shift();
    pending = [];
    if (lost && !elements.input.value) elements.input.value = lost.text;
    if (holding) token = newUuid();
    clearLog();
    if (expired) showSystemMessage(localized('expired'));
    saveState(CHAT_STATE.none);
    updateEndButton();
    if (!holding) return;
    if (++restarts > 2 && socket) return socket.close();
    configure(false);
  }
  // The server refused a send: the oldest unconfirmed one (errors carry no tracingId), whose
  // text goes back into the message box.
  function failOldestSend(reason) {
    var failed = pending.shift();
    if (!failed) return false;
    showSystemMessage(reason);
    if (!elements.input.value) elements.input.value = failed.text;
    return true;
  }
  // A resumed session: fetch what was said (history API with a getJwt token), then show the
  // messages that arrived meanwhile; messages already shown are skipped.
  function loadHistory() {
    heldMessages = [];
    sendFrame({ action: 'getJwt', token: token, tracingId: newUuid() });
    setTimeout(function () { if (heldMessages) showHistory([]); }, 8000);
  }
  // Every page (newest first, up to HISTORY_PAGES), then the lot oldest first; a message that
  // slid onto the next page while paging is shown once (by its id).
  function loadHistoryPage(jwt, number, got) {
    fetch(apiUrl + '/api/v2/webmessaging/messages?pageSize=25&pageNumber=' + number, { headers: { Authorization: 'Bearer ' + jwt } })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (page) {
        got = got.concat(page.entities || []);
        if (number < Math.min(page.pageCount, HISTORY_PAGES)) loadHistoryPage(jwt, number + 1, got);
        else showHistory(got.reverse());
      }, function () { showHistory(got.reverse()); });
  }
  function showHistory(history) {
    var held = heldMessages || [];
    heldMessages = null;
    history.forEach(function (message) { showMessage(message, false); });
    held.forEach(function (frame) { showMessage(frame.body, true, frame.tracingId); });
    if (chatState === CHAT_STATE.active) showStatus(agentName ? 'joined' : 'waiting', { name: agentName });
  }

  // ---- Session expiry: durationSeconds after the last activity ----
  function updateExpiry(duration, expirationDate) {
    if (duration > 0) durationSeconds = duration;
    if (expirationDate > 0) expiresAt = expirationDate * 1000;
    scheduleExpiryNotice();
  }
  function activity() {
    if (durationSeconds) expiresAt = Date.now() + durationSeconds * 1000;
    scheduleExpiryNotice();
  }
  function scheduleExpiryNotice() {
    clearTimeout(expiryTimer);
    if (elements.expiring) elements.expiring.remove();
    elements.expiring = null;
    if (!expiresAt) return;
    expiryTimer = setTimeout(function () {
      if (chatState === CHAT_STATE.active) elements.expiring = showSystemMessage(localized('expiring'));
    }, Math.max(expiresAt - EXPIRY_NOTICE_SECONDS * 1000 - Date.now(), 0));
  }

  // ---- Messages ----
  function isRepeat(timeKey, live) {
    var other = live ? shownTimes.history : shownTimes.live;
    if (other[timeKey] > 0) {
      other[timeKey] -= 1;
      return true;
    }
    var same = live ? shownTimes.live : shownTimes.history;
    same[timeKey] = (same[timeKey] || 0) + 1;
    return false;
  }
  // `live`: just received (not from the history): events apply, and it counts as news.
  function showMessage(message, live, tracingId) {
    if (tracingId) pending = pending.filter(function (send) { return send.id !== tracingId; });
    if (message && message.type === 'Receipt') return applyReceipt(message.id, message.status);
    if (!message || shownIds[message.id]) return;
    shownIds[message.id] = 1;
    var outbound = message.direction === 'Outbound'; // from the agent or bot
    if (message.type === 'Event') return live && (message.events || []).forEach(function (event) { applyEvent(event, outbound, message.metadata || {}); });
    // The history may give a message another id than its live copy had; its time is the same.
    var channel = message.channel || {};
    if (channel.time && isRepeat(message.direction + channel.time, live)) return;
    if (live) activity();
    var from = channel.from || {};
    var bot = message.originatingEntity === 'Bot';
    var name = outbound ? from.nickname || from.firstName || localized(bot ? 'bot' : 'agent') : localized('you');
    var parts = renderContent(message, outbound && live);
    if (!parts.text && !parts.nodes.length && !parts.blocks.length) return;
    if (outbound && !bot && from.nickname && from.nickname !== agentName) {
      agentName = from.nickname;
      showStatus('joined', { name: agentName });
    }
    if (!outbound && live) becomeActive();
    if (outbound) hideTyping();
    var sender = buildElement('span', { class: outbound ? 'psw-from' : 'psw-from psw-sr', text: localized('said', { name: name }) });
    var line = elements.log.appendChild(buildElement(parts.blocks.length ? 'div' : 'p', { class: 'psw-msg ' + (outbound ? 'psw-msg--agent' : 'psw-msg--guest') },
      parts.nodes.reduce(function (all, node) { return all.concat(document.createTextNode(' '), node); }, [sender].concat(textWithLinks(parts.text))).concat(parts.blocks)));
    if (parts.replies) {
      // Only the latest quick replies can be answered.
      if (elements.replies) elements.replies.remove();
      elements.log.appendChild(elements.replies = parts.replies);
    }
    if (!outbound) { guestLines[message.id] = line; showReceipt(message.id); }
    // The history has no receipts; an answer after the visitor's messages says they were read.
    if (!live) unanswered = outbound ? (unanswered.forEach(function (id) { applyReceipt(id, 'Read'); }), []) : unanswered.concat(message.id);
    transcript.push({ time: channel.time, name: name, text: parts.text, content: message.content });
    elements.log.scrollTop = elements.log.scrollHeight;
    if (live) {
      if (outbound) { widget.countUnread(); notice(); }
      widget.emit('message', { id: message.id, from: outbound ? (bot ? 'bot' : 'agent') : 'guest', name: name, text: parts.text, time: channel.time });
    }
  }
  function applyEvent(event, outbound, metadata) {
    var presence = event.presence && event.presence.type;
    // The visitor's own Join echoed: the auto-started conversation is waiting for an agent.
    if (!outbound) return presence === 'Join' && becomeActive();
    if (event.eventType === 'Typing' && enabled('showAgentTypingIndicator')) showTyping(event.typing && event.typing.duration);
    if (presence !== 'Disconnect') return;
    // Read-only only when the server says so; otherwise the visitor may write on, which starts
    // a new conversation.
    if (metadata.readOnly === 'true') return becomeReadOnly(true);
    hideTyping();
    agentName = '';
    showSystemMessage(localized('agentLeft'));
    saveState(CHAT_STATE.none);
    updateEndButton();
    showStatus('ready');
  }
  function becomeActive() {
    // The answers went with the first message (or another tab's form did).
    answers = null;
    answered = true;
    if (elements.pre) { elements.pre.remove(); elements.pre = null; elements.form.hidden = false; }
    if (chatState === CHAT_STATE.active) return;
    saveState(CHAT_STATE.active);
    updateEndButton();
    showStatus('waiting');
  }
  // The words of a message (`text`), links beside them (`nodes`), cards, carousels and date
  // pickers (`blocks`) and quick replies (`replies`, below the message). Choices are answerable
  // (`choosable`) only on a live message from the agent's side; quick replies and time slots
  // are only then shown at all.
  function renderContent(message, choosable) {
    var parts = { text: '', nodes: [], blocks: [] };
    var words = [message.text || ''];
    var replies = [];
    (message.content || []).forEach(function (part) {
      var attachment = part.attachment;
      var reply = part.quickReply || part.buttonResponse;
      var picker = part.datePicker;
      if (part.contentType === 'Attachment' && attachment) parts.nodes.push(fileLink(attachment));
      else if (part.contentType === 'QuickReply' && reply) replies.push(reply);
      else if (part.contentType === 'ButtonResponse' && reply && !message.text) words.push(reply.text);
      else if (part.card || part.carousel || (picker && choosable)) parts.blocks.push(richBlock(part, message.id, choosable));
      else if (picker) words.push(picker.title);
    });
    if (choosable && replies.length) parts.replies = oneShotChoices(localized('quickReplies'), replies, 'QuickReply', message.id);
    parts.text = words.filter(Boolean).join('\n');
    return parts;
  }
  // Cards, carousels and date pickers are drawn by chat-rich.js, loaded with the first of them;
  // meanwhile an empty block holds their place in the log.
  function richBlock(part, messageId, choosable) {
    var place = buildElement('div');
    withModule('rich', function (module) {
      var block = module ? module.render(part, messageId, choosable, richTools) : buildElement('p', { text: localized('loadFailed') });
      if (!place.parentNode) return (place = block);
      place.replaceWith(block);
      elements.log.scrollTop = elements.log.scrollHeight;
    });
    return place;
  }
  // Quick replies and time slots: answered once, then the set goes and the focus returns to the
  // message box.
  function oneShotChoices(label, choices, type, messageId) {
    var group = buildElement('div', { class: 'psw-replies', role: 'group', 'aria-label': label }, choices.map(function (choice) {
      return choiceButton(choice.text, false, function () {
        if (!sendChoice('Text', type, choice.text, choice.payload, messageId)) return;
        group.remove();
        elements.input.focus();
      });
    }));
    return group;
  }
  // Only http(s) URLs; '' for anything else (javascript:, data:, …) or no URL.
  function httpUrl(url) {
    try { return /^https?:$/.test(new URL(url).protocol) ? url : ''; } catch (e) { return ''; }
  }
  // A file as a link to it; chat-files.js (loaded when a file first shows) makes an image a
  // thumbnail and renews expired links.
  function fileLink(attachment) {
    var node = link(attachment.filename || attachment.url, attachment.url);
    if (node.href) withFiles(function (files) { files.show(node, attachment); });
    return node;
  }
  function link(text, url) {
    var href = httpUrl(url);
    return href ? buildElement('a', { class: 'psw-choice', href: href, target: '_blank', rel: 'noopener noreferrer', text: text || href })
      : buildElement('span', { class: 'psw-choice', text: text });
  }
  // A text with its http(s) URLs as links (a trailing full stop or bracket stays text); any
  // other scheme is never matched, so it stays text.
  function textWithLinks(text) {
    return text.split(/(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]'])/).map(function (piece, index) {
      return index % 2 ? buildElement('a', { href: piece, target: '_blank', rel: 'noopener noreferrer', text: piece }) : document.createTextNode(piece);
    });
  }
  function choiceButton(text, disabled, onclick) {
    return buildElement('button', { type: 'button', class: 'psw-secondary psw-choice', text: text, disabled: disabled, onclick: onclick });
  }
  // A quick reply or time slot answers with an empty Text and a ButtonResponse, a card's
  // postback with a Structured message (the transport SDK's MessageStore.prepareMessageWith,
  // prepareTimeSlotSubmissionMessageWith, preparePostbackMessage). False when not sent.
  function sendChoice(kind, type, text, payload, messageId) {
    var tracingId = newUuid();
    var sent = sendFrame({ action: 'onMessage', token: token, tracingId: tracingId, message: {
      type: kind, text: kind === 'Text' ? '' : text,
      content: [{ contentType: 'ButtonResponse', buttonResponse: { text: text, payload: payload || '', type: type, originatingMessageId: messageId } }]
    } });
    if (sent) pending.push({ id: tracingId, text: '' });
    return sent;
  }
  // Delivered, then Read, under the visitor's message (receipts carry its id).
  function applyReceipt(id, status) {
    var rank = RECEIPTS.indexOf(status) + 1;
    if (rank <= (receipts[id] || 0)) return;
    receipts[id] = rank;
    showReceipt(id);
  }
  function showReceipt(id) {
    var line = guestLines[id];
    if (!line || !receipts[id]) return;
    if (!line.receipt) line.after(line.receipt = buildElement('p', { class: 'psw-receipt' }));
    line.receipt.textContent = localized(RECEIPTS[receipts[id] - 1].toLowerCase());
  }
  // The transcript's download and print view live in chat-transcript.js, loaded on first use.
  function withTranscript(what) {
    withModule('transcript', function (module) {
      if (module) module[what](transcript, elements.log); else showSystemMessage(localized('loadFailed'));
    });
  }
  // Calls then(module) once scripts/chat-{name}.js has put itself in api.chatParts (undefined if
  // it could not load; the next call tries again).
  function withModule(name, then) {
    if (api.chatParts[name]) return then(api.chatParts[name]);
    if (modulesWaiting[name]) return modulesWaiting[name].push(then);
    modulesWaiting[name] = [then];
    api.load('scripts/chat-' + name + '.js', function () {
      var waiting = modulesWaiting[name];
      delete modulesWaiting[name];
      waiting.forEach(function (then) { then(api.chatParts[name]); });
    });
  }
  function showSystemMessage(text) {
    var line = elements.log.appendChild(buildElement('p', { class: 'psw-msg psw-msg--system', text: text }));
    elements.log.scrollTop = elements.log.scrollHeight;
    return line;
  }
  function clearLog() {
    if (api.chatFiles) api.chatFiles.clear();
    elements.log.textContent = '';
    transcript = [];
    shownIds = {};
    shownTimes = { live: {}, history: {} };
    agentName = '';
    elements.expiring = null;
    answered = false;
    answers = null;
  }
  function showTyping(durationMs) {
    elements.typing.textContent = localized('typing', { name: agentName || localized('agent') });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, durationMs || 5000);
  }
  function hideTyping() { clearTimeout(typingTimer); elements.typing.textContent = ''; }

  // ---- Before the first message: the pre-chat form (chat-prechat.js, loaded when configured) ----
  // `error`: why the answers must be given again.
  // Without the module the chat goes on without them.
  function askFirst(error) {
    elements.form.hidden = true;
    api.load('scripts/chat-prechat.js', function () {
      if (!api.prechat) return (elements.form.hidden = false);
      api.prechat(elements, maxCustomBytes, error, function (given) {
        answers = given;
        answered = true;
        if (enabled('autoStart')) join();
      });
    });
  }
  // The answers ride on the chat's first message, as the transport SDK sends custom attributes.
  function withAnswers(message) {
    if (answers) message.channel = { metadata: { customAttributes: answers } };
    return message;
  }
  function join() {
    sendFrame({ action: 'onMessage', token: token, tracingId: newUuid(), message: withAnswers({ type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Join' } }] }) });
  }

  // ---- A reply not seen (tab hidden, or the chat not shown): the page title counts it, flashing
  // unless the visitor prefers reduced motion, and a soft tone plays if wanted ----
  var calm = matchMedia('(prefers-reduced-motion: reduce)');
  var unseen = 0;
  var pageTitle = '';
  var titleTimer = 0;
  var audio = null;
  function seen() { return document.visibilityState === 'visible' && widget.chatViewOpen(); }
  function notice() {
    if (seen()) return;
    if (!unseen++) pageTitle = document.title;
    tickTitle();
    // One tone per browser: the tab holding the connection plays it.
    if (holding && soundOn() && !calm.matches) tone();
  }
  function tickTitle() {
    clearTimeout(titleTimer);
    if (!unseen) return;
    if (seen()) { unseen = 0; document.title = pageTitle; return; }
    var counted = '(' + unseen + ') ' + pageTitle;
    document.title = calm.matches || document.title !== counted ? counted : pageTitle;
    titleTimer = setTimeout(tickTitle, 1000);
  }
  api.on('opened', tickTitle);
  // The visitor's choice (localStorage "psw-sound": "1" or "0"; kept for this page only when
  // storage is off), else webMessaging.sound.
  var soundChoice = null;
  try { soundChoice = localStorage.getItem('psw-sound'); } catch (e) {}
  function soundOn() { return soundChoice ? soundChoice === '1' : webMessagingConfig.sound === true; }
  function toggleSound() {
    soundChoice = soundOn() ? '0' : '1';
    try { localStorage.setItem('psw-sound', soundChoice); } catch (e) {}
    elements.sound.setAttribute('aria-pressed', soundOn());
    if (soundOn()) tone();
  }
  // A short, quiet sine tone (Web Audio: no file to load).
  function tone() {
    // No Web Audio: no tone.
    try {
      audio = audio || new AudioContext();
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      var now = audio.currentTime;
      oscillator.frequency.value = 660;
      gain.gain.value = 0.08;
      gain.gain.setTargetAtTime(0, now + 0.05, 0.08);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(now + 0.5);
    } catch (e) {}
  }

  // ---- Visitor actions ----
  function sendMessage() {
    var text = elements.input.value.trim();
    // The uploaded files go with the text; null while one is still uploading.
    var content = api.chatFiles ? api.chatFiles.content() : [];
    if (!content || !text && !content.length || chatState === CHAT_STATE.readOnly) return;
    var message = { type: 'Text', text: text };
    if (content.length) message.content = content;
    var tracingId = newUuid();
    if (!sendFrame({ action: 'onMessage', token: token, tracingId: tracingId, message: withAnswers(message) })) {
      showStatus('reconnecting');
      return; // the text stays in the box
    }
    if (content.length) api.chatFiles.clear();
    pending.push({ id: tracingId, text: elements.input.value });
    elements.input.value = '';
    // Writing instead of choosing: the quick replies go, as in Messenger.
    if (elements.replies) elements.replies.remove();
    lastTypingSent = Date.now();
    if (chatState !== CHAT_STATE.active) widget.emit('chatstarted', {});
  }
  // The visitor's typing, at most every 5 s, and only where the deployment shows it (elsewhere
  // Genesys refuses it with 403).
  function sendTyping() {
    if (chatState !== CHAT_STATE.active || !enabled('showUserTypingIndicator') || Date.now() - lastTypingSent < 5000) return;
    lastTypingSent = Date.now();
    sendFrame({ action: 'onMessage', token: token, tracingId: newUuid(), message: { type: 'Event', events: [{ eventType: 'Typing', typing: { type: 'On' } }] } });
  }
  // ---- Files: the upload flow is in chat-files.js, loaded when first needed ----
  function canAttach() { return uploads && !elements.form.hidden; }
  function addFiles(list) {
    var files = [].slice.call(list || []);
    elements.file.value = ''; // the same file may be chosen again
    if (files.length && canAttach()) withFiles(function (module) { module.add(files); });
  }
  // chat-files.js is api.chatParts.files (and api.chatFiles) once loaded.
  function withFiles(then) {
    withModule('files', function (module) { if (module) then(module); else showSystemMessage(localized('loadFailed')); });
  }
  // What chat-files.js uses.
  widget.chatFiles = {
    elements: elements,
    uploads: function () { return uploads; },
    send: function (action, fields) {
      return sendFrame(Object.assign({ action: action, token: token, tracingId: newUuid() }, fields));
    },
    say: showSystemMessage,
    failSend: failOldestSend
  };

  function endOrBack() {
    if (canEnd()) {
      clearRequested = true;
      sendFrame({ action: 'onMessage', token: token, tracingId: newUuid(), message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Clear' } }] } });
      return;
    }
    // An active conversation goes on behind the chooser; anything else is left.
    if (chatState !== CHAT_STATE.active) hangUp();
    widget.showChooser();
  }
  function startNewChat() {
    clearLog();
    elements.ended.hidden = true;
    elements.form.hidden = false;
    showStatus('connecting');
    if (chatState === CHAT_STATE.readOnly) {
      // The same token: close the read-only session everywhere, then configure it anew.
      startingNew = true;
      if (connected) closeForNewChat(); else { hangUp(); connect(); }
    } else {
      token = newUuid();
      saveState(CHAT_STATE.none);
      hangUp();
      connect();
    }
    elements.input.focus();
  }
  function closeForNewChat() {
    sendFrame({ action: 'closeSession', token: token, closeAllConnections: true, tracingId: newUuid() });
  }

  // ---- End states ----
  // The agent ended it (`live`) or it was read-only on resume: readable, no reply.
  function becomeReadOnly(live) {
    saveState(CHAT_STATE.readOnly);
    hideTyping();
    showEnded('endedByAgent', live);
  }
  // Ended (`key`: by the visitor, cleared elsewhere, or expired): the token is forgotten.
  function endChat(key) {
    clearRequested = false;
    token = newUuid();
    pending = [];
    expiresAt = 0;
    scheduleExpiryNotice();
    widget.chatRecord.set(null);
    chatState = CHAT_STATE.none;
    widget.setChatActive(false);
    hideTyping();
    hangUp();
    showEnded(key, true);
  }
  function showEnded(key, live) {
    elements.form.hidden = true;
    elements.ended.hidden = false;
    elements.endedText.textContent = localized(key);
    showStatus(key);
    updateEndButton();
    if (live) {
      widget.emit('chatended', { by: { ended: 'visitor', endedByAgent: 'agent' }[key] || key });
      if (widget.chatViewOpen()) elements.newChat.focus();
    }
  }

  // What chat-rich.js draws its choices with.
  var richTools = { link: link, choiceButton: choiceButton, sendChoice: sendChoice, oneShotChoices: oneShotChoices, localized: localized };

  api.chat = {
    start: function (noFocus) {
      if (!elements.log) { buildChatView(); widget.setChatActive(chatState === CHAT_STATE.active); elect(); }
      if (!connected) connect();
      tickTitle();
      if (!noFocus && widget.chatViewOpen()) this.focusTarget().focus();
    },
    focusTarget: function () { return elements.pre ? elements.pre.querySelector('input') : elements.form && !elements.form.hidden ? elements.input : elements.newChat; }
  };
})();
