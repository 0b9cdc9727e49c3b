//! The page's side of the widget: calls made before the loader ran are replayed, a broken
//! configuration gives one clear console error and no broken widget, and the animations honour
//! `prefers-reduced-motion`. The broken configuration in every engine: its one console error,
//! raised while the page loads, is what shows that the error probe works in each.

use std::time::Duration;

use serde_json::json;

use crate::browser::{Browser, Engine, Viewport};
use crate::helpers::spawn_app;
use crate::host::HostPages;
use crate::host_pages::probe;
use crate::widget::{HOST, Widget};

#[tokio::test]
async fn calls_queued_before_the_loader_ran_are_replayed() {
    let app = spawn_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("settings-queued", Viewport::Desktop).await;
    browser.goto(&pages.url("queued.html")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;

    let queued = browser.js("return window.__queued;", vec![]).await;
    assert_eq!(
        queued["loaderWasThere"],
        json!(false),
        "the page's calls did not run before the loader: {queued}"
    );
    // The queued open('callback') ran, and so did the handlers queued before it.
    w.wait_visible("#psw-callback-form").await;
    assert_eq!(
        w.expanded().await,
        "true",
        "the queued open() did not open the widget"
    );
    assert_eq!(
        queued["opened"],
        json!([{ "view": "callback" }]),
        "the queued `opened` handler did not see the queued open(): {queued}"
    );
    assert_eq!(
        queued["ready"],
        json!(1),
        "the queued `ready` handler: {queued}"
    );
    assert_eq!(
        w.focused().await,
        "psw-first",
        "the queued open() did not move the focus"
    );
    browser.screenshot("opened-by-a-queued-call").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.close().await;
}

in_every_engine!(a_broken_configuration_gives_one_clear_error_and_no_broken_widget);

async fn a_broken_configuration_gives_one_clear_error_and_no_broken_widget(engine: Engine) {
    let app = spawn_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch_in(engine, "settings-broken", Viewport::Desktop).await;

    // No queueId: one error naming it, no widget, and an API that does no harm.
    browser
        .goto(&pages.configured(&json!({ "queueId": null })))
        .await;
    browser
        .wait_js(
            "the loader to run",
            "document.readyState === 'complete' && window.publicStatsWidget && window.publicStatsWidget.v",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let errors = browser.console_errors().await;
    assert_eq!(
        errors.len(),
        1,
        "not exactly one console error without a queueId: {errors:?}"
    );
    assert!(
        errors[0].contains("queueId"),
        "the error does not name queueId: {errors:?}"
    );
    let page = browser
        .js(
            &format!(
                "publicStatsWidget.open(); return {{ hosts: document.querySelectorAll('{HOST}').length, \
                 scripts: [...document.scripts].map(s => s.src).filter(s => s.includes('chat-widget')) }};"
            ),
            vec![],
        )
        .await;
    assert_eq!(
        page,
        json!({ "hosts": 0, "scripts": [] }),
        "a widget without a queueId"
    );
    let deployment = browser
        .js(
            "return pureCloudCustomChatConfig.webMessaging.deploymentId;",
            vec![],
        )
        .await;
    assert!(
        deployment.is_string(),
        "the demo configuration has no deployment: {deployment}"
    );

    // A Web Messaging deployment without environment or url: one error naming what is missing,
    // a callback-only widget, and no attempt at a socket to a made-up host.
    let settings = json!({ "webMessaging": { "deploymentId": deployment } });
    browser.goto_fresh(&pages.configured(&settings)).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    let errors = browser.console_errors().await;
    assert_eq!(errors.len(), 1, "not exactly one console error: {errors:?}");
    assert!(
        errors[0].contains("webMessaging.environment") && errors[0].contains("webMessaging.url"),
        "the error does not say what is missing: {errors:?}"
    );
    w.open().await;
    w.wait_visible("#psw-tile-callback").await;
    assert!(
        !w.is_visible("#psw-tile-chat").await,
        "a chat tile that cannot work is offered"
    );
    browser.js("publicStatsWidget.open('chat');", vec![]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        w.is_visible("#psw-chooser").await,
        "open('chat') left the chooser"
    );
    let sockets = browser
        .js(
            "return window.__testProbe.sockets.filter(u => !u.includes('/api/stats/'));",
            vec![],
        )
        .await;
    assert_eq!(sockets, json!([]), "a chat socket was attempted");
    let (_, uncaught) = probe(&browser).await;
    assert!(uncaught.is_empty(), "uncaught errors: {uncaught:?}");
    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "more console errors after open('chat'): {errors:?}"
    );
    browser.screenshot("callback-only").await;
    browser.close().await;
}

/// Chromium only: no other engine lets WebDriver change `prefers-reduced-motion` in a running
/// page (Firefox has a preference for it, read at start; WebKit has nothing).
#[tokio::test]
async fn animations_honour_prefers_reduced_motion() {
    let app = spawn_app().await;
    let browser = Browser::launch("settings-reduced-motion", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    // Opens through the API and measures in the same task: before any frame is drawn, the panel
    // is as tall as it will be only if it does not animate.
    let open_now = "publicStatsWidget.open(); const p = $('#psw-panel'); \
                    return { height: p.getBoundingClientRect().height, \
                             panel: getComputedStyle(p).transitionDuration, \
                             chevron: getComputedStyle(root.querySelector('.psw-chevron')).transitionDuration, \
                             reduce: matchMedia('(prefers-reduced-motion: reduce)').matches };";

    let animated = w.eval(open_now).await;
    assert_eq!(
        animated["reduce"],
        json!(false),
        "reduced motion before emulating it"
    );
    assert!(
        animated["height"].as_f64().unwrap_or(f64::NAN) < 20.0,
        "the panel does not grow (expandAnimationMs) without reduced motion: {animated}"
    );
    assert!(
        animated["panel"]
            .as_str()
            .unwrap_or_default()
            .contains("0.8s"),
        "the panel's transition is not expandAnimationMs: {animated}"
    );
    browser.js("publicStatsWidget.close();", vec![]).await;
    w.wait_hidden("#psw-panel").await;

    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-reduced-motion", "value": "reduce" }] }),
        )
        .await;
    let still = w.eval(open_now).await;
    assert_eq!(
        still["reduce"],
        json!(true),
        "the emulation did not apply: {still}"
    );
    assert!(
        still["height"].as_f64().unwrap_or(0.0) > 100.0,
        "the panel still animates under prefers-reduced-motion: {still}"
    );
    for part in ["panel", "chevron"] {
        assert!(
            still[part]
                .as_str()
                .unwrap_or_default()
                .split(", ")
                .all(|d| d == "0s"),
            "the {part} still has a transition under prefers-reduced-motion: {still}"
        );
    }
    browser.screenshot("opened-reduced-motion").await;
    browser.close().await;
}
