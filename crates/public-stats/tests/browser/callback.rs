//! The callback form against the service's accept-then-deliver contract: the checks before
//! sending (a preferred time from now to 14 days ahead), a field error from the service's
//! validation next to its field, a 202 with the confirmation while the simulator receives the
//! callback a moment later, and the refusals above the buttons in the visitor's words — a number
//! already pending (409), too many requests with when to try again (429), no capacity (503), a
//! lost connection. Each is announced, keeps the visitor's input and leaves the focus on the
//! button to try again. Also: one `Idempotency-Key` per submission, reused by a retry of the same
//! input, so a request whose answer was lost is stored once; and the honeypot, which people never
//! meet and which gets a bot an ordinary answer and nothing else. In every engine.
//!
//! Across origins (a site in `ALLOWED_ORIGINS`, in French): the key passes the CORS preflight,
//! `Retry-After` is readable, the refusal is in French, and a national number goes with the
//! region `callback.countryCode` names.
//!
//! What the page sends and receives is recorded by a wrapper around the page's `fetch` (see
//! [`record_requests`]), which can also fail a request as a network would.

use std::time::Duration;

use fantoccini::key::Key;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::axe::{assert_no_violations, assert_no_violations_within};
use crate::browser::{Browser, Engine, Viewport, WAIT};
use crate::helpers::{DEMO_SALES_QUEUE, TestApp, spawn_app, spawn_app_with};
use crate::host::HostPages;
use crate::journey::{demo, page_queue};
use crate::seed_host::{SeedPage, SeedPages};
use crate::widget::{HOST, Widget};

/// The visitor, as typed.
const FIRST: &str = "Ada";
const LAST: &str = "Lovelace";
const PHONE: &str = "+44 20 7946 0123";
/// [`PHONE`] as the widget sends it.
const PHONE_SENT: &str = "+442079460123";
/// Another number, for a second request from the same visitor.
const OTHER_PHONE: &str = "+1 317 555 0100";

in_every_engine!(
    a_refused_callback_says_why_where_it_belongs_and_keeps_the_input,
    a_number_already_pending_is_not_asked_for_twice,
    too_many_requests_and_a_full_service_say_when_to_try_again,
    a_retry_reuses_its_idempotency_key_so_a_lost_answer_stores_one_callback,
    the_honeypot_is_for_bots_only,
    across_origins_in_french_with_a_region_for_national_numbers,
);

