/*! public-stats widget: the proactive invitation (pureCloudCustomChatConfig.invitation and
 * publicStatsWidget.invite()), loaded only when a page configures or asks for one. See
 * widget/README.md. */
(function () {
  'use strict';
  var api = window.publicStatsWidget;
  if (!api || !api.internals || api.invitation) return;
  var widget = api.internals;
  var config = api.config.invitation || {};
  // sessionStorage: an invitation was shown in this visit (once per visit, closed or not).
  var KEY = 'psw-invited';
  var moreStrings = { inviteClose: 'No, thanks' };
  var shown = false;
  var note = null;

  // A message for every language, or one per language ({en: '…', fr: '…'}): the page's locale,
  // its language, else English.
  function messageText(message) {
    if (message && typeof message === 'object') {
      var locale = api.config.locale || document.documentElement.lang || navigator.language || 'en';
      message = message[locale] || message[locale.slice(0, 2).toLowerCase()] || message.en;
    }
    return typeof message === 'string' ? message.trim() : '';
  }
  function firstThisVisit() {
    try {
      if (sessionStorage.getItem(KEY)) return false;
      sessionStorage.setItem(KEY, '1');
    } catch (e) { /* storage off: once for this page */ }
    return true;
  }
  function inChat() {
    var chat = widget.chatRecord.get();
    return widget.chatActive() || !!(chat && chat.s === widget.CHAT_STATE.active);
  }

  // Opens the chooser with `message` (or the configured one), without taking the focus; true
  // when shown. Never during a chat, while the widget is open, or twice in a visit.
  api.invitation = function (message) {
    var text = messageText(message || config.message);
    if (!text || shown || widget.isOpen() || inChat() || !firstThisVisit()) return false;
    shown = true;
    var chooser = widget.section('chooser');
    note = widget.buildElement('div', { class: 'psw-invite', id: 'psw-invite' }, [
      widget.buildElement('p', { class: 'psw-none', id: 'psw-invite-text', text: text }),
      widget.buildElement('button', { type: 'button', class: 'psw-secondary', id: 'psw-invite-close',
        text: widget.localized('inviteClose') || moreStrings.inviteClose, onclick: widget.close })
    ]);
    chooser.insertBefore(note, chooser.firstChild);
    widget.openQuietly();
    widget.announce(text);
    widget.emit('invited', { message: text });
    return true;
  };
  // Closing the widget, by its button or otherwise, ends the invitation.
  api.on('closed', function () {
    if (note) note.remove();
    note = null;
  });
  var seconds = +config.afterSeconds;
  if (config.message && seconds >= 0) setTimeout(api.invitation, seconds * 1000);
})();
