//! The chat session around the messages: two tabs of one browser share one guest connection
//! (the tab holding the Web Lock owns the socket, the others mirror it over a BroadcastChannel,
//! and the next one takes over when it closes); the end states said clearly (expiry, a clear from
//! another tab or the server, a deployment switched off); the site's pre-chat form, whose
//! answers reach the simulator as custom attributes; and what makes a reply noticed while the
//! chat is not in view (the page title's count, an optional tone).

use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::wd::WindowHandle;
use serde_json::{Value, json};

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Viewport};
use crate::chat::{
    CHAT_WAIT, chat_app, chat_until_greeted, open_demo, record_traffic, saved_token, sent,
    set_deployment, sim_post, sim_sessions,
};
use crate::helpers::TestApp;
use crate::host::HostPages;
use crate::widget::Widget;

/// `[token, open sockets]` of every simulator session.
async fn connections(app: &TestApp) -> Vec<(String, u64)> {
    sim_sessions(app)
        .await
        .iter()
        .map(|s| {
            (
                s["token"].as_str().unwrap_or_default().to_owned(),
                s["connections"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Polls the simulator until the session `token` has `count` open sockets (and no other session
/// has any); fails with what it saw.
async fn wait_connections(app: &TestApp, token: &str, count: u64) {
    let deadline = tokio::time::Instant::now() + CHAT_WAIT;
    loop {
        let seen = connections(app).await;
        let open: Vec<&(String, u64)> = seen.iter().filter(|(_, n)| *n > 0).collect();
        let want = count == 0 && open.is_empty()
            || open.len() == 1 && open[0].0 == token && open[0].1 == count;
        if want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {count} socket(s) on session {token}, the simulator has {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn to_tab(browser: &Browser, tab: &WindowHandle) {
    browser
        .client
        .switch_to_window(tab.clone())
        .await
        .expect("switching tabs");
}

/// A new tab of the same browser, showing `url`, made the current one.
async fn open_tab(browser: &Browser, url: &str) -> WindowHandle {
    let tab = browser
        .client
        .new_window(true)
        .await
        .expect("a new tab")
        .handle;
    to_tab(browser, &tab).await;
    browser.goto(url).await;
    tab
}

/// How many of the log's guest (or agent) messages contain `text`.
async fn count_messages(w: &Widget<'_>, class: &str, text: &str) -> u64 {
    w.eval(&format!(
        "return [...root.querySelectorAll('.{class}')].filter(m => m.innerText.includes({})).length;",
        json!(text)
    ))
    .await
    .as_u64()
    .unwrap_or(0)
}

async fn send_text(w: &Widget<'_>, text: &str) {
    w.type_into("#psw-chat-input", text).await;
    w.click("#psw-chat-send").await;
}

/// Waits for the agent's answer quoting `text` (its canned answers quote the guest).
async fn wait_answer(w: &Widget<'_>, text: &str) {
    w.wait_for(
        &format!("the agent's answer to '{text}'"),
        &format!(
            "[...root.querySelectorAll('.psw-msg--agent')].some(m => m.innerText.includes({}))",
            json!(text)
        ),
        CHAT_WAIT,
    )
    .await;
}

#[tokio::test]
async fn two_tabs_share_one_connection_and_the_next_takes_over_when_the_first_closes() {
    let app = chat_app().await;
    let browser = open_demo(&app, "chat-two-tabs").await;
    let w = Widget::new(&browser);
    w.open().await;
    chat_until_greeted(&w, "Hello from the first tab").await;
    let token = saved_token(&browser).await;
    let first = browser.client.window().await.expect("the first tab");
    wait_connections(&app, &token, 1).await;

    // The second tab resumes the active chat through the first one's connection: the same
    // conversation, no socket of its own.
    let second = open_tab(&browser, &app.url("/")).await;
    w.wait_ready().await;
    record_traffic(&browser).await;
    w.open().await;
    w.wait_text_for("#psw-chat-log", "Hello from the first tab", CHAT_WAIT)
        .await;
    wait_answer(&w, "Hello from the first tab").await;
    w.wait_text("#psw-chat-status", "You are chatting with")
        .await;
    assert_eq!(saved_token(&browser).await, token, "the second tab's token");
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_connections(&app, &token, 1).await;
    browser.screenshot("second-tab-same-conversation").await;

    // Sent from either tab, shown once in both.
    send_text(&w, "Written in the second tab").await;
    wait_answer(&w, "Written in the second tab").await;
    to_tab(&browser, &first).await;
    wait_answer(&w, "Written in the second tab").await;
    send_text(&w, "Written in the first tab").await;
    wait_answer(&w, "Written in the first tab").await;
    to_tab(&browser, &second).await;
    wait_answer(&w, "Written in the first tab").await;
    for tab in [&second, &first] {
        to_tab(&browser, tab).await;
        for text in [
            "Hello from the first tab",
            "Written in the second tab",
            "Written in the first tab",
        ] {
            assert_eq!(
                count_messages(&w, "psw-msg--guest", text).await,
                1,
                "'{text}' is not shown exactly once in a tab"
            );
        }
    }
    let own_sockets = browser
        .js(
            "return window.__order.filter(o => o === 'socket').length;",
            vec![],
        )
        .await;
    assert_eq!(
        own_sockets,
        json!(1),
        "the first tab opened other sockets than its one"
    );
    to_tab(&browser, &second).await;
    let own_sockets = browser
        .js(
            "return window.__order.filter(o => o === 'socket').length;",
            vec![],
        )
        .await;
    assert_eq!(
        own_sockets,
        json!(0),
        "the second tab opened a guest socket of its own"
    );
    wait_connections(&app, &token, 1).await;

    // The first tab closes: its lock goes, the second connects with the saved token and goes on.
    to_tab(&browser, &first).await;
    browser
        .client
        .close_window()
        .await
        .expect("closing the first tab");
    to_tab(&browser, &second).await;
    w.wait(
        "the second tab to open the guest socket",
        "window.__order.includes('socket')",
    )
    .await;
    wait_connections(&app, &token, 1).await;
    assert_eq!(
        saved_token(&browser).await,
        token,
        "the handover changed the token"
    );
    send_text(&w, "After the handover").await;
    wait_answer(&w, "After the handover").await;
    assert_eq!(
        count_messages(&w, "psw-msg--guest", "Written in the first tab").await,
        1,
        "the handover repeated the conversation"
    );
    browser.screenshot("after-the-handover").await;
    browser.close().await;
}

#[tokio::test]
async fn without_locks_each_tab_keeps_its_own_connection() {
    let app = chat_app().await;
    let browser = Browser::launch("chat-two-tabs-no-locks", Viewport::Desktop).await;
    // A browser without Web Locks, from every page's first script on.
    let hide_locks = json!({ "source":
        "Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });" });
    browser
        .cdp("Page.addScriptToEvaluateOnNewDocument", hide_locks.clone())
        .await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    w.open().await;
    chat_until_greeted(&w, "Hello without locks").await;
    let token = saved_token(&browser).await;
    let tab = browser
        .client
        .new_window(true)
        .await
        .expect("a new tab")
        .handle;
    to_tab(&browser, &tab).await;
    browser
        .cdp("Page.addScriptToEvaluateOnNewDocument", hide_locks)
        .await;
    browser.goto(&app.url("/")).await;
    w.wait_ready().await;
    w.open().await;
    w.wait_text_for("#psw-chat-log", "Hello without locks", CHAT_WAIT)
        .await;
    // As before: each tab its own socket on the same session.
    wait_connections(&app, &token, 2).await;
    send_text(&w, "Second tab, own socket").await;
    wait_answer(&w, "Second tab, own socket").await;
    browser.close().await;
}

#[tokio::test]
async fn expiry_a_clear_and_a_deployment_switched_off_are_each_said_clearly() {
    let app = chat_app().await;
    let browser = open_demo(&app, "chat-end-states").await;
    let w = Widget::new(&browser);
    browser
        .js(
            "window.__ended = []; window.publicStatsWidget.on('chatended', d => window.__ended.push(d));",
            vec![],
        )
        .await;
    w.open().await;
    chat_until_greeted(&w, "Will it expire?").await;

    // Expired: said, and a new chat offered.
    let token = saved_token(&browser).await;
    let expired = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/expire"),
        None,
    )
    .await;
    assert_eq!(expired.status().as_u16(), 204);
    w.wait_text(
        "#psw-chat-ended",
        "Your chat session expired after a period of inactivity.",
    )
    .await;
    assert!(w.is_visible("#psw-chat-new").await);
    browser.screenshot("expired").await;
    assert_no_violations(&browser, "chat expired").await;
    let ended = browser.js("return window.__ended;", vec![]).await;
    assert_eq!(ended, json!([{ "by": "expired" }]));

    // Cleared by the visitor in another tab: this one says it was cleared; that one, ended.
    w.click("#psw-chat-new").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    send_text(&w, "A conversation to clear").await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    let first = browser.client.window().await.expect("the first tab");
    let second = open_tab(&browser, &app.url("/")).await;
    w.wait_ready().await;
    w.open().await;
    w.wait_text_for("#psw-chat-log", "A conversation to clear", CHAT_WAIT)
        .await;
    w.wait_text("#psw-chat-end", "End chat").await;
    w.click("#psw-chat-end").await;
    w.wait_text("#psw-chat-ended", "The chat has ended.").await;
    to_tab(&browser, &first).await;
    w.wait_text("#psw-chat-ended", "This conversation was cleared.")
        .await;
    browser.screenshot("cleared-in-another-tab").await;
    assert_no_violations(&browser, "chat cleared in another tab").await;

    // Cleared by the server: the same words.
    browser.client.close_window().await.expect("closing a tab");
    to_tab(&browser, &second).await;
    w.click("#psw-chat-new").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    send_text(&w, "Cleared from afar").await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    let token = saved_token(&browser).await;
    let cleared = sim_post(
        &app,
        &format!("/__sim/webmessaging/sessions/{token}/clear"),
        None,
    )
    .await;
    assert_eq!(cleared.status().as_u16(), 204);
    w.wait_text("#psw-chat-ended", "This conversation was cleared.")
        .await;

    // The deployment is switched off mid-chat: said, and no way to write on.
    w.click("#psw-chat-new").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    send_text(&w, "Before the switch-off").await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    set_deployment(&app, json!({ "status": "Inactive" })).await;
    w.wait_text_for(
        "#psw-chat-status",
        "Chat is not available right now.",
        CHAT_WAIT,
    )
    .await;
    w.wait_text("#psw-chat-log", "Chat has been switched off.")
        .await;
    assert!(
        !w.is_visible("#psw-chat-input").await,
        "the visitor can still write"
    );
    assert_eq!(
        w.text("#psw-chat-end").await,
        "Back",
        "a chat that cannot go on offers its end"
    );
    browser.screenshot("deployment-switched-off").await;
    assert_no_violations(&browser, "chat with the deployment switched off").await;
    browser.close().await;
}

/// A page with the sandbox's deployment and a pre-chat form of three fields.
fn pre_chat_page(app: &TestApp, pages: &HostPages) -> String {
    pre_chat_page_in(app, pages, "en")
}

fn pre_chat_page_in(app: &TestApp, pages: &HostPages, locale: &str) -> String {
    pages.configured(&json!({ "locale": locale, "webMessaging": {
        "deploymentId": app.sim().org().deployment_id.to_string(),
        "url": "/sandbox/genesys/v1",
        "preChat": { "fields": [
            { "name": "name", "label": { "en": "Your name", "de": "Ihr Name" }, "type": "text", "required": true },
            { "name": "email", "label": "Email", "type": "email", "required": true },
            { "name": "orderNumber", "label": { "en": "Order number" }, "type": "text" },
        ] },
    } }))
}

async fn press_keys(browser: &Browser, keys: &[Key]) {
    for key in keys {
        browser.press(*key).await;
    }
}

/// The errors of the form's fields: `[input id, aria-invalid, the text its aria-describedby
/// names]`.
async fn field_errors(w: &Widget<'_>) -> Value {
    w.eval(
        "return [...$('#psw-prechat').querySelectorAll('input')].map(i => [i.id, \
           i.getAttribute('aria-invalid'), \
           (i.getAttribute('aria-describedby') || '').split(' ').map(id => root.getElementById(id)) \
             .filter(Boolean).map(e => e.textContent).join(' ')]);",
    )
    .await
}

#[tokio::test]
async fn the_pre_chat_form_is_keyboard_usable_and_its_answers_reach_genesys_as_custom_attributes() {
    let app = chat_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("chat-pre-chat", Viewport::Desktop).await;
    browser.goto(&pre_chat_page(&app, &pages)).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    record_traffic(&browser).await;
    w.open().await;
    w.click("#psw-tile-chat").await;

    // Before the first message: the form, its first field focused, no composer.
    w.wait_visible("#psw-prechat").await;
    assert!(
        !w.is_visible("#psw-chat-input").await,
        "the composer shows with the form"
    );
    w.wait(
        "the first field focused",
        "root.activeElement && root.activeElement.id === 'psw-prechat-0'",
    )
    .await;
    // Enter with nothing filled in: both required fields say so, tied to their inputs.
    browser.press(Key::Enter).await;
    let errors = field_errors(&w).await;
    assert_eq!(
        errors,
        json!([
            ["psw-prechat-0", "true", "Please fill in this field."],
            ["psw-prechat-1", "true", "Please fill in this field."],
            ["psw-prechat-2", null, ""]
        ]),
        "{errors}"
    );
    assert_eq!(
        w.focused().await,
        "psw-prechat-0",
        "the focus is not on the first wrong field"
    );
    let required = w
        .eval("return [...$('#psw-prechat').querySelectorAll('input')].map(i => i.required);")
        .await;
    assert_eq!(required, json!([true, true, false]));
    let labels = w
        .eval("return [...$('#psw-prechat').querySelectorAll('label')].map(l => l.control && l.control.id + ':' + l.textContent);")
        .await;
    assert_eq!(
        labels,
        json!([
            "psw-prechat-0:Your name *",
            "psw-prechat-1:Email *",
            "psw-prechat-2:Order number"
        ])
    );
    browser.screenshot("pre-chat-required-errors").await;
    assert_no_violations(&browser, "pre-chat form with errors").await;

    // Keyboard only: a wrong email is refused, then corrected.
    browser.type_text("Ada Lovelace").await;
    browser.press(Key::Tab).await;
    browser.type_text("not-an-email").await;
    browser.press(Key::Tab).await;
    browser.type_text("A-1234").await;
    browser.press(Key::Tab).await;
    assert_eq!(w.focused().await, "psw-prechat-start");
    browser.press(Key::Enter).await;
    w.wait(
        "the email's error",
        "$('#psw-prechat-1-error').textContent.includes('Enter an email address')",
    )
    .await;
    assert_eq!(w.focused().await, "psw-prechat-1");
    assert_eq!(
        sent(&browser, "f.action === 'onMessage'").await,
        Vec::<Value>::new(),
        "something was sent before the form was valid"
    );
    press_keys(&browser, &[Key::Backspace; 12]).await;
    browser.type_text("ada@example.com").await;
    browser.press(Key::Enter).await;
    w.wait_hidden("#psw-prechat").await;
    w.wait(
        "the message box focused",
        "root.activeElement && root.activeElement.id === 'psw-chat-input'",
    )
    .await;

    // The first message carries the answers; the simulator has them.
    browser.type_text("Hello with my details").await;
    browser.press(Key::Enter).await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    let expected =
        json!({ "name": "Ada Lovelace", "email": "ada@example.com", "orderNumber": "A-1234" });
    let first = sent(
        &browser,
        "f.action === 'onMessage' && f.message.type === 'Text'",
    )
    .await;
    assert_eq!(
        first[0]["message"]["channel"]["metadata"]["customAttributes"], expected,
        "{first:?}"
    );
    let sessions = sim_sessions(&app).await;
    assert_eq!(sessions[0]["customAttributes"], expected, "{sessions:?}");
    // Resumed after a reload: no form again.
    browser.reload().await;
    w.wait_ready().await;
    w.wait_text_for("#psw-chat-log", "Hello with my details", CHAT_WAIT)
        .await;
    assert!(
        !w.is_visible("#psw-prechat").await,
        "the form came back for a going chat"
    );
    browser.close().await;
}

#[tokio::test]
async fn pre_chat_answers_over_the_deployments_limit_are_refused_with_a_clear_message() {
    let app = chat_app().await;
    set_deployment(&app, json!({ "maxCustomDataBytes": 60 })).await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("chat-pre-chat-limit", Viewport::Desktop).await;
    browser.goto(&pre_chat_page(&app, &pages)).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    record_traffic(&browser).await;
    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_visible("#psw-prechat").await;

    // Over the limit in the widget (keys and values in UTF-8 bytes): said, nothing sent.
    // name(4) + 30 × "é"(60) + email(5) + a@b.co(6) = 75 bytes: 15 over.
    w.type_into("#psw-prechat-0", &"é".repeat(30)).await;
    w.type_into("#psw-prechat-1", "a@b.co").await;
    w.click("#psw-prechat-start").await;
    w.wait_text(
        "#psw-prechat-error",
        "Your answers are too long to send. Please shorten them by at least 15 characters.",
    )
    .await;
    assert!(w.is_visible("#psw-prechat").await);
    assert_eq!(
        sent(&browser, "f.action === 'onMessage'").await,
        Vec::<Value>::new()
    );
    browser.screenshot("pre-chat-over-the-limit").await;
    assert_no_violations(&browser, "pre-chat form over the size limit").await;

    // Within it: accepted. Genesys's limit then shrinks, and its 4013 brings the form back with
    // the message, the text back in the box.
    // 27 bytes.
    w.eval("$('#psw-prechat-0').value = 'Ada Lovelace';").await;
    w.click("#psw-prechat-start").await;
    w.wait_hidden("#psw-prechat").await;
    set_deployment(&app, json!({ "maxCustomDataBytes": 20 })).await;
    send_text(&w, "Refused for its details").await;
    w.wait_visible("#psw-prechat").await;
    w.wait_text("#psw-prechat-error", "Your details were too long to send.")
        .await;
    w.wait_text("#psw-chat-log", "Your details were too long to send.")
        .await;
    assert_eq!(
        w.eval("return $('#psw-chat-input').value;").await,
        json!("Refused for its details")
    );
    assert_no_violations(&browser, "pre-chat form after Genesys refused the answers").await;
    // Shortened (18 bytes): the message goes, with the answers.
    w.eval("$('#psw-prechat-0').value = 'Ada'; $('#psw-prechat-1').value = 'a@b.co';")
        .await;
    w.click("#psw-prechat-start").await;
    w.wait_hidden("#psw-prechat").await;
    w.click("#psw-chat-send").await;
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    let sessions = sim_sessions(&app).await;
    assert_eq!(
        sessions[0]["customAttributes"],
        json!({ "name": "Ada", "email": "a@b.co" }),
        "{sessions:?}"
    );
    browser.close().await;
}

/// `document.title` sampled every 200 ms for `millis`.
async fn titles(browser: &Browser, millis: u64) -> Vec<String> {
    browser
        .js_async(
            "const done = arguments[arguments.length - 1]; const seen = []; \
             const timer = setInterval(() => seen.push(document.title), 200); \
             setTimeout(() => { clearInterval(timer); done(seen); }, arguments[0]);",
            vec![json!(millis)],
        )
        .await
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Counts the tones the widget starts (`window.__tones`).
async fn count_tones(browser: &Browser) {
    browser
        .js(
            "window.__tones = 0; const create = AudioContext.prototype.createOscillator; \
             AudioContext.prototype.createOscillator = function () { window.__tones++; return create.call(this); };",
            vec![],
        )
        .await;
}

async fn tones(browser: &Browser) -> u64 {
    browser
        .js("return window.__tones;", vec![])
        .await
        .as_u64()
        .unwrap_or(0)
}

async fn agent_says(app: &TestApp, token: &str, text: &str) {
    let response = sim_post(
        app,
        &format!("/__sim/webmessaging/sessions/{token}/messages"),
        Some(json!({ "type": "Text", "text": text })),
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn a_reply_out_of_view_counts_in_the_title_and_an_optional_tone_plays() {
    let app = chat_app().await;
    let browser = open_demo(&app, "chat-unread-title").await;
    let w = Widget::new(&browser);
    let page_title = browser.client.title().await.expect("the page title");
    count_tones(&browser).await;
    w.open().await;
    chat_until_greeted(&w, "Notice me").await;
    let token = saved_token(&browser).await;

    // The sound toggle: off by default, reached and switched with the keyboard.
    assert_eq!(
        w.eval("return $('#psw-chat-sound').getAttribute('aria-pressed');")
            .await,
        json!("false")
    );
    w.find("#psw-chat-input")
        .await
        .click()
        .await
        .expect("focus the message box");
    // Back from the message box: the log, End chat, the transcript's Print and Download, Sound.
    for _ in 0..5 {
        browser.shift_tab().await;
    }
    assert_eq!(w.focused().await, "psw-chat-sound");
    browser.press(Key::Enter).await;
    w.wait(
        "the sound on",
        "$('#psw-chat-sound').getAttribute('aria-pressed') === 'true'",
    )
    .await;
    assert_eq!(
        browser
            .js("return localStorage.getItem('psw-sound');", vec![])
            .await,
        json!("1")
    );
    let after_toggle = tones(&browser).await;
    assert_eq!(after_toggle, 1, "switching the sound on plays a sample");
    browser.screenshot("sound-on").await;

    // In view: no count, no tone.
    agent_says(&app, &token, "Seen at once").await;
    w.wait_text("#psw-chat-log", "Seen at once").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(browser.client.title().await.expect("title"), page_title);
    assert_eq!(tones(&browser).await, after_toggle);

    // Closed: the badge and the title count the replies, the title flashes, a tone plays.
    w.click("#psw-header").await;
    w.wait_hidden("#psw-panel").await;
    agent_says(&app, &token, "First unseen").await;
    agent_says(&app, &token, "Second unseen").await;
    w.wait_text("#psw-unread", "2 new messages").await;
    let counted = format!("(2) {page_title}");
    let seen = titles(&browser, 2_500).await;
    assert!(
        seen.contains(&counted) && seen.contains(&page_title),
        "the title did not flash the count: {seen:?}"
    );
    assert!(
        tones(&browser).await > after_toggle,
        "no tone for the unseen replies"
    );
    // Opened: the title is the page's again.
    w.open().await;
    browser
        .wait_js(
            "the title restored",
            &format!("document.title === {}", json!(page_title)),
        )
        .await;

    // Hidden (another tab in front): counted too.
    let chat_tab = browser.client.window().await.expect("the chat's tab");
    let blank = open_tab(&browser, "about:blank").await;
    let before = tones_in(&browser, &chat_tab, &blank).await;
    agent_says(&app, &token, "While hidden").await;
    let deadline = tokio::time::Instant::now() + CHAT_WAIT;
    loop {
        let targets = browser.cdp("Target.getTargets", json!({})).await;
        let counted_title = targets["targetInfos"].as_array().is_some_and(|t| {
            t.iter()
                .any(|t| t["title"].as_str().is_some_and(|t| t.starts_with("(1) ")))
        });
        if counted_title {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hidden tab's title never counted: {targets}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser
        .client
        .close_window()
        .await
        .expect("closing the blank tab");
    to_tab(&browser, &chat_tab).await;
    browser
        .wait_js(
            "the title restored once seen",
            &format!("document.title === {}", json!(page_title)),
        )
        .await;
    assert!(tones(&browser).await > before, "no tone while hidden");

    // Reduced motion: the count shows steadily, no tone, no toggle.
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-reduced-motion", "value": "reduce" }] }),
        )
        .await;
    browser.reload().await;
    w.wait_ready().await;
    count_tones(&browser).await;
    w.wait_text_for("#psw-chat-log", "While hidden", CHAT_WAIT)
        .await;
    assert!(
        !w.is_visible("#psw-chat-sound").await,
        "the toggle shows under reduced motion"
    );
    w.click("#psw-header").await;
    w.wait_hidden("#psw-panel").await;
    agent_says(&app, &token, "Calmly").await;
    w.wait_text("#psw-unread", "1 new message").await;
    let seen = titles(&browser, 2_500).await;
    let steady = format!("(1) {page_title}");
    assert!(
        !seen.is_empty() && seen.iter().all(|t| *t == steady),
        "the title is not steady under reduced motion: {seen:?}"
    );
    assert_eq!(
        tones(&browser).await,
        0,
        "a tone played under reduced motion"
    );
    browser.screenshot("reduced-motion-count").await;
    browser.close().await;
}

/// The chat tab's tone count, read from the blank tab's side (switching back would show it).
async fn tones_in(browser: &Browser, chat_tab: &WindowHandle, back: &WindowHandle) -> u64 {
    to_tab(browser, chat_tab).await;
    let count = tones(browser).await;
    to_tab(browser, back).await;
    count
}

#[tokio::test]
async fn the_pre_chat_form_speaks_the_pages_language() {
    let app = chat_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("chat-pre-chat-german", Viewport::Desktop).await;
    browser.goto(&pre_chat_page_in(&app, &pages, "de-AT")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_visible("#psw-prechat").await;
    // The site's label in German where it gave one, its only or English one elsewhere; the
    // widget's own words from the German pack.
    let shown = w
        .eval(
            "return { labels: [...$('#psw-prechat').querySelectorAll('label')].map(l => l.textContent), \
               intro: $('#psw-prechat-intro').textContent, start: $('#psw-prechat-start').textContent };",
        )
        .await;
    assert_eq!(
        shown,
        json!({
            "labels": ["Ihr Name *", "Email *", "Order number"],
            "intro": "Bevor wir beginnen, erzählen Sie uns bitte kurz etwas über sich. Mit * markierte Felder sind Pflichtfelder.",
            "start": "Chat starten",
        })
    );
    w.click("#psw-prechat-start").await;
    w.wait_text("#psw-prechat-0-error", "Bitte füllen Sie dieses Feld aus.")
        .await;
    browser.screenshot("pre-chat-german").await;
    assert_no_violations(&browser, "pre-chat form in German with errors").await;
    browser.close().await;
}
