//! Files in the chat, in Chromium against the simulator's Web Messaging and its upload target: a
//! file chosen with the attach button is checked, presigned, uploaded with its progress shown and
//! sent with the message; one can be removed before sending (the server deletes it); files the
//! session's limits refuse never leave the browser; failures reported by the server are shown;
//! the agent's files appear as a thumbnail or a link, and an expired link is renewed. With the
//! keyboard alone, axe-core in each state, and screenshots.

use std::path::{Path, PathBuf};

use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::axe::assert_no_violations;
use crate::browser::Browser;
use crate::chat::{CHAT_WAIT, chat_app, open_demo, sent, set_deployment, sim_post, sim_sessions};
use crate::helpers::TestApp;
use crate::widget::Widget;

/// Records, in the page, every value a `<progress>` of the widget shows, the names of the
/// progress bars added, every `PUT` the page starts and every breach of the page's
/// Content-Security-Policy (`window.__progress`, `window.__progressNames`, `window.__puts`,
/// `window.__violations`).
const RECORD_UPLOADS: &str = "\
    window.__violations = []; \
    document.addEventListener('securitypolicyviolation', e => \
      window.__violations.push(e.violatedDirective + ' ' + e.blockedURI)); \
    window.__progress = []; window.__progressNames = []; window.__puts = []; \
    const open = XMLHttpRequest.prototype.open; \
    XMLHttpRequest.prototype.open = function (method, url) { \
      if (method === 'PUT') window.__puts.push(String(url)); return open.apply(this, arguments); }; \
    const root = document.querySelector('public-stats-widget').shadowRoot; const seen = new Set(); \
    new MutationObserver(changes => changes.forEach(change => { \
      if (change.type === 'attributes' && change.target.localName === 'progress') \
        window.__progress.push(change.target.value); \
      change.addedNodes.forEach(node => node.querySelectorAll && node.querySelectorAll('progress') \
        .forEach(bar => { if (!seen.has(bar)) { seen.add(bar); \
          window.__progressNames.push(bar.getAttribute('aria-label')); } })); \
    })).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['value'] });";

/// A file of `bytes` named `name` in `dir`.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// The demo page with the chat open and configured (file upload as the deployment says); every
/// frame sent and every upload recorded. Returns the session's token.
async fn open_chat(app: &TestApp, test: &str) -> (Browser, String) {
    let browser = open_demo(app, test).await;
    let w = Widget::new(&browser);
    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    browser.js(RECORD_UPLOADS, vec![]).await;
    let configured = sent(&browser, "f.action === 'configureSession'").await;
    let token = configured
        .last()
        .and_then(|frame| frame["token"].as_str())
        .expect("the chat configured its session")
        .to_owned();
    (browser, token)
}

/// Chooses `path` in the chat's file input, as the browser's file picker would.
async fn choose(w: &Widget<'_>, path: &Path) {
    w.find("#psw-chat-file")
        .await
        .send_keys(&path.to_string_lossy())
        .await
        .unwrap_or_else(|e| panic!("choosing {}: {e}", path.display()));
}

