//! The live statistics in the widget: the estimated wait as the visitor reads
//! it, and when the widget subscribes to the live stream (first opening by default, page load
//! with `connectStats: 'load'`, which also shows the availability in the collapsed header).

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Viewport, WAIT};
use crate::helpers::{TestApp, spawn_app};
use crate::host::HostPages;
use crate::journey::page_queue;
use crate::widget::Widget;

#[tokio::test]
async fn the_estimated_wait_is_rounded_up_and_hidden_when_unknown() {
    let app = spawn_app().await;
    let browser = Browser::launch("stats-ewt", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    let queue = page_queue(&browser).await;

    // Four busy agents and nothing waiting: the simulator's model gives one handle time (300 s)
    // shared by four agents, 75 s: "2 minutes" rounded up (1 if it were rounded or cut).
    app.set_queue(queue, json!({ "agents": { "busy": 4 } }))
        .await;
    wait_service_ewt(&app, queue, 75).await;
    w.open().await;
    w.wait_text("#psw-ewt", "Estimated wait: about 2 minutes")
        .await;
    assert!(
        w.is_visible("#psw-ewt").await,
        "the known wait is not shown"
    );
    browser.screenshot("ewt-2-minutes").await;
    assert_no_violations(&browser, "chooser with an estimated wait").await;

    // A free agent and nothing waiting: 0 s.
    app.set_queue(queue, json!({ "agents": { "idle": 3 } }))
        .await;
    wait_service_ewt(&app, queue, 0).await;
    w.wait_text("#psw-ewt", "Estimated wait: less than a minute")
        .await;
    browser.screenshot("ewt-less-than-a-minute").await;

    // Nobody on queue and nothing waiting: Genesys has no estimate; the line goes.
    app.set_queue(queue, json!({ "agents": { "offQueue": 2 } }))
        .await;
    wait_service_ewt(&app, queue, -1).await;
    w.wait_hidden("#psw-ewt").await;
    assert_eq!(
        w.text("#psw-ewt").await,
        "",
        "the hidden wait still has a text"
    );
    let last = w.events("stats").await.pop().unwrap_or_default();
    assert_eq!(
        last["ewt"],
        Value::Null,
        "the last `stats` event still has a wait: {last}"
    );
    browser.screenshot("ewt-unknown").await;
    browser.close().await;
}

/// Waits until the service's REST statistics give this EWT (`-1`: unknown), so that a failure
/// names the layer at fault.
async fn wait_service_ewt(app: &TestApp, queue: Uuid, expected: i64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = app.get_json(&format!("/api/stats/{queue}?key=ewt")).await;
        if status == 200 && body["ewt"].as_i64() == Some(expected) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service (not the widget) reports ewt {} instead of {expected}: {status} {body}",
            body["ewt"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The live-statistics WebSockets the page has opened (recorded by `pages/watch.js`).
async fn stats_sockets(browser: &Browser) -> Vec<String> {
    browser
        .js(
            "return window.__testProbe.sockets.filter(u => u.includes('/api/stats/'));",
            vec![],
        )
        .await
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| u.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_live_stream_opens_on_first_open_or_at_load_when_asked() {
    let app = spawn_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("stats-connect", Viewport::Desktop).await;
    let w = Widget::new(&browser);

    // By default: nothing at page load, not even in the collapsed header.
    browser.goto(&pages.configured(&json!({}))).await;
    w.wait_ready().await;
    let queue = page_queue(&browser).await;
    app.set_queue(queue, json!({ "agents": { "idle": 3 } }))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sockets = stats_sockets(&browser).await;
    assert!(
        sockets.is_empty(),
        "the live stream opened before the widget did: {sockets:?}"
    );
    assert!(
        !w.is_visible("#psw-header-stats").await,
        "the collapsed header shows availability"
    );
    assert!(
        w.events("stats").await.is_empty(),
        "statistics arrived before the first opening"
    );

    // The first opening subscribes; closing and opening again does not subscribe twice.
    w.open().await;
    w.wait_text("#psw-agents", "3 agents available").await;
    assert_eq!(
        stats_sockets(&browser).await.len(),
        1,
        "one live stream after the first opening"
    );
    browser.js("publicStatsWidget.close();", vec![]).await;
    w.wait_hidden("#psw-panel").await;
    w.open().await;
    let sockets = stats_sockets(&browser).await;
    assert_eq!(
        sockets.len(),
        1,
        "a second opening opened another stream: {sockets:?}"
    );
    assert!(
        sockets[0].contains(&format!("/api/stats/{queue}/live")),
        "the stream is not the queue's live stream: {sockets:?}"
    );

    // connectStats: 'load': subscribed at page load, the collapsed header says who is free and
    // follows the queue live.
    browser
        .goto_fresh(&pages.configured(&json!({ "connectStats": "load" })))
        .await;
    w.wait_ready().await;
    w.wait_text("#psw-header-stats", "3 agents available").await;
    assert_eq!(w.expanded().await, "false", "the widget opened itself");
    assert!(
        !w.is_visible("#psw-panel").await,
        "the panel shows while collapsed"
    );
    assert_eq!(
        stats_sockets(&browser).await.len(),
        1,
        "one live stream at page load"
    );
    browser.screenshot("collapsed-with-availability").await;
    assert_no_violations(&browser, "collapsed, availability in the header").await;
    app.set_queue(queue, json!({ "agents": { "idle": 1, "busy": 2 } }))
        .await;
    w.wait_text("#psw-header-stats", "1 agent available").await;
    browser.close().await;
}