async fn a_refused_callback_says_why_where_it_belongs_and_keeps_the_input(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "callback-errors", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    show_form(&w).await;
    let queue = page_queue(&browser).await;

    // The picker offers now to 14 days ahead (local time, to the minute).
    let range = w
        .eval(
            "const t = $('#psw-time'); \
             return { min: t.min, max: t.max, \
                      minOff: Math.abs(new Date(t.min) - Date.now()), \
                      maxOff: Math.abs(new Date(t.max) - (Date.now() + 14 * 864e5)) };",
        )
        .await;
    assert!(
        range["minOff"].as_f64().is_some_and(|ms| ms < 120_000.0)
            && range["maxOff"].as_f64().is_some_and(|ms| ms < 120_000.0),
        "the time field's min/max are not now and 14 days ahead: {range}"
    );

    // A preferred time in the past, or beyond the 14 days, is refused before sending.
    w.type_into("#psw-first", "Ada <3").await;
    w.type_into("#psw-last", LAST).await;
    w.type_into("#psw-phone", PHONE).await;
    set_time(&w, "2001-02-03T04:05").await;
    w.click("#psw-callback-submit").await;
    w.wait_text("#psw-time-error", "in the future").await;
    assert_eq!(
        w.focused().await,
        "psw-time",
        "the focus is not on the bad time"
    );
    set_time(&w, &local_time(&browser, 20).await).await;
    w.click("#psw-callback-submit").await;
    w.wait_text("#psw-time-error", "no later than").await;
    assert_eq!(
        w.focused().await,
        "psw-time",
        "the focus is not on the time beyond the window"
    );
    assert!(
        requests(&browser).await.is_empty(),
        "a form the widget refused was sent"
    );
    browser.screenshot("callback-time-too-late").await;
    let time = local_time(&browser, 3).await;
    set_time(&w, &time).await;

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
    assert_kept(&w, ["Ada <3", LAST, PHONE, &time]).await;
    let errors = w.events("error").await;
    assert_eq!(
        errors.last().map(|e| e["status"].clone()),
        Some(json!(400)),
        "no `error` event with the 400: {errors:?}"
    );
    browser.screenshot("callback-field-error").await;
    assert_no_violations(&browser, "callback refused by the server, field error").await;

    // Corrected, it is accepted (202): the confirmation names the number and the time at once,
    // and the simulator receives the callback a moment later.
    let name = w.find("#psw-first").await;
    name.clear().await.expect("clear the first name");
    w.type_into("#psw-first", FIRST).await;
    assert_eq!(
        w.text("#psw-first-error").await,
        "",
        "the name error stayed after the visitor corrected the name"
    );
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    let done = w.text("#psw-callback-done-text").await;
    assert!(
        done.contains(PHONE_SENT) && done.contains("around"),
        "the confirmation does not name the number and the time: {done}"
    );
    wait_announced(&w, &done).await;
    assert_eq!(
        w.focused().await,
        "psw-callback-close",
        "the focus is not on the confirmation's button"
    );
    let sent = requests(&browser).await;
    assert_eq!(sent.len(), 2, "the page sent {sent:#?}");
    assert_eq!(sent[0]["status"], 400, "{sent:#?}");
    assert_eq!(sent[1]["status"], 202, "{sent:#?}");
    let receipt = &sent[1]["answer"];
    assert!(
        receipt["id"].as_str().is_some_and(|id| id.len() == 32)
            && receipt["status"] == "pending"
            && receipt["numberEnding"] == "23",
        "not the service's receipt: {receipt}"
    );
    let callback_events = w.events("callback").await;
    assert_eq!(
        callback_events.last().map(|e| e["id"].clone()),
        Some(receipt["id"].clone()),
        "the `callback` event does not carry the receipt's id: {callback_events:?}"
    );
    for request in &sent {
        assert_eq!(
            request["body"]["website"], "",
            "the honeypot was not sent empty: {request}"
        );
        assert_uuid_key(request);
    }
    assert_ne!(
        sent[0]["key"], sent[1]["key"],
        "a changed input was sent with the same Idempotency-Key"
    );
    let received = wait_callbacks(&app, 1).await;
    let body = &received[0];
    assert_eq!(
        body["routingData"]["queueId"],
        json!(queue.to_string()),
        "{body}"
    );
    assert_eq!(body["callbackUserName"], "Ada Lovelace", "{body}");
    assert_eq!(body["callbackNumbers"], json!([PHONE_SENT]), "{body}");
    let same_instant = browser
        .js(
            "return Date.parse(arguments[0]) === new Date(arguments[1]).getTime();",
            vec![body["callbackScheduledTime"].clone(), json!(time)],
        )
        .await;
    assert_eq!(
        same_instant,
        json!(true),
        "the simulator's callbackScheduledTime is not the visitor's {time} (local): {body}"
    );
    browser.screenshot("callback-done").await;
    assert_no_violations(&browser, "callback accepted").await;
    assert_eq!(
        sim_callbacks(&app).await.len(),
        1,
        "a refused request reached the simulator too"
    );
    browser.close().await;
}

