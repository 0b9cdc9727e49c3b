//! `POST /api/callback` over real HTTP: what is accepted (202 with a receipt, then delivered to
//! the simulator exactly once, as the validated callback on the public queue), what is refused
//! before anything is stored (every bad input, with a problem body naming the problem), and what
//! happens when Genesys fails (the request stays accepted and is delivered when it can be).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::*;

pub const ROUTE: &str = "POST /api/v2/conversations/callbacks";
pub const NUMBER: &str = "+13172222222";
/// A part of [`NUMBER`] that any echo of it would contain, however reformatted.
const NUMBER_DIGITS: &str = "3172222222";

/// Tomorrow, in Genesys's format: inside the booking window whenever the test runs.
pub fn tomorrow() -> String {
    (OffsetDateTime::now_utc() + time::Duration::days(1))
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub fn seed_body() -> Value {
    json!({
        "queueId": DEMO_SALES_QUEUE,
        "callbackNumbers": [NUMBER],
        "callbackUserName": "John Smith",
        "callbackScheduledTime": tomorrow(),
    })
}

/// The seed's body for another valid number (`+1317222` followed by four digits).
pub fn body_for(last_four: u16) -> Value {
    let mut body = seed_body();
    body["callbackNumbers"] = json!([format!("+1317222{last_four:04}")]);
    body
}

/// Status, `Content-Type` and body text of a JSON post.
pub async fn post_json(app: &TestApp, body: &Value) -> (u16, String, String) {
    let response = app
        .http
        .post(app.url("/api/callback"))
        .json(body)
        .send()
        .await
        .expect("request sent");
    read(response).await
}

pub async fn read(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        response.text().await.unwrap_or_default(),
    )
}

/// Posts `body`, expects 202 with a pending receipt, returns the receipt id.
pub async fn accepted(app: &TestApp, body: &Value) -> String {
    let (status, _, text) = post_json(app, body).await;
    assert_eq!(status, 202, "{body}: {text}");
    let receipt: Value = serde_json::from_str(&text).expect("receipt is JSON");
    assert_eq!(receipt["status"], "pending", "{text}");
    let id = receipt["id"].as_str().expect("receipt id").to_owned();
    assert_eq!(id.len(), 32, "{id}");
    id
}

/// The raw bodies the simulator received on `POST /api/v2/conversations/callbacks`.
pub async fn upstream_callbacks(app: &TestApp) -> Vec<Value> {
    let log: Value = app
        .sim_control(Method::GET, "/__sim/requests", None)
        .await
        .json()
        .await
        .expect("request log is JSON");
    log["callbacks"].as_array().cloned().unwrap_or_default()
}

