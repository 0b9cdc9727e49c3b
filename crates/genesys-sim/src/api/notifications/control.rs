//! The simulator-only `/__sim/` routes of the notification service: break sockets on purpose
//! (drop, announced close, silence, lost subscriptions), expire channels, and list channels.
//!
//! None of this exists in Genesys Cloud; the contract is documented in the crate README.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::messages;
use crate::api::error::GenesysJson;
use crate::api::iso_millis;
use crate::state::SimState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketClosing {
    close_after_ms: u64,
}

#[derive(Deserialize)]
pub struct Silence {
    silent: bool,
}

#[derive(Serialize)]
pub struct ChannelView {
    id: String,
    expires: String,
    topics: Vec<String>,
    connected: bool,
    connections: u64,
}

/// `POST /__sim/notifications/drop`: every socket goes at once, without a close frame.
pub async fn drop_sockets(State(state): State<SimState>) -> StatusCode {
    for (_, connection) in state.notifications.connections(&state.auth) {
        connection.kill();
    }
    StatusCode::NO_CONTENT
}

/// `POST /__sim/notifications/socket-closing`: `v2.system.socket_closing` to every socket now,
/// and a close frame `closeAfterMs` later (to the sockets open now; later ones are spared).
pub async fn socket_closing(
    State(state): State<SimState>,
    GenesysJson(body): GenesysJson<SocketClosing>,
) -> StatusCode {
    let connections = state.notifications.connections(&state.auth);
    for (_, connection) in &connections {
        connection.send(messages::socket_closing(body.close_after_ms));
    }
    let delay = Duration::from_millis(body.close_after_ms);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        for (_, connection) in connections {
            connection.close("Socket closing");
        }
    });
    StatusCode::NO_CONTENT
}

/// `POST /__sim/notifications/silence`: while silent, sockets send nothing and ignore pings.
pub async fn silence(
    State(state): State<SimState>,
    GenesysJson(body): GenesysJson<Silence>,
) -> StatusCode {
    state.notifications.set_silent(body.silent);
    StatusCode::NO_CONTENT
}

/// `POST /__sim/notifications/no-longer-subscribed`: every channel loses its topics and its
/// socket, if any, is told with `v2.system.no_longer_subscribed.{channelId}`.
pub async fn no_longer_subscribed(State(state): State<SimState>) -> StatusCode {
    let touched = state
        .notifications
        .unsubscribe(&state.auth, None)
        .unwrap_or_default();
    let client_id = &state.config.org.client_id;
    for (channel_id, connection) in touched {
        if let Some(connection) = connection {
            connection.send(messages::no_longer_subscribed(&channel_id, client_id));
        }
    }
    StatusCode::NO_CONTENT
}

/// `POST /__sim/channels/expire`: every channel expires now; their sockets close.
pub async fn expire_channels(State(state): State<SimState>) -> StatusCode {
    state.notifications.expire_all(&state.auth);
    StatusCode::NO_CONTENT
}

/// `GET /__sim/notifications/channels`.
pub async fn channels(State(state): State<SimState>) -> Json<Vec<ChannelView>> {
    let views = state
        .notifications
        .list(&state.auth, None)
        .into_iter()
        .map(|info| ChannelView {
            expires: iso_millis(info.expires),
            id: info.id,
            topics: info.topics,
            connected: info.connected,
            connections: info.connections,
        })
        .collect();
    Json(views)
}
