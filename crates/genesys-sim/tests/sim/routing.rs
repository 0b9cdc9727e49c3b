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
    assert_eq!(results[0]["intent"], "ALL");
    // Then one result per media type the queue serves, each the same as the per-media answer.
    let intents: Vec<&str> = results[1..]
        .iter()
        .map(|r| r["intent"].as_str().expect("an intent"))
        .collect();
    assert!(intents.contains(&"CALL"), "{all}");
    assert!(!intents.contains(&"ALL"), "{all}");
    for result in &results[1..] {
        let media = match result["intent"].as_str().unwrap() {
            "VIDEOCOMM" => "videoComm".to_owned(),
            intent => intent.to_ascii_lowercase(),
        };
        let path = format!("/api/v2/routing/queues/{SALES}/mediatypes/{media}/estimatedwaittime");
        assert_eq!(sim.get_json(&path).await["results"][0], *result, "{media}");
    }
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
async fn the_queue_wide_ewt_can_be_made_to_answer_for_the_whole_queue_only() {
    let sim = spawn_sim().await;
    sim.set_queue_state(
        SALES,
        &json!({"agents": {"busy": 2}, "waiting": {"voice": 1, "chat": 1}}),
    )
    .await;
    let put = |body: Value| sim.plain.put(sim.url("/__sim/ewt")).json(&body).send();
    assert!(sim.ewt(SALES).await["results"].as_array().unwrap().len() > 1);
    assert_eq!(put(json!({"byMedia": false})).await.unwrap().status(), 204);
    let whole = sim.ewt(SALES).await;
    assert_eq!(whole["results"].as_array().unwrap().len(), 1, "{whole}");
    assert_eq!(whole["results"][0]["intent"], "ALL");
    assert_eq!(put(json!({"byMedia": true})).await.unwrap().status(), 204);
    assert!(sim.ewt(SALES).await["results"].as_array().unwrap().len() > 1);
    assert_eq!(put(json!({"byMedium": true})).await.unwrap().status(), 400);
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

#[tokio::test]
async fn the_id_filter_takes_comma_joined_or_repeated_ids() {
    // Both official SDKs join a list parameter with commas; a hand-written client may repeat it.
    let sim = spawn_sim().await;
    let joined = sim
        .get_json(&format!("/api/v2/routing/queues?id={SALES},{BILLING}"))
        .await;
    assert_eq!(names(&joined), ["Billing", "Sales"]);
    assert_eq!(joined["total"], 2);
    assert!(
        joined["selfUri"]
            .as_str()
            .is_some_and(|uri| uri.contains(&format!("id={SALES}%2C{BILLING}"))
                || uri.contains(&format!("id={SALES},{BILLING}"))),
        "{joined}"
    );
    let repeated = sim
        .get_json(&format!("/api/v2/routing/queues?id={SUPPORT}&id={SALES}"))
        .await;
    assert_eq!(names(&repeated), ["Sales", "Support"]);
    let unknown = sim
        .get_json("/api/v2/routing/queues?id=00000000-0000-4000-8000-000000000000")
        .await;
    assert!(names(&unknown).is_empty());
    assert_eq!(unknown["total"], 0);
    assert_error(
        sim.get("/api/v2/routing/queues?id=not-a-uuid").await,
        400,
        "bad.request",
    )
    .await;
}

#[tokio::test]
async fn sort_order_desc_reverses_the_name_order() {
    let sim = spawn_sim().await;
    let desc = sim.get_json("/api/v2/routing/queues?sortOrder=desc").await;
    assert_eq!(names(&desc), ["Support", "Sales", "Billing"]);
    let asc = sim.get_json("/api/v2/routing/queues?sortOrder=ASC").await;
    assert_eq!(names(&asc), ["Billing", "Sales", "Support"]);
    assert_error(
        sim.get("/api/v2/routing/queues?sortOrder=sideways").await,
        400,
        "bad.request",
    )
    .await;
}

#[tokio::test]
async fn a_page_size_past_the_cap_is_capped_not_refused() {
    // Genesys caps a listing's page size silently: larger asks get the cap.
    let sim = spawn_sim().await;
    let listing = sim.get_json("/api/v2/routing/queues?pageSize=100000").await;
    assert_eq!(listing["pageSize"], 500);
    assert_eq!(names(&listing).len(), 3);
    let members = sim
        .get_json(&format!(
            "/api/v2/routing/queues/{SALES}/members?pageSize=1000"
        ))
        .await;
    assert_eq!(members["pageSize"], 100);
}

#[tokio::test]
async fn a_single_queue_is_read_by_id() {
    let sim = spawn_sim().await;
    let sales = sim
        .get_json(&format!("/api/v2/routing/queues/{SALES}"))
        .await;
    assert_eq!(sales["id"], SALES.to_string());
    assert_eq!(sales["name"], "Sales");
    assert_eq!(sales["memberCount"], 4);
    assert_eq!(sales["selfUri"], format!("/api/v2/routing/queues/{SALES}"));
    assert_eq!(sales["division"]["name"], "Home");
    let listed = sim.get_json("/api/v2/routing/queues?name=Sales").await;
    assert_eq!(
        listed["entities"][0], sales,
        "the same Queue as in the listing"
    );
    assert_error(
        sim.get("/api/v2/routing/queues/00000000-0000-4000-8000-000000000000")
            .await,
        404,
        "not.found",
    )
    .await;
    assert_error(
        sim.get("/api/v2/routing/queues/nope").await,
        400,
        "bad.request",
    )
    .await;
}

#[tokio::test]
async fn queue_members_are_listed_with_their_routing_status_and_paged() {
    let sim = spawn_sim().await;
    sim.set_queue_state(
        SALES,
        &json!({"agents": {"idle": 1, "busy": 1, "offQueue": 1}}),
    )
    .await;
    let path = format!("/api/v2/routing/queues/{SALES}/members");
    let members = sim.get_json(&path).await;
    let entities = members["entities"].as_array().expect("entities");
    assert_eq!(entities.len(), 3);
    assert_eq!(members["pageSize"], 25);
    assert_eq!(members["pageNumber"], 1);
    let mut statuses: Vec<&str> = entities
        .iter()
        .map(|m| m["routingStatus"]["status"].as_str().expect("status"))
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["IDLE", "INTERACTING", "OFF_QUEUE"]);
    for member in entities {
        let id = member["id"].as_str().expect("id");
        assert_eq!(member["user"]["id"], id);
        assert_eq!(member["routingStatus"]["userId"], id);
        assert_eq!(member["user"]["name"], member["name"]);
        assert_eq!(member["joined"], true);
        assert_eq!(member["memberBy"], "user");
        assert_eq!(member["selfUri"], format!("{path}/{id}"));
    }
    // Sorted by name; pages of one.
    let first = sim.get_json(&format!("{path}?pageSize=1")).await;
    let second = sim
        .get_json(&format!("{path}?pageSize=1&pageNumber=2"))
        .await;
    let by_name: Vec<&Value> = [&first, &second]
        .iter()
        .map(|page| &page["entities"][0]["name"])
        .collect();
    assert!(by_name[0].as_str() < by_name[1].as_str(), "{by_name:?}");
    assert_eq!(first["nextUri"], format!("{path}?pageSize=1&pageNumber=2"));
    let idle = sim.get_json(&format!("{path}?routingStatus=IDLE")).await;
    assert_eq!(idle["entities"].as_array().map(Vec::len), Some(1));
    assert_error(
        sim.get("/api/v2/routing/queues/00000000-0000-4000-8000-000000000000/members")
            .await,
        404,
        "not.found",
    )
    .await;
}
