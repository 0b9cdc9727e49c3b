//! The abuse limits of `POST /api/callback`, each at its edge (the request before passes, the
//! one at the limit is refused), the client address behind trusted and untrusted proxies, and
//! `Idempotency-Key` (replay, other body, malformed).

use std::time::Duration;

use serde_json::{Value, json};

use crate::callbacks::{
    ROUTE, accepted, body_for, post_json, seed_body, wait_for_upstream_callbacks,
};
use crate::helpers::*;

/// A refusal with this status and problem type; returns its `Retry-After`, if any.
async fn refused(app: &TestApp, body: &Value, status: u16, kind: &str) -> Option<u64> {
    refused_from(app, body, None, status, kind).await
}

async fn refused_from(
    app: &TestApp,
    body: &Value,
    forwarded_for: Option<&str>,
    status: u16,
    kind: &str,
) -> Option<u64> {
    let mut request = app.http.post(app.url("/api/callback")).json(body);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let got = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(got, status, "{body}: {text}");
    assert!(text.contains(&format!("/problems/{kind}")), "{text}");
    retry_after
}

async fn accepted_from(app: &TestApp, body: &Value, forwarded_for: &str) -> u16 {
    app.http
        .post(app.url("/api/callback"))
        .header("x-forwarded-for", forwarded_for)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_second_request_for_a_pending_number_and_queue_is_409_with_the_first_receipt() {
    let app = spawn_app().await;
    let first = accepted(&app, &seed_body()).await;
    let (status, _, text) = post_json(&app, &seed_body()).await;
    assert_eq!(status, 409, "{text}");
    let problem: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem["id"], first.as_str());
    assert_eq!(problem["type"], "/problems/callback-pending");
    // Another queue is another callback.
    let mut other_queue = seed_body();
    other_queue["queueId"] = json!(DEMO_SUPPORT_QUEUE);
    accepted(&app, &other_queue).await;
}

#[tokio::test]
async fn a_number_gets_at_most_three_requests_a_day() {
    // A created callback stops counting as pending after a second, so the same queue can be
    // asked again and only the daily count stands in the way.
    let app = spawn_app_with(&["--callback-max-age", "1s"]).await;
    for queue in [DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE] {
        let mut body = seed_body();
        body["queueId"] = json!(queue);
        accepted(&app, &body).await;
    }
    wait_for_upstream_callbacks(&app, 3).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let retry = refused(&app, &seed_body(), 429, "too-many-callbacks").await;
    assert!(
        matches!(retry, Some(seconds) if seconds % 60 == 0 && seconds > 23 * 3600),
        "Retry-After in whole minutes, about a day: {retry:?}"
    );
}

#[tokio::test]
async fn an_address_gets_five_requests_an_hour() {
    let app = spawn_app_with(&["--callback-numbers-per-address-daily", "10"]).await;
    for n in 0..5 {
        accepted(&app, &body_for(2230 + n)).await;
    }
    let retry = refused(&app, &body_for(2240), 429, "too-many-callbacks").await;
    assert!(
        matches!(retry, Some(seconds) if (3540..=3600).contains(&seconds)),
        "Retry-After about an hour, in whole minutes: {retry:?}"
    );
}

#[tokio::test]
async fn an_address_gets_at_most_the_daily_limit() {
    let app = spawn_app_with(&[
        "--callback-per-address-hourly",
        "10",
        "--callback-per-address-daily",
        "4",
        "--callback-numbers-per-address-daily",
        "10",
    ])
    .await;
    for n in 0..4 {
        accepted(&app, &body_for(2230 + n)).await;
    }
    let retry = refused(&app, &body_for(2240), 429, "too-many-callbacks").await;
    assert!(matches!(retry, Some(s) if s > 23 * 3600), "{retry:?}");
}

