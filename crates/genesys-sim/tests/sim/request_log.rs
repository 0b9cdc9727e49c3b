//! The request log: `GET /__sim/requests` and `DELETE /__sim/requests`.

use serde_json::{Value, json};

use crate::helpers::{SALES, spawn_sim};

#[tokio::test]
async fn counts_are_keyed_by_method_and_route_template() {
    let sim = spawn_sim().await;
    sim.get("/api/v2/routing/queues").await;
    sim.get("/api/v2/routing/queues?pageSize=1").await;
    sim.get(&format!("/api/v2/routing/queues/{SALES}/estimatedwaittime"))
        .await;
    sim.get(&format!(
        "/api/v2/routing/queues/{SALES}/mediatypes/call/estimatedwaittime"
    ))
    .await;
    sim.plain
        .get(sim.url("/__sim/org"))
        .send()
        .await
        .expect("sent");
    let log = sim.requests().await;
    let expected = json!({
        // The helper's login.
        "POST /oauth/token": 1,
        "GET /api/v2/routing/queues": 2,
        "GET /api/v2/routing/queues/{queueId}/estimatedwaittime": 1,
        "GET /api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime": 1,
    });
    // Control routes are not logged.
    assert_eq!(log["counts"], expected);
}

#[tokio::test]
async fn entries_record_route_method_path_status_and_time() {
    let sim = spawn_sim().await;
    sim.get("/api/v2/routing/queues?pageSize=1").await;
    sim.plain
        .get(sim.url("/api/v2/routing/queues"))
        .send()
        .await
        .expect("sent");
    let log = sim.requests().await;
    let entries = log["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3, "{log}");
    assert_eq!(entries[0]["route"], "POST /oauth/token");
    assert_eq!(entries[0]["status"], 200);
    let listed = &entries[1];
    assert_eq!(listed["route"], "GET /api/v2/routing/queues");
    assert_eq!(listed["method"], "GET");
    assert_eq!(listed["path"], "/api/v2/routing/queues");
    assert_eq!(listed["status"], 200);
    assert_eq!(entries[2]["status"], 401, "refused requests are logged too");
    let times: Vec<u64> = entries
        .iter()
        .map(|e| e["atMs"].as_u64().expect("atMs"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[tokio::test]
async fn concrete_paths_are_logged_under_their_template() {
    let sim = spawn_sim().await;
    let path = format!("/api/v2/routing/queues/{SALES}/estimatedwaittime");
    sim.get(&path).await;
    let log = sim.requests().await;
    let entry = log["entries"]
        .as_array()
        .expect("entries")
        .last()
        .cloned()
        .expect("an entry");
    assert_eq!(
        entry["route"],
        "GET /api/v2/routing/queues/{queueId}/estimatedwaittime"
    );
    assert_eq!(entry["path"], path.as_str());
}

#[tokio::test]
async fn delete_resets_the_log() {
    let sim = spawn_sim().await;
    sim.get("/api/v2/routing/queues").await;
    let response = sim
        .plain
        .delete(sim.url("/__sim/requests"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 204);
    assert_eq!(
        sim.requests().await,
        json!({"counts": {}, "entries": [], "callbacks": []})
    );
    sim.get("/api/v2/routing/queues").await;
    let log = sim.requests().await;
    assert_eq!(log["counts"], json!({"GET /api/v2/routing/queues": 1}));
    assert_eq!(log["entries"].as_array().map(Vec::len), Some(1));
    let _: &Value = &log["callbacks"];
}
