//! The notification WebSocket at `/channels/{channelId}`: heartbeats, ping/pong,
//! and the observation and aggregate events of the channel's `v2.analytics.queues.{id}.observations`
//! topics, throttled to one observation event per queue per `observation_min_interval`.
//!
//! It is not the subscription API: topics are read from the registry whenever they matter, so a
//! REST change applies to the socket at once. Outbound frames go through a bounded queue drained by
//! a writer task; a reader that falls that far behind is dropped (see [`Connection::send`]).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at, sleep_until};
use uuid::Uuid;

use super::registry::Connection;
use super::{messages, rest};
use crate::model::{MediaType, ModelEvent};
use crate::state::SimState;

/// Frames a socket may have queued before its reader counts as too slow.
const OUTBOUND_CAPACITY: usize = 256;
/// How often a socket re-checks that its channel and token are still valid. Removals the
/// simulator itself makes (eviction, control API) close the socket at once; this only bounds how
/// late an expiry that nobody looked at is noticed.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);
/// How long a closing socket may take to flush its queue and close frame before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// `GET /channels/{channelId}`: 404 (before any upgrade) unless the channel is live.
///
/// The socket is attached to its channel before the `101` goes out, so that once a client sees
/// the handshake succeed the channel counts as connected (eviction, `connected`, a second socket).
pub async fn connect(
    State(state): State<SimState>,
    Path(channel_id): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if state.notifications.get(&state.auth, &channel_id).is_none() {
        return rest::channel_not_found(&channel_id).into_response();
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let (connection, outbound) = state.notifications.new_connection(OUTBOUND_CAPACITY);
    if !state
        .notifications
        .attach(&state.auth, &channel_id, connection.clone())
    {
        return rest::channel_not_found(&channel_id).into_response();
    }
    let (failed_state, failed_channel, failed_id) =
        (state.clone(), channel_id.clone(), connection.id);
    upgrade
        .on_failed_upgrade(move |_| {
            failed_state
                .notifications
                .detach(&failed_channel, failed_id)
        })
        .on_upgrade(move |socket| serve(state, channel_id, connection, outbound, socket))
        .into_response()
}

/// How a socket's session ended.
enum End {
    /// The server closes: queued frames, then a close frame.
    Close(&'static str),
    /// Dropped without a close frame (control API, slow reader).
    Kill,
    /// The client closed or vanished.
    ClientGone,
}

async fn serve(
    state: SimState,
    channel_id: String,
    connection: Connection,
    outbound: mpsc::Receiver<Message>,
    socket: WebSocket,
) {
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write_frames(sink, outbound, connection.clone()));
    let end = Session::new(state.clone(), channel_id.clone(), connection.clone())
        .run(stream)
        .await;
    state.notifications.detach(&channel_id, connection.id);
    finish(end, &connection, writer).await;
}

async fn finish(end: End, connection: &Connection, writer: tokio::task::JoinHandle<()>) {
    match end {
        End::Close(reason) => {
            let frame = Message::Close(Some(CloseFrame {
                code: 1000,
                reason: reason.into(),
            }));
            if !connection.queue_close(frame) {
                connection.kill();
            }
        }
        End::Kill | End::ClientGone => connection.kill(),
    }
    if tokio::time::timeout(CLOSE_GRACE, writer).await.is_err() {
        connection.kill();
    }
}

/// Drains the outbound queue into the socket until a close frame, a kill or a failed write.
async fn write_frames(
    mut sink: SplitSink<WebSocket, Message>,
    mut outbound: mpsc::Receiver<Message>,
    connection: Connection,
) {
    let killed = connection.killed().clone();
    loop {
        let message = tokio::select! {
            _ = killed.cancelled() => return,
            message = outbound.recv() => match message {
                Some(message) => message,
                None => return,
            },
        };
        let closing = matches!(message, Message::Close(_));
        let sent = tokio::select! {
            _ = killed.cancelled() => return,
            sent = sink.send(message) => sent,
        };
        if sent.is_err() || closing {
            return;
        }
    }
}

/// Observation throttling state of one queue on one socket.
#[derive(Default)]
struct QueueFeed {
    last_sent: Option<Instant>,
    pending: bool,
    /// Media types that changed since the last event, so that a drop to 0 is reported however the
    /// client learnt the number before (an earlier event, or a snapshot it read itself).
    changed: Changed,
}

struct Session {
    state: SimState,
    channel_id: String,
    connection: Connection,
    feeds: HashMap<Uuid, QueueFeed>,
}

impl Session {
    fn new(state: SimState, channel_id: String, connection: Connection) -> Self {
        Session {
            state,
            channel_id,
            connection,
            feeds: HashMap::new(),
        }
    }

    async fn run(mut self, mut stream: SplitStream<WebSocket>) -> End {
        let mut heartbeat = ticker(self.state.config.heartbeat_interval);
        let mut aggregate = ticker(self.state.config.aggregate_interval);
        let mut watch = ticker(WATCH_INTERVAL);
        let mut events = self.state.subscribe_events();
        let close = self.connection.close_requested().clone();
        let killed = self.connection.killed().clone();
        let shutdown = self.state.shutdown.clone();
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                _ = killed.cancelled() => return End::Kill,
                _ = close.cancelled() => return End::Close(self.connection.close_reason()),
                _ = shutdown.cancelled() => return End::Close("Server shutting down"),
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.on_text(&text),
                    // Answer a client's close frame so its closing handshake completes.
                    Some(Ok(Message::Close(_))) => return End::Close("Closed by client"),
                    Some(Err(_)) | None => return End::ClientGone,
                    Some(Ok(_)) => {}
                },
                _ = heartbeat.tick() => self.send(messages::heartbeat()),
                _ = aggregate.tick() => self.send_aggregates(),
                _ = watch.tick() => self.check_channel(),
                event = events.recv() => self.on_model_event(event),
                _ = sleep_until_some(deadline) => self.flush_due(),
            }
        }
    }

    /// Sends a frame unless the control API silenced every socket.
    fn send(&self, text: String) {
        if !self.state.notifications.is_silent() {
            self.connection.send(text);
        }
    }

    fn on_text(&self, text: &str) {
        let ping = serde_json::from_str::<serde_json::Value>(text)
            .is_ok_and(|v| v.get("message").and_then(|m| m.as_str()) == Some("ping"));
        if ping {
            self.send(messages::pong());
        }
    }

    /// The queues of this channel's observation topics; `None` once this socket is not the
    /// channel's any more (the registry has then already asked it to close).
    fn subscribed_queues(&self) -> Option<Vec<Uuid>> {
        let topics = self.state.notifications.topics_for(
            &self.state.auth,
            &self.channel_id,
            self.connection.id,
        )?;
        Some(
            topics
                .iter()
                .filter_map(|t| messages::observed_queue(t))
                .collect(),
        )
    }

    fn check_channel(&self) {
        // Looking the channel up prunes it when expired or its token died, which closes us.
        let _ = self.subscribed_queues();
    }

    fn on_model_event(&mut self, event: Result<ModelEvent, broadcast::error::RecvError>) {
        let changed: Vec<(Uuid, Changed)> = match event {
            Ok(ModelEvent::QueueChanged { queue_id, media }) => {
                vec![(queue_id, Changed::Some(media.into_iter().collect()))]
            }
            Ok(_) | Err(broadcast::error::RecvError::Closed) => return,
            // Missed events: any queue and any media type may have changed.
            Err(broadcast::error::RecvError::Lagged(_)) => self
                .state
                .model()
                .queue_ids()
                .into_iter()
                .map(|queue| (queue, Changed::All))
                .collect(),
        };
        let subscribed = self.subscribed_queues().unwrap_or_default();
        for (queue, media) in changed.into_iter().filter(|(q, _)| subscribed.contains(q)) {
            let feed = self.feeds.entry(queue).or_default();
            feed.pending = true;
            feed.changed.add(media);
        }
        self.flush_due();
    }

    /// When the earliest pending queue may send again.
    fn next_deadline(&self) -> Option<Instant> {
        let gap = self.state.config.observation_min_interval;
        self.feeds
            .values()
            .filter(|f| f.pending)
            .map(|f| f.last_sent.map_or_else(Instant::now, |t| t + gap))
            .min()
    }

    /// Sends one observation event for every pending queue whose minimum gap has passed.
    fn flush_due(&mut self) {
        let gap = self.state.config.observation_min_interval;
        let now = Instant::now();
        let due: Vec<Uuid> = self
            .feeds
            .iter()
            .filter(|(_, f)| f.pending && f.last_sent.is_none_or(|t| now >= t + gap))
            .map(|(q, _)| *q)
            .collect();
        if due.is_empty() {
            return;
        }
        let subscribed = self.subscribed_queues().unwrap_or_default();
        for queue in due {
            self.send_observations(queue, subscribed.contains(&queue), now);
        }
    }

    fn send_observations(&mut self, queue: Uuid, subscribed: bool, now: Instant) {
        let snapshot = self.state.model().queue_snapshot(queue);
        let silent = self.state.notifications.is_silent();
        let feed = self.feeds.entry(queue).or_default();
        feed.pending = false;
        let Some(snapshot) = snapshot.filter(|_| subscribed && !silent) else {
            return;
        };
        let changed = std::mem::take(&mut feed.changed);
        let frames = messages::observation_events(
            &snapshot,
            |media| changed.contains(media),
            OffsetDateTime::now_utc(),
        );
        feed.last_sent = Some(now);
        for frame in frames {
            self.connection.send(frame);
        }
    }

    fn send_aggregates(&self) {
        let now = OffsetDateTime::now_utc();
        for queue in self.subscribed_queues().unwrap_or_default() {
            self.send(messages::aggregate_event(queue, now));
        }
    }
}

/// Which media types of a queue changed since its last event.
#[derive(Default)]
enum Changed {
    #[default]
    None,
    Some(BTreeSet<MediaType>),
    /// Unknown (events were missed): report every media type.
    All,
}

impl Changed {
    fn add(&mut self, more: Changed) {
        *self = match (std::mem::take(self), more) {
            (Changed::All, _) | (_, Changed::All) => Changed::All,
            (Changed::None, other) | (other, Changed::None) => other,
            (Changed::Some(mut a), Changed::Some(b)) => {
                a.extend(b);
                Changed::Some(a)
            }
        };
    }

    fn contains(&self, media: MediaType) -> bool {
        match self {
            Changed::None => false,
            Changed::Some(set) => set.contains(&media),
            Changed::All => true,
        }
    }
}

/// An interval whose first tick is one period from now (no burst at connect), skipping missed
/// ticks rather than catching up.
fn ticker(period: Duration) -> Interval {
    let period = period.max(Duration::from_millis(1));
    let mut interval = interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
