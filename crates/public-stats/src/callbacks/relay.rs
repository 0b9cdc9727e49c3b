//! The relay: delivers stored callback requests to Genesys, one at a time, until each is created
//! or given up.
//!
//! A failure that may pass (a timeout, a 5xx, a 408 or 429, our own request budget) is retried
//! with full-jitter backoff, never sooner than Genesys's `Retry-After`. A 4xx that says the
//! request itself is wrong is not retried. A request still undelivered `pending_window` after it
//! was accepted is given up: a callback hours late is worse than none. Every create carries the
//! job's id in `data.outboxId`, so the one duplicate a crash can cause (sent, then killed before
//! recording it) is recognisable on the agent's side.
//!
//! In clustered mode every instance runs a relay on the shared store: a job is claimed before it
//! is sent and the claim renewed while the send is in flight (`shared`), so one instance sends it
//! and another takes over only when that one stops renewing (it died). A creation is recorded
//! even when the store is down for a while (retried until it is): a job left pending would be
//! sent again. When the store cannot be read, delivery pauses and resumes by itself.
//!
//! On shutdown the send in flight finishes and is recorded; what is pending stays pending for the
//! next start (or, in clustered mode, for the other instances). It is not where requests are
//! accepted (`mod.rs`) or limits counted (`limits`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use genesys::callbacks::RoutingData;
use genesys::{CreateCallback, GenesysClient};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::backend::{BackendError, CallbackBackend, Due};
use super::store::DueJob;

/// Set on every callback we create; Genesys shows `data` to the agent as participant attributes,
/// so they can tell a website callback from others.
pub const SOURCE: (&str, &str) = ("source", "public-stats");
/// The job id, so a duplicate created by a crash can be recognised.
pub const OUTBOX_ID: &str = "outboxId";

/// Backoff: the first retry within a second, then doubling up to a minute.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// When the store itself fails, look again after this long.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Old rows are swept this often (the SQLite store; Redis expires them itself).
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Wakes the relay when a request is stored, so delivery starts at once.
#[derive(Clone, Default)]
pub struct RelayWaker(Arc<Notify>);

impl RelayWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

pub struct Relay {
    pub store: CallbackBackend,
    pub client: GenesysClient,
    pub waker: RelayWaker,
    /// Give up on a request this long after it was accepted.
    pub max_age: Duration,
}

/// What became of one attempt.
#[derive(Debug, PartialEq)]
enum Outcome {
    Created(Option<uuid::Uuid>),
    Retry { not_before: Duration },
    Refused,
}

