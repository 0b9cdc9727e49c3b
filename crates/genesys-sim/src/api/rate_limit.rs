//! Genesys's request limit: at most `per_minute` API requests per access token (300 for a
//! client-credentials token), past which Genesys answers 429 `too.many.requests.retry.after` with
//! a `Retry-After` header. On by default, so a client's own request budget is tested against a
//! limit that bites; `--rate-limit` and `PUT /__sim/rate-limit` change or lift it.
//!
//! It counts what passed the bearer check (the login and the guest's web messaging API have
//! other limits, not simulated). Windows are fixed minutes from a token's first request: Genesys
//! does not publish how its window slides, and a fixed one gives a definite `Retry-After`.
//!
//! Counted per client instead (`PUT /__sim/rate-limit` with `perClient`), every token of the
//! org's one OAuth client shares one minute: the allowance several processes on one client
//! must share, for testing a budget they keep together.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// Genesys's limit per client-credentials token.
pub const GENESYS_PER_MINUTE: u32 = 300;
const WINDOW: Duration = Duration::from_secs(60);
/// Past this many tracked tokens, finished windows are forgotten.
const PRUNE_ABOVE: usize = 1024;

pub struct RateLimit(Mutex<Limits>);

struct Limits {
    per_minute: Option<u32>,
    /// Every token counts in one window (the simulator has one OAuth client).
    per_client: bool,
    windows: HashMap<String, Window>,
}

struct Window {
    started: Instant,
    count: u32,
}

impl RateLimit {
    /// `None`: no limit.
    pub fn new(per_minute: Option<u32>) -> Self {
        RateLimit(Mutex::new(Limits {
            per_minute,
            per_client: false,
            windows: HashMap::new(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Limits> {
        // Plain counters: a panic mid-update leaves nothing worth refusing to read.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn per_minute(&self) -> Option<u32> {
        self.lock().per_minute
    }

    /// Whether every token counts in one window.
    pub fn per_client(&self) -> bool {
        self.lock().per_client
    }

    /// Changes or lifts (`None`) the limit, per token or for the whole client; every token
    /// starts counting afresh.
    pub fn set(&self, per_minute: Option<u32>, per_client: bool) {
        let mut limits = self.lock();
        limits.per_minute = per_minute;
        limits.per_client = per_client;
        limits.windows.clear();
    }

    /// Counts one request of `token`; `Err(seconds)` to wait when it is over the limit.
    pub fn admit(&self, token: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut limits = self.lock();
        let Some(limit) = limits.per_minute else {
            return Ok(());
        };
        if limits.windows.len() > PRUNE_ABOVE {
            limits
                .windows
                .retain(|_, window| now.duration_since(window.started) < WINDOW);
        }
        let counted = if limits.per_client { "" } else { token };
        let window = limits.windows.entry(counted.to_owned()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        if window.count >= limit {
            let left = WINDOW.saturating_sub(now.duration_since(window.started));
            return Err(left.as_secs_f64().ceil().max(1.0) as u64);
        }
        window.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_limit_is_per_token_and_per_minute() {
        let limit = RateLimit::new(Some(2));
        assert!(limit.admit("a").is_ok() && limit.admit("a").is_ok());
        assert_eq!(limit.admit("a"), Err(60));
        assert!(limit.admit("b").is_ok(), "another token has its own count");
        tokio::time::advance(Duration::from_secs(45)).await;
        assert_eq!(limit.admit("a"), Err(15));
        tokio::time::advance(Duration::from_secs(15)).await;
        assert!(limit.admit("a").is_ok(), "a new minute");
        limit.set(None, false);
        assert!((0..10).all(|_| limit.admit("a").is_ok()));
    }

    #[tokio::test(start_paused = true)]
    async fn per_client_every_token_shares_one_minute() {
        let limit = RateLimit::new(Some(3));
        limit.set(Some(3), true);
        assert!(limit.admit("a").is_ok() && limit.admit("b").is_ok() && limit.admit("c").is_ok());
        assert_eq!(
            limit.admit("d"),
            Err(60),
            "a new token does not start afresh"
        );
        assert_eq!(limit.admit("a"), Err(60));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(limit.admit("b").is_ok());
    }
}
