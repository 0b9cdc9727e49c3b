//! Business hours as the service serves them: `key=hours` alone and with the other keys, the
//! `hours` of both WebSockets and their frame at the instant a queue closes or opens, the last
//! reading kept and marked stale when Genesys cannot be read, and callbacks held to the hours.
//! Schedules are made relative to now through the simulator's Architect endpoints, as an admin
//! would, so no test depends on the time of day.

use std::collections::BTreeSet;
use std::time::Duration;

use genesys_sim::SimConfig;
use genesys_sim::config::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_EMERGENCY_GROUP, DEMO_OPEN_SCHEDULE,
    DEMO_SCHEDULE_GROUP,
};
use public_stats::startup::Application;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_tungstenite::connect_async;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::callbacks::{NUMBER, post_json, seed_body, wait_for_upstream_callbacks};
use crate::helpers::*;
use crate::hours::Admin;
use crate::openapi::assert_matches;
use crate::push::{Client, connect, next_json, until};

const SCHEDULE_GROUP_ROUTE: &str = "GET /api/v2/architect/schedulegroups/{scheduleGroupId}";

fn hours_path(queue: Uuid, query: &str) -> String {
    format!("/api/stats/{queue}?{query}")
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object()
        .map(|object| object.keys().cloned().collect())
        .unwrap_or_default()
}

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|_| panic!("{text} is RFC 3339"))
}

