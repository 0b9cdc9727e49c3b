//! The JSON frames a notification socket sends, in the shape Genesys sends them:
//! heartbeats and pongs on `channel.metadata`, queue observation and 30-minute aggregate events on
//! `v2.analytics.queues.{id}.observations`, and the `v2.system.*` messages.
//!
//! It builds text only; when and to whom frames go is `socket.rs`'s business.

use rand::Rng;
use serde_json::{Value, json};
use time::{Duration as TimeDuration, OffsetDateTime};
use uuid::Uuid;

use crate::api::analytics::{self, Datum};
use crate::api::iso_millis;
use crate::config::DEMO_ORGANIZATION_ID;
use crate::model::{MediaCounts, MediaType, QueueSnapshot};

pub fn observations_topic(queue: Uuid) -> String {
    format!("v2.analytics.queues.{queue}.observations")
}

/// The queue of a `v2.analytics.queues.{id}.observations` topic (any UUID spelling).
pub fn observed_queue(topic: &str) -> Option<Uuid> {
    let id = topic
        .strip_prefix("v2.analytics.queues.")?
        .strip_suffix(".observations")?;
    Uuid::parse_str(id).ok()
}

/// `{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}`.
pub fn heartbeat() -> String {
    metadata("WebSocket Heartbeat")
}

/// The answer to a client's `{"message":"ping"}`.
pub fn pong() -> String {
    metadata("pong")
}

fn metadata(message: &str) -> String {
    json!({"topicName": "channel.metadata", "eventBody": {"message": message}}).to_string()
}

/// Genesys's notification envelope (`NotificationEvent`: `metadata.CorrelationId`, capital C).
fn envelope(topic: &str, body: Value) -> String {
    json!({
        "topicName": topic,
        "version": "2",
        "eventBody": body,
        "metadata": {"CorrelationId": Uuid::new_v4().to_string()},
    })
    .to_string()
}

/// One observation event: a group per media type worth reporting, then the queue-wide group.
///
/// A media type is reported when it has anything waiting, interacting or alerting, or when it
/// `changed` since the last event (so a drop to 0 reaches the client). The queue-wide group (no
/// `mediaType`, as Genesys's sample expects) carries the agent metrics.
pub fn observation_events(
    snapshot: &QueueSnapshot,
    changed: impl Fn(MediaType) -> bool,
    now: OffsetDateTime,
) -> Vec<String> {
    let topic = observations_topic(snapshot.queue_id);
    let stamp = iso_millis(now);
    let interval = format!("{stamp}/{stamp}");
    let mut events: Vec<String> = snapshot
        .media
        .iter()
        .filter(|(media, counts)| **counts != MediaCounts::default() || changed(**media))
        .map(|(media, counts)| {
            let body = media_body(snapshot.queue_id, *media, counts, &interval);
            envelope(&topic, body)
        })
        .collect();
    events.push(envelope(&topic, queue_wide_body(snapshot, &interval)));
    events
}

fn media_body(queue: Uuid, media: MediaType, counts: &MediaCounts, interval: &str) -> Value {
    let metrics: Vec<Datum> = ["oAlerting", "oWaiting", "oInteracting"]
        .into_iter()
        .filter_map(|metric| analytics::media_metric(counts, metric))
        .collect();
    json!({
        "group": {"queueId": queue.to_string(), "mediaType": media.analytics_name()},
        "data": [{"interval": interval, "metrics": metrics}],
    })
}

/// The user metrics, built exactly as the observation query's queue-wide row (`analytics.rs`).
fn queue_wide_body(snapshot: &QueueSnapshot, interval: &str) -> Value {
    let metrics: Vec<Datum> = [
        "oUserRoutingStatuses",
        "oOnQueueUsers",
        "oOffQueueUsers",
        "oMemberUsers",
        "oActiveUsers",
        "oUserPresences",
    ]
    .into_iter()
    .flat_map(|metric| analytics::user_metric(snapshot, metric))
    .collect();
    json!({
        "group": {"queueId": snapshot.queue_id.to_string()},
        "data": [{"interval": interval, "metrics": metrics}],
    })
}