/// The session's files as the simulator holds them.
async fn sim_files(app: &TestApp, token: &str) -> Vec<Value> {
    sim_sessions(app)
        .await
        .into_iter()
        .find(|session| session["token"] == token)
        .and_then(|session| session["attachments"].as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_chosen_file_uploads_with_its_progress_and_goes_with_the_message() {
    let app = chat_app().await;
    set_deployment(&app, json!({ "fileUpload": true })).await;
    let (browser, token) = open_chat(&app, "chat-files-upload").await;
    let w = Widget::new(&browser);
    w.wait_visible("#psw-chat-attach").await;
    let dir = tempfile::tempdir().unwrap();
    let size = 1_500_000;
    let notes = file(dir.path(), "notes.txt", &vec![b'n'; size]);

    // A slow uplink (about 0.5 MB/s), so that the upload takes a few seconds to watch.
    browser.cdp("Network.enable", json!({})).await;
    browser
        .cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 500_000 }),
        )
        .await;
    choose(&w, &notes).await;
    w.wait_text_for("#psw-chat-files", "Ready to send", CHAT_WAIT)
        .await;
    browser
        .cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await;
    let recorded = browser
        .js(
            "return { values: window.__progress, names: window.__progressNames, puts: window.__puts };",
            vec![],
        )
        .await;
    assert_eq!(
        recorded["names"],
        json!(["Uploading notes.txt"]),
        "one named progress bar: {recorded}"
    );
    assert!(
        recorded["values"].as_array().is_some_and(|values| values
            .iter()
            .any(|v| v.as_f64().is_some_and(|v| v > 0.0 && v < 100.0))),
        "the progress bar never showed a part done: {recorded}"
    );
    assert_eq!(
        recorded["puts"].as_array().map(Vec::len),
        Some(1),
        "{recorded}"
    );

    // The request for the upload link, as the transport SDK sends it.
    let asked = sent(&browser, "f.action === 'onAttachment'").await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    let id = asked[0]["attachmentId"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            &asked[0]["fileName"],
            &asked[0]["fileType"],
            &asked[0]["fileSize"],
            &asked[0]["errorsAsJson"]
        ),
        (
            &json!("notes.txt"),
            &json!("text/plain"),
            &json!(size),
            &json!(true)
        ),
        "{asked:?}"
    );
    let files = sim_files(&app, &token).await;
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        (
            &files[0]["attachmentId"],
            &files[0]["state"],
            &files[0]["fileSize"],
            &files[0]["sent"]
        ),
        (&json!(id), &json!("Uploaded"), &json!(size), &json!(false)),
        "the simulator did not receive the whole file: {files:?}"
    );
    browser.screenshot("chat-file-pending").await;
    assert_no_violations(&browser, "chat with a file ready to send").await;

    // Sent with the message: the file's id in an Attachment content item.
    w.type_into("#psw-chat-input", "Here is the log").await;
    w.click("#psw-chat-send").await;
    w.wait(
        "the visitor's message with the file's link",
        "[...root.querySelectorAll('.psw-msg--guest a')].some(a => a.textContent === 'notes.txt')",
    )
    .await;
    let messages = sent(&browser, "f.action === 'onMessage' && f.message.content").await;
    assert_eq!(
        messages
            .last()
            .map(|f| (&f["message"]["text"], &f["message"]["content"])),
        Some((
            &json!("Here is the log"),
            &json!([{ "contentType": "Attachment", "attachment": { "id": id } }])
        )),
        "{messages:?}"
    );
    assert_eq!(
        w.eval("return root.querySelectorAll('.psw-file').length;")
            .await,
        json!(0),
        "the sent file is still pending"
    );
    let files = sim_files(&app, &token).await;
    assert_eq!(files[0]["sent"], json!(true), "{files:?}");
    let link = w
        .eval("const a = [...root.querySelectorAll('.psw-msg--guest a')].pop(); return [a.rel, a.target, a.href];")
        .await;
    assert_eq!(link[0], json!("noopener noreferrer"), "{link}");
    assert_eq!(link[1], json!("_blank"), "{link}");
    let downloaded = browser
        .js_async(
            "const done = arguments[1]; fetch(arguments[0]).then(r => r.text()).then(t => done(t.length), e => done(String(e)));",
            vec![link[2].clone()],
        )
        .await;
    assert_eq!(
        downloaded,
        json!(size),
        "the sent file's link does not give the file"
    );
    browser.screenshot("chat-file-sent").await;
    assert_no_violations(&browser, "chat with a file sent").await;
    // The demo page's strict policy allowed the upload, the download and the file's line.
    assert_eq!(
        browser.js("return window.__violations;", vec![]).await,
        json!([]),
        "the page's Content-Security-Policy refused something"
    );
    browser.close().await;
}

