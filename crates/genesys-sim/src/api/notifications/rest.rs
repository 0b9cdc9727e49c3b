//! The Notifications REST API: create and list channels, HEAD a channel, and
//! read, add, replace and remove its topic subscriptions.
//!
//! It is not the socket (`socket.rs`) and knows only one topic family, the one public-stats uses:
//! `v2.analytics.queues.{queueId}.observations`. Anything else is refused as an unknown topic.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::messages::{observations_topic, observed_queue};
use super::registry::{ChannelInfo, MAX_TOPICS, TopicsError};
use crate::api::auth::bearer_token;
use crate::api::error::{ApiError, GenesysJson};
use crate::api::iso_millis;
use crate::state::SimState;

/// `Channel` (`connectUri`, `id`, `expires`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelJson {
    connect_uri: String,
    id: String,
    expires: String,
}

#[derive(Serialize)]
pub struct Listing<T> {
    entities: Vec<T>,
}

/// `ChannelTopic` (`id`, `state`, `rejectionReason`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicJson {
    id: String,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejection_reason: Option<String>,
}

#[derive(Deserialize)]
pub struct TopicRequest {
    id: String,
}

#[derive(Deserialize)]
pub struct SubscribeQuery {
    #[serde(rename = "ignoreErrors")]
    ignore_errors: Option<bool>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    includechannels: Option<String>,
}

/// `POST /api/v2/notifications/channels`.
pub async fn create(
    State(state): State<SimState>,
    headers: HeaderMap,
) -> Result<Json<ChannelJson>, ApiError> {
    let token = caller_token(&state, &headers)?;
    let id = new_channel_id();
    let ttl = state.config.channel_ttl;
    let info = state.notifications.create(&state.auth, id, &token, ttl);
    Ok(Json(channel_json(&state, &info)))
}

/// `GET /api/v2/notifications/channels?includechannels=token|oauthclient`.
pub async fn list(
    State(state): State<SimState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Listing<ChannelJson>>, ApiError> {
    let token = caller_token(&state, &headers)?;
    let Query(query) = query.map_err(query_error)?;
    // `token` lists the caller token's channels; `oauthclient` (our default: the simulator has
    // one client) lists every channel of the client.
    let only_token = match query.includechannels.as_deref() {
        None | Some("oauthclient") => None,
        Some("token") => Some(token.as_str()),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid includechannels '{other}': expected token or oauthclient"
            )));
        }
    };
    let entities = state
        .notifications
        .list(&state.auth, only_token)
        .iter()
        .map(|info| channel_json(&state, info))
        .collect();
    Ok(Json(Listing { entities }))
}

/// `HEAD /api/v2/notifications/channels/{channelId}`: 200 or 404, no body.
pub async fn head(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller_token(&state, &headers)?;
    match state.notifications.get(&state.auth, &id) {
        Some(_) => Ok(StatusCode::OK),
        None => Ok(StatusCode::NOT_FOUND),
    }
}

