//! The visitor's journey on the demo page (`/`), with a screenshot and an axe-core run in every
//! state: collapsed → opened → the agent count follows the simulated queue → a callback reaches
//! the simulator → a chat message reaches the simulated agent, its reply appears, and a reload
//! resumes the chat. In every engine; the page comes through the test page server for its error
//! probe, and a journey ends with no error logged.

use std::time::Duration;

use fantoccini::key::Key;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Engine, Viewport, WAIT};
use crate::helpers::{DEMO_SUPPORT_QUEUE, TestApp, spawn_app};
use crate::host::HostPages;
use crate::widget::Widget;

/// The queue the demo page's configuration shows.
pub async fn page_queue(browser: &Browser) -> Uuid {
    let id = browser
        .js("return window.pureCloudCustomChatConfig.queueId;", vec![])
        .await;
    id.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the demo page's queueId is not a UUID: {id}"))
}

/// Opens the demo page in `engine`, through the test page server (for its error probe; keep the
/// server as long as the browser), and waits for the widget.
pub async fn demo(
    engine: Engine,
    app: &TestApp,
    test: &str,
    viewport: Viewport,
) -> (Browser, HostPages) {
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch_in(engine, test, viewport).await;
    browser.goto(&pages.demo_page()).await;
    Widget::new(&browser).wait_ready().await;
    (browser, pages)
}

in_every_engine!(
    collapsed_then_opened_then_the_agent_count_follows_the_queue,
    when_every_agent_gets_busy_it_says_so_and_steers_to_the_callback,
    a_callback_request_reaches_the_simulator,
    a_chat_reaches_the_simulated_agent_and_a_reload_resumes_it,
    the_demo_page_is_under_its_content_security_policy,
);