#[tokio::test]
async fn an_address_may_name_three_distinct_numbers_a_day() {
    let app = spawn_app().await;
    for n in 0..3 {
        accepted(&app, &body_for(2230 + n)).await;
    }
    refused(&app, &body_for(2233), 429, "too-many-callbacks").await;
    // A number already named is not a new one.
    let mut known = body_for(2230);
    known["queueId"] = json!(DEMO_SUPPORT_QUEUE);
    accepted(&app, &known).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limits() {
    let app = spawn_app_with(&[
        "--trusted-proxies",
        "127.0.0.1/32,::1/128",
        "--callback-per-address-hourly",
        "1",
    ])
    .await;
    assert_eq!(
        accepted_from(&app, &body_for(2230), "203.0.113.1").await,
        202
    );
    refused_from(
        &app,
        &body_for(2231),
        Some("203.0.113.1"),
        429,
        "too-many-callbacks",
    )
    .await;
    // A client cannot escape by prepending its own claim: the proxy's entry is the rightmost.
    refused_from(
        &app,
        &body_for(2232),
        Some("198.51.100.9, 203.0.113.1"),
        429,
        "too-many-callbacks",
    )
    .await;
    assert_eq!(
        accepted_from(&app, &body_for(2233), "203.0.113.2").await,
        202
    );
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_headers_change_nothing() {
    let app = spawn_app_with(&["--callback-per-address-hourly", "1"]).await;
    assert_eq!(
        accepted_from(&app, &body_for(2230), "203.0.113.1").await,
        202
    );
    refused_from(
        &app,
        &body_for(2231),
        Some("203.0.113.2"),
        429,
        "too-many-callbacks",
    )
    .await;
}

#[tokio::test]
async fn a_queue_takes_at_most_its_pending_limit_while_genesys_is_down() {
    let app = spawn_app_with(&["--callback-max-pending-per-queue", "2"]).await;
    app.fault(json!({"route": ROUTE, "status": 503})).await;
    accepted(&app, &body_for(2230)).await;
    accepted(&app, &body_for(2231)).await;
    refused(&app, &body_for(2232), 503, "callbacks-unavailable").await;
    let mut other_queue = body_for(2232);
    other_queue["queueId"] = json!(DEMO_SUPPORT_QUEUE);
    accepted(&app, &other_queue).await;
}

#[tokio::test]
async fn the_org_takes_at_most_its_daily_limit() {
    let app = spawn_app_with(&["--callback-daily-limit", "2"]).await;
    accepted(&app, &body_for(2230)).await;
    accepted(&app, &body_for(2231)).await;
    refused(&app, &body_for(2232), 503, "callbacks-unavailable").await;
}

async fn post_with_key(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/api/callback"))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_get_the_same_receipt_and_one_callback() {
    let app = spawn_app().await;
    let key = uuid::Uuid::new_v4().to_string();
    let body = seed_body();
    let (first_status, first) = post_with_key(&app, &key, &body).await;
    assert_eq!(first_status, 202, "{first}");
    // A retry of the same submission (say, after a timeout) is the same request.
    let retries =
        futures_util::future::join_all((0..10).map(|_| post_with_key(&app, &key, &body))).await;
    for (status, receipt) in retries {
        assert_eq!(status, 202, "{receipt}");
        assert_eq!(receipt["id"], first["id"]);
    }
    assert_eq!(wait_for_upstream_callbacks(&app, 1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.upstream_count(ROUTE).await,
        1,
        "one callback for one key"
    );
}

#[tokio::test]
async fn an_idempotency_key_with_another_body_is_422_and_a_malformed_one_is_400() {
    let app = spawn_app().await;
    let (status, _) = post_with_key(&app, "order-1", &body_for(2230)).await;
    assert_eq!(status, 202);
    let (status, problem) = post_with_key(&app, "order-1", &body_for(2231)).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "/problems/idempotency-key-reused");
    let too_long = "k".repeat(256);
    for bad in ["", "has space", "ключ", too_long.as_str()] {
        let response = app
            .http
            .post(app.url("/api/callback"))
            .header(
                "idempotency-key",
                reqwest::header::HeaderValue::from_bytes(bad.as_bytes()).unwrap(),
            )
            .json(&body_for(2232))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{bad:?}");
    }
}
