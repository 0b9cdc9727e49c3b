//! The callback store: every accepted request, its delivery job and its idempotency record, in a
//! SQLite file in `DATA_DIR` (WAL, `synchronous=FULL`), so that what the service answered 202 to
//! survives a crash or a restart.
//!
//! The abuse limits are counted here, in the same transaction that stores a request, so they hold
//! across restarts and two requests cannot both slip under a limit. One connection does all the
//! work: SQLite has one writer anyway, and callbacks are rare next to what one connection can do.
//! The relay (`relay`) reads due jobs from here; nothing here calls Genesys.
//!
//! Personal data is kept only as long as needed: the numbers and name of a request are cleared
//! once it is settled (created or failed), and the per-number rows go after a day.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::limits::{CallbackLimits, Refusal};
use super::phone::last_two_digits;

const DATABASE_FILE: &str = "callbacks.sqlite3";
const DAY_MS: i64 = 24 * 3600 * 1000;
const HOUR_MS: i64 = 3600 * 1000;

/// What can go wrong with the file itself. Never shown to a visitor (they get a 503).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {0}: {1}")]
    Directory(String, std::io::Error),
    #[error("callback database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("callback database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("a stored callback is unreadable: {0}")]
    Corrupt(String),
}

/// A request that passed validation, ready to be stored.
pub struct NewCallback {
    pub queue: Uuid,
    /// E.164, 1 or 2.
    pub numbers: Vec<String>,
    pub user_name: Option<String>,
    pub scheduled_time: Option<OffsetDateTime>,
    pub country_code: Option<String>,
    pub client_address: String,
}

/// An idempotency record to store with a request.
pub struct IdempotencyRecord {
    pub key: String,
    pub body_digest: String,
}

/// The delivery state of a stored request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Created,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Created => "created",
            Status::Failed => "failed",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn named(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Status::Pending),
            "created" => Some(Status::Created),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Self::named(text).ok_or_else(|| StoreError::Corrupt(format!("status {text:?}")))
    }
}

/// What a visitor may learn about a request: its state and the last two digits of its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub id: String,
    pub status: Status,
    pub number_hint: String,
}

/// What an earlier request with the same `Idempotency-Key` left.
pub struct IdempotentReplay {
    pub body_digest: String,
    pub receipt: Receipt,
}

/// A job the relay must deliver.
#[derive(Clone, Debug)]
pub struct DueJob {
    pub id: String,
    pub queue: Uuid,
    pub numbers: Vec<String>,
    pub user_name: Option<String>,
    pub scheduled_time: Option<OffsetDateTime>,
    pub country_code: Option<String>,
    pub accepted_at: OffsetDateTime,
    pub attempts: u32,
    pub number_hint: String,
    /// In clustered mode, the token of this instance's claim on the job: recording an outcome
    /// with a claim another instance has since taken over changes nothing. `None` here.
    pub claim: Option<String>,
}

/// Why a request was not stored.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AcceptError {
    fn from(error: sqlx::Error) -> Self {
        AcceptError::Store(StoreError::Database(error))
    }
}

/// The SQLite-backed store. Cheap to clone.
#[derive(Clone)]
pub struct CallbackStore {
    pool: SqlitePool,
}

