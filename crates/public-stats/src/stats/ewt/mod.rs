//! The estimated-wait-time cache: what visitors ask for is answered from at most one upstream
//! call per source per refresh period, however many visitors ask and whatever they ask for, and
//! never keeps a visitor waiting on a slow Genesys.
//!
//! - **Sources.** One call to the queue-wide endpoint serves the whole queue and, when Genesys's
//!   answer breaks the estimate down by media type (results whose `intent` is a media type), every
//!   media type too. Only for a Genesys that answers the queue as a whole does a media type get its
//!   own source, the per-media endpoint.
//! - **Bounded calls.** Each source is asked again at most once per period: `CACHE_SECONDS`, or
//!   longer when more sources are in demand than the EWT share of the request budget
//!   (`calls_per_minute`) allows — sources nobody asked for lately do not count and are not
//!   refreshed. A token bucket of that share (small bursts) backs this up as a hard limit, and a
//!   call the client's own budget refuses is tried again as soon as there is budget, not a period
//!   later. So cycling through queues × media types cannot spend the budget for everyone.
//! - **Bounded waits.** Concurrent misses share one call (single-flight), which runs in its own
//!   task: a visitor waits for it at most [`LONGEST_WAIT`], then gets the last good value (or
//!   unknown) marked stale, and the answer is there for the next visitor.
//! - A failed call counts like a good one (an outage costs one call per source per period), and
//!   the last good value is served, marked stale.
//! - **Several instances** (clustered mode) share one cache in Redis (`shared`): an instance
//!   whose answer is due asks Redis first, and only the one instance that takes the source's
//!   lock asks Genesys; the others wait briefly for its answer, or serve what they had, marked
//!   stale. The in-process single-flight stays in front, so an instance makes at most one
//!   Redis round per source at a time, and upstream calls per source per period stay at one
//!   whatever the number of instances. The EWT share of the budget is then shared too. With
//!   Redis out of reach an instance asks Genesys for itself, on its own share (why: at
//!   `refresh_shared`).
//!
//! It is not where the public `mediaType` names are parsed (`query`) or where stale values are
//! worded (`stats/mod.rs`, `feed`).

mod shared;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use genesys::{EstimatedWaitTimePredictions, EwtMediaType, GenesysClient};
use tokio::sync::watch;
use uuid::Uuid;

use self::shared::{Round, Shared};
use super::view::{Freshness, Stamp};
use crate::cluster::Cluster;

/// The longest a visitor's request waits for Genesys before it is answered from what is known.
pub const LONGEST_WAIT: Duration = Duration::from_secs(2);
/// A source asked for within this long counts as in demand, and shares the call budget.
const DEMAND_WINDOW: Duration = Duration::from_secs(30);
/// Sources nobody has asked for in this long are forgotten (the allow-list bounds them anyway).
const FORGET_AFTER: Duration = Duration::from_secs(600);
const MINUTE: Duration = Duration::from_secs(60);

/// What an estimate is asked for: a queue, and a media type (`None` = the whole queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EwtKey {
    pub queue: Uuid,
    pub media: Option<EwtMediaType>,
}

/// What one upstream call answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Source {
    /// `GET …/queues/{queueId}/estimatedwaittime`: the queue, and its media types when broken down.
    Queue(Uuid),
    /// `GET …/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime`.
    Media(Uuid, EwtMediaType),
}

/// What a visitor is told about one estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EwtReading {
    /// Seconds; `None` when unknown (the wire's `-1`).
    pub seconds: Option<u64>,
    /// Stale when Genesys could not be asked or did not answer in time; `as_of` is then when the
    /// value served was obtained, `None` when there has never been a good value.
    pub freshness: Freshness,
    /// When asking again may give a newer reading.
    pub next_at: Instant,
}

impl EwtReading {
    /// The seed's `ewt`: seconds, or `-1` when unknown.
    pub fn wire_seconds(&self) -> i64 {
        self.seconds
            .map_or(-1, |seconds| i64::try_from(seconds).unwrap_or(i64::MAX))
    }
}

/// Cheap to clone (one `Arc`); clones share the cache.
#[derive(Clone)]
pub struct EwtCache(Arc<Caches>);

struct Caches {
    client: GenesysClient,
    ttl: Duration,
    /// The EWT share of the request budget: upstream EWT calls in any minute, at most.
    calls_per_minute: u32,
    state: Mutex<State>,
    /// Clustered mode: the cache (and the EWT share) every instance shares, in Redis.
    shared: Option<Shared>,
}

