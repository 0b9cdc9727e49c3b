//! The loader on the demo page: no console errors, one global, and one widget even when the
//! page includes the loader twice.

use serde_json::json;

use crate::browser::{Browser, Viewport};
use crate::helpers::spawn_app;
use crate::widget::{HOST, Widget};

#[tokio::test]
async fn the_demo_page_loads_one_widget_without_errors() {
    let app = spawn_app().await;
    let browser = Browser::launch("loader", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    let api = browser
        .js("return Object.keys(window.publicStatsWidget).filter(k => typeof window.publicStatsWidget[k] === 'function').sort();", vec![])
        .await;
    for method in ["close", "off", "on", "open", "toggle"] {
        assert!(
            api.as_array().is_some_and(|a| a.contains(&json!(method))),
            "the global API lacks {method}: {api}"
        );
    }

    // A second copy of the loader (a CMS adding the snippet twice) changes nothing.
    browser
        .js_async(
            "const done = arguments[arguments.length - 1]; const s = document.createElement('script'); \
             s.src = '/scripts/chat-injector.js'; s.onload = () => setTimeout(() => done(true), 300); \
             s.onerror = () => done(false); document.head.appendChild(s);",
            vec![],
        )
        .await;
    let count = browser
        .js(
            &format!("return document.querySelectorAll('{HOST}').length;"),
            vec![],
        )
        .await;
    assert_eq!(
        count,
        json!(1),
        "including the loader twice made more than one widget"
    );

    // The open/close API works before any click.
    browser.js("window.publicStatsWidget.open();", vec![]).await;
    w.wait_visible("#psw-panel").await;
    browser
        .js("window.publicStatsWidget.close();", vec![])
        .await;
    w.wait_hidden("#psw-panel").await;
    browser.screenshot("after-api-open-close").await;
    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "console errors on the demo page: {errors:?}"
    );
    browser.close().await;
}
