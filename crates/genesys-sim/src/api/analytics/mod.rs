//! Analytics: `POST /api/v2/analytics/queues/observations/query`, the
//! real-time numbers of queues — agents by routing status and presence (queue-wide rows) and
//! waiting/interacting/alerting interactions (one row per media type).
//!
//! It validates the body the way Genesys does (400 `bad.request` naming the problem). For
//! `oWaiting`/`oInteracting` named in `detailMetrics` each media row also lists its conversations
//! (`details.rs`). It is not the aggregate/details/activity query family.

mod details;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::error::{ApiError, GenesysJson};
use crate::model::{MediaCounts, MediaType, Model, QueueSnapshot, RoutingStatus};
use crate::state::SimState;

/// The metrics a queue observation query accepts (`QueueObservationQuery.MetricsEnum`).
const METRICS: [&str; 9] = [
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
/// Metrics about interactions, reported per media type; the rest are about users, queue-wide.
const MEDIA_METRICS: [&str; 3] = ["oWaiting", "oInteracting", "oAlerting"];
/// The metrics whose `detailMetrics` observations list conversations. Nothing is ever alerting
/// in the simulator, and user metrics have no per-conversation detail.
const DETAILED_METRICS: [&str; 2] = ["oWaiting", "oInteracting"];

pub fn router() -> Router<SimState> {
    Router::new().route("/api/v2/analytics/queues/observations/query", post(query))
}

/// `QueueObservationQuery`; every field optional here so that a missing one gets a 400 naming it
/// instead of a generic deserialization error.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObservationQuery {
    filter: Option<Filter>,
    metrics: Option<Vec<String>>,
    detail_metrics: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Filter {
    r#type: Option<String>,
    clauses: Option<Vec<Clause>>,
    predicates: Option<Vec<Predicate>>,
}

#[derive(Debug, Deserialize)]
struct Clause {
    r#type: Option<String>,
    predicates: Option<Vec<Predicate>>,
}

#[derive(Debug, Deserialize)]
struct Predicate {
    r#type: Option<String>,
    dimension: Option<String>,
    operator: Option<String>,
    value: Option<String>,
    range: Option<Value>,
}

/// What a valid query asks for.
#[derive(Debug, PartialEq)]
struct Selection {
    /// In the order first named, without repeats.
    queues: Vec<Uuid>,
    /// None = every media type.
    media: Option<Vec<MediaType>>,
    metrics: Vec<String>,
    /// Metrics (also in `metrics`) whose rows list their observations.
    detailed: Vec<String>,
}

async fn query(
    State(state): State<SimState>,
    GenesysJson(body): GenesysJson<ObservationQuery>,
) -> Result<Json<Value>, ApiError> {
    let selection = validate(body)?;
    let results: Vec<Value> = {
        let model = state.model();
        // A queue id that is well-formed but unknown yields no rows, as a filter matching nothing
        // would; Genesys's answer for it is not documented.
        selection
            .queues
            .iter()
            .filter_map(|id| model.queue_snapshot(*id))
            .flat_map(|snapshot| rows(&model, &snapshot, &selection))
            .collect()
    };
    Ok(Json(json!({ "results": results })))
}

fn validate(body: ObservationQuery) -> Result<Selection, ApiError> {
    let metrics = validate_metrics("metrics", body.metrics, true)?;
    // A detail metric that is not also selected has no row to add its observations to.
    let detailed = validate_metrics("detailMetrics", body.detail_metrics, false)?
        .into_iter()
        .filter(|m| metrics.contains(m) && DETAILED_METRICS.contains(&m.as_str()))
        .collect();
    let filter = body
        .filter
        .ok_or_else(|| ApiError::bad_request("filter is required"))?;
    let predicates = filter_predicates(filter)?;
    let mut selection = Selection {
        queues: Vec::new(),
        media: None,
        metrics,
        detailed,
    };
    for predicate in predicates {
        select(&mut selection, predicate)?;
    }
    if selection.queues.is_empty() {
        return Err(ApiError::bad_request(
            "filter must contain at least one queueId predicate with a value",
        ));
    }
    Ok(selection)
}

fn validate_metrics(
    field: &str,
    metrics: Option<Vec<String>>,
    required: bool,
) -> Result<Vec<String>, ApiError> {
    let metrics = match metrics {
        Some(m) if !m.is_empty() => m,
        _ if required => {
            return Err(ApiError::bad_request(format!(
                "{field} is required and must not be empty"
            )));
        }
        _ => return Ok(Vec::new()),
    };
    if let Some(bad) = metrics.iter().find(|m| !METRICS.contains(&m.as_str())) {
        return Err(ApiError::bad_request(format!(
            "{field} contains an invalid metric '{bad}'. Valid values: {}",
            METRICS.join(", ")
        )));
    }
    let mut unique: Vec<String> = Vec::new();
    for metric in metrics {
        if !unique.contains(&metric) {
            unique.push(metric);
        }
    }
    Ok(unique)
}

/// Checks the filter's and clauses' `type` and gathers every predicate.
fn filter_predicates(filter: Filter) -> Result<Vec<Predicate>, ApiError> {
    check_logical_type("filter.type", filter.r#type.as_deref())?;
    let mut predicates = filter.predicates.unwrap_or_default();
    for clause in filter.clauses.unwrap_or_default() {
        check_logical_type("clauses[].type", clause.r#type.as_deref())?;
        match clause.predicates {
            Some(p) if !p.is_empty() => predicates.extend(p),
            _ => {
                return Err(ApiError::bad_request(
                    "clauses[].predicates is required and must not be empty",
                ));
            }
        }
    }
    if predicates.is_empty() {
        return Err(ApiError::bad_request(
            "filter must contain predicates or clauses",
        ));
    }
    Ok(predicates)
}

fn check_logical_type(field: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some("and" | "or") => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "{field} '{other}' is invalid. Valid values: and, or"
        ))),
        None => Err(ApiError::bad_request(format!("{field} is required"))),
    }
}

