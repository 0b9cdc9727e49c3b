//! `GET /api/v2/routing/queues` and the estimated-wait-time endpoints.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{BILLING, SALES, SUPPORT, assert_error, spawn_sim};

fn names(listing: &Value) -> Vec<String> {
    listing["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|q| q["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn the_default_page_lists_every_queue_with_its_fields() {
    let sim = spawn_sim().await;
    let listing = sim.get_json("/api/v2/routing/queues").await;
    assert_eq!(listing["pageSize"], 25);
    assert_eq!(listing["pageNumber"], 1);
    assert_eq!(listing["total"], 3);
    assert_eq!(listing["pageCount"], 1);
    // Genesys's default order is by name.
    assert_eq!(names(&listing), ["Billing", "Sales", "Support"]);
    let ids: BTreeSet<String> = listing["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|q| q["id"].as_str().expect("id").to_owned())
        .collect();
    let expected: BTreeSet<String> = [SALES, SUPPORT, BILLING]
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(ids, expected);
    let sales = &listing["entities"][1];
    assert_eq!(sales["memberCount"], 4);
    assert_eq!(sales["selfUri"], format!("/api/v2/routing/queues/{SALES}"));
    assert!(listing.get("nextUri").is_none());
}

#[tokio::test]
async fn queues_are_paged() {
    let sim = spawn_sim().await;
    let first = sim.get_json("/api/v2/routing/queues?pageSize=2").await;
    assert_eq!(names(&first), ["Billing", "Sales"]);
    assert_eq!(
        (first["total"].clone(), first["pageCount"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(
        first["nextUri"],
        "/api/v2/routing/queues?pageSize=2&pageNumber=2"
    );
    let second = sim
        .get_json("/api/v2/routing/queues?pageSize=2&pageNumber=2")
        .await;
    assert_eq!(names(&second), ["Support"]);
    assert_eq!(second["pageNumber"], 2);
    assert!(second.get("nextUri").is_none());
    let beyond = sim
        .get_json("/api/v2/routing/queues?pageSize=2&pageNumber=3")
        .await;
    assert!(names(&beyond).is_empty());
    assert_eq!(beyond["total"], 3);
}

#[tokio::test]
async fn the_name_filter_matches_exactly_or_with_wildcards() {
    let sim = spawn_sim().await;
    assert_eq!(
        names(&sim.get_json("/api/v2/routing/queues?name=Sales").await),
        ["Sales"]
    );
    assert_eq!(
        names(&sim.get_json("/api/v2/routing/queues?name=S*").await),
        ["Sales", "Support"]
    );
    let none = sim.get_json("/api/v2/routing/queues?name=Sal").await;
    assert!(names(&none).is_empty());
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn bad_paging_parameters_are_400() {
    let sim = spawn_sim().await;
    for query in [
        "pageSize=0",
        "pageSize=abc",
        "pageNumber=0",
        "pageNumber=-1",
    ] {
        let response = sim.get(&format!("/api/v2/routing/queues?{query}")).await;
        assert_error(response, 400, "bad.request").await;
    }
}

#[tokio::test]
async fn ewt_has_the_predictions_shape() {
    let sim = spawn_sim().await;
    sim.set_queue_state(
        SALES,
        &json!({"agents": {"busy": 2}, "waiting": {"voice": 1}}),
    )
    .await;
    let all = sim.ewt(SALES).await;
    let results = all["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{all}");
    assert_eq!(results[0]["intent"], "ALL");
    assert_eq!(results[0]["formula"], "BEST");
    assert!(
        results[0]["estimatedWaitTimeSeconds"]
            .as_u64()
            .is_some_and(|s| s > 0),
        "{all}"
    );
    for (media, intent) in [
        ("call", "CALL"),
        ("callback", "CALLBACK"),
        ("message", "MESSAGE"),
        ("videoComm", "VIDEOCOMM"),
    ] {
        let path = format!("/api/v2/routing/queues/{SALES}/mediatypes/{media}/estimatedwaittime");
        let body = sim.get_json(&path).await;
        assert_eq!(body["results"][0]["intent"], intent, "{body}");
        assert!(
            body["results"][0]["estimatedWaitTimeSeconds"].is_u64(),
            "{body}"
        );
    }
    let body = sim
        .get_json(&format!(
            "/api/v2/routing/queues/{SALES}/mediatypes/all/estimatedwaittime"
        ))
        .await;
    assert_eq!(body["results"][0]["intent"], "ALL");
}

#[tokio::test]
async fn an_idle_agent_with_nothing_waiting_means_no_wait() {
    let sim = spawn_sim().await;
    sim.set_queue_state(SALES, &json!({"agents": {"idle": 1}}))
        .await;
    assert_eq!(
        sim.ewt(SALES).await["results"][0]["estimatedWaitTimeSeconds"],
        0
    );
}

#[tokio::test]
async fn with_nobody_on_queue_ewt_is_unknown_then_rises_with_the_longest_wait() {
    let sim = spawn_sim().await;
    sim.set_queue_state(SALES, &json!({"agents": {"offQueue": 2}}))
        .await;
    // No estimate possible: empty results.
    assert_eq!(sim.ewt(SALES).await, json!({"results": []}));
    sim.set_queue_state(
        SALES,
        &json!({"agents": {"offQueue": 2}, "waiting": {"voice": 2}}),
    )
    .await;
    let seconds = |body: Value| {
        body["results"][0]["estimatedWaitTimeSeconds"]
            .as_u64()
            .expect("an estimate")
    };
    let before = seconds(sim.ewt(SALES).await);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let after = seconds(sim.ewt(SALES).await);
    assert!(
        after > before,
        "EWT should rise while nobody answers: {before} -> {after}"
    );
}

#[tokio::test]
async fn ewt_errors() {
    let sim = spawn_sim().await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_error(
        sim.get(&format!(
            "/api/v2/routing/queues/{unknown}/estimatedwaittime"
        ))
        .await,
        404,
        "not.found",
    )
    .await;
    let path = format!("/api/v2/routing/queues/{unknown}/mediatypes/call/estimatedwaittime");
    assert_error(sim.get(&path).await, 404, "not.found").await;
    assert_error(
        sim.get("/api/v2/routing/queues/not-a-uuid/estimatedwaittime")
            .await,
        400,
        "bad.request",
    )
    .await;
    for media in ["voice", "fax", "cobrowse"] {
        let path = format!("/api/v2/routing/queues/{SALES}/mediatypes/{media}/estimatedwaittime");
        assert_error(sim.get(&path).await, 400, "bad.request").await;
    }
}
