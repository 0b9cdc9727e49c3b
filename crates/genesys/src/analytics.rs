//! Queue observations: the `POST /api/v2/analytics/queues/observations/query` call, and
//! [`QueueObservations`], the per-queue counts it yields. The notification stream yields
//! [`MetricUpdate`]s for the same type, so both paths share one model and one way to apply a count.
//!
//! It does not judge what a visitor may see; it only counts what Genesys reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::GenesysClient;
use crate::budget::Priority;
use crate::error::Error;
use crate::http::{Request, Route};

const OBSERVATIONS_QUERY: &str = "/api/v2/analytics/queues/observations/query";
/// Keeps one query's filter to a size Genesys accepts; more queues are asked in several queries.
const QUEUES_PER_QUERY: usize = 100;

/// The observation metrics this client asks for and keeps.
pub const OBSERVATION_METRICS: [&str; 9] = [
    "oOnQueueUsers",
    "oOffQueueUsers",
    "oUserRoutingStatuses",
    "oWaiting",
    "oInteracting",
    "oAlerting",
    "oMemberUsers",
    "oActiveUsers",
    "oUserPresences",
];

/// A user's routing status, the qualifier of `oUserRoutingStatuses` and `oOnQueueUsers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutingStatus {
    OffQueue,
    Idle,
    Interacting,
    NotResponding,
    Communicating,
}

impl RoutingStatus {
    pub fn as_qualifier(self) -> &'static str {
        match self {
            RoutingStatus::OffQueue => "OFF_QUEUE",
            RoutingStatus::Idle => "IDLE",
            RoutingStatus::Interacting => "INTERACTING",
            RoutingStatus::NotResponding => "NOT_RESPONDING",
            RoutingStatus::Communicating => "COMMUNICATING",
        }
    }

    /// On queue but not free to take an interaction.
    pub const BUSY: [RoutingStatus; 3] = [
        RoutingStatus::Interacting,
        RoutingStatus::Communicating,
        RoutingStatus::NotResponding,
    ];
}

/// One observed count: a metric, its qualifier, and the media type of the row it came from
/// (`None` = the queue-wide row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricUpdate {
    pub metric: String,
    pub qualifier: Option<String>,
    pub media_type: Option<String>,
    pub count: u64,
}

impl MetricUpdate {
    /// An update from a JSON `stats.count`, which is a number: refuses negative, fractional and
    /// non-finite counts rather than guessing.
    pub fn from_count(
        metric: &str,
        qualifier: Option<&str>,
        media_type: Option<&str>,
        count: f64,
    ) -> Option<Self> {
        let whole =
            count.is_finite() && count >= 0.0 && count.fract() == 0.0 && count <= u64::MAX as f64;
        whole.then(|| MetricUpdate {
            metric: metric.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            media_type: media_type.map(str::to_owned),
            count: count as u64,
        })
    }
}

/// Where one count is kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CountKey {
    metric: String,
    media_type: Option<String>,
    qualifier: Option<String>,
}

/// The latest observed counts of one queue. Counts are absolute: applying an update replaces the
/// previous value of the same metric, qualifier and media type; a count never reported reads 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueObservations {
    pub queue_id: Uuid,
    counts: BTreeMap<CountKey, u64>,
}

impl QueueObservations {
    /// A queue with nothing observed yet.
    pub fn new(queue_id: Uuid) -> Self {
        QueueObservations {
            queue_id,
            counts: BTreeMap::new(),
        }
    }

    /// Records one count. Metrics other than [`OBSERVATION_METRICS`] (e.g. the 30-minute
    /// aggregates the notification topic also carries) are ignored; returns whether it was kept.
    pub fn apply(&mut self, update: MetricUpdate) -> bool {
        if !OBSERVATION_METRICS.contains(&update.metric.as_str()) {
            return false;
        }
        let key = CountKey {
            metric: update.metric,
            media_type: update.media_type,
            qualifier: update.qualifier,
        };
        self.counts.insert(key, update.count);
        true
    }