/// A 30-minute aggregate event like those Genesys mixes into the same topic: the current half-hour
/// bucket and `t*`/`n*`/`oServiceLevel` metrics. The numbers are plausible noise; they exist so
/// clients learn to ignore aggregates, not to be read.
pub fn aggregate_event(queue: Uuid, now: OffsetDateTime) -> String {
    let mut rng = rand::rng();
    let offered: u32 = rng.random_range(1..=12);
    let answered = rng.random_range(0..=offered);
    let abandoned = offered - answered;
    let mut timed = |count: u32, mean_ms: u64| timed_stats(&mut rng, count, mean_ms);
    let metrics = json!([
        {"metric": "nOffered", "stats": {"count": offered}},
        {"metric": "tWait", "stats": timed(offered, 40_000)},
        {"metric": "tAcd", "stats": timed(offered, 40_000)},
        {"metric": "tAlert", "stats": timed(answered, 8_000)},
        {"metric": "tConnected", "stats": timed(answered, 60_000)},
        {"metric": "tHandle", "stats": timed(answered, 240_000)},
        {"metric": "tAbandon", "stats": timed(abandoned, 50_000)},
        {"metric": "oServiceLevel", "stats": {
            "ratio": if offered == 0 { 0.0 } else { f64::from(answered) / f64::from(offered) },
            "numerator": answered,
            "denominator": offered,
            "target": 0.8,
        }},
    ]);
    let body = json!({
        "group": {"queueId": queue.to_string(), "mediaType": MediaType::Voice.analytics_name()},
        "data": [{"interval": half_hour_bucket(now), "metrics": metrics}],
    });
    envelope(&observations_topic(queue), body)
}

fn timed_stats(rng: &mut impl Rng, count: u32, mean_ms: u64) -> Value {
    let samples: Vec<u64> = (0..count.max(1))
        .map(|_| rng.random_range(mean_ms / 4..=mean_ms * 2))
        .collect();
    let sum: u64 = samples.iter().sum();
    let min = samples.iter().min().copied().unwrap_or(0);
    let max = samples.iter().max().copied().unwrap_or(0);
    json!({"count": count.max(1), "sum": sum, "min": min, "max": max})
}

/// `2024-12-30T09:30:00.000Z/2024-12-30T10:00:00.000Z` for any instant in that half hour.
pub fn half_hour_bucket(now: OffsetDateTime) -> String {
    let secs = now.unix_timestamp();
    let start = secs - secs.rem_euclid(1800);
    let start = OffsetDateTime::from_unix_timestamp(start).unwrap_or(now);
    let end = start + TimeDuration::minutes(30);
    format!("{}/{}", iso_millis(start), iso_millis(end))
}

/// `v2.system.socket_closing`: sent before the server closes sockets on purpose.
pub fn socket_closing(close_after_ms: u64) -> String {
    let message = format!("The WebSocket will be closed in {close_after_ms} ms; reconnect.");
    envelope("v2.system.socket_closing", json!({"message": message}))
}

/// `v2.system.no_longer_subscribed.{channelId}` with a `SystemMessageSystemMessage` body.
pub fn no_longer_subscribed(channel_id: &str, oauth_client_id: &str) -> String {
    let body = json!({
        "channelId": channel_id,
        "systemTopicType": "no_longer_subscribed",
        "correlationId": Uuid::new_v4().to_string(),
        "organizationId": DEMO_ORGANIZATION_ID,
        "oauthClientId": oauth_client_id,
        "oauthClientOrgId": DEMO_ORGANIZATION_ID,
        // The only other reason Genesys names is `user_tokens_revoked`, which does not fit.
        "reason": "another_channel_subscribed",
        "message": "This channel is no longer subscribed to its topics; subscribe again.",
    });
    envelope(
        &format!("v2.system.no_longer_subscribed.{channel_id}"),
        body,
    )
}
