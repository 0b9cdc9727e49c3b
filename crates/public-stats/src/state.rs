//! What every handler shares, built once by `startup` and passed explicitly (axum `State`).

use std::sync::Arc;

use genesys::GenesysClient;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::queues::PublicQueues;
use crate::sandbox::Sandbox;
use crate::stats::{EwtCache, LiveStats};

/// Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    /// The monitored queues: the only ones any endpoint will talk about.
    pub queues: PublicQueues,
    pub client: GenesysClient,
    pub live: LiveStats,
    pub ewt: EwtCache,
    /// Present in sandbox mode: the in-process simulator.
    pub sandbox: Option<Arc<Sandbox>>,
    /// Cancelled at shutdown; long-lived tasks (WebSockets, feeds, the stream) watch it.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket and feed tasks so shutdown can wait for them (axum's graceful shutdown
    /// does not).
    pub tasks: TaskTracker,
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