/// Waits until the simulator has received `count` callback creations (or panics after 15 s).
pub async fn wait_for_upstream_callbacks(app: &TestApp, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let received = upstream_callbacks(app).await;
        if received.len() >= count || tokio::time::Instant::now() > deadline {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET /api/callback/{id}` until its status is `want` (or panics after 15 s).
pub async fn wait_for_status(app: &TestApp, id: &str, want: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = app.get_json(&format!("/api/callback/{id}")).await;
        assert_eq!(status, 200, "{body}");
        if body["status"] == want {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} stayed {body}, never {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A problem+json answer with this status whose `detail` contains `needle`, nothing upstream.
pub async fn assert_refused(
    app: &TestApp,
    case: &str,
    answer: (u16, String, String),
    status: u16,
    needle: &str,
) {
    let (got, content_type, text) = answer;
    assert_eq!(got, status, "{case}: {text}");
    assert_eq!(content_type, "application/problem+json", "{case}");
    let problem: Value = serde_json::from_str(&text).expect("problem body is JSON");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(needle),
        "{case}: {detail:?} should mention {needle:?}"
    );
    assert_eq!(problem["status"], status, "{case}");
    assert!(
        !text.contains(NUMBER_DIGITS),
        "{case}: echoes the number: {text}"
    );
    assert_eq!(
        app.upstream_count(ROUTE).await,
        0,
        "{case}: reached Genesys"
    );
}

#[tokio::test]
async fn the_seed_body_is_accepted_with_a_receipt_and_delivered_exactly_once() {
    let app = spawn_app().await;
    let body = seed_body();
    let response = app
        .http
        .post(app.url("/api/callback"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, _, text) = read(response).await;
    assert_eq!(status, 202, "{text}");
    let receipt: Value = serde_json::from_str(&text).unwrap();
    let id = receipt["id"].as_str().unwrap().to_owned();
    assert_eq!(
        receipt,
        json!({"id": id, "status": "pending", "numberEnding": "22"})
    );
    assert_eq!(location, Some(format!("/api/callback/{id}")));
    let created = wait_for_status(&app, &id, "created").await;
    assert_eq!(created["numberEnding"], "22");
    assert!(!created.to_string().contains(NUMBER_DIGITS), "{created}");
    let scheduled = body["callbackScheduledTime"].as_str().unwrap();
    assert_eq!(
        upstream_callbacks(&app).await,
        [json!({
            "routingData": {"queueId": DEMO_SALES_QUEUE},
            "callbackNumbers": [NUMBER],
            "callbackUserName": "John Smith",
            "callbackScheduledTime": scheduled,
            "countryCode": "US",
            "validateCallbackNumbers": true,
            "data": {"source": "public-stats", "outboxId": id},
        })]
    );
}

#[tokio::test]
async fn routing_data_with_only_the_queue_is_accepted_and_names_are_optional() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for body in [
        json!({"routingData": {"queueId": DEMO_SUPPORT_QUEUE}, "callbackNumbers": [NUMBER]}),
        json!({"queueId": DEMO_SUPPORT_QUEUE, "routingData": {"queueId": DEMO_SUPPORT_QUEUE},
               "callbackNumbers": ["(317) 222-2223"], "countryCode": "us",
               "callbackUserName": "  "}),
    ] {
        ids.push(accepted(&app, &body).await);
    }
    let received = wait_for_upstream_callbacks(&app, 2).await;
    let expected = |number: &str, id: &str| {
        json!({
            "routingData": {"queueId": DEMO_SUPPORT_QUEUE},
            "callbackNumbers": [number],
            "countryCode": "US",
            "validateCallbackNumbers": true,
            "data": {"source": "public-stats", "outboxId": id},
        })
    };
    assert_eq!(
        received,
        [expected(NUMBER, &ids[0]), expected("+13172222223", &ids[1])]
    );
}

/// Every `CreateCallbackCommand` field a visitor may not set (mass assignment), and unknown ones.
#[tokio::test]
async fn fields_a_visitor_must_not_set_are_refused_by_name() {
    let app = spawn_app().await;
    let routing = |extra: (&str, Value)| {
        let mut routing = json!({"queueId": DEMO_SALES_QUEUE});
        routing[extra.0] = extra.1;
        ("routingData", routing)
    };
    let cases = [
        (routing(("priority", json!(100))), "routingData.priority"),
        (
            routing(("preferredAgentIds", json!(["a"]))),
            "routingData.preferredAgentIds",
        ),
        (routing(("skillIds", json!(["s"]))), "routingData.skillIds"),
        (
            routing(("skillExpression", json!("x"))),
            "routingData.skillExpression",
        ),
        (
            routing(("scoredAgents", json!([{"score": 100}]))),
            "routingData.scoredAgents",
        ),
        (
            routing(("routingFlags", json!(["AGENT_OWNED_CALLBACK"]))),
            "routingData.routingFlags",
        ),
        (
            routing(("languageId", json!("l"))),
            "routingData.languageId",
        ),
        (routing(("label", json!("l"))), "routingData.label"),
        (("scriptId", json!("s")), "scriptId"),
        (("data", json!({"k": "v"})), "data"),
        (
            ("validateCallbackNumbers", json!(false)),
            "validateCallbackNumbers",
        ),
        (("callerId", json!("+15550000000")), "callerId"),
        (("callerIdName", json!("Bank")), "callerIdName"),
        (
            ("customerFirstCallbackDeliveryMode", json!("x")),
            "customerFirstCallbackDeliveryMode",
        ),
        (("priority", json!(100)), "priority"),
        (("somethingNew", json!(null)), "somethingNew"),
    ];
    for ((field, value), named) in cases {
        let mut body = seed_body();
        body[field] = value;
        let answer = post_json(&app, &body).await;
        assert_refused(
            &app,
            &format!("{body}"),
            answer,
            400,
            &format!("\"{named}\""),
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_400_naming_the_problem() {
    let app = spawn_app().await;
    let with = |field: &str, value: Value| {
        let mut body = seed_body();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = seed_body();
        body.as_object_mut().map(|o| o.remove(field));
        body
    };
    let cases = [
        (without("queueId"), "`queueId` is required"),
        (without("callbackNumbers"), "`callbackNumbers` is required"),
        (
            with("callbackNumbers", json!([])),
            "`callbackNumbers` is required",
        ),
        (
            with("callbackNumbers", json!(null)),
            "`callbackNumbers` is required",
        ),
        (with("queueId", json!(5)), "`queueId` must be a string"),
        (with("queueId", json!(true)), "`queueId` must be a string"),
        (
            with("queueId", json!([DEMO_SALES_QUEUE])),
            "`queueId` must be a string",
        ),
        (
            with("queueId", json!({"id": DEMO_SALES_QUEUE})),
            "`queueId` must be a string",
        ),
        (
            with("routingData", json!({"queueId": 5})),
            "`routingData.queueId` must be a string",
        ),
        (
            with("routingData", json!("x")),
            "`routingData` must be an object",
        ),
        (
            with("routingData", json!({"queueId": DEMO_BILLING_QUEUE})),
            "different queues",
        ),
        (
            with("callbackNumbers", json!(NUMBER)),
            "`callbackNumbers` must be an array",
        ),
        (
            with("callbackNumbers", json!([13172222222_u64])),
            "`callbackNumbers` must be an array",
        ),
        (
            with(
                "callbackNumbers",
                json!([NUMBER, "+13172222223", "+13172222224"]),
            ),
            "at most 2",
        ),
        (
            with("countryCode", json!("USA")),
            "`countryCode` must be a two-letter",
        ),
        (
            with("countryCode", json!(1)),
            "`countryCode` must be a string",
        ),
        (
            with("callbackScheduledTime", json!("2020-06-01T10:00:00Z")),
            "in the past",
        ),
        (
            with("callbackScheduledTime", json!("9999-12-31T23:59:59Z")),
            "at most 14 days ahead",
        ),
        (with("callbackNumbers", json!([" "])), "empty phone number"),
        (
            with(
                "callbackNumbers",
                json!([format!("{NUMBER}{}", "9".repeat(21))]),
            ),
            "at most 32",
        ),
        (
            with("callbackNumbers", json!([format!("{NUMBER}\u{0}")])),
            "printable ASCII",
        ),
        (
            with("callbackUserName", json!("x".repeat(65))),
            "at most 64",
        ),
        (
            with("callbackUserName", json!("John\r\nSmith")),
            "not allowed",
        ),
        (
            with("callbackUserName", json!("<script>alert(1)</script>")),
            "not allowed",
        ),
        (
            with("callbackUserName", json!(7)),
            "`callbackUserName` must be a string",
        ),
        (
            with("callbackScheduledTime", json!("tomorrow at 10")),
            "`callbackScheduledTime`",
        ),
        (
            with("callbackScheduledTime", json!("2026-11-25T10:30:00")),
            "`callbackScheduledTime`",
        ),
        (
            with("callbackScheduledTime", json!(1764066600)),
            "`callbackScheduledTime`",
        ),
        (json!([seed_body()]), "must be a JSON object"),
        (json!(NUMBER), "must be a JSON object"),
    ];
    for (body, needle) in cases {
        let answer = post_json(&app, &body).await;
        assert_refused(&app, &format!("{body}"), answer, 400, needle).await;
    }
}

#[tokio::test]
async fn invalid_json_is_400() {
    let app = spawn_app().await;
    for text in [r#"{"queueId": "#, "", "{'queueId': 1}", "\u{fffd}"] {
        let response = app
            .http
            .post(app.url("/api/callback"))
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .unwrap();
        assert_refused(&app, text, read(response).await, 400, "not valid JSON").await;
    }
}

/// 415 rather than a generic 400: the precise status, and what refuses the "simple" cross-site
/// form posts a browser sends without a CORS preflight.
#[tokio::test]
async fn bodies_that_are_not_declared_json_are_415() {
    let app = spawn_app().await;
    let json_text = seed_body().to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
        None,
    ] {
        let mut request = app
            .http
            .post(app.url("/api/callback"))
            .body(json_text.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = read(request.send().await.unwrap()).await;
        let case = format!("{content_type:?}");
        assert_refused(&app, &case, answer, 415, "application/json").await;
    }
}

#[tokio::test]
async fn bodies_over_4_kib_are_413_with_or_without_a_content_length() {
    let app = spawn_app().await;
    let mut body = seed_body();
    body["callbackUserName"] = json!("x".repeat(4 * 1024));
    let text = body.to_string();
    let sized = app
        .http
        .post(app.url("/api/callback"))
        .header("content-type", "application/json")
        .body(text.clone());
    assert_refused(
        &app,
        "sized",
        read(sized.send().await.unwrap()).await,
        413,
        "4096",
    )
    .await;
    let chunks: Vec<Result<String, std::io::Error>> = text
        .as_bytes()
        .chunks(512)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let streamed = app
        .http
        .post(app.url("/api/callback"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )));
    assert_refused(
        &app,
        "chunked",
        read(streamed.send().await.unwrap()).await,
        413,
        "4096",
    )
    .await;
}

#[tokio::test]
async fn a_queue_that_is_not_public_is_404_and_never_reaches_genesys() {
    // Billing exists in the org but is not monitored: it must look like no queue at all.
    let app = spawn_app_with(&["--monitored-queues", &DEMO_SALES_QUEUE.to_string()]).await;
    for queue in [
        DEMO_BILLING_QUEUE.to_string(),
        uuid::Uuid::new_v4().to_string(),
        "../../oauth/token".to_owned(),
    ] {
        let mut body = seed_body();
        body["queueId"] = json!(queue);
        let answer = post_json(&app, &body).await;
        assert_refused(&app, &queue, answer, 404, "no public queue").await;
    }
    let mut body = seed_body();
    body.as_object_mut().map(|o| o.remove("queueId"));
    body["routingData"] = json!({"queueId": DEMO_BILLING_QUEUE});
    let answer = post_json(&app, &body).await;
    assert_refused(&app, "routingData", answer, 404, "no public queue").await;
}

#[tokio::test]
async fn phone_numbers_follow_libphonenumber_and_the_settings() {
    let app = spawn_app_with(&[
        "--callback-allowed-countries",
        "US,GB",
        "--callback-blocked-numbers",
        "+1 317 222 9999",
        "--callback-numbers-per-address-daily",
        "10",
    ])
    .await;
    let with_number = |number: &str, region: Option<&str>| {
        let mut body = seed_body();
        body["callbackNumbers"] = json!([number]);
        if let Some(region) = region {
            body["countryCode"] = json!(region);
        }
        body
    };
    // Accepted: international, and national read in the request's region.
    for (number, region) in [("+1 (317) 222-2230", None), ("020 7946 0018", Some("GB"))] {
        accepted(&app, &with_number(number, region)).await;
    }
    let refused = [
        ("020 7946 0018", None, "not a valid phone number"),
        ("+1 900 555 0199", None, "kind of number we cannot call"),
        ("+44 909 879 0000", None, "kind of number we cannot call"),
        ("+33 6 12 34 56 78", None, "country we cannot call"),
        ("+1 317 222 9999", None, "cannot be called back"),
        ("(317) 222-9999", Some("US"), "cannot be called back"),
    ];
    let junk = [
        "12",
        "+1",
        "911",
        "112",
        "*#21#",
        ",,,1234",
        "sip:evil@example.com",
        "javascript:alert(1)",
        "\"><svg/onload=alert(1)>",
    ];
    let delivered_before = wait_for_upstream_callbacks(&app, 2).await.len();
    for (number, region, needle) in refused.into_iter().chain(
        junk.iter()
            .map(|j| (*j, Some("US"), "not a valid phone number")),
    ) {
        let (status, _, text) = post_json(&app, &with_number(number, region)).await;
        assert_eq!(status, 400, "{number}: {text}");
        assert!(text.contains(needle), "{number}: {text}");
        assert!(
            text.contains("\"name\":\"callbackNumbers\""),
            "{number}: {text}"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(upstream_callbacks(&app).await.len(), delivered_before);
    assert_eq!(delivered_before, 2);
}

#[tokio::test]
async fn a_filled_honeypot_looks_accepted_but_nothing_is_stored_or_sent() {
    let app = spawn_app().await;
    let mut body = seed_body();
    body["website"] = json!("http://cheap-pills.example");
    let id = accepted(&app, &body).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.upstream_count(ROUTE).await, 0);
    let (status, _) = app.get_json(&format!("/api/callback/{id}")).await;
    assert_eq!(status, 404);
    // Invalid input is refused as it would be for a person: the decoy is not a way around checks.
    let mut invalid = body.clone();
    invalid["callbackNumbers"] = json!(["+1", "+2", "+3"]);
    let (status, content_type, text) = post_json(&app, &invalid).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(content_type, "application/problem+json");
    // An empty honeypot is a person.
    body["website"] = json!("");
    accepted(&app, &body).await;
    assert_eq!(wait_for_upstream_callbacks(&app, 1).await.len(), 1);
}

#[tokio::test]
async fn receipts_are_unguessable_and_unknown_ones_are_404() {
    let app = spawn_app().await;
    for id in [
        "00000000000000000000000000000000".to_owned(),
        "1".to_owned(),
        "../../etc/passwd".to_owned(),
        uuid::Uuid::new_v4().simple().to_string(),
    ] {
        let (status, body) = app.get_json(&format!("/api/callback/{id}")).await;
        assert_eq!(status, 404, "{id}: {body}");
    }
}