impl CallbackStore {
    /// Opens (creating if needed) `dir/callbacks.sqlite3` and brings its schema up to date.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Directory(dir.display().to_string(), e))?;
        let options = SqliteConnectOptions::new()
            .filename(dir.join(DATABASE_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // An acknowledged request must survive a power cut, not only a process crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(CallbackStore { pool })
    }

    /// The store in `dir`, if a file is there with requests still to deliver: what this instance
    /// accepted before it joined a cluster, which the shared store knows nothing of.
    pub async fn open_if_pending(dir: &Path) -> Result<Option<Self>, StoreError> {
        if !dir.join(DATABASE_FILE).exists() {
            return Ok(None);
        }
        let store = Self::open(dir).await?;
        let pending = store.pending_count().await?;
        if pending == 0 {
            return Ok(None);
        }
        tracing::warn!(pending, dir = %dir.display(),
            "callbacks accepted before clustered mode wait in DATA_DIR; this instance delivers them");
        Ok(Some(store))
    }

    /// Checks the limits and, if none is reached, stores the request, its job and its
    /// idempotency record in one transaction. Returns the new request's id.
    pub async fn accept(
        &self,
        callback: &NewCallback,
        limits: &CallbackLimits,
        idempotency: Option<&IdempotencyRecord>,
        now: OffsetDateTime,
    ) -> Result<String, AcceptError> {
        let now_ms = unix_ms(now);
        let mut tx = self.pool.begin().await?;
        limits.check(&mut tx, callback, now_ms).await?;
        let id = new_receipt_id();
        let numbers = serde_json::to_string(&callback.numbers)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let scheduled = callback
            .scheduled_time
            .map(|t| t.format(&Rfc3339))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO callbacks (id, queue_id, numbers, number_hint, user_name, scheduled_time,
                 country_code, client_address, status, accepted_at, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
        )
        .bind(&id)
        .bind(callback.queue.to_string())
        .bind(numbers)
        .bind(last_two_digits(
            callback.numbers.first().map_or("", String::as_str),
        ))
        .bind(&callback.user_name)
        .bind(scheduled)
        .bind(&callback.country_code)
        .bind(&callback.client_address)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        for number in &callback.numbers {
            sqlx::query(
                "INSERT INTO callback_numbers (callback_id, number, queue_id, accepted_at)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(&id)
            .bind(number)
            .bind(callback.queue.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(record) = idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (key, body_digest, callback_id, created_at)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(&record.key)
            .bind(&record.body_digest)
            .bind(&id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The request stored under `key` in the last day, if any.
    pub async fn idempotent(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<IdempotentReplay>, StoreError> {
        let row = sqlx::query(
            "SELECT k.body_digest, c.id, c.status, c.number_hint
             FROM idempotency_keys k JOIN callbacks c ON c.id = k.callback_id
             WHERE k.key = ? AND k.created_at > ?",
        )
        .bind(key)
        .bind(unix_ms(now) - DAY_MS)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(IdempotentReplay {
                body_digest: row.try_get(0)?,
                receipt: Receipt {
                    id: row.try_get(1)?,
                    status: Status::parse(row.try_get(2)?)?,
                    number_hint: row.try_get(3)?,
                },
            })
        })
        .transpose()
    }

    /// What a visitor may see of request `id`.
    pub async fn receipt(&self, id: &str) -> Result<Option<Receipt>, StoreError> {
        let row = sqlx::query("SELECT status, number_hint FROM callbacks WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Receipt {
                id: id.to_owned(),
                status: Status::parse(row.try_get(0)?)?,
                number_hint: row.try_get(1)?,
            })
        })
        .transpose()
    }

    /// The pending job due soonest: due now (`Ok(Ok(job))`) or the time the next one is due
    /// (`Ok(Err(Some(at)))`), or nothing pending (`Ok(Err(None))`).
    pub async fn next_due(
        &self,
        now: OffsetDateTime,
    ) -> Result<Result<DueJob, Option<OffsetDateTime>>, StoreError> {
        let row = sqlx::query(
            "SELECT id, queue_id, numbers, user_name, scheduled_time, country_code, accepted_at,
                    attempts, number_hint, next_attempt_at
             FROM callbacks WHERE status = 'pending'
             ORDER BY next_attempt_at LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(Err(None));
        };
        let next_attempt_at: i64 = row.try_get(9)?;
        if next_attempt_at > unix_ms(now) {
            return Ok(Err(Some(from_unix_ms(next_attempt_at))));
        }
        Ok(Ok(due_job(&row)?))
    }

    /// How many accepted requests wait for delivery.
    pub async fn pending_count(&self) -> Result<i64, StoreError> {
        let count = sqlx::query_scalar("SELECT COUNT(*) FROM callbacks WHERE status = 'pending'")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    /// Genesys created the callback: settle the job and forget the visitor's details.
    pub async fn mark_created(
        &self,
        id: &str,
        conversation: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE callbacks SET status = 'created', conversation_id = ?, settled_at = ?,
                 numbers = NULL, user_name = NULL, attempts = attempts + 1
             WHERE id = ?",
        )
        .bind(conversation.map(|c| c.to_string()))
        .bind(unix_ms(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The job will not be delivered: settle it and forget the visitor's details.
    pub async fn mark_failed(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE callbacks SET status = 'failed', settled_at = ?, numbers = NULL,
                 user_name = NULL, attempts = attempts + 1
             WHERE id = ?",
        )
        .bind(unix_ms(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Try again at `at`.
    pub async fn reschedule(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE callbacks SET next_attempt_at = ?, attempts = attempts + 1 WHERE id = ?",
        )
        .bind(unix_ms(at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Drops what no limit or replay needs any more: per-number rows and idempotency keys older
    /// than a day, settled requests older than a week.
    pub async fn forget_old(&self, now: OffsetDateTime) -> Result<(), StoreError> {
        let now_ms = unix_ms(now);
        sqlx::query("DELETE FROM callback_numbers WHERE accepted_at < ?")
            .bind(now_ms - DAY_MS)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
            .bind(now_ms - DAY_MS)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM callbacks WHERE status != 'pending' AND settled_at < ?")
            .bind(now_ms - 7 * DAY_MS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn due_job(row: &sqlx::sqlite::SqliteRow) -> Result<DueJob, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(what.to_owned());
    let queue: String = row.try_get(1)?;
    let numbers: Option<String> = row.try_get(2)?;
    let numbers: Vec<String> =
        serde_json::from_str(numbers.as_deref().unwrap_or("[]")).map_err(|_| corrupt("numbers"))?;
    let scheduled: Option<String> = row.try_get(4)?;
    let attempts: i64 = row.try_get(7)?;
    Ok(DueJob {
        id: row.try_get(0)?,
        queue: Uuid::parse_str(&queue).map_err(|_| corrupt("queue_id"))?,
        numbers,
        user_name: row.try_get(3)?,
        scheduled_time: scheduled
            .map(|t| OffsetDateTime::parse(&t, &Rfc3339))
            .transpose()
            .map_err(|_| corrupt("scheduled_time"))?,
        country_code: row.try_get(5)?,
        accepted_at: from_unix_ms(row.try_get(6)?),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        number_hint: row.try_get(8)?,
        claim: None,
    })
}

/// 128 random bits, hex: a receipt nobody can guess or enumerate.
fn new_receipt_id() -> String {
    Uuid::new_v4().simple().to_string()
}

pub fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn from_unix_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Window lengths in milliseconds, for `limits`.
pub const WINDOW_DAY_MS: i64 = DAY_MS;
pub const WINDOW_HOUR_MS: i64 = HOUR_MS;