/// `at` as a wall-clock time in London, in Genesys's `LocalDateTime` form: schedules are written
/// in their group's zone (the demo group's is London).
fn london(at: OffsetDateTime) -> String {
    let utc = chrono::DateTime::from_timestamp(at.unix_timestamp(), 0).unwrap();
    utc.with_timezone(&chrono_tz::Europe::London)
        .naive_local()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

/// Now, to the second: business hours are evaluated to the second.
fn whole_second_now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

async fn description(app: &TestApp) -> Value {
    app.get("/openapi.json").await.json().await.unwrap()
}

/// Asks for `key=hours` until `check` holds; panics after `within`.
async fn hours_until(
    app: &TestApp,
    queue: Uuid,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (status, body) = app.get_json(&hours_path(queue, "key=hours")).await;
        assert_eq!(status, 200, "{body}");
        if check(&body["hours"]) {
            return body["hours"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hours never matched; last: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The demo hours: open now, closed for half an hour in three days, a holiday in five.
fn assert_demo_hours(hours: &Value) {
    assert_eq!(hours["open"], true, "{hours}");
    assert_eq!(hours["reason"], "open", "{hours}");
    assert_eq!(hours["timeZone"], "Europe/London", "{hours}");
    let next = at(hours["nextChange"].as_str().expect("a next change"));
    assert!(
        next > OffsetDateTime::now_utc() + time::Duration::days(2),
        "{hours}"
    );
    assert_eq!(
        hours["openIntervals"].as_array().unwrap().len(),
        3,
        "{hours}"
    );
    assert!(
        hours.get("stale").is_none() && hours.get("asOf").is_none(),
        "{hours}"
    );
}

#[tokio::test]
async fn key_hours_answers_alone_or_beside_the_other_keys_as_described() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let spec = description(&app).await;
    let (status, body) = app
        .get_json(&hours_path(DEMO_SALES_QUEUE, "key=hours"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), BTreeSet::from(["hours".to_owned()]), "{body}");
    assert_demo_hours(&body["hours"]);
    assert_matches(&spec, "/api/stats/{queueId}", "get", 200, &body);
    for (query, expected) in [
        ("key=ewt,hours", &["ewt", "hours"][..]),
        ("key=hours&key=observations", &["hours", "observations"]),
        (
            "key=ewt,observations,hours&_=1",
            &["ewt", "hours", "observations"],
        ),
        ("key=observations", &["observations"]),
    ] {
        let (status, body) = app.get_json(&hours_path(DEMO_SALES_QUEUE, query)).await;
        assert_eq!(status, 200, "{query}: {body}");
        let expected: BTreeSet<String> = expected.iter().map(|k| k.to_string()).collect();
        assert_eq!(keys(&body), expected, "{query}: {body}");
        assert_matches(&spec, "/api/stats/{queueId}", "get", 200, &body);
    }
    let (status, body) = app
        .get_json(&hours_path(DEMO_SALES_QUEUE, "key=hours,weather"))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("key=hours"),
        "{body}"
    );
}

#[tokio::test]
async fn a_queue_without_hours_answers_without_them_and_both_sockets_carry_them() {
    let only_sales = format!("{DEMO_SALES_QUEUE}={DEMO_SCHEDULE_GROUP}");
    let app = spawn_app_with(&["--schedule-groups", &only_sales]).await;
    app.wait_ready().await;
    let (status, body) = app
        .get_json(&hours_path(DEMO_SUPPORT_QUEUE, "key=hours"))
        .await;
    assert_eq!((status, body.clone()), (200, json!({})), "{body}");
    let (status, body) = app
        .get_json(&hours_path(DEMO_SUPPORT_QUEUE, "key=ewt,hours"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), BTreeSet::from(["ewt".to_owned()]), "{body}");

    let mut root = connect(&app, "/").await;
    let frame = next_json(&mut root, Duration::from_secs(2)).await;
    assert_eq!(
        keys(&frame["hours"]),
        BTreeSet::from([DEMO_SALES_QUEUE.to_string()]),
        "only the queue with hours: {frame}"
    );
    assert_demo_hours(&frame["hours"][DEMO_SALES_QUEUE.to_string()]);
    assert_eq!(frame["queueStats"].as_object().unwrap().len(), 3, "{frame}");

    let mut sales = connect(&app, &format!("/api/stats/{DEMO_SALES_QUEUE}/live")).await;
    let frame = next_json(&mut sales, Duration::from_secs(4)).await;
    assert_demo_hours(&frame["hours"]);
    let mut support = connect(&app, &format!("/api/stats/{DEMO_SUPPORT_QUEUE}/live")).await;
    let frame = next_json(&mut support, Duration::from_secs(4)).await;
    assert!(frame.get("hours").is_none(), "{frame}");
    assert!(frame["observations"].is_object(), "{frame}");
}

/// The time a frame satisfying `check` arrives on `socket` (within `within`), and the frame.
async fn arrival(
    socket: &mut Client,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> (OffsetDateTime, Value) {
    let frame = until(socket, within, check).await;
    (OffsetDateTime::now_utc(), frame)
}

/// Whether a frame arrived at `expected`: not before it (the evaluation is to the second), and
/// within a second after.
fn assert_on_time(arrived: OffsetDateTime, expected: OffsetDateTime, what: &str) {
    assert!(
        arrived >= expected - time::Duration::milliseconds(50),
        "{what}: a frame at {arrived} before the change at {expected}"
    );
    assert!(
        arrived <= expected + time::Duration::seconds(1),
        "{what}: a frame at {arrived}, more than a second after the change at {expected}"
    );
}

/// The org's hours are set before the service starts and it reads them only once an hour, so a
/// frame at the closing and at the reopening can only come from the service's own clock.
#[tokio::test]
async fn sockets_get_a_frame_at_the_instant_a_queue_closes_and_when_it_reopens() {
    let sim = genesys_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let admin = Admin::login_to(&sim).await;
    let now = whole_second_now();
    let closes = now + time::Duration::seconds(8);
    let reopens = closes + time::Duration::seconds(3);
    let until_closing = admin
        .schedule(
            "Until closing",
            &london(now - time::Duration::hours(1)),
            &london(closes),
            None,
        )
        .await;
    let after_the_break = admin
        .schedule(
            "After the break",
            &london(reopens),
            &london(reopens + time::Duration::hours(1)),
            None,
        )
        .await;
    let group = admin
        .send(
            Method::POST,
            "/api/v2/architect/schedulegroups",
            json!({"name": "Short day", "timeZone": "Europe/London",
                   "openSchedules": [{"id": until_closing}, {"id": after_the_break}]}),
        )
        .await;
    let group = group["id"].as_str().unwrap().to_owned();
    let (settings, _data_dir) = settings(&[
        "--client-id",
        DEMO_CLIENT_ID,
        "--client-secret",
        DEMO_CLIENT_SECRET,
        "--monitored-queues",
        &DEMO_SALES_QUEUE.to_string(),
        "--base-url",
        &sim.base_url(),
        "--schedule-groups",
        &group,
        "--hours-refresh-seconds",
        "3600",
    ]);
    let app = Application::build(settings)
        .await
        .expect("the service starts");
    let addr = app.local_addr();
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until(stop.clone()));
    let _stop = stop.drop_guard();
    let socket = |path: String| async move {
        let (socket, _) = connect_async(format!("ws://{addr}{path}")).await.unwrap();
        socket
    };
    let mut root = socket("/".into()).await;
    let mut live = socket(format!("/api/stats/{DEMO_SALES_QUEUE}/live")).await;
    let sales = DEMO_SALES_QUEUE.to_string();
    let first = next_json(&mut root, Duration::from_secs(2)).await;
    let hours = &first["hours"][&sales];
    assert_eq!(
        hours["open"], true,
        "open until {closes} (the service took too long to start?): {first}"
    );
    assert_eq!(at(hours["nextChange"].as_str().unwrap()), closes, "{first}");
    let first_live = next_json(&mut live, Duration::from_secs(4)).await;
    assert_eq!(first_live["hours"]["open"], true, "{first_live}");

    let wait = Duration::from_secs(12);
    let root_hours = |state: bool| {
        let sales = sales.clone();
        move |frame: &Value| frame["hours"][&sales]["open"] == state
    };
    let live_hours = |state: bool| move |frame: &Value| frame["hours"]["open"] == state;
    let ((root_at, closed), (live_at, _)) = tokio::join!(
        arrival(&mut root, wait, root_hours(false)),
        arrival(&mut live, wait, live_hours(false)),
    );
    assert_on_time(root_at, closes, "/ closing");
    assert_on_time(live_at, closes, "live closing");
    let hours = &closed["hours"][&sales];
    assert_eq!(hours["reason"], "closed", "{closed}");
    assert_eq!(
        at(hours["nextChange"].as_str().unwrap()),
        reopens,
        "{closed}"
    );

    let ((root_at, opened), (live_at, _)) = tokio::join!(
        arrival(&mut root, wait, root_hours(true)),
        arrival(&mut live, wait, live_hours(true)),
    );
    assert_on_time(root_at, reopens, "/ reopening");
    assert_on_time(live_at, reopens, "live reopening");
    assert_eq!(opened["hours"][&sales]["reason"], "open", "{opened}");
    let log: Value = reqwest::get(format!("{}/__sim/requests", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        log["counts"][SCHEDULE_GROUP_ROUTE], 1,
        "read once, at start-up: the frames came from the service's clock"
    );
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_answer_marked_stale_until_a_read_succeeds() {
    let app = spawn_app_with(&["--hours-refresh-seconds", "2"]).await;
    let before = hours_until(&app, DEMO_SALES_QUEUE, Duration::from_secs(2), |h| {
        h["open"] == true
    })
    .await;
    assert_demo_hours(&before);
    let mut root = connect(&app, "/").await;
    let sales = DEMO_SALES_QUEUE.to_string();
    app.fault(json!({"route": SCHEDULE_GROUP_ROUTE, "status": 503}))
        .await;

    let stale = hours_until(&app, DEMO_SALES_QUEUE, Duration::from_secs(15), |h| {
        h["stale"] == true
    })
    .await;
    let as_of = at(stale["asOf"].as_str().expect("asOf with a stale answer"));
    assert!(as_of <= OffsetDateTime::now_utc(), "{stale}");
    assert_eq!(
        stale["open"], true,
        "the last reading still answers: {stale}"
    );
    assert_eq!(stale["nextChange"], before["nextChange"], "{stale}");
    assert_eq!(
        stale["openIntervals"].as_array().unwrap().len(),
        3,
        "{stale}"
    );
    let frame = until(&mut root, Duration::from_secs(5), |f| {
        f["hours"][&sales]["stale"] == true
    })
    .await;
    assert!(frame["hours"][&sales]["asOf"].is_string(), "{frame}");
    let spec = description(&app).await;
    let (_, body) = app
        .get_json(&hours_path(DEMO_SALES_QUEUE, "key=hours"))
        .await;
    assert_matches(&spec, "/api/stats/{queueId}", "get", 200, &body);

    app.clear_faults().await;
    let fresh = hours_until(&app, DEMO_SALES_QUEUE, Duration::from_secs(20), |h| {
        h.get("stale").is_none()
    })
    .await;
    assert!(fresh.get("asOf").is_none(), "{fresh}");
    until(&mut root, Duration::from_secs(5), |f| {
        f["hours"][&sales].get("stale").is_none()
    })
    .await;
}

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_callback_time_outside_the_hours_is_refused_naming_the_next_opening() {
    let app = spawn_app().await;
    let spec = description(&app).await;
    // The demo week: open, closed for half an hour, open, an hour of holiday, open.
    let (_, body) = app
        .get_json(&hours_path(DEMO_SALES_QUEUE, "key=hours"))
        .await;
    let intervals = body["hours"]["openIntervals"].as_array().unwrap();
    let closes = at(intervals[0]["end"].as_str().unwrap());
    let reopens = intervals[1]["start"].as_str().unwrap();
    let mut asking = seed_body();
    asking["callbackScheduledTime"] = json!(
        (closes + time::Duration::minutes(10))
            .format(&Rfc3339)
            .unwrap()
    );
    let (status, content_type, text) = post_json(&app, &asking).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem_type(&problem), "/problems/outside-hours", "{text}");
    assert_eq!(problem["nextOpen"], reopens, "{text}");
    assert!(
        problem["detail"].as_str().unwrap().contains(reopens),
        "{text}"
    );
    assert_eq!(
        problem["invalid-params"][0]["name"], "callbackScheduledTime",
        "{text}"
    );
    assert!(!text.contains("3172222222"), "no number echoed: {text}");
    assert_matches(&spec, "/api/callback", "post", 400, &problem);

    // The same request for a time when it is open is accepted as asked, with the seed's receipt.
    asking["callbackScheduledTime"] = json!(reopens);
    let (status, _, text) = post_json(&app, &asking).await;
    assert_eq!(status, 202, "{text}");
    let receipt: Value = serde_json::from_str(&text).unwrap();
    assert!(receipt.get("callbackScheduledTime").is_none(), "{text}");
    assert_matches(&spec, "/api/callback", "post", 202, &receipt);
    let received = wait_for_upstream_callbacks(&app, 1).await;
    let placed = received[0]["callbackScheduledTime"].as_str();
    assert_eq!(placed.map(at), Some(at(reopens)), "{received:?}");
}

#[tokio::test]
async fn closed_without_a_time_books_the_next_opening_and_an_emergency_refuses() {
    let app = spawn_app_with(&["--hours-refresh-seconds", "2"]).await;
    let admin = Admin::login(&app).await;
    let spec = description(&app).await;
    // The demo's open schedule now opens in two hours, once.
    let opens = whole_second_now() + time::Duration::hours(2);
    let path = format!("/api/v2/architect/schedules/{DEMO_OPEN_SCHEDULE}");
    let current = admin.get(&path).await;
    admin
        .send(
            Method::PUT,
            &path,
            json!({"name": current["name"], "version": current["version"],
                   "start": london(opens), "end": london(opens + time::Duration::hours(1))}),
        )
        .await;
    let closed = hours_until(&app, DEMO_SALES_QUEUE, Duration::from_secs(15), |h| {
        h["open"] == false
    })
    .await;
    assert_eq!(closed["reason"], "closed", "{closed}");
    assert_eq!(
        at(closed["nextChange"].as_str().unwrap()),
        opens,
        "{closed}"
    );

    let mut asking = seed_body();
    asking
        .as_object_mut()
        .unwrap()
        .remove("callbackScheduledTime");
    let (status, _, text) = post_json(&app, &asking).await;
    assert_eq!(status, 202, "{text}");
    let receipt: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        receipt["callbackScheduledTime"], closed["nextChange"],
        "booked for the opening: {text}"
    );
    assert_matches(&spec, "/api/callback", "post", 202, &receipt);
    let received = wait_for_upstream_callbacks(&app, 1).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let placed = received[0]["callbackScheduledTime"]
        .as_str()
        .expect("Genesys gets the time");
    assert_eq!(at(placed), opens, "{received:?}");
    assert_eq!(received[0]["callbackNumbers"], json!([NUMBER]));

    // An emergency: nothing is scheduled to end it, so there is nothing to book for.
    let path = format!("/api/v2/architect/emergencygroups/{DEMO_EMERGENCY_GROUP}");
    let current = admin.get(&path).await;
    admin
        .send(
            Method::PUT,
            &path,
            json!({"name": current["name"], "version": current["version"], "enabled": true}),
        )
        .await;
    let emergency = hours_until(&app, DEMO_SALES_QUEUE, Duration::from_secs(15), |h| {
        h["reason"] == "emergency"
    })
    .await;
    assert_eq!(emergency["open"], false, "{emergency}");
    assert!(emergency["nextChange"].is_null(), "{emergency}");
    let mut another = asking.clone();
    another["callbackNumbers"] = json!(["+13172224720"]);
    let (status, _, text) = post_json(&app, &another).await;
    assert_eq!(status, 503, "{text}");
    let problem: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem_type(&problem), "/problems/closed", "{text}");
    assert_matches(&spec, "/api/callback", "post", 503, &problem);
}

/// The `/` frame keeps the seed's shape, `hours` beside `queueStats`; a change of the
/// observations makes a new frame with the hours as they were.
#[tokio::test]
async fn root_frames_stay_the_seed_shape_with_hours_beside_it() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let mut root = connect(&app, "/").await;
    let frame = next_json(&mut root, Duration::from_secs(2)).await;
    assert_eq!(
        keys(&frame),
        BTreeSet::from(["hours".to_owned(), "queueStats".to_owned()]),
        "{frame}"
    );
    for queue in [DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE] {
        assert_demo_hours(&frame["hours"][queue.to_string()]);
    }
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":2,"busy":1},"waiting":{"voice":3}}),
    )
    .await;
    let changed = until(&mut root, Duration::from_secs(4), |f| {
        f["queueStats"][DEMO_SALES_QUEUE.to_string()]["availableAgents"] == 2
    })
    .await;
    assert_eq!(
        changed["hours"], frame["hours"],
        "hours unchanged: {changed}"
    );
}
