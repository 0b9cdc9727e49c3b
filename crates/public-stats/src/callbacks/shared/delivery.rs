//! Delivery from the shared store: which instance sends which job, and recording what came of it.
//!
//! Why a due set with leases rather than a Redis Stream with a consumer group: a job is not sent
//! once but tried until created or too old, each retry at its own time (backoff, Genesys's
//! `Retry-After`). A sorted set scored by "next due" says exactly that, and a claim is the same
//! write as a retry: the entry moves a lease into the future. A stream would need the retry
//! schedule kept beside it (re-adding entries, or `XAUTOCLAIM` with one idle time for all) and
//! acknowledgements, dead consumers and trimming to be managed on top. Here, an instance that
//! dies holding a job simply stops renewing its lease; when the lease ends the job is due again
//! and the next instance to look claims it.
//!
//! Exactly once toward Genesys as far as a store can make it: a claim is renewed while its send
//! is in flight, so no second instance sends the same job at the same time; a `created` is
//! recorded whoever holds the claim, and retried until it is; only the holder may record a
//! retry or a failure. What remains is the window every outbox has (sent, then killed before
//! recording): the job is sent again after the lease, carrying the same `data.outboxId`.

use std::future::Future;

use redis::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{KEEP_SETTLED, SharedError, SharedStore, millis};
use crate::callbacks::backend::Due;
use crate::callbacks::store::{DueJob, from_unix_ms, unix_ms};

impl SharedStore {
    /// Claims the job due soonest for this instance, or says when the next one is due.
    pub async fn claim_due(&self, now: OffsetDateTime) -> Result<Due, SharedError> {
        let token = format!("{}:{}", self.instance(), Uuid::new_v4().simple());
        let mut invocation = self.scripts.claim.prepare_invoke();
        invocation
            .key(self.key("due"))
            .arg(unix_ms(now))
            .arg(millis(self.lease()))
            .arg(&token)
            .arg(self.request_prefix());
        let answer: Vec<Value> = self.invoke(&invocation).await?;
        let fields = Fields(&answer);
        match fields.text(0)?.as_str() {
            "nothing" => Ok(Due::Nothing),
            "later" => Ok(Due::At(from_unix_ms(fields.millis(1)?))),
            "claimed" => Ok(Due::Now(fields.job(token)?)),
            other => Err(SharedError::Corrupt(format!("claim answer {other:?}"))),
        }
    }

    /// Runs `work` while renewing this instance's claim on `job` every third of the lease.
    pub async fn holding<F: Future>(&self, job: &DueJob, work: F) -> F::Output {
        let Some(token) = job.claim.as_deref() else {
            return work.await;
        };
        let mut work = std::pin::pin!(work);
        let every = self.lease() / 3;
        loop {
            tokio::select! {
                output = &mut work => return output,
                () = tokio::time::sleep(every) => self.renew(job, token).await,
            }
        }
    }

    async fn renew(&self, job: &DueJob, token: &str) {
        let until = OffsetDateTime::now_utc() + self.lease();
        let mut invocation = self.scripts.renew.prepare_invoke();
        invocation
            .key(self.key("due"))
            .key(self.request_key(&job.id))
            .arg(&job.id)
            .arg(token)
            .arg(unix_ms(until));
        match self.invoke::<i64>(&invocation).await {
            Ok(1) => {}
            Ok(_) => tracing::warn!(id = %job.id,
                "callback claim taken over by another instance while its send was in flight"),
            Err(error) => tracing::warn!(id = %job.id, %error, "could not renew a callback claim"),
        }
    }

    /// Genesys created the callback: settle the job (whoever holds its claim now).
    pub async fn mark_created(
        &self,
        job: &DueJob,
        conversation: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<(), SharedError> {
        let conversation = conversation.map(|c| c.to_string()).unwrap_or_default();
        self.settle(job, "created", now, &conversation).await
    }

    /// The job will not be delivered: settle it, if this instance still holds it.
    pub async fn mark_failed(&self, job: &DueJob, now: OffsetDateTime) -> Result<(), SharedError> {
        self.settle(job, "failed", now, "").await
    }

    /// Try again at `at`, if this instance still holds the job.
    pub async fn reschedule(&self, job: &DueJob, at: OffsetDateTime) -> Result<(), SharedError> {
        let now = OffsetDateTime::now_utc();
        self.settle(job, "retry", now, &unix_ms(at).to_string())
            .await
    }

    async fn settle(
        &self,
        job: &DueJob,
        outcome: &str,
        now: OffsetDateTime,
        detail: &str,
    ) -> Result<(), SharedError> {
        let mut invocation = self.scripts.settle.prepare_invoke();
        invocation
            .key(self.request_key(&job.id))
            .key(self.key("due"))
            .key(self.queue_pending_key(&job.queue))
            .arg(&job.id)
            .arg(outcome)
            .arg(job.claim.as_deref().unwrap_or(""))
            .arg(unix_ms(now))
            .arg(detail)
            .arg(millis(KEEP_SETTLED));
        let recorded: i64 = self.invoke(&invocation).await?;
        if recorded == 0 {
            tracing::info!(id = %job.id, outcome,
                "callback outcome not recorded: settled, or taken over by another instance");
        }
        Ok(())
    }
}

/// The items of a script's answer.
struct Fields<'a>(&'a [Value]);

impl Fields<'_> {
    fn optional(&self, index: usize) -> Result<Option<String>, SharedError> {
        match self.0.get(index) {
            None | Some(Value::Nil) => Ok(None),
            Some(value) => redis::from_redis_value_ref(value)
                .map(Some)
                .map_err(|_| SharedError::Corrupt(format!("answer item {index}"))),
        }
    }

    fn text(&self, index: usize) -> Result<String, SharedError> {
        self.optional(index)?
            .ok_or_else(|| SharedError::Corrupt(format!("answer without item {index}")))
    }

    /// A time in Unix milliseconds (a score, which Redis may write as a float).
    fn millis(&self, index: usize) -> Result<i64, SharedError> {
        let text = self.text(index)?;
        text.parse::<i64>()
            .or_else(|_| text.parse::<f64>().map(|ms| ms as i64))
            .map_err(|_| SharedError::Corrupt(format!("time {text:?}")))
    }

    /// A claimed job: id, queue, numbers, user name, scheduled time, country code, accepted at,
    /// attempts, number hint.
    fn job(&self, claim: String) -> Result<DueJob, SharedError> {
        let corrupt = |what: &str| SharedError::Corrupt(what.to_owned());
        let numbers = self.optional(3)?.unwrap_or_else(|| "[]".to_owned());
        Ok(DueJob {
            id: self.text(1)?,
            queue: Uuid::parse_str(&self.text(2)?).map_err(|_| corrupt("queue"))?,
            numbers: serde_json::from_str(&numbers).map_err(|_| corrupt("numbers"))?,
            user_name: self.optional(4)?,
            scheduled_time: self
                .optional(5)?
                .map(|at| OffsetDateTime::parse(&at, &Rfc3339))
                .transpose()
                .map_err(|_| corrupt("scheduled_time"))?,
            country_code: self.optional(6)?,
            accepted_at: from_unix_ms(self.millis(7)?),
            attempts: self.text(8)?.parse().map_err(|_| corrupt("attempts"))?,
            number_hint: self.optional(9)?.unwrap_or_default(),
            claim: Some(claim),
        })
    }
}
