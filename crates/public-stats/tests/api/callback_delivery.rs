//! Accept, then deliver: what the relay does when Genesys fails, and that what was accepted
//! survives a restart. Visitors always hear 202 once their request is stored; Genesys's failures
//! decide only when (or whether) it is created, never whether it is kept.

use std::collections::HashSet;
use std::time::Duration;

use public_stats::startup::Application;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::callbacks::{ROUTE, accepted, body_for, upstream_callbacks, wait_for_status};
use crate::helpers::*;

/// The `data.outboxId` of every callback the simulator received.
fn outbox_ids(received: &[Value]) -> Vec<String> {
    received
        .iter()
        .filter_map(|body| body["data"]["outboxId"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn while_genesys_is_down_every_request_is_accepted_and_each_is_created_once_after() {
    let app = spawn_app_with(&["--callback-numbers-per-address-daily", "10"]).await;
    app.fault(json!({"route": ROUTE, "status": 503})).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(accepted(&app, &body_for(2230 + n)).await);
    }
    // Attempts fail, and nothing is created, but nothing is dropped either.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        let (_, receipt) = app.get_json(&format!("/api/callback/{id}")).await;
        assert_eq!(receipt["status"], "pending", "{receipt}");
    }
    let failed_attempts = app.upstream_count(ROUTE).await;
    assert!(failed_attempts >= 1, "the relay kept trying");
    app.clear_faults().await;
    for id in &ids {
        wait_for_status(&app, id, "created").await;
    }
    let created = upstream_callbacks(&app).await;
    let mut delivered = outbox_ids(&created);
    delivered.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(
        delivered, expected,
        "each accepted request created exactly once"
    );
}

#[tokio::test]
async fn a_request_genesys_refuses_is_failed_after_one_attempt() {
    let app = spawn_app().await;
    app.fault(json!({"route": ROUTE, "status": 400, "times": 1}))
        .await;
    let id = accepted(&app, &body_for(2230)).await;
    let failed = wait_for_status(&app, &id, "failed").await;
    assert_eq!(failed["numberEnding"], "30");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.upstream_count(ROUTE).await, 1, "a 4xx is not retried");
}

#[tokio::test]
async fn timeouts_and_429s_are_retried_until_created() {
    let app = spawn_app_with(&["--callback-numbers-per-address-daily", "10"]).await;
    app.fault(json!({"route": ROUTE, "hang": true, "times": 1}))
        .await;
    let hung = accepted(&app, &body_for(2230)).await;
    wait_for_status(&app, &hung, "created").await;
    app.fault(json!({"route": ROUTE, "status": 429, "retryAfter": 1, "times": 2}))
        .await;
    let limited = accepted(&app, &body_for(2231)).await;
    wait_for_status(&app, &limited, "created").await;
    let delivered = outbox_ids(&upstream_callbacks(&app).await);
    assert!(
        delivered.contains(&hung) && delivered.contains(&limited),
        "{delivered:?}"
    );
}

#[tokio::test]
async fn a_request_undelivered_for_too_long_is_given_up() {
    let app = spawn_app_with(&["--callback-max-age", "1s"]).await;
    app.fault(json!({"route": ROUTE, "status": 503})).await;
    let id = accepted(&app, &body_for(2230)).await;
    wait_for_status(&app, &id, "failed").await;
    app.clear_faults().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !outbox_ids(&upstream_callbacks(&app).await).contains(&id),
        "a given-up request is never created late"
    );
}

#[tokio::test]
async fn what_was_accepted_before_a_restart_is_delivered_after_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_string_lossy().into_owned();
    let flags = ["--data-dir", data.as_str()];
    let first = spawn_app_with(&flags).await;
    first.fault(json!({"route": ROUTE, "status": 503})).await;
    let id = accepted(&first, &body_for(2230)).await;
    drop(first);
    // A new process on the same data directory (with a fresh sandbox org that answers).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (settings, _unused) = settings(&flags);
    let app = Application::build(settings).await.expect("restarts");
    let state = app.state().clone();
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until(stop.clone()));
    let _stop = stop.drop_guard();
    let sim = state
        .sandbox
        .as_ref()
        .expect("sandbox")
        .simulator()
        .base_url();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let received: HashSet<String> = loop {
        let log: Value = reqwest::get(format!("{sim}/__sim/requests"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: HashSet<String> = outbox_ids(log["callbacks"].as_array().unwrap_or(&Vec::new()))
            .into_iter()
            .collect();
        if !ids.is_empty() || tokio::time::Instant::now() > deadline {
            break ids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(received, HashSet::from([id]));
}
