//! Shared set-up for the simulator's HTTP tests: a simulator on a free port, a token, an
//! authenticated client and the control API.

#![allow(dead_code)] // Each test module uses a different subset.

use std::time::Duration;

use genesys_sim::config::{
    DEMO_BILLING_QUEUE, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE,
};
use genesys_sim::{RunningSim, SimConfig};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;

pub const SALES: Uuid = DEMO_SALES_QUEUE;
pub const SUPPORT: Uuid = DEMO_SUPPORT_QUEUE;
pub const BILLING: Uuid = DEMO_BILLING_QUEUE;

/// A simulator (held still, on a free port) with an authenticated client.
pub struct TestSim {
    pub sim: RunningSim,
    /// Sends `Authorization: Bearer <token>` on every request.
    pub api: Client,
    /// No default headers: for the login, the control API and unauthenticated calls.
    pub plain: Client,
    pub token: String,
}

pub async fn spawn_sim() -> TestSim {
    spawn_sim_with(SimConfig::for_tests()).await
}

pub async fn spawn_sim_with(config: SimConfig) -> TestSim {
    let sim = genesys_sim::spawn(config).await.expect("simulator starts");
    let plain = client_builder().build().expect("client builds");
    let token = token(&plain, &sim).await;
    let api = authenticated_client(&token);
    TestSim {
        sim,
        api,
        plain,
        token,
    }
}

fn client_builder() -> reqwest::ClientBuilder {
    // Generous for a loaded machine; tests that expect a hang set their own, shorter timeout.
    Client::builder()
        .timeout(Duration::from_secs(20))
        .no_proxy()
}

pub fn authenticated_client(token: &str) -> Client {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("token is a header value");
    headers.insert(AUTHORIZATION, value);
    client_builder()
        .default_headers(headers)
        .build()
        .expect("client builds")
}

/// A fresh access token for the demo org.
pub async fn token(client: &Client, sim: &RunningSim) -> String {
    let response = client
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request is sent");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    pub async fn get(&self, path: &str) -> Response {
        self.api
            .get(self.url(path))
            .send()
            .await
            .expect("request is sent")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.api
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request is sent")
    }

    /// GET, asserting 200, returning the JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        ok_json(self.get(path).await).await
    }

    /// POST, asserting 200, returning the JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Value {
        ok_json(self.post(path, body).await).await
    }

    /// `PUT /__sim/queues/{queue}/state`, asserting 204.
    pub async fn set_queue_state(&self, queue: Uuid, state: &Value) {
        let response = self
            .plain
            .put(self.url(&format!("/__sim/queues/{queue}/state")))
            .json(state)
            .send()
            .await
            .expect("request is sent");
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// `POST /__sim/faults`, asserting 201, returning the fault id.
    pub async fn add_fault(&self, fault: &Value) -> String {
        let response = self
            .plain
            .post(self.url("/__sim/faults"))
            .json(fault)
            .send()
            .await
            .expect("request is sent");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.expect("fault JSON");
        body["id"].as_str().expect("fault id").to_owned()
    }

    /// `GET /__sim/requests`.
    pub async fn requests(&self) -> Value {
        ok_json(
            self.plain
                .get(self.url("/__sim/requests"))
                .send()
                .await
                .expect("request is sent"),
        )
        .await
    }

    pub async fn ewt(&self, queue: Uuid) -> Value {
        self.get_json(&format!("/api/v2/routing/queues/{queue}/estimatedwaittime"))
            .await
    }
}

pub async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("body is read");
    assert_eq!(status, StatusCode::OK, "body: {text}");
    serde_json::from_str(&text).expect("body is JSON")
}

/// Asserts a Genesys `ErrorBody` with `status` and `code`; returns the body.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["contextId"].is_string(), "{body}");
    assert!(
        body["details"].is_array() && body["errors"].is_array(),
        "{body}"
    );
    body
}

/// Retries `check` every 50 ms for up to 5 s until it returns Some.
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not met within 5 s");
}