/// Validates one predicate and adds what it names to the selection.
///
/// Simplification: `and`/`or` are not evaluated as boolean logic. Every `queueId` predicate adds a
/// queue and every `mediaType` predicate narrows the per-media rows, which is what the filters
/// clients send (an `or` of queues, optionally `and` a media type) mean. `exists`/`notExists`
/// predicates are accepted and select nothing.
fn select(selection: &mut Selection, predicate: Predicate) -> Result<(), ApiError> {
    if let Some(kind) = predicate.r#type.as_deref().filter(|t| *t != "dimension") {
        return Err(ApiError::bad_request(format!(
            "predicate type '{kind}' is not supported by queue observations; use 'dimension' or omit it"
        )));
    }
    if predicate.range.is_some() {
        return Err(ApiError::bad_request(
            "predicate range is not supported for dimension predicates",
        ));
    }
    let operator = predicate.operator.as_deref().unwrap_or("matches");
    if !matches!(operator, "matches" | "exists" | "notExists") {
        return Err(ApiError::bad_request(format!(
            "predicate operator '{operator}' is invalid. Valid values: matches, exists, notExists"
        )));
    }
    let dimension = predicate
        .dimension
        .ok_or_else(|| ApiError::bad_request("predicate dimension is required"))?;
    if operator != "matches" {
        return check_dimension(&dimension);
    }
    let value = predicate.value.ok_or_else(|| {
        ApiError::bad_request(format!(
            "predicate on {dimension} with operator matches requires a value"
        ))
    })?;
    match dimension.as_str() {
        "queueId" => add_queue(selection, &value),
        "mediaType" => add_media(selection, &value),
        _ => check_dimension(&dimension),
    }
}

fn check_dimension(dimension: &str) -> Result<(), ApiError> {
    match dimension {
        "queueId" | "mediaType" => Ok(()),
        other => Err(ApiError::bad_request(format!(
            "predicate dimension '{other}' is invalid. Valid values: mediaType, queueId"
        ))),
    }
}

fn add_queue(selection: &mut Selection, value: &str) -> Result<(), ApiError> {
    let id = Uuid::parse_str(value).map_err(|_| {
        ApiError::bad_request(format!(
            "queueId predicate value '{value}' is not a valid UUID"
        ))
    })?;
    if !selection.queues.contains(&id) {
        selection.queues.push(id);
    }
    Ok(())
}

fn add_media(selection: &mut Selection, value: &str) -> Result<(), ApiError> {
    let media = MediaType::from_analytics_name(value).ok_or_else(|| {
        ApiError::bad_request(format!(
            "mediaType predicate value '{value}' is not a media type"
        ))
    })?;
    let list = selection.media.get_or_insert_with(Vec::new);
    if !list.contains(&media) {
        list.push(media);
    }
    Ok(())
}

/// `ObservationMetricData`; the notification events (`notifications/messages.rs`) carry the same.
#[derive(Serialize)]
pub(crate) struct Datum {
    metric: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    qualifier: Option<&'static str>,
    stats: Stats,
    /// `ObservationValue`s, only for a metric named in `detailMetrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    observations: Option<Vec<Value>>,
}

#[derive(Serialize)]
struct Stats {
    count: u32,
}

fn datum(metric: &'static str, qualifier: Option<&'static str>, count: u32) -> Datum {
    Datum {
        metric,
        qualifier,
        stats: Stats { count },
        observations: None,
    }
}

