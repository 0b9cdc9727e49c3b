//! `POST /api/callback` over real HTTP: what reaches the simulator (exactly the validated
//! callback, on the public queue), what is refused before anything reaches it (every bad input,
//! with a problem body naming the problem), and what a visitor hears when Genesys fails (a fixed
//! problem, none of Genesys's text, never the phone number).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const ROUTE: &str = "POST /api/v2/conversations/callbacks";
const NUMBER: &str = "+13172222222";
/// A part of [`NUMBER`] that any echo of it would contain, however reformatted.
const NUMBER_DIGITS: &str = "3172222222";

fn seed_body() -> Value {
    json!({
        "queueId": DEMO_SALES_QUEUE,
        "callbackNumbers": [NUMBER],
        "callbackUserName": "John Smith",
        "callbackScheduledTime": "2026-11-25T10:30:00.000Z",
    })
}

/// Status, `Content-Type` and body text of a JSON post.
async fn post_json(app: &TestApp, body: &Value) -> (u16, String, String) {
    let response = app
        .http
        .post(app.url("/api/callback"))
        .json(body)
        .send()
        .await
        .expect("request sent");
    read(response).await
}

async fn read(response: reqwest::Response) -> (u16, String, String) {
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

/// The raw bodies the simulator received on `POST /api/v2/conversations/callbacks`.
async fn upstream_callbacks(app: &TestApp) -> Vec<Value> {
    let log: Value = app
        .sim_control(Method::GET, "/__sim/requests", None)
        .await
        .json()
        .await
        .expect("request log is JSON");
    log["callbacks"].as_array().cloned().unwrap_or_default()
}

/// A problem+json answer with this status whose `detail` contains `needle`, nothing upstream.
async fn assert_refused(
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
async fn the_seed_body_creates_exactly_that_callback_and_answers_204() {
    let app = spawn_app().await;
    let (status, _, text) = post_json(&app, &seed_body()).await;
    assert_eq!((status, text.as_str()), (204, ""));
    assert_eq!(
        upstream_callbacks(&app).await,
        [json!({
            "routingData": {"queueId": DEMO_SALES_QUEUE},
            "callbackNumbers": [NUMBER],
            "callbackUserName": "John Smith",
            "callbackScheduledTime": "2026-11-25T10:30:00Z",
            "data": {"source": "public-stats"},
        })]
    );
}

#[tokio::test]
async fn routing_data_with_only_the_queue_is_accepted_and_names_are_optional() {
    let app = spawn_app().await;
    for body in [
        json!({"routingData": {"queueId": DEMO_SUPPORT_QUEUE}, "callbackNumbers": [NUMBER]}),
        json!({"queueId": DEMO_SUPPORT_QUEUE, "routingData": {"queueId": DEMO_SUPPORT_QUEUE},
               "callbackNumbers": [NUMBER], "callbackUserName": "  "}),
    ] {
        let (status, _, text) = post_json(&app, &body).await;
        assert_eq!(status, 204, "{body}: {text}");
    }
    let expected = json!({
        "routingData": {"queueId": DEMO_SUPPORT_QUEUE},
        "callbackNumbers": [NUMBER],
        "data": {"source": "public-stats"},
    });
    assert_eq!(upstream_callbacks(&app).await, [expected.clone(), expected]);
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
        (("countryCode", json!("US")), "countryCode"),
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
        assert_refused(&app, &format!("{body}"), answer, 400, &format!("`{named}`")).await;
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
            with("callbackNumbers", json!(["1", "2", "3", "4"])),
            "at most 3",
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

/// The simulator's texts for the faults below: none may reach the visitor.
const UPSTREAM_TEXTS: &[&str] = &[
    "internal.server.error",
    "unexpected condition",
    "bad.request",
    "service.unavailable",
    "too.many.requests",
    "Genesys",
];

async fn fault(app: &TestApp, spec: Value) {
    let response = app
        .sim_control(Method::POST, "/__sim/faults", Some(spec))
        .await;
    assert_eq!(response.status().as_u16(), 201, "fault accepted");
}

#[tokio::test]
async fn upstream_failures_are_a_fixed_503_without_upstream_text_or_the_number() {
    let app = spawn_app().await;
    for status in [500, 400, 403, 404, 409, 502, 503] {
        fault(&app, json!({"route": ROUTE, "status": status, "times": 1})).await;
        let (got, content_type, text) = post_json(&app, &seed_body()).await;
        assert_eq!(got, 503, "upstream {status}: {text}");
        assert_eq!(content_type, "application/problem+json");
        assert!(text.contains("/problems/upstream-unavailable"), "{text}");
        for upstream in UPSTREAM_TEXTS.iter().chain([&NUMBER_DIGITS, &"John"]) {
            assert!(
                !text.contains(upstream),
                "upstream {status} leaked {upstream:?}: {text}"
            );
        }
    }
    // One attempt each: a callback is never re-sent after an answer that may mean it exists.
    assert_eq!(app.upstream_count(ROUTE).await, 7);
}

#[tokio::test]
async fn an_upstream_timeout_is_a_503() {
    let app = spawn_app().await;
    fault(&app, json!({"route": ROUTE, "hang": true, "times": 1})).await;
    let (status, _, text) = post_json(&app, &seed_body()).await;
    assert_eq!(status, 503, "{text}");
    assert!(!text.contains(NUMBER_DIGITS), "{text}");
}

#[tokio::test]
async fn an_upstream_429_is_a_503_with_retry_after() {
    let app = spawn_app().await;
    fault(
        &app,
        json!({"route": ROUTE, "status": 429, "retryAfter": 30, "times": 5}),
    )
    .await;
    let response = app
        .http
        .post(app.url("/api/callback"))
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (status, _, text) = read(response).await;
    assert_eq!(status, 503, "{text}");
    assert!(
        matches!(retry_after, Some(1..=30)),
        "Retry-After: {retry_after:?}"
    );
    assert!(text.contains("/problems/upstream-busy"), "{text}");
    for upstream in UPSTREAM_TEXTS.iter().chain([&NUMBER_DIGITS]) {
        assert!(!text.contains(upstream), "leaked {upstream:?}: {text}");
    }
}
