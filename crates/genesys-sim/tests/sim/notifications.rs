//! The Notifications API over real HTTP and WebSocket: channels, subscriptions and their limits,
//! heartbeats, ping/pong, observation and aggregate events, and the `/__sim/` routes that break
//! sockets on purpose.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use genesys_sim::SimConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use uuid::Uuid;

use crate::helpers::{SALES, SUPPORT, TestSim, assert_error, ok_json, spawn_sim, spawn_sim_with};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CHANNELS: &str = "/api/v2/notifications/channels";
const HEARTBEAT: &str =
    r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;

fn topic(queue: Uuid) -> String {
    format!("v2.analytics.queues.{queue}.observations")
}

/// A test config with long timers, so only what a test shortens produces frames.
fn quiet_config() -> SimConfig {
    SimConfig {
        heartbeat_interval: Duration::from_secs(60),
        aggregate_interval: Duration::from_secs(60),
        ..SimConfig::for_tests()
    }
}

async fn quiet_sim() -> TestSim {
    spawn_sim_with(quiet_config()).await
}

async fn create_channel(sim: &TestSim) -> Value {
    sim.post_json(CHANNELS, &json!({})).await
}

fn channel_id(channel: &Value) -> &str {
    channel["id"].as_str().expect("channel id")
}

async fn subscribe(sim: &TestSim, channel: &Value, topics: &[String]) -> reqwest::Response {
    let body: Vec<Value> = topics.iter().map(|t| json!({"id": t})).collect();
    let path = format!("{CHANNELS}/{}/subscriptions", channel_id(channel));
    sim.api
        .put(sim.url(&path))
        .json(&body)
        .send()
        .await
        .expect("sent")
}

async fn head(sim: &TestSim, id: &str) -> StatusCode {
    let response = sim
        .api
        .head(sim.url(&format!("{CHANNELS}/{id}")))
        .send()
        .await
        .expect("sent");
    response.status()
}

async fn control(sim: &TestSim, path: &str, body: Option<Value>) {
    let mut request = sim.plain.post(sim.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
}

async fn connect(channel: &Value) -> Socket {
    let uri = channel["connectUri"].as_str().expect("connectUri");
    connect_async(uri).await.expect("socket connects").0
}

/// What the socket did next, within `wait`.
#[derive(Debug)]
enum Next {
    Text(Value),
    /// A close frame (a clean, announced close).
    Closed,
    /// The connection ended without a close frame.
    Dropped,
    Nothing,
}

async fn next(socket: &mut Socket, wait: Duration) -> Next {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Next::Nothing,
            Ok(frame) => frame,
        };
        match frame {
            Some(Ok(Message::Text(text))) => {
                return Next::Text(serde_json::from_str(text.as_str()).expect("frame is JSON"));
            }
            Some(Ok(Message::Close(_))) => return Next::Closed,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Next::Dropped,
        }
    }
}

