//! While Redis is out of reach, how often a shared part tries it again: one request every
//! [`PROBE_EVERY`], the others going straight to the part's fallback instead of each waiting for
//! a connection timeout. A success anywhere (`Cluster::record`) ends the outage for every part.
//!
//! It is not the reconnecting itself: the `redis` connection manager does that.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::Cluster;

/// While Redis is unreachable, how often one request tries it again.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);

/// One part's probe timer.
#[derive(Debug)]
pub struct Probe {
    next: Mutex<Instant>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            next: Mutex::new(Instant::now()),
        }
    }
}

impl Probe {
    /// Whether to ask Redis now: yes while it answers, and once every [`PROBE_EVERY`] when not.
    pub fn may_try(&self, cluster: &Cluster) -> bool {
        if cluster.is_reachable() {
            return true;
        }
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if now < *next {
            return false;
        }
        *next = now + PROBE_EVERY;
        true
    }
}
