//! The notification channels that exist right now: their owner token, expiry, topics and the one
//! socket attached to each, plus the channel-level rules Genesys documents (20 channels, 1,000
//! topics, 24 h lifetime extended by subscribing, one socket per channel).
//!
//! It holds no sockets itself, only a [`Connection`] handle to signal one; `socket.rs` runs them.
//! Expired channels and channels whose token is no longer valid are removed lazily, on the next
//! access, so every reader sees the same rules without a reaper task.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::ws::Message;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::auth::{TokenStatus, Tokens};

/// Genesys: "You can create up to 20 channels per user and application". The simulator has a
/// single OAuth client and no users, so the limit covers every channel.
pub const MAX_CHANNELS: usize = 20;
/// Genesys: "Each WebSocket connection is limited to 1,000 topics".
pub const MAX_TOPICS: usize = 1000;

/// Every notification channel, and the simulator-wide switches the control API flips.
#[derive(Default)]
pub struct Channels {
    registry: Mutex<Vec<Channel>>,
    /// While set, sockets send nothing at all (control API `silence`).
    silent: AtomicBool,
    next_connection: AtomicU64,
}

struct Channel {
    id: String,
    /// The bearer token that created it: when that token stops being valid, the channel goes.
    token: String,
    expires_at: Instant,
    expires_wall: OffsetDateTime,
    /// Creation, subscription changes and socket connections; picks the channel a 21st evicts.
    last_used: Instant,
    /// Canonical topic ids, in subscription order, without duplicates.
    topics: Vec<String>,
    connection: Option<Connection>,
    /// Sockets ever accepted on this channel (control API).
    connections: u64,
}

/// What REST answers about a channel.
#[derive(Clone, Debug)]
pub struct ChannelInfo {
    pub id: String,
    pub expires: OffsetDateTime,
    pub topics: Vec<String>,
    pub connected: bool,
    pub connections: u64,
}

/// Why a topic change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TopicsError {
    NotFound,
    TooMany(usize),
}

/// A handle on one accepted socket: its outbound frame queue and the two ways to end it.
#[derive(Clone)]
pub struct Connection {
    pub id: u64,
    outbound: mpsc::Sender<Message>,
    /// Ends the socket with a close frame, after the frames already queued.
    close: CancellationToken,
    close_reason: Arc<OnceLock<&'static str>>,
    /// Ends the socket at once: no close frame, the TCP connection just goes.
    kill: CancellationToken,
}

impl Connection {
    /// Queues a text frame. A reader so slow that the bounded queue is full is cut off rather
    /// than buffered without bound; it reconnects and resynchronises like after any drop.
    pub fn send(&self, text: String) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outbound.try_send(Message::text(text))
        {
            tracing::warn!(
                connection = self.id,
                "notification socket too slow; dropping it"
            );
            self.kill.cancel();
        }
    }

    pub fn close(&self, reason: &'static str) {
        let _ = self.close_reason.set(reason);
        self.close.cancel();
    }

    pub fn kill(&self) {
        self.kill.cancel();
    }

    pub fn close_requested(&self) -> &CancellationToken {
        &self.close
    }

    pub fn killed(&self) -> &CancellationToken {
        &self.kill
    }

    pub fn close_reason(&self) -> &'static str {
        self.close_reason
            .get()
            .copied()
            .unwrap_or("Closed by server")
    }

    /// Queues the close frame itself; `false` when the queue cannot take it.
    pub fn queue_close(&self, frame: Message) -> bool {
        self.outbound.try_send(frame).is_ok()
    }
}

impl Channels {
    /// A handle for a new socket and the receiving end of its outbound queue.
    pub fn new_connection(&self, capacity: usize) -> (Connection, mpsc::Receiver<Message>) {
        let (outbound, receiver) = mpsc::channel(capacity);
        let connection = Connection {
            id: self.next_connection.fetch_add(1, Ordering::Relaxed),
            outbound,
            close: CancellationToken::new(),
            close_reason: Arc::new(OnceLock::new()),
            kill: CancellationToken::new(),
        };
        (connection, receiver)
    }

