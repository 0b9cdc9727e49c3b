//! The delay schedule between reconnect attempts: exponential with ±jitter, reset after a healthy
//! connection.
//!
//! Hand-rolled rather than `backon` because the supervisor is not retrying one future: its attempt
//! counter lives across connections and is reset by an event (a healthy connection), which is a
//! plain struct with two methods. It does not sleep; the supervisor does.

use std::time::Duration;

/// How long to wait before each reconnect attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct BackoffConfig {
    /// The (un-jittered) delay before the first retry after a healthy connection ended.
    pub initial: Duration,
    /// Each further failed attempt multiplies the delay by this.
    pub factor: f64,
    /// No delay, jitter included, is longer than this.
    pub max: Duration,
    /// Each delay is scaled by a random factor in `1 ± jitter` (0.0–1.0), so a fleet that lost
    /// Genesys at the same moment does not come back in lock-step.
    pub jitter: f64,
}

impl Default for BackoffConfig {
    /// Genesys's own streaming client: 250 ms × 2, ±20 %; a 10 s cap (theirs is 5 s) keeps a
    /// long outage at a few requests a minute against the per-token budget.
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(250),
            factor: 2.0,
            max: Duration::from_secs(10),
            jitter: 0.2,
        }
    }
}

/// The running schedule: which attempt comes next.
pub(crate) struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig) -> Self {
        Self::with_rng(config, fastrand::Rng::new())
    }

    /// A schedule with a seeded random source, for tests.
    pub(crate) fn with_rng(config: BackoffConfig, rng: fastrand::Rng) -> Self {
        Backoff {
            config,
            attempt: 0,
            rng,
        }
    }

    /// The delay before the next attempt; each call counts one more attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.base_delay();
        self.attempt = self.attempt.saturating_add(1);
        let jitter = self.config.jitter.clamp(0.0, 1.0);
        let scale = 1.0 - jitter + 2.0 * jitter * self.rng.f64();
        base.mul_f64(scale).min(self.config.max)
    }

    /// Back to the first delay: the last connection was healthy.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    fn base_delay(&self) -> Duration {
        let max = self.config.max.as_secs_f64();
        // `powi` of a large attempt count overflows to infinity; `min` brings it back to the cap.
        let exponent = i32::try_from(self.attempt).unwrap_or(i32::MAX);
        let seconds =
            self.config.initial.as_secs_f64() * self.config.factor.max(1.0).powi(exponent);
        Duration::from_secs_f64(seconds.min(max).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_jitter() -> BackoffConfig {
        BackoffConfig {
            jitter: 0.0,
            ..BackoffConfig::default()
        }
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut backoff = Backoff::new(no_jitter());
        let delays: Vec<u128> = (0..9).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]
        );
    }

    #[test]
    fn reset_starts_over() {
        let mut backoff = Backoff::new(no_jitter());
        for _ in 0..5 {
            backoff.next_delay();
        }
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(250));
    }

    #[test]
    fn jitter_stays_within_its_band_and_under_the_cap() {
        let mut backoff = Backoff::with_rng(BackoffConfig::default(), fastrand::Rng::with_seed(7));
        let first: Vec<Duration> = (0..200)
            .map(|_| {
                backoff.reset();
                backoff.next_delay()
            })
            .collect();
        assert!(
            first.iter().all(|d| (200..=300).contains(&d.as_millis())),
            "{first:?}"
        );
        assert!(
            first.iter().any(|d| *d != first[0]),
            "jitter should vary the delay"
        );
        let late: Vec<Duration> = (0..50).map(|_| backoff.next_delay()).collect();
        assert!(
            late.iter().all(|d| *d <= Duration::from_secs(10)),
            "{late:?}"
        );
    }

    #[test]
    fn a_huge_attempt_count_stays_at_the_cap() {
        let mut backoff = Backoff::new(no_jitter());
        backoff.attempt = u32::MAX;
        assert_eq!(backoff.next_delay(), Duration::from_secs(10));
    }
}
