//! The callback store of clustered mode: every accepted request, its delivery job, its
//! idempotency record and everything the abuse limits count, in Redis shared by every instance,
//! so that the limits hold for the deployment (not per instance) and what one instance accepted
//! is delivered even when that instance dies.
//!
//! Accepting is one Lua script (`accept.lua`): it checks the idempotency key and every limit and
//! stores the request with its due entry, atomically, so two instances cannot both slip a request
//! under a limit or both store one key. Delivery is claimed, not assigned (`delivery`): a due set
//! scored by the time each job is next due, from which an instance takes a job by moving its entry
//! a lease into the future. A durable Redis is what makes "accepted" mean "will be delivered":
//! `deploy/REDIS-DURABILITY.md` says which settings.
//!
//! Keys, all under `public-stats:callbacks:` (standalone Redis, one primary):
//! `request:<id>` (hash: the request and its state; expires a week after it is settled),
//! `due` (sorted set, id → next attempt or lease end), `accepted` (id → time, the daily total),
//! `queue:<queue>:pending` (set), `address:<digest>` (id → time), `address-numbers:<digest>`
//! (number digest → last time named), `number:<digest>` (id → time), `latest:<queue>:<digest>`
//! (id of the number's newest request on the queue), `idempotency:<digest>` (hash, a day).
//! Phone numbers, client addresses and idempotency keys appear in key names only as SHA-256
//! digests, so that key listings, `MONITOR` and the slow log do not show them; the numbers
//! themselves are in the request's hash until it is settled, as in the SQLite store.
//!
//! Not here: the limits' values and answers (`limits`), what is sent to Genesys (`relay`).

mod accept;
mod delivery;

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};
use sha2::{Digest, Sha256};

use super::store::{IdempotentReplay, Receipt, Status};
use crate::cluster::Cluster;

/// How long a settled request can still be looked up by its receipt, as in the SQLite store.
const KEEP_SETTLED: Duration = Duration::from_secs(7 * 24 * 3600);

/// Redis could not be used, or held something unreadable. Never shown to a visitor (they get a
/// 503): only the error's kind and Redis's error code are kept, never a command's arguments.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("Redis command failed ({kind}{})", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Redis { kind: String, code: Option<String> },
    #[error("a callback stored in Redis is unreadable: {0}")]
    Corrupt(String),
}

impl From<redis::RedisError> for SharedError {
    fn from(error: redis::RedisError) -> Self {
        SharedError::Redis {
            kind: format!("{:?}", error.kind()),
            code: error.code().map(str::to_owned),
        }
    }
}

/// The Redis-backed store. Cheap to clone.
#[derive(Clone)]
pub struct SharedStore {
    cluster: Cluster,
    scripts: std::sync::Arc<Scripts>,
}

struct Scripts {
    accept: Script,
    claim: Script,
    renew: Script,
    settle: Script,
}

impl SharedStore {
    pub fn new(cluster: Cluster) -> Self {
        SharedStore {
            cluster,
            scripts: std::sync::Arc::new(Scripts {
                accept: Script::new(include_str!("accept.lua")),
                claim: Script::new(include_str!("claim.lua")),
                renew: Script::new(include_str!("renew.lua")),
                settle: Script::new(include_str!("settle.lua")),
            }),
        }
    }

    /// The request stored under `key` in the last day, if any.
    pub async fn idempotent(&self, key: &str) -> Result<Option<IdempotentReplay>, SharedError> {
        let record: Vec<Option<String>> = self
            .run(
                redis::cmd("HMGET")
                    .arg(self.idempotency_key(key))
                    .arg("digest")
                    .arg("id"),
            )
            .await?;
        let (Some(Some(body_digest)), Some(Some(id))) = (record.first(), record.get(1)) else {
            return Ok(None);
        };
        Ok(self.receipt(id).await?.map(|receipt| IdempotentReplay {
            body_digest: body_digest.clone(),
            receipt,
        }))
    }

    /// What a visitor may see of request `id`.
    pub async fn receipt(&self, id: &str) -> Result<Option<Receipt>, SharedError> {
        let fields: Vec<Option<String>> = self
            .run(
                redis::cmd("HMGET")
                    .arg(self.request_key(id))
                    .arg("status")
                    .arg("number_hint"),
            )
            .await?;
        let (Some(Some(status)), Some(hint)) = (fields.first(), fields.get(1)) else {
            return Ok(None);
        };
        Ok(Some(Receipt {
            id: id.to_owned(),
            status: parse_status(status)?,
            number_hint: hint.clone().unwrap_or_default(),
        }))
    }

    /// How many accepted requests wait for delivery, across the deployment.
    pub async fn pending_count(&self) -> Result<i64, SharedError> {
        self.run(redis::cmd("ZCARD").arg(self.key("due"))).await
    }

    /// Runs one command, noting for `/readyz` and the metrics whether Redis answered.
    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, SharedError> {
        let result: RedisResult<T> = command.query_async(&mut self.connection()).await;
        self.cluster.record(&result);
        Ok(result?)
    }

    /// Runs one script invocation, likewise.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, SharedError> {
        let result: RedisResult<T> = invocation.invoke_async(&mut self.connection()).await;
        self.cluster.record(&result);
        Ok(result?)
    }

    fn connection(&self) -> ConnectionManager {
        self.cluster.connection()
    }

    fn key(&self, name: &str) -> String {
        self.cluster.key(&format!("callbacks:{name}"))
    }

    /// What request keys start with: scripts that find a request by its id complete it.
    fn request_prefix(&self) -> String {
        self.key("request:")
    }

    fn request_key(&self, id: &str) -> String {
        self.key(&format!("request:{id}"))
    }

    fn idempotency_key(&self, key: &str) -> String {
        self.key(&format!("idempotency:{}", digest(key)))
    }

    fn queue_pending_key(&self, queue: &uuid::Uuid) -> String {
        self.key(&format!("queue:{queue}:pending"))
    }

    /// How long this instance's claim on a job lasts unrenewed: the longest a dead instance keeps
    /// the others from delivering what it held (`LEADER_LEASE_SECONDS`).
    fn lease(&self) -> Duration {
        self.cluster.lease()
    }

    fn instance(&self) -> &str {
        self.cluster.instance()
    }
}

/// SHA-256, hex: what stands for a phone number, an address or a key in key names.
fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn parse_status(text: &str) -> Result<Status, SharedError> {
    Status::named(text).ok_or_else(|| SharedError::Corrupt(format!("status {text:?}")))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
