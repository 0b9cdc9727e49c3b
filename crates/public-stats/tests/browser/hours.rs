//! Business hours in the widget, against the service's evaluation of the sandbox's schedule group:
//! the collapsed header and the chooser when open, closed, on a holiday and in an emergency (each
//! with a screenshot and axe-core), the site's own texts per language, the availability rules
//! that hide or disable a channel, the callback form offering only open slots while closed and
//! saying when the call will come, a time outside the hours refused before sending or by the
//! service, and the header following the queue live when it closes.
//!
//! States are set as an admin would, through the simulator's Architect endpoints (`PUT` on the
//! demo org's schedules and emergency group), with times relative to now written in the demo
//! group's zone (London), so that nothing depends on the time of day; the service rereads them
//! every two seconds (`--hours-refresh-seconds 2`), and each test waits for its answer first, so a
//! failure names the layer at fault. What the widget should say is worked out in the page, on the
//! browser's own clock and calendar, since the visitor's time zone is the one that counts.

use std::time::Duration;

use fantoccini::key::Key;
use genesys_sim::config::{
    DEMO_CLOSED_SCHEDULE, DEMO_EMERGENCY_GROUP, DEMO_HOLIDAY_SCHEDULE, DEMO_OPEN_SCHEDULE,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::axe::assert_no_violations;
use crate::browser::{Browser, Engine, Viewport};
use crate::callback::wait_callbacks;
use crate::helpers::{TestApp, spawn_app_with};
use crate::host::HostPages;
use crate::journey::{demo, page_queue};
use crate::widget::Widget;

in_every_engine!(each_state_reads_right_in_the_header_and_the_chooser);

/// The service rereads the org's hours every two seconds, so a change an admin makes shows
/// soon. (Every second would be five requests a second, Genesys's whole rate limit per token.)
async fn hours_app() -> TestApp {
    spawn_app_with(&["--hours-refresh-seconds", "2"]).await
}

/// The demo org's business hours, changed as an admin changes them: Genesys's `PUT` on a
/// schedule or the emergency group, naming the version it replaces.
struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    async fn login(app: &TestApp) -> Admin {
        let org = app.sim().org();
        let base = app.sim().base_url();
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{base}/oauth/token"))
            .basic_auth(&org.client_id, Some(&org.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token answer");
        let token = token["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned();
        Admin { http, base, token }
    }

    /// Replaces the object at `path` with `fields`, keeping its name.
    async fn replace(&self, path: &str, fields: Value) {
        let url = format!("{}{path}", self.base);
        let current: Value = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("read the object")
            .json()
            .await
            .expect("the object is JSON");
        let mut body = json!({ "name": current["name"], "version": current["version"] });
        if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
            body.extend(fields);
        }
        let response = self
            .http
            .put(&url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("replace the object");
        assert_eq!(
            response.status(),
            200,
            "PUT {path}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// A demo schedule from `start` to `end` (instants, written as London wall-clock times),
    /// repeated by `rrule`.
    async fn schedule(
        &self,
        id: Uuid,
        start: OffsetDateTime,
        end: OffsetDateTime,
        rrule: Option<&str>,
    ) {
        self.replace(
            &format!("/api/v2/architect/schedules/{id}"),
            json!({ "start": london(start), "end": london(end), "rrule": rrule }),
        )
        .await;
    }

    async fn emergency(&self, enabled: bool) {
        self.replace(
            &format!("/api/v2/architect/emergencygroups/{DEMO_EMERGENCY_GROUP}"),
            json!({ "enabled": enabled }),
        )
        .await;
    }

    /// Open from `opens` for three hours every day (and closed until then).
    async fn open_daily_from(&self, opens: OffsetDateTime) {
        self.schedule(
            DEMO_OPEN_SCHEDULE,
            opens,
            opens + time::Duration::hours(3),
            Some("FREQ=DAILY"),
        )
        .await;
    }
}

/// `at` as a wall-clock time in London, in Genesys's `LocalDateTime` form.
fn london(at: OffsetDateTime) -> String {
    let utc = chrono::DateTime::from_timestamp(at.unix_timestamp(), 0).expect("a valid instant");
    utc.with_timezone(&chrono_tz::Europe::London)
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

/// Now, to the second (the service evaluates hours to the second).
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("zero nanoseconds")
}

fn instant(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|_| panic!("{text} is RFC 3339"))
}

/// Waits until the service's own `key=hours` for the queue satisfies `check`; returns the hours.
async fn service_hours(app: &TestApp, queue: Uuid, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = app.get_json(&format!("/api/stats/{queue}?key=hours")).await;
        if status == 200 && body["hours"].get("stale").is_none() && check(&body["hours"]) {
            return body["hours"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service (not the widget) never gave the expected hours: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How the visitor's browser says `iso` in English, worked out on its own clock and calendar:
/// "today at 8:00 AM", "tomorrow at …", "Monday at …", a week or more ahead with the date.
async fn english_when(browser: &Browser, iso: &str) -> String {
    browser
        .js(
            "const d = new Date(arguments[0]), now = new Date(); \
             const midnight = x => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime(); \
             const days = Math.round((midnight(d) - midnight(now)) / 864e5); \
             const time = d.toLocaleTimeString('en', { timeStyle: 'short' }); \
             if (days === 0) return `today at ${time}`; \
             if (days === 1) return `tomorrow at ${time}`; \
             const day = d.toLocaleDateString('en', days < 7 ? { weekday: 'long' } \
               : { weekday: 'long', day: 'numeric', month: 'long' }); \
             return `${day} at ${time}`;",
            vec![json!(iso)],
        )
        .await
        .as_str()
        .expect("a text")
        .to_owned()
}

/// A tile's state: hidden, `aria-disabled`, and its note.
async fn tile(w: &Widget<'_>, channel: &str) -> Value {
    w.eval(&format!(
        "const t = $('#psw-tile-{channel}'), n = $('#psw-tile-{channel}-note'); \
         return {{ hidden: t.hidden, disabled: t.getAttribute('aria-disabled'), \
                   note: n.hidden ? null : n.textContent }};"
    ))
    .await
}

/// Opens `url` with fresh storage and waits until the collapsed header says `hours`.
async fn visit(w: &Widget<'_>, url: &str, hours: &str) {
    w.browser.goto_fresh(url).await;
    w.wait_ready().await;
    w.wait_text("#psw-header-hours", hours).await;
}

/// `iso` as the browser writes a time in `language` (`timeStyle: 'short'`).
async fn local_clock(browser: &Browser, iso: &str, language: &str) -> String {
    browser
        .js(
            "return new Date(arguments[0]).toLocaleTimeString(arguments[1], { timeStyle: 'short' });",
            vec![json!(iso), json!(language)],
        )
        .await
        .as_str()
        .expect("a time")
        .to_owned()
}

fn next_change(hours: &Value) -> &str {
    hours["nextChange"]
        .as_str()
        .unwrap_or_else(|| panic!("no next change in {hours}"))
}

/// A tile shown and usable.
fn usable() -> Value {
    json!({ "hidden": false, "disabled": null, "note": null })
}

/// A tile shown, disabled, saying `note`.
fn disabled(note: &str) -> Value {
    json!({ "hidden": false, "disabled": "true", "note": note })
}

async fn each_state_reads_right_in_the_header_and_the_chooser(engine: Engine) {
    let app = hours_app().await;
    let admin = Admin::login(&app).await;
    let (browser, pages) = demo(engine, &app, "hours-states", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let queue = page_queue(&browser).await;
    app.set_queue(queue, json!({ "agents": { "idle": 3 } }))
        .await;

    // Open (the demo org's hours): said in the collapsed header, asked for once at load; the
    // channels as they always were.
    service_hours(&app, queue, |h| h["open"] == true).await;
    w.wait_text("#psw-header-hours", "Open now").await;
    assert_eq!(w.text("#psw-header-hours").await, "Open now");
    browser.screenshot("open-collapsed").await;
    assert_no_violations(&browser, "open, collapsed").await;
    w.open().await;
    w.wait_text("#psw-hours", "Open now").await;
    w.wait_text("#psw-agents", "3 agents available").await;
    assert_eq!(tile(&w, "chat").await, usable(), "chat while open");
    assert_eq!(tile(&w, "callback").await, usable(), "callback while open");
    browser.screenshot("open-chooser").await;
    assert_no_violations(&browser, "open, chooser").await;

    // A holiday now, for an hour and a half: closed, and when it opens again. The chat is
    // disabled (its tile says when it comes back), the callback steered to.
    let t = now();
    admin
        .schedule(
            DEMO_HOLIDAY_SCHEDULE,
            t - time::Duration::hours(1),
            t + time::Duration::minutes(90),
            None,
        )
        .await;
    let hours = service_hours(&app, queue, |h| h["reason"] == "holiday").await;
    let opens = english_when(&browser, next_change(&hours)).await;
    let expected = format!("Closed for a holiday — opens {opens}");
    visit(&w, &pages.demo_page(), &expected).await;
    assert_eq!(w.text("#psw-header-hours").await, expected);
    browser.screenshot("holiday-collapsed").await;
    assert_no_violations(&browser, "holiday, collapsed").await;
    w.open().await;
    w.wait_text("#psw-hours", &expected).await;
    w.wait_visible("#psw-none").await;
    assert_eq!(
        tile(&w, "chat").await,
        disabled(&format!("Available {opens}")),
        "chat on a holiday"
    );
    assert_eq!(
        tile(&w, "callback").await,
        usable(),
        "callback on a holiday"
    );
    assert!(
        !w.is_visible("#psw-agents").await,
        "the counts show while closed"
    );
    browser.screenshot("holiday-chooser").await;
    assert_no_violations(&browser, "holiday, chooser").await;
    // The disabled tile keeps the focus (it is read with its note) but starts nothing.
    w.click("#psw-tile-chat").await;
    assert!(
        w.is_visible("#psw-chooser").await && !w.is_visible("#psw-chat").await,
        "a disabled chat tile started a chat"
    );

    // The site's own texts, per language: English with the opening where it put {when}; French
    // with the opening added.
    let own = json!({ "hours": { "messages": {
        "en": { "holiday": "Closed for the staff party, back {when}" },
        "fr": { "holiday": "Fermé pour la fête du personnel" } } } });
    visit(
        &w,
        &pages.configured(&own),
        &format!("Closed for the staff party, back {opens}"),
    )
    .await;
    let mut french = own.clone();
    french["locale"] = json!("fr");
    let fr_time = local_clock(&browser, next_change(&hours), "fr").await;
    visit(
        &w,
        &pages.configured(&french),
        "Fermé pour la fête du personnel — ouvre ",
    )
    .await;
    let text = w.text("#psw-header-hours").await;
    assert!(
        text.ends_with(&format!(" à {fr_time}")),
        "the French opening is not at {fr_time}: {text}"
    );
    browser.screenshot("holiday-own-text-fr").await;

    // An emergency: closed with no opening ahead; neither channel can be used, and nothing
    // steers to a callback the service would refuse.
    admin.emergency(true).await;
    service_hours(&app, queue, |h| h["reason"] == "emergency").await;
    visit(&w, &pages.demo_page(), "Closed due to an emergency").await;
    assert_eq!(
        w.text("#psw-header-hours").await,
        "Closed due to an emergency"
    );
    browser.screenshot("emergency-collapsed").await;
    assert_no_violations(&browser, "emergency, collapsed").await;
    w.open().await;
    w.wait_text("#psw-hours", "Closed due to an emergency")
        .await;
    for channel in ["chat", "callback"] {
        assert_eq!(
            tile(&w, channel).await,
            disabled("Not available right now"),
            "{channel} in an emergency"
        );
    }
    assert!(
        !w.is_visible("#psw-none").await,
        "steered to a callback that cannot be taken"
    );
    browser.screenshot("emergency-chooser").await;
    assert_no_violations(&browser, "emergency, chooser").await;
    // The page asks for a chat or a callback: the chooser, whose tiles say why not.
    w.click("#psw-header").await;
    w.wait_hidden("#psw-panel").await;
    browser.js("publicStatsWidget.open('chat');", vec![]).await;
    w.wait_visible("#psw-chooser").await;
    browser
        .js("publicStatsWidget.close().open('callback');", vec![])
        .await;
    w.wait_visible("#psw-chooser").await;
    assert!(
        !w.is_visible("#psw-chat").await && !w.is_visible("#psw-callback").await,
        "a channel the rules turn off was opened"
    );

    // Closed until the day's opening in two hours: the chat says when it comes, the callback is
    // offered.
    admin.emergency(false).await;
    admin
        .schedule(
            DEMO_HOLIDAY_SCHEDULE,
            t + time::Duration::days(6),
            t + time::Duration::days(6) + time::Duration::hours(1),
            None,
        )
        .await;
    let opens_at = now() + time::Duration::hours(2);
    admin.open_daily_from(opens_at).await;
    let hours = service_hours(&app, queue, |h| h["reason"] == "closed").await;
    assert_eq!(instant(next_change(&hours)), opens_at, "{hours}");
    let opens = english_when(&browser, next_change(&hours)).await;
    let expected = format!("Closed — opens {opens}");
    visit(&w, &pages.demo_page(), &expected).await;
    assert_eq!(w.text("#psw-header-hours").await, expected);
    browser.screenshot("closed-collapsed").await;
    assert_no_violations(&browser, "closed, collapsed").await;
    w.open().await;
    w.wait_text("#psw-hours", &expected).await;
    assert_eq!(
        tile(&w, "chat").await,
        disabled(&format!("Available {opens}")),
        "chat while closed"
    );
    assert_eq!(
        tile(&w, "callback").await,
        usable(),
        "callback while closed"
    );
    w.wait_visible("#psw-none").await;
    browser.screenshot("closed-chooser").await;
    assert_no_violations(&browser, "closed, chooser").await;

    // In French: the pack's words, the visitor's clock.
    let fr_time = local_clock(&browser, next_change(&hours), "fr").await;
    visit(
        &w,
        &pages.configured(&json!({ "locale": "fr" })),
        "Fermé — ouvre ",
    )
    .await;
    let text = w.text("#psw-header-hours").await;
    assert!(
        text.ends_with(&format!(" à {fr_time}")),
        "the French opening is not at {fr_time}: {text}"
    );
    w.open().await;
    w.wait_text("#psw-tile-chat-note", "Disponible ").await;
    browser.screenshot("closed-chooser-fr").await;
    assert_no_violations(&browser, "closed, chooser, French").await;
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

/// A time in the browser's zone as a `datetime-local` value.
async fn local_input(browser: &Browser, at: OffsetDateTime) -> String {
    browser
        .js(
            "const d = new Date(arguments[0] * 1000); const p = n => String(n).padStart(2, '0'); \
             return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;",
            vec![json!(at.unix_timestamp())],
        )
        .await
        .as_str()
        .expect("a local time")
        .to_owned()
}

async fn set_time(w: &Widget<'_>, local: &str) {
    w.eval(&format!(
        "const t = $('#psw-time'); t.value = {v}; t.dispatchEvent(new Event('input', {{ bubbles: true }}));",
        v = json!(local)
    ))
    .await;
}

/// `iso` as the confirmation writes it: date and time, in English.
async fn confirmation_time(browser: &Browser, iso: &str) -> String {
    browser
        .js(
            "return new Date(arguments[0]).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });",
            vec![json!(iso)],
        )
        .await
        .as_str()
        .expect("a time")
        .to_owned()
}

fn iso(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .expect("a valid instant")
        .format(&Rfc3339)
        .expect("RFC 3339")
}

/// Every half hour of the visitor's clock (in a zone whose offset is whole half hours, as
/// here, those are the half hours of UTC) inside the open periods, as epoch milliseconds.
fn half_hours_within(intervals: &Value) -> Vec<i64> {
    const STEP: i64 = 30 * 60 * 1000;
    let mut slots = Vec::new();
    for interval in intervals.as_array().expect("open intervals") {
        let ms = |key: &str| {
            (instant(interval[key].as_str().expect("a bound")).unix_timestamp_nanos() / 1_000_000)
                as i64
        };
        let (start, end) = (ms("start"), ms("end"));
        let mut slot = (start + STEP - 1).div_euclid(STEP) * STEP;
        while slot < end {
            slots.push(slot);
            slot += STEP;
        }
    }
    slots
}

/// Chromium only: the visitor's time zone is set through the DevTools protocol, to one that is
/// neither London's nor UTC, five and a half hours from both, so that the picker is shown to
/// follow the visitor's clock.
#[tokio::test]
async fn while_closed_the_callback_form_offers_only_open_slots_and_says_when_the_call_comes() {
    let app = hours_app().await;
    let admin = Admin::login(&app).await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("hours-picker", Viewport::Desktop).await;
    browser
        .cdp(
            "Emulation.setTimezoneOverride",
            json!({ "timezoneId": "Asia/Kolkata" }),
        )
        .await;
    let w = Widget::new(&browser);
    browser.goto(&pages.demo_page()).await;
    w.wait_ready().await;
    // Chromium names the zone by its older alias: the offset says it is India's.
    assert_eq!(
        browser
            .js("return new Date().getTimezoneOffset();", vec![])
            .await,
        json!(-330),
        "the visitor's time zone is not India's"
    );
    let queue = page_queue(&browser).await;
    let opens_at = now() + time::Duration::hours(2);
    admin.open_daily_from(opens_at).await;
    let hours = service_hours(&app, queue, |h| h["reason"] == "closed").await;
    let opening = next_change(&hours).to_owned();

    // The form while closed: no free time field, but the day and time among open slots, "as
    // soon as we open" first, and when the call will come.
    w.open().await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-when").await;
    assert_eq!(
        w.eval("return !!$('#psw-time');").await,
        json!(false),
        "a free time field while closed"
    );
    assert_eq!(
        w.eval("return [$('#psw-when legend').textContent, $('label[for=psw-day]').textContent, $('#psw-day').selectedOptions[0].textContent];")
            .await,
        json!(["When should we call you?", "Day", "As soon as we open"])
    );
    assert!(
        !w.is_visible("#psw-slot").await,
        "a time to choose before a day is"
    );
    let when = english_when(&browser, &opening).await;
    assert_eq!(
        w.text("#psw-when-note").await,
        format!("We're closed now. We'll call you when we open, {when}.")
    );
    browser.screenshot("picker-as-soon-as-open").await;
    assert_no_violations(&browser, "closed, callback form with the picker").await;

    // Every slot offered, day by day: each within the open periods, on the half hour of the
    // visitor's clock, all of them, and grouped by the visitor's days.
    let groups = w
        .eval(
            "const day = $('#psw-day'), slot = $('#psw-slot'), groups = []; \
             for (const option of [...day.options].slice(1)) { \
               day.value = option.value; day.dispatchEvent(new Event('change', { bubbles: true })); \
               groups.push({ label: option.textContent, slots: [...slot.options].map(o => { \
                 const d = new Date(+o.value); \
                 return { at: +o.value, text: o.textContent, date: d.toDateString(), \
                          wantText: d.toLocaleTimeString('en', { timeStyle: 'short' }), \
                          wantLabel: d.toLocaleDateString('en', { weekday: 'short', day: 'numeric', month: 'short' }), \
                          onTheHalfHour: d.getMinutes() % 30 === 0 && d.getSeconds() === 0 }; }) }); \
             } \
             day.value = ''; day.dispatchEvent(new Event('change', { bubbles: true })); \
             return groups;",
        )
        .await;
    let groups = groups.as_array().expect("the days offered");
    let offered: Vec<i64> = groups
        .iter()
        .flat_map(|g| g["slots"].as_array().into_iter().flatten())
        .map(|s| s["at"].as_i64().expect("a slot's time"))
        .collect();
    let expected = half_hours_within(&hours["openIntervals"]);
    // Three open hours a day for a week, less what the demo's closed half hour and hour of
    // holiday take when they fall in them.
    assert!(expected.len() >= 30, "{hours}");
    assert_eq!(
        offered,
        expected,
        "the slots are not the open half hours: offered {:?}",
        offered.iter().map(|ms| iso(*ms)).collect::<Vec<_>>()
    );
    let mut dates = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let slots = group["slots"].as_array().expect("slots");
        assert!(!slots.is_empty(), "a day without slots: {group}");
        for slot in slots {
            assert_eq!(slot["onTheHalfHour"], true, "{slot}");
            assert_eq!(slot["text"], slot["wantText"], "{slot}");
            assert_eq!(slot["date"], slots[0]["date"], "a day mixes dates: {group}");
        }
        dates.push(slots[0]["date"].clone());
        let label = group["label"].as_str().unwrap_or_default();
        if i >= 2 {
            assert_eq!(group["label"], slots[0]["wantLabel"], "{group}");
        } else {
            assert!(
                ["Today", "Tomorrow"].contains(&label) || json!(label) == slots[0]["wantLabel"],
                "{group}"
            );
        }
    }
    dates.dedup();
    assert_eq!(dates.len(), groups.len(), "a day offered twice: {groups:?}");

    // By keyboard: the first day, then its second slot; the line says when the call comes.
    w.click("#psw-phone").await;
    browser.press(Key::Tab).await;
    assert_eq!(w.focused().await, "psw-day");
    browser.press(Key::Down).await;
    w.wait_visible("#psw-slot").await;
    browser.press(Key::Tab).await;
    assert_eq!(w.focused().await, "psw-slot");
    browser.press(Key::Down).await;
    let chosen = groups[0]["slots"][1]["at"].as_i64().expect("a second slot");
    w.wait(
        "the second slot to be chosen",
        &format!("$('#psw-slot').value === '{chosen}'"),
    )
    .await;
    let chosen = iso(chosen);
    let when = english_when(&browser, &chosen).await;
    assert_eq!(
        w.text("#psw-when-note").await,
        format!("We'll call you {when}.")
    );
    browser.screenshot("picker-slot-chosen").await;
    assert_no_violations(&browser, "closed, a slot chosen").await;

    // Sent: the confirmation and the simulator have the chosen time.
    w.type_into("#psw-first", "Ada").await;
    w.type_into("#psw-last", "Lovelace").await;
    w.type_into("#psw-phone", "+44 20 7946 0123").await;
    w.click("#psw-callback-submit").await;
    let at = confirmation_time(&browser, &chosen).await;
    w.wait_text(
        "#psw-callback-done-text",
        &format!("Thank you. We'll call you back on +442079460123 around {at}."),
    )
    .await;
    let received = wait_callbacks(&app, 1).await;
    assert_eq!(
        instant(
            received[0]["callbackScheduledTime"]
                .as_str()
                .expect("a time")
        ),
        instant(&chosen),
        "{received:?}"
    );
    browser.screenshot("picker-sent").await;

    // Again, with no time chosen: the service books the opening and says so; so does the
    // confirmation.
    w.click("#psw-callback-close").await;
    w.wait_hidden("#psw-panel").await;
    w.open().await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-when").await;
    assert_eq!(w.eval("return $('#psw-day').value;").await, json!(""));
    w.type_into("#psw-first", "Ada").await;
    w.type_into("#psw-last", "Lovelace").await;
    w.type_into("#psw-phone", "+1 317 555 0100").await;
    w.click("#psw-callback-submit").await;
    let at = confirmation_time(&browser, &opening).await;
    w.wait_text(
        "#psw-callback-done-text",
        &format!("Thank you. We'll call you back on +13175550100 around {at}."),
    )
    .await;
    let events = w.events("callback").await;
    assert_eq!(
        events
            .last()
            .map(|e| instant(e["scheduled"].as_str().unwrap_or("?"))),
        Some(instant(&opening)),
        "{events:?}"
    );
    let received = wait_callbacks(&app, 2).await;
    assert_eq!(
        instant(
            received[1]["callbackScheduledTime"]
                .as_str()
                .expect("a time")
        ),
        instant(&opening),
        "{received:?}"
    );
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

/// The WebSockets the page opened for live statistics (recorded by `pages/watch.js`).
async fn stats_sockets(browser: &Browser) -> usize {
    browser
        .js(
            "return window.__testProbe.sockets.filter(u => u.includes('/api/stats/')).length;",
            vec![],
        )
        .await
        .as_u64()
        .unwrap_or(0) as usize
}

/// What the header says once the queue has closed, from the service's next opening.
async fn closed_text(app: &TestApp, browser: &Browser, queue: Uuid) -> String {
    let hours = service_hours(app, queue, |h| h["open"] == false).await;
    format!(
        "Closed — opens {}",
        english_when(browser, next_change(&hours)).await
    )
}

/// Chromium only: the widget's logic, which no engine changes, over two closings, each waited for
/// in real time.
#[tokio::test]
async fn the_header_follows_the_queue_live_when_it_closes() {
    let app = hours_app().await;
    let admin = Admin::login(&app).await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("hours-live", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let url = pages.demo_page();
    let patience = Duration::from_secs(25);

    // Never opened, so no socket: the page knows when the queue closes from the hours it was
    // given, and asks then.
    let closes = now() + time::Duration::seconds(15);
    admin
        .schedule(
            DEMO_OPEN_SCHEDULE,
            closes - time::Duration::hours(1),
            closes,
            Some("FREQ=DAILY"),
        )
        .await;
    browser.goto(&url).await;
    w.wait_ready().await;
    let queue = page_queue(&browser).await;
    service_hours(&app, queue, |h| {
        h["open"] == true && h["nextChange"].as_str().map(instant) == Some(closes)
    })
    .await;
    // The page may have asked before the service had the new schedule.
    browser.goto_fresh(&url).await;
    w.wait_ready().await;
    w.wait_text("#psw-header-hours", "Open now").await;
    browser.js("window.__samePage = true;", vec![]).await;
    w.wait_text_for("#psw-header-hours", "Closed — opens ", patience)
        .await;
    let expected = closed_text(&app, &browser, queue).await;
    w.wait_text("#psw-header-hours", &expected).await;
    assert_eq!(
        browser.js("return window.__samePage;", vec![]).await,
        json!(true),
        "the page was reloaded"
    );
    assert_eq!(stats_sockets(&browser).await, 0, "a socket before opening");
    browser.screenshot("closed-by-the-clock").await;

    // Open again for a few seconds; the widget opened once, so its live socket tells the
    // closing.
    let closes = now() + time::Duration::seconds(15);
    admin
        .schedule(
            DEMO_OPEN_SCHEDULE,
            closes - time::Duration::hours(1),
            closes,
            Some("FREQ=DAILY"),
        )
        .await;
    service_hours(&app, queue, |h| h["open"] == true).await;
    w.open().await;
    w.wait_text("#psw-hours", "Open now").await;
    assert_eq!(tile(&w, "chat").await, usable(), "chat while open");
    w.click("#psw-header").await;
    w.wait_hidden("#psw-panel").await;
    assert_eq!(w.text("#psw-header-hours").await, "Open now");
    browser.screenshot("open-again").await;
    w.wait_text_for("#psw-header-hours", "Closed — opens ", patience)
        .await;
    let expected = closed_text(&app, &browser, queue).await;
    w.wait_text("#psw-header-hours", &expected).await;
    assert_eq!(stats_sockets(&browser).await, 1, "one live socket");
    let events: Vec<Value> = w
        .events("hours")
        .await
        .into_iter()
        .map(|h| h["open"].clone())
        .collect();
    assert!(
        events.ends_with(&[json!(false), json!(true), json!(false)]),
        "the `hours` events are not closed, open, closed: {events:?}"
    );
    browser.screenshot("closed-live").await;
    assert_no_violations(&browser, "closed live, collapsed").await;
    w.open().await;
    assert_eq!(
        tile(&w, "chat").await,
        disabled(&format!(
            "Available {}",
            expected.trim_start_matches("Closed — opens ")
        )),
        "chat after the closing"
    );
    browser.screenshot("closed-live-chooser").await;
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

/// Waits until the service's EWT for the queue is `expected` seconds.
async fn service_ewt(app: &TestApp, queue: Uuid, expected: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = app
            .get_json(&format!("/api/stats/{queue}?key=ewt,observations"))
            .await;
        if body["ewt"].as_i64() == Some(expected) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service (not the widget) reports {body}, not an EWT of {expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn availability_rules_hide_or_disable_a_channel_by_hours_agents_and_wait() {
    let app = hours_app().await;
    let admin = Admin::login(&app).await;
    let (browser, pages) = demo(Engine::Chromium, &app, "hours-rules", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let queue = page_queue(&browser).await;
    let other = Uuid::new_v4();
    // Chat: disabled when nobody is free, hidden while this queue is closed; callback: hidden
    // when the wait is over a minute. Another queue's rule does not apply.
    let rules = json!({ "availability": {
        "chat": { "whenNoAgents": "disable" },
        "callback": { "maxEwtSeconds": 60, "whenEwtAbove": "hide" },
        "queues": {
            queue.to_string(): { "chat": { "whenClosed": "hide" } },
            other.to_string(): { "callback": { "whenClosed": "hide" } } } } });
    app.set_queue(queue, json!({ "agents": { "idle": 3 } }))
        .await;
    visit(&w, &pages.configured(&rules), "Open now").await;
    w.open().await;
    w.wait_text("#psw-agents", "3 agents available").await;
    assert_eq!(tile(&w, "chat").await, usable());
    assert_eq!(tile(&w, "callback").await, usable());

    // Four busy agents: nobody free, a wait of 75 s.
    app.set_queue(queue, json!({ "agents": { "busy": 4 } }))
        .await;
    service_ewt(&app, queue, 75).await;
    w.wait_text("#psw-agents", "No agents are available").await;
    w.wait_hidden("#psw-tile-callback").await;
    assert_eq!(tile(&w, "chat").await, disabled("Not available right now"));
    assert!(
        !w.is_visible("#psw-none").await && !w.is_visible("#psw-no-channel").await,
        "a steer to a hidden callback, or no channel said while the chat shows"
    );
    browser.screenshot("rules-busy").await;
    assert_no_violations(&browser, "rules: chat disabled, callback hidden").await;

    // Closed too: both hidden, and the visitor is told.
    admin
        .open_daily_from(now() + time::Duration::hours(2))
        .await;
    service_hours(&app, queue, |h| h["open"] == false).await;
    visit(&w, &pages.configured(&rules), "Closed — opens ").await;
    w.open().await;
    w.wait_text("#psw-no-channel", "You cannot contact us here right now.")
        .await;
    assert!(
        !w.is_visible("#psw-tile-chat").await && !w.is_visible("#psw-tile-callback").await,
        "a channel shows that the rules hide"
    );
    browser.screenshot("rules-closed-busy").await;
    assert_no_violations(&browser, "rules: nothing offered").await;

    // Agents free again: the wait is gone and the callback is back (the other queue's rule to
    // hide it while closed is not this one's); the chat stays hidden while closed.
    app.set_queue(queue, json!({ "agents": { "idle": 2 } }))
        .await;
    service_ewt(&app, queue, 0).await;
    w.wait_visible("#psw-tile-callback").await;
    assert_eq!(tile(&w, "callback").await, usable());
    assert!(!w.is_visible("#psw-tile-chat").await, "the chat shows");
    assert!(!w.is_visible("#psw-no-channel").await);
    browser.screenshot("rules-closed-free").await;
    // The page asks for a chat: the chooser, and no chat starts.
    w.click("#psw-header").await;
    w.wait_hidden("#psw-panel").await;
    browser.js("publicStatsWidget.open('chat');", vec![]).await;
    w.wait_visible("#psw-chooser").await;
    assert!(!w.is_visible("#psw-chat").await, "a hidden chat was opened");
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}

/// While open, the free time field: a time the coming week's hours leave out is refused before
/// sending; one further ahead is sent, and the service's `outside-hours` shown the same way,
/// with its next opening.
#[tokio::test]
async fn a_time_outside_the_hours_is_refused_with_the_next_opening() {
    let app = hours_app().await;
    let admin = Admin::login(&app).await;
    let (browser, _pages) = demo(Engine::Chromium, &app, "hours-outside", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let queue = page_queue(&browser).await;
    // Closed for two hours in two days, and again a week later.
    let closes = now() + time::Duration::days(2);
    let reopens = closes + time::Duration::hours(2);
    admin
        .schedule(DEMO_CLOSED_SCHEDULE, closes, reopens, Some("FREQ=WEEKLY"))
        .await;
    service_hours(&app, queue, |h| {
        h["open"] == true && h["openIntervals"][0]["end"].as_str().map(instant) == Some(closes)
    })
    .await;
    w.open().await;
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-time").await;
    w.type_into("#psw-first", "Ada").await;
    w.type_into("#psw-last", "Lovelace").await;
    w.type_into("#psw-phone", "+44 20 7946 0123").await;

    // Within the week the widget knows: refused before sending.
    let inside = closes + time::Duration::minutes(30);
    set_time(&w, &local_input(&browser, inside).await).await;
    w.click("#psw-callback-submit").await;
    let when = english_when(&browser, &reopens.format(&Rfc3339).expect("RFC 3339")).await;
    w.wait_text(
        "#psw-time-error",
        &format!("We're closed at that time. We open again {when}."),
    )
    .await;
    assert_eq!(w.focused().await, "psw-time");
    assert!(
        w.events("error").await.is_empty() && w.events("callback").await.is_empty(),
        "the refused time was sent"
    );

    // A week later: the service refuses it, naming its next opening.
    let week = time::Duration::days(7);
    set_time(&w, &local_input(&browser, inside + week).await).await;
    w.click("#psw-callback-submit").await;
    let when = english_when(
        &browser,
        &(reopens + week).format(&Rfc3339).expect("RFC 3339"),
    )
    .await;
    w.wait_text(
        "#psw-time-error",
        &format!("We're closed at that time. We open again {when}."),
    )
    .await;
    let errors = w.events("error").await;
    assert_eq!(
        errors
            .iter()
            .map(|e| e["status"].clone())
            .collect::<Vec<_>>(),
        vec![json!(400)],
        "{errors:?}"
    );
    assert_eq!(
        w.eval("return [$('#psw-time').getAttribute('aria-invalid'), $('#psw-callback-error').textContent];")
            .await,
        json!(["true", ""]),
        "the refusal is not next to the time"
    );
    assert_eq!(w.focused().await, "psw-time");
    browser.screenshot("outside-hours").await;
    assert_no_violations(&browser, "a time outside the hours").await;

    // After the reopening: accepted.
    set_time(
        &w,
        &local_input(&browser, reopens + week + time::Duration::hours(1)).await,
    )
    .await;
    w.click("#psw-callback-submit").await;
    w.wait_text("#psw-callback-done-text", "Thank you.").await;
    wait_callbacks(&app, 1).await;
    browser.close().await;
}

/// The Web Messaging sockets the page opened (recorded by `pages/watch.js`).
async fn chat_sockets(browser: &Browser) -> usize {
    browser
        .js(
            "return window.__testProbe.sockets.filter(u => u.includes('deploymentId=')).length;",
            vec![],
        )
        .await
        .as_u64()
        .unwrap_or(0) as usize
}

/// `autoConnect` waits for the hours asked at load: while the chat is offered it starts as it
/// always did; while the rules keep it off, the chooser opens instead and no chat connects.
#[tokio::test]
async fn auto_connect_starts_the_chat_only_while_the_chat_is_offered() {
    let app = hours_app().await;
    let admin = Admin::login(&app).await;
    let pages = HostPages::start(app.addr).await;
    let browser = Browser::launch("hours-auto-connect", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let url = pages.configured(&json!({ "autoConnect": true }));

    browser.goto(&url).await;
    w.wait_ready().await;
    w.wait_visible("#psw-chat-input").await;
    w.wait(
        "the chat socket",
        "window.__testProbe.sockets.some(u => u.includes('deploymentId='))",
    )
    .await;

    let queue = page_queue(&browser).await;
    admin
        .open_daily_from(now() + time::Duration::hours(2))
        .await;
    service_hours(&app, queue, |h| h["open"] == false).await;
    browser.goto_fresh(&url).await;
    w.wait_ready().await;
    w.wait_visible("#psw-tile-chat-note").await;
    assert_eq!(w.expanded().await, "true", "autoConnect opened nothing");
    assert!(
        w.text("#psw-tile-chat-note")
            .await
            .starts_with("Available "),
        "the chat tile does not say when it opens"
    );
    assert!(!w.is_visible("#psw-chat").await, "the chat view opened");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        chat_sockets(&browser).await,
        0,
        "a chat connected while closed"
    );
    browser.screenshot("auto-connect-closed").await;
    browser.assert_no_console_errors("on the way").await;
    browser.close().await;
}