async fn a_number_already_pending_is_not_asked_for_twice(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "callback-pending", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    show_form(&w).await;
    fill(&w, FIRST, LAST, PHONE).await;
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    wait_callbacks(&app, 1).await;

    // The visitor asks again, in a new form: the service says the first is pending (409).
    ask_again(&w, PHONE).await;
    w.click("#psw-callback-submit").await;
    let message = wait_error(&w, "#psw-callback-error").await;
    assert!(
        message.contains("already pending"),
        "the 409 does not say that a callback to this number is pending: {message}"
    );
    assert_refusal_shown(&w, &message, 409, [FIRST, LAST, PHONE, ""]).await;
    let sent = requests(&browser).await;
    assert_eq!(
        sent.iter().map(|r| r["status"].clone()).collect::<Vec<_>>(),
        [json!(202), json!(409)],
        "{sent:#?}"
    );
    assert_eq!(
        sent[1]["answer"]["id"], sent[0]["answer"]["id"],
        "the 409 does not name the pending request"
    );
    assert_ne!(
        sent[0]["key"], sent[1]["key"],
        "a new form was sent with the Idempotency-Key of the accepted one (it would get the old receipt)"
    );
    browser.screenshot("callback-already-pending").await;
    assert_no_violations(&browser, "callback refused, already pending").await;
    assert_eq!(
        sim_callbacks(&app).await.len(),
        1,
        "the number was called twice"
    );
    browser.close().await;
}

