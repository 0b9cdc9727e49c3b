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
//! - `POST /__sim/webmessaging/sessions/{token}/read` → 204: the agent's side reads the guest's
//!   messages (a `Read` receipt for each not read yet; the simulated agent also reads before it
//!   types or answers); 404 unknown token. Each guest message gets its `Delivered` receipt when it
//!   arrives.
//! - `POST /__sim/webmessaging/sessions/{token}/files` `{fileName?, fileType?, data?, text?}` →
//!   200 the message as sent: the agent's side sends a file (`data` in base64; without it a small
//!   PNG), downloadable from the upload target; 404, 400 bad base64.
//! - `POST /__sim/webmessaging/sessions/{token}/attachments/{attachmentId}/expire-links` → 204:
//!   every upload and download link of that file expires now; 404 unknown session or file.
//! - `POST /__sim/webmessaging/sessions/{token}/expire` → 204: `SessionExpiredEvent` now, 4006
//!   for the token from then on; `…/forget` → 204: silently lost, 4007 from then on;
//!   `…/clear` → 204: the conversation is cleared as if the guest had (`SessionClearedEvent`,
//!   then the sockets close); `…/close-connections` → 204: every socket gets
//!   `ConnectionClosedEvent` and closes, the session stays; all 404 for an unknown token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::Value;

use super::deployment::{DeploymentSettings, SettingsPatch};
use super::session::{AgentFile, ControlError};
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
        .route("/__sim/webmessaging/sessions/{token}/read", post(read))
        .route(
            "/__sim/webmessaging/sessions/{token}/files",
            post(send_file),
        )
        .route(
            "/__sim/webmessaging/sessions/{token}/attachments/{id}/expire-links",
            post(expire_links),
        )
        .route("/__sim/webmessaging/sessions/{token}/expire", post(expire))
        .route("/__sim/webmessaging/sessions/{token}/forget", post(forget))
        .route("/__sim/webmessaging/sessions/{token}/clear", post(clear))
        .route(
            "/__sim/webmessaging/sessions/{token}/close-connections",
            post(close_connections),
        )
}

async fn patch_deployment(
    State(state): State<SimState>,
    Path(id): Path<String>,
    GenesysJson(mut patch): GenesysJson<SettingsPatch>,
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
        ControlError::UnknownAttachment => {
            ApiError::not_found(format!("Session {token} has no such attachment"))
        }
        ControlError::BadFile(reason) => ApiError::invalid_body(reason),
    }
}

/// The body of `…/files`: every field optional; without `data`, the sample image.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileBody {
    file_name: Option<String>,
    file_type: Option<String>,
    /// The file's bytes, base64 (standard alphabet, padded).
    data: Option<String>,
    text: Option<String>,
}

impl FileBody {
    fn into_file(self) -> Result<AgentFile, ControlError> {
        let Some(data) = self.data else {
            let mut file = AgentFile::sample(self.text);
            if let Some(name) = self.file_name {
                file.file_name = name;
            }
            return Ok(file);
        };
        let bytes = BASE64
            .decode(data.trim())
            .map_err(|_| ControlError::BadFile("`data` must be base64"))?;
        Ok(AgentFile {
            file_name: self.file_name.unwrap_or_else(|| "file.bin".to_owned()),
            file_type: self
                .file_type
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            bytes: bytes.into(),
            text: self.text,
        })
    }
}

async fn send_file(
    State(state): State<SimState>,
    Path(token): Path<String>,
    GenesysJson(body): GenesysJson<FileBody>,
) -> Result<Json<Value>, ApiError> {
    body.into_file()
        .and_then(|file| state.webmessaging.agent_sends_file(&token, file))
        .map(Json)
        .map_err(|error| refused(&token, error))
}

async fn expire_links(
    State(state): State<SimState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .webmessaging
        .expire_links(&token, &id)
        .map(|()| StatusCode::NO_CONTENT)
        .map_err(|error| refused(&token, error))
}

async fn clear(
    State(state): State<SimState>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.webmessaging.clear_from_server(&state, &token) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refused(&token, ControlError::UnknownSession))
    }
}

async fn read(
    State(state): State<SimState>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.webmessaging.read_by_agent(&token) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refused(&token, ControlError::UnknownSession))
    }
}

async fn close_connections(
    State(state): State<SimState>,
    Path(token): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.webmessaging.close_connections(&token) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refused(&token, ControlError::UnknownSession))
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
