//! How many callbacks a number, a client address, a queue and the whole org may ask for, counted
//! in the store inside the transaction that would store the next one (so they survive restarts
//! and concurrent requests cannot both slip under a limit). In clustered mode the shared store's
//! acceptance script counts the same limits in the same order, for every instance at once
//! (`shared/accept.lua`); the values and the answers are these.
//!
//! The defaults protect a deployment nobody tuned: a visitor's own retries and a household are
//! comfortably inside them, a script that loops over numbers (toll fraud, "callback bombing" of a
//! stranger's phone) or over requests is stopped after a handful.

use std::time::Duration;

use sqlx::{Row, Sqlite, Transaction};

use super::store::{AcceptError, NewCallback, WINDOW_DAY_MS, WINDOW_HOUR_MS};
use crate::problem::ApiError;

/// The limits, from the `CALLBACK_*` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackLimits {
    /// Requests naming one number, per 24 h.
    pub per_number_daily: u32,
    /// Requests from one client address per hour, and per 24 h.
    pub per_address_hourly: u32,
    pub per_address_daily: u32,
    /// Distinct numbers one client address may name per 24 h.
    pub numbers_per_address_daily: u32,
    /// Requests waiting for delivery to one queue.
    pub max_pending_per_queue: u32,
    /// Requests accepted by the whole service per 24 h.
    pub daily_limit: u32,
    /// How long a created callback still counts as pending for its number: a second request in
    /// that time would make the agent call twice. Also how long delivery is attempted.
    pub pending_window: Duration,
}

impl Default for CallbackLimits {
    fn default() -> Self {
        CallbackLimits {
            per_number_daily: 3,
            per_address_hourly: 5,
            per_address_daily: 20,
            numbers_per_address_daily: 3,
            max_pending_per_queue: 200,
            daily_limit: 1_000,
            pending_window: Duration::from_secs(2 * 3600),
        }
    }
}

/// A limit that was reached.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// A request for this number on this queue is still on its way (409).
    #[error("a callback to this number is already pending")]
    AlreadyPending { id: String },
    /// A number or client-address limit (429); `retry_after` is when room frees up.
    #[error("too many callback requests")]
    TooMany { retry_after: Duration },
    /// Too many requests wait for this queue (503).
    #[error("the queue has too many pending callbacks")]
    QueueFull,
    /// The org-wide daily limit (503).
    #[error("the daily callback limit is reached")]
    DailyLimit,
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::AlreadyPending { id } => ApiError::CallbackAlreadyPending { id },
            Refusal::TooMany { retry_after } => ApiError::TooManyCallbacks { retry_after },
            Refusal::QueueFull | Refusal::DailyLimit => ApiError::CallbacksUnavailable,
        }
    }
}

impl CallbackLimits {
    /// `Ok` when `callback` may be stored now.
    pub(super) async fn check(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        callback: &NewCallback,
        now_ms: i64,
    ) -> Result<(), AcceptError> {
        self.not_already_pending(tx, callback, now_ms).await?;
        self.per_number(tx, callback, now_ms).await?;
        self.per_address(tx, callback, now_ms).await?;
        self.per_queue_and_org(tx, callback, now_ms).await?;
        Ok(())
    }

    async fn not_already_pending(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        callback: &NewCallback,
        now_ms: i64,
    ) -> Result<(), AcceptError> {
        let window = now_ms - millis(self.pending_window);
        for number in &callback.numbers {
            let pending: Option<String> = sqlx::query_scalar(
                "SELECT c.id FROM callback_numbers n JOIN callbacks c ON c.id = n.callback_id
                 WHERE n.number = ? AND n.queue_id = ?
                   AND (c.status = 'pending' OR (c.status = 'created' AND c.accepted_at > ?))
                 ORDER BY c.accepted_at DESC LIMIT 1",
            )
            .bind(number)
            .bind(callback.queue.to_string())
            .bind(window)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(id) = pending {
                return Err(Refusal::AlreadyPending { id }.into());
            }
        }
        Ok(())
    }