#[derive(Default)]
struct State {
    sources: HashMap<Source, Slot>,
    /// Per queue: whether Genesys's queue-wide answer breaks the estimate down by media type.
    /// Absent until an answer with results has said; once seen broken down, it stays so.
    by_media: HashMap<Uuid, bool>,
    /// The EWT share of the budget (clustered mode: only while Redis is out of reach).
    share: Share,
}

/// A token bucket for the EWT share. Written out rather than taken from a crate: it is a few
/// lines under a lock the cache holds anyway, and the client's own budget (`genesys::budget`) is
/// per client and per priority, not per kind of call.
struct Share {
    tokens: f64,
    refilled_at: Instant,
}

impl Default for Share {
    fn default() -> Self {
        Share {
            tokens: 0.0,
            refilled_at: Instant::now(),
        }
    }
}

struct Slot {
    latest: Option<Outcome>,
    last_good: Option<Good>,
    /// Set while a call (clustered mode: a round through Redis) is under way; turns `true`
    /// when it is done.
    fetching: Option<watch::Receiver<bool>>,
    /// The last refresh brought nothing newer — the budget refused the call, or another
    /// instance's call did not come in time: ask again as soon as possible.
    behind: bool,
    /// Clustered mode: until when `latest` is fresh, as the shared cache says (the instance that
    /// asked Genesys set it). `None`: `latest`'s age and the period decide.
    fresh_until: Option<Instant>,
    asked_at: Instant,
}

impl Slot {
    /// When `latest` stops being fresh (`None`: there is nothing yet).
    fn expires_at(&self, period: Duration) -> Option<Instant> {
        self.fresh_until
            .or_else(|| self.latest.as_ref().map(|latest| latest.at() + period))
    }
}

#[derive(Clone, Debug)]
struct Good {
    predictions: Arc<EstimatedWaitTimePredictions>,
    at: Stamp,
}

#[derive(Clone, Debug)]
enum Outcome {
    Good(Good),
    Failed { at: Instant },
}

impl Outcome {
    fn at(&self) -> Instant {
        match self {
            Outcome::Good(good) => good.at.instant(),
            Outcome::Failed { at } => *at,
        }
    }
}

/// What a refresh brought.
enum Fetched {
    /// A newer outcome, and the last good answer known along with it.
    Outcome {
        latest: Outcome,
        last_good: Option<Good>,
    },
    /// Nothing newer: see [`Slot::behind`].
    Nothing,
}

impl Fetched {
    fn of(latest: Outcome) -> Self {
        let last_good = match &latest {
            Outcome::Good(good) => Some(good.clone()),
            Outcome::Failed { .. } => None,
        };
        Fetched::Outcome { latest, last_good }
    }
}

/// What a source held when a visitor's wait ended.
struct Seen {
    latest: Option<Outcome>,
    last_good: Option<Good>,
    /// A call was under way and did not finish within the visitor's wait.
    still_fetching: bool,
    /// The answer was due for a refresh, but the budget was spent.
    held_back: bool,
    next_at: Instant,
    /// Whether this queue's queue-wide answer breaks down by media type (`None`: not known).
    by_media: Option<bool>,
}

impl EwtCache {
    /// `calls_per_minute` is the EWT share of the request budget (at least 1).
    pub fn new(client: GenesysClient, ttl: Duration, calls_per_minute: u32) -> Self {
        Self::build(client, ttl, calls_per_minute, None)
    }

    /// The cache of an instance among several (clustered mode): answers and the EWT share are
    /// shared through Redis, so the instances together ask Genesys as one would.
    pub fn clustered(
        client: GenesysClient,
        ttl: Duration,
        calls_per_minute: u32,
        cluster: Cluster,
    ) -> Self {
        let calls_per_minute = calls_per_minute.max(1);
        let shared = Shared::new(cluster, calls_per_minute, share_burst(calls_per_minute));
        Self::build(client, ttl, calls_per_minute, Some(shared))
    }

    fn build(
        client: GenesysClient,
        ttl: Duration,
        calls_per_minute: u32,
        shared: Option<Shared>,
    ) -> Self {
        let calls_per_minute = calls_per_minute.max(1);
        let state = State {
            share: Share {
                tokens: f64::from(share_burst(calls_per_minute)),
                refilled_at: Instant::now(),
            },
            ..State::default()
        };
        EwtCache(Arc::new(Caches {
            client,
            ttl,
            calls_per_minute,
            state: Mutex::new(state),
            shared,
        }))
    }