/// The next text frame satisfying `wanted`, skipping others; panics after `wait`.
async fn expect_frame(
    socket: &mut Socket,
    wait: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next(socket, left).await {
            Next::Text(frame) if wanted(&frame) => return frame,
            Next::Text(_) => {}
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

/// Reads until the socket ends (or `wait` passes), returning how it ended.
async fn expect_end(socket: &mut Socket, wait: Duration) -> Next {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next(socket, left).await {
            Next::Text(_) => {}
            end => return end,
        }
    }
}

/// Every metric of a frame's first data entry.
fn metrics(frame: &Value) -> Vec<Value> {
    frame["eventBody"]["data"][0]["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn count(frame: &Value, metric: &str, qualifier: Option<&str>) -> Option<u64> {
    metrics(frame)
        .iter()
        .find(|m| m["metric"] == metric && m["qualifier"].as_str() == qualifier)
        .and_then(|m| m["stats"]["count"].as_u64())
}

/// An observation (zero-length interval) rather than a 30-minute aggregate.
fn is_observation(frame: &Value) -> bool {
    let interval = frame["eventBody"]["data"][0]["interval"]
        .as_str()
        .unwrap_or("");
    interval.split_once('/').is_some_and(|(a, b)| a == b)
}

fn is_queue_wide_observation(frame: &Value, queue: Uuid) -> bool {
    frame["topicName"] == topic(queue)
        && is_observation(frame)
        && frame["eventBody"]["group"].get("mediaType").is_none()
}

async fn sim_channels(sim: &TestSim) -> Vec<Value> {
    let response = sim
        .plain
        .get(sim.url("/__sim/notifications/channels"))
        .send()
        .await
        .expect("sent");
    ok_json(response)
        .await
        .as_array()
        .cloned()
        .expect("an array")
}

fn is_iso_millis(value: &str) -> bool {
    let bytes = value.as_bytes();
    value.len() == 24 && value.ends_with('Z') && bytes[10] == b'T' && bytes[19] == b'.'
}

#[tokio::test]
async fn channel_is_created_listed_subscribed_and_gone_after_expiry() {
    let sim = quiet_sim().await;
    let channel = create_channel(&sim).await;
    let id = channel_id(&channel);
    let suffix = id.strip_prefix("streaming-0-").expect("Genesys-style id");
    assert_eq!(suffix.len(), 26, "{id}");
    assert!(
        suffix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(
        channel["connectUri"],
        format!("{}/channels/{id}", sim.sim.ws_base_url())
    );
    assert!(
        channel["expires"].as_str().is_some_and(is_iso_millis),
        "{channel}"
    );
    assert_eq!(head(&sim, id).await, StatusCode::OK);
    let listing = sim.get_json(CHANNELS).await;
    assert!(
        listing["entities"]
            .as_array()
            .expect("entities")
            .iter()
            .any(|c| c["id"] == id)
    );

    let subscribed = ok_json(subscribe(&sim, &channel, &[topic(SALES)]).await).await;
    assert_eq!(
        subscribed["entities"],
        json!([{"id": topic(SALES), "state": "Permitted"}])
    );
    let path = format!("{CHANNELS}/{id}/subscriptions");
    assert_eq!(sim.get_json(&path).await["entities"][0]["id"], topic(SALES));

    control(&sim, "/__sim/channels/expire", None).await;
    assert_eq!(head(&sim, id).await, StatusCode::NOT_FOUND);
    assert_error(sim.get(&path).await, 404, "not.found").await;
    assert_error(
        subscribe(&sim, &channel, &[topic(SALES)]).await,
        404,
        "not.found",
    )
    .await;
    let uri = channel["connectUri"].as_str().expect("connectUri");
    match connect_async(uri).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 404),
        other => panic!("expected a 404 before the upgrade, got {other:?}"),
    }
}

#[tokio::test]
async fn subscribing_extends_the_channel_and_expiry_closes_its_socket() {
    let sim = spawn_sim_with(SimConfig {
        channel_ttl: Duration::from_millis(800),
        ..quiet_config()
    })
    .await;
    let channel = create_channel(&sim).await;
    let id = channel_id(&channel);
    let mut socket = connect(&channel).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        subscribe(&sim, &channel, &[topic(SALES)]).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    // 1 s after creation, 0.5 s after subscribing: alive only thanks to the resubscription.
    assert_eq!(head(&sim, id).await, StatusCode::OK);
    assert!(matches!(
        next(&mut socket, Duration::from_millis(100)).await,
        Next::Nothing
    ));
    assert!(matches!(
        expect_end(&mut socket, Duration::from_secs(1)).await,
        Next::Closed
    ));
    assert_eq!(head(&sim, id).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn topics_are_validated_and_limited() {
    let sim = quiet_sim().await;
    let channel = create_channel(&sim).await;
    let id = channel_id(&channel);
    let path = format!("{CHANNELS}/{id}/subscriptions");

    let unknown = json!([{"id": "v2.users.nobody.presence"}]);
    assert_error(sim.post(&path, &unknown).await, 400, "bad.request").await;
    let ignored = sim
        .post_json(&format!("{path}?ignoreErrors=true"), &unknown)
        .await;
    assert_eq!(ignored["entities"][0]["state"], "Rejected", "{ignored}");
    assert!(
        ignored["entities"][0]["rejectionReason"].is_string(),
        "{ignored}"
    );

    let missing_queue = topic(Uuid::new_v4());
    let body = json!([{"id": topic(SALES)}, {"id": missing_queue}]);
    let answer = sim.post_json(&path, &body).await;
    let entities = answer["entities"].as_array().expect("entities");
    assert!(
        entities.contains(&json!({"id": topic(SALES), "state": "Permitted"})),
        "{answer}"
    );
    let rejected = entities
        .iter()
        .find(|e| e["id"] == missing_queue.as_str())
        .expect("rejected entry");
    assert_eq!(rejected["state"], "Rejected");

    let many: Vec<String> = (0..1001).map(|_| topic(Uuid::new_v4())).collect();
    assert_error(subscribe(&sim, &channel, &many).await, 400, "bad.request").await;
    assert_eq!(
        subscribe(&sim, &channel, &many[..1000]).await.status(),
        StatusCode::OK
    );
    let mut with_support: Vec<String> = many[..1000].to_vec();
    with_support[0] = topic(SUPPORT);
    assert_eq!(
        subscribe(&sim, &channel, &with_support).await.status(),
        StatusCode::OK
    );
    // POST adds to the one kept topic: 1 + 1,000 asked for is over the limit.
    let body: Vec<Value> = many[..1000].iter().map(|t| json!({"id": t})).collect();
    assert_error(sim.post(&path, &json!(body)).await, 400, "bad.request").await;
    let response = sim.api.delete(sim.url(&path)).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(sim.get_json(&path).await["entities"], json!([]));
}

#[tokio::test]
async fn a_21st_channel_evicts_the_oldest_unconnected_one() {
    let sim = quiet_sim().await;
    let mut channels = Vec::new();
    for _ in 0..20 {
        channels.push(create_channel(&sim).await);
    }
    let _first_socket = connect(&channels[0]).await;
    let newest = create_channel(&sim).await;
    assert_eq!(
        head(&sim, channel_id(&channels[0])).await,
        StatusCode::OK,
        "connected: kept"
    );
    assert_eq!(
        head(&sim, channel_id(&channels[1])).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(head(&sim, channel_id(&newest)).await, StatusCode::OK);
    assert_eq!(
        sim.get_json(CHANNELS).await["entities"]
            .as_array()
            .map(Vec::len),
        Some(20)
    );
}

#[tokio::test]
async fn with_every_channel_connected_the_oldest_is_evicted_and_its_socket_closed() {
    let sim = quiet_sim().await;
    let mut sockets = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..20 {
        let channel = create_channel(&sim).await;
        sockets.push(connect(&channel).await);
        ids.push(channel_id(&channel).to_owned());
    }
    create_channel(&sim).await;
    assert!(matches!(
        expect_end(&mut sockets[0], Duration::from_secs(2)).await,
        Next::Closed
    ));
    assert_eq!(head(&sim, &ids[0]).await, StatusCode::NOT_FOUND);
    assert_eq!(head(&sim, &ids[1]).await, StatusCode::OK);
}

#[tokio::test]
async fn heartbeats_arrive_every_interval_and_pings_get_pongs() {
    let sim = spawn_sim_with(SimConfig {
        heartbeat_interval: Duration::from_millis(200),
        ..quiet_config()
    })
    .await;
    let channel = create_channel(&sim).await;
    let mut socket = connect(&channel).await;
    let started = Instant::now();
    let mut heartbeats = 0;
    while started.elapsed() < Duration::from_millis(1100) {
        if let Next::Text(frame) = next(&mut socket, Duration::from_millis(50)).await {
            assert_eq!(
                frame,
                serde_json::from_str::<Value>(HEARTBEAT).expect("JSON")
            );
            heartbeats += 1;
        }
    }
    assert!(
        (4..=6).contains(&heartbeats),
        "{heartbeats} heartbeats in 1.1 s at 200 ms"
    );

    socket
        .send(Message::text(r#"{"message":"ping"}"#))
        .await
        .expect("ping sent");
    let pong = expect_frame(&mut socket, Duration::from_secs(1), |f| {
        f["eventBody"]["message"] != "WebSocket Heartbeat"
    })
    .await;
    assert_eq!(
        pong,
        json!({"topicName": "channel.metadata", "eventBody": {"message": "pong"}})
    );
}

#[tokio::test]
async fn a_queue_change_sends_observations_with_the_right_counts() {
    let sim = quiet_sim().await;
    let channel = create_channel(&sim).await;
    subscribe(&sim, &channel, &[topic(SALES)]).await;
    let mut socket = connect(&channel).await;
    let state = json!({"agents": {"idle": 2, "busy": 1, "offQueue": 0}, "waiting": {"voice": 3}});
    sim.set_queue_state(SALES, &state).await;

    let voice = expect_frame(&mut socket, Duration::from_secs(2), |f| {
        f["eventBody"]["group"]["mediaType"] == "voice"
    })
    .await;
    assert_eq!(voice["topicName"], topic(SALES));
    assert_eq!(voice["version"], "2");
    assert!(
        voice["metadata"]["CorrelationId"]
            .as_str()
            .is_some_and(|c| Uuid::parse_str(c).is_ok()),
        "{voice}"
    );
    assert_eq!(voice["eventBody"]["group"]["queueId"], SALES.to_string());
    assert!(is_observation(&voice), "{voice}");
    let interval = voice["eventBody"]["data"][0]["interval"]
        .as_str()
        .expect("interval");
    assert!(
        interval
            .split_once('/')
            .is_some_and(|(a, _)| is_iso_millis(a)),
        "{interval}"
    );
    assert_eq!(count(&voice, "oWaiting", None), Some(3));
    assert_eq!(count(&voice, "oInteracting", None), Some(0));
    assert_eq!(count(&voice, "oAlerting", None), Some(0));

    let wide = expect_frame(&mut socket, Duration::from_secs(2), |f| {
        is_queue_wide_observation(f, SALES)
    })
    .await;
    assert_eq!(count(&wide, "oUserRoutingStatuses", Some("IDLE")), Some(2));
    assert_eq!(
        count(&wide, "oUserRoutingStatuses", Some("INTERACTING")),
        Some(1)
    );
    assert_eq!(
        count(&wide, "oUserRoutingStatuses", Some("OFF_QUEUE")),
        None,
        "zero qualifiers are left out"
    );
    assert_eq!(count(&wide, "oOnQueueUsers", Some("IDLE")), Some(2));
    assert_eq!(count(&wide, "oOffQueueUsers", None), Some(0));
    assert_eq!(count(&wide, "oMemberUsers", None), Some(3));
    assert_eq!(count(&wide, "oActiveUsers", None), Some(3));
    assert_eq!(count(&wide, "oUserPresences", Some("ON_QUEUE")), Some(3));
}

#[tokio::test]
async fn a_drop_to_zero_is_reported_even_when_the_count_was_set_before_subscribing() {
    // A client that read 1 callback waiting (a snapshot, or the state when it subscribed) must
    // learn that it became 0, although no event it received ever carried the 1.
    let sim = quiet_sim().await;
    let state = json!({"agents": {"idle": 1}, "waiting": {"callback": 1}});
    sim.set_queue_state(SALES, &state).await;
    let channel = create_channel(&sim).await;
    subscribe(&sim, &channel, &[topic(SALES)]).await;
    let mut socket = connect(&channel).await;
    sim.set_queue_state(SALES, &json!({"agents": {"idle": 1}}))
        .await;

    let mut callback = None;
    loop {
        let frame = expect_frame(&mut socket, Duration::from_secs(2), is_observation).await;
        if frame["eventBody"]["group"]["mediaType"] == "callback" {
            callback = count(&frame, "oWaiting", None);
        }
        if is_queue_wide_observation(&frame, SALES) {
            break;
        }
    }
    assert_eq!(
        callback,
        Some(0),
        "the callback row must say it dropped to 0"
    );
}

#[tokio::test]
async fn rapid_changes_give_at_most_one_event_per_second_and_the_last_state_arrives() {
    let sim = quiet_sim().await;
    let channel = create_channel(&sim).await;
    subscribe(&sim, &channel, &[topic(SALES)]).await;
    let mut socket = connect(&channel).await;
    let changes = tokio::spawn({
        let plain = sim.plain.clone();
        let url = sim.url(&format!("/__sim/queues/{SALES}/state"));
        async move {
            for waiting in 1..=12 {
                let body = json!({"agents": {"idle": 1}, "waiting": {"voice": waiting}});
                plain.put(&url).json(&body).send().await.expect("sent");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let started = Instant::now();
    let mut arrivals = Vec::new();
    let mut last_waiting = None;
    while started.elapsed() < Duration::from_millis(2600) {
        if let Next::Text(frame) = next(&mut socket, Duration::from_millis(50)).await {
            if is_queue_wide_observation(&frame, SALES) {
                arrivals.push(Instant::now());
            } else if frame["eventBody"]["group"]["mediaType"] == "voice" {
                last_waiting = count(&frame, "oWaiting", None);
            }
        }
    }
    changes.await.expect("changes made");
    assert!(
        (2..=3).contains(&arrivals.len()),
        "{} events for 12 changes in 1.2 s",
        arrivals.len()
    );
    for pair in arrivals.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(900),
            "events {:?} apart",
            pair[1] - pair[0]
        );
    }
    assert_eq!(last_waiting, Some(12), "the last change is delivered");
}

#[tokio::test]
async fn aggregate_events_are_mixed_into_the_topic() {
    let sim = spawn_sim_with(SimConfig {
        aggregate_interval: Duration::from_millis(200),
        ..quiet_config()
    })
    .await;
    let channel = create_channel(&sim).await;
    subscribe(&sim, &channel, &[topic(SALES)]).await;
    let mut socket = connect(&channel).await;
    let aggregate = expect_frame(&mut socket, Duration::from_secs(2), |f| {
        f["topicName"] == topic(SALES)
    })
    .await;
    assert!(!is_observation(&aggregate), "{aggregate}");
    let interval = aggregate["eventBody"]["data"][0]["interval"]
        .as_str()
        .expect("interval");
    let (start, end) = interval.split_once('/').expect("start/end");
    assert!(
        start.ends_with(":00:00.000Z") || start.ends_with(":30:00.000Z"),
        "{interval}"
    );
    assert!(is_iso_millis(start) && is_iso_millis(end), "{interval}");
    let names: Vec<Value> = metrics(&aggregate)
        .iter()
        .map(|m| m["metric"].clone())
        .collect();
    for metric in ["nOffered", "tWait", "tHandle", "oServiceLevel"] {
        assert!(
            names.contains(&json!(metric)),
            "{metric} missing: {aggregate}"
        );
    }
    assert!(count(&aggregate, "oWaiting", None).is_none());
}

#[tokio::test]
async fn socket_closing_is_announced_then_the_socket_closes() {
    let sim = quiet_sim().await;
    let channel = create_channel(&sim).await;
    let mut socket = connect(&channel).await;
    let asked = Instant::now();
    control(
        &sim,
        "/__sim/notifications/socket-closing",
        Some(json!({"closeAfterMs": 400})),
    )
    .await;
    let warning = expect_frame(&mut socket, Duration::from_secs(1), |_| true).await;
    assert_eq!(warning["topicName"], "v2.system.socket_closing");
    assert!(warning["eventBody"]["message"].is_string(), "{warning}");
    assert!(matches!(
        expect_end(&mut socket, Duration::from_secs(2)).await,
        Next::Closed
    ));
    assert!(
        asked.elapsed() >= Duration::from_millis(350),
        "closed after {:?}",
        asked.elapsed()
    );
    // The channel stays: reconnecting to the same connectUri works.
    assert_eq!(head(&sim, channel_id(&channel)).await, StatusCode::OK);
    connect(&channel).await;
}

#[tokio::test]
async fn drop_cuts_sockets_without_a_close_frame_and_the_channel_survives() {
    let sim = quiet_sim().await;
    let channel = create_channel(&sim).await;
    let mut socket = connect(&channel).await;
    control(&sim, "/__sim/notifications/drop", None).await;
    assert!(matches!(
        expect_end(&mut socket, Duration::from_secs(2)).await,
        Next::Dropped
    ));
    let mut again = connect(&channel).await;
    again
        .send(Message::text(r#"{"message":"ping"}"#))
        .await
        .expect("ping sent");
    expect_frame(&mut again, Duration::from_secs(1), |f| {
        f["eventBody"]["message"] == "pong"
    })
    .await;
    let listed = sim_channels(&sim).await;
    assert_eq!(listed[0]["id"], channel_id(&channel));
    assert_eq!(listed[0]["connected"], true);
    assert_eq!(listed[0]["connections"], 2);
}

#[tokio::test]
async fn silence_stops_heartbeats_and_pongs_until_lifted() {
    let sim = spawn_sim_with(SimConfig {
        heartbeat_interval: Duration::from_millis(100),
        ..quiet_config()
    })
    .await;
    let channel = create_channel(&sim).await;
    let mut socket = connect(&channel).await;
    expect_frame(&mut socket, Duration::from_secs(1), |f| {
        f["eventBody"]["message"] == "WebSocket Heartbeat"
    })
    .await;
    control(
        &sim,
        "/__sim/notifications/silence",
        Some(json!({"silent": true})),
    )
    .await;
    // A heartbeat already queued may still arrive; after that, nothing.
    let _ = next(&mut socket, Duration::from_millis(150)).await;
    socket
        .send(Message::text(r#"{"message":"ping"}"#))
        .await
        .expect("ping sent");
    assert!(matches!(
        next(&mut socket, Duration::from_millis(600)).await,
        Next::Nothing
    ));
    control(
        &sim,
        "/__sim/notifications/silence",
        Some(json!({"silent": false})),
    )
    .await;
    expect_frame(&mut socket, Duration::from_secs(1), |f| {
        f["eventBody"]["message"] == "WebSocket Heartbeat"
    })
    .await;
}

#[tokio::test]
async fn a_second_socket_on_the_channel_disconnects_the_first() {
    let sim = quiet_sim().await;
    let channel = create_channel(&sim).await;
    let mut first = connect(&channel).await;
    let mut second = connect(&channel).await;
    assert!(matches!(
        expect_end(&mut first, Duration::from_secs(2)).await,
        Next::Closed
    ));
    second
        .send(Message::text(r#"{"message":"ping"}"#))
        .await
        .expect("ping sent");
    expect_frame(&mut second, Duration::from_secs(1), |f| {
        f["eventBody"]["message"] == "pong"
    })
    .await;
}

#[tokio::test]
async fn an_invalidated_token_takes_its_channel_and_socket_with_it() {
    let sim = quiet_sim().await;
    let channel = create_channel(&sim).await;
    let mut socket = connect(&channel).await;
    control(&sim, "/__sim/tokens/expire", None).await;
    assert!(matches!(
        expect_end(&mut socket, Duration::from_secs(2)).await,
        Next::Closed
    ));
    let fresh = crate::helpers::token(&sim.plain, &sim.sim).await;
    let api = crate::helpers::authenticated_client(&fresh);
    let url = sim.url(&format!("{CHANNELS}/{}", channel_id(&channel)));
    assert_eq!(
        api.head(url).send().await.expect("sent").status(),
        StatusCode::NOT_FOUND
    );
    let uri = channel["connectUri"].as_str().expect("connectUri");
    assert!(connect_async(uri).await.is_err(), "the channel is gone");
}

#[tokio::test]
async fn no_longer_subscribed_tells_the_socket_and_drops_the_topics() {
    let sim = spawn_sim().await;
    let channel = create_channel(&sim).await;
    let id = channel_id(&channel);
    subscribe(&sim, &channel, &[topic(SALES)]).await;
    let mut socket = connect(&channel).await;
    control(&sim, "/__sim/notifications/no-longer-subscribed", None).await;
    let name = format!("v2.system.no_longer_subscribed.{id}");
    let message = expect_frame(&mut socket, Duration::from_secs(2), |f| {
        f["topicName"] == name.as_str()
    })
    .await;
    assert_eq!(message["eventBody"]["channelId"], id);
    assert_eq!(
        message["eventBody"]["systemTopicType"],
        "no_longer_subscribed"
    );
    let path = format!("{CHANNELS}/{id}/subscriptions");
    assert_eq!(sim.get_json(&path).await["entities"], json!([]));
}
