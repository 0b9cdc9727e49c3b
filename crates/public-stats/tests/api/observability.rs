//! What an operator sees: Prometheus metrics on the admin listener after real traffic, request
//! ids in headers, problem bodies and log lines, and JSON log lines from the real binary.
//!
//! The metrics recorder is process-wide and tests run side by side, so a series is checked to
//! have grown by at least what this test did, never for an exact value.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::callbacks::{body_for, post_json, wait_for_status};
use crate::helpers::*;
use crate::logs::capture_logs;

/// The admin listener's `/metrics` text.
async fn scrape(app: &TestApp) -> String {
    let response = app
        .http
        .get(format!("http://{}/metrics", app.admin_addr))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

/// The sum of every sample of `name` whose labels include all of `labels` (0 when none).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let wanted = series_name == name
                && labels
                    .iter()
                    .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Scrapes until `name{labels}` reaches `at_least`, or panics with the last scrape after 10 s.
async fn wait_for_sample(app: &TestApp, name: &str, labels: &[(&str, &str)], at_least: f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(app).await;
        if sample(&text, name, labels) >= at_least {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}{labels:?} never reached {at_least}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_are_counted_by_route_pattern_on_the_admin_port_only() {
    let app = spawn_app().await;
    let labels = [("route", "/api/stats/{queueId}"), ("status", "404")];
    let before = sample(
        &scrape(&app).await,
        "public_stats_http_requests_total",
        &labels,
    );
    let unknown = uuid::Uuid::new_v4();
    for _ in 0..3 {
        let response = app.get(&format!("/api/stats/{unknown}?key=ewt")).await;
        assert_eq!(response.status(), 404);
    }
    let text = scrape(&app).await;
    let after = sample(&text, "public_stats_http_requests_total", &labels);
    assert!(after >= before + 3.0, "{before} → {after}:\n{text}");
    assert!(
        !text.contains(&unknown.to_string()),
        "a raw path became a label"
    );
    // Histograms, not summaries: buckets can be summed across instances.
    assert!(
        sample(
            &text,
            "public_stats_http_request_duration_seconds_bucket",
            &[("route", "/api/stats/{queueId}"), ("le", "+Inf")]
        ) >= 3.0,
        "{text}"
    );
    let public = app.get("/metrics").await;
    assert_eq!(public.status(), 404, "the public port has no /metrics");
}

#[tokio::test]
async fn upstream_calls_ewt_cache_budget_and_stream_are_measured() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let ewt = [
        (
            "endpoint",
            "/api/v2/routing/queues/{queueId}/estimatedwaittime",
        ),
        ("status", "200"),
    ];
    let text = scrape(&app).await;
    let calls_before = sample(&text, "genesys_client_requests_total", &ewt);
    let misses_before = sample(
        &text,
        "public_stats_ewt_cache_requests_total",
        &[("result", "miss")],
    );
    let hits_before = sample(
        &text,
        "public_stats_ewt_cache_requests_total",
        &[("result", "hit")],
    );
    for _ in 0..2 {
        let (status, _) = app
            .get_json(&format!("/api/stats/{DEMO_SALES_QUEUE}?key=ewt"))
            .await;
        assert_eq!(status, 200);
    }
    let text = scrape(&app).await;
    assert!(sample(&text, "genesys_client_requests_total", &ewt) >= calls_before + 1.0);
    assert!(
        sample(
            &text,
            "genesys_client_request_duration_seconds_count",
            &[(
                "endpoint",
                "/api/v2/routing/queues/{queueId}/estimatedwaittime"
            )]
        ) >= 1.0
    );
    assert!(
        sample(
            &text,
            "public_stats_ewt_cache_requests_total",
            &[("result", "miss")]
        ) >= misses_before + 1.0
    );
    assert!(
        sample(
            &text,
            "public_stats_ewt_cache_requests_total",
            &[("result", "hit")]
        ) >= hits_before + 1.0,
        "the second ask within CACHE_SECONDS is a hit"
    );
    assert!(
        text.contains("\ngenesys_client_budget_tokens "),
        "budget gauge:\n{text}"
    );
    assert!(text.contains("\ngenesys_client_notification_connected "));
    assert!(text.contains("\npublic_stats_live_fresh "));

    let dropped = [("reason", "dropped")];
    let before = sample(
        &text,
        "genesys_client_notification_connections_ended_total",
        &dropped,
    );
    app.take_down_notification_stream().await;
    wait_for_sample(
        &app,
        "genesys_client_notification_connections_ended_total",
        &dropped,
        before + 1.0,
    )
    .await;
}

#[tokio::test]
async fn callbacks_are_counted_by_outcome() {
    let app = spawn_app().await;
    let text = scrape(&app).await;
    let accepted = [("outcome", "accepted")];
    let refused = [("outcome", "refused"), ("reason", "bad-body")];
    let delivered = [("outcome", "delivered")];
    let accepted_before = sample(&text, "public_stats_callback_requests_total", &accepted);
    let refused_before = sample(&text, "public_stats_callback_requests_total", &refused);
    let delivered_before = sample(&text, "public_stats_callback_deliveries_total", &delivered);

    let (status, _, text) = post_json(&app, &body_for(4711)).await;
    assert_eq!(status, 202, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, _) = post_json(&app, &serde_json::json!({ "queueId": 7 })).await;
    assert_eq!(status, 400);
    wait_for_status(&app, &id, "created").await;

    let text = scrape(&app).await;
    assert!(
        sample(&text, "public_stats_callback_requests_total", &accepted) >= accepted_before + 1.0
    );
    assert!(
        sample(&text, "public_stats_callback_requests_total", &refused) >= refused_before + 1.0,
        "{text}"
    );
    wait_for_sample(
        &app,
        "public_stats_callback_deliveries_total",
        &delivered,
        delivered_before + 1.0,
    )
    .await;
    assert!(text.contains("\npublic_stats_callback_jobs_pending "));
}

fn is_uuid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok()
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_response_carries_a_generated_request_id() {
    let app = spawn_app().await;
    let first = request_id(&app.get("/api/queues").await);
    let second = request_id(&app.get("/healthz").await);
    assert!(is_uuid(&first), "{first}");
    assert!(is_uuid(&second), "{second}");
    assert_ne!(first, second);
    // Also on what no route matched.
    assert!(is_uuid(&request_id(&app.get("/no/such/page").await)));
}

#[tokio::test]
async fn a_request_id_is_taken_only_from_a_trusted_proxy_and_only_when_well_formed() {
    let send = |app: &TestApp, id: &str| {
        app.http
            .get(app.url("/api/queues"))
            .header("x-request-id", id)
            .send()
    };
    let behind_proxy = spawn_app_with(&["--trusted-proxies", "127.0.0.0/8"]).await;
    let response = send(&behind_proxy, "edge-4f1c.77:abc").await.unwrap();
    assert_eq!(request_id(&response), "edge-4f1c.77:abc");
    let response = send(&behind_proxy, "bad id <script>").await.unwrap();
    assert!(
        is_uuid(&request_id(&response)),
        "a malformed id is replaced"
    );
    let long = "a".repeat(129);
    let response = send(&behind_proxy, &long).await.unwrap();
    assert!(
        is_uuid(&request_id(&response)),
        "an overlong id is replaced"
    );

    let direct = spawn_app().await;
    let response = send(&direct, "edge-4f1c.77:abc").await.unwrap();
    let id = request_id(&response);
    assert!(is_uuid(&id), "an untrusted peer's id is ignored: {id}");
}

#[tokio::test]
async fn problem_bodies_carry_the_request_id() {
    let app = spawn_app_with(&["--trusted-proxies", "127.0.0.1"]).await;
    let response = app.get("/api/stats/not-a-queue?key=ewt").await;
    assert_eq!(response.status(), 404);
    let id = request_id(&response);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["requestId"], id.as_str(), "{problem}");
    assert_eq!(problem["status"], 404);
    // A problem made by a layer rather than a handler: the wrong method.
    let response = app
        .http
        .delete(app.url("/api/queues"))
        .header("x-request-id", "from-the-proxy-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["requestId"], "from-the-proxy-1", "{problem}");
}

#[tokio::test]
async fn a_request_s_log_lines_carry_its_id() {
    let logs = capture_logs();
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/api/callback"))
        .json(&body_for(4712))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let id = request_id(&response);
    let text = logs.text();
    let line = text
        .lines()
        .find(|line| line.contains("callback request accepted"))
        .unwrap_or_else(|| panic!("no acceptance logged:\n{text}"));
    assert!(line.contains(&format!("request_id={id}")), "{line}");
    assert!(line.contains("route=/api/callback"), "{line}");
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_per_line() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let mut service = Command::new(env!("CARGO_BIN_EXE_public-stats"))
        .env_clear()
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("ADMIN_BIND_ADDRESS", "127.0.0.1:0")
        .env("DATA_DIR", data_dir.path())
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the service binary starts");
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let response = loop {
        let posted = http
            .post(format!("{base}/api/callback"))
            .json(&body_for(4713))
            .send()
            .await;
        match posted {
            Ok(response) => break response,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the service never answered: {error}"),
        }
    };
    assert_eq!(response.status(), 202);
    let id = request_id(&response);
    // Log lines are written as events happen; give the last one a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    service.kill().unwrap();
    service.wait().unwrap();
    let mut stdout = String::new();
    service
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    service
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines.len() >= 2, "{stdout}");
    for line in &lines {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["level"].is_string(), "{line}");
        assert!(line["message"].is_string(), "{line}");
    }
    let accepted = lines
        .iter()
        .find(|line| line["message"] == "callback request accepted")
        .unwrap_or_else(|| panic!("no acceptance logged:\n{stdout}"));
    assert_eq!(accepted["span"]["request_id"], id.as_str(), "{accepted}");
    assert_eq!(accepted["span"]["route"], "/api/callback", "{accepted}");
}