    pub fn is_silent(&self) -> bool {
        self.silent.load(Ordering::Relaxed)
    }

    pub fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::Relaxed);
    }

    /// Adds a channel owned by `token`; a 21st evicts one (its socket, if any, is closed).
    pub fn create(&self, auth: &Tokens, id: String, token: &str, ttl: Duration) -> ChannelInfo {
        let mut channels = self.live(auth);
        if channels.len() >= MAX_CHANNELS {
            evict_one(&mut channels);
        }
        let now = Instant::now();
        let channel = Channel {
            id,
            token: token.to_owned(),
            expires_at: now + ttl,
            expires_wall: OffsetDateTime::now_utc() + ttl,
            last_used: now,
            topics: Vec::new(),
            connection: None,
            connections: 0,
        };
        let info = channel.info();
        channels.push(channel);
        info
    }

    /// Live channels, oldest first; only `token`'s when given.
    pub fn list(&self, auth: &Tokens, token: Option<&str>) -> Vec<ChannelInfo> {
        self.live(auth)
            .iter()
            .filter(|c| token.is_none_or(|t| c.token == t))
            .map(Channel::info)
            .collect()
    }

    pub fn get(&self, auth: &Tokens, id: &str) -> Option<ChannelInfo> {
        self.live(auth)
            .iter()
            .find(|c| c.id == id)
            .map(Channel::info)
    }

    /// Adds (`replace == false`) or replaces the channel's topics and extends its life by `ttl`.
    ///
    /// `refused` topics of the same request (rejected or ignored) are not kept but still count
    /// toward the 1,000-topic limit: the limit is on what a client asks for.
    pub fn subscribe(
        &self,
        auth: &Tokens,
        id: &str,
        topics: &[String],
        refused: usize,
        replace: bool,
        ttl: Duration,
    ) -> Result<ChannelInfo, TopicsError> {
        let mut channels = self.live(auth);
        let channel = find(&mut channels, id).ok_or(TopicsError::NotFound)?;
        let mut merged = if replace {
            Vec::new()
        } else {
            channel.topics.clone()
        };
        for topic in topics {
            if !merged.contains(topic) {
                merged.push(topic.clone());
            }
        }
        let asked = merged.len() + refused;
        if asked > MAX_TOPICS {
            return Err(TopicsError::TooMany(asked));
        }
        let now = Instant::now();
        channel.topics = merged;
        channel.last_used = now;
        // Genesys: "To maintain a channel for longer than 24 hours, resubscribe to topics".
        channel.expires_at = now + ttl;
        channel.expires_wall = OffsetDateTime::now_utc() + ttl;
        Ok(channel.info())
    }

    /// Removes every topic of one channel (`None` for all channels); returns the channels touched
    /// with their socket, if any.
    pub fn unsubscribe(
        &self,
        auth: &Tokens,
        id: Option<&str>,
    ) -> Result<Vec<(String, Option<Connection>)>, TopicsError> {
        let mut channels = self.live(auth);
        let touched: Vec<_> = channels
            .iter_mut()
            .filter(|c| id.is_none_or(|id| c.id == id))
            .map(|c| {
                c.topics.clear();
                (c.id.clone(), c.connection.clone())
            })
            .collect();
        if id.is_some() && touched.is_empty() {
            return Err(TopicsError::NotFound);
        }
        Ok(touched)
    }

    /// Attaches a new socket to a channel; the socket it replaces, if any, is closed.
    pub fn attach(&self, auth: &Tokens, id: &str, connection: Connection) -> bool {
        let mut channels = self.live(auth);
        let Some(channel) = find(&mut channels, id) else {
            return false;
        };
        channel.connections += 1;
        channel.last_used = Instant::now();
        if let Some(previous) = channel.connection.replace(connection) {
            // Genesys: "If you connect a second WebSocket with the same channel ID, the first
            // WebSocket disconnects".
            previous.close("Another WebSocket connected to this channel");
        }
        true
    }

    /// Forgets a socket that ended, unless a newer one has replaced it already.
    pub fn detach(&self, id: &str, connection: u64) {
        let mut channels = self.lock();
        if let Some(channel) = find(&mut channels, id)
            && channel
                .connection
                .as_ref()
                .is_some_and(|c| c.id == connection)
        {
            channel.connection = None;
            channel.last_used = Instant::now();
        }
    }

    /// The channel's topics while `connection` is still its socket; `None` once it is not.
    pub fn topics_for(&self, auth: &Tokens, id: &str, connection: u64) -> Option<Vec<String>> {
        let mut channels = self.live(auth);
        let channel = find(&mut channels, id)?;
        let current = channel
            .connection
            .as_ref()
            .is_some_and(|c| c.id == connection);
        current.then(|| channel.topics.clone())
    }

    /// Every socket currently attached, with its channel id.
    pub fn connections(&self, auth: &Tokens) -> Vec<(String, Connection)> {
        self.live(auth)
            .iter()
            .filter_map(|c| Some((c.id.clone(), c.connection.clone()?)))
            .collect()
    }

    /// Makes every channel expire now (control API); their sockets close.
    pub fn expire_all(&self, auth: &Tokens) {
        let mut channels = self.lock();
        let now = Instant::now();
        for channel in channels.iter_mut() {
            channel.expires_at = now;
        }
        prune(&mut channels, auth);
    }

    /// Locks the registry after removing channels that are no longer usable.
    fn live(&self, auth: &Tokens) -> MutexGuard<'_, Vec<Channel>> {
        let mut channels = self.lock();
        prune(&mut channels, auth);
        channels
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Channel>> {
        // Plain records; whatever panicked mid-update left nothing that must not be read.
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Channel {
    fn info(&self) -> ChannelInfo {
        ChannelInfo {
            id: self.id.clone(),
            expires: self.expires_wall,
            topics: self.topics.clone(),
            connected: self.connection.is_some(),
            connections: self.connections,
        }
    }
}

fn find<'a>(channels: &'a mut [Channel], id: &str) -> Option<&'a mut Channel> {
    channels.iter_mut().find(|c| c.id == id)
}

