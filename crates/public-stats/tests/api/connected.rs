//! With credentials, the service talks to the Genesys Cloud given by its base URL — here an
//! external simulator, exactly as it would talk to a real org — and no sandbox runs.

use std::time::Duration;

use genesys_sim::SimConfig;
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use public_stats::startup::Application;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

#[tokio::test]
async fn credentials_and_a_base_url_connect_to_that_org_instead_of_the_sandbox() {
    let sim = genesys_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let base_url = sim.base_url();
    let queues = format!("{DEMO_BILLING_QUEUE}");
    let (settings, _data_dir) = settings(&[
        "--client-id",
        DEMO_CLIENT_ID,
        "--client-secret",
        DEMO_CLIENT_SECRET,
        "--monitored-queues",
        &queues,
        "--base-url",
        &base_url,
    ]);
    let app = Application::build(settings)
        .await
        .expect("the service starts");
    assert!(app.state().sandbox.is_none(), "no sandbox with credentials");
    let addr = app.local_addr();
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until(stop.clone()));
    let _stop = stop.drop_guard();

    let http = reqwest::Client::new();
    let queues: serde_json::Value = http
        .get(format!("http://{addr}/api/queues"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queues["queues"][0]["name"], "Billing");

    // The org's state reaches the service through its notification stream.
    let set = http
        .put(format!(
            "{base_url}/__sim/queues/{DEMO_BILLING_QUEUE}/state"
        ))
        .json(&serde_json::json!({ "agents": { "idle": 3 }, "waiting": { "voice": 2 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats: serde_json::Value = http
            .get(format!(
                "http://{addr}/api/stats/{DEMO_BILLING_QUEUE}?key=observations"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if stats["observations"]["availableAgents"] == 3
            && stats["observations"]["voice"]["waiting"] == 2
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the org's state never arrived: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log: serde_json::Value = http
        .get(format!("{base_url}/__sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        log["counts"]["POST /oauth/token"].as_u64().unwrap_or(0) >= 1,
        "logged in with the credentials"
    );
}

#[tokio::test]
async fn wrong_credentials_stop_the_service_before_it_listens() {
    let sim = genesys_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let (settings, _data_dir) = settings(&[
        "--client-id",
        DEMO_CLIENT_ID,
        "--client-secret",
        "wrong-secret-sentinel",
        "--monitored-queues",
        &DEMO_SALES_QUEUE.to_string(),
        "--base-url",
        &sim.base_url(),
    ]);
    let error = match Application::build(settings).await {
        Ok(_) => panic!("started with a wrong secret"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("PURECLOUD_MONITORED_QUEUES") || error.contains("queues"),
        "{error}"
    );
    assert!(
        !error.contains("wrong-secret-sentinel"),
        "the secret leaked into: {error}"
    );
}
