//! One visitor's WebSocket: small buffers and inbound limits, the latest frame sent whenever it
//! changes, a ping every [`PING_INTERVAL`] and a close when the pong does not come, and a
//! `1012 Service Restart` close at shutdown.
//!
//! Frames come from a `watch` channel, so a slow client is never queued more than one frame:
//! while a send waits, newer frames replace older ones and only the latest is sent next. It is not
//! where frames are made (`stats`).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Under the 60 s idle timeout of common load balancers, so an idle socket is never cut by one.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);
/// A send that cannot complete in this long means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Clients send nothing but pongs and close frames; a few hundred bytes is plenty.
const MAX_INBOUND: usize = 4 * 1024;
/// tungstenite allocates its read buffer eagerly: 128 KiB by default, per connection.
const BUFFER: usize = 4 * 1024;
/// Bounds what one client can hold unsent. One frame is all it ever has pending (each send waits
/// for its flush), so this only needs to exceed the largest frame.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// The upgrade with this service's limits.
pub fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_INBOUND)
        .max_frame_size(MAX_INBOUND)
}

/// Sends `frame_of(latest)` on connect and on every change until the client leaves, stops
/// answering pings, the source ends, or `shutdown` is cancelled.
pub async fn pump<T>(
    mut socket: WebSocket,
    mut frames: watch::Receiver<T>,
    frame_of: impl Fn(&T) -> Option<Utf8Bytes>,
    shutdown: CancellationToken,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut awaiting_pong = false;
    let mut last_sent: Option<Utf8Bytes> = None;
    frames.mark_changed();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                close(socket, close_code::RESTART, "service restarting").await;
                return;
            }
            changed = frames.changed() => {
                if changed.is_err() {
                    close(socket, close_code::AWAY, "stream ended").await;
                    return;
                }
                let frame = frame_of(&frames.borrow_and_update());
                if let Some(frame) = frame.filter(|f| last_sent.as_ref() != Some(f)) {
                    if !send(&mut socket, Message::Text(frame.clone())).await {
                        return;
                    }
                    last_sent = Some(frame);
                }
            }
            _ = ping.tick() => {
                if awaiting_pong {
                    close(socket, close_code::POLICY, "no pong").await;
                    return;
                }
                awaiting_pong = true;
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    return;
                }
            }
            inbound = socket.recv() => match inbound {
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                // Pings are answered by tungstenite; text and binary mean nothing here.
                Some(Ok(Message::Ping(_) | Message::Text(_) | Message::Binary(_))) => {}
                // Closed, or broken (e.g. a frame over the limit: tungstenite has sent 1009).
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            },
        }
    }
}

/// `false` when the socket is gone or the client stopped reading.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn close(mut socket: WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    // Best effort: the client may already be gone.
    let _ = send(&mut socket, Message::Close(Some(frame))).await;
}