    /// Records one notification's worth of counts for one row (queue-wide or one media type).
    ///
    /// A notification carries the whole current breakdown of each metric it names, and Genesys
    /// leaves out qualifiers whose count is 0: when the last idle agent gets busy, the next
    /// `oOnQueueUsers` lists only `INTERACTING`. So every qualifier of a named metric that the
    /// notification does not mention is reset to 0 before the new counts are applied. (When no
    /// qualifier has members, e.g. nobody on queue, we expect the metric as one unqualified 0, as
    /// the simulator sends it; Genesys's exact form for that case is unconfirmed.)
    pub fn replace_row(&mut self, media_type: Option<&str>, updates: Vec<MetricUpdate>) {
        let named: BTreeSet<&str> = updates.iter().map(|u| u.metric.as_str()).collect();
        self.counts.retain(|key, _| {
            key.media_type.as_deref() != media_type || !named.contains(key.metric.as_str())
        });
        for update in updates {
            self.apply(update);
        }
    }

    /// Users on queue and idle: free to take an interaction now.
    pub fn available_agents(&self) -> u64 {
        self.on_queue_with_status(RoutingStatus::Idle)
    }

    /// Users on queue and not idle (interacting, communicating or not responding).
    pub fn busy_agents(&self) -> u64 {
        saturating_sum(
            RoutingStatus::BUSY
                .iter()
                .map(|status| self.on_queue_with_status(*status)),
        )
    }

    /// On-queue users with `status`: `oOnQueueUsers` by qualifier when Genesys split it so,
    /// else `oUserRoutingStatuses` (whose non-OFF_QUEUE statuses only exist on queue).
    pub fn on_queue_with_status(&self, status: RoutingStatus) -> u64 {
        if self.has_qualified("oOnQueueUsers") {
            self.count("oOnQueueUsers", status.as_qualifier(), None)
        } else {
            self.routing_status(status)
        }
    }

    /// Members by routing status (`oUserRoutingStatuses`).
    pub fn routing_status(&self, status: RoutingStatus) -> u64 {
        self.count("oUserRoutingStatuses", status.as_qualifier(), None)
    }

    pub fn on_queue_users(&self) -> u64 {
        self.total("oOnQueueUsers", None)
    }

    pub fn off_queue_users(&self) -> u64 {
        self.total("oOffQueueUsers", None)
    }

    pub fn member_users(&self) -> u64 {
        self.total("oMemberUsers", None)
    }

    pub fn active_users(&self) -> u64 {
        self.total("oActiveUsers", None)
    }

    /// Members with a system presence (`oUserPresences`, qualifier e.g. `AVAILABLE`).
    pub fn presence(&self, presence: &str) -> u64 {
        self.count("oUserPresences", presence, None)
    }

    /// Interactions waiting; `media_type` is an analytics media type (`voice`, `callback`, …),
    /// `None` for the whole queue.
    pub fn waiting(&self, media_type: Option<&str>) -> u64 {
        self.media_metric("oWaiting", media_type)
    }

    pub fn interacting(&self, media_type: Option<&str>) -> u64 {
        self.media_metric("oInteracting", media_type)
    }

    pub fn alerting(&self, media_type: Option<&str>) -> u64 {
        self.media_metric("oAlerting", media_type)
    }

    /// Media types that have their own rows.
    pub fn media_types(&self) -> impl Iterator<Item = &str> {
        let seen: BTreeSet<&str> = self
            .counts
            .keys()
            .filter_map(|key| key.media_type.as_deref())
            .collect();
        seen.into_iter()
    }

    /// Queue-wide: the row without a media type when Genesys sent one, else the sum of the
    /// per-media rows.
    fn media_metric(&self, metric: &str, media_type: Option<&str>) -> u64 {
        match media_type {
            Some(media) => self.total(metric, Some(media)),
            None if self.has_row(metric, None) => self.total(metric, None),
            None => saturating_sum(
                self.media_types()
                    .map(|media| self.total(metric, Some(media))),
            ),
        }
    }

    /// A metric's total in one row: its unqualified count if reported, else the sum of its
    /// qualified counts (summing both would count users twice).
    fn total(&self, metric: &str, media_type: Option<&str>) -> u64 {
        let key = CountKey {
            metric: metric.to_owned(),
            media_type: media_type.map(str::to_owned),
            qualifier: None,
        };
        if let Some(count) = self.counts.get(&key) {
            return *count;
        }
        saturating_sum(self.row(metric, media_type).map(|(_, count)| count))
    }

