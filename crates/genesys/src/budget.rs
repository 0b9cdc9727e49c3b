//! The client's request budget: one token bucket shared by every API call of a client, kept
//! below Genesys's 300 requests/minute per client-credentials token, with a share reserved for
//! high-priority calls (callback creation) that no statistics traffic can spend, and a smaller
//! share for keeping the statistics live — the notification channel, and the observations
//! snapshot the stream reads after every (re)connect — that statistics polling cannot spend.
//!
//! Where the bucket is kept is pluggable: [`RequestBudget`] is the one question the transport
//! asks ("may a request of this priority go now, or how long until it may?"). [`LocalBudget`],
//! this process's own bucket, is the default; an application running several processes on one
//! OAuth client supplies one kept where they all see it (`ClientConfig::request_budget`). The
//! waiting rules — only high priority waits, and only a bounded time — stay here, whoever keeps
//! the bucket.
//!
//! It is not Genesys's limiter: a 429 from Genesys is handled by the transport (`http.rs`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;

/// How urgent a call is when the budget runs low.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Must go through (callback creation): may use every reserve and may wait a bounded time.
    High,
    /// Keeps the statistics live (notification channel calls, and the observations snapshot after
    /// a (re)connect): may use its own reserve but not the callbacks'; fails fast (the stream
    /// backs off and tries again).
    Normal,
    /// Can be skipped (statistics polling): fails fast with [`Error::BudgetExhausted`], never
    /// queues, and leaves both reserves alone.
    Low,
}

impl Priority {
    /// `high`, `normal` or `low`: for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// Size and refill rate of the bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// Sustained requests per minute (Genesys allows 300 per token; stay below it).
    pub per_minute: u32,
    /// Bucket capacity: how many requests may go out back to back.
    pub burst: u32,
    /// Tokens only [`Priority::High`] may take. Keep it below `burst`.
    pub high_priority_reserve: u32,
    /// Further tokens [`Priority::Low`] may not take. Keep both reserves together below `burst`.
    pub normal_priority_reserve: u32,
    /// Longest a high-priority call waits for a token before failing.
    pub high_priority_max_wait: Duration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            per_minute: 240,
            burst: 20,
            high_priority_reserve: 5,
            // A reconnect takes up to four: check or create the channel, subscribe, snapshot,
            // plus one spare.
            normal_priority_reserve: 5,
            high_priority_max_wait: Duration::from_secs(2),
        }
    }
}

impl BudgetConfig {
    /// Tokens a request of `priority` must leave in the bucket: the reserves of the priorities
    /// above it. A bucket kept elsewhere applies the same rule with this.
    pub fn untouchable(&self, priority: Priority) -> u32 {
        match priority {
            Priority::High => 0,
            Priority::Normal => self.high_priority_reserve,
            Priority::Low => self
                .high_priority_reserve
                .saturating_add(self.normal_priority_reserve),
        }
    }
}

/// The answer of [`RequestBudget::try_take`]: `Ok` when a request may go now, or how long until
/// one of that priority could (`Duration::MAX`: not in any useful time).
pub type Take<'a> = Pin<Box<dyn Future<Output = Result<(), Duration>> + Send + 'a>>;

/// Where a client's request budget is kept. One method, so a shared store (several processes
/// spending one OAuth client's allowance) fits behind it without knowing about HTTP.
///
/// An implementation answers at once: it never waits for tokens itself (the client decides who
/// waits, and for how long), and it must not fail the call for its own troubles — a store it
/// cannot reach is its own to work around, by a fallback that still keeps below the limit.
pub trait RequestBudget: fmt::Debug + Send + Sync {
    /// Takes one request's token at `priority`, leaving the reserves of the priorities above it
    /// alone, or says how long until one could be taken.
    fn try_take(&self, priority: Priority) -> Take<'_>;
}

/// The bucket the client spends, whoever keeps it, and the waiting rules around it.
#[derive(Debug)]
pub(crate) struct Budget {
    source: Arc<dyn RequestBudget>,
    high_priority_max_wait: Duration,
}

impl Budget {
    /// `source`, or a bucket of this process's own sized by `config`.
    pub(crate) fn new(config: BudgetConfig, source: Option<Arc<dyn RequestBudget>>) -> Self {
        Budget {
            source: source.unwrap_or_else(|| Arc::new(LocalBudget::new(config))),
            high_priority_max_wait: config.high_priority_max_wait,
        }
    }

