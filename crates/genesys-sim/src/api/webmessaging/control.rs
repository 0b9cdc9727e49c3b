//! `/__sim/webmessaging/…`: what tests (and a curious developer) use to set up deployments, see
//! guest sessions, and play the agent's side and the server's. Nothing here exists in Genesys
//! Cloud.
//!
//! - `PUT  /__sim/webmessaging/deployments/{id}` `{settings to change}` → 200 the settings: changes
//!   a deployment, or adds one (starting from the defaults); unknown fields → 400.
//! - `GET  /__sim/webmessaging/sessions` → `[{token, deploymentId, conversationId, agent,
//!   messages, readOnly, connections, customAttributes, expirationDate}]`, oldest first.
//! - `POST /__sim/webmessaging/sessions/{token}/disconnect` → the agent ends the conversation, as
//!   the deployment's `conversationDisconnect` says; 200 the session, 404, 409 no conversation.
//! - `POST /__sim/webmessaging/sessions/{token}/messages` `{type, text?, content?,
//!   originatingEntity?, time?}` → 200 the message as sent: the agent's side sends a Text or
//!   Structured message (attachments, cards, quick replies), at `time` (RFC 3339) when given, so
//!   that several messages can share a millisecond; 404, 400 another type.
//! - `POST /__sim/webmessaging/sessions/{token}/expire` → 204: `SessionExpiredEvent` now, 4006
//!   for the token from then on; `…/forget` → 204: silently lost, 4007 from then on; both 404
//!   for an unknown token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::Value;

use super::deployment::{DeploymentSettings, SettingsPatch};
use super::session::ControlError;
use crate::api::error::{ApiError, GenesysJson, parse_uuid};
use crate::state::SimState;

pub fn router() -> Router<SimState> {
    Router::new()
        .route(
            "/__sim/webmessaging/deployments/{id}",
            put(patch_deployment),
        )
        .route("/__sim/webmessaging/sessions", get(list))
        .route(
            "/__sim/webmessaging/sessions/{token}/disconnect",
            post(disconnect),
        )
        .route("/__sim/webmessaging/sessions/{token}/messages", post(send))
        .route("/__sim/webmessaging/sessions/{token}/expire", post(expire))
        .route("/__sim/webmessaging/sessions/{token}/forget", post(forget))
}

async fn patch_deployment(
    State(state): State<SimState>,
    Path(id): Path<String>,
    GenesysJson(patch): GenesysJson<SettingsPatch>,
) -> Result<Json<DeploymentSettings>, ApiError> {
    let id = parse_uuid("deployment id", &id)?;
    patch.validate().map_err(ApiError::invalid_body)?;
    Ok(Json(state.webmessaging.patch_deployment(id, patch)))
}

async fn list(State(state): State<SimState>) -> Json<Vec<Value>> {
    Json(state.webmessaging.summaries())
}

fn refused(token: &str, error: ControlError) -> ApiError {
    match error {
        ControlError::UnknownSession => ApiError::not_found(format!("No session {token}")),
        ControlError::NoConversation => ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "The session has no active conversation",
        ),
        ControlError::BadMessage => {
            ApiError::invalid_body("`type` must be \"Text\" or \"Structured\"")
        }
    }
}

async fn disconnect(
    State(state): State<SimState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state
        .webmessaging
        .disconnect(&state, &token, None)
        .map(Json)
        .map_err(|error| refused(&token, error))
}

async fn send(
    State(state): State<SimState>,
    Path(token): Path<String>,
    GenesysJson(message): GenesysJson<Value>,
) -> Result<Json<Value>, ApiError> {
    state
        .webmessaging
        .agent_sends(&token, &message)
        .map(Json)
        .map_err(|error| refused(&token, error))
}

async fn expire(
    State(state): State<SimState>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.webmessaging.expire(&state, &token) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refused(&token, ControlError::UnknownSession))
    }
}

async fn forget(
    State(state): State<SimState>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.webmessaging.forget(&state, &token) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refused(&token, ControlError::UnknownSession))
    }
}
