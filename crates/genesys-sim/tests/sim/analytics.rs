//! `POST /api/v2/analytics/queues/observations/query`: validation and results.

use serde_json::{Value, json};

use crate::helpers::{SALES, SUPPORT, assert_error, spawn_sim};

const QUERY: &str = "/api/v2/analytics/queues/observations/query";
const ALL_METRICS: [&str; 9] = [
    "oActiveUsers",
    "oAlerting",
    "oInteracting",
    "oMemberUsers",
    "oOffQueueUsers",
    "oOnQueueUsers",
    "oUserPresences",
    "oUserRoutingStatuses",
    "oWaiting",
];

fn queue_predicate(queue: impl ToString) -> Value {
    json!({"dimension": "queueId", "value": queue.to_string()})
}

fn query_for(queues: &[Value], metrics: &[&str]) -> Value {
    json!({"filter": {"type": "or", "predicates": queues}, "metrics": metrics})
}

/// The row for `queue` and `media` (None = the queue-wide row).
fn row<'a>(body: &'a Value, queue: impl ToString, media: Option<&str>) -> Option<&'a Value> {
    let queue = queue.to_string();
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| {
            r["group"]["queueId"] == queue.as_str()
                && r["group"].get("mediaType").and_then(Value::as_str) == media
        })
}

