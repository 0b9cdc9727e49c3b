//! One visitor's WebSocket: small buffers, the latest frame sent whenever it changes, a ping every
//! [`PING_INTERVAL`] and a close when the pong does not come, the inbound policy (clients send
//! only pongs and close frames) and a `1012 Service Restart` close at its own moment of the
//! shutdown drain.
//!
//! Frames are written by the fan-out (`fanout`); the socket's task writes only what the fan-out
//! could not (a slow client: then only the latest frame waits, `outlet`), and tungstenite reads
//! the client's frames and writes the control frames. It is not where frames are made (`stats`)
//! nor who may connect (`admission`).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior, Sleep};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;

use super::fanout::Fanout;
use super::upgrade::Socket;

/// Under the 60 s idle timeout of common load balancers, so an idle socket is never cut by one.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);
/// A send that cannot complete in this long means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Clients send nothing but pongs and close frames, whose payloads are at most 125 bytes.
pub const MAX_INBOUND: usize = 1024;
/// tungstenite keeps a read buffer of this capacity per socket for its whole life (128 KiB by
/// default). What arrives is a few bytes a minute; a larger frame grows it only while it is read.
const READ_BUFFER: usize = 64;
/// Inbound frames of any kind (pongs and pings included) allowed per minute: a client answers two
/// pings a minute; a few more leave room for a client's own keep-alive pings.
pub const MAX_INBOUND_PER_MINUTE: u32 = 12;
/// Bounds the wait for the client's side of a close handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// tungstenite's settings for a push socket.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        // Each control frame goes to the outlet's queue at once; no batching buffer to keep.
        .write_buffer_size(0)
        .max_message_size(Some(MAX_INBOUND))
        .max_frame_size(Some(MAX_INBOUND))
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

/// Joins `fanout` (the latest frame at once, then every change) until the client leaves, breaks
/// the inbound policy, stops answering pings, the source ends, or its moment of the shutdown
/// drain comes. `held` (the admission slot, a feed subscription) lives exactly as long as the
/// socket.
pub async fn pump<H>(
    socket: Box<Socket>,
    fanout: Arc<Fanout>,
    shutdown: CancellationToken,
    drain: Duration,
    held: H,
) {
    let end = serve(socket, &fanout, &shutdown, drain).await;
    drop(held);
    metrics::counter!("public_stats_websocket_closed_total", "reason" => end.label()).increment(1);
}

async fn serve(
    mut socket: Box<Socket>,
    fanout: &Arc<Fanout>,
    shutdown: &CancellationToken,
    drain: Duration,
) -> End {
    let outlet = Arc::clone(socket.get_ref().outlet());
    let _member = fanout.join(&outlet);
    let mut cancelled = std::pin::pin!(shutdown.cancelled());
    // Made only at shutdown: a timer per socket costs memory for the socket's whole life.
    let mut closing: Option<Pin<Box<Sleep>>> = None;
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut awaiting_pong = false;
    let mut source_open = true;
    let mut inbound = InboundBudget::new(Instant::now());
    loop {
        tokio::select! {
            // What the fan-out could not write at once first (a slow client, or TLS), then the
            // client's frames before the ping timer, so a pong that has arrived is counted
            // before the timer asks for it.
            biased;
            () = outlet.woken(), if source_open => {
                if !bounded(poll_fn(|cx| socket.get_mut().poll_drain(cx))).await {
                    return End::SlowClient;
                }
                if fanout.has_ended() {
                    // At shutdown the source ends before the drain does: the socket waits for
                    // its moment with the last frame sent.
                    if shutdown.is_cancelled() {
                        source_open = false;
                        continue;
                    }
                    close(&mut socket, CloseCode::Away, "stream ended").await;
                    return End::SourceEnded;
                }
            }
            message = socket.next() => {
                let message = match message {
                    Some(Ok(message)) => message,
                    // Refused by its header, before it is read.
                    Some(Err(tungstenite::Error::Capacity(_))) => {
                        close(&mut socket, CloseCode::Size, "message too big").await;
                        return End::TooBig;
                    }
                    Some(Err(_)) | None => return End::Client,
                };
                if !inbound.take(Instant::now()) {
                    close(&mut socket, CloseCode::Policy, "too many messages").await;
                    return End::TooManyFrames;
                }
                match message {
                    Message::Pong(_) => awaiting_pong = false,
                    // Answered by tungstenite, through the outlet's queue.
                    Message::Ping(_) => {}
                    Message::Close(_) => {
                        // tungstenite has queued the answering close frame: let it out.
                        let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close()).await;
                        return End::Client;
                    }
                    Message::Text(_) | Message::Binary(_) | Message::Frame(_) => {
                        close(&mut socket, CloseCode::Policy, "clients send nothing here").await;
                        return End::DataMessage;
                    }
                }
            }
            _ = ping.tick() => {
                if awaiting_pong {
                    close(&mut socket, CloseCode::Policy, "no pong").await;
                    return End::NoPong;
                }
                awaiting_pong = true;
                if !bounded(socket.send(Message::Ping(Default::default()))).await {
                    return End::SlowClient;
                }
            }
            () = &mut cancelled, if closing.is_none() => {
                // Each socket closes at its own moment of the window, so the clients' reconnects
                // are spread over it too rather than arriving at once at the next instance.
                closing = Some(Box::pin(tokio::time::sleep(drain.mul_f64(fastrand::f64()))));
            }
            () = until(&mut closing), if closing.is_some() => {
                close(&mut socket, CloseCode::Restart, "service restarting").await;
                return End::Shutdown;
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

/// `false` when the socket is gone or the client stopped reading for [`SEND_TIMEOUT`].
async fn bounded<E>(sending: impl Future<Output = Result<(), E>>) -> bool {
    let mut sending = std::pin::pin!(sending);
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

async fn close(socket: &mut Socket, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // Best effort: the client may already be gone.
    let _ = bounded(socket.send(Message::Close(Some(frame)))).await;
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
