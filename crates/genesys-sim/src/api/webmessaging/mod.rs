//! Web Messaging for guests: each deployment's `config.json`, the guest
//! WebSocket `/v1?deploymentId=…` (configureSession, onMessage, echo, getJwt, closeSession,
//! onAttachment, getAttachment, deleteAttachment), the history API for `getJwt` tokens, the
//! upload target that stands in for the storage behind presigned links (its own port), receipts
//! for the guest's messages (`Delivered` on arrival, `Read` once the agent's side has read them),
//! and a simulated chatting agent and bot behind it all. What it answers follows the samples and
//! behaviour of Genesys's transport SDK (genesys-messenger-transport-mobile-sdk).
//!
//! Also the control routes `/__sim/webmessaging/…` that change deployments, list sessions and play
//! the agent's side and the server's (disconnect, messages, files, clear, expiry). It is not the
//! retired ACD web chat (`/api/v2/webchat/…`), which the simulator does not serve, nor
//! authenticated messaging (answered with error 4000).

mod agent;
mod attachments;
mod control;
mod deployment;
mod protocol;
mod rich;
mod session;
mod socket;

pub use session::Sessions;

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use self::deployment::DeploymentSettings;
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

/// The upload target (`PUT` uploads, `GET` downloads, the bot's card image): served on a
/// listener of its own, as the real storage is another host than the API. Its base URL must be
/// given to [`Sessions::set_files_base`] for links to be handed out.
pub fn upload_target_router(state: SimState) -> Router {
    attachments::target::router(state)
}

/// The deployment `id` and its settings, or 404 for one the simulator does not serve.
fn deployment(state: &SimState, id: &str) -> Result<(Uuid, DeploymentSettings), ApiError> {
    Uuid::parse_str(id)
        .ok()
        .and_then(|uuid| Some((uuid, state.webmessaging.deployment(state, uuid)?)))
        .ok_or_else(|| ApiError::not_found(format!("Deployment {id} not found")))
}

/// `GET …/config.json` (no auth): what Messenger reads before opening the socket (the transport
/// SDK refuses to connect without it).
async fn deployment_config(
    State(state): State<SimState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (id, settings) = deployment(&state, &id)?;
    Ok(Json(settings.config_json(id, state.addr)))
}

/// `GET /v1?deploymentId=…`: the guest socket. A missing or unknown deployment is refused before
/// the upgrade (400 / 404 with Genesys's error body), as a gateway that validates the query
/// would; browsers only see a failed connection either way, which is what a wrong deployment id
/// looks like with the real service. An inactive (switched off) deployment is refused with 403,
/// which the transport SDK reports as `WebsocketAccessDenied` and does not retry.
async fn connect(
    State(state): State<SimState>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(id) = query.get("deploymentId") else {
        return ApiError::bad_request("Missing required query parameter: deploymentId")
            .into_response();
    };
    let deployment = match deployment(&state, id) {
        Ok((_, settings)) if settings.status == deployment::Status::Inactive => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "not.authorized",
                format!("Deployment {id} is not active"),
            )
            .into_response();
        }
        Ok((id, _)) => id,
        Err(error) => return error.into_response(),
    };
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| socket::serve(state, socket, deployment))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    page_number: Option<usize>,
    page_size: Option<usize>,
}

/// The token of `Authorization: Bearer <token>`; the scheme in any case (the transport SDK sends
/// `bearer`).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `GET /api/v2/webmessaging/messages` with `Authorization: bearer <jwt from getJwt>`: the
/// session's messages, newest first (page 1 is the latest), 25 a page unless `pageSize` says
/// otherwise, as `WebMessagingMessageEntityList` (the transport SDK's `MessageEntityList`).
async fn history(
    State(state): State<SimState>,
    headers: HeaderMap,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let jwt = bearer(&headers).ok_or_else(ApiError::authentication_required)?;
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
