//! Chat details: what the guest and the agent write is shown as text, never
//! parsed as HTML, and the agent's typing indicator shows before its answer. Then the chat against
//! Web Messaging as Genesys's transport SDK shows it behaves (the simulator follows the SDK's
//! samples): the deployment's config.json decides what is offered, a disconnect is read-only only
//! when flagged, errors fail the oldest pending send, lost sessions start anew, a new chat after a
//! read-only one closes the session first, messages without text are shown, and the visitor is
//! warned before the session expires.

use std::time::Duration;

use serde_json::{Value, json};

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Viewport};
use crate::helpers::{DEMO_SUPPORT_QUEUE, TestApp, spawn_app};
use crate::widget::Widget;

/// Dispatch on the model's tick, then the simulated agent's typing delay.
pub(crate) const CHAT_WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn chat_text_is_never_html_and_the_agent_is_seen_typing() {
    let app = spawn_app().await;
    app.set_queue(DEMO_SUPPORT_QUEUE, json!({ "agents": { "idle": 3 } }))
        .await;
    let resumed = app
        .sim_control(
            reqwest::Method::POST,
            &format!("/__sim/queues/{DEMO_SUPPORT_QUEUE}/resume"),
            None,
        )
        .await;
    assert_eq!(resumed.status().as_u16(), 204, "resuming the Support queue");
    let browser = Browser::launch("chat-text", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_text("#psw-chat-status", "Send a message").await;

    // Records every text the typing line shows, however briefly.
    w.eval(
        "window.__typingSeen = []; const t = $('#psw-chat-typing'); \
         new MutationObserver(() => window.__typingSeen.push(t.textContent)) \
           .observe(t, { childList: true, characterData: true, subtree: true });",
    )
    .await;

    // Markup from the guest, then echoed back by the agent (its canned answers quote the guest).
    let markup = "<img src=x onerror=alert(1)>";
    w.type_into("#psw-chat-input", markup).await;
    w.click("#psw-chat-send").await;
    w.wait_text("#psw-chat-log", markup).await;
    w.wait_text_for(".psw-msg--agent", "", CHAT_WAIT).await;
    let second = "<b>bold</b><script>window.__xss = 1</script>";
    w.type_into("#psw-chat-input", second).await;
    w.click("#psw-chat-send").await;
    w.wait_for(
        "the agent's answer quoting the markup",
        &format!(
            "[...root.querySelectorAll('.psw-msg--agent')].some(m => m.textContent.includes({}))",
            json!(second)
        ),
        CHAT_WAIT,
    )
    .await;
    let log = w
        .eval(
            "const log = $('#psw-chat-log'); return { elements: [...log.querySelectorAll('*')] \
               .map(e => e.localName).filter(n => n !== 'p' && n !== 'span'), \
               guest: [...log.querySelectorAll('.psw-msg--guest')].map(m => m.textContent), \
               xss: window.__xss === undefined ? null : window.__xss };",
        )
        .await;
    assert_eq!(
        log["elements"],
        json!([]),
        "chat text became elements: {log}"
    );
    assert_eq!(log["xss"], json!(null), "chat text ran as script: {log}");
    for text in [markup, second] {
        assert!(
            log["guest"].as_array().is_some_and(|g| g
                .iter()
                .any(|m| m.as_str().is_some_and(|m| m.ends_with(text)))),
            "the guest's message is not shown as the text typed, {text}: {log}"
        );
    }

    // The agent typed before each answer; the line is empty once the answer is there.
    let seen = browser.js("return window.__typingSeen;", vec![]).await;
    assert!(
        seen.as_array().is_some_and(|s| s
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.contains("is typing")))),
        "the agent's typing indicator never showed: {seen}"
    );
    assert_eq!(
        w.text("#psw-chat-typing").await,
        "",
        "the typing indicator stayed after the answer"
    );
    browser.screenshot("chat-markup-as-text").await;
    assert_no_violations(&browser, "chat with markup as text").await;
    browser.close().await;
}

