/*! public-stats widget: the pre-chat form a site may configure (webMessaging.preChat), shown
 * before the first message of a new chat. Loaded by chat-messaging.js only when configured; it
 * checks the answers and hands them back as the session's custom attributes. See widget/README.md. */
(function () {
  'use strict';
  var api = window.publicStatsWidget;
  var widget = api && api.internals;
  if (!widget || api.prechat) return;
  var buildElement = widget.buildElement;
  var preChat = widget.webMessagingConfig.preChat || {};
  var locale = api.config.locale || document.documentElement.lang || navigator.language || 'en';
  var moreStrings = {
    preIntro: 'Before we start, please tell us a little about yourself.',
    preMarked: 'Fields marked * are required.',
    preStart: 'Start chat',
    preRequired: 'Please fill in this field.',
    preEmail: 'Enter an email address, such as name@example.com.',
    preTel: 'Enter a phone number: digits, spaces and + ( ) - only.',
    preTooLong: 'Your answers are too long to send. Please shorten them by at least {n} characters.'
  };
  function localized(key, values) { return widget.localized(key, values) || widget.fill(moreStrings[key], values); }
  // The site's text for the page's language: a string, or {en: …, de: …} by locale, then
  // language, then English, then any.
  function ownText(text, fallback) {
    if (!text || typeof text === 'string') return text || fallback;
    var language = locale.slice(0, 2).toLowerCase();
    for (var key in text) if (key.toLowerCase() === language) language = key;
    return text[locale] || text[language] || text.en || text[Object.keys(text)[0]] || fallback;
  }
  var TYPES = { email: 'email', tel: 'tel' };
  // UTF-8 bytes of the keys and values, as Genesys measures custom attributes.
  function bytes(attributes) {
    var size = 0;
    for (var key in attributes) size += new TextEncoder().encode(key + attributes[key]).length;
    return size;
  }

  // The form, in place of the chat's composer (`chat`: the chat's elements; the form is
  // chat.pre while shown); `done(answers)` once they are valid and within `maxBytes` (0: not
  // known), the composer then back and focused. `error`: a message to show at once (answers
  // refused before).
  api.prechat = function (chat, maxBytes, error, done) {
    if (chat.pre) chat.pre.remove();
    var fields = (preChat.fields || []).filter(function (field) { return field && field.name; });
    var formError = buildElement('p', { class: 'psw-error', id: 'psw-prechat-error', role: 'alert', text: error || '' });
    var inputs = fields.map(function (field, index) {
      var id = 'psw-prechat-' + index;
      var type = TYPES[field.type] || 'text';
      return {
        field: field,
        input: buildElement('input', {
          id: id, class: 'psw-input', name: field.name, type: type, required: !!field.required, 'aria-describedby': id + '-error',
          autocomplete: field.autocomplete || (type === 'text' ? (field.name === 'name' ? 'name' : 'off') : type), maxlength: '500'
        }),
        error: buildElement('p', { class: 'psw-error', id: id + '-error' })
      };
    });
    var required = fields.some(function (field) { return field.required; });
    var form = buildElement('form', { class: 'psw-prechat', id: 'psw-prechat', novalidate: true, 'aria-labelledby': 'psw-prechat-intro', onsubmit: submit }, [
      buildElement('p', { id: 'psw-prechat-intro', text: ownText(preChat.intro, localized('preIntro')) + (required ? ' ' + localized('preMarked') : '') })
    ].concat(inputs.map(function (item) {
      var label = ownText(item.field.label, item.field.name);
      return buildElement('div', { class: 'psw-field' }, [
        buildElement('label', { for: item.input.id }, [
          document.createTextNode(label),
          item.field.required ? buildElement('span', { 'aria-hidden': 'true', text: ' *' }) : null
        ]),
        item.input,
        item.error
      ]);
    }), [formError, buildElement('button', { type: 'submit', class: 'psw-primary', id: 'psw-prechat-start', text: localized('preStart') })]));
    // Scrolls on its own in the chat's fixed height, leaving the log room (set here, not in
    // widget.css, which every page loads before any chat).
    Object.assign(form.style, { minHeight: '0', maxHeight: '65%', overflowY: 'auto', padding: '12px', borderTop: '1px solid #d5dbe0' });
    chat.form.parentNode.insertBefore(chat.pre = form, chat.form);
    if (widget.chatViewOpen()) inputs[0].input.focus();

    function submit(event) {
      event.preventDefault();
      var answers = {};
      var firstWrong = null;
      inputs.forEach(function (item) {
        var value = item.input.value.trim();
        var type = item.input.type;
        var message = !value ? (item.field.required ? localized('preRequired') : '')
          : type === 'email' && item.input.validity.typeMismatch ? localized('preEmail')
            : type === 'tel' && !/^[+\d\s().-]*\d[+\d\s().-]*$/.test(value) ? localized('preTel') : '';
        setError(item, message);
        if (message && !firstWrong) firstWrong = item.input;
        if (value) answers[item.field.name] = value;
      });
      var over = maxBytes > 0 ? bytes(answers) - maxBytes : 0;
      formError.textContent = over > 0 && !firstWrong ? localized('preTooLong', { n: over }) : '';
      if (firstWrong || over > 0) return (firstWrong || inputs[0].input).focus();
      form.remove();
      chat.pre = null;
      chat.form.hidden = false;
      chat.input.focus();
      done(answers);
    }
  };
  function setError(item, message) {
    item.error.textContent = message;
    if (message) item.input.setAttribute('aria-invalid', 'true'); else item.input.removeAttribute('aria-invalid');
  }
})();
