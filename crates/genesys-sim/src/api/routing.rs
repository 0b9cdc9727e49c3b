//! Routing API: the queue listing (`GET /api/v2/routing/queues`, model `QueueEntityListing`) and
//! the estimated wait time of a queue, overall or per media type.
//!
//! It is not queue administration: queues are fixed by the org in `config.rs`; only the fields a
//! client plausibly reads are served (no media settings, routing rules, flows…).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::error::{ApiError, parse_uuid};
use crate::model::MediaType;
use crate::state::SimState;

/// Queues are created when the simulated org was, a fixed moment, as Genesys's dates are fixed.
const DATE_CREATED: &str = "2024-01-15T09:00:00.000Z";
/// The org's only division, as in a small real org.
const HOME_DIVISION: &str = "9f0c7e21-5d4b-4a3c-8b2a-1e0d9c8b7a60";

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/api/v2/routing/queues", get(list_queues))
        .route(
            "/api/v2/routing/queues/{queueId}/estimatedwaittime",
            get(queue_ewt),
        )
        .route(
            "/api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime",
            get(media_ewt),
        )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueEntityListing {
    entities: Vec<Value>,
    page_size: usize,
    page_number: usize,
    total: usize,
    page_count: usize,
    first_uri: String,
    self_uri: String,
    last_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_uri: Option<String>,
}

struct Paging {
    size: usize,
    number: usize,
}

/// `pageSize` (default 25) and `pageNumber` (default 1) must be positive integers. Genesys caps
/// `pageSize` per endpoint; with three queues no cap matters, so none is enforced.
fn paging(query: &HashMap<String, String>) -> Result<Paging, ApiError> {
    let positive = |name: &str, default: usize| -> Result<usize, ApiError> {
        match query.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{name} must be a positive integer, got {raw:?}"))
                }),
        }
    };
    Ok(Paging {
        size: positive("pageSize", 25)?,
        number: positive("pageNumber", 1)?,
    })
}

/// Genesys's `name` filter: case-insensitive, with a leading and/or trailing `*` as wildcard.
fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let name = name.to_lowercase();
    let (prefix_any, rest) = pattern
        .strip_prefix('*')
        .map_or((false, pattern.as_str()), |r| (true, r));
    let (suffix_any, core) = rest.strip_suffix('*').map_or((false, rest), |r| (true, r));
    match (prefix_any, suffix_any) {
        (true, true) => name.contains(core),
        (true, false) => name.ends_with(core),
        (false, true) => name.starts_with(core),
        (false, false) => name == core,
    }
}

