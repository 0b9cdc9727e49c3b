//! The `/__sim/` handlers: the org, queue state (and business hours, in `hours.rs`), faults, the request log, token expiry, the
//! request limit and the shape of the queue-wide EWT.
//!
//! Errors use Genesys's `ErrorBody` for familiarity, but nothing here is Genesys's API.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::error::{ApiError, GenesysJson, parse_uuid};
use crate::model::{MediaType, QueueStateSpec};
use crate::state::SimState;

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/__sim/org", get(org))
        .route("/__sim/queues/{queueId}/state", put(set_queue_state))
        .route("/__sim/queues/{queueId}/resume", post(resume_queue))
        .route(
            "/__sim/queues/{queueId}/follow-hours",
            put(super::hours::follow).delete(super::hours::unfollow),
        )
        .route("/__sim/faults", post(add_fault).delete(clear_faults))
        .route("/__sim/requests", get(requests).delete(reset_requests))
        .route("/__sim/tokens/expire", post(expire_tokens))
        .route("/__sim/rate-limit", get(rate_limit).put(set_rate_limit))
        .route("/__sim/ewt", put(set_ewt))
}

/// `{"byMedia": false}`: the queue-wide EWT answers like a Genesys that gives the whole queue's
/// estimate only; `true` (the default) adds one result per media type.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EwtSpec {
    by_media: bool,
}

async fn set_ewt(
    State(state): State<SimState>,
    GenesysJson(spec): GenesysJson<EwtSpec>,
) -> StatusCode {
    state.control.set_ewt_whole_queue_only(!spec.by_media);
    StatusCode::NO_CONTENT
}

/// `{"perMinute": N}`, or `null` when lifted; `"perClient": true` counts every token together.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RateLimitSpec {
    per_minute: Option<u32>,
    #[serde(default)]
    per_client: bool,
}

async fn rate_limit(State(state): State<SimState>) -> Json<Value> {
    Json(json!({
        "perMinute": state.rate_limit.per_minute(),
        "perClient": state.rate_limit.per_client(),
    }))
}

/// Changes (`{"perMinute": N}`, N ≥ 1) or lifts (`{"perMinute": null}`) the limit, per token or
/// (`"perClient": true`) for all the client's tokens together.
async fn set_rate_limit(
    State(state): State<SimState>,
    GenesysJson(spec): GenesysJson<RateLimitSpec>,
) -> Result<StatusCode, ApiError> {
    if spec.per_minute == Some(0) {
        return Err(ApiError::bad_request(
            "perMinute must be at least 1; null lifts the limit",
        ));
    }
    state.rate_limit.set(spec.per_minute, spec.per_client);
    Ok(StatusCode::NO_CONTENT)
}

async fn org(State(state): State<SimState>) -> Json<Value> {
    let org = &state.config.org;
    let queues: Vec<Value> = {
        let model = state.model();
        model
            .queue_ids()
            .into_iter()
            .map(|id| {
                let agents: Vec<Value> = model
                    .queue_agents(id)
                    .iter()
                    .map(|a| json!({"id": a.id, "name": a.name}))
                    .collect();
                json!({"id": id, "name": model.queue_name(id), "agents": agents})
            })
            .collect()
    };
    let mut answer = json!({
        "clientId": org.client_id,
        "clientSecret": org.client_secret,
        "deploymentId": org.deployment_id,
        "messagingQueueId": org.messaging_queue,
        "queues": queues,
    });
    if org.business_hours {
        answer["scheduleGroupId"] = json!(crate::config::DEMO_SCHEDULE_GROUP);
        answer["emergencyGroupId"] = json!(crate::config::DEMO_EMERGENCY_GROUP);
    }
    Json(answer)
}

/// `PUT /__sim/queues/{queueId}/state` body; every part optional, missing counts are 0.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct QueueStateBody {
    agents: AgentCounts,
    /// Keyed by analytics media name (`voice`, `callback`, `message`, …).
    waiting: BTreeMap<String, u32>,
    interacting: BTreeMap<String, u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct AgentCounts {
    idle: u32,
    busy: u32,
    off_queue: u32,
}

impl QueueStateBody {
    fn into_spec(self) -> Result<QueueStateSpec, ApiError> {
        Ok(QueueStateSpec {
            idle: self.agents.idle,
            busy: self.agents.busy,
            off_queue: self.agents.off_queue,
            waiting: media_counts(self.waiting)?,
            interacting: media_counts(self.interacting)?,
        })
    }
}

fn media_counts(counts: BTreeMap<String, u32>) -> Result<BTreeMap<MediaType, u32>, ApiError> {
    counts
        .into_iter()
        .map(|(name, n)| {
            MediaType::from_analytics_name(&name)
                .map(|m| (m, n))
                .ok_or_else(|| ApiError::bad_request(format!("unknown media type {name:?}")))
        })
        .collect()
}

async fn set_queue_state(
    State(state): State<SimState>,
    Path(queue): Path<String>,
    GenesysJson(body): GenesysJson<QueueStateBody>,
) -> Result<StatusCode, ApiError> {
    let queue = parse_uuid("queueId", &queue)?;
    let spec = body.into_spec()?;
    if state.update_model(|m| m.set_queue_state(queue, spec)) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown_queue(queue))
    }
}

async fn resume_queue(
    State(state): State<SimState>,
    Path(queue): Path<String>,
) -> Result<StatusCode, ApiError> {
    let queue = parse_uuid("queueId", &queue)?;
    if state.update_model(|m| m.resume_queue(queue)) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(unknown_queue(queue))
    }
}

fn unknown_queue(queue: Uuid) -> ApiError {
    ApiError::not_found(format!("queue {queue} not found"))
}

async fn add_fault(
    State(state): State<SimState>,
    GenesysJson(spec): GenesysJson<super::faults::FaultSpec>,
) -> Result<Response, ApiError> {
    let id = state
        .control
        .faults()
        .add(spec)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn clear_faults(State(state): State<SimState>) -> StatusCode {
    state.control.faults().clear();
    StatusCode::NO_CONTENT
}

async fn requests(State(state): State<SimState>) -> Response {
    Json(state.control.log().view()).into_response()
}

async fn reset_requests(State(state): State<SimState>) -> StatusCode {
    state.control.log().reset();
    StatusCode::NO_CONTENT
}

async fn expire_tokens(State(state): State<SimState>) -> StatusCode {
    state.auth.expire_all();
    StatusCode::NO_CONTENT
}
