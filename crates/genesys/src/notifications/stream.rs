//! A live stream of queue observations from Genesys Cloud's notification service, kept alive on
//! its own: [`spawn_observation_stream`] creates a channel, subscribes it to
//! `v2.analytics.queues.{id}.observations` for the given queues, reads its WebSocket and yields a
//! [`StreamEvent::Snapshot`] (re-read with the observations query) after every (re)connect, then
//! [`StreamEvent::Update`]s with the `o*` observation metrics as Genesys pushes them.
//!
//! It survives heartbeat silence (ping, then reconnect), `v2.system.socket_closing` (new socket
//! first, then drop the old), drops and connect errors (jittered backoff), channel expiry (a new
//! channel before `expires`), vanished channels (`no_longer_subscribed`, 404) and token expiry
//! (every REST call goes through the client's current token).
//!
//! It is not a cache of queue state: the consumer applies updates to its latest snapshot. The
//! 30-minute aggregates Genesys mixes into the topic, heartbeats and pongs are never yielded.
//!
//! Layout: `supervisor` (connect → subscribe → read → back off → repeat), `session` (one socket),
//! `message` (classifying one message), `plan` (what an ending leads to), `backoff`, `upstream`
//! (the REST calls, through [`GenesysClient`]), `config`.

mod backoff;
mod config;
mod message;
mod plan;
mod session;
mod supervisor;
mod upstream;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::GenesysClient;
use crate::analytics::{MetricUpdate, QueueObservations};

pub use config::{BackoffConfig, StreamConfig};

/// What the stream yields.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// The current observations of every streamed queue, read after each (re)connect: replace
    /// what you hold, since updates may have been missed while disconnected.
    Snapshot(Vec<QueueObservations>),
    /// New values of some observation metrics of one queue, to apply to the last snapshot.
    Update(QueueObservationUpdate),
}

/// One observation notification: new absolute counts for some `o*` metrics of one row (queue-wide
/// or one media type) of one queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueObservationUpdate {
    pub queue_id: Uuid,
    /// `None` for the queue-wide row (user metrics); else the analytics media name (`voice`, …).
    /// Every metric below carries the same value.
    pub media_type: Option<String>,
    /// When Genesys observed these values.
    pub observed_at: OffsetDateTime,
    pub metrics: Vec<MetricUpdate>,
}

impl QueueObservationUpdate {
    /// Applies the update to the matching queue's observations; `false` when none matches.
    pub fn apply_to(self, queues: &mut [QueueObservations]) -> bool {
        let Some(queue) = queues.iter_mut().find(|q| q.queue_id == self.queue_id) else {
            return false;
        };
        queue.replace_row(self.media_type.as_deref(), self.metrics);
        true
    }
}

/// Whether the stream currently has a live socket with a fresh snapshot behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStatus {
    /// Starting, or between connections: data may be stale.
    Disconnected,
    /// A socket is open and a snapshot was read after it opened.
    Connected,
    /// Cancelled; the stream will yield nothing more.
    Stopped,
}

/// The consumer's end of a running stream. Dropping it stops the stream's task.
pub struct ObservationStream {
    events: mpsc::Receiver<StreamEvent>,
    status: watch::Receiver<StreamStatus>,
    skipped: Arc<AtomicU64>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

/// Starts streaming observations of `queues` on a task of its own. It runs until `shutdown` is
/// cancelled or the returned handle is dropped.
pub fn spawn_observation_stream(
    client: GenesysClient,
    queues: Vec<Uuid>,
    config: StreamConfig,
    shutdown: CancellationToken,
) -> ObservationStream {
    let (events_tx, events) = mpsc::channel(config.event_buffer.max(1));
    let (status_tx, status) = watch::channel(StreamStatus::Disconnected);
    let skipped = Arc::new(AtomicU64::new(0));
    // A child token: the handle's drop stops this stream without cancelling the caller's token.
    let stop = shutdown.child_token();
    let supervisor = supervisor::Supervisor::new(
        upstream::Upstream::new(client, queues),
        config,
        supervisor::Outputs {
            events: events_tx,
            status: status_tx,
            skipped: Arc::clone(&skipped),
            shutdown: stop.clone(),
        },
    );
    let task = tokio::spawn(supervisor.run());
    ObservationStream {
        events,
        status,
        skipped,
        stop,
        task: Some(task),
    }
}

impl ObservationStream {
    /// The next event; `None` once the stream has stopped.
    pub async fn next(&mut self) -> Option<StreamEvent> {
        self.events.recv().await
    }

    /// Follows the connection status.
    pub fn status(&self) -> watch::Receiver<StreamStatus> {
        self.status.clone()
    }

    pub fn is_connected(&self) -> bool {
        *self.status.borrow() == StreamStatus::Connected
    }

    /// How many socket messages could not be understood and were skipped.
    pub fn skipped_messages(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Stops the stream and waits until its task has closed the socket and ended.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(%error, "the observation stream task failed");
        }
    }
}

impl Drop for ObservationStream {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