/// `GET …/channels/{channelId}/subscriptions`.
pub async fn subscriptions(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Listing<TopicJson>>, ApiError> {
    caller_token(&state, &headers)?;
    let info = state
        .notifications
        .get(&state.auth, &id)
        .ok_or_else(|| channel_not_found(&id))?;
    Ok(Json(topic_listing(&info, Vec::new())))
}

/// `POST …/subscriptions`: add to the channel's topics.
pub async fn add(
    state: State<SimState>,
    headers: HeaderMap,
    id: Path<String>,
    query: Result<Query<SubscribeQuery>, QueryRejection>,
    body: GenesysJson<Vec<TopicRequest>>,
) -> Result<Json<Listing<TopicJson>>, ApiError> {
    subscribe(state, headers, id, query, body, false)
}

/// `PUT …/subscriptions`: replace the channel's topics.
pub async fn replace(
    state: State<SimState>,
    headers: HeaderMap,
    id: Path<String>,
    query: Result<Query<SubscribeQuery>, QueryRejection>,
    body: GenesysJson<Vec<TopicRequest>>,
) -> Result<Json<Listing<TopicJson>>, ApiError> {
    subscribe(state, headers, id, query, body, true)
}

/// `DELETE …/subscriptions`: remove every topic.
pub async fn remove_all(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller_token(&state, &headers)?;
    state
        .notifications
        .unsubscribe(&state.auth, Some(&id))
        .map_err(|e| topics_error(&id, e))?;
    Ok(StatusCode::NO_CONTENT)
}

fn subscribe(
    State(state): State<SimState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<SubscribeQuery>, QueryRejection>,
    GenesysJson(topics): GenesysJson<Vec<TopicRequest>>,
    replace: bool,
) -> Result<Json<Listing<TopicJson>>, ApiError> {
    caller_token(&state, &headers)?;
    let Query(query) = query.map_err(query_error)?;
    if state.notifications.get(&state.auth, &id).is_none() {
        return Err(channel_not_found(&id));
    }
    let (permitted, rejected) = judge_all(&state, &topics, query.ignore_errors.unwrap_or(false))?;
    let mut refused: Vec<&str> = rejected.iter().map(|t| t.id.as_str()).collect();
    refused.sort_unstable();
    refused.dedup();
    let ttl = state.config.channel_ttl;
    let info = state
        .notifications
        .subscribe(&state.auth, &id, &permitted, refused.len(), replace, ttl)
        .map_err(|e| topics_error(&id, e))?;
    Ok(Json(topic_listing(&info, rejected)))
}

/// Sorts requested topics into permitted (canonical ids) and rejected entries; an unknown topic
/// is a 400 unless `ignore_errors`.
fn judge_all(
    state: &SimState,
    topics: &[TopicRequest],
    ignore_errors: bool,
) -> Result<(Vec<String>, Vec<TopicJson>), ApiError> {
    let queues = state.model().queue_ids();
    let mut permitted = Vec::new();
    let mut rejected = Vec::new();
    for topic in topics {
        match judge(&topic.id, &queues) {
            Verdict::Permitted(canonical) => permitted.push(canonical),
            Verdict::Rejected(reason) => rejected.push(rejected_topic(&topic.id, reason)),
            Verdict::Unknown(reason) if ignore_errors => {
                rejected.push(rejected_topic(&topic.id, reason));
            }
            Verdict::Unknown(reason) => return Err(ApiError::bad_request(reason)),
        }
    }
    Ok((permitted, rejected))
}

enum Verdict {
    Permitted(String),
    Rejected(String),
    Unknown(String),
}

fn judge(topic: &str, queues: &[Uuid]) -> Verdict {
    match observed_queue(topic) {
        None => Verdict::Unknown(format!("Invalid topic: {topic}")),
        Some(queue) if queues.contains(&queue) => Verdict::Permitted(observations_topic(queue)),
        // A well-formed topic for a queue the org does not have: reported per topic as
        // Rejected, the way Genesys reports a topic the caller may not see, rather than failing
        // the whole request (the documented `ignoreErrors` covers permission failures; we read
        // the default as not throwing for them either, so one stale queue id does not block the
        // others).
        Some(queue) => Verdict::Rejected(format!("Queue {queue} not found or not permitted")),
    }
}

fn rejected_topic(id: &str, reason: String) -> TopicJson {
    TopicJson {
        id: id.to_owned(),
        state: "Rejected",
        rejection_reason: Some(reason),
    }
}

fn topic_listing(info: &ChannelInfo, rejected: Vec<TopicJson>) -> Listing<TopicJson> {
    let permitted = info.topics.iter().map(|id| TopicJson {
        id: id.clone(),
        state: "Permitted",
        rejection_reason: None,
    });
    Listing {
        entities: permitted.chain(rejected).collect(),
    }
}

fn channel_json(state: &SimState, info: &ChannelInfo) -> ChannelJson {
    ChannelJson {
        connect_uri: format!(
            "{}://{}/channels/{}",
            state.ws_scheme(),
            state.addr,
            info.id
        ),
        id: info.id.clone(),
        expires: iso_millis(info.expires),
    }
}

/// `streaming-0-` and 26 random lowercase letters and digits, like Genesys's ids.
fn new_channel_id() -> String {
    let suffix: String = rand::rng()
        .sample_iter(Alphanumeric)
        .map(|b| char::from(b).to_ascii_lowercase())
        .take(26)
        .collect();
    format!("streaming-0-{suffix}")
}

/// The caller's bearer token, checked as the auth middleware checks it: the channel belongs to it.
fn caller_token(state: &SimState, headers: &HeaderMap) -> Result<String, ApiError> {
    bearer_token(state, headers).map(str::to_owned)
}

pub(super) fn channel_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Channel {id} not found"))
}

fn topics_error(id: &str, error: TopicsError) -> ApiError {
    match error {
        TopicsError::NotFound => channel_not_found(id),
        TopicsError::TooMany(n) => ApiError::bad_request(format!(
            "Subscriptions would number {n}; a channel is limited to {MAX_TOPICS} topics"
        )),
    }
}

fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(format!("Invalid query: {}", rejection.body_text()))
}
