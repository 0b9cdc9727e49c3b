//! One WebSocket on one channel: opening it (with limits sized for a single small upstream socket)
//! and reading it until something ends it — silence, a system message, a drop, the channel's
//! renewal time or shutdown — while forwarding observation updates to the consumer.
//!
//! It does not decide what happens after; it reports an [`Ended`] and the supervisor consults
//! `plan.rs`. It never logs the `connectUri`: the URI alone lets anyone read the channel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::StreamEvent;
use super::config::StreamConfig;
use super::message::{self, Incoming};
use super::plan::Ended;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The health-check message Genesys answers with a `channel.metadata` pong.
const PING: &str = r#"{"message":"ping"}"#;
/// How long a polite close of a socket we are done with may take before it is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("the notification WebSocket did not open in time")]
    Timeout,
    // tungstenite's errors carry the status or I/O cause, never the request URI.
    #[error("the notification WebSocket could not be opened")]
    WebSocket(#[source] tungstenite::Error),
}

/// Opens the channel's socket. Inbound messages and frames are capped at `max_message_size`;
/// buffers are small because one socket carries at most a few events a second.
pub(crate) async fn connect(
    connect_uri: &str,
    config: &StreamConfig,
    connector: Option<tokio_tungstenite::Connector>,
) -> Result<Socket, ConnectError> {
    let limits = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    let opening = tokio_tungstenite::connect_async_tls_with_config(
        connect_uri,
        Some(limits),
        true,
        connector,
    );
    match timeout(config.connect_timeout, opening).await {
        Err(_) => Err(ConnectError::Timeout),
        Ok(Err(error)) => Err(ConnectError::WebSocket(error)),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

/// Closes a socket we no longer need, politely if it answers quickly.
pub(crate) async fn close(mut socket: Socket) {
    let _ = timeout(CLOSE_TIMEOUT, socket.close(None)).await;
}

/// How a session ended, and what is left of it.
pub(crate) struct SessionEnd {
    pub(crate) ended: Ended,
    /// Whether the socket delivered at least one message: the backoff resets after such a one.
    pub(crate) healthy: bool,
    /// The still-open socket when the replacement must be opened before it is dropped.
    pub(crate) socket: Option<Socket>,
}

/// Where a session sends what it reads, and what can stop it.
pub(crate) struct Outlet<'a> {
    pub(crate) events: &'a mpsc::Sender<StreamEvent>,
    pub(crate) shutdown: &'a CancellationToken,
    pub(crate) skipped: &'a AtomicU64,
}

/// The silence watchdog: quiet for `silence_timeout` → ping; still quiet after `ping_grace` → give up.
struct Watchdog {
    silence: Duration,
    grace: Duration,
    deadline: Instant,
    pinged: bool,
}

impl Watchdog {
    fn new(config: &StreamConfig) -> Self {
        Watchdog {
            silence: config.silence_timeout,
            grace: config.ping_grace,
            deadline: Instant::now() + config.silence_timeout,
            pinged: false,
        }
    }

    fn heard(&mut self) {
        self.deadline = Instant::now() + self.silence;
        self.pinged = false;
    }

    fn pinged(&mut self) {
        self.deadline = Instant::now() + self.grace;
        self.pinged = true;
    }
}

/// Reads `socket` until something ends the session; `renew_at` is when the channel must be replaced.
pub(crate) async fn serve(
    mut socket: Socket,
    config: &StreamConfig,
    renew_at: Instant,
    out: Outlet<'_>,
) -> SessionEnd {
    let mut watchdog = Watchdog::new(config);
    let mut healthy = false;
    let ended = loop {
        let step = tokio::select! {
            biased;
            () = out.shutdown.cancelled() => Some(Ended::Cancelled),
            () = sleep_until(renew_at) => Some(Ended::ChannelExpiring),
            () = sleep_until(watchdog.deadline) => on_silence(&mut socket, &mut watchdog).await,
            frame = socket.next() => match frame {
                Some(Ok(frame)) => {
                    watchdog.heard();
                    healthy = true;
                    on_frame(frame, &out).await
                }
                Some(Err(error)) => {
                    tracing::info!(%error, "notification socket failed");
                    Some(Ended::Dropped)
                }
                None => Some(Ended::Dropped),
            },
        };
        if let Some(ended) = step {
            break ended;
        }
    };
    finish(socket, ended, healthy).await
}

async fn finish(socket: Socket, ended: Ended, healthy: bool) -> SessionEnd {
    let keep = matches!(ended, Ended::SocketClosing | Ended::ChannelExpiring);
    let socket = if keep {
        Some(socket)
    } else {
        close(socket).await;
        None
    };
    SessionEnd {
        ended,
        healthy,
        socket,
    }
}

async fn on_silence(socket: &mut Socket, watchdog: &mut Watchdog) -> Option<Ended> {
    if watchdog.pinged {
        tracing::info!("notification socket silent after a ping; reconnecting");
        return Some(Ended::Silence);
    }
    tracing::debug!("notification socket silent; sending a ping");
    watchdog.pinged();
    match socket.send(Message::text(PING)).await {
        Ok(()) => None,
        Err(error) => {
            tracing::info!(%error, "could not ping the notification socket");
            Some(Ended::Dropped)
        }
    }
}

/// Handles one frame; `Some` when it ends the session.
async fn on_frame(frame: Message, out: &Outlet<'_>) -> Option<Ended> {
    match frame {
        Message::Text(text) => on_text(text.as_str(), out).await,
        Message::Close(_) => Some(Ended::Dropped),
        // tungstenite answers pings itself; binary frames are not part of the protocol.
        Message::Binary(_) => {
            skip(out, "binary frame");
            None
        }
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
    }
}

async fn on_text(text: &str, out: &Outlet<'_>) -> Option<Ended> {
    match message::parse(text) {
        Ok(Incoming::Metadata) => None,
        Ok(Incoming::Ignored(why)) => {
            tracing::trace!(why, "notification ignored");
            None
        }
        Ok(Incoming::SocketClosing) => {
            tracing::info!("Genesys announced the notification socket is closing");
            Some(Ended::SocketClosing)
        }
        Ok(Incoming::ChannelGone) => {
            tracing::info!("the notification channel no longer delivers");
            Some(Ended::ChannelGone)
        }
        Ok(Incoming::Observation(update)) => deliver(StreamEvent::Update(update), out).await.err(),
        Err(error) => {
            skip(out, &error.to_string());
            None
        }
    }
}

fn skip(out: &Outlet<'_>, why: &str) {
    let skipped = out.skipped.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::debug!(why, skipped, "skipped a notification message");
}

/// Hands an event to the consumer, waiting for room; `Err(Cancelled)` when nobody will read it.
pub(crate) async fn deliver(event: StreamEvent, out: &Outlet<'_>) -> Result<(), Ended> {
    tokio::select! {
        biased;
        () = out.shutdown.cancelled() => Err(Ended::Cancelled),
        sent = out.events.send(event) => sent.map_err(|_| Ended::Cancelled),
    }
}