async fn too_many_requests_and_a_full_service_say_when_to_try_again(engine: Engine) {
    // One request per address and hour: the second gets 429, with Retry-After.
    let limited = spawn_app_with(&["--callback-per-address-hourly", "1"]).await;
    let (browser, _pages) = demo(engine, &limited, "callback-limits", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    show_form(&w).await;
    fill(&w, FIRST, LAST, OTHER_PHONE).await;
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    ask_again(&w, PHONE).await;
    let time = local_time(&browser, 3).await;
    set_time(&w, &time).await;
    w.click("#psw-callback-submit").await;
    let message = wait_error(&w, "#psw-callback-error").await;
    let sent = requests(&browser).await;
    let refused = sent.last().expect("a request");
    assert_eq!(refused["status"], 429, "{sent:#?}");
    let seconds: u64 = refused["retryAfter"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the 429 has no Retry-After in seconds: {refused}"));
    let minutes = seconds.div_ceil(60);
    assert!(
        message.contains(&format!("try again in {minutes} minutes")),
        "the 429 does not say to try again in {minutes} minutes (Retry-After: {seconds}): {message}"
    );
    assert_refusal_shown(&w, &message, 429, [FIRST, LAST, PHONE, &time]).await;
    // Right above the buttons, below the last field.
    let [_, error_y, _, _] = w.rect("#psw-callback-error").await;
    let [_, submit_y, _, _] = w.rect("#psw-callback-submit").await;
    let [_, time_y, _, _] = w.rect("#psw-time").await;
    assert!(
        time_y < error_y && error_y < submit_y,
        "the message is not between the last field ({time_y}) and the buttons ({submit_y}): {error_y}"
    );
    browser.screenshot("callback-too-many").await;
    assert_no_violations(&browser, "callback refused, too many requests").await;

    // The service takes one request a day in all: the second gets 503. Trying the same input
    // again is the same submission: the same Idempotency-Key.
    let full = spawn_app_with(&["--callback-daily-limit", "1"]).await;
    let full_pages = HostPages::start(full.addr).await;
    browser.goto(&full_pages.demo_page()).await;
    w.wait_ready().await;
    show_form(&w).await;
    fill(&w, FIRST, LAST, OTHER_PHONE).await;
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    ask_again(&w, PHONE).await;
    w.click("#psw-callback-submit").await;
    let message = wait_error(&w, "#psw-callback-error").await;
    assert!(
        message.contains("try again later"),
        "the 503 does not tell the visitor to try again later: {message}"
    );
    assert_refusal_shown(&w, &message, 503, [FIRST, LAST, PHONE, ""]).await;
    browser.screenshot("callback-unavailable").await;
    assert_no_violations(&browser, "callback refused, no capacity (503)").await;
    w.click("#psw-callback-submit").await;
    w.wait(
        "the retry's answer",
        "window.__callbackRequests.length === 3 && window.__callbackRequests[2].status",
    )
    .await;
    let sent = requests(&browser).await;
    assert_eq!(
        sent.iter().map(|r| r["status"].clone()).collect::<Vec<_>>(),
        [json!(202), json!(503), json!(503)],
        "{sent:#?}"
    );
    assert_eq!(
        sent[1]["key"], sent[2]["key"],
        "the retry of the same input after a 503 got a new Idempotency-Key"
    );
    wait_announced(&w, &message).await;
    assert_kept(&w, [FIRST, LAST, PHONE, ""]).await;
    browser.close().await;
}

async fn a_retry_reuses_its_idempotency_key_so_a_lost_answer_stores_one_callback(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "callback-retry", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    show_form(&w).await;
    // The page is a secure context (loopback), where crypto.randomUUID exists; the widget's
    // fallback for plain-http pages is used when it does not.
    browser
        .js(
            "Object.defineProperty(Crypto.prototype, 'randomUUID', { value: undefined, configurable: true });",
            vec![],
        )
        .await;
    fill(&w, FIRST, LAST, PHONE).await;

    // Offline: nothing reaches the service, twice; the second try is the same submission.
    fail_next(&browser, &["offline", "offline"]).await;
    w.click("#psw-callback-submit").await;
    let message = wait_error(&w, "#psw-callback-error").await;
    assert!(
        message.contains("could not be sent"),
        "a network failure does not say the request was not sent: {message}"
    );
    assert_refusal_shown(&w, &message, 0, [FIRST, LAST, PHONE, ""]).await;
    w.click("#psw-callback-submit").await;
    w.wait("the second try", "window.__callbackRequests.length === 2")
        .await;
    wait_announced(&w, &message).await;

    // The visitor changes the name: another request, another key. It reaches the service, which
    // stores it, but its answer is lost on the way back.
    let last = w.find("#psw-last").await;
    last.clear().await.expect("clear the last name");
    w.type_into("#psw-last", "Byron").await;
    fail_next(&browser, &["lose"]).await;
    w.click("#psw-callback-submit").await;
    w.wait(
        "the lost answer",
        "window.__callbackRequests.length === 3 && window.__callbackRequests[2].status",
    )
    .await;
    wait_error(&w, "#psw-callback-error").await;
    assert_kept(&w, [FIRST, "Byron", PHONE, ""]).await;

    // Tried again: the same key, so the service answers with the stored request's receipt.
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    let sent = requests(&browser).await;
    assert_eq!(sent.len(), 4, "the page sent {sent:#?}");
    for request in &sent {
        assert_uuid_key(request);
    }
    assert_eq!(sent[0]["key"], sent[1]["key"], "the retry got a new key");
    assert_ne!(
        sent[1]["key"], sent[2]["key"],
        "a changed input kept the key"
    );
    assert_eq!(sent[2]["key"], sent[3]["key"], "the retry got a new key");
    assert_eq!(sent[2]["status"], 202, "{sent:#?}");
    assert_eq!(sent[3]["status"], 202, "{sent:#?}");
    assert_eq!(
        sent[3]["answer"]["id"], sent[2]["answer"]["id"],
        "the retry was stored as a second request"
    );
    let received = wait_callbacks(&app, 1).await;
    assert_eq!(received[0]["callbackUserName"], "Ada Byron");
    // The relay has delivered what was stored; a second request would be on its heels.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = sim_callbacks(&app).await;
    assert_eq!(received.len(), 1, "the simulator received {received:#?}");
    browser.screenshot("callback-done-after-retry").await;
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

async fn the_honeypot_is_for_bots_only(engine: Engine) {
    let app = spawn_app().await;
    let (browser, _pages) = demo(engine, &app, "callback-honeypot", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    show_form(&w).await;

    // In the form as an ordinary field for a bot reading the markup, hidden from assistive
    // technology and left out of the tab order.
    let field = w
        .eval(
            "const f = $('#psw-website'); const r = f.getBoundingClientRect(); \
             const box = f.closest('.psw-hp').getBoundingClientRect(); \
             return { form: !!f.closest('#psw-callback-form'), name: f.name, type: f.type, \
                      label: f.labels.length, tabindex: f.getAttribute('tabindex'), \
                      autocomplete: f.getAttribute('autocomplete'), \
                      ariaHidden: !!f.closest('[aria-hidden=true]'), inert: !!f.closest('[inert]'), \
                      right: r.right, width: box.width, height: box.height };",
        )
        .await;
    assert_eq!(
        [
            &field["form"],
            &field["name"],
            &field["type"],
            &field["label"],
            &field["tabindex"],
            &field["autocomplete"],
            &field["ariaHidden"],
            &field["inert"],
        ],
        [
            &json!(true),
            &json!("website"),
            &json!("text"),
            &json!(1),
            &json!("-1"),
            &json!("off"),
            &json!(true),
            &json!(true),
        ],
        "the honeypot: {field}"
    );
    // Invisible: entirely off-screen (left of the page), in a box of at most 1 px.
    assert!(
        field["right"].as_f64().is_some_and(|right| right <= 0.0)
            && field["width"].as_f64().is_some_and(|w| w <= 1.0)
            && field["height"].as_f64().is_some_and(|h| h <= 1.0),
        "the honeypot can be seen: {field}"
    );
    // Not focusable: Tab goes from the first field to the submit button without meeting it, and
    // even a script cannot focus it. (Tab also walks through the parts of the date field.)
    w.eval("$('#psw-first').focus();").await;
    let mut walked = vec![w.focused().await];
    for _ in 0..20 {
        if walked.last().is_some_and(|id| id == "psw-callback-submit") {
            break;
        }
        browser.press(Key::Tab).await;
        let focused = w.focused().await;
        if walked.last() != Some(&focused) {
            walked.push(focused);
        }
    }
    assert_eq!(
        walked,
        [
            "psw-first",
            "psw-last",
            "psw-phone",
            "psw-time",
            "psw-callback-back",
            "psw-callback-submit"
        ],
        "the tab order through the form"
    );
    let focused = w
        .eval("$('#psw-website').focus(); return root.activeElement && root.activeElement.id;")
        .await;
    assert_ne!(focused, json!("psw-website"), "the honeypot took the focus");
    assert_no_violations(&browser, "callback form with its honeypot").await;

    // A bot fills in everything: it gets the ordinary confirmation, and nothing is called.
    fill(&w, "Spam", "Bot", OTHER_PHONE).await;
    w.eval(
        "const f = $('#psw-website'); f.value = 'http://spam.example'; \
         f.dispatchEvent(new Event('input', { bubbles: true }));",
    )
    .await;
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;

    // A person, in a new form: the honeypot goes empty, and only this request is called back.
    ask_again(&w, PHONE).await;
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    let sent = requests(&browser).await;
    assert_eq!(
        sent.iter()
            .map(|r| (r["status"].clone(), r["body"]["website"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!(202), json!("http://spam.example")),
            (json!(202), json!(""))
        ],
        "{sent:#?}"
    );
    let received = wait_callbacks(&app, 1).await;
    assert_eq!(received[0]["callbackNumbers"], json!([PHONE_SENT]));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = sim_callbacks(&app).await;
    assert_eq!(
        received.len(),
        1,
        "the bot's request was called back: {received:#?}"
    );
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

async fn across_origins_in_french_with_a_region_for_national_numbers(engine: Engine) {
    // A site on another origin (allowed), in French, whose visitors write national numbers.
    let pages = SeedPages::start().await;
    let app = spawn_app_with(&[
        "--allowed-origins",
        &pages.origin(),
        "--callback-per-address-hourly",
        "1",
    ])
    .await;
    let page = SeedPage {
        extra: Some(json!({ "locale": "fr", "callback": { "countryCode": "GB" } })),
        ..SeedPage::migrated("seed-readme.html", app.addr, DEMO_SALES_QUEUE)
    };
    let browser = Browser::launch_in(engine, "callback-across-origins", Viewport::Desktop).await;
    browser.goto(&pages.url(&page, app.addr)).await;
    let w = Widget::new(&browser);
    w.wait_ready().await;
    show_form(&w).await;
    w.wait_text("#psw-callback", "Prénom").await;

    // The national number goes as typed with the region; the service reads it as British. The
    // Idempotency-Key passes the CORS preflight.
    fill(&w, FIRST, LAST, "020 7946 0123").await;
    w.click("#psw-callback-submit").await;
    w.wait_visible("#psw-callback-done").await;
    w.wait_text("#psw-callback-done-text", "Merci").await;
    let sent = requests(&browser).await;
    assert_eq!(sent.len(), 1, "the page sent {sent:#?}");
    assert_eq!(sent[0]["status"], 202, "{sent:#?}");
    assert_eq!(sent[0]["body"]["countryCode"], "GB", "{sent:#?}");
    assert_eq!(
        sent[0]["body"]["callbackNumbers"],
        json!(["02079460123"]),
        "{sent:#?}"
    );
    assert_uuid_key(&sent[0]);
    let received = wait_callbacks(&app, 1).await;
    assert_eq!(received[0]["callbackNumbers"], json!([PHONE_SENT]));

    // Too many: said in French, with the wait the service gave in Retry-After (which it exposes
    // to other origins).
    ask_again(&w, OTHER_PHONE).await;
    w.click("#psw-callback-submit").await;
    let message = wait_error(&w, "#psw-callback-error").await;
    let sent = requests(&browser).await;
    let refused = sent.last().expect("a request");
    assert_eq!(refused["status"], 429, "{sent:#?}");
    let minutes = refused["retryAfter"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("Retry-After is not readable across origins: {refused}"))
        .div_ceil(60);
    assert!(
        message.contains("Trop de demandes")
            && message.contains(&format!("dans {minutes} minutes")),
        "the 429 is not said in French with its wait of {minutes} minutes: {message}"
    );
    assert_refusal_shown(&w, &message, 429, [FIRST, LAST, OTHER_PHONE, ""]).await;
    browser.screenshot("fr-too-many").await;
    assert_no_violations_within(&browser, HOST, "French callback refused, too many requests").await;
    browser.close().await;
}

/// Records the page's callback requests, opens the widget and chooses the callback.
async fn show_form(w: &Widget<'_>) {
    record_requests(w.browser).await;
    w.open().await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-callback-form").await;
}

async fn fill(w: &Widget<'_>, first: &str, last: &str, phone: &str) {
    w.type_into("#psw-first", first).await;
    w.type_into("#psw-last", last).await;
    w.type_into("#psw-phone", phone).await;
}

/// After a confirmation: closes the widget, opens it again and fills in a new form with `phone`.
async fn ask_again(w: &Widget<'_>, phone: &str) {
    w.click("#psw-callback-close").await;
    w.wait_hidden("#psw-panel").await;
    w.open().await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-callback-form").await;
    assert_eq!(
        w.eval("return $('#psw-first').value + $('#psw-phone').value;")
            .await,
        json!(""),
        "the new form is not empty"
    );
    fill(w, FIRST, LAST, phone).await;
}

/// A refusal above the buttons: no field blamed, the focus on the button to try again,
/// announced, an `error` event with `status`, the visitor's input (`[first, last, phone, time]`)
/// kept.
async fn assert_refusal_shown(w: &Widget<'_>, message: &str, status: u16, kept: [&str; 4]) {
    let state = form_state(w).await;
    assert_eq!(
        state["invalid"],
        json!([]),
        "a field was blamed for a refusal about the request: {state}"
    );
    assert_eq!(
        state["errorBeforeButtons"],
        json!(true),
        "the message is not right above the buttons: {state}"
    );
    assert_eq!(
        w.focused().await,
        "psw-callback-submit",
        "the focus is not on the button to try again"
    );
    wait_announced(w, message).await;
    assert_kept(w, kept).await;
    let errors = w.events("error").await;
    assert_eq!(
        errors.last().map(|e| e["status"].clone()),
        Some(json!(status)),
        "no `error` event with the {status}: {errors:?}"
    );
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

/// 10:30 in the browser's time zone, `days` days from now, as a `datetime-local` value.
async fn local_time(browser: &Browser, days: u32) -> String {
    browser
        .js(
            "const d = new Date(Date.now() + arguments[0] * 864e5); d.setHours(10, 30, 0, 0); \
             const p = n => String(n).padStart(2, '0'); \
             return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;",
            vec![json!(days)],
        )
        .await
        .as_str()
        .expect("a local time")
        .to_owned()
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

/// The visitor's input (`[first, last, phone, time]`) is still in the form.
async fn assert_kept(w: &Widget<'_>, expected: [&str; 4]) {
    let values = w
        .eval("return ['#psw-first', '#psw-last', '#psw-phone', '#psw-time'].map(s => $(s).value);")
        .await;
    assert_eq!(values, json!(expected), "the visitor's input was not kept");
    assert!(
        w.is_visible("#psw-callback-form").await,
        "the form is gone after a failure"
    );
}

/// Wraps the page's `fetch`: each request to `/api/callback` is recorded in
/// `window.__callbackRequests` as `{key, body, fault, status, retryAfter, answer}`, and the faults
/// queued by [`fail_next`] are applied to the next requests in turn: "offline" fails it as a
/// network would, before it leaves; "lose" lets the service answer, then fails it as if the
/// answer were lost on the way back. Loaded by a script element, so that it is the page's own
/// code in every engine (Firefox runs WebDriver's scripts in a sandbox of their own): from the
/// test page server (`pages/fetch-recorder.js`) where there is one, because the demo page's
/// Content-Security-Policy refuses inline scripts; inline on the seed's pages, which have no
/// policy and are served by another server.
async fn record_requests(browser: &Browser) {
    let loaded = browser
        .js_async(
            "const [source, done] = arguments; \
             const inline = () => { const t = document.createElement('script'); \
               t.textContent = source; document.head.appendChild(t); t.remove(); \
               done(!!window.__callbackRequests); }; \
             const s = document.createElement('script'); s.src = '/__test/fetch-recorder.js'; \
             s.onload = () => done(!!window.__callbackRequests); s.onerror = inline; \
             document.head.appendChild(s);",
            vec![json!(include_str!("pages/fetch-recorder.js"))],
        )
        .await;
    assert_eq!(loaded, json!(true), "the fetch recorder did not load");
}

/// Queues faults for the next requests (see [`record_requests`]).
async fn fail_next(browser: &Browser, faults: &[&str]) {
    browser
        .js(
            "window.__callbackFaults.push(...arguments[0]);",
            vec![json!(faults)],
        )
        .await;
}

/// The requests recorded by [`record_requests`], oldest first.
async fn requests(browser: &Browser) -> Vec<Value> {
    browser
        .js("return window.__callbackRequests;", vec![])
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The request's `Idempotency-Key` is a version 4 UUID.
fn assert_uuid_key(request: &Value) {
    let key = request["key"].as_str().unwrap_or_default();
    assert!(
        Uuid::parse_str(key).is_ok_and(|uuid| uuid.get_version_num() == 4 && key.len() == 36),
        "the Idempotency-Key is not a UUID: {request}"
    );
}

/// The bodies the simulator received on `POST /api/v2/conversations/callbacks`.
async fn sim_callbacks(app: &TestApp) -> Vec<Value> {
    let log: Value = app
        .sim_control(reqwest::Method::GET, "/__sim/requests", None)
        .await
        .json()
        .await
        .expect("the request log is JSON");
    log["callbacks"].as_array().cloned().unwrap_or_default()
}

/// Waits until the simulator has received at least `count` callbacks (the service delivers
/// them after answering the visitor); returns them.
pub async fn wait_callbacks(app: &TestApp, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let received = sim_callbacks(app).await;
        if received.len() >= count {
            return received;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the simulator received {} callbacks, not {count}, within {WAIT:?}: {received:#?}",
            received.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
