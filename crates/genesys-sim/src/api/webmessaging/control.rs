//! `/__sim/webmessaging/…`: what tests (and a curious developer) use to see guest sessions and to
//! play the agent's side. Nothing here exists in Genesys Cloud.
//!
//! - `GET  /__sim/webmessaging/sessions` → `[{token, conversationId, agent, messages, readOnly,
//!   connections}]`, oldest session first; `messages` are the kept StructuredMessage bodies.
//! - `POST /__sim/webmessaging/sessions/{token}/disconnect` → the agent ends the conversation:
//!   Presence Disconnect with `readOnly:"true"` to the guest; 200 with the session, 404 for an
//!   unknown token, 409 when the session has no conversation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::session::DisconnectError;
use crate::api::error::ApiError;
use crate::state::SimState;

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/__sim/webmessaging/sessions", get(list))
        .route(
            "/__sim/webmessaging/sessions/{token}/disconnect",
            post(disconnect),
        )
}

async fn list(State(state): State<SimState>) -> Json<Vec<Value>> {
    Json(state.webmessaging.summaries())
}

async fn disconnect(
    State(state): State<SimState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.webmessaging.disconnect(&state, &token, None) {
        Ok(session) => Ok(Json(session)),
        Err(DisconnectError::UnknownSession) => {
            Err(ApiError::not_found(format!("No session {token}")))
        }
        Err(DisconnectError::NoConversation) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "The session has no active conversation",
        )),
    }
}
