/*! public-stats widget: the chat's transcript, as a plain-text file to download and as a print
 * view of the conversation alone. Loaded by chat-messaging.js the first time the visitor asks
 * for either; what it needs from there is publicStatsWidget.internals. Text only: nothing from
 * the conversation is ever parsed as HTML. See widget/README.md. */
(function () {
  'use strict';
  var api = window.publicStatsWidget;
  var widget = api && api.internals;
  if (!widget || !api.chatParts || api.chatParts.transcript) return;
  var buildElement = widget.buildElement;
  // English defaults; language packs and config.strings may have them.
  var moreStrings = {
    transcript: 'Chat transcript',
    transcriptReady: 'Your transcript is ready:'
  };
  var downloadLine = null; // the log's line with the latest download link
  var printFrame = null;

  function localized(key) { return widget.localized(key) || moreStrings[key]; }
  function timeText(time) {
    var at = new Date(time);
    return time && !isNaN(at) ? at.toLocaleString(widget.formatLocale(), { dateStyle: 'short', timeStyle: 'short' }) : '';
  }
  function heading() { return localized('transcript') + ' — ' + new Date().toLocaleDateString(widget.formatLocale(), { dateStyle: 'long' }); }
  // A line's words: its text, then what its cards, date pickers and files say.
  function words(line) {
    var more = [];
    (line.content || []).forEach(function (part) {
      var cards = part.card ? [part.card] : (part.carousel && part.carousel.cards) || [];
      cards.forEach(function (card) { more.push([card.title, card.description].filter(Boolean).join(': ')); });
      if (part.datePicker) more.push(part.datePicker.title);
      if (part.attachment) more.push(part.attachment.filename);
    });
    return [line.text].concat(more).filter(Boolean).join('\n');
  }
  function plainText(lines) {
    return [heading(), ''].concat(lines.map(function (line) {
      return (line.time ? '[' + timeText(line.time) + '] ' : '') + line.name + ': ' + words(line);
    })).join('\n') + '\n';
  }
  // Today on the visitor's clock, as 2026-12-03.
  function today() {
    var now = new Date();
    return new Date(now - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }

  // A download link to a Blob of the text, followed at once; it stays in the log, so that it
  // can be used again where the browser held the download back.
  function download(lines, log) {
    var name = 'chat-transcript-' + today() + '.txt';
    if (downloadLine) { URL.revokeObjectURL(downloadLine.lastChild.href); downloadLine.remove(); }
    var link = buildElement('a', { id: 'psw-transcript-link', href: URL.createObjectURL(new Blob([plainText(lines)], { type: 'text/plain;charset=utf-8' })), download: name, text: name });
    downloadLine = log.appendChild(buildElement('p', { class: 'psw-msg psw-msg--system' }, [document.createTextNode(localized('transcriptReady') + ' '), link]));
    log.scrollTop = log.scrollHeight;
    link.click();
  }

  // The conversation alone, in a frame of its own, printed from there: the page around the
  // widget is not printed.
  function print(lines, log) {
    if (!printFrame) {
      printFrame = log.getRootNode().appendChild(buildElement('iframe', { class: 'psw-print-frame', id: 'psw-print-frame', title: localized('transcript'), tabindex: '-1', 'aria-hidden': 'true' }));
    }
    var page = printFrame.contentDocument;
    page.documentElement.lang = document.documentElement.lang || 'en';
    page.title = localized('transcript');
    page.body.textContent = '';
    page.body.appendChild(page.createElement('h1')).textContent = heading();
    lines.forEach(function (line) {
      var paragraph = page.body.appendChild(page.createElement('p'));
      paragraph.appendChild(page.createElement('strong')).textContent = line.name + ': ';
      paragraph.appendChild(page.createTextNode(words(line)));
      if (line.time) paragraph.appendChild(page.createElement('small')).textContent = ' ' + timeText(line.time);
    });
    printFrame.contentWindow.print();
  }

  api.chatParts.transcript = { download: download, print: print };
})();
