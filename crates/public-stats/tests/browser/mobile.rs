//! A phone (375×740 CSS pixels, touch, mobile user agent): collapsed it stays a small bar; open,
//! below the 480 px breakpoint, it fills the screen and its inputs are on screen. In every
//! engine (touch and a mobile user agent in Chromium only, see [`Viewport::Phone`]).

use fantoccini::key::Key;
use serde_json::json;

use crate::axe::assert_no_violations;
use crate::browser::{Engine, Viewport};
use crate::helpers::spawn_app;
use crate::journey::{demo, page_queue};
use crate::widget::Widget;

in_every_engine!(on_a_phone_the_open_widget_fills_the_screen);

async fn on_a_phone_the_open_widget_fills_the_screen(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "mobile", Viewport::Phone).await;
    let w = Widget::new(&browser);
    let queue = page_queue(&browser).await;
    app.set_queue(queue, json!({ "agents": { "idle": 2 } }))
        .await;
    let [vw, vh] = browser.viewport().await;
    assert!(vw < 480.0, "the phone viewport is {vw} px wide");

    let [x, y, width, height] = w.rect("#psw-header").await;
    assert!(
        x >= 0.0 && x + width <= vw + 0.5 && y + height <= vh + 0.5 && height < vh / 4.0,
        "the collapsed header is not a bar on screen ({vw}×{vh}): {x},{y} {width}×{height}"
    );
    browser.screenshot("collapsed").await;
    assert_no_violations(&browser, "phone, collapsed").await;

    w.open().await;
    w.wait_text("#psw-agents", "2 agents available").await;
    let root = w
        .eval("const r = $('#psw').getBoundingClientRect(); return [r.x, r.y, r.width, r.height];")
        .await;
    let [rx, ry, rw, rh] = [0, 1, 2, 3].map(|i| root[i].as_f64().unwrap_or(f64::NAN));
    assert!(
        rx.abs() < 1.0 && ry.abs() < 1.0 && (rw - vw).abs() < 1.0 && (rh - vh).abs() < 1.0,
        "the open widget does not fill the {vw}×{vh} screen: {rx},{ry} {rw}×{rh}"
    );
    browser.screenshot("opened").await;
    assert_no_violations(&browser, "phone, opened").await;

    // The callback form's fields and button are reachable on screen.
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-phone").await;
    for field in ["#psw-first", "#psw-phone", "#psw-callback-submit"] {
        let element = w.find(field).await;
        // WebDriver refuses keys for an element that is not interactable; Shift alone types
        // nothing (WebKit's driver takes no empty text).
        element
            .send_keys(&char::from(Key::Shift).to_string())
            .await
            .unwrap_or_else(|e| panic!("{field} is not interactable on the phone: {e}"));
        w.eval(&format!(
            "$({}).scrollIntoView({{block: 'nearest'}});",
            json!(field)
        ))
        .await;
        let [fx, fy, fw, fh] = w.rect(field).await;
        assert!(
            fx >= 0.0 && fx + fw <= vw + 0.5 && fy >= 0.0 && fy + fh <= vh + 0.5,
            "{field} is off screen: {fx},{fy} {fw}×{fh}"
        );
    }
    browser.screenshot("callback-form").await;
    assert_no_violations(&browser, "phone, callback form").await;

    // The chat view: the message box is on screen, above the bottom edge.
    w.click("#psw-callback-back").await;
    w.click("#psw-tile-chat").await;
    w.wait_visible("#psw-chat-input").await;
    let [_, iy, _, ih] = w.rect("#psw-chat-input").await;
    assert!(
        iy >= 0.0 && iy + ih <= vh + 0.5,
        "the message box is off screen: y={iy} h={ih}"
    );
    browser.screenshot("chat").await;
    assert_no_violations(&browser, "phone, chat").await;

    // The visitor starts the chat and ends it: Presence Clear, then the ended state.
    w.type_into("#psw-chat-input", "Just checking").await;
    w.click("#psw-chat-send").await;
    w.wait_text("#psw-chat-log", "Just checking").await;
    w.wait_text("#psw-chat-end", "End chat").await;
    w.click("#psw-chat-end").await;
    w.wait_text("#psw-chat-ended", "The chat has ended").await;
    w.wait_visible("#psw-chat-new").await;
    browser.screenshot("chat-ended").await;
    assert_no_violations(&browser, "phone, chat ended by the visitor").await;
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

/// The widget follows the window, not only its size when it loaded: narrowed below 480 px it
/// takes the phone layout, widened again it leaves it (it measures in a `ResizeObserver`'s
/// reports, the first of which comes after the page's first layout).
#[tokio::test]
async fn a_window_narrowed_to_phone_width_gives_the_phone_layout_and_back() {
    let app = spawn_app().await;
    let (browser, _pages) = demo(Engine::Chromium, &app, "resized", Viewport::Desktop).await;
    let phone = "document.querySelector('public-stats-widget').hasAttribute('data-phone')";
    let width = "document.querySelector('public-stats-widget').style.getPropertyValue('--psw-vw')";
    browser
        .wait_js("the widget measured the screen", &format!("{width} !== ''"))
        .await;
    assert_eq!(browser.js(&format!("return {phone};"), vec![]).await, false);
    let metrics = |width: u32| json!({ "width": width, "height": 800, "deviceScaleFactor": 1, "mobile": false });
    browser
        .cdp("Emulation.setDeviceMetricsOverride", metrics(400))
        .await;
    browser
        .wait_js(
            "the phone layout below 480 px",
            &format!("{phone} === true"),
        )
        .await;
    browser
        .cdp("Emulation.setDeviceMetricsOverride", metrics(1000))
        .await;
    browser
        .wait_js("the wide layout again", &format!("{phone} === false"))
        .await;
}
