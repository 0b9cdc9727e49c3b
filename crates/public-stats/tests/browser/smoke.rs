//! The harness itself: Chromium opens the demo page served by the service and the loader runs.

use crate::browser::{Browser, Viewport};
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_demo_page_loads_the_widget_loader() {
    let app = spawn_app().await;
    let browser = Browser::launch("smoke", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    browser
        .wait_js(
            "the loader's global",
            "window.publicStatsWidget && typeof window.publicStatsWidget.open === 'function'",
        )
        .await;
    browser.screenshot("demo-page").await;
    crate::axe::assert_no_violations(&browser, "demo-page").await;
    browser.close().await;
}
