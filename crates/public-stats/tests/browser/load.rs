//! What the widget costs the page that embeds it, seen from the page: its stylesheet is fetched
//! once however many views open, what it keeps is never a cookie, and the demo page declares its
//! icon (no request for a missing `/favicon.ico`). The load-time figures themselves are a
//! benchmark (`scripts/bench-widget`), not a test: timings on a shared machine cannot pass or fail.

use std::time::Duration;

use serde_json::json;

use crate::browser::{Browser, Engine, Viewport};
use crate::helpers::spawn_app;
use crate::journey::demo;
use crate::widget::Widget;

/// JS: how many times the page fetched the widget's stylesheet (Resource Timing sees the
/// requests of shadow roots too).
const STYLESHEET_FETCHES: &str = "return performance.getEntriesByType('resource')\
     .filter(e => new URL(e.name).pathname.endsWith('/style/widget.css')).length;";

in_every_engine!(the_stylesheet_is_fetched_once_whatever_opens);

async fn the_stylesheet_is_fetched_once_whatever_opens(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "load-stylesheet", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    w.open().await;
    w.wait_visible("#psw-tile-callback").await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-callback form").await;
    browser
        .js("window.publicStatsWidget.open('chat');", vec![])
        .await;
    w.wait_visible("#psw-chat").await;
    // Whatever the views load after a moment (their modules, the language's strings).
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.screenshot("chat-open").await;
    assert_eq!(
        browser.js(STYLESHEET_FETCHES, vec![]).await,
        json!(1),
        "widget.css was not fetched exactly once in {engine:?}"
    );
    browser.close().await;
}

/// Chromium asks every page for `/favicon.ico` unless it declares an icon; the demo page declares
/// one its Content-Security-Policy allows, so its console stays free of a 404.
#[tokio::test]
async fn the_demo_page_asks_for_no_missing_favicon() {
    let app = spawn_app().await;
    let browser = Browser::launch("load-favicon", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    Widget::new(&browser).wait_ready().await;
    // Chromium asks for the icon after the load event.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log = browser.chromium_log().await;
    let missing: Vec<&String> = log.iter().filter(|line| line.contains("404")).collect();
    assert!(missing.is_empty(), "the demo page logged: {missing:#?}");
    let asked = browser
        .js(
            "return performance.getEntriesByType('resource')\
             .filter(e => new URL(e.name).pathname === '/favicon.ico').length;",
            vec![],
        )
        .await;
    assert_eq!(asked, json!(0), "the page still asked for /favicon.ico");
    let icon = browser
        .js(
            "const l = document.querySelector('link[rel~=icon]'); return l && l.href;",
            vec![],
        )
        .await;
    let icon = icon.as_str().expect("the demo page declares an icon");
    let status = reqwest::get(icon).await.expect("the icon").status();
    assert_eq!(status.as_u16(), 200, "the declared icon {icon} is missing");
    browser.close().await;
}

/// What the widget keeps between pages is in the visitor's storage, never in a cookie, which the
/// site's server would receive with every request and which the site would have to declare:
/// a saved view comes back after a reload, and the page has no cookie before or after.
#[tokio::test]
async fn a_saved_view_comes_back_after_a_reload_and_the_widget_sets_no_cookie() {
    let app = spawn_app().await;
    let browser = Browser::launch("load-storage", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    w.open().await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-callback form").await;
    browser.reload().await;
    w.wait_ready().await;
    w.wait_visible("#psw-callback form").await;
    assert_eq!(
        browser.js("return document.cookie;", vec![]).await,
        json!(""),
        "the widget set a cookie"
    );
    browser.close().await;
}
