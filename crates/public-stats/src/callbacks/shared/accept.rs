//! Accepting a request in the shared store: the arguments of `accept.lua` and its answer read
//! back as the SQLite store's would be, so the desk answers the same whichever store it has.

use redis::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{SharedError, SharedStore, digest, millis, parse_status};
use crate::callbacks::backend::{NotStored, Stored};
use crate::callbacks::limits::{CallbackLimits, Refusal};
use crate::callbacks::phone::last_two_digits;
use crate::callbacks::store::{
    IdempotencyRecord, IdempotentReplay, NewCallback, Receipt, WINDOW_DAY_MS, unix_ms,
};

impl SharedStore {
    /// Checks the idempotency key and the limits and, if the request may be stored, stores it
    /// with its due entry, in one atomic script.
    pub async fn accept(
        &self,
        callback: &NewCallback,
        limits: &CallbackLimits,
        idempotency: Option<&IdempotencyRecord>,
        now: OffsetDateTime,
    ) -> Result<Stored, NotStored> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let numbers = serde_json::to_string(&callback.numbers)
            .map_err(|error| SharedError::Corrupt(error.to_string()))?;
        let scheduled = callback
            .scheduled_time
            .map(|at| at.format(&Rfc3339))
            .transpose()
            .map_err(|error| SharedError::Corrupt(error.to_string()))?;
        let address = digest(&callback.client_address);
        let queue = callback.queue.to_string();
        let pending_window = millis(limits.pending_window);
        let mut invocation = self.scripts.accept.prepare_invoke();
        invocation
            .key(match idempotency {
                Some(record) => self.idempotency_key(&record.key),
                None => self.key("idempotency:none"),
            })
            .key(self.request_key(&id))
            .key(self.key("due"))
            .key(self.key("accepted"))
            .key(self.queue_pending_key(&callback.queue))
            .key(self.key(&format!("address:{address}")))
            .key(self.key(&format!("address-numbers:{address}")));
        let number_digests: Vec<String> = callback.numbers.iter().map(|n| digest(n)).collect();
        for number in &number_digests {
            invocation
                .key(self.key(&format!("number:{number}")))
                .key(self.key(&format!("latest:{queue}:{number}")));
        }
        invocation
            .arg(unix_ms(now))
            .arg(&id)
            .arg(if idempotency.is_some() { "1" } else { "0" })
            .arg(idempotency.map_or("", |record| record.body_digest.as_str()))
            .arg(limits.per_number_daily)
            .arg(limits.per_address_hourly)
            .arg(limits.per_address_daily)
            .arg(limits.numbers_per_address_daily)
            .arg(limits.max_pending_per_queue)
            .arg(limits.daily_limit)
            .arg(pending_window)
            .arg(self.request_prefix())
            .arg(&queue)
            .arg(numbers)
            .arg(last_two_digits(
                callback.numbers.first().map_or("", String::as_str),
            ))
            .arg(callback.user_name.as_deref().unwrap_or(""))
            .arg(scheduled.as_deref().unwrap_or(""))
            .arg(callback.country_code.as_deref().unwrap_or(""))
            .arg(&callback.client_address)
            // The newest request for a number on a queue matters while it is pending (at most
            // the delivery window, when a relay runs) and within the window after it.
            .arg(
                pending_window
                    .saturating_mul(2)
                    .saturating_add(WINDOW_DAY_MS),
            )
            .arg(&number_digests);
        let answer: Vec<Value> = self.invoke(&invocation).await?;
        read_answer(&answer, callback, limits)
    }
}

/// The script's answer as the desk needs it.
fn read_answer(
    answer: &[Value],
    callback: &NewCallback,
    limits: &CallbackLimits,
) -> Result<Stored, NotStored> {
    let text = |index: usize| -> Result<String, SharedError> {
        match answer.get(index) {
            Some(value) => redis::from_redis_value_ref(value)
                .map_err(|_| SharedError::Corrupt(format!("accept answer item {index}"))),
            None => Err(SharedError::Corrupt(format!(
                "accept answer without item {index}"
            ))),
        }
    };
    let number = |index: usize| -> Result<i64, SharedError> {
        text(index)?
            .parse()
            .map_err(|_| SharedError::Corrupt(format!("accept answer item {index}")))
    };
    match text(0)?.as_str() {
        "accepted" => Ok(Stored::New(text(1)?)),
        "replay" => Ok(Stored::Earlier(IdempotentReplay {
            body_digest: text(2)?,
            receipt: Receipt {
                id: text(1)?,
                status: parse_status(&text(3)?)?,
                number_hint: text(4).unwrap_or_default(),
            },
        })),
        "pending" => Err(Refusal::AlreadyPending { id: text(1)? }.into()),
        "too_many" => Err(Refusal::TooMany {
            retry_after: std::time::Duration::from_millis(u64::try_from(number(1)?).unwrap_or(0)),
        }
        .into()),
        "queue_full" => {
            tracing::warn!(queue = %callback.queue, pending = number(1)?,
                "callback refused: queue has too many pending callbacks");
            Err(Refusal::QueueFull.into())
        }
        "daily" => {
            tracing::error!(
                limit = limits.daily_limit,
                "callback refused: the org-wide daily limit (CALLBACK_DAILY_LIMIT) is reached"
            );
            Err(Refusal::DailyLimit.into())
        }
        other => Err(SharedError::Corrupt(format!("accept answer {other:?}")).into()),
    }
}
