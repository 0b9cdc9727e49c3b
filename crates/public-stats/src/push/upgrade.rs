//! The WebSocket opening handshake (RFC 6455 §4.2), answered here rather than by axum's
//! `WebSocketUpgrade`: axum hands the connection over only as its own `WebSocket`, which sends
//! every frame through tungstenite's per-socket write buffer — kept, for the socket's whole life,
//! at the size of the largest frame sent (over a kilobyte each, the largest part of an idle
//! socket). With the stream itself, `socket` writes the one shared frame straight to each
//! connection. The checks are axum's (HTTP/1.1 `GET` with `Upgrade: websocket`,
//! `Connection: upgrade`, version 13 and a key); the accept key is tungstenite's.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::task::TaskTracker;

use super::outlet::Wire;
use crate::serve::Counted;

/// An accepted push socket: on plain HTTP over the TCP stream itself, which the fan-out writes
/// to directly; under TLS over hyper's `Upgraded`, which only the socket's task can write.
pub type Socket = WebSocketStream<Wire>;

/// A valid handshake, not yet answered.
pub struct Upgrade {
    on_upgrade: OnUpgrade,
    accept: HeaderValue,
}

impl Upgrade {
    /// The handshake in `parts`, or `None` if it is not one (the caller answers 426).
    pub fn from_parts(parts: &mut Parts) -> Option<Upgrade> {
        if parts.method != Method::GET
            || !super::wants_websocket(&parts.headers)
            || !header_is(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13")
        {
            return None;
        }
        let key = parts.headers.get(header::SEC_WEBSOCKET_KEY)?;
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let accept = HeaderValue::from_str(&accept).ok()?;
        let on_upgrade = parts.extensions.remove::<OnUpgrade>()?;
        Some(Upgrade { on_upgrade, accept })
    }

    /// The `101 Switching Protocols` answer; `serve` gets the socket once the connection has
    /// switched (never, if the client leaves first).
    /// `tasks` tracks the socket's task, so that shutdown waits for it.
    pub fn respond<F, Fut>(self, tasks: &TaskTracker, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Box<Socket>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Upgrade { on_upgrade, accept } = self;
        tasks.spawn(async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let socket = open(upgraded, config).await;
            // Boxed at once: the serving future then holds a pointer, not a second copy.
            serve(Box::new(socket)).await;
        });
        (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
                (header::UPGRADE, HeaderValue::from_static("websocket")),
                (header::SEC_WEBSOCKET_ACCEPT, accept),
            ],
        )
            .into_response()
    }
}

/// The WebSocket over the plain TCP stream when hyper served it unencrypted; bytes the client
/// sent after its handshake, which hyper had already read, are read first.
async fn open(upgraded: Upgraded, config: WebSocketConfig) -> Socket {
    match upgraded.downcast::<TokioIo<Counted<TcpStream>>>() {
        Ok(parts) if parts.read_buf.is_empty() => {
            let stream = Wire::plain(parts.io.into_inner());
            WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await
        }
        Ok(parts) => {
            let stream = Wire::plain(parts.io.into_inner());
            let read = parts.read_buf.to_vec();
            WebSocketStream::from_partially_read(stream, read, Role::Server, Some(config)).await
        }
        Err(upgraded) => {
            let stream = Wire::upgraded(TokioIo::new(upgraded));
            WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await
        }
    }
}

fn header_is(headers: &HeaderMap, name: header::HeaderName, expected: &str) -> bool {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case(expected))
}