    /// The estimate for `key`: cached, fetched (once, however many callers wait, and waited for
    /// at most [`LONGEST_WAIT`]), or the last good one marked stale. Never an error: a visitor is
    /// better served by an old estimate, or by "unknown", than by a failure about something they
    /// cannot fix.
    pub async fn get(&self, key: EwtKey) -> EwtReading {
        let deadline = tokio::time::Instant::now() + LONGEST_WAIT;
        let mut source = self.source_for(key);
        let reading = loop {
            let seen = self.look(source, deadline).await;
            match (source, key.media) {
                // Genesys answers this queue as a whole: the media type needs its own source.
                (Source::Queue(queue), Some(media)) if seen.by_media == Some(false) => {
                    source = Source::Media(queue, media);
                }
                _ => break reading_from(&seen, source, key),
            }
        };
        if let Freshness::Stale { .. } = reading.freshness {
            metrics::counter!("public_stats_ewt_stale_answers_total").increment(1);
        }
        reading
    }

    /// When the reading may change, so a refresher asks right after.
    pub fn expires_at(&self, reading: &EwtReading) -> Instant {
        reading.next_at
    }

    fn source_for(&self, key: EwtKey) -> Source {
        let state = self.0.lock();
        match key.media {
            Some(media) if state.by_media.get(&key.queue) == Some(&false) => {
                Source::Media(key.queue, media)
            }
            _ => Source::Queue(key.queue),
        }
    }

    /// Starts a call (clustered mode: a round through Redis) for `source` if it is due and the
    /// share allows, and waits for one under way until `deadline`.
    async fn look(&self, source: Source, deadline: tokio::time::Instant) -> Seen {
        let fetching = {
            let mut state = self.0.lock();
            let now = Instant::now();
            let period = self.0.period(&mut state, now);
            let slot = state.sources.entry(source).or_insert_with(|| Slot {
                latest: None,
                last_good: None,
                fetching: None,
                behind: false,
                fresh_until: None,
                asked_at: now,
            });
            slot.asked_at = now;
            let due = slot.behind || slot.expires_at(period).is_none_or(|at| at <= now);
            let idle = slot.fetching.is_none();
            // A caller that shares a call already under way counts as a miss: it waits.
            let result = if due { "miss" } else { "hit" };
            metrics::counter!("public_stats_ewt_cache_requests_total", "result" => result)
                .increment(1);
            // Clustered, a round may find the answer in Redis at no cost: the shared share is
            // spent by the one instance that asks Genesys.
            if due && idle && (self.0.shared.is_some() || self.0.may_call(&mut state.share, now)) {
                let (done, receiver) = watch::channel(false);
                if let Some(slot) = state.sources.get_mut(&source) {
                    slot.fetching = Some(receiver);
                }
                tokio::spawn(Arc::clone(&self.0).refresh(source, done));
            }
            let fetching = state
                .sources
                .get(&source)
                .filter(|_| due)
                .and_then(|slot| slot.fetching.clone());
            (due && fetching.is_none(), fetching)
        };
        let (mut held_back, fetching) = fetching;
        if let Some(mut fetching) = fetching {
            // A timeout or a dropped sender both end the wait; the slot says what there is.
            let _ = tokio::time::timeout_at(deadline, fetching.wait_for(|done| *done)).await;
        }
        let mut state = self.0.lock();
        let now = Instant::now();
        let period = self.0.period(&mut state, now);
        let by_media = match source {
            Source::Queue(queue) | Source::Media(queue, _) => state.by_media.get(&queue).copied(),
        };
        let Some(slot) = state.sources.get(&source) else {
            return Seen {
                latest: None,
                last_good: None,
                still_fetching: false,
                held_back,
                next_at: now + self.0.ttl,
                by_media,
            };
        };
        held_back |= slot.behind;
        let next_at = if slot.behind {
            now + self.0.ttl
        } else {
            slot.expires_at(period).unwrap_or(now + self.0.ttl).max(now)
        };
        Seen {
            latest: slot.latest.clone(),
            last_good: slot.last_good.clone(),
            still_fetching: slot.fetching.is_some(),
            held_back,
            next_at,
            by_media,
        }
    }
}

