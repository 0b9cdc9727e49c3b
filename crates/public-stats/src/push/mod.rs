//! Live statistics over WebSocket.
//!
//! * `/` (the seed's endpoint): a WebSocket upgrade receives `{"queueStats": {"<queueId>":
//!   <observations>, …}}` for every monitored queue on connect and on every change (plus
//!   `"stale": true, "asOf": "<RFC 3339>"` while the notification stream is down, and
//!   `"hours": {"<queueId>": {…}}` for the queues with business hours, pushed also at the instant
//!   one opens or closes); a plain `GET /` still gets the demo page.
//! * `/api/stats/{queueId}/live[?mediaType=…]`: one queue's observations and EWT (frame
//!   documented in `stats::feed`); the EWT is refreshed only while someone listens.
//!
//! Every frame is serialised and framed once for all clients (`frame`) and written to each of
//! them from one place (`fanout`, through each socket's `outlet`); this module admits sockets
//! before their upgrade (`admission`: origin, per-address and global caps, upgrade rate), answers
//! the handshake (`upgrade`) and keeps each socket (`socket`). Clients send nothing but pongs and
//! close frames.

mod admission;
mod fanout;
mod frame;
mod outlet;
mod socket;
mod upgrade;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use admission::{Admission, SocketLimits};
pub use fanout::Fanout;
pub use frame::TextFrame;
pub use socket::{MAX_INBOUND, MAX_INBOUND_PER_MINUTE, PING_INTERVAL};

use crate::problem::ApiError;
use crate::queues::PublicQueue;
use crate::state::AppState;
use crate::stats::{EwtKey, media_type};
use upgrade::Upgrade;

const LIVE_PATH: &str = "/api/stats/{queueId}/live";

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(root)).route(
        LIVE_PATH,
        // Its refusals are readable by any page, so the widget can tell the site's owner why its
        // socket was refused (a browser hides a failed handshake's status from scripts).
        get(live).layer(crate::cors::public_reads()),
    )
}

/// `GET /`: the seed's clients open their WebSocket here; a plain page load gets the demo page.
async fn root(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    if !wants_websocket(request.headers()) {
        return crate::assets::index(request).await;
    }
    let (mut parts, _body) = request.into_parts();
    let Some(upgrade) = Upgrade::from_parts(&mut parts) else {
        return ApiError::NotWebSocket.into_response();
    };
    let slot = match state.sockets.admit(peer, &parts.headers, "/") {
        Ok(slot) => slot,
        Err(refusal) => return refusal.into_response(),
    };
    let tasks = state.tasks.clone();
    upgrade.respond(&tasks, socket::config(), move |ws| {
        socket::pump(
            ws,
            state.root_frames.fanout(),
            state.shutdown.clone(),
            state.settings.shutdown_drain,
            slot,
        )
    })
}

/// `GET /api/stats/{queueId}/live[?mediaType=…]`: one queue's observations and EWT.
async fn live(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    PublicQueue(queue): PublicQueue,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _body) = request.into_parts();
    state.sockets.check_origin(&parts.headers)?;
    let upgrade = Upgrade::from_parts(&mut parts).ok_or(ApiError::NotWebSocket)?;
    let key = EwtKey {
        queue,
        media: media_type(raw.as_deref())?,
    };
    let slot = state.sockets.admit(peer, &parts.headers, LIVE_PATH)?;
    let tasks = state.tasks.clone();
    Ok(upgrade.respond(&tasks, socket::config(), move |ws| {
        // Joined only once upgraded, so a failed handshake starts no refresher.
        let feed = state.feeds.subscribe(key);
        socket::pump(
            ws,
            feed.fanout(),
            state.shutdown.clone(),
            state.settings.shutdown_drain,
            (slot, feed),
        )
    }))
}

/// An HTTP/1.1 WebSocket handshake: `Upgrade: websocket` and `Connection: upgrade`.
fn wants_websocket(headers: &HeaderMap) -> bool {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    has_token(header::UPGRADE, "websocket") && has_token(header::CONNECTION, "upgrade")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_a_websocket_handshake_is_an_upgrade() {
        assert!(wants_websocket(&headers(&[
            (header::UPGRADE, "WebSocket"),
            (header::CONNECTION, "keep-alive, Upgrade"),
        ])));
        assert!(!wants_websocket(&headers(&[(
            header::UPGRADE,
            "websocket"
        )])));
        assert!(!wants_websocket(&headers(&[
            (header::UPGRADE, "h2c"),
            (header::CONNECTION, "upgrade"),
        ])));
        assert!(!wants_websocket(&HeaderMap::new()));
    }
}
