/*! public-stats widget: the callback form (its fields, the checks before sending,
 * POST /api/callback and what the service answers). Loaded by chat-widget.js when the callback
 * view is first shown; what it needs from there is publicStatsWidget.internals. See
 * widget/README.md. */
(function () {
  'use strict';
  var api = window.publicStatsWidget;
  var widget = api && api.internals;
  if (!widget || api.callback) return;
  var settings = widget.settings;
  var buildElement = widget.buildElement;
  var callbackConfig = api.config.callback || {};
  // How far ahead a preferred time may be: the service's CALLBACK_MAX_SCHEDULE_DAYS (14 unless
  // its operator changed it; a shorter one still shows its refusal next to the field).
  var scheduleDays = +callbackConfig.maxScheduleDays > 0 ? +callbackConfig.maxScheduleDays : 14;
  // While the queue is closed the time is chosen among open slots of this many minutes, on the
  // visitor's clock (:00, :30, …).
  var slotMinutes = +callbackConfig.slotMinutes >= 5 ? Math.round(+callbackConfig.slotMinutes) : 30;
  // callback.countryCode: an ISO region ('GB') is sent as `countryCode`, and the service reads a
  // number written without + in it by libphonenumber's rules (which know, say, that an Italian
  // number keeps its leading 0); a dialling prefix ('+44', its older form) goes before such a
  // number here instead, since no region can be told from a prefix (+1 is a dozen countries).
  var region = /^[a-z]{2}$/i.test(settings.countryCode) ? settings.countryCode.toUpperCase() : '';
  // The form's strings that chat-widget.js does not have (language packs and config.strings may
  // have them).
  var moreStrings = {
    first: 'First name',
    last: 'Last name',
    phone: 'Phone number',
    phoneHint: 'With the country code, e.g. +1 317 555 0100',
    time: 'Preferred time (optional)',
    submit: 'Request callback',
    sending: 'Sending…',
    close: 'Close',
    firstMissing: 'Enter your first name.',
    lastMissing: 'Enter your last name.',
    phoneInvalid: 'Enter a phone number of 7 to 15 digits, starting with + and the country code.',
    timePast: 'Choose a time in the future.',
    timeLate: 'Choose a time no later than {time}.',
    cbFailed: 'Your request could not be sent. Please try again.',
    cbPending: 'A callback to this number is already pending. We will call you soon.',
    cbTooMany: 'Too many requests. Please try again {t}.',
    cbLater: "We can't take your request right now. Please try again later.",
    cbDone: "Thank you. We'll call you back on {phone}.",
    cbDoneAt: "Thank you. We'll call you back on {phone} around {time}.",
    whenLegend: 'When should we call you?',
    day: 'Day',
    slot: 'Time',
    asap: 'As soon as we open',
    cbAtOpening: "We're closed now. We'll call you when we open, {when}.",
    cbAtSlot: "We'll call you {when}.",
    cbOutside: "We're closed at that time. We open again {when}.",
    cbClosed: "We're closed and can't take requests right now. Please try again later."
  };
  function localized(key, values) { return widget.localized(key, values) || widget.fill(moreStrings[key], values); }

  // ---- The form ----
  // The form's elements by role: elements.first, elements.firstError, elements.submit, …
  var elements = {};
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
  // The honeypot: only a bot that fills in every input writes in it, and the service then answers
  // as usual and drops the request. People never meet it: it is off-screen, and aria-hidden and
  // inert keep it out of the accessibility tree and the tab order (the tabindex too, for browsers
  // without inert), while a bot reading the markup still finds an ordinary field.
  function buildHoneypot() {
    elements.website = buildElement('input', { id: 'psw-website', name: 'website', type: 'text', tabindex: '-1', autocomplete: 'off' });
    return buildElement('div', { class: 'psw-hp', 'aria-hidden': 'true', inert: true }, [
      buildElement('label', { for: 'psw-website', text: 'Website (leave empty)' }),
      elements.website
    ]);
  }
  function build(section) {
    // Above the buttons.
    elements.formError = buildElement('p', { class: 'psw-error', id: 'psw-callback-error' });
    elements.submit = buildElement('button', { type: 'submit', class: 'psw-primary', id: 'psw-callback-submit', text: localized('submit') });
    elements.form = buildElement('form', { class: 'psw-form', id: 'psw-callback-form', novalidate: true, onsubmit: submit, oninput: function (event) {
      // Typing in a field clears its error.
      var name = event.target.id.slice('psw-'.length);
      if (elements[name + 'Error']) setError(name, '');
    } }, [
      buildField('first', localized('first'), { name: 'given-name', autocomplete: 'given-name', required: true, maxlength: 100 }),
      buildField('last', localized('last'), { name: 'family-name', autocomplete: 'family-name', required: true, maxlength: 100 }),
      buildHoneypot(),
      buildField('phone', localized('phone'), { type: 'tel', name: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, maxlength: 32 }, localized('phoneHint')),
      elements.timeBox = buildElement('div'),
      elements.formError,
      buildElement('div', { class: 'psw-actions' }, [
        buildElement('button', { type: 'button', class: 'psw-secondary', id: 'psw-callback-back', text: localized('back'), onclick: widget.showChooser }),
        elements.submit
      ])
    ]);
    elements.doneText = buildElement('p', { class: 'psw-done-text', id: 'psw-callback-done-text' });
    elements.close = buildElement('button', { type: 'button', class: 'psw-primary', id: 'psw-callback-close', text: localized('close'), onclick: widget.close });
    elements.done = buildElement('div', { class: 'psw-done', id: 'psw-callback-done', hidden: true }, [elements.doneText, elements.close]);
    // Replaces the line saying that an earlier attempt to load this file failed.
    section.textContent = '';
    section.appendChild(elements.form);
    section.appendChild(elements.done);
    showTimeField();
  }
  // `name`: a field, or 'form' for the line above the buttons.
  function setError(name, message) {
    elements[name + 'Error'].textContent = message || '';
    var input = name === 'form' ? null : elements[name];
    if (input) message ? input.setAttribute('aria-invalid', 'true') : input.removeAttribute('aria-invalid');
  }

  // ---- The preferred time ----
  // While the queue is open (or has no business hours): an optional datetime-local field. While it
  // is closed: the day and time among the open slots of the coming days, "as soon as we open"
  // first, and a line saying when the call will come. elements.time is the field in use (the
  // input, or the day's select), elements.timeError its error line.
  var timeMode = '';
  function isClosed() { var hours = widget.hours(); return !!hours && !hours.open; }
  // (Re)builds the time field when the queue opens or closes, keeping the time chosen.
  function showTimeField() {
    var mode = isClosed() ? 'picker' : 'input';
    if (mode === timeMode) return mode === 'picker' && fillPicker();
    var chosen = timeMode && chosenTime();
    var box = elements.timeBox;
    var hadFocus = box.contains(box.getRootNode().activeElement);
    timeMode = mode;
    box.textContent = '';
    elements.time = elements.slot = elements.whenNote = null;
    if (mode === 'input') {
      if (settings.showTime) box.appendChild(buildField('time', localized('time'), { type: 'datetime-local', name: 'time', onfocus: updateTimeRange }));
      updateTimeRange();
      if (elements.time && chosen) elements.time.value = localInputValue(chosen);
    } else {
      box.appendChild(buildPicker());
      pickerKey = '';
      fillPicker(chosen);
    }
    if (hadFocus && elements.time) elements.time.focus();
  }
  function buildPicker() {
    elements.timeError = buildElement('p', { class: 'psw-error', id: 'psw-when-error' });
    elements.whenNote = buildElement('p', { class: 'psw-hint', id: 'psw-when-note' });
    if (!settings.showTime) return buildElement('div', null, [elements.whenNote, elements.timeError]);
    var describedBy = 'psw-when-note psw-when-error';
    elements.time = buildElement('select', { id: 'psw-day', class: 'psw-input', name: 'day', 'aria-describedby': describedBy,
      onfocus: function () { fillPicker(); }, onchange: function () { fillSlots(); pickerChanged(); } });
    elements.slot = buildElement('select', { id: 'psw-slot', class: 'psw-input', name: 'slot', 'aria-describedby': describedBy, onchange: pickerChanged });
    elements.slotField = buildPickField('slot', elements.slot);
    return buildElement('fieldset', { class: 'psw-when', id: 'psw-when' }, [
      buildElement('legend', { text: localized('whenLegend') }),
      buildElement('div', { class: 'psw-pick' }, [buildPickField('day', elements.time), elements.slotField]),
      elements.whenNote,
      elements.timeError
    ]);
  }
  function buildPickField(name, select) {
    return buildElement('div', { class: 'psw-field' }, [buildElement('label', { for: select.id, text: localized(name) }), select]);
  }
  function pickerChanged() { setError('time', ''); updateWhenNote(); }
  // The open slots from now to latestTime(), by day on the visitor's calendar: [{day, slots}].
  var days = [];
  // What the slots were made from; they are made again when it changes (the hours, or a slot
  // gone by while the form was open).
  var pickerKey = '';
  function fillPicker(keep) {
    var hours = widget.hours() || {};
    var step = slotMinutes * 60000;
    var key = JSON.stringify(hours.openIntervals) + Math.floor(Date.now() / step);
    if (key === pickerKey) return updateWhenNote();
    pickerKey = key;
    keep = keep || chosenTime();
    var latest = latestTime().getTime();
    days = [];
    (hours.openIntervals || []).forEach(function (interval) {
      var end = Math.min(Date.parse(interval.end), latest);
      for (var slot = firstSlot(Math.max(Date.parse(interval.start), Date.now()), step); slot < end; slot += step) {
        var day = widget.dayNumber(new Date(slot));
        var last = days[days.length - 1];
        if (!last || last.day !== day) days.push(last = { day: day, slots: [] });
        last.slots.push(slot);
      }
    });
    if (elements.time) {
      var chosenDay = keep ? widget.dayNumber(keep) : '';
      fillSelect(elements.time, [['', localized('asap')]].concat(days.map(function (day) {
        return [String(day.day), dayLabel(new Date(day.slots[0]), day.day)];
      })), String(chosenDay));
      fillSlots(keep);
    }
    updateWhenNote();
  }
  // The first slot boundary at or after `from`, counted from the visitor's midnight.
  function firstSlot(from, step) {
    var midnight = new Date(from);
    midnight.setHours(0, 0, 0, 0);
    return midnight.getTime() + Math.ceil((from - midnight) / step) * step;
  }
  // The times of the chosen day ('As soon as we open' has none: the field hides).
  function fillSlots(keep) {
    var day = days.filter(function (candidate) { return String(candidate.day) === elements.time.value; })[0];
    elements.slotField.hidden = !day;
    var tag = widget.formatLocale();
    fillSelect(elements.slot, day ? day.slots.map(function (slot) {
      return [String(slot), new Date(slot).toLocaleTimeString(tag, { timeStyle: 'short' })];
    }) : [], keep ? String(keep.getTime()) : '');
  }
  // Options [value, text]; `selected` stays chosen if it is among them.
  function fillSelect(select, options, selected) {
    select.textContent = '';
    options.forEach(function (option) {
      select.appendChild(buildElement('option', { value: option[0], text: option[1] }));
    });
    if (options.some(function (option) { return option[0] === selected; })) select.value = selected;
  }
  // "Today", "Tomorrow" (in the language of the strings), then "Mon 7 Dec" (short enough for
  // half the form's width).
  function dayLabel(date, day) {
    var tag = widget.formatLocale();
    var ahead = day - widget.dayNumber(new Date());
    var text;
    try {
      text = ahead < 2 ? new Intl.RelativeTimeFormat(tag, { numeric: 'auto' }).format(ahead, 'day') : '';
    } catch (e) { text = ''; }
    text = text || date.toLocaleDateString(tag, { weekday: 'short', day: 'numeric', month: 'short' });
    return text[0].toUpperCase() + text.slice(1);
  }
  // When the call will come: at the chosen slot, or when the queue opens; or that no request can
  // be taken (closed with no opening ahead, as in an emergency).
  function updateWhenNote() {
    if (!elements.whenNote) return;
    var chosen = chosenTime();
    var next = widget.nextOpening();
    elements.whenNote.textContent = chosen ? localized('cbAtSlot', { when: widget.whenText(chosen) })
      : next ? localized('cbAtOpening', { when: widget.whenText(next) }) : localized('cbClosed');
  }
  // The preferred time as a Date, or null for none.
  function chosenTime() {
    var value = elements.time && elements.time.value && (timeMode === 'picker' ? +elements.slot.value : elements.time.value);
    return value ? new Date(value) : null;
  }

  // ---- Checks before sending ----
  // The latest preferred time the service takes.
  function latestTime() { return new Date(Date.now() + scheduleDays * 86400000); }
  // The datetime-local field offers only times from now to latestTime(): set when the form is
  // built and again whenever the field takes the focus, as the form may stay open a long time.
  function updateTimeRange() {
    if (timeMode !== 'input' || !elements.time) return;
    elements.time.min = localInputValue(new Date());
    elements.time.max = localInputValue(latestTime());
  }
  // A time the open periods known here (the coming week) leave out: the next opening after it,
  // or null when it is inside one or beyond what is known (the service judges those).
  function closedAt(when) {
    var hours = widget.hours();
    var intervals = (hours && hours.openIntervals) || [];
    var next = null;
    for (var i = 0; i < intervals.length; i++) {
      var start = Date.parse(intervals[i].start);
      if (when >= start && when < Date.parse(intervals[i].end)) return null;
      if (start > when && !next) next = new Date(start);
    }
    return next;
  }
  // A Date as a datetime-local input holds it: YYYY-MM-DDTHH:MM in local time.
  function localInputValue(date) {
    return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  }
  function timeText(date) { return date.toLocaleString(widget.formatLocale(), { dateStyle: 'medium', timeStyle: 'short' }); }
  // The number as sent (separators removed, 00 → +, a dialling prefix before a national number),
  // or null unless it is 7 to 15 digits, + first or not.
  function normalizePhone(value) {
    var number = value.replace(/[\s().\-/]/g, '').replace(/^00/, '+');
    if (number[0] !== '+' && settings.countryCode && !region) number = settings.countryCode.replace(/[^\d+]/g, '') + number.replace(/^0/, '');
    return /^\+?\d{7,15}$/.test(number) ? number : null;
  }

  // ---- Sending ----
  var sending = false;
  // The body last sent and its Idempotency-Key, until it is accepted. Sending the same body again
  // (a retry after a network failure or a 5xx, when the service may have stored it all the same)
  // reuses the key, so the service answers with the receipt of what it stored instead of storing
  // a second request; a changed input is another request, with a new key.
  var attempt = { body: '', key: '' };
  function submit(event) {
    event.preventDefault();
    if (sending) return;
    var first = elements.first.value.trim();
    var last = elements.last.value.trim();
    var number = normalizePhone(elements.phone.value);
    var when = chosenTime();
    var latest = latestTime();
    var nextOpen = when && closedAt(when);
    var problems = [ // [field, message or false]
      ['first', !first && localized('firstMissing')],
      ['last', !last && localized('lastMissing')],
      ['phone', !number && localized('phoneInvalid')]
    ];
    if (elements.time) {
      problems.push(['time', when && (!(when > new Date()) ? localized('timePast') : when > latest ? localized('timeLate', { time: timeText(latest) })
        : nextOpen && localized('cbOutside', { when: widget.whenText(nextOpen) }))]);
    }
    setError('form', '');
    var firstInvalid = null;
    problems.forEach(function (problem) {
      setError(problem[0], problem[1]);
      if (problem[1] && !firstInvalid) firstInvalid = problem[0];
    });
    if (firstInvalid) { elements[firstInvalid].focus(); return; }
    var body = { queueId: settings.queueId, callbackNumbers: [number], callbackUserName: first + ' ' + last, website: elements.website.value };
    if (when) body.callbackScheduledTime = when.toISOString();
    if (region) body.countryCode = region;
    var json = JSON.stringify(body);
    if (json !== attempt.body) attempt = { body: json, key: widget.newUuid() };
    setSending(true);
    fetch(settings.serviceUrl + 'api/callback', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': attempt.key },
      body: json
    }).then(function (response) {
      var answered = response.ok ? showDone : function (problem) { showErrors(problem, response.status, response.headers.get('Retry-After')); };
      return response.json().then(answered, function () { answered({}); });
    }, function () {
      // The browser does not say why a request failed. From a page of another site, while the
      // service answers the public reads, it is most likely the refused CORS preflight.
      if (widget.serviceAnswered() && new URL(settings.serviceUrl, location.href).origin !== location.origin) {
        widget.tellOwner('origin', { service: settings.serviceUrl, origin: location.origin });
      }
      showErrors({}, 0);
    }).then(function () { setSending(false); });

    // The service says when it placed a request made without a time (while closed: the opening).
    function showDone(receipt) {
      receipt = receipt || {};
      var placed = when || (Date.parse(receipt.callbackScheduledTime) ? new Date(receipt.callbackScheduledTime) : null);
      attempt = { body: '', key: '' };
      elements.form.reset();
      pickerKey = '';
      timeMode === 'picker' ? fillPicker() : updateTimeRange();
      elements.form.hidden = true;
      elements.done.hidden = false;
      elements.doneText.textContent = placed
        ? localized('cbDoneAt', { phone: number, time: timeText(placed) })
        : localized('cbDone', { phone: number });
      widget.announce(elements.doneText.textContent);
      elements.close.focus();
      widget.emit('callback', { queueId: settings.queueId, scheduled: placed ? placed.toISOString() : null, id: receipt.id || null });
    }
  }
  function setSending(on) {
    sending = on;
    on ? elements.submit.setAttribute('aria-disabled', 'true') : elements.submit.removeAttribute('aria-disabled');
    elements.submit.textContent = localized(on ? 'sending' : 'submit');
  }

  // ---- The service's refusals ----
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
  // What the line above the buttons says, in the visitor's language: a request already pending
  // for this number (409), too many requests (429, with when to try again from Retry-After), the
  // service unable to take it now (5xx), or that it could not be sent (a network failure, or a
  // refusal about the page's settings, such as its queue or origin, which the owner is told).
  function generalMessage(problem, status, retryAfter) {
    if (status === 409 && /callback-pending/.test(problem.type)) return localized('cbPending');
    if (outsideHours(problem)) {
      var next = Date.parse(problem.nextOpen);
      return next ? localized('cbOutside', { when: widget.whenText(new Date(next)) }) : localized('cbClosed');
    }
    if (/\/closed$/.test(problem.type)) return localized('cbClosed');
    var wait = status === 429 && retryText(retryAfter);
    if (wait) return localized('cbTooMany', { t: wait });
    return localized(status > 499 || status === 429 ? 'cbLater' : 'cbFailed');
  }
  // Retry-After (seconds, or an HTTP date) as "in 5 minutes" / "in 3 hours" in the language of
  // the words around it, whole minutes rounded up; '' when absent or not understood.
  function retryText(retryAfter) {
    var seconds = /^\d+$/.test(retryAfter) ? +retryAfter : (Date.parse(retryAfter) - Date.now()) / 1000;
    if (!(seconds > 0)) return '';
    var minutes = Math.ceil(seconds / 60);
    try {
      var relative = new Intl.RelativeTimeFormat(widget.formatLocale());
      return minutes > 60 ? relative.format(Math.ceil(minutes / 60), 'hour') : relative.format(minutes, 'minute');
    } catch (e) { return ''; }
  }
  // A problem+json: each message goes next to the field it names (RFC 9457 "invalid-params", else
  // a 4xx `detail`), or above the buttons (see generalMessage()); announced; the visitor's input
  // is kept.
  // The time asked for is outside the business hours (the service's hours may be newer than the
  // widget's, which it then asks for again).
  function outsideHours(problem) { return /outside-hours/.test(problem.type); }
  function showErrors(problem, status, retryAfter) {
    problem = problem || {};
    var entries = problem['invalid-params'] || problem.invalidParams || problem.errors;
    if (outsideHours(problem)) {
      entries = [{ name: 'callbackScheduledTime' }];
      widget.refreshHours();
    }
    var general = generalMessage(problem, status, retryAfter);
    var clientError = status > 399 && status < 500;
    if (!entries || !entries.length) {
      entries = [{ name: clientError ? problem.field || firstQuotedName(problem.detail) : '', reason: problem.detail }];
    }
    var messages = [];
    var focusField;
    entries.forEach(function (entry) {
      var field = formFieldFor(entry && (entry.name || entry.field));
      var reason = serverText(entry && entry.reason);
      var message = field === 'form' ? general : reason || general;
      // Not about what the visitor typed, nor the visitor's own limits: about the page's settings.
      if (field === 'form' && clientError && status !== 409 && status !== 429 && !outsideHours(problem)) {
        widget.tellOwner('callback', { status: status, detail: reason || problem.title });
      }
      var shown = elements[field + 'Error'].textContent;
      if (shown.indexOf(message) < 0) setError(field, shown ? shown + ' ' + message : message);
      if (messages.indexOf(message) < 0) messages.push(message);
      focusField = focusField || field;
    });
    (focusField === 'form' ? elements.submit : elements[focusField]).focus();
    widget.announce(messages.join(' '));
    widget.emit('error', { kind: 'callback', status: status, detail: messages.join(' ') });
  }
  // "`field` is bad; see `x`" → "Is bad; see x." (shown next to that field)
  function serverText(text) {
    text = typeof text === 'string' ? text.replace(/^`[^`]*`\s*/, '').replace(/`/g, '') : '';
    return text && (text[0].toUpperCase() + text.slice(1)).replace(/([^.!?…])$/, '$1.');
  }

  build(widget.section('callback'));
  api.callback = {
    // The queue opened or closed, or its hours changed.
    hoursChanged: showTimeField,
    // The view's first control: the first field, or the confirmation's button.
    focusTarget: function () { return elements.done.hidden ? elements.first : elements.close; },
    // The widget closes: a confirmation is not shown again, the next opening starts at the
    // chooser (true when there was one).
    closed: function () {
      if (elements.done.hidden) return false;
      elements.done.hidden = true;
      elements.form.hidden = false;
      return true;
    }
  };
})();
