//! TODO: live statistics and the EWT cache.

use std::time::Duration;

use axum::Router;
use genesys::GenesysClient;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::state::AppState;

pub struct LiveStats {}

impl LiveStats {
    pub fn start(_client: GenesysClient, _queues: Vec<Uuid>, _shutdown: CancellationToken) -> Self {
        LiveStats {}
    }

    pub fn is_connected(&self) -> bool {
        false
    }
}

pub struct EwtCache {}

impl EwtCache {
    pub fn new(_client: GenesysClient, _ttl: Duration) -> Self {
        EwtCache {}
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
}
