//! The widget on other sites' pages (served by [`crate::host`]): one with a strict
//! Content-Security-Policy, one whose global CSS attacks every element, one written right to
//! left. The widget must work and look the same on each, in every engine: each engine enforces
//! the policy, isolates the shadow root and lays out bidirectional text itself.

use serde_json::json;

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Engine, Viewport};
use crate::helpers::{TestApp, spawn_app};
use crate::host::HostPages;
use crate::journey::page_queue;
use crate::widget::Widget;

/// Opens a test page in Chromium and waits for the widget, with the page's queue at three free
/// agents.
pub async fn open_page(app: &TestApp, pages: &HostPages, file: &str, test: &str) -> Browser {
    let browser = Browser::launch(test, Viewport::Desktop).await;
    ready_on(app, pages, browser, file).await
}

/// [`open_page`] in `engine`.
pub async fn open_page_in(
    engine: Engine,
    app: &TestApp,
    pages: &HostPages,
    file: &str,
    test: &str,
) -> Browser {
    let browser = Browser::launch_in(engine, test, Viewport::Desktop).await;
    ready_on(app, pages, browser, file).await
}

async fn ready_on(app: &TestApp, pages: &HostPages, browser: Browser, file: &str) -> Browser {
    browser.goto(&pages.url(file)).await;
    Widget::new(&browser).wait_ready().await;
    let queue = page_queue(&browser).await;
    app.set_queue(queue, json!({ "agents": { "idle": 3 } }))
        .await;
    browser
}

in_every_engine!(
    a_page_with_a_strict_csp_runs_the_whole_widget,
    hostile_global_css_does_not_break_the_widget,
    a_right_to_left_page_gets_a_right_to_left_widget,
);

/// What the page's probe (`pages/watch.js`) recorded: CSP violations and uncaught errors.
pub async fn probe(browser: &Browser) -> (Vec<String>, Vec<String>) {
    let p = browser.js("return window.__testProbe;", vec![]).await;
    let list = |k: &str| -> Vec<String> {
        p[k].as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    };
    (list("csp"), list("errors"))
}

async fn a_page_with_a_strict_csp_runs_the_whole_widget(engine: Engine) {
    let app = spawn_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = open_page_in(engine, &app, &pages, "strict-csp.html", "host-strict-csp").await;
    let w = Widget::new(&browser);
    // The policy really is in force on this page: an inline script is refused.
    let inline_ran = browser
        .js(
            "const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; \
             document.head.appendChild(s); return window.__inline === 1;",
            vec![],
        )
        .await;
    assert_eq!(
        inline_ran,
        json!(false),
        "the test page's CSP is not enforced"
    );
    let (csp, _) = probe(&browser).await;
    assert_eq!(
        csp.len(),
        1,
        "the probe missed the inline-script violation: {csp:?}"
    );
    browser.js("window.__testProbe.csp = [];", vec![]).await;
    let _ = browser.console_errors().await;

    // Styled (the stylesheet loaded under style-src 'self'), live, and every view works.
    let background = w.style("#psw-header", "background-color").await;
    assert_eq!(
        background, "rgb(68, 152, 180)",
        "the header is unstyled under the CSP"
    );
    w.open().await;
    w.wait_text("#psw-agents", "3 agents available").await;
    browser.screenshot("opened").await;
    w.click("#psw-tile-chat").await;
    w.wait_text("#psw-chat-status", "Send a message").await;
    browser.screenshot("chat-connected").await;

    let (csp, errors) = probe(&browser).await;
    assert!(csp.is_empty(), "the widget broke the CSP: {csp:?}");
    assert!(errors.is_empty(), "uncaught errors: {errors:?}");
    let console = browser.console_errors().await;
    assert!(
        console.is_empty(),
        "console errors under the CSP: {console:?}"
    );
    assert_no_violations(&browser, "strict CSP, chat").await;
    browser.close().await;
}

async fn hostile_global_css_does_not_break_the_widget(engine: Engine) {
    let app = spawn_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = open_page_in(engine, &app, &pages, "hostile.html", "host-hostile-css").await;
    let w = Widget::new(&browser);
    // The page's rules are in force on the page itself.
    let page_font = browser
        .js(
            "return getComputedStyle(document.querySelector('main')).fontSize;",
            vec![],
        )
        .await;
    assert_eq!(
        page_font,
        json!("64px"),
        "the hostile stylesheet did not apply"
    );

    let [vw, vh] = browser.viewport().await;
    let [x, y, width, height] = w.rect("#psw-header").await;
    assert!(
        width > 100.0
            && height > 20.0
            && x >= 0.0
            && x + width <= vw + 0.5
            && y + height <= vh + 0.5,
        "the header is not on screen ({vw}×{vh}): {x},{y} {width}×{height}"
    );
    assert!(
        height < 120.0,
        "the header grew with the page's huge fonts: {height}px high"
    );
    for (selector, property, bad) in [
        ("#psw-title", "font-size", "64px"),
        ("#psw-title", "color", "rgb(255, 0, 255)"),
        ("#psw-title", "text-transform", "uppercase"),
        ("#psw-title", "font-family", "\"Comic Sans MS\", cursive"),
    ] {
        let value = w.style(selector, property).await;
        assert_ne!(value, bad, "the page's {property} leaked into {selector}");
    }
    browser.screenshot("collapsed").await;

    w.open().await;
    w.wait_text("#psw-agents", "3 agents available").await;
    let [px, py, pw, ph] = w.rect("#psw-panel").await;
    assert!(
        px >= 0.0 && py >= 0.0 && px + pw <= vw + 0.5 && py + ph <= vh + 0.5,
        "the open panel does not fit the viewport: {px},{py} {pw}×{ph}"
    );
    let font = w.style("#psw-agents", "font-size").await;
    assert_ne!(font, "64px", "the page's font size leaked into the panel");
    browser.screenshot("opened").await;

    // The form's controls are still controls: visible and typeable.
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-phone").await;
    w.type_into("#psw-phone", "+1 317 555 0100").await;
    assert_eq!(
        w.eval("return $('#psw-phone').value;").await,
        json!("+1 317 555 0100"),
        "typing into the phone field failed"
    );
    browser.screenshot("callback-form").await;
    assert_no_violations(&browser, "hostile CSS, callback form").await;
    browser.close().await;
}

async fn a_right_to_left_page_gets_a_right_to_left_widget(engine: Engine) {
    let app = spawn_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = open_page_in(engine, &app, &pages, "rtl.html", "host-rtl").await;
    let w = Widget::new(&browser);

    let direction = w.style("#psw-header", "direction").await;
    assert_eq!(
        direction, "rtl",
        "the widget is not right to left on an RTL page"
    );
    browser.screenshot("collapsed").await;
    w.open().await;
    // No Arabic pack: the English fallback, its number in the same digits as its words.
    w.wait_text("#psw-agents", "3 agents available").await;
    assert_eq!(
        w.style("#psw-panel", "direction").await,
        "rtl",
        "the panel is not RTL"
    );
    // Mirrored: the chat tile (first in DOM order) sits right of the callback tile.
    let [chat_x, ..] = w.rect("#psw-tile-chat").await;
    let [callback_x, ..] = w.rect("#psw-tile-callback").await;
    assert!(
        chat_x > callback_x,
        "the tiles are not mirrored: chat at x={chat_x}, callback at x={callback_x}"
    );
    browser.screenshot("opened").await;
    assert_no_violations(&browser, "RTL, opened").await;
    browser.close().await;
}