/// Removes expired channels and channels whose creating token is no longer valid.
///
/// The token rule is our reading of Genesys's "a channel may close … if the auth token
/// expires": the channel belongs to the token that created it, so once that token has expired or
/// been invalidated the socket is closed and the channel is gone (HEAD answers 404). A client must
/// then get a new token and create a new channel.
fn prune(channels: &mut Vec<Channel>, auth: &Tokens) {
    let now = Instant::now();
    channels.retain(|channel| {
        let reason = if channel.expires_at <= now {
            "Channel expired"
        } else if auth.check(&channel.token) != TokenStatus::Valid {
            "The token that created this channel is no longer valid"
        } else {
            return true;
        };
        if let Some(connection) = &channel.connection {
            connection.close(reason);
        }
        false
    });
}

/// Genesys: "Creating a 21st channel will remove the channel with oldest last used date. Channels
/// without an active connection will be removed first".
fn evict_one(channels: &mut Vec<Channel>) {
    let oldest = |connected: bool| {
        channels
            .iter()
            .enumerate()
            .filter(|(_, c)| c.connection.is_some() == connected)
            .min_by_key(|(_, c)| c.last_used)
            .map(|(index, _)| index)
    };
    let Some(index) = oldest(false).or_else(|| oldest(true)) else {
        return;
    };
    let evicted = channels.remove(index);
    if let Some(connection) = evicted.connection {
        connection.close("Channel removed: too many channels");
    }
}
