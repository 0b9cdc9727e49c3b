//! Keyboard-only use: no pointer event at all, only key presses wherever the focus is. Tab
//! reaches the header, Enter and Space open it, the focus moves into the panel and back to the
//! header on close, Esc closes, the focus is visible, and a callback can be sent from the keys.
//! In every engine.

use fantoccini::key::Key;
use serde_json::json;

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Engine, Viewport};
use crate::helpers::spawn_app;
use crate::journey::demo;
use crate::widget::Widget;

/// Presses Tab until the focus is on `id` inside the widget; fails after `max` presses.
async fn tab_to(browser: &Browser, w: &Widget<'_>, id: &str, max: usize) {
    let mut path = Vec::new();
    for _ in 0..max {
        browser.press(Key::Tab).await;
        let focused = w.focused().await;
        if focused == id {
            return;
        }
        path.push(if focused.is_empty() {
            page_focus(browser).await
        } else {
            focused
        });
    }
    panic!("{max} Tabs never reached #{id}; the focus went {path:?}");
}

/// What has the focus outside the widget, for failure messages.
async fn page_focus(browser: &Browser) -> String {
    browser
        .js(
            "const e = document.activeElement; return e ? e.outerHTML.slice(0, 60) : 'nothing';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

in_every_engine!(the_widget_works_with_the_keyboard_alone);

async fn the_widget_works_with_the_keyboard_alone(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "keyboard", Viewport::Desktop).await;
    let w = Widget::new(&browser);

    // The header is reachable with Tab (after the page's own links and buttons) and shows that
    // it has the focus.
    tab_to(&browser, &w, "psw-header", 30).await;
    let ring = w
        .eval(
            "const h = $('#psw-header'); const c = getComputedStyle(h); \
             return { visible: h.matches(':focus-visible'), outline: c.outlineStyle, \
                      width: c.outlineWidth, shadow: c.boxShadow };",
        )
        .await;
    assert_eq!(
        ring["visible"],
        json!(true),
        "the header is not :focus-visible"
    );
    assert!(
        (ring["outline"] != "none" && ring["width"] != "0px") || ring["shadow"] != "none",
        "the focused header shows no focus indicator: {ring}"
    );
    browser.screenshot("header-focused").await;
    assert_no_violations(&browser, "collapsed, header focused").await;

    // Enter opens it and moves the focus into the panel; Esc closes it and gives the focus back.
    browser.press(Key::Enter).await;
    w.wait_visible("#psw-panel").await;
    w.wait_still("#psw-panel").await;
    assert_eq!(w.expanded().await, "true", "Enter did not open the widget");
    let inside = w.focused().await;
    assert!(
        inside.starts_with("psw-tile-"),
        "the focus did not move into the panel on open: '{inside}'"
    );
    browser.screenshot("opened-with-enter").await;
    browser.press(Key::Escape).await;
    w.wait_hidden("#psw-panel").await;
    assert_eq!(w.expanded().await, "false", "Esc did not close the widget");
    assert_eq!(
        w.focused().await,
        "psw-header",
        "the focus did not return to the header"
    );

    // Space opens it too; Tab walks to the callback tile, Space chooses it.
    browser.press_char(' ').await;
    w.wait_visible("#psw-panel").await;
    assert_eq!(w.expanded().await, "true", "Space did not open the widget");
    w.wait_visible("#psw-tile-callback").await;
    tab_to(&browser, &w, "psw-tile-callback", 3).await;
    browser.press_char(' ').await;
    w.wait_visible("#psw-callback-form").await;
    assert_eq!(
        w.focused().await,
        "psw-first",
        "the callback form did not take the focus"
    );

    // The form in tab order, sent with Enter.
    browser.type_text("Grace").await;
    tab_to(&browser, &w, "psw-last", 1).await;
    browser.type_text("Hopper").await;
    tab_to(&browser, &w, "psw-phone", 1).await;
    browser.type_text("+44 20 7946 0958").await;
    browser.screenshot("callback-typed").await;
    browser.press(Key::Enter).await;
    w.wait_visible("#psw-callback-done").await;
    assert_eq!(
        w.focused().await,
        "psw-callback-close",
        "the focus is not on the confirmation's button"
    );
    // Accepted first, delivered a moment later.
    let sent = serde_json::to_string(&crate::callback::wait_callbacks(&app, 1).await)
        .expect("the callbacks as JSON");
    assert!(
        sent.contains("442079460958") && sent.contains("Grace"),
        "the simulator did not receive the keyboard-made callback: {sent}"
    );
    browser.screenshot("callback-sent").await;
    assert_no_violations(&browser, "callback sent with the keyboard").await;

    // Esc from inside the panel closes it, and the focus is back on the header.
    browser.press(Key::Escape).await;
    w.wait_hidden("#psw-panel").await;
    assert_eq!(
        w.focused().await,
        "psw-header",
        "the focus was lost on close"
    );
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}
