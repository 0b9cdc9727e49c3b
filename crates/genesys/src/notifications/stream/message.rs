//! Classifying one text message from the notification socket: proof of life, an observation
//! update to yield, something to ignore, or a system message that ends the connection.
//!
//! Pure: no I/O and no logging, so every shape is unit-tested here. What to *do* about a message
//! is the session's business (`session.rs`), and what a connection's end leads to is `plan.rs`'s.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::QueueObservationUpdate;
use crate::analytics::MetricUpdate;

/// What one message means for the stream.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Incoming {
    /// A `channel.metadata` heartbeat or pong: the socket is alive, nothing to yield.
    Metadata,
    /// New values of observation metrics for one queue (and media type).
    Observation(QueueObservationUpdate),
    /// A well-formed message the stream has no use for: the 30-minute aggregates on the
    /// observations topic, topics it did not subscribe to, other system messages.
    Ignored(&'static str),
    /// `v2.system.socket_closing`: Genesys will close this socket within about a minute.
    SocketClosing,
    /// The channel no longer delivers: `v2.system.no_longer_subscribed` or a `"result":"404"`.
    ChannelGone,
}

/// Why a message could not be understood. Never fatal: the message is skipped and counted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MessageError {
    #[error("not a JSON notification")]
    Json(#[source] serde_json::Error),
    #[error("the observation body is not a StatEventQueueTopicStatsNotification")]
    Body(#[source] serde_json::Error),
    #[error("the observation names no valid queue id")]
    QueueId,
}

const OBSERVATIONS_PREFIX: &str = "v2.analytics.queues.";
const OBSERVATIONS_SUFFIX: &str = ".observations";

/// The envelope of every server message (`NotificationEvent`); `result` is the reply shape of the
/// socket-level subscribe protocol, whose `"404"` means the channel is gone.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    topic_name: Option<String>,
    #[serde(default)]
    event_body: Value,
    result: Option<Value>,
}

/// `StatEventQueueTopicStatsNotification`.
#[derive(Deserialize)]
struct ObservationBody {
    #[serde(default)]
    group: BTreeMap<String, String>,
    #[serde(default)]
    data: Vec<IntervalMetrics>,
}

/// `StatEventQueueTopicIntervalMetrics`.
#[derive(Deserialize)]
struct IntervalMetrics {
    interval: Option<String>,
    #[serde(default)]
    metrics: Vec<MetricStats>,
}

/// `StatEventQueueTopicMetricStats`.
#[derive(Deserialize)]
struct MetricStats {
    metric: Option<String>,
    qualifier: Option<String>,
    #[serde(default)]
    stats: BTreeMap<String, f64>,
}

/// Classifies one text message.
pub(crate) fn parse(text: &str) -> Result<Incoming, MessageError> {
    let envelope: Envelope = serde_json::from_str(text).map_err(MessageError::Json)?;
    if is_not_found(envelope.result.as_ref()) {
        return Ok(Incoming::ChannelGone);
    }
    let Some(topic) = envelope.topic_name else {
        return Ok(Incoming::Ignored("no topic"));
    };
    match topic.as_str() {
        "channel.metadata" => Ok(Incoming::Metadata),
        "v2.system.socket_closing" => Ok(Incoming::SocketClosing),
        // Also published as `v2.system.no_longer_subscribed.{channelId}`.
        t if t.starts_with("v2.system.no_longer_subscribed") => Ok(Incoming::ChannelGone),
        t if t.starts_with("v2.system.") => Ok(Incoming::Ignored("other system topic")),
        t => match observations_topic_queue(t) {
            Some(topic_queue) => parse_observation(topic_queue, envelope.event_body),
            None => Ok(Incoming::Ignored("unsubscribed topic")),
        },
    }
}

fn is_not_found(result: Option<&Value>) -> bool {
    match result {
        Some(Value::String(code)) => code == "404",
        Some(Value::Number(code)) => code.as_u64() == Some(404),
        _ => false,
    }
}

/// `v2.analytics.queues.{id}.observations` → `Some("{id}")`.
fn observations_topic_queue(topic: &str) -> Option<&str> {
    topic
        .strip_prefix(OBSERVATIONS_PREFIX)?
        .strip_suffix(OBSERVATIONS_SUFFIX)
}

