//! The client's own request budget: one token bucket shared by every API call of a client, kept
//! below Genesys's 300 requests/minute per client-credentials token, with a share reserved for
//! high-priority calls (callback creation) that no statistics traffic can spend, and a smaller
//! share for keeping the statistics live — the notification channel, and the observations
//! snapshot the stream reads after every (re)connect — that statistics polling cannot spend.
//!
//! It is not Genesys's limiter: a 429 from Genesys is handled by the transport (`http.rs`).

use std::sync::Mutex;
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
    fn label(self) -> &'static str {
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

/// A token bucket. A std mutex is enough: it is held for a few arithmetic operations, never
/// across an await.
#[derive(Debug)]
pub(crate) struct Budget {
    config: BudgetConfig,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl Budget {
    /// A full bucket.
    pub(crate) fn new(config: BudgetConfig) -> Self {
        Budget {
            config,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(config.burst),
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Takes one token for a request, waiting only where the priority allows it.
    pub(crate) async fn acquire(&self, priority: Priority) -> Result<(), Error> {
        let deadline = Instant::now() + self.config.high_priority_max_wait;
        loop {
            let wait = match self.try_acquire(priority) {
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

    /// Takes a token now, or says how long until one could be taken at this priority.
    pub(crate) fn try_acquire(&self, priority: Priority) -> Result<(), Duration> {
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.refill(&mut bucket);
        let needed = f64::from(self.untouchable(priority)) + 1.0;
        if bucket.tokens >= needed {
            bucket.tokens -= 1.0;
            metrics::gauge!("genesys_client_budget_tokens").set(bucket.tokens);
            return Ok(());
        }
        metrics::gauge!("genesys_client_budget_tokens").set(bucket.tokens);
        Err(self.time_to_earn(needed - bucket.tokens))
    }

    fn untouchable(&self, priority: Priority) -> u32 {
        match priority {
            Priority::High => 0,
            Priority::Normal => self.config.high_priority_reserve,
            Priority::Low => self
                .config
                .high_priority_reserve
                .saturating_add(self.config.normal_priority_reserve),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(per_minute: u32, burst: u32, reserve: u32) -> Budget {
        Budget::new(BudgetConfig {
            per_minute,
            burst,
            high_priority_reserve: reserve,
            normal_priority_reserve: 0,
            high_priority_max_wait: Duration::from_secs(2),
        })
    }

    #[test]
    fn each_priority_leaves_the_reserves_above_it_alone() {
        let budget = Budget::new(BudgetConfig {
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

    fn take_all(budget: &Budget, priority: Priority) -> usize {
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
