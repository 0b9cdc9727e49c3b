//! Genesys's 300 requests a minute per access token, on by default, and the control route that
//! changes or lifts it.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, authenticated_client, spawn_sim, token};

const QUEUES: &str = "/api/v2/routing/queues";

#[tokio::test]
async fn the_301st_request_of_a_token_in_a_minute_is_429_with_retry_after() {
    let sim = spawn_sim().await;
    for n in 1..=300 {
        let status = sim.get(QUEUES).await.status();
        assert_eq!(status, StatusCode::OK, "request {n}");
    }
    let refused = sim.get(QUEUES).await;
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(refused, 429, "too.many.requests.retry.after").await;
    // Any endpoint: the limit is the token's.
    assert_eq!(
        sim.get("/api/v2/tokens/me").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another token (another client in Genesys) has its own minute.
    let other = authenticated_client(&token(&sim.plain, &sim.sim).await);
    let response = other.get(sim.url(QUEUES)).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_control_api_changes_and_lifts_the_limit() {
    let sim = spawn_sim().await;
    let limit = sim
        .plain
        .get(sim.url("/__sim/rate-limit"))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        limit.json::<serde_json::Value>().await.expect("JSON"),
        json!({"perMinute": 300, "perClient": false})
    );
    let set = |body: serde_json::Value| {
        let request = sim.plain.put(sim.url("/__sim/rate-limit")).json(&body);
        async move { request.send().await.expect("sent").status() }
    };
    assert_eq!(set(json!({"perMinute": 2})).await, StatusCode::NO_CONTENT);
    assert_eq!(sim.get(QUEUES).await.status(), StatusCode::OK);
    assert_eq!(sim.get(QUEUES).await.status(), StatusCode::OK);
    assert_eq!(
        sim.get(QUEUES).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        set(json!({"perMinute": null})).await,
        StatusCode::NO_CONTENT
    );
    for _ in 0..20 {
        assert_eq!(sim.get(QUEUES).await.status(), StatusCode::OK);
    }
    // Per client: a second token does not get a minute of its own.
    assert_eq!(
        set(json!({"perMinute": 1, "perClient": true})).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(sim.get(QUEUES).await.status(), StatusCode::OK);
    let other = authenticated_client(&token(&sim.plain, &sim.sim).await);
    let response = other.get(sim.url(QUEUES)).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(set(json!({"perMinute": 0})).await, StatusCode::BAD_REQUEST);
    assert_eq!(set(json!({"perMinut": 5})).await, StatusCode::BAD_REQUEST);
}