/// Keeps only the `o*` metrics of zero-length (`a/a`) intervals; a body with none of them (a
/// 30-minute aggregate of `t*`/`n*` metrics) is ignored.
fn parse_observation(topic_queue: &str, body: Value) -> Result<Incoming, MessageError> {
    let body: ObservationBody = serde_json::from_value(body).map_err(MessageError::Body)?;
    let queue_text = body
        .group
        .get("queueId")
        .map_or(topic_queue, String::as_str);
    let queue_id = Uuid::parse_str(queue_text).map_err(|_| MessageError::QueueId)?;
    let media_type = body.group.get("mediaType").map(String::as_str);
    let mut observed_at = None;
    let mut metrics = Vec::new();
    for interval in body.data {
        let Some(instant) = interval.interval.as_deref().and_then(instant_of) else {
            continue;
        };
        observed_at = observed_at.max(Some(instant));
        metrics.extend(
            interval
                .metrics
                .into_iter()
                .filter_map(|stats| observed_metric(stats, media_type)),
        );
    }
    let (Some(observed_at), false) = (observed_at, metrics.is_empty()) else {
        return Ok(Incoming::Ignored("aggregate or empty observation"));
    };
    Ok(Incoming::Observation(QueueObservationUpdate {
        queue_id,
        media_type: media_type.map(str::to_owned),
        observed_at,
        metrics,
    }))
}

/// The instant of a zero-length ISO-8601 interval `a/a`; `None` for a real interval or garbage.
fn instant_of(interval: &str) -> Option<OffsetDateTime> {
    let (start, end) = interval.split_once('/')?;
    let start = OffsetDateTime::parse(start, &Rfc3339).ok()?;
    let end = OffsetDateTime::parse(end, &Rfc3339).ok()?;
    (start == end).then_some(start)
}