/// The queue-wide row (user metrics) and one row per media type (interaction metrics), each only
/// if some of its metrics were asked for.
fn rows(model: &Model, snapshot: &QueueSnapshot, selection: &Selection) -> Vec<Value> {
    let mut rows = Vec::new();
    let user_data: Vec<Datum> = selection
        .metrics
        .iter()
        .flat_map(|m| user_metric(snapshot, m))
        .collect();
    if selection
        .metrics
        .iter()
        .any(|m| !MEDIA_METRICS.contains(&m.as_str()))
    {
        rows.push(row(snapshot.queue_id, None, user_data));
    }
    if selection
        .metrics
        .iter()
        .any(|m| MEDIA_METRICS.contains(&m.as_str()))
    {
        for (media, counts) in &snapshot.media {
            if selection
                .media
                .as_ref()
                .is_some_and(|wanted| !wanted.contains(media))
            {
                continue;
            }
            let data = selection
                .metrics
                .iter()
                .filter_map(|m| {
                    let mut datum = media_metric(counts, m)?;
                    if selection.detailed.contains(m) {
                        datum.observations =
                            Some(details::observations(model, snapshot.queue_id, *media, m));
                    }
                    Some(datum)
                })
                .collect();
            rows.push(row(snapshot.queue_id, Some(*media), data));
        }
    }
    rows
}

fn row(queue: Uuid, media: Option<MediaType>, data: Vec<Datum>) -> Value {
    let mut group = Map::new();
    group.insert("queueId".into(), json!(queue));
    if let Some(media) = media {
        group.insert("mediaType".into(), json!(media.analytics_name()));
    }
    json!({ "group": group, "data": data })
}

/// An interaction metric's datum for one media row; `None` for a user metric.
pub(crate) fn media_metric(counts: &MediaCounts, metric: &str) -> Option<Datum> {
    match metric {
        "oWaiting" => Some(datum("oWaiting", None, counts.waiting)),
        "oInteracting" => Some(datum("oInteracting", None, counts.interacting)),
        "oAlerting" => Some(datum("oAlerting", None, counts.alerting)),
        _ => None,
    }
}

/// A user metric's data for the queue-wide row; empty for an interaction metric. Unqualified
/// metrics are always present (0 included); qualified ones (by routing status or presence) list
/// only the qualifiers that have members, which is how the observation samples look and lets a
/// client treat a missing qualifier as 0 — and when no qualifier has members, one unqualified 0,
/// so the metric is never silently absent (a notification client would keep its last value).
pub(crate) fn user_metric(snapshot: &QueueSnapshot, metric: &str) -> Vec<Datum> {
    let by_status = |filter: fn(RoutingStatus) -> bool, name: &'static str| {
        let statuses = snapshot.routing_statuses.iter();
        qualified(
            name,
            statuses
                .filter(|(status, _)| filter(**status))
                .map(|(status, n)| (status.qualifier(), *n)),
        )
    };
    match metric {
        // Split by routing status like oUserRoutingStatuses: Genesys does not document this
        // metric's qualifiers, and this is the likely split.
        "oOnQueueUsers" => by_status(RoutingStatus::is_on_queue, "oOnQueueUsers"),
        "oUserRoutingStatuses" => by_status(|_| true, "oUserRoutingStatuses"),
        "oUserPresences" => qualified(
            "oUserPresences",
            snapshot
                .presences
                .iter()
                .map(|(presence, n)| (*presence, *n)),
        ),
        "oOffQueueUsers" => vec![datum("oOffQueueUsers", None, snapshot.off_queue_users())],
        "oMemberUsers" => vec![datum("oMemberUsers", None, snapshot.member_users)],
        // Every simulated member is logged in (none OFFLINE), so all members are active.
        "oActiveUsers" => vec![datum("oActiveUsers", None, active_users(snapshot))],
        _ => Vec::new(),
    }
}

/// One datum per qualifier with members, or one unqualified 0 when none has any.
fn qualified(
    metric: &'static str,
    counts: impl Iterator<Item = (&'static str, u32)>,
) -> Vec<Datum> {
    let data: Vec<Datum> = counts
        .filter(|(_, n)| *n > 0)
        .map(|(qualifier, n)| datum(metric, Some(qualifier), n))
        .collect();
    if data.is_empty() {
        vec![datum(metric, None, 0)]
    } else {
        data
    }
}

fn active_users(snapshot: &QueueSnapshot) -> u32 {
    snapshot
        .presences
        .iter()
        .filter(|(presence, _)| **presence != "OFFLINE")
        .map(|(_, n)| n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<Selection, ApiError> {
        validate(serde_json::from_value(body).expect("shape"))
    }

    #[test]
    fn the_genesys_sample_query_is_valid() {
        let q = "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01";
        let selection = parse(json!({
            "filter": {"type": "or", "predicates": [
                {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": q},
                {"dimension": "queueId", "value": q}
            ]},
            "metrics": ["oWaiting", "oOnQueueUsers", "oWaiting"]
        }))
        .expect("valid");
        assert_eq!(selection.queues.len(), 1);
        assert_eq!(selection.metrics, vec!["oWaiting", "oOnQueueUsers"]);
    }

    #[test]
    fn media_predicates_in_clauses_narrow_media() {
        let selection = parse(json!({
            "filter": {"type": "and", "clauses": [
                {"type": "or", "predicates": [{"dimension": "queueId", "value": "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01"}]},
                {"type": "or", "predicates": [{"dimension": "mediaType", "value": "voice"}]}
            ]},
            "metrics": ["oWaiting"]
        }))
        .expect("valid");
        assert_eq!(selection.media, Some(vec![MediaType::Voice]));
    }
}
