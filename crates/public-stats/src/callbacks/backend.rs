//! Where accepted callbacks are kept: this instance's SQLite file ([`CallbackStore`], the default)
//! or, in clustered mode, Redis shared by every instance ([`SharedStore`]). The desk and the relay
//! see only [`CallbackBackend`], so they behave the same either way: the same checks in the same
//! order, the same answers, the same delivery rules.
//!
//! It is not where limits are defined (`limits`) or requests validated (`validate`).

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use super::limits::{CallbackLimits, Refusal};
use super::shared::{SharedError, SharedStore};
use super::store::{
    AcceptError, CallbackStore, DueJob, IdempotencyRecord, IdempotentReplay, NewCallback, Receipt,
    StoreError,
};

/// How often a relay on the shared store looks for work it was not woken for: requests accepted
/// by other instances, and claims a dead instance left to lapse.
const SHARED_POLL: Duration = Duration::from_secs(1);
/// How often a relay on this instance's own file sweeps old rows (nothing else adds work that
/// its own waker does not announce).
const LOCAL_POLL: Duration = Duration::from_secs(3600);

/// The store behind the desk and the relay. Cheap to clone.
#[derive(Clone)]
pub enum CallbackBackend {
    /// This instance alone: a SQLite file in `DATA_DIR`.
    Local(CallbackStore),
    /// Clustered mode: Redis, shared by every instance.
    Shared(SharedStore),
}

/// The store could not be used. Never shown to a visitor (they get a 503).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Local(#[from] StoreError),
    #[error(transparent)]
    Shared(#[from] SharedError),
}

/// What storing a request came to.
pub enum Stored {
    /// Stored now, under this id.
    New(String),
    /// A request with the same `Idempotency-Key` was stored first (by another instance, in
    /// clustered mode, at the same moment): its answer is the one to give.
    Earlier(IdempotentReplay),
}

/// Why a request was not stored.
#[derive(Debug, thiserror::Error)]
pub enum NotStored {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Unavailable(#[from] BackendError),
}

impl From<SharedError> for NotStored {
    fn from(error: SharedError) -> Self {
        NotStored::Unavailable(error.into())
    }
}

/// What the relay should do next.
pub enum Due {
    /// Deliver this job now (in clustered mode this instance holds it until it is recorded).
    Now(DueJob),
    /// Nothing is due before this time.
    At(OffsetDateTime),
    /// Nothing is pending.
    Nothing,
}

impl CallbackBackend {
    /// Checks the limits and, when none is reached, stores the request, its delivery job and its
    /// idempotency record in one step.
    pub async fn accept(
        &self,
        callback: &NewCallback,
        limits: &CallbackLimits,
        idempotency: Option<&IdempotencyRecord>,
        now: OffsetDateTime,
    ) -> Result<Stored, NotStored> {
        match self {
            CallbackBackend::Local(store) => store
                .accept(callback, limits, idempotency, now)
                .await
                .map(Stored::New)
                .map_err(|error| match error {
                    AcceptError::Refused(refusal) => NotStored::Refused(refusal),
                    AcceptError::Store(error) => NotStored::Unavailable(error.into()),
                }),
            CallbackBackend::Shared(store) => {
                store.accept(callback, limits, idempotency, now).await
            }
        }
    }

    /// The request stored under `key` in the last day, if any.
    pub async fn idempotent(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<IdempotentReplay>, BackendError> {
        match self {
            CallbackBackend::Local(store) => Ok(store.idempotent(key, now).await?),
            CallbackBackend::Shared(store) => Ok(store.idempotent(key).await?),
        }
    }

    /// What a visitor may see of request `id`.
    pub async fn receipt(&self, id: &str) -> Result<Option<Receipt>, BackendError> {
        match self {
            CallbackBackend::Local(store) => Ok(store.receipt(id).await?),
            CallbackBackend::Shared(store) => Ok(store.receipt(id).await?),
        }
    }

    /// The job to deliver now, if any; in clustered mode it is claimed for this instance.
    pub async fn next_due(&self, now: OffsetDateTime) -> Result<Due, BackendError> {
        match self {
            CallbackBackend::Local(store) => Ok(match store.next_due(now).await? {
                Ok(job) => Due::Now(job),
                Err(Some(at)) => Due::At(at),
                Err(None) => Due::Nothing,
            }),
            CallbackBackend::Shared(store) => Ok(store.claim_due(now).await?),
        }
    }

    /// Runs `work` (the send to Genesys) while keeping this instance's claim on `job` alive, so
    /// that no other instance takes it over while it is in flight.
    pub async fn holding<F: Future>(&self, job: &DueJob, work: F) -> F::Output {
        match self {
            CallbackBackend::Local(_) => work.await,
            CallbackBackend::Shared(store) => store.holding(job, work).await,
        }
    }

    /// How many accepted requests wait for delivery (the whole deployment's, in clustered mode).
    pub async fn pending_count(&self) -> Result<i64, BackendError> {
        match self {
            CallbackBackend::Local(store) => Ok(store.pending_count().await?),
            CallbackBackend::Shared(store) => Ok(store.pending_count().await?),
        }
    }

    /// Genesys created the callback: settle the job and forget the visitor's details.
    pub async fn mark_created(
        &self,
        job: &DueJob,
        conversation: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<(), BackendError> {
        match self {
            CallbackBackend::Local(store) => {
                Ok(store.mark_created(&job.id, conversation, now).await?)
            }
            CallbackBackend::Shared(store) => {
                Ok(store.mark_created(job, conversation, now).await?)
            }
        }
    }

    /// The job will not be delivered: settle it and forget the visitor's details.
    pub async fn mark_failed(&self, job: &DueJob, now: OffsetDateTime) -> Result<(), BackendError> {
        match self {
            CallbackBackend::Local(store) => Ok(store.mark_failed(&job.id, now).await?),
            CallbackBackend::Shared(store) => Ok(store.mark_failed(job, now).await?),
        }
    }

    /// Try again at `at`.
    pub async fn reschedule(&self, job: &DueJob, at: OffsetDateTime) -> Result<(), BackendError> {
        match self {
            CallbackBackend::Local(store) => Ok(store.reschedule(&job.id, at).await?),
            CallbackBackend::Shared(store) => Ok(store.reschedule(job, at).await?),
        }
    }

    /// Drops what no limit or replay needs any more (in Redis, expiry does it).
    pub async fn forget_old(&self, now: OffsetDateTime) -> Result<(), BackendError> {
        match self {
            CallbackBackend::Local(store) => Ok(store.forget_old(now).await?),
            CallbackBackend::Shared(_) => Ok(()),
        }
    }

    /// The longest the relay sleeps without being woken.
    pub fn poll(&self) -> Duration {
        match self {
            CallbackBackend::Local(_) => LOCAL_POLL,
            CallbackBackend::Shared(_) => SHARED_POLL,
        }
    }
}
