//! [`LiveStats`]: the monitored queues' observations as the notification stream keeps them (a
//! snapshot after every (re)connect, updates in between), published as an immutable
//! [`LiveView`] through a `watch` channel, with the seed's `{"queueStats": …}` frame serialised
//! once per change for every WebSocket client.
//!
//! Requests read the current view; they never call Genesys. It is not the EWT (`ewt`), nor the
//! per-queue feeds (`feed`), nor the sockets (`push`).
//!
//! In clustered mode ([`LiveStats::start_clustered`]) the deployment keeps one notification
//! channel: the instance holding the leader lease runs the stream and writes each change (and a
//! heartbeat) to Redis (`leader`); every instance, the leader included, builds its view from
//! Redis (`mirror`, format in `shared`). The view's interface is the same in both modes.

mod leader;
mod mirror;
mod shared;

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use genesys::GenesysClient;
use genesys::QueueObservations;
use genesys::notifications::stream::{
    ObservationStream, StreamConfig, StreamEvent, StreamStatus, spawn_observation_stream,
};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::view::{Freshness, ObservationsView, Stamp};
use crate::cluster::Cluster;
use crate::cluster::lease::{Lease, Term};
use crate::hours::keeper::{HoursAnswer, HoursSnapshot};

/// The live observations of the monitored queues. Cheap to clone.
#[derive(Clone)]
pub struct LiveStats {
    view: watch::Receiver<Arc<LiveView>>,
    /// Keeps the channel open after the stream's consumer has ended at shutdown: a WebSocket
    /// still waiting for its turn to close must not take the closed channel for the end of
    /// the data and close early, with another code.
    _open: Arc<watch::Sender<Arc<LiveView>>>,
    /// In clustered mode: whether this instance holds the lease (and so the stream).
    leadership: Option<watch::Receiver<Option<Term>>>,
}

/// What is known about the monitored queues at one moment. Replaced, never changed.
#[derive(Debug)]
pub struct LiveView {
    /// Configured order.
    queues: Vec<(Uuid, ObservationsView)>,
    /// The stream is connected and a snapshot was read since it (re)connected.
    fresh: bool,
    /// When the data was last known to be current: now while fresh, else when freshness was
    /// lost; `None` before the first snapshot.
    current_at: Option<Stamp>,
    /// `{"queueStats": {…}}`, serialised once for every `/` WebSocket client.
    root_frame: Utf8Bytes,
}

impl LiveView {
    fn new(queues: Vec<(Uuid, ObservationsView)>, fresh: bool, current_at: Option<Stamp>) -> Self {
        let mut view = LiveView {
            queues,
            fresh,
            current_at,
            root_frame: Utf8Bytes::default(),
        };
        view.root_frame = root_frame(&view.queues, view.freshness());
        view
    }

    /// What clients would see differently: freshness, or the frame (counts, `asOf`).
    fn same_as(&self, other: &LiveView) -> bool {
        self.fresh == other.fresh && self.root_frame == other.root_frame
    }

    pub fn observations(&self, queue: Uuid) -> Option<&ObservationsView> {
        self.queues
            .iter()
            .find(|(id, _)| *id == queue)
            .map(|(_, view)| view)
    }

    /// Stale while the stream is down, as of when the data was last known current.
    pub fn freshness(&self) -> Freshness {
        if self.fresh {
            Freshness::Fresh
        } else {
            Freshness::Stale {
                as_of: self.current_at,
            }
        }
    }

    /// The `/` WebSocket frame: `{"queueStats": {"<queueId>": <observations>, …}}`, plus
    /// `"stale": true` and `"asOf"` (RFC 3339) while the stream is down.
    pub fn root_frame(&self) -> Utf8Bytes {
        self.root_frame.clone()
    }

    /// [`LiveView::root_frame`] with the top-level `"hours": {"<queueId>": {…}, …}` of the queues
    /// that have business hours (absent when none has).
    pub fn root_frame_with_hours(&self, hours: &HoursSnapshot) -> Utf8Bytes {
        if hours.answers().is_empty() {
            return self.root_frame();
        }
        serialise_root(&self.queues, self.freshness(), Some(hours.answers()))
    }
}

impl LiveStats {
    /// Starts following `queues` on a task of its own (in `tasks`), which ends when `shutdown`
    /// is cancelled and the notification socket is closed.
    pub fn start(
        client: GenesysClient,
        queues: Vec<Uuid>,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        Self::start_with(client, queues, StreamConfig::default(), shutdown, tasks)
    }

