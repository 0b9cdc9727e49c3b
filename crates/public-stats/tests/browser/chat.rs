//! Chat details: what the guest and the agent write is shown as text, never
//! parsed as HTML, and the agent's typing indicator shows before its answer.

use std::time::Duration;

use serde_json::json;

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Viewport};
use crate::helpers::{DEMO_SUPPORT_QUEUE, spawn_app};
use crate::widget::Widget;

/// Dispatch on the model's tick, then the simulated agent's typing delay.
const CHAT_WAIT: Duration = Duration::from_secs(20);

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
