//! Web Messaging for guests: the deployment's `config.json`, the guest
//! WebSocket `/v1?deploymentId=…` (configureSession, onMessage, echo, getJwt, closeSession), the
//! history API for `getJwt` tokens, and a simulated chatting agent behind it all.
//!
//! Also the control routes `/__sim/webmessaging/…` that list sessions and let the agent's side
//! disconnect. It is not the retired ACD web chat (`/api/v2/webchat/…`), which the simulator does
//! not serve, nor authenticated or file-upload messaging (answered with error 4000).

mod agent;
mod control;
mod protocol;
mod session;
mod socket;

pub use session::Sessions;

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::state::SimState;

/// Largest guest frame accepted; a 4,000-character text in 4-byte UTF-8 plus its envelope fits.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The guest API and its `/__sim/webmessaging/` control routes.
pub fn router() -> Router<SimState> {
    guest_router().merge(control::router())
}

/// Only what a visitor's browser uses: the deployment config, the guest WebSocket and the
/// history. Safe to expose where visitors can reach it (the service's sandbox mode mounts it);
/// the control routes would hand out every guest's session token.
pub fn guest_router() -> Router<SimState> {
    Router::new()
        .route(
            "/webdeployments/v1/deployments/{deployment_id}/config.json",
            get(deployment_config),
        )
        .route("/v1", get(connect))
        .route("/api/v2/webmessaging/messages", get(history))
}

fn deployment(state: &SimState, id: &str) -> Result<Uuid, ApiError> {
    let configured = state.config.org.deployment_id;
    match Uuid::parse_str(id) {
        Ok(id) if id == configured => Ok(id),
        _ => Err(ApiError::not_found(format!("Deployment {id} not found"))),
    }
}

/// `GET …/config.json` (no auth): what Messenger reads before opening the socket.
async fn deployment_config(
    State(state): State<SimState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = deployment(&state, &id)?;
    let addr = state.addr;
    Ok(Json(json!({
        "id": id,
        "version": "1",
        "languages": ["en-us"],
        "defaultLanguage": "en-us",
        "apiEndpoint": format!("http://{addr}"),
        "messenger": {
            "enabled": true,
            "apps": {
                "conversations": {
                    "messagingEndpoint": format!("ws://{addr}"),
                    "conversationDisconnect": { "enabled": true, "type": "ReadOnly" },
                    "conversationClear": { "enabled": true },
                    "showAgentTypingIndicator": true,
                    "showUserTypingIndicator": true,
                    "autoStart": { "enabled": false },
                    "markdown": { "enabled": false },
                },
            },
            "styles": { "primaryColor": "#1f6feb" },
            "launcherButton": { "visibility": "On" },
            // No uploads in the simulator: no file types are allowed.
            "fileUpload": { "modes": [] },
        },
        "journeyEvents": { "enabled": false },
        "status": "Active",
        "auth": { "enabled": false },
    })))
}

/// `GET /v1?deploymentId=…`: the guest socket. A missing or unknown deployment is refused before
/// the upgrade (400 / 404 with Genesys's error body), as a gateway that validates the query
/// would; browsers only see a failed connection either way, which is what a wrong deployment id
/// looks like with the real service.
async fn connect(
    State(state): State<SimState>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(id) = query.get("deploymentId") else {
        return ApiError::bad_request("Missing required query parameter: deploymentId")
            .into_response();
    };
    if let Err(error) = deployment(&state, id) {
        return error.into_response();
    }
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| socket::serve(state, socket))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    page_number: Option<usize>,
    page_size: Option<usize>,
}

/// `GET /api/v2/webmessaging/messages` with `Authorization: Bearer <jwt from getJwt>`: the
/// session's messages, newest first (page 1 is the latest), as `WebMessagingMessageEntityList`.
async fn history(
    State(state): State<SimState>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let jwt = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(ApiError::authentication_required)?;
    let mut messages = state
        .webmessaging
        .history_for_jwt(jwt)
        .ok_or_else(ApiError::bad_credentials)?;
    messages.reverse();
    let page_size = page.page_size.unwrap_or(25).clamp(1, 100);
    let page_number = page.page_number.unwrap_or(1).max(1);
    let total = messages.len();
    let entities: Vec<Value> = messages
        .into_iter()
        .skip((page_number - 1).saturating_mul(page_size))
        .take(page_size)
        .collect();
    Ok(Json(json!({
        "entities": entities,
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": total.div_ceil(page_size),
    })))
}
