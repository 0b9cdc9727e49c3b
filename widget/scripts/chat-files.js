/*! public-stats widget: files in the chat. The visitor's files are checked against the
 * session's limits, presigned (onAttachment), uploaded with their progress, removable until sent
 * (deleteAttachment); expired download links are renewed (getAttachment). Loaded by
 * chat-messaging.js when a file is first chosen or dropped, or a link needs renewing. See
 * widget/README.md. */
(function () {
  'use strict';
  var api = window.publicStatsWidget;
  var widget = api && api.internals;
  var chat = widget && widget.chatFiles;
  if (!chat || api.chatFiles) return;
  var buildElement = widget.buildElement;
  var elements = chat.elements;
  // The strings that chat-widget.js and chat-messaging.js do not have (language packs and
  // config.strings may have them).
  var fileStrings = {
    uploading: 'Uploading…',
    uploadingName: 'Uploading {name}',
    fileReady: 'Ready to send',
    removeFile: 'Remove {name}',
    stillUploading: 'Please wait until your files have finished uploading.',
    fileType: '{name} cannot be sent: this type of file is not accepted.',
    fileSize: '{name} cannot be sent: files may be at most {max}.',
    fileEmpty: '{name} cannot be sent: the file is empty.',
    fileName: '{name} cannot be sent: its name is not accepted.',
    fileContent: '{name} was refused by the security check.',
    fileFailed: '{name} could not be uploaded. Please try again.',
    fileGone: 'This file is no longer available.',
    fileNotReady: 'A file had not finished uploading. Please attach it again.'
  };
  // Genesys's file error codes, in the visitor's words.
  var ERROR_KEYS = { 4001: 'fileType', 4002: 'fileSize', 4003: 'fileContent', 4004: 'fileName', 4005: 'fileName' };
  var chips = []; // {id, file, state: 'presigning' | 'uploading' | 'ready', node, progress, note, xhr}, in order
  var opening = {}; // attachment id → the link to open once renewed
  var list = null;

  function localized(key, values) {
    return widget.localized(key, values) || widget.fill(fileStrings[key], values);
  }
  function maxSize(bytes) {
    var megabytes = bytes >= 1e6;
    return new Intl.NumberFormat(widget.formatLocale(), {
      style: 'unit', unit: megabytes ? 'megabyte' : 'kilobyte', maximumFractionDigits: 1
    }).format(megabytes ? bytes / 1e6 : bytes / 1e3);
  }

  // ---- Checks before anything is sent, as the server would refuse ----
  // The error's string key, or '' when the file may be uploaded.
  function refusal(file, uploads) {
    var dot = file.name.lastIndexOf('.');
    var extension = dot > 0 ? file.name.slice(dot).toLowerCase() : '';
    var type = (file.type || 'application/octet-stream').toLowerCase();
    if (extension && uploads.blocked.indexOf(extension) >= 0) return 'fileType';
    var allowed = uploads.types.some(function (allowedType) {
      return allowedType === '*/*' || allowedType === type || (/\/\*$/.test(allowedType) && type.indexOf(allowedType.slice(0, -1)) === 0);
    });
    if (!allowed) return 'fileType';
    if (!file.size) return 'fileEmpty';
    if (uploads.max && file.size > uploads.max) return 'fileSize';
    return '';
  }
  function refuse(key, name) { chat.say(localized(key, { name: name, max: maxSize(chat.uploads().max) })); }

  function add(files) {
    var uploads = chat.uploads();
    if (!uploads) return;
    files.forEach(function (file) {
      var key = refusal(file, uploads);
      if (key) return refuse(key, file.name);
      var chip = { id: widget.newUuid(), file: file, state: 'presigning' };
      chips.push(chip);
      showChip(chip);
      chat.send('onAttachment', {
        attachmentId: chip.id, fileName: file.name, fileType: file.type || 'application/octet-stream', fileSize: file.size, errorsAsJson: true
      });
    });
  }

  // ---- The pending files, above the message box ----
  function showChip(chip) {
    if (!list || !list.isConnected) {
      list = buildElement('div', { class: 'psw-files', id: 'psw-chat-files', 'aria-live': 'polite' });
      list.style.cssText = 'display:flex;flex-direction:column;gap:4px;padding:0 12px';
      elements.form.parentNode.insertBefore(list, elements.form);
    }
    var name = chip.file.name;
    chip.note = buildElement('span', { class: 'psw-file-state', text: localized('uploading') });
    chip.progress = buildElement('progress', { max: 100, value: 0, 'aria-label': localized('uploadingName', { name: name }) });
    chip.node = buildElement('p', { class: 'psw-msg psw-file', id: 'psw-file-' + chip.id }, [
      buildElement('span', { class: 'psw-file-name', text: name }),
      document.createTextNode(' · '),
      chip.note,
      document.createTextNode(' '),
      chip.progress,
      document.createTextNode(' '),
      buildElement('button', { type: 'button', class: 'psw-secondary psw-file-remove', 'aria-label': localized('removeFile', { name: name }), text: '✕', onclick: function () {
        remove(chip, true);
      } })
    ]);
    chip.node.style.cssText = 'align-self:stretch;max-width:none';
    list.appendChild(chip.node);
  }
  function find(id) { return chips.filter(function (chip) { return chip.id === id; })[0]; }
  // `byVisitor`: the visitor's Remove; the server forgets the file (deleteAttachment) and the
  // focus goes to the next file's Remove, else the attach button.
  function remove(chip, byVisitor) {
    var at = chips.indexOf(chip);
    if (at < 0) return;
    chips.splice(at, 1);
    if (chip.xhr) chip.xhr.abort();
    chip.node.remove();
    if (!byVisitor) return;
    chat.send('deleteAttachment', { attachmentId: chip.id });
    var next = chips[at] || chips[at - 1];
    (next ? next.node.querySelector('button') : elements.attach).focus();
  }
  function failed(chip, code) {
    remove(chip);
    refuse(ERROR_KEYS[code] || 'fileFailed', chip.file.name);
  }
  function ready(chip) {
    chip.state = 'ready';
    chip.note.textContent = localized('fileReady');
    chip.progress.remove();
  }

  // ---- The upload: a PUT to the presigned URL with the headers it was signed with ----
  function upload(chip, presigned) {
    var xhr = chip.xhr = new XMLHttpRequest();
    chip.state = 'uploading';
    xhr.open('PUT', presigned.url);
    var headers = presigned.headers || {};
    for (var name in headers) xhr.setRequestHeader(name, headers[name]);
    if (chip.file.type) xhr.setRequestHeader('Content-Type', chip.file.type);
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) chip.progress.value = Math.round(event.loaded / event.total * 100);
    };
    // Success is the server's UploadSuccessEvent, which may come before or after this.
    xhr.onload = function () {
      chip.xhr = null;
      if (xhr.status > 299) failed(chip);
    };
    xhr.onerror = function () { failed(chip); };
    xhr.send(chip.file);
  }

  // ---- Files in the conversation ----
  // An attachment's link (`node`, made by chat-messaging.js): an image becomes a thumbnail (named
  // by the file's name). Download links expire: one that has, by its own X-Amz-Date and
  // X-Amz-Expires or by the time since it came (ten minutes when it does not say), is renewed
  // with getAttachment when chosen, and so is a thumbnail's that fails to load.
  function show(node, attachment) {
    node.pswFile = { id: attachment.id, at: Date.now() };
    // The message's own colour (underlined), readable on the visitor's bubble as on the agent's.
    node.style.color = 'inherit';
    node.addEventListener('click', function (event) {
      if (!expired(node)) return;
      event.preventDefault();
      renew(node, true);
    });
    if (/^image\//.test(attachment.mime) || attachment.mediaType === 'Image') {
      var name = node.textContent;
      node.textContent = '';
      node.appendChild(buildElement('img', {
        class: 'psw-thumb', src: node.href, alt: name, width: 160, referrerpolicy: 'no-referrer',
        onerror: function () { renew(node); }
      })).style.cssText = 'display:block;max-width:100%;height:auto;margin-top:4px;border-radius:6px';
    }
  }
  function expired(node) {
    var query = new URL(node.href).searchParams;
    var date = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(query.get('X-Amz-Date')) || [];
    var lifetime = (+query.get('X-Amz-Expires') || 600) * 1000;
    var issued = date[0] ? Date.UTC(date[1], date[2] - 1, date[3], date[4], date[5], date[6]) : node.pswFile.at;
    // A few seconds early: the link must still work when the browser asks for it.
    return Date.now() > Math.min(issued, node.pswFile.at) + lifetime - 5000;
  }

  // ---- Download links ----
  // Asks for a new link of the file behind `node` (an attachment's link); `open`: the visitor
  // chose it, so it opens once renewed. A thumbnail is renewed at most once a minute.
  function renew(node, open) {
    var file = node.pswFile;
    if (!open && Date.now() - (file.renewed || 0) < 60000) return;
    file.renewed = Date.now();
    if (open) opening[file.id] = node;
    chat.send('getAttachment', { attachmentId: file.id });
  }
  function renewed(body) {
    var opened = opening[body.attachmentId];
    delete opening[body.attachmentId];
    [].forEach.call(elements.log.querySelectorAll('a'), function (node) {
      if (!node.pswFile || node.pswFile.id !== body.attachmentId) return;
      node.href = body.url;
      node.pswFile.at = Date.now();
      var image = node.querySelector('img');
      if (image) image.src = body.url;
    });
    if (opened) window.open(body.url, '_blank', 'noopener,noreferrer');
  }

  function receive(frame) {
    var body = frame.body || {};
    var chip = find(body.attachmentId);
    switch (frame.class) {
      case 'PresignedUrlResponse':
        if (chip && chip.state === 'presigning') upload(chip, body); else renewed(body);
        break;
      case 'UploadSuccessEvent':
        if (chip) ready(chip);
        break;
      case 'UploadFailureEvent':
      case 'GenerateUrlError':
        if (chip) failed(chip, body.errorCode);
        break;
      case 'AttachmentDeletedResponse':
        break;
      default:
        // A refused message with files, getAttachment or deleteAttachment (`string` errors carry
        // no attachment id): a send fails as any other would, anything else is said.
        opening = {};
        var text = localized(frame.code === 4010 ? 'fileNotReady' : 'fileGone');
        if (!chat.failSend(text)) chat.say(text);
    }
  }

  api.chatFiles = api.chatParts.files = {
    add: add,
    receive: receive,
    show: show,
    // The message's content for the files ready to go; null (and the visitor told) while one is
    // still on its way.
    content: function () {
      if (chips.some(function (chip) { return chip.state !== 'ready'; })) {
        chat.say(localized('stillUploading'));
        return null;
      }
      return chips.map(function (chip) { return { contentType: 'Attachment', attachment: { id: chip.id } }; });
    },
    // Sent, or the session is gone: the pending files are no longer the visitor's to remove.
    clear: function () { chips.slice().forEach(function (chip) { remove(chip); }); }
  };
})();
