//! `POST /oauth/token` and the bearer check on `/api/v2/...`.

use std::time::Duration;

use genesys_sim::SimConfig;
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_error, authenticated_client, spawn_sim, spawn_sim_with};

const QUEUES: &str = "/api/v2/routing/queues";

#[tokio::test]
async fn token_is_issued_for_the_demo_credentials() {
    let sim = spawn_sim().await;
    let response = sim
        .plain
        .post(sim.url("/oauth/token"))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["access_token"].as_str().is_some_and(|t| t.len() >= 32),
        "{body}"
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(
        body["expires_in"],
        SimConfig::for_tests().token_ttl.as_secs()
    );
    // Each grant is a new token, and the one issued works.
    assert_ne!(body["access_token"], sim.token.as_str());
    let api = authenticated_client(body["access_token"].as_str().unwrap_or_default());
    let listed = api.get(sim.url(QUEUES)).send().await.expect("sent");
    assert_eq!(listed.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_ttl_comes_from_the_config() {
    let config = SimConfig {
        token_ttl: Duration::from_secs(600),
        ..SimConfig::for_tests()
    };
    let sim = spawn_sim_with(config).await;
    let response = sim
        .plain
        .post(sim.url("/oauth/token"))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("sent");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["expires_in"], 600);
}

#[tokio::test]
async fn bad_or_missing_client_credentials_are_invalid_client() {
    let sim = spawn_sim().await;
    let attempts = [
        sim.plain
            .post(sim.url("/oauth/token"))
            .basic_auth(DEMO_CLIENT_ID, Some("wrong")),
        sim.plain
            .post(sim.url("/oauth/token"))
            .basic_auth("someone-else", Some(DEMO_CLIENT_SECRET)),
        sim.plain.post(sim.url("/oauth/token")),
        sim.plain
            .post(sim.url("/oauth/token"))
            .bearer_auth(&sim.token),
    ];
    for attempt in attempts {
        let response = attempt
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"], "invalid_client", "{body}");
        assert!(body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn a_grant_other_than_client_credentials_is_400() {
    let sim = spawn_sim().await;
    for form in [vec![("grant_type", "password")], vec![]] {
        let response = sim
            .plain
            .post(sim.url("/oauth/token"))
            .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
            .form(&form)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"], "unsupported_grant_type", "{body}");
    }
}

#[tokio::test]
async fn api_calls_need_a_bearer_token() {
    let sim = spawn_sim().await;
    let response = sim.plain.get(sim.url(QUEUES)).send().await.expect("sent");
    assert_error(response, 401, "authentication.required").await;
    let response = sim
        .plain
        .post(sim.url("/api/v2/analytics/queues/observations/query"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("sent");
    assert_error(response, 401, "authentication.required").await;
    // Basic credentials are not a bearer token.
    let response = sim
        .plain
        .get(sim.url(QUEUES))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .send()
        .await
        .expect("sent");
    assert_error(response, 401, "authentication.required").await;
}

#[tokio::test]
async fn an_unknown_token_is_bad_credentials() {
    let sim = spawn_sim().await;
    let response = sim
        .plain
        .get(sim.url(QUEUES))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("sent");
    assert_error(response, 401, "bad.credentials").await;
}

#[tokio::test]
async fn expired_tokens_are_refused_and_a_new_one_works() {
    let sim = spawn_sim().await;
    assert_eq!(sim.get(QUEUES).await.status(), StatusCode::OK);
    let response = sim
        .plain
        .post(sim.url("/__sim/tokens/expire"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_error(sim.get(QUEUES).await, 401, "credentials.expired").await;
    let fresh = crate::helpers::token(&sim.plain, &sim.sim).await;
    let response = authenticated_client(&fresh)
        .get(sim.url(QUEUES))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn tokens_expire_after_their_ttl() {
    let config = SimConfig {
        token_ttl: Duration::from_millis(300),
        ..SimConfig::for_tests()
    };
    let sim = spawn_sim_with(config).await;
    assert_eq!(sim.get(QUEUES).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_error(sim.get(QUEUES).await, 401, "credentials.expired").await;
}
