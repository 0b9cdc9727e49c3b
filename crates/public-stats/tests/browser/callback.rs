//! The callback form when the server says no: a field error from the service's
//! validation goes next to its field, a failure of Genesys (503) goes above the buttons; both are
//! announced, the visitor's input (preferred time included) is kept, and the same form goes
//! through once the fault has cleared.

use serde_json::{Value, json};

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Viewport};
use crate::helpers::{TestApp, spawn_app};
use crate::journey::page_queue;
use crate::widget::Widget;

/// The preferred time the visitor picks, as the `datetime-local` input holds it (local time).
const TIME: &str = "2031-05-06T07:08";

#[tokio::test]
async fn a_refused_callback_says_why_where_it_belongs_and_keeps_the_input() {
    let app = spawn_app().await;
    let browser = Browser::launch("callback-errors", Viewport::Desktop).await;
    browser.goto(&app.url("/")).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    let queue = page_queue(&browser).await;
    w.open().await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-callback-form").await;

    // A preferred time in the past is refused before sending.
    w.type_into("#psw-first", "Ada <3").await;
    w.type_into("#psw-last", "Lovelace").await;
    w.type_into("#psw-phone", "+44 20 7946 0123").await;
    set_time(&w, "2001-02-03T04:05").await;
    w.click("#psw-callback-submit").await;
    w.wait_text("#psw-time-error", "in the future").await;
    assert_eq!(
        w.focused().await,
        "psw-time",
        "the focus is not on the bad time"
    );
    set_time(&w, TIME).await;

    // The service refuses the name ('<' is not allowed in `callbackUserName`), which the widget
    // does not check: the server's words go next to the name field, announced, nothing is lost.
    w.click("#psw-callback-submit").await;
    let reason = wait_error(&w, "#psw-first-error").await;
    let state = form_state(&w).await;
    assert_eq!(
        state["invalid"],
        json!(["psw-first"]),
        "only the name field should be marked invalid: {state}"
    );
    assert_eq!(
        state["formError"], "",
        "a field error also went above the buttons: {state}"
    );
    assert_eq!(
        w.focused().await,
        "psw-first",
        "the focus is not on the refused field"
    );
    wait_announced(&w, &reason).await;
    assert_kept(&w, "Ada <3").await;
    let errors = w.events("error").await;
    assert_eq!(
        errors.last().map(|e| e["status"].clone()),
        Some(json!(400)),
        "no `error` event with the 400: {errors:?}"
    );
    browser.screenshot("callback-field-error").await;
    assert_no_violations(&browser, "callback refused by the server, field error").await;

    // Genesys fails once: the service answers 503; the message goes above the buttons.
    let name = w.find("#psw-first").await;
    name.clear().await.expect("clear the first name");
    w.type_into("#psw-first", "Ada").await;
    assert_eq!(
        w.text("#psw-first-error").await,
        "",
        "the name error stayed after the visitor corrected the name"
    );
    let fault = app
        .sim_control(
            reqwest::Method::POST,
            "/__sim/faults",
            Some(json!({ "route": "POST /api/v2/conversations/callbacks", "status": 500, "times": 1 })),
        )
        .await;
    assert!(
        fault.status().is_success(),
        "adding the fault: {}",
        fault.status()
    );
    w.click("#psw-callback-submit").await;
    let message = wait_error(&w, "#psw-callback-error").await;
    assert!(
        message.to_lowercase().contains("try again"),
        "the 503 message does not tell the visitor what to do: {message}"
    );
    let state = form_state(&w).await;
    assert_eq!(
        state["invalid"],
        json!([]),
        "a field was blamed for a server failure: {state}"
    );
    assert_eq!(
        state["errorBeforeButtons"],
        json!(true),
        "the message is not right above the buttons: {state}"
    );
    let [_, error_y, _, _] = w.rect("#psw-callback-error").await;
    let [_, submit_y, _, _] = w.rect("#psw-callback-submit").await;
    let [_, time_y, _, _] = w.rect("#psw-time").await;
    assert!(
        time_y < error_y && error_y < submit_y,
        "the message is not between the last field ({time_y}) and the buttons ({submit_y}): {error_y}"
    );
    assert_eq!(
        w.focused().await,
        "psw-callback-submit",
        "the focus is not on the button to try again"
    );
    wait_announced(&w, &message).await;
    assert_kept(&w, "Ada").await;
    let errors = w.events("error").await;
    assert_eq!(
        errors.last().map(|e| e["status"].clone()),
        Some(json!(503)),
        "no `error` event with the 503: {errors:?}"
    );
    assert!(
        callbacks(&app).await.is_empty(),
        "a refused callback reached the simulator"
    );
    browser.screenshot("callback-server-error").await;
    assert_no_violations(&browser, "callback refused by the server, 503").await;

    // The fault has cleared: the same input goes through, with its preferred time.
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    let done = w.text("#psw-callback-done-text").await;
    assert!(
        done.contains("+442079460123") && done.contains("around"),
        "the confirmation does not name the number and the time: {done}"
    );
    let received = callbacks(&app).await;
    assert_eq!(received.len(), 1, "the simulator received {received:?}");
    let body = &received[0];
    assert_eq!(
        body["routingData"]["queueId"],
        json!(queue.to_string()),
        "{body}"
    );
    assert_eq!(body["callbackUserName"], "Ada Lovelace", "{body}");
    let same_instant = browser
        .js(
            "return Date.parse(arguments[0]) === new Date(arguments[1]).getTime();",
            vec![body["callbackScheduledTime"].clone(), json!(TIME)],
        )
        .await;
    assert_eq!(
        same_instant,
        json!(true),
        "the simulator's callbackScheduledTime is not the visitor's {TIME} (local): {body}"
    );
    browser.screenshot("callback-done-after-retry").await;
    browser.close().await;
}

