//! Fault injection through `POST /__sim/faults` / `DELETE /__sim/faults`.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{SALES, assert_error, spawn_sim};

const EWT_ROUTE: &str = "GET /api/v2/routing/queues/{queueId}/estimatedwaittime";

fn ewt_path() -> String {
    format!("/api/v2/routing/queues/{SALES}/estimatedwaittime")
}

#[tokio::test]
async fn a_status_fault_answers_a_genesys_error_with_retry_after_then_stops() {
    let sim = spawn_sim().await;
    sim.add_fault(&json!({"route": EWT_ROUTE, "status": 429, "retryAfter": 2, "times": 1}))
        .await;
    // Other routes are untouched.
    assert_eq!(
        sim.get("/api/v2/routing/queues").await.status(),
        StatusCode::OK
    );
    let response = sim.get(&ewt_path()).await;
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    assert_error(response, 429, "too.many.requests.retry.after").await;
    assert_eq!(sim.get(&ewt_path()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn times_counts_matching_requests_and_absent_times_lasts_until_cleared() {
    let sim = spawn_sim().await;
    sim.add_fault(&json!({"route": EWT_ROUTE, "status": 503, "times": 3}))
        .await;
    for _ in 0..3 {
        assert_error(sim.get(&ewt_path()).await, 503, "service.unavailable").await;
    }
    assert_eq!(sim.get(&ewt_path()).await.status(), StatusCode::OK);

    sim.add_fault(&json!({"route": EWT_ROUTE, "status": 500}))
        .await;
    for _ in 0..5 {
        assert_error(sim.get(&ewt_path()).await, 500, "internal.server.error").await;
    }
    let cleared = sim
        .plain
        .delete(sim.url("/__sim/faults"))
        .send()
        .await
        .expect("sent");
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert_eq!(sim.get(&ewt_path()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_delay_fault_answers_normally_but_late() {
    let sim = spawn_sim().await;
    sim.add_fault(&json!({"route": EWT_ROUTE, "delayMs": 400, "times": 1}))
        .await;
    let started = Instant::now();
    let body = sim.get_json(&ewt_path()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert!(body["results"].is_array());
    let started = Instant::now();
    sim.get_json(&ewt_path()).await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "the delay was used up"
    );
}

#[tokio::test]
async fn a_malformed_fault_sends_a_body_that_is_not_json() {
    let sim = spawn_sim().await;
    sim.add_fault(&json!({"route": EWT_ROUTE, "malformed": true, "times": 1}))
        .await;
    sim.add_fault(&json!({"route": EWT_ROUTE, "malformed": true, "status": 502, "times": 1}))
        .await;
    for status in [200, 502] {
        let response = sim.get(&ewt_path()).await;
        assert_eq!(response.status().as_u16(), status);
        let text = response.text().await.expect("body");
        assert!(
            serde_json::from_str::<Value>(&text).is_err(),
            "should not parse: {text}"
        );
    }
}

#[tokio::test]
async fn a_hang_fault_never_answers() {
    let sim = spawn_sim().await;
    sim.add_fault(&json!({"route": EWT_ROUTE, "hang": true, "times": 1}))
        .await;
    let started = Instant::now();
    let result = sim
        .api
        .get(sim.url(&ewt_path()))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    let error = result.expect_err("no answer");
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    // The request reached the simulator (logged, no status) and the server still serves.
    let log = sim.requests().await;
    let entry = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["route"] == EWT_ROUTE)
        .cloned();
    assert_eq!(entry.expect("logged")["status"], Value::Null);
    assert_eq!(sim.get(&ewt_path()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_star_fault_hits_every_api_route_but_not_the_control_api() {
    let sim = spawn_sim().await;
    sim.add_fault(&json!({"route": "*", "status": 503, "times": 2}))
        .await;
    assert_error(
        sim.get("/api/v2/routing/queues").await,
        503,
        "service.unavailable",
    )
    .await;
    let control = sim
        .plain
        .get(sim.url("/__sim/org"))
        .send()
        .await
        .expect("sent");
    assert_eq!(control.status(), StatusCode::OK);
    let login = sim
        .plain
        .post(sim.url("/oauth/token"))
        .send()
        .await
        .expect("sent");
    assert_eq!(login.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        sim.get("/api/v2/routing/queues").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn faults_apply_before_the_bearer_check() {
    let sim = spawn_sim().await;
    sim.add_fault(&json!({"route": "GET /api/v2/routing/queues", "status": 504, "times": 1}))
        .await;
    let response = sim
        .plain
        .get(sim.url("/api/v2/routing/queues"))
        .send()
        .await
        .expect("sent");
    assert_error(response, 504, "request.timeout").await;
}

#[tokio::test]
async fn a_redirect_fault_points_back_at_the_same_path() {
    let sim = spawn_sim().await;
    sim.add_fault(&json!({"route": "get /api/v2/routing/queues", "status": 307, "times": 1}))
        .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client");
    let response = client
        .get(sim.url("/api/v2/routing/queues?pageSize=1"))
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok());
    assert_eq!(location, Some("/api/v2/routing/queues?pageSize=1"));
}

#[tokio::test]
async fn invalid_fault_specs_are_400() {
    let sim = spawn_sim().await;
    for spec in [
        json!({"status": 500}),
        json!({"route": "/api/v2/routing/queues"}),
        json!({"route": "*", "status": 42}),
        json!({"route": "*", "times": 0}),
        json!({"route": "*", "statusCode": 500}),
    ] {
        let response = sim
            .plain
            .post(sim.url("/__sim/faults"))
            .json(&spec)
            .send()
            .await
            .expect("sent");
        assert_error(response, 400, "bad.request").await;
    }
    // Nothing was installed.
    assert_eq!(
        sim.get("/api/v2/routing/queues").await.status(),
        StatusCode::OK
    );
}