/// The service in sandbox mode with free agents in the messaging queue, moving.
pub(crate) async fn chat_app() -> TestApp {
    let app = spawn_app().await;
    app.set_queue(DEMO_SUPPORT_QUEUE, json!({ "agents": { "idle": 3 } }))
        .await;
    let resumed = app
        .sim_control(
            reqwest::Method::POST,
            &format!("/__sim/queues/{DEMO_SUPPORT_QUEUE}/resume"),
            None,
        )
        .await;
    assert_eq!(resumed.status().as_u16(), 204, "resuming the Support queue");
    app
}

/// Changes the sandbox deployment's settings (`PUT /__sim/webmessaging/deployments/{id}`).
pub(crate) async fn set_deployment(app: &TestApp, settings: Value) {
    let id = app.sim().org().deployment_id;
    let response = app
        .sim_control(
            reqwest::Method::PUT,
            &format!("/__sim/webmessaging/deployments/{id}"),
            Some(settings),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "changing the deployment");
}

pub(crate) async fn sim_post(app: &TestApp, path: &str, body: Option<Value>) -> reqwest::Response {
    app.sim_control(reqwest::Method::POST, path, body).await
}

pub(crate) async fn sim_sessions(app: &TestApp) -> Vec<Value> {
    app.sim_control(reqwest::Method::GET, "/__sim/webmessaging/sessions", None)
        .await
        .json::<Value>()
        .await
        .expect("sessions JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The demo page, with every frame the page sends on a WebSocket and the order of the
/// config.json fetch and the chat socket recorded (`window.__sent`, `window.__order`).
pub(crate) async fn open_demo(app: &TestApp, test: &str) -> Browser {
    let browser = Browser::launch(test, Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    record_traffic(&browser).await;
    browser
}

pub(crate) async fn record_traffic(browser: &Browser) {
    browser
        .js(
            "if (window.__sent) return; window.__sent = []; window.__order = []; \
             const send = WebSocket.prototype.send; \
             WebSocket.prototype.send = function (data) { window.__sent.push(JSON.parse(data)); return send.call(this, data); }; \
             const Socket = window.WebSocket; \
             window.WebSocket = function (url, protocols) { if (String(url).includes('deploymentId')) window.__order.push('socket'); return new Socket(url, protocols); }; \
             window.WebSocket.prototype = Socket.prototype; \
             const get = window.fetch; \
             window.fetch = function (url, init) { if (String(url).includes('config.json')) window.__order.push('config'); return get.call(this, url, init); };",
            vec![],
        )
        .await;
}

/// The frames the page sent with this `action` (and message event, if given).
pub(crate) async fn sent(browser: &Browser, filter: &str) -> Vec<Value> {
    browser
        .js(
            &format!("return window.__sent.filter(f => {filter});"),
            vec![],
        )
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The Web Messaging token the widget keeps in localStorage.
pub(crate) async fn saved_token(browser: &Browser) -> String {
    browser
        .js(
            "const key = Object.keys(localStorage).find(k => k.startsWith('psw-wm-')); \
             return key ? JSON.parse(localStorage.getItem(key)).t : null;",
            vec![],
        )
        .await
        .as_str()
        .expect("a saved chat token")
        .to_owned()
}

/// In the open chooser: starts the chat, sends `text` and waits for the agent's greeting.
pub(crate) async fn chat_until_greeted(w: &Widget<'_>, text: &str) {
    w.click("#psw-tile-chat").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    w.type_into("#psw-chat-input", text).await;
    w.click("#psw-chat-send").await;
    w.wait_text("#psw-chat-log", text).await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
}

const TYPING_FRAMES: &str = "f.action === 'onMessage' && f.message.type === 'Event' && f.message.events[0].eventType === 'Typing'";

#[tokio::test]
async fn the_deployment_config_decides_typing_end_chat_and_what_a_disconnect_means() {
    let app = chat_app().await;
    set_deployment(
        &app,
        json!({
            "showUserTypingIndicator": false, "conversationClear": false,
            "conversationDisconnect": { "enabled": true, "type": "Send" },
        }),
    )
    .await;
    let browser = open_demo(&app, "chat-deployment-settings").await;
    let w = Widget::new(&browser);
    w.open().await;
    chat_until_greeted(&w, "Hello, settings").await;
    let order = browser.js("return window.__order;", vec![]).await;
    assert_eq!(
        order,
        json!(["config", "socket"]),
        "config.json must be read before the socket opens"
    );

    // Typing is not sent (Genesys would answer 403), and no error shows while the visitor types.
    w.type_into("#psw-chat-input", "typing for a while").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent(&browser, TYPING_FRAMES).await, Vec::<Value>::new());
    assert!(
        !w.text("#psw-chat-log").await.contains("could not be sent"),
        "typing produced an error"
    );
    // No Clear allowed: no "End chat", only "Back".
    assert_eq!(w.text("#psw-chat-end").await, "Back");

    // The agent leaves, not read-only: the visitor keeps writing, which starts a new conversation.
    let token = saved_token(&browser).await;
    let ended = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/disconnect"),
        None,
    )
    .await;
    assert_eq!(ended.status().as_u16(), 200);
    w.wait_text("#psw-chat-log", "The agent has left the chat.")
        .await;
    assert!(w.is_visible("#psw-chat-input").await, "the chat was locked");
    assert!(!w.is_visible("#psw-chat-ended").await, "the chat was ended");
    browser.screenshot("chat-agent-left").await;
    assert_no_violations(&browser, "chat after the agent left (not read-only)").await;
    w.type_into("#psw-chat-input", "One more question").await;
    w.click("#psw-chat-send").await;
    w.wait_for(
        "the agent's answer to the text after the disconnect",
        "[...root.querySelectorAll('.psw-msg--agent')].some(m => m.innerText.includes('One more question'))",
        CHAT_WAIT,
    )
    .await;

    // With every setting on, typing is sent (at most every 5 s) and "End chat" is offered.
    set_deployment(
        &app,
        json!({ "showUserTypingIndicator": true, "conversationClear": true }),
    )
    .await;
    browser.reload().await;
    w.wait_ready().await;
    record_traffic(&browser).await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    assert_eq!(w.text("#psw-chat-end").await, "End chat");
    w.type_into("#psw-chat-input", "typing").await;
    w.wait(
        "a typing event",
        &format!("window.__sent.some(f => {TYPING_FRAMES})"),
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn an_inactive_deployment_offers_no_chat_and_the_visitor_is_warned_before_expiry() {
    let app = chat_app().await;
    set_deployment(&app, json!({ "status": "Inactive" })).await;
    let browser = open_demo(&app, "chat-inactive-and-expiry").await;
    let w = Widget::new(&browser);
    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_text("#psw-chat-status", "Chat is not available right now.")
        .await;
    assert!(!w.is_visible("#psw-chat-input").await);
    let order = browser.js("return window.__order;", vec![]).await;
    assert_eq!(order, json!(["config"]), "a socket was opened: {order}");
    w.click("#psw-chat-end").await;

    // Active again, with sessions that live less than the 5-minute notice: the warning shows
    // once a conversation is going.
    set_deployment(
        &app,
        json!({ "status": "Active", "sessionDurationSeconds": 200 }),
    )
    .await;
    chat_until_greeted(&w, "Will this expire?").await;
    w.wait_text("#psw-chat-log", "This chat will end soon")
        .await;
    browser.screenshot("chat-expiry-warning").await;
    // The session expires: the chat ends.
    let token = saved_token(&browser).await;
    let expired = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/expire"),
        None,
    )
    .await;
    assert_eq!(expired.status().as_u16(), 204);
    w.wait_visible("#psw-chat-ended").await;
    w.wait_text("#psw-chat-ended", "Your chat session expired")
        .await;
    assert_no_violations(&browser, "chat ended by the session's expiry").await;
    browser.close().await;
}

#[tokio::test]
async fn errors_fail_the_oldest_pending_send_and_lost_sessions_start_anew() {
    let app = chat_app().await;
    let browser = open_demo(&app, "chat-errors").await;
    let w = Widget::new(&browser);
    w.open().await;
    chat_until_greeted(&w, "Hello, errors").await;

    // Eleven sends in one go: the simulator takes ten a second, and its 429 names no message;
    // the one not confirmed (the last) is failed and its text comes back.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    w.eval(
        "const input = $('#psw-chat-input'); \
         for (let n = 1; n <= 11; n++) { input.value = 'burst ' + n; $('#psw-chat-send').click(); }",
    )
    .await;
    w.wait_text("#psw-chat-log", "You are sending messages too quickly")
        .await;
    w.wait(
        "the refused text back in the message box",
        "$('#psw-chat-input').value === 'burst 11'",
    )
    .await;
    assert!(w.text("#psw-chat-log").await.contains("burst 10"));

    // The session is lost while the visitor is away (4007 on configureSession): a new one.
    let lost = saved_token(&browser).await;
    browser.goto("about:blank").await;
    let forgot = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{lost}/forget"),
        None,
    )
    .await;
    assert_eq!(forgot.status().as_u16(), 204);
    // The chat was active, so the page resumes it at once.
    browser.goto(&app.url("/")).await;
    w.wait_ready().await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    let fresh = saved_token(&browser).await;
    assert_ne!(fresh, lost, "the lost token was kept");
    // Expired while away (4006): the same.
    browser.goto("about:blank").await;
    let expired = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{fresh}/expire"),
        None,
    )
    .await;
    assert_eq!(expired.status().as_u16(), 204);
    browser.goto(&app.url("/")).await;
    w.wait_ready().await;
    browser
        .js("window.publicStatsWidget.open('chat');", vec![])
        .await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    assert_ne!(
        saved_token(&browser).await,
        fresh,
        "the expired token was kept"
    );
    w.type_into("#psw-chat-input", "After the expiry").await;
    w.click("#psw-chat-send").await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_new_chat_after_a_read_only_one_closes_the_session_then_starts_anew() {
    let app = chat_app().await;
    let browser = open_demo(&app, "chat-new-after-read-only").await;
    let w = Widget::new(&browser);
    w.open().await;
    chat_until_greeted(&w, "Before the disconnect").await;
    let token = saved_token(&browser).await;
    let ended = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/disconnect"),
        None,
    )
    .await;
    assert_eq!(ended.status().as_u16(), 200);
    w.wait_visible("#psw-chat-ended").await;
    w.click("#psw-chat-new").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    let sequence = sent(
        &browser,
        "f.action === 'closeSession' || f.action === 'configureSession'",
    )
    .await;
    let tail: Vec<Value> = sequence
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|f| json!([f["action"], f["closeAllConnections"], f["startNew"]]))
        .collect();
    assert_eq!(
        tail,
        vec![
            json!(["closeSession", true, null]),
            json!(["configureSession", null, true])
        ],
        "not the transport SDK's sequence: {sequence:?}"
    );
    assert_eq!(
        saved_token(&browser).await,
        token,
        "startNew keeps the token"
    );
    w.type_into("#psw-chat-input", "A new question").await;
    w.click("#psw-chat-send").await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    let sessions = sim_sessions(&app).await;
    let texts: Vec<&str> = sessions[0]["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["text"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        !texts.contains(&"Before the disconnect") && texts.contains(&"A new question"),
        "the new chat is not a new session: {texts:?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn attachments_cards_and_quick_replies_are_shown_answerable_and_not_repeated() {
    let app = chat_app().await;
    // Auto-start: the conversation starts (and the agent greets) as soon as the chat opens.
    set_deployment(&app, json!({ "autoStart": true })).await;
    let browser = open_demo(&app, "chat-structured").await;
    let w = Widget::new(&browser);
    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    let joins = sent(&browser, "f.action === 'onMessage' && f.message.type === 'Event' && f.message.events[0].presence && f.message.events[0].presence.type === 'Join'").await;
    assert_eq!(joins.len(), 1, "auto-start sends one Join: {joins:?}");

    let token = saved_token(&browser).await;
    let path = format!("/__sim/webmessaging/sessions/{token}/messages");
    // The transport SDK's samples: `onMessageWithAttachment`, `onMessageWithPostbackCardReply`,
    // `onMessageWithQuickReplies`.
    let messages = [
        json!({ "type": "Text", "originatingEntity": "Human", "content": [{ "contentType": "Attachment",
            "attachment": { "id": "a1", "filename": "invoice.pdf", "mediaType": "File", "url": "https://files.example.com/invoice.pdf" } }] }),
        json!({ "type": "Structured", "content": [{ "contentType": "Card", "card": { "title": "Premium plan",
            "description": "All features", "actions": [
                { "type": "Link", "text": "Details", "url": "https://example.com/plans" },
                { "type": "Postback", "text": "Choose premium", "payload": "premium" }] } }] }),
        json!({ "type": "Structured", "text": "Did that help?", "content": [
            { "contentType": "QuickReply", "quickReply": { "text": "Yes", "payload": "yes" } },
            { "contentType": "QuickReply", "quickReply": { "text": "No", "payload": "no" } }] }),
    ];
    // All three in one millisecond, as a bot's burst can be: the history must still show each once.
    let same_millisecond = "2026-01-05T10:00:00.000Z";
    for mut message in messages {
        message["time"] = json!(same_millisecond);
        let response = sim_post(&app, &path, Some(message)).await;
        assert_eq!(response.status().as_u16(), 200);
    }
    w.wait_text("#psw-chat-log", "Did that help?").await;
    // Cards are drawn by chat-rich.js, loaded with the first one.
    w.wait("the card", "$('.psw-card')").await;
    let shown = w
        .eval(
            "const log = $('#psw-chat-log'); return { \
               links: [...log.querySelectorAll('a')].map(a => [a.textContent, a.href]), \
               buttons: [...log.querySelectorAll('button')].map(b => b.textContent), \
               text: log.innerText };",
        )
        .await;
    assert_eq!(
        shown["links"],
        json!([
            ["invoice.pdf", "https://files.example.com/invoice.pdf"],
            ["Details", "https://example.com/plans"]
        ]),
        "{shown}"
    );
    assert_eq!(
        shown["buttons"],
        json!(["Choose premium", "Yes", "No"]),
        "{shown}"
    );
    assert!(
        shown["text"]
            .as_str()
            .is_some_and(|t| t.contains("Premium plan") && t.contains("All features")),
        "{shown}"
    );
    browser.screenshot("chat-structured-messages").await;
    assert_no_violations(
        &browser,
        "chat with an attachment, a card and quick replies",
    )
    .await;

    // A quick reply answers with an empty Text and a ButtonResponse; the visitor sees its label.
    w.eval("[...$('#psw-chat-log').querySelectorAll('button')].find(b => b.textContent === 'Yes').click();")
        .await;
    w.wait(
        "the visitor's answer in the log",
        "[...root.querySelectorAll('.psw-msg--guest')].some(m => m.innerText.includes('Yes'))",
    )
    .await;
    let answers = sent(&browser, "f.action === 'onMessage' && f.message.content").await;
    let answer = answers.last().cloned().unwrap_or_default();
    let mut button = answer["message"]["content"][0]["buttonResponse"].clone();
    // The message the quick replies came in, as the transport SDK names it.
    let origin = button
        .as_object_mut()
        .and_then(|b| b.remove("originatingMessageId"));
    assert!(origin.is_some_and(|o| o.is_string()), "{answer}");
    assert_eq!(
        (
            &answer["message"]["type"],
            &answer["message"]["text"],
            &button
        ),
        (
            &json!("Text"),
            &json!(""),
            &json!({ "text": "Yes", "payload": "yes", "type": "QuickReply" })
        ),
        "{answers:?}"
    );
    // A card's postback is a Structured message.
    w.eval("[...$('#psw-chat-log').querySelectorAll('button')].find(b => b.textContent === 'Choose premium').click();")
        .await;
    w.wait(
        "the postback in the log",
        "[...root.querySelectorAll('.psw-msg--guest')].some(m => m.innerText.includes('Choose premium'))",
    )
    .await;
    let answers = sent(
        &browser,
        "f.action === 'onMessage' && f.message.type === 'Structured'",
    )
    .await;
    assert_eq!(answers.len(), 1, "{answers:?}");

    // After a reload the history brings them back once each.
    let count = "return $('#psw-chat-log').querySelectorAll('.psw-msg').length;";
    w.wait_for(
        "the agent's answers to both",
        "root.querySelectorAll('.psw-msg--agent').length >= 6",
        CHAT_WAIT,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = w.eval(count).await;
    browser.reload().await;
    w.wait_ready().await;
    w.wait_text_for("#psw-chat-log", "Did that help?", CHAT_WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        w.eval(count).await,
        before,
        "the history repeated or lost messages"
    );
    browser.close().await;
}
