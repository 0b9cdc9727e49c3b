//! What every handler shares, built once by `startup` and passed explicitly (axum `State`).
//!
//! Each part has one owner and a narrow interface: the public queues (the allow-list), the live
//! observations, the EWT cache, the business hours, the frames and per-queue feeds built from
//! those, and the callback submitter. Handlers take only the part they need through axum's [`FromRef`] sub-states, so a
//! capability module depends on its own types, not on this whole struct. A shared (multi-instance)
//! backend would stand behind those same types.

use std::sync::Arc;

use axum::extract::FromRef;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::callbacks::CallbackDesk;
use crate::cluster::Cluster;
use crate::config::Settings;
use crate::health::Readiness;
use crate::hours::keeper::HoursKeeper;
use crate::origin::OriginRules;
use crate::push::Admission;
use crate::queues::PublicQueues;
use crate::sandbox::Sandbox;
use crate::stats::{EwtCache, LiveStats, QueueFeeds, RootFrames};

/// Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    /// The monitored queues: the only ones any endpoint will talk about.
    pub queues: PublicQueues,
    pub live: LiveStats,
    pub ewt: EwtCache,
    /// The monitored queues' business hours (none when not configured).
    pub hours: HoursKeeper,
    /// The per-queue live feeds (`/api/stats/{queueId}/live`), fed by `live`, `ewt` and `hours`.
    pub feeds: QueueFeeds,
    /// The `/` WebSocket's frames, made from `live` and `hours`.
    pub root_frames: RootFrames,
    /// Where callback requests are accepted and stored (the relay delivers them).
    pub callbacks: CallbackDesk,
    /// Whose pages are admitted (the service's own origin and `ALLOWED_ORIGINS`).
    pub origins: OriginRules,
    /// Who may open a push WebSocket, and the places taken.
    pub sockets: Admission,
    /// Present in sandbox mode: the in-process simulator.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Present in clustered mode (`REDIS_URL`): the link to Redis the shared parts use.
    pub cluster: Option<Cluster>,
    /// Cancelled at shutdown; long-lived tasks (WebSockets, feeds, the stream) watch it.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket and feed tasks so shutdown can wait for them (axum's graceful shutdown
    /// does not).
    pub tasks: TaskTracker,
    /// What `/readyz` says: serving, or not (yet, or any more).
    pub readiness: Readiness,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }
}

impl FromRef<AppState> for PublicQueues {
    fn from_ref(state: &AppState) -> Self {
        state.queues.clone()
    }
}

impl FromRef<AppState> for LiveStats {
    fn from_ref(state: &AppState) -> Self {
        state.live.clone()
    }
}

impl FromRef<AppState> for EwtCache {
    fn from_ref(state: &AppState) -> Self {
        state.ewt.clone()
    }
}

impl FromRef<AppState> for HoursKeeper {
    fn from_ref(state: &AppState) -> Self {
        state.hours.clone()
    }
}

impl FromRef<AppState> for QueueFeeds {
    fn from_ref(state: &AppState) -> Self {
        state.feeds.clone()
    }
}

impl FromRef<AppState> for Readiness {
    fn from_ref(state: &AppState) -> Self {
        state.readiness.clone()
    }
}

impl FromRef<AppState> for Option<Cluster> {
    fn from_ref(state: &AppState) -> Self {
        state.cluster.clone()
    }
}

impl FromRef<AppState> for CallbackDesk {
    fn from_ref(state: &AppState) -> Self {
        state.callbacks.clone()
    }
}
