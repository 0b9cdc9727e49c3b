//! One visitor's WebSocket: small buffers, the latest frame sent whenever it changes, a ping every
//! [`PING_INTERVAL`] and a close when the pong does not come, the inbound policy (clients send
//! only pongs and close frames) and a `1012 Service Restart` close at its own moment of the
//! shutdown drain.
//!
//! Frames come from a `watch` channel, so a slow client is never queued more than one frame:
//! while a send waits, newer frames replace older ones and only the latest is sent next. Every
//! socket shares the one serialised frame (`Utf8Bytes` is reference-counted). It is not where
//! frames are made (`stats`) nor who may connect (`admission`).

use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use futures_util::SinkExt;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, Sleep};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Under the 60 s idle timeout of common load balancers, so an idle socket is never cut by one.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);
/// A send that cannot complete in this long means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Clients send nothing but pongs and close frames, whose payloads are at most 125 bytes.
pub const MAX_INBOUND: usize = 1024;
/// tungstenite keeps a read buffer of this capacity per socket for its whole life (128 KiB by
/// default). What arrives is a few bytes a minute; a larger frame grows it only while it is read.
const READ_BUFFER: usize = 64;
/// Bounds what one client can hold unsent. One frame is all it ever has pending (each send waits
/// for its flush), so this only needs to exceed the largest frame.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;
/// Inbound frames of any kind (pongs and pings included) allowed per minute: a client answers two
/// pings a minute; a few more leave room for a client's own keep-alive pings.
pub const MAX_INBOUND_PER_MINUTE: u32 = 12;
/// Bounds the wait for the client's side of a close handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The upgrade with this service's limits.
pub fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER)
        // Each send is flushed at once anyway; no batching buffer to keep.
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_INBOUND)
        .max_frame_size(MAX_INBOUND)
}

/// How a socket ended: the `reason` of `public_stats_websocket_closed_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// The client closed, or the connection broke.
    Client,
    NoPong,
    /// A text or binary message: clients have nothing to say here.
    DataMessage,
    TooManyFrames,
    TooBig,
    /// A send failed or did not complete within [`SEND_TIMEOUT`].
    SlowClient,
    /// The frames' source ended (not at shutdown).
    SourceEnded,
    Shutdown,
}

impl End {
    fn label(self) -> &'static str {
        match self {
            End::Client => "client",
            End::NoPong => "no_pong",
            End::DataMessage => "data_message",
            End::TooManyFrames => "too_many_frames",
            End::TooBig => "too_big",
            End::SlowClient => "slow_client",
            End::SourceEnded => "source_ended",
            End::Shutdown => "shutdown",
        }
    }
}

/// Serves `socket` in a task of its own, tracked by `tasks` so that shutdown waits for it:
/// `frame_of(latest)` on connect and on every change until the client leaves, breaks the inbound
/// policy, stops answering pings, the source ends, or its moment of the shutdown drain comes.
/// `held` (the admission slot, a feed subscription) lives exactly as long as the socket.
///
/// Called from axum's upgrade callback, whose task then ends: that task's future holds the
/// handshake's state besides the socket, several kilobytes per socket for its whole life. The
/// socket is boxed before this task's future is made, so that the future holds one pointer and
/// not, through each nested `async fn`, another copy of it.
pub fn spawn<T, F, H>(
    tasks: &TaskTracker,
    socket: WebSocket,
    frames: watch::Receiver<T>,
    frame_of: F,
    shutdown: CancellationToken,
    drain: Duration,
    held: H,
) where
    T: Send + Sync + 'static,
    F: Fn(&T) -> Option<Utf8Bytes> + Send + 'static,
    H: Send + 'static,
{
    let socket = Box::new(socket);
    tasks.spawn(async move {
        let end = serve(socket, frames, frame_of, &shutdown, drain).await;
        drop(held);
        metrics::counter!("public_stats_websocket_closed_total", "reason" => end.label())
            .increment(1);
    });
}