impl Caches {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How long an answer serves: `ttl`, stretched so that the sources in demand, each asked
    /// once a period, stay within `calls_per_minute`. Forgets sources long out of demand.
    fn period(&self, state: &mut State, now: Instant) -> Duration {
        state
            .sources
            .retain(|_, slot| slot.fetching.is_some() || now - slot.asked_at < FORGET_AFTER);
        let in_demand = state
            .sources
            .values()
            .filter(|slot| now - slot.asked_at < DEMAND_WINDOW)
            .count();
        let in_demand = u32::try_from(in_demand).unwrap_or(u32::MAX);
        MINUTE
            .checked_mul(in_demand)
            .map_or(Duration::MAX, |all| all / self.calls_per_minute)
            .max(self.ttl)
    }

    /// Takes a token from the EWT share, if there is one.
    fn may_call(&self, share: &mut Share, now: Instant) -> bool {
        let per_second = f64::from(self.calls_per_minute) / MINUTE.as_secs_f64();
        let earned = (now - share.refilled_at).as_secs_f64() * per_second;
        share.tokens = (share.tokens + earned).min(f64::from(share_burst(self.calls_per_minute)));
        share.refilled_at = now;
        if share.tokens >= 1.0 {
            share.tokens -= 1.0;
            true
        } else {
            tracing::debug!("the EWT share of the request budget is spent for now");
            false
        }
    }

    /// Brings `source` up to date — from Genesys, or in clustered mode from whichever instance
    /// asks it — then wakes the visitors waiting.
    async fn refresh(self: Arc<Self>, source: Source, done: watch::Sender<bool>) {
        match &self.shared {
            Some(shared) => self.refresh_shared(shared, source).await,
            None => {
                let fetched = self.ask(source).await;
                self.settle(source, fetched, None);
            }
        }
        done.send_replace(true);
    }

    /// One round through Redis: a fresh answer there is taken as it is; otherwise the instance
    /// holding the source's lock asks Genesys, and the others wait a little for its answer.
    async fn refresh_shared(&self, shared: &Shared, source: Source) {
        let known_good = self.last_good(source);
        match shared.round(source).await {
            Ok(Round::Fresh { latest, fresh_for }) => {
                self.settle(source, latest, Some(Instant::now() + fresh_for));
            }
            Ok(Round::Lead(lead)) => {
                let fetched = match shared.take_share().await {
                    Ok(true) => self.ask_within(shared::LEADER_CALL_LIMIT, source).await,
                    Ok(false) => Fetched::Nothing,
                    // Redis went away mid-round: the instance's own share decides.
                    Err(_) => self.ask_if_share_allows(source).await,
                };
                let fresh_until = match &fetched {
                    Fetched::Outcome { latest, last_good } => {
                        let period = self.period(&mut self.lock(), Instant::now());
                        let last_good = newer(last_good.as_ref(), lead.seen_good())
                            .or(known_good.as_ref())
                            .cloned();
                        shared
                            .publish(lead, latest, last_good.as_ref(), period)
                            .await;
                        Some(Instant::now() + period)
                    }
                    Fetched::Nothing => {
                        shared.release(lead).await;
                        None
                    }
                };
                self.settle(source, fetched, fresh_until);
            }
            Ok(Round::GaveUp) => self.settle(source, Fetched::Nothing, None),
            // Redis out of reach: this instance carries on as if it were alone, on its own
            // share of the EWT calls. Visitors keep getting current estimates through an outage
            // of Redis, at the cost of one call per source per period per instance; the request
            // budget's own fallback (each instance's share of it) keeps the whole below
            // Genesys's limit, and EWT calls are the lowest priority in it. Serving the last
            // reading instead would freeze every estimate for as long as Redis is down.
            Err(_) => {
                let fetched = self.ask_if_share_allows(source).await;
                self.settle(source, fetched, None);
            }
        }
    }

    async fn ask_if_share_allows(&self, source: Source) -> Fetched {
        let allowed = {
            let mut state = self.lock();
            self.may_call(&mut state.share, Instant::now())
        };
        if allowed {
            self.ask(source).await
        } else {
            Fetched::Nothing
        }
    }

    /// Asks Genesys, giving up after `limit` (the lock the call is made under lasts a little
    /// longer, so no other instance can call at the same time).
    async fn ask_within(&self, limit: Duration, source: Source) -> Fetched {
        match tokio::time::timeout(limit, self.ask(source)).await {
            Ok(fetched) => fetched,
            Err(_) => {
                metrics::counter!("public_stats_ewt_fetch_failures_total").increment(1);
                tracing::warn!(
                    ?limit,
                    "estimated wait time call abandoned; serving the last good value"
                );
                Fetched::of(Outcome::Failed { at: Instant::now() })
            }
        }
    }