/// `stats.count` of `metric` (with `qualifier`) in a row; None if the row does not carry it.
fn count(row: &Value, metric: &str, qualifier: Option<&str>) -> Option<u64> {
    row["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|d| d["metric"] == metric && d.get("qualifier").and_then(Value::as_str) == qualifier)
        .map(|d| d["stats"]["count"].as_u64().expect("count"))
}

#[tokio::test]
async fn invalid_bodies_are_400_naming_the_problem() {
    let sim = spawn_sim().await;
    let q = SALES.to_string();
    let cases: Vec<(&str, Value)> = vec![
        ("filter", json!({"metrics": ["oWaiting"]})),
        (
            "filter.type",
            json!({"filter": {"predicates": [queue_predicate(&q)]}, "metrics": ["oWaiting"]}),
        ),
        (
            "xor",
            json!({"filter": {"type": "xor", "predicates": [queue_predicate(&q)]}, "metrics": ["oWaiting"]}),
        ),
        (
            "predicates or clauses",
            json!({"filter": {"type": "or"}, "metrics": ["oWaiting"]}),
        ),
        (
            "predicates or clauses",
            json!({"filter": {"type": "or", "predicates": []}, "metrics": ["oWaiting"]}),
        ),
        (
            "userId",
            json!({"filter": {"type": "or", "predicates": [{"dimension": "userId", "value": q}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "dimension",
            json!({"filter": {"type": "or", "predicates": [{"value": q}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "equals",
            json!({"filter": {"type": "or", "predicates": [{"dimension": "queueId", "operator": "equals", "value": q}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "metric",
            json!({"filter": {"type": "or", "predicates": [{"type": "metric", "dimension": "queueId", "value": q}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "value",
            json!({"filter": {"type": "or", "predicates": [{"dimension": "queueId"}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "UUID",
            json!({"filter": {"type": "or", "predicates": [queue_predicate("sales")]}, "metrics": ["oWaiting"]}),
        ),
        (
            "queueId",
            json!({"filter": {"type": "or", "predicates": [{"dimension": "mediaType", "value": "voice"}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "fax",
            json!({"filter": {"type": "and", "predicates": [queue_predicate(&q), {"dimension": "mediaType", "value": "fax"}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "metrics",
            json!({"filter": {"type": "or", "predicates": [queue_predicate(&q)]}}),
        ),
        (
            "metrics",
            json!({"filter": {"type": "or", "predicates": [queue_predicate(&q)]}, "metrics": []}),
        ),
        (
            "oLongestWaiting",
            json!({"filter": {"type": "or", "predicates": [queue_predicate(&q)]}, "metrics": ["oWaiting", "oLongestWaiting"]}),
        ),
        (
            "detailMetrics",
            json!({"filter": {"type": "or", "predicates": [queue_predicate(&q)]}, "metrics": ["oWaiting"], "detailMetrics": ["tWait"]}),
        ),
        (
            "clauses",
            json!({"filter": {"type": "or", "clauses": [{"type": "or"}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "clauses[].type",
            json!({"filter": {"type": "or", "clauses": [{"predicates": [queue_predicate(&q)]}]}, "metrics": ["oWaiting"]}),
        ),
        (
            "invalid",
            json!({"filter": {"type": "or", "predicates": [queue_predicate(&q)]}, "metrics": "oWaiting"}),
        ),
        ("invalid", json!([1, 2])),
    ];
    for (needle, body) in cases {
        let error = assert_error(sim.post(QUERY, &body).await, 400, "bad.request").await;
        let message = error["message"].as_str().expect("message");
        assert!(
            message.contains(needle),
            "message {message:?} should mention {needle:?} for {body}"
        );
    }
    let not_json = sim
        .api
        .post(sim.url(QUERY))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await;
    assert_error(not_json.expect("sent"), 400, "bad.request").await;
    let not_typed = sim.api.post(sim.url(QUERY)).body("{}").send().await;
    assert_error(not_typed.expect("sent"), 415, "unsupported.media.type").await;
}

#[tokio::test]
async fn genesys_sample_queries_are_accepted() {
    let sim = spawn_sim().await;
    // Genesys's queuemonitor sample: typed predicate, explicit operator.
    let sample = json!({
        "filter": {"type": "or", "predicates": [
            {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": SALES.to_string()}
        ]},
        "metrics": ["oOnQueueUsers", "oUserPresences", "oUserRoutingStatuses", "oWaiting", "oMemberUsers", "oInteracting", "oOffQueueUsers", "oActiveUsers"]
    });
    let body = sim.post_json(QUERY, &sample).await;
    assert!(row(&body, SALES, None).is_some(), "{body}");
    // Clauses, and an exists predicate.
    let clauses = json!({
        "filter": {"type": "and", "clauses": [
            {"type": "or", "predicates": [queue_predicate(SALES), queue_predicate(SUPPORT)]},
            {"type": "or", "predicates": [{"dimension": "mediaType", "operator": "exists"}]}
        ]},
        "metrics": ["oWaiting"]
    });
    let body = sim.post_json(QUERY, &clauses).await;
    assert!(row(&body, SUPPORT, Some("voice")).is_some(), "{body}");
}

#[tokio::test]
async fn results_follow_the_queue_state() {
    let sim = spawn_sim().await;
    let state = json!({
        "agents": {"idle": 2, "busy": 1, "offQueue": 1},
        "waiting": {"voice": 3, "callback": 1},
        "interacting": {"voice": 1}
    });
    sim.set_queue_state(SALES, &state).await;
    let body = sim
        .post_json(QUERY, &query_for(&[queue_predicate(SALES)], &ALL_METRICS))
        .await;
    let queue = row(&body, SALES, None).expect("queue-wide row");
    assert_eq!(count(queue, "oOnQueueUsers", Some("IDLE")), Some(2));
    assert_eq!(count(queue, "oOnQueueUsers", Some("INTERACTING")), Some(1));
    assert_eq!(
        count(queue, "oOnQueueUsers", Some("OFF_QUEUE")),
        None,
        "off-queue users are not on queue"
    );
    assert_eq!(
        count(queue, "oUserRoutingStatuses", Some("OFF_QUEUE")),
        Some(1)
    );
    assert_eq!(count(queue, "oUserRoutingStatuses", Some("IDLE")), Some(2));
    assert_eq!(count(queue, "oUserPresences", Some("ON_QUEUE")), Some(3));
    assert_eq!(count(queue, "oUserPresences", Some("BREAK")), Some(1));
    assert_eq!(count(queue, "oOffQueueUsers", None), Some(1));
    assert_eq!(count(queue, "oMemberUsers", None), Some(4));
    assert_eq!(count(queue, "oActiveUsers", None), Some(4));
    assert_eq!(
        count(queue, "oWaiting", None),
        None,
        "interaction metrics are per media type"
    );
    let voice = row(&body, SALES, Some("voice")).expect("voice row");
    assert_eq!(count(voice, "oWaiting", None), Some(3));
    assert_eq!(count(voice, "oInteracting", None), Some(1));
    assert_eq!(count(voice, "oAlerting", None), Some(0));
    let callback = row(&body, SALES, Some("callback")).expect("callback row");
    assert_eq!(count(callback, "oWaiting", None), Some(1));
    assert_eq!(count(callback, "oInteracting", None), Some(0));
}

#[tokio::test]
async fn only_requested_metrics_and_media_are_returned() {
    let sim = spawn_sim().await;
    sim.set_queue_state(
        SALES,
        &json!({"agents": {"idle": 1}, "waiting": {"voice": 2}}),
    )
    .await;
    let body = sim
        .post_json(QUERY, &query_for(&[queue_predicate(SALES)], &["oWaiting"]))
        .await;
    assert!(
        row(&body, SALES, None).is_none(),
        "no user metric asked for: {body}"
    );
    for result in body["results"].as_array().expect("results") {
        for datum in result["data"].as_array().expect("data") {
            assert_eq!(datum["metric"], "oWaiting", "{body}");
        }
    }
    assert_eq!(
        count(
            row(&body, SALES, Some("voice")).expect("voice"),
            "oWaiting",
            None
        ),
        Some(2)
    );
    let voice_only = json!({
        "filter": {"type": "and", "predicates": [queue_predicate(SALES), {"dimension": "mediaType", "value": "voice"}]},
        "metrics": ["oWaiting", "oOnQueueUsers"]
    });
    let body = sim.post_json(QUERY, &voice_only).await;
    let media: Vec<&Value> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["group"].get("mediaType"))
        .collect();
    assert_eq!(media, [&json!("voice")], "{body}");
    let queue = row(&body, SALES, None).expect("queue-wide row");
    assert_eq!(count(queue, "oOnQueueUsers", Some("IDLE")), Some(1));
    assert_eq!(count(queue, "oMemberUsers", None), None);
}

#[tokio::test]
async fn only_queues_in_the_filter_are_returned_and_unknown_ones_give_no_rows() {
    let sim = spawn_sim().await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    let body = sim
        .post_json(
            QUERY,
            &query_for(
                &[queue_predicate(SUPPORT), queue_predicate(unknown)],
                &["oMemberUsers", "oWaiting"],
            ),
        )
        .await;
    let results = body["results"].as_array().expect("results");
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["group"]["queueId"] == SUPPORT.to_string().as_str()),
        "{body}"
    );
    assert_eq!(
        count(
            row(&body, SUPPORT, None).expect("row"),
            "oMemberUsers",
            None
        ),
        Some(5)
    );
    let body = sim
        .post_json(
            QUERY,
            &query_for(&[queue_predicate(unknown)], &["oWaiting"]),
        )
        .await;
    assert_eq!(body, json!({"results": []}));
}

/// The `observations` of `metric` in a row; None if the datum has none.
fn observations<'a>(row: &'a Value, metric: &str) -> Option<&'a Vec<Value>> {
    row["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|d| d["metric"] == metric)
        .and_then(|d| d.get("observations"))
        .map(|o| o.as_array().expect("observations is an array"))
}

#[tokio::test]
async fn detail_metrics_list_each_waiting_and_handled_conversation_oldest_first() {
    let sim = spawn_sim().await;
    sim.set_queue_state(
        SALES,
        &json!({"agents": {"busy": 1}, "waiting": {"voice": 2}, "interacting": {"voice": 1}}),
    )
    .await;
    // Queues no earlier than the two voice calls (later once the clock has ticked), with the
    // name and number it was created with.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let created = sim
        .post_json(
            "/api/v2/conversations/callbacks",
            &json!({"queueId": SALES.to_string(), "callbackNumbers": ["+13175550177"],
                    "callbackUserName": "Jo Caller"}),
        )
        .await;
    let callback_id = created["conversation"]["id"].as_str().expect("id");

    let mut query = query_for(&[queue_predicate(SALES)], &["oWaiting", "oInteracting"]);
    query["detailMetrics"] = json!(["oWaiting", "oInteracting"]);
    let body = sim.post_json(QUERY, &query).await;

    let voice = row(&body, SALES, Some("voice")).expect("voice row");
    let waiting = observations(voice, "oWaiting").expect("waiting observations");
    assert_eq!(
        waiting.len() as u64,
        count(voice, "oWaiting", None).expect("count")
    );
    assert_eq!(waiting.len(), 2);
    let mut conversations = std::collections::BTreeSet::new();
    for observation in waiting {
        assert!(
            observation["observationDate"]
                .as_str()
                .is_some_and(|d| d.len() == 24 && d.ends_with('Z')),
            "{observation}"
        );
        conversations.insert(observation["conversationId"].as_str().expect("id"));
        assert_eq!(observation["routingPriority"], 0);
        assert_eq!(observation["direction"], "inbound");
        assert!(observation["participantName"].is_string());
        assert!(
            observation["addressFrom"]
                .as_str()
                .is_some_and(|a| a.starts_with("tel:+")),
            "{observation}"
        );
        assert!(observation["requestedRoutingSkillIds"].is_array());
        assert!(observation.get("userId").is_none(), "nobody has it yet");
    }
    assert_eq!(conversations.len(), 2, "each conversation once");
    let handled = observations(voice, "oInteracting").expect("interacting observations");
    assert_eq!(handled.len(), 1);
    assert!(handled[0]["userId"].is_string(), "{}", handled[0]);

    let callback = row(&body, SALES, Some("callback")).expect("callback row");
    let waiting = observations(callback, "oWaiting").expect("callback observations");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["conversationId"], callback_id);
    assert_eq!(waiting[0]["participantName"], "Jo Caller");
    assert_eq!(waiting[0]["addressTo"], "tel:+13175550177");
    let voice_since = voice_dates(voice);
    assert!(
        voice_since
            .iter()
            .all(|d| d.as_str() <= waiting[0]["observationDate"].as_str().unwrap()),
        "the callback queued no earlier than the calls: {voice_since:?} vs {}",
        waiting[0]["observationDate"]
    );
    // An empty media row lists no one; a metric not in detailMetrics lists nothing.
    let email = row(&body, SALES, Some("email")).expect("email row");
    assert_eq!(observations(email, "oWaiting").map(Vec::len), Some(0));
    let plain = sim
        .post_json(QUERY, &query_for(&[queue_predicate(SALES)], &["oWaiting"]))
        .await;
    let voice = row(&plain, SALES, Some("voice")).expect("voice row");
    assert!(observations(voice, "oWaiting").is_none(), "{voice}");
}

fn voice_dates(row: &Value) -> Vec<String> {
    observations(row, "oWaiting")
        .expect("observations")
        .iter()
        .map(|o| o["observationDate"].as_str().expect("date").to_owned())
        .collect()
}