/// Sets the `datetime-local` field as the browser's picker does (typing into its segments
/// depends on the browser's locale).
async fn set_time(w: &Widget<'_>, local: &str) {
    w.eval(&format!(
        "const t = $('#psw-time'); t.value = {v}; t.dispatchEvent(new Event('input', {{ bubbles: true }})); \
         return t.value;",
        v = json!(local)
    ))
    .await;
}

/// Waits until the error element has text; returns it.
async fn wait_error(w: &Widget<'_>, selector: &str) -> String {
    w.wait(
        &format!("a message in {selector}"),
        &format!("$({s}) && $({s}).textContent.trim()", s = json!(selector)),
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Which fields are marked invalid, the form-level error, and whether it sits right before the
/// buttons.
async fn form_state(w: &Widget<'_>) -> Value {
    w.eval(
        "return { invalid: [...root.querySelectorAll('[aria-invalid=true]')].map(e => e.id), \
                  formError: $('#psw-callback-error').textContent, \
                  errorBeforeButtons: !!$('#psw-callback-error').nextElementSibling \
                    && $('#psw-callback-error').nextElementSibling.contains($('#psw-callback-submit')) };",
    )
    .await
}

/// Waits until the assertive live region says `text`.
async fn wait_announced(w: &Widget<'_>, text: &str) {
    let region = w
        .eval("const a = $('#psw-announce'); return a.getAttribute('aria-live');")
        .await;
    assert_eq!(
        region,
        json!("assertive"),
        "#psw-announce is not an assertive live region"
    );
    w.wait_text("#psw-announce", text).await;
}

/// The visitor's input is still in the form.
async fn assert_kept(w: &Widget<'_>, first: &str) {
    let values = w
        .eval("return ['#psw-first', '#psw-last', '#psw-phone', '#psw-time'].map(s => $(s).value);")
        .await;
    assert_eq!(
        values,
        json!([first, "Lovelace", "+44 20 7946 0123", TIME]),
        "the visitor's input was not kept"
    );
    assert!(
        w.is_visible("#psw-callback-form").await,
        "the form is gone after a failure"
    );
}

/// The bodies the simulator received on `POST /api/v2/conversations/callbacks`.
async fn callbacks(app: &TestApp) -> Vec<Value> {
    let log: Value = app
        .sim_control(reqwest::Method::GET, "/__sim/requests", None)
        .await
        .json()
        .await
        .expect("the request log is JSON");
    log["callbacks"].as_array().cloned().unwrap_or_default()
}