    fn count(&self, metric: &str, qualifier: &str, media_type: Option<&str>) -> u64 {
        self.row(metric, media_type)
            .find(|(key, _)| key.qualifier.as_deref() == Some(qualifier))
            .map_or(0, |(_, count)| count)
    }

    fn has_row(&self, metric: &str, media_type: Option<&str>) -> bool {
        self.row(metric, media_type).next().is_some()
    }

    fn has_qualified(&self, metric: &str) -> bool {
        self.row(metric, None)
            .any(|(key, _)| key.qualifier.is_some())
    }

    fn row<'a>(
        &'a self,
        metric: &'a str,
        media_type: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a CountKey, u64)> + 'a {
        self.counts
            .iter()
            .filter(move |(key, _)| key.metric == metric && key.media_type.as_deref() == media_type)
            .map(|(key, count)| (key, *count))
    }
}

/// Counts come from Genesys as JSON numbers, up to `u64::MAX`: a sum of them saturates instead
/// of panicking (debug builds) or wrapping round to a small number (release builds).
fn saturating_sum(counts: impl Iterator<Item = u64>) -> u64 {
    counts.fold(0, u64::saturating_add)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObservationQuery<'a> {
    filter: Filter,
    metrics: &'a [&'a str],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    detail_metrics: &'a [&'a str],
}

#[derive(Serialize)]
struct Filter {
    #[serde(rename = "type")]
    kind: &'static str,
    predicates: Vec<Predicate>,
}

#[derive(Serialize)]
struct Predicate {
    #[serde(rename = "type")]
    kind: &'static str,
    dimension: &'static str,
    operator: &'static str,
    value: String,
}

fn query_for(queues: &[Uuid]) -> ObservationQuery<'static> {
    let predicates = queues
        .iter()
        .map(|queue| Predicate {
            kind: "dimension",
            dimension: "queueId",
            operator: "matches",
            value: queue.to_string(),
        })
        .collect();
    ObservationQuery {
        filter: Filter {
            kind: "or",
            predicates,
        },
        metrics: &OBSERVATION_METRICS,
        detail_metrics: &[],
    }
}

/// `QueueObservationQueryResponse`, the fields this client reads.
#[derive(Debug, Deserialize)]
struct ObservationResponse {
    #[serde(default)]
    results: Vec<ObservationRow>,
}

#[derive(Debug, Deserialize)]
struct ObservationRow {
    #[serde(default)]
    group: HashMap<String, String>,
    #[serde(default)]
    data: Vec<ObservationData>,
}

#[derive(Debug, Deserialize)]
struct ObservationData {
    metric: Option<String>,
    qualifier: Option<String>,
    stats: Option<ObservationStats>,
    #[serde(default)]
    observations: Vec<ObservationValue>,
}

/// `ObservationValue`, the fields this client reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObservationValue {
    #[serde(with = "time::serde::rfc3339")]
    observation_date: OffsetDateTime,
    conversation_id: Option<Uuid>,
    routing_priority: Option<i64>,
}

/// A conversation waiting in a queue, from `detailMetrics: ["oWaiting"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingConversation {
    pub conversation_id: Uuid,
    /// The analytics media type (`voice`, `callback`, `message`, …).
    pub media_type: String,
    /// Since when it waits.
    pub since: OffsetDateTime,
    pub routing_priority: i64,
}

#[derive(Debug, Deserialize)]
struct ObservationStats {
    count: Option<f64>,
}

/// Folds a response into one [`QueueObservations`] per asked queue, in the order asked. Rows for
/// other queues, and counts that are not whole non-negative numbers, are dropped.
fn fold_response(queues: &[Uuid], response: ObservationResponse) -> Vec<QueueObservations> {
    let mut observed: Vec<QueueObservations> = queues
        .iter()
        .map(|id| QueueObservations::new(*id))
        .collect();
    for row in response.results {
        let Some(queue_id) = row
            .group
            .get("queueId")
            .and_then(|id| id.parse::<Uuid>().ok())
        else {
            continue;
        };
        let Some(target) = observed.iter_mut().find(|queue| queue.queue_id == queue_id) else {
            continue;
        };
        let media_type = row.group.get("mediaType").map(String::as_str);
        for data in row.data {
            let (Some(metric), Some(count)) =
                (data.metric, data.stats.and_then(|stats| stats.count))
            else {
                continue;
            };
            if let Some(update) =
                MetricUpdate::from_count(&metric, data.qualifier.as_deref(), media_type, count)
            {
                target.apply(update);
            }
        }
    }
    observed
}