impl Relay {
    /// Runs until `stop` is cancelled (between sends, never during one).
    pub async fn run(self, stop: CancellationToken) {
        let mut last_sweep: Option<tokio::time::Instant> = None;
        let mut paused = false;
        while !stop.is_cancelled() {
            if last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
                if let Err(error) = self.store.forget_old(OffsetDateTime::now_utc()).await {
                    tracing::warn!(%error, "could not sweep old callback records");
                }
                last_sweep = Some(tokio::time::Instant::now());
            }
            if let Ok(pending) = self.store.pending_count().await {
                // Counts fit an f64 exactly far beyond any store's size.
                #[allow(clippy::cast_precision_loss)]
                metrics::gauge!("public_stats_callback_jobs_pending").set(pending as f64);
            }
            let due = self.store.next_due(OffsetDateTime::now_utc()).await;
            if paused && due.is_ok() {
                tracing::info!("callback store readable again; delivery resumed");
                paused = false;
            }
            let wait = match due {
                Ok(Due::Now(job)) => {
                    self.deliver(job, &stop).await;
                    continue;
                }
                Ok(Due::At(at)) => until(at).min(self.store.poll()),
                Ok(Due::Nothing) => self.store.poll(),
                Err(error) => {
                    // Once per outage: it lasts as long as the store does not answer.
                    if !paused {
                        tracing::error!(%error, "callback store unreadable; delivery paused");
                        paused = true;
                    }
                    STORE_RETRY
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.waker.0.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn deliver(&self, job: DueJob, stop: &CancellationToken) {
        let now = OffsetDateTime::now_utc();
        if now - job.accepted_at > self.max_age {
            tracing::error!(id = %job.id, queue = %job.queue, number = %format!("…{}", job.number_hint),
                attempts = job.attempts, "callback given up: not delivered within CALLBACK_MAX_AGE");
            delivery_counted("expired");
            self.record(self.store.mark_failed(&job, now).await);
            return;
        }
        let command = command(&job);
        let send = self.client.create_callback(&command);
        let outcome = classify(self.store.holding(&job, send).await, &job);
        let now = OffsetDateTime::now_utc();
        delivery_counted(match outcome {
            Outcome::Created(_) => "delivered",
            Outcome::Refused => "failed",
            Outcome::Retry { .. } => "retry",
        });
        let recorded = match outcome {
            Outcome::Created(conversation) => {
                tracing::info!(id = %job.id, queue = %job.queue,
                    conversation = ?conversation, number = %format!("…{}", job.number_hint),
                    "callback created");
                self.record_created(&job, conversation, stop).await
            }
            Outcome::Refused => self.store.mark_failed(&job, now).await,
            Outcome::Retry { not_before } => {
                let wait = full_jitter(job.attempts).max(not_before);
                self.store.reschedule(&job, now + wait).await
            }
        };
        self.record(recorded);
    }

    /// Records a creation, trying again while the store does not answer: the job would
    /// otherwise be sent again once the store is back. Nothing else is sent meanwhile, which is
    /// right: no other outcome could be recorded either. Stops trying at shutdown.
    async fn record_created(
        &self,
        job: &DueJob,
        conversation: Option<uuid::Uuid>,
        stop: &CancellationToken,
    ) -> Result<(), BackendError> {
        loop {
            let result = self
                .store
                .mark_created(job, conversation, OffsetDateTime::now_utc())
                .await;
            if result.is_ok() || stop.is_cancelled() {
                return result;
            }
            if let Err(error) = &result {
                tracing::warn!(id = %job.id, %error, "could not record a created callback yet; retrying");
            }
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(STORE_RETRY) => {}
            }
        }
    }

    fn record(&self, result: Result<(), BackendError>) {
        if let Err(error) = result {
            // The job stays pending and is sent again: a possible duplicate, never a loss.
            tracing::error!(%error, "could not record a callback delivery");
        }
    }
}

/// Counts one delivery attempt: `delivered`, `failed` (Genesys refused it for good), `retry`,
/// or `expired` (given up after `CALLBACK_MAX_AGE`).
fn delivery_counted(outcome: &'static str) {
    metrics::counter!("public_stats_callback_deliveries_total", "outcome" => outcome).increment(1);
}

/// The exact `CreateCallbackCommand` sent: the allow-listed queue and the visitor's validated
/// values, nothing a visitor could choose beyond them (no priority, agents, skills, script).
pub fn command(job: &DueJob) -> CreateCallback {
    CreateCallback {
        routing_data: RoutingData {
            queue_id: job.queue,
        },
        callback_numbers: job.numbers.clone(),
        callback_user_name: job.user_name.clone(),
        callback_scheduled_time: job.scheduled_time,
        country_code: job.country_code.clone(),
        // The numbers are E.164 already checked against libphonenumber's rules.
        validate_callback_numbers: Some(true),
        data: Some(BTreeMap::from([
            (SOURCE.0.to_owned(), SOURCE.1.to_owned()),
            (OUTBOX_ID.to_owned(), job.id.clone()),
        ])),
    }
}

/// What to do after an attempt. Logs say the error's kind and status, never Genesys's text or
/// more than two digits of the number.
fn classify(
    answer: Result<genesys::CreateCallbackResponse, genesys::Error>,
    job: &DueJob,
) -> Outcome {
    let error = match answer {
        Ok(created) => return Outcome::Created(Some(created.conversation.id)),
        // Genesys answered 2xx, so the callback exists; only its body was odd.
        Err(genesys::Error::Decode { .. }) => return Outcome::Created(None),
        Err(error) => error,
    };
    let status = error.status().map(|s| s.as_u16());
    let outcome = match &error {
        genesys::Error::RateLimited { retry_after } => Outcome::Retry {
            not_before: *retry_after,
        },
        genesys::Error::BudgetExhausted => Outcome::Retry {
            not_before: genesys::DEFAULT_RETRY_AFTER,
        },
        _ => match status {
            Some(408 | 429) | None => Outcome::Retry {
                not_before: Duration::ZERO,
            },
            Some(400..=499) => Outcome::Refused,
            Some(_) => Outcome::Retry {
                not_before: Duration::ZERO,
            },
        },
    };
    match outcome {
        Outcome::Refused => tracing::error!(id = %job.id, queue = %job.queue, ?status, %error,
            number = %format!("…{}", job.number_hint), "callback refused by Genesys; not retried"),
        _ => tracing::warn!(id = %job.id, queue = %job.queue, ?status, %error,
            attempts = job.attempts, "callback delivery failed; will retry"),
    }
    outcome
}

/// Full jitter: uniformly between zero and the exponential step, so a crowd of retries spreads.
fn full_jitter(attempts: u32) -> Duration {
    let step = BACKOFF_BASE
        .saturating_mul(1u32.checked_shl(attempts.min(16)).unwrap_or(u32::MAX))
        .min(BACKOFF_CAP);
    step.mul_f64(fastrand::f64())
}

fn until(at: OffsetDateTime) -> Duration {
    Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    fn job() -> DueJob {
        DueJob {
            id: "abc".into(),
            queue: Uuid::nil(),
            numbers: vec!["+13172222222".into()],
            user_name: Some("John Smith".into()),
            scheduled_time: Some(time::macros::datetime!(2026-11-25 10:30 UTC)),
            country_code: Some("US".into()),
            accepted_at: OffsetDateTime::now_utc(),
            attempts: 0,
            number_hint: "22".into(),
            claim: None,
        }
    }

    fn api(status: StatusCode) -> genesys::Error {
        genesys::Error::Api {
            status,
            body: genesys::ErrorBody::parse(b"{}"),
        }
    }

    #[test]
    fn the_payload_holds_only_server_chosen_and_validated_fields() {
        assert_eq!(
            serde_json::to_value(command(&job())).unwrap(),
            json!({
                "routingData": {"queueId": Uuid::nil()},
                "callbackNumbers": ["+13172222222"],
                "callbackUserName": "John Smith",
                "callbackScheduledTime": "2026-11-25T10:30:00Z",
                "countryCode": "US",
                "validateCallbackNumbers": true,
                "data": {"source": "public-stats", "outboxId": "abc"},
            })
        );
    }

    #[test]
    fn only_a_4xx_other_than_408_and_429_is_final() {
        let job = job();
        assert_eq!(
            classify(Err(api(StatusCode::BAD_REQUEST)), &job),
            Outcome::Refused
        );
        assert_eq!(
            classify(Err(api(StatusCode::FORBIDDEN)), &job),
            Outcome::Refused
        );
        for retried in [
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            assert!(
                matches!(classify(Err(api(retried)), &job), Outcome::Retry { .. }),
                "{retried}"
            );
        }
        assert!(matches!(
            classify(Err(genesys::Error::Timeout), &job),
            Outcome::Retry { .. }
        ));
        assert_eq!(
            classify(
                Err(genesys::Error::RateLimited {
                    retry_after: Duration::from_secs(7)
                }),
                &job
            ),
            Outcome::Retry {
                not_before: Duration::from_secs(7)
            }
        );
        assert!(matches!(
            classify(Err(genesys::Error::BudgetExhausted), &job),
            Outcome::Retry { not_before } if not_before > Duration::ZERO
        ));
    }

    #[test]
    fn backoff_grows_to_its_cap_and_stays_below_it() {
        for attempts in [0, 1, 5, 40, u32::MAX] {
            for _ in 0..50 {
                let wait = full_jitter(attempts);
                let step = BACKOFF_BASE
                    .saturating_mul(1u32.checked_shl(attempts.min(16)).unwrap_or(u32::MAX))
                    .min(BACKOFF_CAP);
                assert!(wait <= step, "{attempts}: {wait:?} > {step:?}");
            }
        }
        let late: Duration = (0..200).map(|_| full_jitter(10)).max().unwrap_or_default();
        assert!(late > BACKOFF_BASE * 4, "the steps grow: {late:?}");
    }
}