/// An observation metric (name starting with `o`) with a whole, non-negative `count`.
fn observed_metric(stats: MetricStats, media_type: Option<&str>) -> Option<MetricUpdate> {
    let metric = stats.metric.filter(|m| m.starts_with('o'))?;
    let count = *stats.stats.get("count")?;
    MetricUpdate::from_count(&metric, stats.qualifier.as_deref(), media_type, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const QUEUE: &str = "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01";

    fn observation(group: Value, data: Value) -> String {
        json!({
            "topicName": format!("v2.analytics.queues.{QUEUE}.observations"),
            "version": "2",
            "eventBody": {"group": group, "data": data},
            "metadata": {"CorrelationId": "c"}
        })
        .to_string()
    }

    #[test]
    fn the_captured_observation_yields_its_o_metrics() {
        let text = observation(
            json!({"queueId": QUEUE, "mediaType": "voice"}),
            json!([{"interval":"2024-12-30T09:46:54.839Z/2024-12-30T09:46:54.839Z","metrics":[
                {"metric":"oAlerting","stats":{"count":0}},{"metric":"oWaiting","stats":{"count":3}}]}]),
        );
        let Ok(Incoming::Observation(update)) = parse(&text) else {
            panic!("expected an observation from {text}");
        };
        assert_eq!(update.queue_id.to_string(), QUEUE);
        assert_eq!(update.media_type.as_deref(), Some("voice"));
        assert_eq!(update.observed_at.unix_timestamp(), 1_735_552_014);
        let names: Vec<_> = update
            .metrics
            .iter()
            .map(|m| (m.metric.as_str(), m.count))
            .collect();
        assert_eq!(names, [("oAlerting", 0), ("oWaiting", 3)]);
    }

    #[test]
    fn the_captured_30_minute_aggregate_is_ignored() {
        let text = observation(
            json!({"queueId": QUEUE}),
            json!([{"interval":"2024-12-30T09:30:00.000Z/2024-12-30T10:00:00.000Z","metrics":[
                {"metric":"tAlert","stats":{"count":1,"sum":8277,"min":8277,"max":8277}},
                {"metric":"nOffered","stats":{"count":2}},
                {"metric":"oServiceLevel","stats":{"ratio":0,"numerator":0,"denominator":2,"target":0.5}}]}]),
        );
        assert!(matches!(parse(&text), Ok(Incoming::Ignored(_))), "{text}");
    }

    #[test]
    fn o_metrics_of_a_real_interval_are_not_observations() {
        let text = observation(
            json!({"queueId": QUEUE, "mediaType": "voice"}),
            json!([{"interval":"2024-12-30T09:30:00.000Z/2024-12-30T10:00:00.000Z","metrics":[
                {"metric":"oWaiting","stats":{"count":4}}]}]),
        );
        assert!(matches!(parse(&text), Ok(Incoming::Ignored(_))), "{text}");
    }

    #[test]
    fn non_o_metrics_in_an_observation_interval_are_dropped() {
        let text = observation(
            json!({"queueId": QUEUE}),
            json!([{"interval":"2024-12-30T09:46:54Z/2024-12-30T09:46:54Z","metrics":[
                {"metric":"nOffered","stats":{"count":2}},
                {"metric":"oUserRoutingStatuses","qualifier":"IDLE","stats":{"count":2}}]}]),
        );
        let Ok(Incoming::Observation(update)) = parse(&text) else {
            panic!("expected an observation");
        };
        assert_eq!(update.media_type, None);
        assert_eq!(update.metrics.len(), 1);
        assert_eq!(update.metrics[0].qualifier.as_deref(), Some("IDLE"));
    }

    #[test]
    fn heartbeats_pongs_and_system_topics_are_classified() {
        let metadata =
            |m: &str| json!({"topicName":"channel.metadata","eventBody":{"message":m}}).to_string();
        assert_eq!(
            parse(&metadata("WebSocket Heartbeat")).ok(),
            Some(Incoming::Metadata)
        );
        assert_eq!(parse(&metadata("pong")).ok(), Some(Incoming::Metadata));
        let system = |t: &str| json!({"topicName":t,"eventBody":{"message":"x"}}).to_string();
        assert_eq!(
            parse(&system("v2.system.socket_closing")).ok(),
            Some(Incoming::SocketClosing)
        );
        assert_eq!(
            parse(&system("v2.system.no_longer_subscribed")).ok(),
            Some(Incoming::ChannelGone)
        );
        assert_eq!(
            parse(&system("v2.system.no_longer_subscribed.streaming-0-abc")).ok(),
            Some(Incoming::ChannelGone)
        );
        assert!(matches!(
            parse(&system("v2.system.token_revoked.x")),
            Ok(Incoming::Ignored(_))
        ));
        assert!(matches!(
            parse(&system("v2.users.x.presence")),
            Ok(Incoming::Ignored(_))
        ));
        assert_eq!(
            parse(r#"{"result":"404"}"#).ok(),
            Some(Incoming::ChannelGone)
        );
        assert_eq!(parse(r#"{"result":404}"#).ok(), Some(Incoming::ChannelGone));
        assert!(matches!(
            parse(r#"{"result":"200","status":"subscribed"}"#),
            Ok(Incoming::Ignored(_))
        ));
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let topic = format!("v2.analytics.queues.{QUEUE}.observations");
        let cases = [
            "not json".to_owned(),
            "[1,2]".to_owned(),
            json!({"topicName": topic, "eventBody": {"data": "nope"}}).to_string(),
            json!({"topicName": "v2.analytics.queues.not-a-uuid.observations", "eventBody": {}})
                .to_string(),
            json!({"topicName": topic, "eventBody": {"group": {"queueId": 7}}}).to_string(),
        ];
        for text in cases {
            assert!(parse(&text).is_err(), "{text}");
        }
    }

    #[test]
    fn odd_counts_and_intervals_are_dropped_not_yielded() {
        let text = observation(
            json!({"queueId": QUEUE}),
            json!([
                {"interval":"garbage","metrics":[{"metric":"oWaiting","stats":{"count":1}}]},
                {"interval":"2024-12-30T09:46:54Z/2024-12-30T09:46:54Z","metrics":[
                    {"metric":"oWaiting","stats":{"count":-1}},
                    {"metric":"oWaiting","stats":{"count":1.5}},
                    {"metric":"oWaiting","stats":{}},
                    {"stats":{"count":1}}]}
            ]),
        );
        assert!(matches!(parse(&text), Ok(Incoming::Ignored(_))), "{text}");
    }
}