    /// One upstream call.
    async fn ask(&self, source: Source) -> Fetched {
        let (queue, media, endpoint) = match source {
            Source::Queue(queue) => (queue, None, "queue"),
            Source::Media(queue, media) => (queue, Some(media), "media_type"),
        };
        metrics::counter!("public_stats_ewt_upstream_calls_total", "endpoint" => endpoint)
            .increment(1);
        match self
            .client
            .estimated_wait_time_predictions(queue, media)
            .await
        {
            // Not Genesys's answer: nothing was sent. Ask again when there is budget.
            Err(genesys::Error::BudgetExhausted) => Fetched::Nothing,
            Ok(predictions) => Fetched::of(Outcome::Good(Good {
                predictions: Arc::new(predictions),
                at: Stamp::now(),
            })),
            Err(error) => {
                // The error's Display carries no upstream text; it goes to the log only.
                metrics::counter!("public_stats_ewt_fetch_failures_total").increment(1);
                tracing::warn!(%error, %queue, media = ?media,
                    "estimated wait time unavailable; serving the last good value");
                Fetched::of(Outcome::Failed { at: Instant::now() })
            }
        }
    }

    fn last_good(&self, source: Source) -> Option<Good> {
        self.lock()
            .sources
            .get(&source)
            .and_then(|slot| slot.last_good.clone())
    }

    /// Keeps what a refresh brought, and ends the refresh.
    fn settle(&self, source: Source, fetched: Fetched, fresh_until: Option<Instant>) {
        let mut state = self.lock();
        if let (
            Source::Queue(queue),
            Fetched::Outcome {
                latest: Outcome::Good(good),
                ..
            },
        ) = (source, &fetched)
            && !good.predictions.results.is_empty()
        {
            let broken_down = good.predictions.breaks_down_by_media();
            let known = state.by_media.entry(queue).or_insert(broken_down);
            *known = *known || broken_down;
        }
        let Some(slot) = state.sources.get_mut(&source) else {
            return;
        };
        slot.fetching = None;
        match fetched {
            Fetched::Nothing => slot.behind = true,
            Fetched::Outcome { latest, last_good } => {
                slot.last_good = newer(slot.last_good.as_ref(), last_good.as_ref()).cloned();
                slot.latest = Some(latest);
                slot.fresh_until = fresh_until;
                slot.behind = false;
            }
        }
    }
}

/// The more recent of two good answers.
fn newer<'a>(one: Option<&'a Good>, other: Option<&'a Good>) -> Option<&'a Good> {
    match (one, other) {
        (Some(one), Some(other)) if other.at.utc() > one.at.utc() => Some(other),
        (Some(one), _) => Some(one),
        (None, other) => other,
    }
}

/// How many EWT calls may go out back to back: a twentieth of a minute's share (6 of 120), so a
/// burst of cold sources cannot empty the client's budget at once.
fn share_burst(calls_per_minute: u32) -> u32 {
    (calls_per_minute / 20).max(1)
}

/// The reading for `key` from what its source held.
fn reading_from(seen: &Seen, source: Source, key: EwtKey) -> EwtReading {
    let seconds = |good: &Good| match (source, key.media) {
        (Source::Queue(_), None) => good.predictions.seconds_for(None),
        (Source::Queue(_), Some(media)) => good.predictions.seconds_for_intent(media),
        (Source::Media(_, media), _) => good.predictions.seconds_for(Some(media)),
    };
    let stale = |last_good: Option<&Good>| EwtReading {
        seconds: last_good.and_then(seconds),
        freshness: Freshness::Stale {
            as_of: last_good.map(|good| good.at),
        },
        next_at: seen.next_at,
    };
    match &seen.latest {
        // Asked again and not answered in time, or not asked for lack of budget: what was good is
        // no longer known to be.
        Some(Outcome::Good(good)) if seen.still_fetching || seen.held_back => stale(Some(good)),
        Some(Outcome::Good(good)) => EwtReading {
            seconds: seconds(good),
            freshness: Freshness::Fresh,
            next_at: seen.next_at,
        },
        // Never a good value: "unknown" (-1) rather than an error, marked stale so a page can
        // tell "Genesys has no estimate" from "we could not ask".
        Some(Outcome::Failed { .. }) | None => stale(seen.last_good.as_ref()),
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
            next_at: Instant::now(),
        };
        assert_eq!(reading(None).wire_seconds(), -1);
        assert_eq!(reading(Some(8)).wire_seconds(), 8);
    }
}