/// Every waiting conversation of the response, the longest waiting first. Observations without a
/// conversation id or a media type are dropped.
fn waiting_in(response: ObservationResponse) -> Vec<WaitingConversation> {
    let mut waiting: Vec<WaitingConversation> = response
        .results
        .into_iter()
        .flat_map(|row| {
            let media_type = row.group.get("mediaType").cloned();
            row.data
                .into_iter()
                .filter(|data| data.metric.as_deref() == Some("oWaiting"))
                .flat_map(|data| data.observations)
                .filter_map(move |value| {
                    Some(WaitingConversation {
                        conversation_id: value.conversation_id?,
                        media_type: media_type.clone()?,
                        since: value.observation_date,
                        routing_priority: value.routing_priority.unwrap_or(0),
                    })
                })
        })
        .collect();
    waiting.sort_by_key(|w| w.since);
    waiting
}

impl GenesysClient {
    /// The conversations waiting in `queue`, longest waiting first (Genesys's `oWaiting`
    /// observations): what "longest waiting" and a position in the queue are computed from.
    pub async fn waiting_conversations(
        &self,
        queue: Uuid,
    ) -> Result<Vec<WaitingConversation>, Error> {
        let route = Route::idempotent(Method::POST, OBSERVATIONS_QUERY);
        let url = self.api_url(&["api", "v2", "analytics", "queues", "observations", "query"])?;
        let mut query = query_for(&[queue]);
        query.metrics = &["oWaiting"];
        query.detail_metrics = &["oWaiting"];
        let request = Request::new(route, url, Priority::Low).json(&query)?;
        let response = self.send(request).await?.json("queue observations")?;
        Ok(waiting_in(response))
    }

    /// Current observations of `queues`, one entry per queue in the order given. Meant for the
    /// notification stream's snapshot: it may use the budget's reserve for keeping statistics
    /// live.
    pub async fn query_queue_observations(
        &self,
        queues: &[Uuid],
    ) -> Result<Vec<QueueObservations>, Error> {
        let mut observed = Vec::with_capacity(queues.len());
        for chunk in queues.chunks(QUEUES_PER_QUERY) {
            observed.extend(self.query_observation_chunk(chunk).await?);
        }
        Ok(observed)
    }