/// The journeys above end with no error logged, Content-Security-Policy violations included; this
/// shows that the demo page's policy is in force, so that means something.
async fn the_demo_page_is_under_its_content_security_policy(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "journey-csp", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    w.open().await;
    w.wait_visible("#psw-tile-chat").await;
    browser
        .assert_no_console_errors("with the widget open under the policy")
        .await;
    let ran = browser
        .js(
            "const s = document.createElement('script'); \
             s.textContent = 'window.__injected = true'; \
             document.head.appendChild(s); \
             const st = document.createElement('style'); \
             st.textContent = 'body { display: none }'; \
             document.head.appendChild(st); \
             return [window.__injected === true, getComputedStyle(document.body).display];",
            vec![],
        )
        .await;
    assert_eq!(ran, json!([false, "block"]), "inline code ran: {ran}");
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut reported = Vec::new();
    while reported.len() < 2 && tokio::time::Instant::now() < deadline {
        reported.extend(browser.console_errors().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reported
            .iter()
            .filter(|e| e.contains("Content-Security-Policy"))
            .count()
            >= 2,
        "the refusals were reported as violations: {reported:?}"
    );
    browser.close().await;
}

async fn collapsed_then_opened_then_the_agent_count_follows_the_queue(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "journey-stats", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let queue = page_queue(&browser).await;
    app.set_queue(queue, json!({ "agents": { "idle": 3, "busy": 1 } }))
        .await;

    // Collapsed: only the header, a button that says it is collapsed, bottom-right.
    assert_eq!(w.expanded().await, "false", "aria-expanded when collapsed");
    assert!(
        !w.is_visible("#psw-panel").await,
        "the panel shows while collapsed"
    );
    let [x, y, width, height] = w.rect("#psw-header").await;
    let [vw, vh] = browser.viewport().await;
    assert!(
        (vw - (x + width)).abs() < 40.0 && (vh - (y + height)).abs() < 40.0,
        "the collapsed header is not anchored bottom-right of the {vw}×{vh} viewport: \
         {x},{y} {width}×{height}"
    );
    browser.screenshot("collapsed").await;
    assert_no_violations(&browser, "collapsed").await;

    // Opened with a click: the chooser with the live count and both tiles.
    w.open().await;
    assert_eq!(w.expanded().await, "true", "aria-expanded when open");
    w.wait_visible("#psw-tile-callback").await;
    w.wait_visible("#psw-tile-chat").await;
    w.wait_text("#psw-agents", "3 agents available").await;
    assert_eq!(w.events("opened").await.len(), 1, "one `opened` event");
    browser.screenshot("opened-3-agents").await;
    assert_no_violations(&browser, "opened").await;

    // The simulated queue changes: the open widget follows it live, with no reload.
    app.set_queue(queue, json!({ "agents": { "idle": 1, "busy": 3 } }))
        .await;
    w.wait_text("#psw-agents", "1 agent available").await;
    browser.screenshot("opened-1-agent").await;

    // Closed again with the header.
    w.click("#psw-header").await;
    w.wait_hidden("#psw-panel").await;
    assert_eq!(w.expanded().await, "false", "aria-expanded after closing");
    browser.screenshot("closed-again").await;
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

async fn when_every_agent_gets_busy_it_says_so_and_steers_to_the_callback(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "journey-no-agents", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let queue = page_queue(&browser).await;
    // From free agents to none, as when the last free agent takes a call: the widget must not
    // keep showing the last non-zero count.
    app.set_queue(queue, json!({ "agents": { "idle": 1, "busy": 3 } }))
        .await;
    w.open().await;
    w.wait_text("#psw-agents", "1 agent available").await;

    // Nobody free: it says so and steers to the callback.
    app.set_queue(
        queue,
        json!({ "agents": { "busy": 4 }, "waiting": { "message": 2 } }),
    )
    .await;
    // First the service, so a failure names the layer that kept the stale count.
    wait_service_agents(&app, queue, 0).await;
    w.wait_text("#psw-agents", "No agents are available").await;
    w.wait_visible("#psw-none").await;
    assert!(
        w.text("#psw-none")
            .await
            .to_lowercase()
            .contains("call you back"),
        "no steer to the callback when no agent is free"
    );
    browser.screenshot("opened-no-agents").await;
    assert_no_violations(&browser, "opened, no agents").await;
    let stats = w.events("stats").await;
    assert!(
        stats.iter().any(|s| s["availableAgents"] == 0),
        "no `stats` event reported 0 agents: {stats:?}"
    );

    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

async fn a_callback_request_reaches_the_simulator(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "journey-callback", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let queue = page_queue(&browser).await;

    w.open().await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-callback-form").await;
    assert_eq!(
        w.focused().await,
        "psw-first",
        "the focus moves to the first field"
    );
    browser.screenshot("callback-form").await;
    assert_no_violations(&browser, "callback form").await;

    // Checked before sending: empty names and a bad number are refused next to their fields.
    w.type_into("#psw-phone", "12").await;
    w.click("#psw-callback-submit").await;
    w.wait(
        "the field errors",
        "$('#psw-first-error').innerText && $('#psw-phone-error').innerText",
    )
    .await;
    assert_eq!(
        w.eval("return $('#psw-phone').getAttribute('aria-invalid');")
            .await,
        json!("true"),
        "the bad phone field is not marked invalid"
    );
    browser.screenshot("callback-invalid").await;
    assert_no_violations(&browser, "callback form with errors").await;
    assert_eq!(
        callbacks(&app).await.len(),
        0,
        "an invalid form reached the simulator"
    );

    w.type_into("#psw-first", "Ada").await;
    w.type_into("#psw-last", "Lovelace").await;
    w.find("#psw-phone")
        .await
        .clear()
        .await
        .expect("clear the phone field");
    w.type_into("#psw-phone", "+1 317 555 0100").await;
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    let done = w.text("#psw-callback-done-text").await;
    assert!(
        done.contains("+13175550100"),
        "the confirmation does not name the number: {done}"
    );
    browser.screenshot("callback-done").await;
    assert_no_violations(&browser, "callback sent").await;

    // Accepted first, delivered a moment later.
    let received = crate::callback::wait_callbacks(&app, 1).await;
    assert_eq!(received.len(), 1, "the simulator received {received:?}");
    let body = received[0].to_string();
    for expected in ["13175550100", "Ada", "Lovelace", &queue.to_string()] {
        assert!(
            body.contains(expected),
            "the callback sent upstream lacks {expected}: {body}"
        );
    }
    assert_eq!(w.events("callback").await.len(), 1, "one `callback` event");
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

async fn a_chat_reaches_the_simulated_agent_and_a_reload_resumes_it(engine: Engine) {
    let app = spawn_app().await;
    // Web Messaging goes to the Support queue: give it free agents and let the model dispatch
    // (a held queue does not), so the simulated agent answers.
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
    let (browser, _pages) = demo(engine, &app, "journey-chat", Viewport::Desktop).await;
    let w = Widget::new(&browser);

    w.open().await;
    w.click("#psw-tile-chat").await;
    w.wait_visible("#psw-chat-input").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    assert_eq!(
        w.focused().await,
        "psw-chat-input",
        "the focus moves to the message box"
    );
    browser.screenshot("chat-ready").await;
    assert_no_violations(&browser, "chat ready").await;

    // The visitor writes; the simulated agent receives it and answers.
    let first = "Hello from the browser test";
    w.type_into("#psw-chat-input", first).await;
    w.click("#psw-chat-send").await;
    w.wait_text("#psw-chat-log", first).await;
    let session = wait_session_with(&app, first).await;
    w.wait_text_for(".psw-msg--agent", "", CHAT_WAIT).await;
    let agent = session["agent"].as_str().map(str::to_owned);
    w.wait_text_for("#psw-chat-status", "You are chatting with", CHAT_WAIT)
        .await;
    let second = "Can you read me?";
    w.type_into("#psw-chat-input", second).await;
    browser.press(Key::Enter).await;
    wait_session_with(&app, second).await;
    // The agent's canned reply quotes the visitor's text.
    w.wait_for(
        "the agent's reply quoting the second message",
        &format!(
            "[...root.querySelectorAll('.psw-msg--agent')].some(m => m.innerText.includes({}))",
            json!(second)
        ),
        CHAT_WAIT,
    )
    .await;
    let messages = w.events("message").await;
    assert!(
        messages.iter().any(|m| m["from"] == "agent"),
        "no `message` event from the agent: {messages:?}"
    );
    browser.screenshot("chat-agent-replied").await;
    assert_no_violations(&browser, "chat with the agent's reply").await;
    let before = w.text("#psw-chat-log").await;

    // A reload resumes the same conversation: the same session, its history, still open.
    browser.assert_no_console_errors("before the reload").await;
    browser.reload().await;
    w.wait_ready().await;
    w.wait_visible("#psw-chat-log").await;
    w.wait_text_for("#psw-chat-log", second, CHAT_WAIT).await;
    let after = w.text("#psw-chat-log").await;
    for line in [first, second] {
        assert!(
            after.contains(line),
            "the resumed chat lost '{line}':\n{after}"
        );
    }
    assert!(
        after.lines().count() >= before.lines().count(),
        "the resumed chat shows less than before the reload:\n--- before\n{before}\n--- after\n{after}"
    );
    if let Some(agent) = agent {
        w.wait_text("#psw-chat-status", &agent).await;
    }
    let sessions = sim_sessions(&app).await;
    assert_eq!(
        sessions.len(),
        1,
        "the reload started a second session: {sessions:?}"
    );
    browser.screenshot("chat-resumed").await;
    assert_no_violations(&browser, "chat resumed after a reload").await;

    // And it goes on in the same session.
    let third = "Still there after the reload";
    w.type_into("#psw-chat-input", third).await;
    w.click("#psw-chat-send").await;
    let session = wait_session_with(&app, third).await;
    assert_eq!(
        session["token"], sessions[0]["token"],
        "a new session after the reload"
    );

    // The agent ends the conversation: read-only, said so, no message box.
    let token = session["token"].as_str().expect("the session's token");
    let ended = app
        .sim_control(
            reqwest::Method::POST,
            &format!("/__sim/webmessaging/sessions/{token}/disconnect"),
            None,
        )
        .await;
    assert_eq!(
        ended.status().as_u16(),
        200,
        "the simulated agent's disconnect"
    );
    w.wait_visible("#psw-chat-ended").await;
    w.wait_text("#psw-chat-ended", "The agent has ended the chat")
        .await;
    w.wait_hidden("#psw-chat-input").await;
    assert!(
        w.text("#psw-chat-log").await.contains(third),
        "the read-only chat lost its history"
    );
    browser.screenshot("chat-ended-by-agent").await;
    assert_no_violations(&browser, "chat read-only after the agent's Disconnect").await;
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

/// How long the simulated agent may take: dispatch on the model's tick, then its typing delay.
const CHAT_WAIT: Duration = Duration::from_secs(20);

/// The simulator's Web Messaging sessions (`GET /__sim/webmessaging/sessions`).
async fn sim_sessions(app: &TestApp) -> Vec<Value> {
    app.sim_control(reqwest::Method::GET, "/__sim/webmessaging/sessions", None)
        .await
        .json::<Value>()
        .await
        .expect("the sessions are JSON")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until one session's received messages include `text`; returns that session.
async fn wait_session_with(app: &TestApp, text: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let sessions = sim_sessions(app).await;
        let found = sessions.iter().find(|s| {
            s["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|b| b.to_string().contains(text)))
        });
        if let Some(session) = found {
            return session.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the simulated agent never received '{text}'; sessions: {sessions:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the service's REST statistics (`GET /api/stats/{queue}`) say `expected` agents
/// are available.
async fn wait_service_agents(app: &TestApp, queue: Uuid, expected: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = app
            .get_json(&format!("/api/stats/{queue}?key=observations"))
            .await;
        let agents = &body["observations"]["availableAgents"];
        if status == 200 && agents.as_u64() == Some(expected) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service (not the widget) still reports availableAgents {agents} instead of \
             {expected} after the simulated queue changed: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The bodies the simulator received on `POST /api/v2/conversations/callbacks`.
async fn callbacks(app: &TestApp) -> Vec<Value> {
    let log: Value = app
        .sim_control(reqwest::Method::GET, "/__sim/requests", None)
        .await
        .json()
        .await
        .expect("the request log is JSON");
    log["callbacks"].as_array().cloned().unwrap_or_default()
}