    async fn per_number(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        callback: &NewCallback,
        now_ms: i64,
    ) -> Result<(), AcceptError> {
        for number in &callback.numbers {
            let row = sqlx::query(
                "SELECT COUNT(*), MIN(accepted_at) FROM callback_numbers
                 WHERE number = ? AND accepted_at > ?",
            )
            .bind(number)
            .bind(now_ms - WINDOW_DAY_MS)
            .fetch_one(&mut **tx)
            .await?;
            refuse_when_full(&row, self.per_number_daily, WINDOW_DAY_MS, now_ms)?;
        }
        Ok(())
    }

    async fn per_address(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        callback: &NewCallback,
        now_ms: i64,
    ) -> Result<(), AcceptError> {
        for (limit, window) in [
            (self.per_address_hourly, WINDOW_HOUR_MS),
            (self.per_address_daily, WINDOW_DAY_MS),
        ] {
            let row = sqlx::query(
                "SELECT COUNT(*), MIN(accepted_at) FROM callbacks
                 WHERE client_address = ? AND accepted_at > ?",
            )
            .bind(&callback.client_address)
            .bind(now_ms - window)
            .fetch_one(&mut **tx)
            .await?;
            refuse_when_full(&row, limit, window, now_ms)?;
        }
        self.distinct_numbers(tx, callback, now_ms).await
    }

    async fn distinct_numbers(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        callback: &NewCallback,
        now_ms: i64,
    ) -> Result<(), AcceptError> {
        let rows = sqlx::query(
            "SELECT n.number, MIN(n.accepted_at) FROM callback_numbers n
             JOIN callbacks c ON c.id = n.callback_id
             WHERE c.client_address = ? AND n.accepted_at > ?
             GROUP BY n.number",
        )
        .bind(&callback.client_address)
        .bind(now_ms - WINDOW_DAY_MS)
        .fetch_all(&mut **tx)
        .await?;
        let mut known = Vec::with_capacity(rows.len());
        let mut oldest = now_ms;
        for row in &rows {
            known.push(row.try_get::<String, _>(0)?);
            oldest = oldest.min(row.try_get::<i64, _>(1)?);
        }
        let new = callback
            .numbers
            .iter()
            .filter(|number| !known.contains(number))
            .count();
        if known.len() + new > self.numbers_per_address_daily as usize {
            return Err(Refusal::TooMany {
                retry_after: wait_until(oldest + WINDOW_DAY_MS, now_ms),
            }
            .into());
        }
        Ok(())
    }

    async fn per_queue_and_org(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        callback: &NewCallback,
        now_ms: i64,
    ) -> Result<(), AcceptError> {
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM callbacks WHERE queue_id = ? AND status = 'pending'",
        )
        .bind(callback.queue.to_string())
        .fetch_one(&mut **tx)
        .await?;
        if pending >= i64::from(self.max_pending_per_queue) {
            tracing::warn!(queue = %callback.queue, pending, "callback refused: queue has too many pending callbacks");
            return Err(Refusal::QueueFull.into());
        }
        let today: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM callbacks WHERE accepted_at > ?")
            .bind(now_ms - WINDOW_DAY_MS)
            .fetch_one(&mut **tx)
            .await?;
        if today >= i64::from(self.daily_limit) {
            tracing::error!(
                limit = self.daily_limit,
                "callback refused: the org-wide daily limit (CALLBACK_DAILY_LIMIT) is reached"
            );
            return Err(Refusal::DailyLimit.into());
        }
        Ok(())
    }
}

/// A `COUNT(*), MIN(accepted_at)` row against `limit`: refused with the time the oldest leaves
/// the window.
fn refuse_when_full(
    row: &sqlx::sqlite::SqliteRow,
    limit: u32,
    window_ms: i64,
    now_ms: i64,
) -> Result<(), AcceptError> {
    let count: i64 = row.try_get(0)?;
    if count < i64::from(limit) {
        return Ok(());
    }
    let oldest: Option<i64> = row.try_get(1)?;
    Err(Refusal::TooMany {
        retry_after: wait_until(oldest.unwrap_or(now_ms) + window_ms, now_ms),
    }
    .into())
}

fn wait_until(at_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(at_ms - now_ms).unwrap_or(0))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
