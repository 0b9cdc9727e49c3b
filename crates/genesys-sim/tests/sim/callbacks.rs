//! `POST /api/v2/conversations/callbacks` and `GET /api/v2/conversations/callbacks/{id}`.

use serde_json::{Value, json};

use crate::helpers::{SALES, assert_error, eventually, spawn_sim};

const CALLBACKS: &str = "/api/v2/conversations/callbacks";

fn participant<'a>(conversation: &'a Value, purpose: &str) -> Option<&'a Value> {
    conversation["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|p| p["purpose"] == purpose)
}

async fn waiting_callbacks(sim: &crate::helpers::TestSim) -> u64 {
    let query = json!({
        "filter": {"type": "or", "predicates": [{"dimension": "queueId", "value": SALES.to_string()}]},
        "metrics": ["oWaiting"]
    });
    let body = sim
        .post_json("/api/v2/analytics/queues/observations/query", &query)
        .await;
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["group"]["mediaType"] == "callback")
        .map(|r| r["data"][0]["stats"]["count"].as_u64().expect("count"))
        .expect("callback row")
}

#[tokio::test]
async fn a_callback_is_created_waits_in_its_queue_and_can_be_read_back() {
    let sim = spawn_sim().await;
    // Nobody to take it: it stays waiting.
    sim.set_queue_state(SALES, &json!({"agents": {"offQueue": 1}}))
        .await;
    let request = json!({
        "callbackNumbers": ["+13172222222"],
        "callbackUserName": "John Smith",
        "routingData": {"queueId": SALES.to_string()},
        // Sent with an offset and no milliseconds; Genesys answers in UTC with milliseconds.
        "callbackScheduledTime": "2030-01-02T04:04:05+01:00",
        "data": {"source": "widget", "topic": "billing"}
    });
    let created = sim.post_json(CALLBACKS, &request).await;
    let id = created["conversation"]["id"]
        .as_str()
        .expect("conversation id")
        .to_owned();
    assert_eq!(
        created["conversation"]["selfUri"],
        format!("/api/v2/conversations/{id}")
    );
    let kinds: Vec<&str> = created["callbackIdentifiers"]
        .as_array()
        .expect("identifiers")
        .iter()
        .map(|i| {
            assert!(
                i["id"]
                    .as_str()
                    .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
                "{created}"
            );
            i["type"].as_str().expect("type")
        })
        .collect();
    assert_eq!(kinds, ["EXTERNAL", "ACD"]);
    assert_eq!(waiting_callbacks(&sim).await, 1);

    let conversation = sim.get_json(&format!("{CALLBACKS}/{id}")).await;
    assert_eq!(conversation["id"], id.as_str());
    assert!(
        conversation["selfUri"]
            .as_str()
            .is_some_and(|u| u.ends_with(&id))
    );
    let customer = participant(&conversation, "customer").expect("customer");
    assert_eq!(customer["callbackNumbers"], json!(["+13172222222"]));
    assert_eq!(customer["callbackUserName"], "John Smith");
    assert_eq!(
        customer["callbackScheduledTime"],
        "2030-01-02T03:04:05.000Z"
    );
    assert_eq!(customer["queue"]["id"], SALES.to_string().as_str());
    assert_eq!(
        customer["attributes"],
        json!({"source": "widget", "topic": "billing"}),
        "data becomes the customer's participant attributes"
    );
    let acd = participant(&conversation, "acd").expect("acd");
    assert_eq!(acd["state"], "connected");
    assert!(participant(&conversation, "agent").is_none());
}

#[tokio::test]
async fn an_agent_takes_the_callback_once_the_queue_moves() {
    let sim = spawn_sim().await;
    sim.set_queue_state(SALES, &json!({"agents": {"idle": 1}}))
        .await;
    let created = sim
        .post_json(
            CALLBACKS,
            &json!({"queueId": SALES.to_string(), "callbackNumbers": ["+15550100"]}),
        )
        .await;
    let id = created["conversation"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let resumed = sim
        .plain
        .post(sim.url(&format!("/__sim/queues/{SALES}/resume")))
        .send()
        .await
        .expect("sent");
    assert_eq!(resumed.status(), 204);
    let conversation = eventually(|| async {
        let conversation = sim.get_json(&format!("{CALLBACKS}/{id}")).await;
        participant(&conversation, "agent")
            .is_some()
            .then_some(conversation)
    })
    .await;
    assert_eq!(
        participant(&conversation, "acd").expect("acd")["state"],
        "disconnected"
    );
    assert_eq!(
        participant(&conversation, "agent").expect("agent")["state"],
        "connected"
    );
    assert_eq!(waiting_callbacks(&sim).await, 0);
}

#[tokio::test]
async fn invalid_callbacks_are_400() {
    let sim = spawn_sim().await;
    let q = SALES.to_string();
    let cases = [
        json!({"callbackNumbers": ["+13172222222"]}),
        json!({"queueId": q}),
        json!({"queueId": q, "callbackNumbers": []}),
        json!({"queueId": q, "callbackNumbers": [""]}),
        json!({"queueId": "sales", "callbackNumbers": ["+13172222222"]}),
        json!({"queueId": "00000000-0000-4000-8000-000000000000", "callbackNumbers": ["+13172222222"]}),
        json!({"queueId": q, "callbackNumbers": ["call me maybe"], "validateCallbackNumbers": true}),
        json!({"queueId": q, "callbackNumbers": ["+13172222222"], "callbackScheduledTime": "tomorrow"}),
        json!({"queueId": q, "callbackNumbers": ["+13172222222"], "data": {"n": 1}}),
    ];
    for body in cases {
        let response = sim.post(CALLBACKS, &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_error(response, 400, "bad.request").await;
    }
    // Without validation, any number is taken as given.
    let body = json!({"queueId": q, "callbackNumbers": ["call me maybe"], "validateCallbackNumbers": false});
    sim.post_json(CALLBACKS, &body).await;
}

#[tokio::test]
async fn unknown_callbacks_are_404_and_bad_ids_400() {
    let sim = spawn_sim().await;
    let response = sim
        .get(&format!("{CALLBACKS}/00000000-0000-4000-8000-000000000000"))
        .await;
    assert_error(response, 404, "not.found").await;
    assert_error(
        sim.get(&format!("{CALLBACKS}/nope")).await,
        400,
        "bad.request",
    )
    .await;
}

#[tokio::test]
async fn raw_callback_bodies_are_kept_for_the_control_api() {
    let sim = spawn_sim().await;
    let first = json!({"queueId": SALES.to_string(), "callbackNumbers": ["+13172222222"], "countryCode": "+1", "extra": {"kept": true}});
    let second = json!({"callbackNumbers": []});
    sim.post_json(CALLBACKS, &first).await;
    assert_eq!(sim.post(CALLBACKS, &second).await.status(), 400);
    let log = sim.requests().await;
    assert_eq!(log["callbacks"], json!([first, second]));
    let reset = sim
        .plain
        .delete(sim.url("/__sim/requests"))
        .send()
        .await
        .expect("sent");
    assert_eq!(reset.status(), 204);
    assert_eq!(sim.requests().await["callbacks"], json!([]));
}