    /// Takes one token for a request, waiting only where the priority allows it.
    pub(crate) async fn acquire(&self, priority: Priority) -> Result<(), Error> {
        let deadline = Instant::now() + self.high_priority_max_wait;
        loop {
            let wait = match self.source.try_take(priority).await {
                Ok(()) => return Ok(()),
                Err(wait) => wait,
            };
            let may_wait = priority == Priority::High
                && Instant::now()
                    .checked_add(wait)
                    .is_some_and(|ready| ready <= deadline);
            if !may_wait {
                metrics::counter!("genesys_client_budget_exhausted_total",
                    "priority" => priority.label())
                .increment(1);
                return Err(Error::BudgetExhausted);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// A token bucket kept in this process: the default [`RequestBudget`]. A std mutex is enough:
/// it is held for a few arithmetic operations, never across an await.
#[derive(Debug)]
pub struct LocalBudget {
    config: BudgetConfig,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl LocalBudget {
    /// A full bucket.
    pub fn new(config: BudgetConfig) -> Self {
        LocalBudget {
            config,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(config.burst),
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Takes a token now, or says how long until one could be taken at this priority.
    pub fn try_acquire(&self, priority: Priority) -> Result<(), Duration> {
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.refill(&mut bucket);
        let needed = f64::from(self.config.untouchable(priority)) + 1.0;
        if bucket.tokens >= needed {
            bucket.tokens -= 1.0;
            metrics::gauge!("genesys_client_budget_tokens").set(bucket.tokens);
            return Ok(());
        }
        metrics::gauge!("genesys_client_budget_tokens").set(bucket.tokens);
        Err(self.time_to_earn(needed - bucket.tokens))
    }

    fn refill(&self, bucket: &mut Bucket) {
        let now = Instant::now();
        let earned =
            now.duration_since(bucket.refilled_at).as_secs_f64() * self.tokens_per_second();
        bucket.tokens = (bucket.tokens + earned).min(f64::from(self.config.burst));
        bucket.refilled_at = now;
    }

    fn tokens_per_second(&self) -> f64 {
        f64::from(self.config.per_minute) / 60.0
    }

    fn time_to_earn(&self, tokens: f64) -> Duration {
        Duration::try_from_secs_f64(tokens / self.tokens_per_second()).unwrap_or(Duration::MAX)
    }
}

impl RequestBudget for LocalBudget {
    fn try_take(&self, priority: Priority) -> Take<'_> {
        let taken = self.try_acquire(priority);
        Box::pin(std::future::ready(taken))
    }
}

/// An error that only says "not now": the budget is spent, or Genesys asked to wait.
pub trait WaitsForBudget {
    fn waits_for_budget(&self) -> bool;
}

impl WaitsForBudget for Error {
    fn waits_for_budget(&self) -> bool {
        matches!(self, Error::BudgetExhausted | Error::RateLimited { .. })
    }
}

/// `call`, made again while it is refused for want of budget — pauses doubling from 250 ms to
/// 5 s — until `deadline`; then its last answer. For what must happen but need not happen now
/// (reads at start-up, refreshes): low priority fails fast by design, and this is the one place
/// that waits for it instead.
pub async fn in_turn<T, E, F>(deadline: Instant, mut call: impl FnMut() -> F) -> Result<T, E>
where
    E: WaitsForBudget,
    F: Future<Output = Result<T, E>>,
{
    let mut pause = Duration::from_millis(250);
    loop {
        match call().await {
            Err(error) if error.waits_for_budget() && Instant::now() + pause < deadline => {
                tracing::debug!(?pause, "the request budget is spent: waiting for it");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            answer => return answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket, and the client's view of it (waiting rules included).
    struct Both {
        local: Arc<LocalBudget>,
        budget: Budget,
    }

    impl Both {
        fn of(config: BudgetConfig) -> Self {
            let local = Arc::new(LocalBudget::new(config));
            let shared: Arc<dyn RequestBudget> = local.clone();
            Both {
                budget: Budget::new(config, Some(shared)),
                local,
            }
        }

        async fn acquire(&self, priority: Priority) -> Result<(), Error> {
            self.budget.acquire(priority).await
        }

        fn try_acquire(&self, priority: Priority) -> Result<(), Duration> {
            self.local.try_acquire(priority)
        }
    }

    fn budget(per_minute: u32, burst: u32, reserve: u32) -> Both {
        Both::of(BudgetConfig {
            per_minute,
            burst,
            high_priority_reserve: reserve,
            normal_priority_reserve: 0,
            high_priority_max_wait: Duration::from_secs(2),
        })
    }

    #[test]
    fn each_priority_leaves_the_reserves_above_it_alone() {
        let budget = Both::of(BudgetConfig {
            per_minute: 0,
            burst: 10,
            high_priority_reserve: 3,
            normal_priority_reserve: 2,
            high_priority_max_wait: Duration::ZERO,
        });
        assert_eq!(take_all(&budget, Priority::Low), 5);
        assert_eq!(take_all(&budget, Priority::Normal), 2);
        assert_eq!(take_all(&budget, Priority::High), 3);
    }

    fn take_all(budget: &Both, priority: Priority) -> usize {
        std::iter::from_fn(|| budget.try_acquire(priority).ok())
            .take(10_000)
            .count()
    }

    #[tokio::test(start_paused = true)]
    async fn low_priority_stops_at_the_reserve_and_high_priority_uses_it() {
        let budget = budget(60, 10, 3);
        assert_eq!(take_all(&budget, Priority::Low), 7);
        assert!(matches!(
            budget.acquire(Priority::Low).await,
            Err(Error::BudgetExhausted)
        ));
        assert_eq!(take_all(&budget, Priority::High), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn low_priority_fails_without_waiting() {
        let budget = budget(60, 2, 1);
        take_all(&budget, Priority::Low);
        let started = Instant::now();
        assert!(matches!(
            budget.acquire(Priority::Low).await,
            Err(Error::BudgetExhausted)
        ));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn refills_at_the_configured_rate_up_to_the_burst() {
        let budget = budget(120, 4, 0); // 2 tokens per second
        assert_eq!(take_all(&budget, Priority::Low), 4);
        tokio::time::advance(Duration::from_millis(1_000)).await;
        assert_eq!(take_all(&budget, Priority::Low), 2);
        tokio::time::advance(Duration::from_secs(600)).await;
        assert_eq!(
            take_all(&budget, Priority::Low),
            4,
            "never more than the burst"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn high_priority_waits_for_a_token_within_its_bound() {
        let budget = budget(60, 1, 0); // one token per second
        take_all(&budget, Priority::High);
        let started = Instant::now();
        budget.acquire(Priority::High).await.unwrap();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(999) && waited <= Duration::from_millis(1_100),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn high_priority_gives_up_when_the_wait_exceeds_its_bound() {
        let budget = budget(6, 1, 0); // one token per ten seconds, bound is two
        take_all(&budget, Priority::High);
        let started = Instant::now();
        assert!(matches!(
            budget.acquire(Priority::High).await,
            Err(Error::BudgetExhausted)
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    /// A budget kept elsewhere that refuses everything but high priority, and counts the asks.
    #[derive(Debug, Default)]
    struct Elsewhere {
        asked: Mutex<Vec<Priority>>,
    }

    impl RequestBudget for Elsewhere {
        fn try_take(&self, priority: Priority) -> Take<'_> {
            self.asked
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(priority);
            let answer = match priority {
                Priority::High => Ok(()),
                _ => Err(Duration::from_millis(10)),
            };
            Box::pin(std::future::ready(answer))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_kept_elsewhere_is_asked_and_its_refusal_is_final_below_high_priority() {
        let elsewhere = Arc::new(Elsewhere::default());
        let source: Arc<dyn RequestBudget> = elsewhere.clone();
        let budget = Budget::new(BudgetConfig::default(), Some(source));
        assert!(matches!(
            budget.acquire(Priority::Normal).await,
            Err(Error::BudgetExhausted)
        ));
        budget.acquire(Priority::High).await.unwrap();
        assert_eq!(
            *elsewhere.asked.lock().unwrap(),
            [Priority::Normal, Priority::High]
        );
    }

    #[test]
    fn zero_rate_never_panics() {
        let budget = budget(0, 0, 0);
        assert_eq!(budget.try_acquire(Priority::High), Err(Duration::MAX));
    }

    #[tokio::test]
    async fn zero_rate_high_priority_fails_instead_of_waiting_forever() {
        let budget = budget(0, 0, 0);
        assert!(matches!(
            budget.acquire(Priority::High).await,
            Err(Error::BudgetExhausted)
        ));
    }
}
