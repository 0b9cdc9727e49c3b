//! The stream's knobs: heartbeat watchdog, reconnect backoff, channel renewal and socket limits.
//! Defaults follow Genesys's documented behaviour; tests shrink the timings to milliseconds.
//! Plain values only: the logic that uses them is in `plan`, `backoff` and `session`.

use std::time::Duration;

pub use super::backoff::BackoffConfig;

/// Configuration of an observation stream. `StreamConfig::default()` suits Genesys Cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamConfig {
    /// With no message at all (event, heartbeat, pong) for this long, the stream sends
    /// `{"message":"ping"}`. Genesys sends a heartbeat every 30 s, so 90 s is three missed ones.
    pub silence_timeout: Duration,
    /// How long after that ping a message must arrive before the socket is given up.
    pub ping_grace: Duration,
    /// Delays between reconnect attempts after a failure.
    pub backoff: BackoffConfig,
    /// A channel is replaced after this fraction of its lifetime (from creation to `expires`)…
    pub renew_fraction: f64,
    /// …or this long before `expires`, whichever comes first (when the lifetime is long enough).
    pub renew_margin: Duration,
    /// Limit for opening the WebSocket (TCP, TLS and upgrade).
    pub connect_timeout: Duration,
    /// Largest accepted message or frame; Genesys's observation events are a few KiB.
    pub max_message_size: usize,
    /// Events buffered for the consumer before the stream stops reading the socket.
    pub event_buffer: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            silence_timeout: Duration::from_secs(90),
            ping_grace: Duration::from_secs(10),
            backoff: BackoffConfig::default(),
            renew_fraction: 0.9,
            renew_margin: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            max_message_size: 1 << 20,
            event_buffer: 64,
        }
    }
}