    /// Like [`LiveStats::start`] with the stream's timings chosen by the caller.
    pub fn start_with(
        client: GenesysClient,
        queues: Vec<Uuid>,
        config: StreamConfig,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        let mut tracker = Tracker::new(&queues);
        let (publish, view) = watch::channel(Arc::new(tracker.view(false)));
        let publish = Arc::new(publish);
        let stream = spawn_observation_stream(client, queues, config, shutdown);
        tasks.spawn(follow(stream, tracker, Arc::clone(&publish)));
        LiveStats {
            view,
            _open: publish,
            leadership: None,
        }
    }

    /// Clustered mode: contends for the leader lease and, while holding it, runs the stream and
    /// shares what it learns through Redis; the view follows Redis on every instance. Ends at
    /// `shutdown` (the stream closed first, then the lease released).
    pub fn start_clustered(
        client: GenesysClient,
        queues: Vec<Uuid>,
        config: StreamConfig,
        cluster: Cluster,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        let mirror = mirror::Mirror::new(cluster.clone(), queues.clone());
        let (publish, view) = watch::channel(Arc::new(Tracker::new(&queues).view(false)));
        let publish = Arc::new(publish);
        let lease = Lease::start(cluster.clone(), shared::LEASE_NAME);
        let leadership = lease.leadership();
        let leader = leader::Leader {
            client,
            queues,
            config,
            lease_key: cluster.key(shared::LEASE_NAME),
            cluster,
        };
        tasks.spawn(leader.run(lease, shutdown.clone()));
        tasks.spawn(mirror.run(Arc::clone(&publish), shutdown));
        LiveStats {
            view,
            _open: publish,
            leadership: Some(leadership),
        }
    }

    /// The current view.
    pub fn view(&self) -> Arc<LiveView> {
        Arc::clone(&self.view.borrow())
    }

    /// Follows the view: notified on every visible change.
    pub fn subscribe(&self) -> watch::Receiver<Arc<LiveView>> {
        self.view.clone()
    }

    /// Connected with a snapshot behind it. The stream only connects with a valid token.
    pub fn is_connected(&self) -> bool {
        self.view.borrow().fresh
    }

    /// Clustered mode: whether this instance holds the Genesys stream now; `None` when not
    /// clustered (the one instance always does).
    pub fn is_leader(&self) -> Option<bool> {
        self.leadership
            .as_ref()
            .map(|leadership| leadership.borrow().is_some())
    }
}

/// The stream's consumer: applies events, follows the status, publishes each visible change.
async fn follow(
    mut stream: ObservationStream,
    mut tracker: Tracker,
    publish: Arc<watch::Sender<Arc<LiveView>>>,
) {
    let mut status = stream.status();
    loop {
        tokio::select! {
            event = stream.next() => match event {
                Some(event) => tracker.apply(event),
                None => break,
            },
            changed = status.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
        let connected = *status.borrow_and_update() == StreamStatus::Connected;
        publish_view(&publish, tracker.view(connected));
    }
    publish.send_replace(Arc::new(tracker.view(false)));
    // Shutdown waits for this task: the notification socket must be closed before it ends.
    stream.stop().await;
}

/// Publishes `view`, waking subscribers only for a visible change.
fn publish_view(publish: &watch::Sender<Arc<LiveView>>, view: LiveView) {
    metrics::gauge!("public_stats_live_fresh").set(if view.fresh { 1.0 } else { 0.0 });
    publish.send_if_modified(|current| {
        let visible = !current.same_as(&view);
        *current = Arc::new(view);
        visible
    });
}

/// The consumer's state between events.
struct Tracker {
    queues: Vec<QueueObservations>,
    snapshot_since_connect: bool,
    was_fresh: bool,
    current_at: Option<Stamp>,
}

impl Tracker {
    fn new(queues: &[Uuid]) -> Self {
        Tracker {
            queues: queues
                .iter()
                .map(|id| QueueObservations::new(*id))
                .collect(),
            snapshot_since_connect: false,
            was_fresh: false,
            current_at: None,
        }
    }

    fn apply(&mut self, event: StreamEvent) {
        let kind = match &event {
            StreamEvent::Snapshot(_) => "snapshot",
            StreamEvent::Update(_) => "update",
        };
        metrics::counter!("public_stats_live_events_total", "kind" => kind).increment(1);
        match event {
            StreamEvent::Snapshot(snapshot) => {
                for observed in snapshot {
                    if let Some(slot) = self
                        .queues
                        .iter_mut()
                        .find(|q| q.queue_id == observed.queue_id)
                    {
                        *slot = observed;
                    }
                }
                self.snapshot_since_connect = true;
            }
            StreamEvent::Update(update) => {
                update.apply_to(&mut self.queues);
            }
        }
    }

    /// The view to publish; moves `current_at` forward while fresh and at the moment freshness
    /// is lost.
    fn view(&mut self, connected: bool) -> LiveView {
        if !connected {
            // Whatever arrives after this is only current once a new snapshot has been read.
            self.snapshot_since_connect = false;
        }
        let fresh = connected && self.snapshot_since_connect;
        if fresh || self.was_fresh {
            self.current_at = Some(Stamp::now());
        }
        self.was_fresh = fresh;
        let queues: Vec<(Uuid, ObservationsView)> = self
            .queues
            .iter()
            .map(|q| (q.queue_id, ObservationsView::of(q)))
            .collect();
        LiveView::new(queues, fresh, self.current_at)
    }
}

/// The seed's push message. `queueStats` keeps the configured queue order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RootFrame<'a> {
    queue_stats: ById<'a, ObservationsView>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stale: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    as_of: Option<OffsetDateTime>,
    /// The business hours of the queues that have them; their staleness is inside each.
    #[serde(skip_serializing_if = "Option::is_none")]
    hours: Option<ById<'a, HoursAnswer>>,
}