async fn serve<T>(
    mut socket: Box<WebSocket>,
    mut frames: watch::Receiver<T>,
    frame_of: impl Fn(&T) -> Option<Utf8Bytes>,
    shutdown: &CancellationToken,
    drain: Duration,
) -> End {
    let mut cancelled = std::pin::pin!(shutdown.cancelled());
    // Made only at shutdown: a timer per socket costs memory for the socket's whole life.
    let mut closing: Option<Pin<Box<Sleep>>> = None;
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut awaiting_pong = false;
    let mut last_sent: Option<Utf8Bytes> = None;
    let mut source_open = true;
    let mut inbound = InboundBudget::new(Instant::now());
    frames.mark_changed();
    loop {
        tokio::select! {
            () = &mut cancelled, if closing.is_none() => {
                // Each socket closes at its own moment of the window, so the clients' reconnects
                // are spread over it too rather than arriving at once at the next instance.
                closing = Some(Box::pin(tokio::time::sleep(drain.mul_f64(fastrand::f64()))));
            }
            () = until(&mut closing), if closing.is_some() => {
                close(&mut socket, close_code::RESTART, "service restarting").await;
                return End::Shutdown;
            }
            changed = frames.changed(), if source_open => {
                if changed.is_err() {
                    // At shutdown the source ends before the drain does: the socket waits for
                    // its moment with the last frame sent.
                    if shutdown.is_cancelled() {
                        source_open = false;
                        continue;
                    }
                    close(&mut socket, close_code::AWAY, "stream ended").await;
                    return End::SourceEnded;
                }
                let frame = frame_of(&frames.borrow_and_update());
                if let Some(frame) = frame.filter(|f| last_sent.as_ref() != Some(f)) {
                    if !send(&mut socket, Message::Text(frame.clone())).await {
                        return End::SlowClient;
                    }
                    last_sent = Some(frame);
                }
            }
            _ = ping.tick() => {
                if awaiting_pong {
                    close(&mut socket, close_code::POLICY, "no pong").await;
                    return End::NoPong;
                }
                awaiting_pong = true;
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    return End::SlowClient;
                }
            }
            message = socket.recv() => {
                let message = match message {
                    Some(Ok(message)) => message,
                    Some(Err(error)) => {
                        if !is_too_big(error) {
                            return End::Client;
                        }
                        close(&mut socket, close_code::SIZE, "message too big").await;
                        return End::TooBig;
                    }
                    None => return End::Client,
                };
                if !inbound.take(Instant::now()) {
                    close(&mut socket, close_code::POLICY, "too many messages").await;
                    return End::TooManyFrames;
                }
                match message {
                    Message::Pong(_) => awaiting_pong = false,
                    // Answered by tungstenite.
                    Message::Ping(_) => {}
                    Message::Text(_) | Message::Binary(_) => {
                        close(&mut socket, close_code::POLICY, "clients send nothing here").await;
                        return End::DataMessage;
                    }
                    Message::Close(_) => {
                        // tungstenite has queued the answering close frame: let it out.
                        let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close()).await;
                        return End::Client;
                    }
                }
            }
        }
    }
}

/// Waits for the shutdown timer (the branch is enabled only once it exists).
async fn until(timer: &mut Option<Pin<Box<Sleep>>>) {
    if let Some(timer) = timer {
        timer.await;
    }
}

/// Inbound frames counted per minute (a fixed window: two numbers per socket, no timer).
struct InboundBudget {
    window_start: Instant,
    used: u32,
}

impl InboundBudget {
    fn new(now: Instant) -> Self {
        InboundBudget {
            window_start: now,
            used: 0,
        }
    }

    /// Counts one frame; `false` once the minute's budget is spent.
    fn take(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= Duration::from_secs(60) {
            self.window_start = now;
            self.used = 0;
        }
        self.used += 1;
        self.used <= MAX_INBOUND_PER_MINUTE
    }
}

/// A frame over [`MAX_INBOUND`]: tungstenite refuses it by its header, before reading it.
fn is_too_big(error: axum::Error) -> bool {
    error
        .into_inner()
        .downcast::<tungstenite::Error>()
        .is_ok_and(|error| matches!(*error, tungstenite::Error::Capacity(_)))
}

/// `false` when the socket is gone or the client stopped reading.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    let mut sending = std::pin::pin!(socket.send(message));
    // Nearly every send completes at once; only one that waits gets a timer, which saves
    // registering and cancelling a timer per socket on every update.
    match futures_util::poll!(sending.as_mut()) {
        Poll::Ready(sent) => sent.is_ok(),
        Poll::Pending => matches!(
            tokio::time::timeout(SEND_TIMEOUT, sending).await,
            Ok(Ok(()))
        ),
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    // Best effort: the client may already be gone.
    let _ = send(socket, Message::Close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbound_budget_is_per_minute() {
        let start = Instant::now();
        let mut budget = InboundBudget::new(start);
        for _ in 0..MAX_INBOUND_PER_MINUTE {
            assert!(budget.take(start + Duration::from_secs(10)));
        }
        assert!(!budget.take(start + Duration::from_secs(59)));
        assert!(budget.take(start + Duration::from_secs(61)));
    }
}
