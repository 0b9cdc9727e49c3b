//! Per-queue live feeds behind `GET /api/stats/{queueId}/live`: one refresher task per (queue,
//! media type), started by the first subscriber and stopped when the last one leaves. It
//! re-reads the EWT through the [`EwtCache`] as each cache entry expires, follows the live
//! observations, and publishes a frame — serialised once for all subscribers — only when it
//! differs from the previous one.
//!
//! The frame (one JSON text message):
//! `{"queueId":"…","observations":{…seed shape…},"ewt":8}`; `ewt` is `-1` when unknown. When
//! something is not current it also carries `"stale":true`, with `"observationsAsOf"` and/or
//! `"ewtAsOf"` (RFC 3339: when that part was last current, absent if it never was). A queue with
//! business hours also has `"hours":{…}` (its own `stale`/`asOf` inside), and gets a frame at the
//! instant it opens or closes.
//!
//! It is not the socket handling (`push`); a feed with no subscriber costs nothing.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio_util::task::TaskTracker;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::ewt::{EwtCache, EwtKey, EwtReading};
use super::live::{LiveStats, LiveView};
use super::view::ObservationsView;
use crate::hours::keeper::{HoursAnswer, HoursKeeper, HoursSnapshot};
use crate::push::{Fanout, TextFrame};

type Registry = Mutex<HashMap<EwtKey, Weak<Feed>>>;

/// The running feeds, by what they serve, and what a new one is built from. Cheap to clone.
#[derive(Clone)]
pub struct QueueFeeds {
    running: Arc<Registry>,
    live: LiveStats,
    ewt: EwtCache,
    hours: HoursKeeper,
    /// Refreshers stop when it is cancelled, and are tracked so shutdown can wait for them.
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// One (queue, media type)'s frames. Subscribers hold an `Arc`; the last one to drop it stops the
/// refresher.
pub struct Feed {
    key: EwtKey,
    fanout: Arc<Fanout>,
    stop: CancellationToken,
    registry: Weak<Registry>,
}

impl Feed {
    /// The sockets the frames go to (none until the first EWT reading).
    pub fn fanout(&self) -> Arc<Fanout> {
        Arc::clone(&self.fanout)
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(registry) = self.registry.upgrade() {
            let mut running = registry.lock().unwrap_or_else(PoisonError::into_inner);
            // A newer feed for the same key may already be registered: remove only a dead entry.
            if running
                .get(&self.key)
                .is_some_and(|w| w.strong_count() == 0)
            {
                running.remove(&self.key);
            }
        }
    }
}

impl QueueFeeds {
    pub fn new(
        live: LiveStats,
        ewt: EwtCache,
        hours: HoursKeeper,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        QueueFeeds {
            running: Arc::default(),
            live,
            ewt,
            hours,
            shutdown,
            tasks,
        }
    }

    /// Joins the feed for `key`, starting it if nobody is subscribed.
    pub fn subscribe(&self, key: EwtKey) -> Arc<Feed> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(feed) = running.get(&key).and_then(Weak::upgrade) {
            return feed;
        }
        let (publish, frames) = watch::channel(None);
        let stop = self.shutdown.child_token();
        let refresher = Refresher {
            key,
            ewt: self.ewt.clone(),
            live: self.live.subscribe(),
            hours: self.hours.subscribe(),
            publish,
        };
        self.tasks.spawn(refresher.run(stop.clone()));
        let feed = Arc::new(Feed {
            key,
            fanout: Fanout::follow(frames, Clone::clone),
            stop,
            registry: Arc::downgrade(&self.running),
        });
        running.insert(key, Arc::downgrade(&feed));
        feed
    }

    /// How many feeds are running (for tests and metrics).
    pub fn running(&self) -> usize {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        running.values().filter(|w| w.strong_count() > 0).count()
    }
}

struct Refresher {
    key: EwtKey,
    ewt: EwtCache,
    live: watch::Receiver<Arc<LiveView>>,
    hours: watch::Receiver<Arc<HoursSnapshot>>,
    publish: watch::Sender<Option<TextFrame>>,
}

type Reading = Pin<Box<dyn Future<Output = EwtReading> + Send>>;

impl Refresher {
    async fn run(mut self, stop: CancellationToken) {
        let mut next = self.read_at(Instant::now());
        let mut reading: Option<EwtReading> = None;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                fresh = &mut next => {
                    let expires = Instant::from_std(self.ewt.expires_at(&fresh));
                    // A little after expiry, so the cache asks Genesys instead of answering.
                    next = self.read_at(expires.max(Instant::now()) + EXPIRY_MARGIN);
                    reading = Some(fresh);
                }
                changed = self.live.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                changed = self.hours.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
            if let Some(reading) = &reading {
                self.publish_if_changed(reading);
            }
        }
    }

    fn read_at(&self, at: Instant) -> Reading {
        let (ewt, key) = (self.ewt.clone(), self.key);
        Box::pin(async move {
            tokio::time::sleep_until(at).await;
            ewt.get(key).await
        })
    }

    fn publish_if_changed(&mut self, reading: &EwtReading) {
        let view = Arc::clone(&self.live.borrow_and_update());
        let hours = Arc::clone(&self.hours.borrow_and_update());
        let frame = queue_frame(self.key.queue, &view, reading, &hours);
        self.publish.send_if_modified(|current| {
            let changed = current.as_ref() != Some(&frame);
            if changed {
                *current = Some(frame);
            }
            changed
        });
    }
}

/// How long after an entry's expiry the refresher reads again.
const EXPIRY_MARGIN: std::time::Duration = std::time::Duration::from_millis(20);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueFrame<'a> {
    queue_id: Uuid,
    observations: &'a ObservationsView,
    ewt: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stale: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    observations_as_of: Option<OffsetDateTime>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    ewt_as_of: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hours: Option<&'a HoursAnswer>,
}

fn queue_frame(
    queue: Uuid,
    view: &LiveView,
    reading: &EwtReading,
    hours: &HoursSnapshot,
) -> TextFrame {
    let empty = ObservationsView::default();
    let observations = view.observations(queue).unwrap_or(&empty);
    let (observations_stale, observations_as_of) = view.freshness().stale_as_of();
    let (ewt_stale, ewt_as_of) = reading.freshness.stale_as_of();
    let frame = QueueFrame {
        queue_id: queue,
        observations,
        ewt: reading.wire_seconds(),
        stale: observations_stale || ewt_stale,
        observations_as_of,
        ewt_as_of,
        hours: hours.answer(queue),
    };
    match serde_json::to_string(&frame) {
        Ok(json) => TextFrame::new(&json),
        Err(error) => {
            tracing::error!(%error, "could not serialise a queue frame");
            TextFrame::new("{}")
        }
    }
}
