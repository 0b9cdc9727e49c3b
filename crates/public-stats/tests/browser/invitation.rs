//! The proactive invitation: the chooser opened with the site's message after some seconds on
//! the page (`invitation` in the settings) or through `publicStatsWidget.invite()`, at most once
//! per visit, announced without taking the focus, and dismissed from the keyboard.

use std::time::Duration;

use fantoccini::key::Key;
use serde_json::json;

use crate::axe;
use crate::browser::{Browser, Viewport};
use crate::helpers::spawn_app;
use crate::host::HostPages;
use crate::widget::Widget;

/// JS: whether the focus is anywhere inside the widget.
const FOCUS_IN_WIDGET: &str = "const h = document.querySelector('public-stats-widget'); \
     return document.activeElement === h || !!(h && h.shadowRoot.activeElement);";

#[tokio::test]
async fn the_configured_invitation_opens_the_chooser_once_per_visit() {
    let app = spawn_app().await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("invitation-configured", Viewport::Desktop).await;
    let page = pages.configured(&json!({
        "invitation": { "afterSeconds": 2, "message": { "en": "Need a hand choosing a plan?", "fr": "Besoin d'aide ?" } }
    }));
    browser.goto(&page).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    // Not before its seconds.
    assert!(!w.is_visible("#psw-invite").await, "invited at once");
    assert_eq!(w.expanded().await, "false");
    w.wait(
        "the invitation",
        "$('#psw-invite') && $('#psw-panel').getBoundingClientRect().height > 100",
    )
    .await;
    w.wait_still("#psw-panel").await;
    assert_eq!(
        w.text("#psw-invite-text").await,
        "Need a hand choosing a plan?"
    );
    assert_eq!(w.expanded().await, "true");
    w.wait(
        "the announcement",
        "$('#psw-announce').textContent === 'Need a hand choosing a plan?'",
    )
    .await;
    assert_eq!(
        browser.js(FOCUS_IN_WIDGET, vec![]).await,
        json!(false),
        "the invitation took the focus"
    );
    browser.screenshot("invited").await;
    axe::assert_no_violations(&browser, "the invitation shown").await;
    // A reload in the same visit: no second invitation.
    browser.reload().await;
    w.wait_ready().await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert!(
        !w.is_visible("#psw-invite").await,
        "invited twice in a visit"
    );
    assert_eq!(w.expanded().await, "false");
    browser.screenshot("after-reload").await;
    browser
        .assert_no_console_errors("with the invitation")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn the_api_invites_and_the_keyboard_dismisses_it() {
    let app = spawn_app().await;
    let browser = Browser::launch("invitation-api", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    browser
        .js(
            "window.publicStatsWidget.on('invited', d => { window.__invited = d; }); \
             window.publicStatsWidget.invite('Questions about roaming? Ask us.');",
            vec![],
        )
        .await;
    w.wait_text("#psw-invite-text", "Questions about roaming? Ask us.")
        .await;
    w.wait_still("#psw-panel").await;
    assert_eq!(
        browser.js("return window.__invited;", vec![]).await,
        json!({ "message": "Questions about roaming? Ask us." }),
        "the invited event"
    );
    assert_eq!(browser.js(FOCUS_IN_WIDGET, vec![]).await, json!(false));
    browser.screenshot("invited-by-api").await;
    axe::assert_no_violations(&browser, "the invitation shown by the API").await;
    // Keyboard alone: Tab from the page into the widget reaches the header, then the panel's
    // controls; the invitation's own button is the first of them.
    browser
        .js(
            "document.activeElement && document.activeElement.blur(); document.body.focus();",
            vec![],
        )
        .await;
    let mut reached = false;
    for _ in 0..12 {
        browser.press(Key::Tab).await;
        if w.focused().await == "psw-invite-close" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the invitation's button");
    browser.press(Key::Enter).await;
    w.wait(
        "the widget closed",
        "!$('#psw-invite') && $('#psw-header').getAttribute('aria-expanded') === 'false'",
    )
    .await;
    browser.screenshot("dismissed").await;
    // Once per visit, also through the API.
    browser
        .js("window.publicStatsWidget.invite('Again?');", vec![])
        .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        !w.is_visible("#psw-invite").await,
        "invited twice in a visit"
    );
    assert_eq!(w.expanded().await, "false");
    browser
        .assert_no_console_errors("after the invitation")
        .await;
    browser.close().await;
}
