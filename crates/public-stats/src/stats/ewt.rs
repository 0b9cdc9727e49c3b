//! The estimated-wait-time cache: one upstream request per (queue, media type) per
//! `CACHE_SECONDS`, however many visitors ask, and the last good value when Genesys cannot answer.
//!
//! Concurrent misses share one request (moka's entry `or_insert_with`). The key is typed ([`EwtKey`]), never
//! the URL, and queues reach it only through the public allow-list, so neither query strings nor
//! made-up IDs can grow it; both caches are bounded anyway. A failed fetch is cached like a good
//! one, so an outage or a spent request budget costs at most one upstream call per key per TTL.
//! It is not where the public `mediaType` names are parsed (`query`) or where stale values are
//! worded (`mod.rs`, `feed`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use genesys::{EwtMediaType, GenesysClient};
use moka::future::Cache;
use uuid::Uuid;

use super::view::{Freshness, Stamp};

/// Far above queues × media types for any real allow-list; a backstop, not a policy.
const MAX_KEYS: u64 = 4_096;

/// What an estimate is asked for: a queue, and a media type (`None` = the whole queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EwtKey {
    pub queue: Uuid,
    pub media: Option<EwtMediaType>,
}

/// An answer from Genesys: seconds, or `None` when it has no estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Good {
    seconds: Option<u64>,
    at: Stamp,
}

/// What the cache holds for one TTL: an answer, or the fact that asking failed.
#[derive(Clone, Copy, Debug)]
enum Fetched {
    Good(Good),
    Failed { at: Instant },
}

/// What a visitor is told about one estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EwtReading {
    /// Seconds; `None` when unknown (the wire's `-1`).
    pub seconds: Option<u64>,
    /// Stale when Genesys could not be asked or did not answer; `as_of` is then when the value
    /// served was obtained, `None` when there has never been a good value.
    pub freshness: Freshness,
    /// When the cache entry behind this reading was made: it is asked again `ttl` later.
    pub entry_at: Instant,
}

impl EwtReading {
    /// The seed's `ewt`: seconds, or `-1` when unknown.
    pub fn wire_seconds(&self) -> i64 {
        self.seconds
            .map_or(-1, |seconds| i64::try_from(seconds).unwrap_or(i64::MAX))
    }
}

/// Cheap to clone (one `Arc`); clones share both caches.
#[derive(Clone)]
pub struct EwtCache(Arc<Caches>);

struct Caches {
    client: GenesysClient,
    ttl: Duration,
    /// Answers (and failures) younger than the TTL.
    fresh: Cache<EwtKey, Fetched>,
    /// The newest good answer per key, served when a fetch fails.
    last_good: Cache<EwtKey, Good>,
}

impl EwtCache {
    pub fn new(client: GenesysClient, ttl: Duration) -> Self {
        EwtCache(Arc::new(Caches {
            client,
            ttl,
            fresh: Cache::builder()
                .max_capacity(MAX_KEYS)
                .time_to_live(ttl)
                .build(),
            last_good: Cache::builder().max_capacity(MAX_KEYS).build(),
        }))
    }

    /// The estimate for `key`: cached, fetched (once, however many callers wait), or the last
    /// good one marked stale. Never an error: a visitor is better served by an old estimate, or
    /// by "unknown", than by a failure about something they cannot fix.
    pub async fn get(&self, key: EwtKey) -> EwtReading {
        let entry = self
            .0
            .fresh
            .entry(key)
            .or_insert_with(self.fetch(key))
            .await;
        // A caller that waited for another's fetch of the same key counts as a hit.
        let result = if entry.is_fresh() { "miss" } else { "hit" };
        metrics::counter!("public_stats_ewt_cache_requests_total", "result" => result).increment(1);
        match entry.into_value() {
            Fetched::Good(good) => EwtReading {
                seconds: good.seconds,
                freshness: Freshness::Fresh,
                entry_at: good.at.instant(),
            },
            Fetched::Failed { at } => {
                // Never a good value: "unknown" (-1) rather than an error, marked stale so a
                // page can tell "Genesys has no estimate" from "we could not ask".
                let last = self.0.last_good.get(&key).await;
                EwtReading {
                    seconds: last.and_then(|good| good.seconds),
                    freshness: Freshness::Stale {
                        as_of: last.map(|good| good.at),
                    },
                    entry_at: at,
                }
            }
        }
    }

    async fn fetch(&self, key: EwtKey) -> Fetched {
        let answer = match key.media {
            None => self.0.client.estimated_wait_time(key.queue).await,
            Some(media) => {
                self.0
                    .client
                    .estimated_wait_time_for(key.queue, media)
                    .await
            }
        };
        match answer {
            Ok(seconds) => {
                let good = Good {
                    seconds,
                    at: Stamp::now(),
                };
                self.0.last_good.insert(key, good).await;
                Fetched::Good(good)
            }
            Err(error) => {
                // The error's Display carries no upstream text; it goes to the log only.
                metrics::counter!("public_stats_ewt_fetch_failures_total").increment(1);
                tracing::warn!(%error, queue = %key.queue, media = ?key.media,
                    "estimated wait time unavailable; serving the last good value");
                Fetched::Failed { at: Instant::now() }
            }
        }
    }

    /// When the entry behind `reading` expires, so a refresher asks right after.
    pub fn expires_at(&self, reading: &EwtReading) -> Instant {
        reading.entry_at + self.0.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_estimates_are_minus_one_on_the_wire() {
        let reading = |seconds| EwtReading {
            seconds,
            freshness: Freshness::Fresh,
            entry_at: Instant::now(),
        };
        assert_eq!(reading(None).wire_seconds(), -1);
        assert_eq!(reading(Some(8)).wire_seconds(), 8);
    }
}
