//! Spawning the service for a test, and typed helpers to talk to it and to its simulator.

#![allow(dead_code)] // Each test module uses a different subset.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use genesys_sim::RunningSim;
use public_stats::config::{Args, Settings};
use public_stats::startup::Application;
use public_stats::state::AppState;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use genesys_sim::config::{DEMO_BILLING_QUEUE, DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE};

/// A running service (sandbox mode) and a client for it. Dropping it shuts the service down.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The admin listener (`/metrics`).
    pub admin_addr: SocketAddr,
    pub http: reqwest::Client,
    pub state: AppState,
    stop: CancellationToken,
    /// The callback store's directory, removed when the app is dropped.
    pub data_dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The service in sandbox mode on a free port, with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The service in sandbox mode on a free port, with extra command-line flags.
pub async fn spawn_app_with(flags: &[&str]) -> TestApp {
    spawn_app_tuned(flags, |client| client).await
}

/// The service in sandbox mode with extra flags and an adjusted Genesys client (budget, timeouts).
pub async fn spawn_app_tuned(
    flags: &[&str],
    adjust: impl FnOnce(genesys::ClientConfig) -> genesys::ClientConfig,
) -> TestApp {
    let (settings, data_dir) = settings(flags);
    let app = Application::build_with(settings, |mut client| {
        // Fail fast in tests: nothing upstream is slow unless a test makes it so.
        client.request_timeout = Duration::from_secs(2);
        adjust(client)
    })
    .await
    .expect("the service starts");
    let addr = app.local_addr();
    let admin_addr = app.local_admin_addr();
    let state = app.state().clone();
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until(stop.clone()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client");
    TestApp {
        addr,
        admin_addr,
        http,
        state,
        stop,
        data_dir,
    }
}

/// Settings from `flags`, listening on a free loopback port, with the callback store in a new
/// temporary directory (kept as long as the returned guard).
pub fn settings(flags: &[&str]) -> (Settings, tempfile::TempDir) {
    let data_dir = tempfile::tempdir().expect("a temporary data directory");
    let data_path = data_dir.path().to_string_lossy().into_owned();
    let mut argv = vec![
        "public-stats",
        "--bind-address",
        "127.0.0.1",
        "--port",
        "0",
        "--admin-bind-address",
        "127.0.0.1:0",
    ];
    if !flags.contains(&"--data-dir") {
        argv.extend(["--data-dir", &data_path]);
    }
    argv.extend_from_slice(flags);
    let settings = Args::try_parse_from(argv)
        .expect("flags parse")
        .into_settings()
        .expect("settings are valid");
    (settings, data_dir)
}

impl TestApp {
    /// Begins the service's shutdown, as SIGTERM would.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The in-process simulator behind the sandbox.
    pub fn sim(&self) -> &RunningSim {
        self.state
            .sandbox
            .as_ref()
            .expect("tests run in sandbox mode")
            .simulator()
    }

    /// Calls the simulator's control API.
    pub async fn sim_control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.sim().base_url(), path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("simulator control request")
    }

    /// Sets a simulated queue's state exactly (and holds it there).
    pub async fn set_queue(&self, queue: Uuid, state: Value) {
        let response = self
            .sim_control(
                reqwest::Method::PUT,
                &format!("/__sim/queues/{queue}/state"),
                Some(state),
            )
            .await;
        assert_eq!(
            response.status().as_u16(),
            204,
            "setting the simulated queue"
        );
    }

    /// Adds a fault to the simulator (`POST /__sim/faults`).
    pub async fn fault(&self, spec: Value) {
        let response = self
            .sim_control(reqwest::Method::POST, "/__sim/faults", Some(spec))
            .await;
        assert_eq!(response.status().as_u16(), 201, "fault accepted");
    }

    pub async fn clear_faults(&self) {
        let response = self
            .sim_control(reqwest::Method::DELETE, "/__sim/faults", None)
            .await;
        assert_eq!(response.status().as_u16(), 204);
    }

    /// Drops the service's notification socket and keeps it from coming back (channel checks and
    /// creation fail) until [`TestApp::clear_faults`].
    pub async fn take_down_notification_stream(&self) {
        for route in [
            "GET /channels/{channelId}",
            "POST /api/v2/notifications/channels",
        ] {
            self.fault(serde_json::json!({ "route": route, "status": 503 }))
                .await;
        }
        self.sim_control(reqwest::Method::POST, "/__sim/notifications/drop", None)
            .await;
    }

    /// How many requests the simulator received per route template.
    pub async fn upstream_count(&self, route: &str) -> u64 {
        let log: Value = self
            .sim_control(reqwest::Method::GET, "/__sim/requests", None)
            .await
            .json()
            .await
            .expect("request log is JSON");
        log["counts"][route].as_u64().unwrap_or(0)
    }

    /// Waits until `/readyz` says ready with the notification stream connected (current data),
    /// or panics after 10 s.
    pub async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            let (status, body) = self.get_json("/readyz").await;
            if status == 200 && body["stream"]["connected"] == true {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the service never became ready with a connected stream");
    }
}