#[tokio::test]
async fn the_attach_and_remove_controls_work_with_the_keyboard_and_removing_deletes_the_file() {
    let app = chat_app().await;
    set_deployment(&app, json!({ "fileUpload": true })).await;
    let (browser, token) = open_chat(&app, "chat-files-keyboard").await;
    let w = Widget::new(&browser);
    w.wait_visible("#psw-chat-attach").await;
    assert_eq!(
        w.focused().await,
        "psw-chat-input",
        "the chat starts in the message box"
    );

    // Shift+Tab from the message box reaches the attach button, whose Enter opens the picker.
    w.eval("window.__pickerOpened = 0; $('#psw-chat-file').addEventListener('click', () => window.__pickerOpened++);")
        .await;
    browser.shift_tab().await;
    assert_eq!(w.focused().await, "psw-chat-attach");
    let focus = w
        .eval("const b = $('#psw-chat-attach'); return [b.matches(':focus-visible'), getComputedStyle(b).outlineStyle, b.getAttribute('aria-label')];")
        .await;
    assert_eq!(
        focus,
        json!([true, "solid", "Attach a file"]),
        "the attach button's focus and name"
    );
    browser.press(Key::Enter).await;
    w.wait("the file picker to open", "window.__pickerOpened === 1")
        .await;

    // The picker's choice; the focus stays on the attach button, as after a real picker.
    let dir = tempfile::tempdir().unwrap();
    choose(&w, &file(dir.path(), "photo.png", b"not really a png")).await;
    w.wait_text("#psw-chat-files", "Ready to send").await;
    let id = sent(&browser, "f.action === 'onAttachment'").await[0]["attachmentId"]
        .as_str()
        .unwrap()
        .to_owned();
    w.eval("$('#psw-chat-attach').focus();").await;

    // Shift+Tab again reaches the file's Remove button, named after the file.
    browser.shift_tab().await;
    let remove = w
        .eval("const b = root.activeElement; return b ? [b.className, b.getAttribute('aria-label'), b.matches(':focus-visible')] : null;")
        .await;
    assert_eq!(
        remove,
        json!(["psw-secondary psw-file-remove", "Remove photo.png", true]),
        "Shift+Tab from the attach button did not reach the file's Remove"
    );
    browser.screenshot("chat-file-remove-focused").await;
    browser.press(Key::Enter).await;
    w.wait(
        "the file to be gone",
        "root.querySelectorAll('.psw-file').length === 0",
    )
    .await;
    assert_eq!(
        w.focused().await,
        "psw-chat-attach",
        "the focus after removing"
    );
    let deletes = sent(&browser, "f.action === 'deleteAttachment'").await;
    assert_eq!(
        deletes
            .iter()
            .map(|f| &f["attachmentId"])
            .collect::<Vec<_>>(),
        vec![&json!(id)],
        "{deletes:?}"
    );
    let mut files = Vec::new();
    for _ in 0..50 {
        files = sim_files(&app, &token).await;
        if files.first().is_some_and(|f| f["state"] == "Deleted") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        files.first().map(|f| &f["state"]),
        Some(&json!("Deleted")),
        "{files:?}"
    );

    // Nothing goes with the next message.
    w.eval("$('#psw-chat-input').focus();").await;
    browser.type_text("Never mind").await;
    browser.press(Key::Enter).await;
    w.wait_text("#psw-chat-log", "Never mind").await;
    assert!(
        sent(&browser, "f.action === 'onMessage' && f.message.content")
            .await
            .is_empty(),
        "a removed file was sent"
    );
    browser.close().await;
}

