//! Routing API: the queue listing (`GET /api/v2/routing/queues`, model `QueueEntityListing`), one
//! queue (`GET …/queues/{queueId}`, `Queue`), its members (`members.rs`) and the estimated wait
//! time of a queue, overall or per media type.
//!
//! It is not queue administration: queues are fixed by the org in `config.rs`; only the fields a
//! client plausibly reads are served (no media settings, routing rules, flows…).

mod members;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::error::{ApiError, parse_uuid};
use crate::api::listing::{Links, ListQuery, Paging, SortOrder};
use crate::model::MediaType;
use crate::state::SimState;

/// Queues are created when the simulated org was, a fixed moment, as Genesys's dates are fixed.
const DATE_CREATED: &str = "2024-01-15T09:00:00.000Z";
/// The org's only division, as in a small real org.
pub(crate) const HOME_DIVISION: &str = "9f0c7e21-5d4b-4a3c-8b2a-1e0d9c8b7a60";
/// The most queues one page holds. The API definition names no maximum for this listing; Genesys
/// serves at most 500 entities a page on its listings (more is capped, not refused), and 500 is
/// the documented maximum of the same queues' division views.
const QUEUES_PAGE_CAP: usize = 500;

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/api/v2/routing/queues", get(list_queues))
        .route("/api/v2/routing/queues/{queueId}", get(get_queue))
        .route(
            "/api/v2/routing/queues/{queueId}/members",
            get(members::list_members),
        )
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

/// Genesys's `name` filter: case-insensitive, with a leading and/or trailing `*` as wildcard.
pub(crate) fn name_matches(pattern: &str, name: &str) -> bool {
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

/// `GET /api/v2/routing/queues`: `pageSize`, `pageNumber`, `sortOrder` (by name), `name` and
/// `id` (several, comma-joined or repeated; every one must be a UUID).
async fn list_queues(
    State(state): State<SimState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<QueueEntityListing>, ApiError> {
    let query = ListQuery::new(pairs);
    let paging = Paging::read(&query, QUEUES_PAGE_CAP)?;
    let order = SortOrder::read(&query)?;
    let ids = query
        .list("id")
        .into_iter()
        .map(|id| parse_uuid("id", id))
        .collect::<Result<Vec<Uuid>, ApiError>>()?;
    let name = query.single("name");
    let mut queues = queue_entities(&state, |id, queue_name| {
        (ids.is_empty() || ids.contains(&id)) && name.is_none_or(|f| name_matches(f, queue_name))
    });
    order.sort(&mut queues, |(name, _)| name.clone());
    let total = queues.len();
    let entities = paging
        .page(queues)
        .into_iter()
        .map(|(_, entity)| entity)
        .collect();
    let mut extra = Vec::new();
    if query.single("sortOrder").is_some() {
        extra.push(("sortOrder", order.as_str().to_owned()));
    }
    if let Some(name) = name {
        extra.push(("name", name.to_owned()));
    }
    if !ids.is_empty() {
        let joined: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        extra.push(("id", joined.join(",")));
    }
    let links = Links {
        path: "/api/v2/routing/queues",
        size: paging.size,
        extra,
    };
    let page_count = paging.page_count(total);
    Ok(Json(QueueEntityListing {
        entities,
        page_size: paging.size,
        page_number: paging.number,
        total,
        page_count,
        first_uri: links.page(1),
        self_uri: links.page(paging.number),
        last_uri: links.page(page_count.max(1)),
        next_uri: (paging.number < page_count).then(|| links.page(paging.number + 1)),
        previous_uri: (paging.number > 1).then(|| links.page(paging.number - 1)),
    }))
}

/// `GET /api/v2/routing/queues/{queueId}`: the same `Queue` as in the listing.
async fn get_queue(
    State(state): State<SimState>,
    Path(queue): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let queue = parse_uuid("queueId", &queue)?;
    queue_entities(&state, |id, _| id == queue)
        .pop()
        .map(|(_, entity)| Json(entity))
        .ok_or_else(|| ApiError::not_found(format!("Queue {queue} not found")))
}

/// (name, `Queue` JSON) of every queue `wanted` (by id and name) keeps.
fn queue_entities(state: &SimState, wanted: impl Fn(Uuid, &str) -> bool) -> Vec<(String, Value)> {
    let model = state.model();
    model
        .queue_ids()
        .into_iter()
        .filter_map(|id| {
            let snapshot = model.queue_snapshot(id)?;
            wanted(id, &snapshot.name).then(|| {
                (
                    snapshot.name.clone(),
                    queue_json(id, &snapshot.name, snapshot.member_users),
                )
            })
        })
        .collect()
}

/// The fields of Genesys's `Queue` model that a client reads, and the routing settings of a
/// plain queue (enums as the SDK's `Queue` model lists them).
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
        "scoringMethod": "TimestampAndPriority",
        "lastAgentRoutingMode": "Disabled",
        "skillEvaluationMethod": "ALL",
        "autoAnswerOnly": false,
        "enableTranscription": false,
        "enableAudioMonitoring": false,
        "enableManualAssignment": false,
        "suppressInQueueCallRecording": true,
        "selfUri": format!("/api/v2/routing/queues/{id}"),
    })
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
///
/// The queue-wide answer (`media` = `None`) holds the `ALL` estimate first, then one result per
/// media type the queue serves that has an estimate: the SDKs' `PredictionResults.intent` is "the
/// media type scope of this estimated wait time", and `results` a list of them (`PUT /__sim/ewt`
/// turns this off, for a client to be tested against either form). The per-media answer holds
/// that media type's estimate only.
fn ewt(
    state: &SimState,
    queue: Uuid,
    media: Option<MediaType>,
) -> Result<Json<Predictions>, ApiError> {
    let model = state.model();
    if model.queue_name(queue).is_none() {
        return Err(ApiError::not_found(format!("Queue {queue} not found")));
    }
    let prediction = |media: Option<MediaType>| {
        let intent = media.and_then(MediaType::ewt_intent).unwrap_or("ALL");
        model
            .estimated_wait_seconds(queue, media)
            .map(|seconds| Prediction {
                intent,
                formula: "BEST",
                estimated_wait_time_seconds: seconds,
            })
    };
    let mut results: Vec<Prediction> = prediction(media).into_iter().collect();
    if media.is_none() && !state.control.ewt_whole_queue_only() {
        results.extend(
            model
                .media_served(queue)
                .into_iter()
                .filter(|served| served.ewt_intent().is_some())
                .filter_map(|served| prediction(Some(served))),
        );
    }
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
