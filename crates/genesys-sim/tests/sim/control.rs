//! The rest of the control API: `GET /__sim/org` and queue state.

use serde_json::json;

use crate::helpers::{BILLING, SALES, SUPPORT, assert_error, spawn_sim};
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_DEPLOYMENT_ID};

#[tokio::test]
async fn org_describes_credentials_deployment_and_queues() {
    let sim = spawn_sim().await;
    let response = sim
        .plain
        .get(sim.url("/__sim/org"))
        .send()
        .await
        .expect("sent");
    let org = crate::helpers::ok_json(response).await;
    assert_eq!(org["clientId"], DEMO_CLIENT_ID);
    assert_eq!(org["clientSecret"], DEMO_CLIENT_SECRET);
    assert_eq!(org["deploymentId"], DEMO_DEPLOYMENT_ID.to_string().as_str());
    assert_eq!(org["messagingQueueId"], SUPPORT.to_string().as_str());
    let queues = org["queues"].as_array().expect("queues");
    let ids: Vec<&str> = queues
        .iter()
        .map(|q| q["id"].as_str().expect("id"))
        .collect();
    for queue in [SALES, SUPPORT, BILLING] {
        assert!(ids.contains(&queue.to_string().as_str()), "{org}");
    }
    let sales = queues.iter().find(|q| q["name"] == "Sales").expect("Sales");
    let agents = sales["agents"].as_array().expect("agents");
    assert_eq!(agents.len(), 4);
    assert!(agents.iter().any(|a| a["name"] == "Ana Lima"), "{sales}");
}

#[tokio::test]
async fn queue_state_changes_membership_and_is_validated() {
    let sim = spawn_sim().await;
    sim.set_queue_state(BILLING, &json!({"agents": {"idle": 3, "busy": 2}}))
        .await;
    let listing = sim.get_json("/api/v2/routing/queues?name=Billing").await;
    assert_eq!(listing["entities"][0]["memberCount"], 5);
    // An empty body means an empty queue.
    sim.set_queue_state(BILLING, &json!({})).await;
    let listing = sim.get_json("/api/v2/routing/queues?name=Billing").await;
    assert_eq!(listing["entities"][0]["memberCount"], 0);

    let put = |path: String, body: serde_json::Value| {
        let request = sim.plain.put(sim.url(&path)).json(&body);
        async move { request.send().await.expect("sent") }
    };
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_error(
        put(format!("/__sim/queues/{unknown}/state"), json!({})).await,
        404,
        "not.found",
    )
    .await;
    assert_error(
        put(
            format!("/__sim/queues/{SALES}/state"),
            json!({"waiting": {"fax": 1}}),
        )
        .await,
        400,
        "bad.request",
    )
    .await;
    assert_error(
        put(
            format!("/__sim/queues/{SALES}/state"),
            json!({"agents": {"sleeping": 1}}),
        )
        .await,
        400,
        "bad.request",
    )
    .await;
    let resume = sim
        .plain
        .post(sim.url(&format!("/__sim/queues/{unknown}/resume")))
        .send()
        .await
        .expect("sent");
    assert_error(resume, 404, "not.found").await;
}