    async fn query_observation_chunk(
        &self,
        queues: &[Uuid],
    ) -> Result<Vec<QueueObservations>, Error> {
        // A query: it reads, so repeating it after a 5xx or a timeout is harmless.
        let route = Route::idempotent(Method::POST, OBSERVATIONS_QUERY);
        let url = self.api_url(&["api", "v2", "analytics", "queues", "observations", "query"])?;
        // The stream's snapshot: it keeps the statistics live, so it draws on the reserve that
        // polling (visitors' EWT reads) cannot spend.
        let request = Request::new(route, url, Priority::Normal).json(&query_for(queues))?;
        let response = self.send(request).await?.json("queue observations")?;
        Ok(fold_response(queues, response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(metric: &str, qualifier: Option<&str>, media: Option<&str>, n: u64) -> MetricUpdate {
        MetricUpdate {
            metric: metric.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            media_type: media.map(str::to_owned),
            count: n,
        }
    }

    #[test]
    fn a_row_update_resets_the_qualifiers_it_leaves_out() {
        let mut queue = QueueObservations::new(Uuid::nil());
        queue.replace_row(
            None,
            vec![
                count("oOnQueueUsers", Some("IDLE"), None, 1),
                count("oOnQueueUsers", Some("INTERACTING"), None, 3),
            ],
        );
        queue.replace_row(
            Some("voice"),
            vec![count("oWaiting", None, Some("voice"), 2)],
        );
        assert_eq!(queue.available_agents(), 1);
        // The last idle agent gets busy: Genesys sends only the non-zero qualifier.
        queue.replace_row(
            None,
            vec![count("oOnQueueUsers", Some("INTERACTING"), None, 4)],
        );
        assert_eq!(queue.available_agents(), 0);
        assert_eq!(queue.busy_agents(), 4);
        // Other rows and other metrics are untouched.
        assert_eq!(queue.waiting(Some("voice")), 2);
    }

    const SALES: Uuid = uuid::uuid!("1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01");
    const OTHER: Uuid = uuid::uuid!("2a7e5d82-7b4f-4d68-8e1f-7c8b3f2d1b02");

    fn folded(json: &str) -> QueueObservations {
        let response: ObservationResponse = serde_json::from_str(json).unwrap();
        fold_response(&[SALES], response).remove(0)
    }

    #[test]
    fn the_query_body_is_exactly_genesys_shape() {
        let body = serde_json::to_value(query_for(&[SALES, OTHER])).unwrap();
        let expected = serde_json::json!({
            "filter": {"type": "or", "predicates": [
                {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": SALES.to_string()},
                {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": OTHER.to_string()},
            ]},
            "metrics": ["oOnQueueUsers","oOffQueueUsers","oUserRoutingStatuses","oWaiting","oInteracting",
                        "oAlerting","oMemberUsers","oActiveUsers","oUserPresences"],
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn folds_queue_wide_and_per_media_rows() {
        let observed = folded(&format!(
            r#"{{"results":[
              {{"group":{{"queueId":"{SALES}"}},"data":[
                {{"metric":"oUserRoutingStatuses","qualifier":"IDLE","stats":{{"count":2}}}},
                {{"metric":"oUserRoutingStatuses","qualifier":"INTERACTING","stats":{{"count":1}}}},
                {{"metric":"oUserRoutingStatuses","qualifier":"NOT_RESPONDING","stats":{{"count":1}}}},
                {{"metric":"oUserRoutingStatuses","qualifier":"OFF_QUEUE","stats":{{"count":3}}}},
                {{"metric":"oOffQueueUsers","stats":{{"count":3}}}},
                {{"metric":"oMemberUsers","stats":{{"count":7}}}},
                {{"metric":"oActiveUsers","stats":{{"count":4}}}},
                {{"metric":"oUserPresences","qualifier":"AVAILABLE","stats":{{"count":4}}}},
                {{"metric":"oWaiting","stats":{{"count":4}}}}]}},
              {{"group":{{"queueId":"{SALES}","mediaType":"voice"}},"data":[
                {{"metric":"oWaiting","stats":{{"count":3}}}},{{"metric":"oInteracting","stats":{{"count":1}}}},
                {{"metric":"oAlerting","stats":{{"count":1}}}}]}},
              {{"group":{{"queueId":"{SALES}","mediaType":"callback"}},"data":[
                {{"metric":"oWaiting","stats":{{"count":1}}}}]}},
              {{"group":{{"queueId":"{OTHER}"}},"data":[{{"metric":"oWaiting","stats":{{"count":99}}}}]}}
            ],"somethingNew":1}}"#
        ));
        assert_eq!(observed.available_agents(), 2);
        assert_eq!(observed.busy_agents(), 2);
        assert_eq!(observed.routing_status(RoutingStatus::OffQueue), 3);
        assert_eq!(
            (
                observed.off_queue_users(),
                observed.member_users(),
                observed.active_users()
            ),
            (3, 7, 4)
        );
        assert_eq!(observed.presence("AVAILABLE"), 4);
        assert_eq!(observed.waiting(None), 4);
        assert_eq!(observed.waiting(Some("voice")), 3);
        assert_eq!(observed.waiting(Some("callback")), 1);
        assert_eq!(observed.waiting(Some("email")), 0);
        assert_eq!(
            (
                observed.interacting(Some("voice")),
                observed.alerting(Some("voice"))
            ),
            (1, 1)
        );
        assert_eq!(
            observed.media_types().collect::<Vec<_>>(),
            ["callback", "voice"]
        );
    }

    #[test]
    fn huge_upstream_counts_saturate_instead_of_overflowing() {
        // 2^64 - 2048: the largest whole f64 below u64::MAX, as Genesys's JSON could carry it.
        let huge = 18_446_744_073_709_549_568_u64;
        let observed = folded(&format!(
            r#"{{"results":[
              {{"group":{{"queueId":"{SALES}","mediaType":"voice"}},"data":[
                {{"metric":"oInteracting","stats":{{"count":{huge}}}}},
                {{"metric":"oWaiting","stats":{{"count":{huge}}}}}]}},
              {{"group":{{"queueId":"{SALES}","mediaType":"chat"}},"data":[
                {{"metric":"oInteracting","stats":{{"count":{huge}}}}}]}},
              {{"group":{{"queueId":"{SALES}"}},"data":[
                {{"metric":"oOnQueueUsers","qualifier":"INTERACTING","stats":{{"count":{huge}}}}},
                {{"metric":"oOnQueueUsers","qualifier":"COMMUNICATING","stats":{{"count":{huge}}}}},
                {{"metric":"oOnQueueUsers","qualifier":"IDLE","stats":{{"count":3}}}}]}}]}}"#
        ));
        assert_eq!(observed.interacting(Some("voice")), huge);
        assert_eq!(observed.interacting(None), u64::MAX, "two media rows");
        assert_eq!(observed.busy_agents(), u64::MAX, "two busy statuses");
        assert_eq!(
            observed.on_queue_users(),
            u64::MAX,
            "qualified counts summed"
        );
        assert_eq!(observed.available_agents(), 3);
        let mut queue = QueueObservations::new(Uuid::nil());
        for media in ["voice", "chat", "email"] {
            queue.apply(count("oWaiting", None, Some(media), u64::MAX));
        }
        assert_eq!(queue.waiting(None), u64::MAX);
    }

    #[test]
    fn queue_wide_falls_back_to_the_sum_of_media_rows() {
        let observed = folded(&format!(
            r#"{{"results":[
              {{"group":{{"queueId":"{SALES}","mediaType":"voice"}},"data":[{{"metric":"oInteracting","stats":{{"count":2}}}}]}},
              {{"group":{{"queueId":"{SALES}","mediaType":"message"}},"data":[{{"metric":"oInteracting","stats":{{"count":5}}}}]}}]}}"#
        ));
        assert_eq!(observed.interacting(None), 7);
    }

    #[test]
    fn on_queue_users_split_by_status_take_precedence() {
        let mut observed = QueueObservations::new(SALES);
        for (metric, qualifier, count) in [
            ("oUserRoutingStatuses", "IDLE", 9.0),
            ("oOnQueueUsers", "IDLE", 1.0),
            ("oOnQueueUsers", "COMMUNICATING", 2.0),
        ] {
            assert!(
                observed
                    .apply(MetricUpdate::from_count(metric, Some(qualifier), None, count).unwrap())
            );
        }
        assert_eq!(observed.available_agents(), 1);
        assert_eq!(observed.busy_agents(), 2);
        assert_eq!(observed.on_queue_users(), 3);
    }

    #[test]
    fn updates_replace_and_bad_counts_or_foreign_metrics_are_dropped() {
        let mut observed = QueueObservations::new(SALES);
        let waiting = |count| MetricUpdate::from_count("oWaiting", None, Some("voice"), count);
        observed.apply(waiting(5.0).unwrap());
        observed.apply(waiting(2.0).unwrap());
        assert_eq!(observed.waiting(Some("voice")), 2);
        assert!(waiting(-1.0).is_none() && waiting(1.5).is_none() && waiting(f64::NAN).is_none());
        assert!(!observed.apply(MetricUpdate::from_count("tAbandon", None, None, 2.0).unwrap()));
    }

    #[test]
    fn rows_without_usable_fields_are_skipped_not_fatal() {
        let observed = folded(&format!(
            r#"{{"results":[{{"group":{{}},"data":[]}},{{"group":{{"queueId":"not-a-uuid"}}}},
              {{"group":{{"queueId":"{SALES}"}},"data":[{{"metric":"oWaiting"}},{{"stats":{{"count":1}}}},
                {{"metric":"oWaiting","stats":{{"count":-3}}}}]}}]}}"#
        ));
        assert_eq!(observed.waiting(None), 0);
        assert!(
            serde_json::from_str::<ObservationResponse>(
                r#"{"results":[{"data":[{"stats":{"count":"3"}}]}]}"#
            )
            .is_err()
        );
    }
}