/// A map from queue ID to `T`, in the given order.
struct ById<'a, T>(&'a [(Uuid, T)]);

impl<T: Serialize> Serialize for ById<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(id, value)| (id, value)))
    }
}

fn root_frame(queues: &[(Uuid, ObservationsView)], freshness: Freshness) -> Utf8Bytes {
    serialise_root(queues, freshness, None)
}

fn serialise_root(
    queues: &[(Uuid, ObservationsView)],
    freshness: Freshness,
    hours: Option<&[(Uuid, HoursAnswer)]>,
) -> Utf8Bytes {
    let (stale, as_of) = freshness.stale_as_of();
    let frame = RootFrame {
        queue_stats: ById(queues),
        stale,
        as_of,
        hours: hours.map(ById),
    };
    match serde_json::to_string(&frame) {
        Ok(json) => Utf8Bytes::from(json),
        // Plain structs of numbers and UUIDs always serialise; an empty object is a safe floor.
        Err(error) => {
            tracing::error!(%error, "could not serialise the queue statistics frame");
            Utf8Bytes::from_static("{\"queueStats\":{}}")
        }
    }
}

#[cfg(test)]
mod tests {
    use genesys::MetricUpdate;
    use serde_json::Value;

    use super::*;

    const SALES: Uuid = uuid::uuid!("1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01");

    fn frame(view: &LiveView) -> Value {
        serde_json::from_str(view.root_frame.as_str()).unwrap()
    }

    #[test]
    fn a_snapshot_while_connected_is_fresh_and_the_frame_carries_it() {
        let mut tracker = Tracker::new(&[SALES]);
        assert!(!tracker.view(true).fresh, "connected but no snapshot yet");
        let mut observed = QueueObservations::new(SALES);
        observed.apply(MetricUpdate::from_count("oWaiting", None, Some("voice"), 3.0).unwrap());
        tracker.apply(StreamEvent::Snapshot(vec![observed]));
        let view = tracker.view(true);
        assert!(view.fresh);
        let json = frame(&view);
        assert_eq!(json["queueStats"][SALES.to_string()]["voice"]["waiting"], 3);
        assert!(
            json.get("stale").is_none() && json.get("asOf").is_none(),
            "{json}"
        );
    }

    #[test]
    fn losing_the_stream_marks_the_data_stale_as_of_that_moment() {
        let mut tracker = Tracker::new(&[SALES]);
        assert!(
            frame(&tracker.view(false)).get("asOf").is_none(),
            "never current"
        );
        tracker.apply(StreamEvent::Snapshot(vec![QueueObservations::new(SALES)]));
        tracker.view(true);
        tracker.snapshot_since_connect = false;
        let view = tracker.view(false);
        assert!(!view.fresh);
        assert!(matches!(
            view.freshness(),
            Freshness::Stale { as_of: Some(_) }
        ));
        let json = frame(&view);
        assert_eq!(json["stale"], true);
        assert!(json["asOf"].is_string(), "{json}");
    }
}
