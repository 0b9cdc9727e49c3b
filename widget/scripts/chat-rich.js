/*! public-stats widget: the chat's cards, carousels and date pickers, drawn from the agent's
 * (or bot's) Structured messages as the transport SDK's StructuredMessage.Content describes
 * them. Loaded by chat-messaging.js with the first of them; what it needs from there is
 * publicStatsWidget.internals and the tools it is given. Text only, never HTML from the
 * network; links and images only over http(s). See widget/README.md. */
(function () {
  'use strict';
  var api = window.publicStatsWidget;
  var widget = api && api.internals;
  if (!widget || !api.chatParts || api.chatParts.rich) return;
  var buildElement = widget.buildElement;
  var count = 0; // for the ids that name each card by its title

  // `part`: a Card, Carousel or DatePicker content item of the message `messageId`; its
  // choices answer only when `choosable`.
  function render(part, messageId, choosable, tools) {
    if (part.card) return card(part.card, messageId, choosable, tools);
    if (part.carousel) {
      return buildElement('div', { class: 'psw-carousel', role: 'group', 'aria-label': tools.localized('cards'), onkeydown: moveInCarousel },
        (part.carousel.cards || []).map(function (each) { return card(each, messageId, choosable, tools); }));
    }
    return datePicker(part.datePicker, messageId, tools);
  }

  function httpUrl(url) {
    try { return /^https?:$/.test(new URL(url).protocol) ? url : ''; } catch (e) { return ''; }
  }

  // A card: its image, title and description, `Link` actions as links, `Postback` ones as
  // buttons that answer with a Structured message (the transport SDK's preparePostbackMessage).
  // Cards stay answerable: a visitor may change their mind.
  function card(data, messageId, choosable, tools) {
    var id = 'psw-rich-' + ++count;
    var image = httpUrl(data.image);
    return buildElement('div', { class: 'psw-card', role: 'group', 'aria-labelledby': id }, [
      image && buildElement('img', { class: 'psw-card-img', src: image, alt: data.title || '' }),
      buildElement('p', { class: 'psw-card-title', id: id, text: data.title }),
      data.description && buildElement('p', { text: data.description }),
      buildElement('div', { class: 'psw-card-actions' }, (data.actions || []).map(function (action) {
        return /^link$/i.test(action.type) ? tools.link(action.text, action.url)
          : tools.choiceButton(action.text, !choosable, function () { tools.sendChoice('Structured', 'Postback', action.text, action.payload, messageId); });
      }))
    ]);
  }

  // Left and right arrows move between a carousel's cards (Tab goes through every control).
  function moveInCarousel(event) {
    var step = { ArrowRight: 'nextElementSibling', ArrowLeft: 'previousElementSibling' }[event.key];
    var current = step && event.target.closest('.psw-card');
    var next = current && current[step];
    var target = next && next.querySelector('a, button:enabled');
    if (target) { event.preventDefault(); target.focus(); }
  }

  // A date picker: its title, subtitle and the offered times as buttons, on the visitor's clock;
  // the chosen one answers as the transport SDK's submitTimeSlot does (an empty Text with a
  // ButtonResponse of type DatePicker whose payload is the slot's dateTime), and the times go.
  function datePicker(picker, messageId, tools) {
    var id = 'psw-rich-' + ++count;
    var slots = (picker.availableTimes || []).map(function (slot) {
      var at = new Date(slot.dateTime);
      return {
        payload: slot.dateTime,
        text: isNaN(at) ? slot.dateTime : at.toLocaleString(widget.formatLocale(), { weekday: 'long', day: 'numeric', month: 'long', hour: 'numeric', minute: '2-digit' })
      };
    });
    return buildElement('div', { class: 'psw-card psw-picker', role: 'group', 'aria-labelledby': id }, [
      buildElement('p', { class: 'psw-card-title', id: id, text: picker.title }),
      picker.subtitle && buildElement('p', { text: picker.subtitle }),
      tools.oneShotChoices(tools.localized('times'), slots, 'DatePicker', messageId)
    ]);
  }

  api.chatParts.rich = { render: render };
})();