async fn list_queues(
    State(state): State<SimState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<QueueEntityListing>, ApiError> {
    let paging = paging(&query)?;
    let mut queues = queue_entities(&state, query.get("name").map(String::as_str));
    // Genesys's default order: sortBy=name, sortOrder=asc.
    queues.sort_by_key(|(name, _)| name.to_lowercase());
    let total = queues.len();
    let entities = queues
        .into_iter()
        .skip((paging.number - 1).saturating_mul(paging.size))
        .take(paging.size)
        .map(|(_, entity)| entity)
        .collect();
    Ok(Json(listing(entities, &paging, total, query.get("name"))))
}

/// (name, `Queue` JSON) of every queue whose name matches `filter`.
fn queue_entities(state: &SimState, filter: Option<&str>) -> Vec<(String, Value)> {
    let model = state.model();
    model
        .queue_ids()
        .into_iter()
        .filter_map(|id| {
            let snapshot = model.queue_snapshot(id)?;
            filter
                .is_none_or(|f| name_matches(f, &snapshot.name))
                .then(|| {
                    (
                        snapshot.name.clone(),
                        queue_json(id, &snapshot.name, snapshot.member_users),
                    )
                })
        })
        .collect()
}

/// The fields of Genesys's `Queue` model (as in a `QueueEntityListing`) that a client reads.
fn queue_json(id: Uuid, name: &str, members: u32) -> Value {
    json!({
        "id": id,
        "name": name,
        "division": {"id": HOME_DIVISION, "name": "Home", "selfUri": format!("/api/v2/authorization/divisions/{HOME_DIVISION}")},
        "description": "",
        "dateCreated": DATE_CREATED,
        "dateModified": DATE_CREATED,
        "memberCount": members,
        "userMemberCount": members,
        "joinedMemberCount": members,
        "selfUri": format!("/api/v2/routing/queues/{id}"),
    })
}

fn listing(
    entities: Vec<Value>,
    paging: &Paging,
    total: usize,
    name: Option<&String>,
) -> QueueEntityListing {
    let page_count = total.div_ceil(paging.size);
    let uri = |number: usize| {
        let mut uri = format!(
            "/api/v2/routing/queues?pageSize={}&pageNumber={number}",
            paging.size
        );
        if let Some(name) = name {
            uri.push_str(&format!("&name={}", encode_query_value(name)));
        }
        uri
    };
    QueueEntityListing {
        entities,
        page_size: paging.size,
        page_number: paging.number,
        total,
        page_count,
        first_uri: uri(1),
        self_uri: uri(paging.number),
        last_uri: uri(page_count.max(1)),
        next_uri: (paging.number < page_count).then(|| uri(paging.number + 1)),
        previous_uri: (paging.number > 1).then(|| uri(paging.number - 1)),
    }
}

/// Percent-encodes everything but unreserved characters (enough for a query value).
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `EstimatedWaitTimePredictions`.
#[derive(Serialize)]
struct Predictions {
    results: Vec<Prediction>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Prediction {
    intent: &'static str,
    formula: &'static str,
    estimated_wait_time_seconds: u64,
}

async fn queue_ewt(
    State(state): State<SimState>,
    Path(queue): Path<String>,
) -> Result<Json<Predictions>, ApiError> {
    let queue = parse_uuid("queueId", &queue)?;
    ewt(&state, queue, None)
}

async fn media_ewt(
    State(state): State<SimState>,
    Path((queue, media)): Path<(String, String)>,
) -> Result<Json<Predictions>, ApiError> {
    let queue = parse_uuid("queueId", &queue)?;
    let media = parse_ewt_media(&media)?;
    ewt(&state, queue, media)
}

/// `all` → None (queue-wide); `call, chat, callback, email, videoComm, message` (any case) → that
/// media; anything else → 400, as Genesys validates the enum.
fn parse_ewt_media(raw: &str) -> Result<Option<MediaType>, ApiError> {
    if raw.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    MediaType::from_ewt_name(raw).map(Some).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid mediaType '{raw}'. Valid values: all, call, chat, callback, email, videoComm, message"
        ))
    })
}

/// When no estimate is possible (nobody on queue and nothing waiting) Genesys's behaviour is not
/// documented; this answers 200 with empty `results`, which a client has to read as "unknown"
/// anyway (Genesys may return no prediction) and an SDK parses without error.
fn ewt(
    state: &SimState,
    queue: Uuid,
    media: Option<MediaType>,
) -> Result<Json<Predictions>, ApiError> {
    let model = state.model();
    if model.queue_name(queue).is_none() {
        return Err(ApiError::not_found(format!("Queue {queue} not found")));
    }
    let intent = media.and_then(MediaType::ewt_intent).unwrap_or("ALL");
    let results = model
        .estimated_wait_seconds(queue, media)
        .map(|seconds| Prediction {
            intent,
            formula: "BEST",
            estimated_wait_time_seconds: seconds,
        })
        .into_iter()
        .collect();
    Ok(Json(Predictions { results }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filter_supports_leading_and_trailing_wildcards() {
        assert!(name_matches("sales", "Sales"));
        assert!(name_matches("Sa*", "Sales"));
        assert!(name_matches("*les", "Sales"));
        assert!(name_matches("*al*", "Sales"));
        assert!(!name_matches("Sal", "Sales"));
        assert!(!name_matches("*x*", "Sales"));
    }

    #[test]
    fn ewt_media_names_are_the_routing_enum() {
        assert_eq!(parse_ewt_media("all").ok(), Some(None));
        assert_eq!(
            parse_ewt_media("videoComm").ok(),
            Some(Some(MediaType::Video))
        );
        assert_eq!(parse_ewt_media("call").ok(), Some(Some(MediaType::Voice)));
        assert!(parse_ewt_media("voice").is_err());
    }
}