#[tokio::test]
async fn files_outside_the_sessions_limits_are_refused_before_any_upload() {
    let app = chat_app().await;
    set_deployment(
        &app,
        json!({ "fileUpload": true, "maxFileSizeKB": 1, "allowedFileTypes": ["image/png", "text/plain"] }),
    )
    .await;
    let (browser, token) = open_chat(&app, "chat-files-refused").await;
    let w = Widget::new(&browser);
    w.wait_visible("#psw-chat-attach").await;
    let dir = tempfile::tempdir().unwrap();
    // 1 KB is 1,000 bytes.
    let refused = [
        (
            "big.txt",
            vec![b'b'; 1_001],
            "big.txt cannot be sent: files may be at most 1 kB.",
        ),
        (
            "setup.exe",
            b"MZ".to_vec(),
            "setup.exe cannot be sent: this type of file is not accepted.",
        ),
        (
            "archive.zip",
            b"PK".to_vec(),
            "archive.zip cannot be sent: this type of file is not accepted.",
        ),
        (
            "empty.txt",
            Vec::new(),
            "empty.txt cannot be sent: the file is empty.",
        ),
    ];
    for (name, bytes, message) in &refused {
        choose(&w, &file(dir.path(), name, bytes)).await;
        w.wait_text("#psw-chat-log", message).await;
    }
    assert!(
        sent(&browser, "f.action === 'onAttachment'")
            .await
            .is_empty(),
        "a refused file was presigned"
    );
    assert_eq!(
        browser.js("return window.__puts;", vec![]).await,
        json!([]),
        "a refused file was uploaded"
    );
    assert_eq!(sim_files(&app, &token).await, Vec::<Value>::new());
    assert_eq!(
        w.eval("return root.querySelectorAll('.psw-file').length;")
            .await,
        json!(0)
    );
    browser.screenshot("chat-files-refused").await;
    assert_no_violations(&browser, "chat with refused files").await;

    // Exactly at the limit is fine.
    choose(&w, &file(dir.path(), "ok.txt", &[b'o'; 1_000])).await;
    w.wait_text("#psw-chat-files", "Ready to send").await;
    assert_eq!(sent(&browser, "f.action === 'onAttachment'").await.len(), 1);

    // A file dropped onto the chat is checked and attached the same way.
    let dropped = w
        .eval(
            "const data = new DataTransfer(); \
             data.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' })); \
             const log = $('#psw-chat-log'); \
             const over = new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: data }); \
             log.dispatchEvent(over); \
             const drop = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: data }); \
             log.dispatchEvent(drop); \
             return [over.defaultPrevented, drop.defaultPrevented];",
        )
        .await;
    assert_eq!(
        dropped,
        json!([true, true]),
        "the chat does not take the drop"
    );
    w.wait(
        "the dropped file, ready",
        "root.querySelectorAll('.psw-file').length === 2 && $('#psw-chat-files').innerText.split('Ready to send').length === 3",
    )
    .await;
    let asked = sent(&browser, "f.action === 'onAttachment'").await;
    assert_eq!(
        asked.last().map(|f| &f["fileName"]),
        Some(&json!("dropped.txt")),
        "{asked:?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn failures_reported_by_the_server_are_shown() {
    let app = chat_app().await;
    set_deployment(&app, json!({ "fileUpload": true })).await;
    let (browser, token) = open_chat(&app, "chat-files-failures").await;
    let w = Widget::new(&browser);
    w.wait_visible("#psw-chat-attach").await;
    let dir = tempfile::tempdir().unwrap();

    // The storage's content check refuses it after the upload (UploadFailureEvent 4003).
    let eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    choose(&w, &file(dir.path(), "eicar.txt", eicar)).await;
    w.wait_text_for(
        "#psw-chat-log",
        "eicar.txt was refused by the security check.",
        CHAT_WAIT,
    )
    .await;
    assert_eq!(
        w.eval("return root.querySelectorAll('.psw-file').length;")
            .await,
        json!(0)
    );
    assert_eq!(
        browser.js("return window.__puts.length;", vec![]).await,
        json!(1)
    );
    let files = sim_files(&app, &token).await;
    assert_eq!(
        files.first().map(|f| &f["state"]),
        Some(&json!("Failed")),
        "{files:?}"
    );

    // The deployment stopped taking text files after the session began: the server refuses the
    // upload link (GenerateUrlError 4001) and nothing is uploaded.
    set_deployment(&app, json!({ "allowedFileTypes": ["image/png"] })).await;
    choose(&w, &file(dir.path(), "notes.txt", b"some notes")).await;
    w.wait_text_for(
        "#psw-chat-log",
        "notes.txt cannot be sent: this type of file is not accepted.",
        CHAT_WAIT,
    )
    .await;
    assert_eq!(
        browser.js("return window.__puts.length;", vec![]).await,
        json!(1),
        "a refused file was uploaded"
    );
    assert_eq!(
        w.eval("return root.querySelectorAll('.psw-file').length;")
            .await,
        json!(0)
    );

    // The upload itself fails (the network is gone): said, and the file is not kept.
    set_deployment(&app, json!({ "allowedFileTypes": ["*/*"] })).await;
    browser
        .js(
            "window.__failNextPut = true; const send = XMLHttpRequest.prototype.send; \
             XMLHttpRequest.prototype.send = function (body) { \
               if (window.__failNextPut) { window.__failNextPut = false; \
                 this.open('PUT', 'http://127.0.0.1:9/unreachable'); } \
               return send.call(this, body); };",
            vec![],
        )
        .await;
    choose(&w, &file(dir.path(), "report.pdf", b"%PDF-1.4")).await;
    w.wait_text_for(
        "#psw-chat-log",
        "report.pdf could not be uploaded. Please try again.",
        CHAT_WAIT,
    )
    .await;
    assert_eq!(
        w.eval("return root.querySelectorAll('.psw-file').length;")
            .await,
        json!(0)
    );
    browser.screenshot("chat-file-failures").await;
    assert_no_violations(&browser, "chat with failed uploads").await;
    browser.close().await;
}

#[tokio::test]
async fn the_agents_files_show_as_a_thumbnail_or_a_link_and_expired_links_are_renewed() {
    let app = chat_app().await;
    let (browser, token) = open_chat(&app, "chat-files-agent").await;
    let w = Widget::new(&browser);
    // A conversation, so that the chat resumes after a reload.
    w.type_into("#psw-chat-input", "Can you send me the plan?")
        .await;
    w.click("#psw-chat-send").await;
    w.wait_text("#psw-chat-log", "Can you send me the plan?")
        .await;

    let files = format!("/__sim/webmessaging/sessions/{token}/files");
    let image = sim_post(&app, &files, Some(json!({ "text": "The plan" }))).await;
    assert_eq!(image.status().as_u16(), 200);
    let image = image.json::<Value>().await.unwrap();
    let image_id = image["content"][0]["attachment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let image_url = image["content"][0]["attachment"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let notes = sim_post(
        &app,
        &files,
        Some(json!({ "fileName": "notes.txt", "fileType": "text/plain",
                     "data": "TWVldGluZyBub3RlczogYnJpbmcgdGhlIGludm9pY2Uu" })),
    )
    .await;
    assert_eq!(notes.status().as_u16(), 200);
    let notes = notes.json::<Value>().await.unwrap();
    let notes_id = notes["content"][0]["attachment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notes_url = notes["content"][0]["attachment"]["url"]
        .as_str()
        .unwrap()
        .to_owned();

    let thumbnail = "(() => { const i = root.querySelector('.psw-msg--agent a img'); \
                     return i && i.complete && i.naturalWidth > 0 ? i : null; })()";
    w.wait_for(
        "the agent's picture as a thumbnail",
        &format!("!!{thumbnail}"),
        CHAT_WAIT,
    )
    .await;
    w.wait_text("#psw-chat-log", "notes.txt").await;
    let shown = w
        .eval(
            "const links = [...root.querySelectorAll('.psw-msg--agent a')]; \
             return links.map(a => ({ text: a.textContent, rel: a.rel, target: a.target, \
               href: a.href, img: a.querySelector('img') && a.querySelector('img').alt }));",
        )
        .await;
    assert_eq!(
        shown,
        json!([
            { "text": "", "rel": "noopener noreferrer", "target": "_blank", "href": image_url, "img": "sample.png" },
            { "text": "notes.txt", "rel": "noopener noreferrer", "target": "_blank", "href": notes_url, "img": null },
        ]),
        "the agent's files"
    );
    browser.screenshot("chat-files-from-the-agent").await;
    assert_no_violations(&browser, "chat with the agent's picture and file").await;

    // Eleven minutes later (the links last ten): choosing the file renews its link first.
    let expired = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/attachments/{notes_id}/expire-links"),
        None,
    )
    .await;
    assert_eq!(expired.status().as_u16(), 204);
    browser
        .js(
            "window.__opened = []; window.open = (...args) => { window.__opened.push(args); return null; }; \
             const now = Date.now; Date.now = () => now() + 11 * 60 * 1000;",
            vec![],
        )
        .await;
    w.click(".psw-msg--agent a[href*='notes.txt']").await;
    let opened = w
        .wait(
            "the renewed link to open",
            "window.__opened.length > 0 && window.__opened[0]",
        )
        .await;
    let renewals = sent(&browser, "f.action === 'getAttachment'").await;
    assert_eq!(
        renewals
            .iter()
            .map(|f| &f["attachmentId"])
            .collect::<Vec<_>>(),
        vec![&json!(notes_id)],
        "{renewals:?}"
    );
    assert_eq!(opened[1], json!("_blank"), "{opened}");
    assert_eq!(opened[2], json!("noopener,noreferrer"), "{opened}");
    let renewed = opened[0].as_str().unwrap().to_owned();
    assert_ne!(renewed, notes_url);
    let fetch = "const done = arguments[1]; fetch(arguments[0]).then(r => r.text().then(t => done([r.status, t])), e => done(String(e)));";
    assert_eq!(
        browser.js_async(fetch, vec![json!(renewed)]).await,
        json!([200, "Meeting notes: bring the invoice."]),
        "the renewed link"
    );
    let old = browser.js_async(fetch, vec![json!(notes_url)]).await;
    // Expired, then forgotten once a new one was issued: 404 or 403, dead either way.
    assert!(
        old[0].as_u64().is_some_and(|status| status >= 400),
        "the old link still works: the test proves nothing: {old}"
    );
    assert_eq!(
        w.eval("return root.querySelector(\".psw-msg--agent a[href*='notes.txt']\").href;")
            .await,
        json!(renewed),
        "the link keeps its renewed address"
    );

    // The picture's link expires too; after a reload the history shows the old link, whose
    // thumbnail fails to load and is renewed.
    let expired = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/attachments/{image_id}/expire-links"),
        None,
    )
    .await;
    assert_eq!(expired.status().as_u16(), 204);
    browser.reload().await;
    w.wait_ready().await;
    w.wait_for(
        "the thumbnail, renewed",
        &format!("!!{thumbnail}"),
        CHAT_WAIT,
    )
    .await;
    let src = w
        .eval("return root.querySelector('.psw-msg--agent a img').src;")
        .await;
    assert_ne!(
        src,
        json!(image_url),
        "the thumbnail shows the expired link"
    );
    browser.close().await;
}
