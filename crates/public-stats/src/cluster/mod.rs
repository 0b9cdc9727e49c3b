//! Clustered mode: several instances of the service behaving as one, on Redis (`REDIS_URL`).
//!
//! [`Cluster`] is the one connection every shared part uses (a `redis` `ConnectionManager`,
//! which reconnects by itself), the instance's id, the key names, and the health of the link as
//! `/readyz` and the metrics report it. What is shared lives beside it, one module per part.
//!
//! Without `REDIS_URL` none of this runs: one instance keeps everything in its own process and
//! its SQLite file, with nothing else to operate. This module decides nothing about visitors.

pub mod budget;
pub mod lease;
pub mod probe;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long one Redis command may take before it counts as failed: the shared parts then act as
/// when Redis is down (stale data, callbacks refused) instead of holding visitors' requests.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Where Redis is. Its password, when the URL has one, never reaches a log or an error: only
/// the scheme, host, port and database are ever shown.
#[derive(Clone)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Accepts `redis://` and `rediss://` (TLS) URLs as the `redis` crate reads them.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let url = url::Url::parse(value).map_err(|_| {
            "is not a URL like redis://127.0.0.1:6379/0 (rediss:// for TLS)".to_string()
        })?;
        if !matches!(url.scheme(), "redis" | "rediss") || !url.has_host() {
            return Err("must start with redis:// or rediss:// and name a host".to_string());
        }
        redis::Client::open(value)
            .map_err(|_| "is not a Redis URL the client can use".to_string())?;
        Ok(RedisUrl(value.to_string()))
    }

    pub fn is_tls(&self) -> bool {
        self.0.starts_with("rediss:")
    }

    fn client(&self) -> redis::RedisResult<redis::Client> {
        redis::Client::open(self.0.as_str())
    }
}

/// `rediss://host:6379/0`, without user or password.
impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(url) => write!(
                f,
                "{}://{}:{}{}",
                url.scheme(),
                url.host_str().unwrap_or("?"),
                url.port().unwrap_or(6379),
                url.path()
            ),
            Err(_) => f.write_str("(unreadable Redis URL)"),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// The clustered-mode settings (`REDIS_URL`, `LEADER_LEASE_SECONDS`).
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    pub url: RedisUrl,
    /// How long the leader's lease lasts without renewal: the longest a dead leader keeps the
    /// others from taking over.
    pub lease: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Only at start: later, a lost link degrades the service instead of stopping it.
    #[error("could not reach Redis at {url} (REDIS_URL): {kind}")]
    Connect { url: String, kind: String },
}

/// The link to Redis shared by every clustered part. Cheap to clone.
#[derive(Clone)]
pub struct Cluster(Arc<Inner>);

struct Inner {
    url: RedisUrl,
    connection: ConnectionManager,
    /// This process, among the instances: written into the lease and into logs.
    instance: String,
    lease: Duration,
    /// The last command reached Redis (set by every shared part after each command).
    reachable: AtomicBool,
    /// Since when Redis has been out of reach (`None` while reachable).
    down_since: Mutex<Option<OffsetDateTime>>,
}

impl Cluster {
    /// Connects (failing when Redis cannot be reached at start, naming `REDIS_URL`); from then
    /// on the connection reconnects by itself.
    pub async fn connect(settings: &ClusterSettings) -> Result<Self, ClusterError> {
        let fail = |error: redis::RedisError| ClusterError::Connect {
            url: settings.url.to_string(),
            // The kind and category only: a Redis error's text can quote the URL it was given.
            // Over TLS an untrusted certificate is an I/O error too: say where to look.
            kind: match (error.kind(), settings.url.is_tls()) {
                (redis::ErrorKind::Io, true) => "Io (over TLS: is the server's certificate \
                     trusted? SSL_CERT_FILE may name the CA file to trust)"
                    .to_string(),
                (kind, _) => format!("{kind:?}"),
            },
        };
        let client = settings.url.client().map_err(fail)?;
        let connection = client
            .get_connection_manager_with_config(manager_config())
            .await
            .map_err(fail)?;
        let cluster = Cluster(Arc::new(Inner {
            url: settings.url.clone(),
            connection,
            instance: Uuid::new_v4().simple().to_string(),
            lease: settings.lease,
            reachable: AtomicBool::new(true),
            down_since: Mutex::new(None),
        }));
        cluster.record(&Ok::<(), redis::RedisError>(()));
        Ok(cluster)
    }

    /// A handle for commands (clones share one multiplexed connection).
    pub fn connection(&self) -> ConnectionManager {
        self.0.connection.clone()
    }

    /// A new client for what needs a connection of its own (pub/sub).
    pub fn client(&self) -> redis::RedisResult<redis::Client> {
        self.0.url.client()
    }

    pub fn instance(&self) -> &str {
        &self.0.instance
    }

    pub fn lease(&self) -> Duration {
        self.0.lease
    }

    /// Where Redis is, printable (no password).
    pub fn url(&self) -> &RedisUrl {
        &self.0.url
    }

    /// Every key the service writes starts with `public-stats:`, so a Redis shared with other
    /// applications stays readable.
    pub fn key(&self, name: &str) -> String {
        format!("public-stats:{name}")
    }

    /// Notes whether a command reached Redis, for `/readyz` and the metrics; logs each change
    /// of state once.
    pub fn record<T>(&self, result: &redis::RedisResult<T>) {
        let reachable = match result {
            Ok(_) => true,
            // An error answered by Redis (a script's own error, a wrong type) means it is there.
            Err(error) => {
                !(error.is_io_error()
                    || error.is_timeout()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal())
            }
        };
        let was = self.0.reachable.swap(reachable, Ordering::Relaxed);
        metrics::gauge!("public_stats_redis_up").set(if reachable { 1.0 } else { 0.0 });
        if !reachable {
            metrics::counter!("public_stats_redis_errors_total").increment(1);
        }
        if was != reachable {
            if let Ok(mut since) = self.0.down_since.lock() {
                *since = (!reachable).then(OffsetDateTime::now_utc);
            }
            if reachable {
                tracing::info!(redis = %self.0.url, "Redis is reachable again");
            } else {
                let kind = result
                    .as_ref()
                    .err()
                    .map(|error| format!("{:?}", error.kind()));
                tracing::warn!(redis = %self.0.url, ?kind, "Redis is unreachable: shared state is degraded until it returns");
            }
        }
    }

    /// Whether the last command reached Redis.
    pub fn is_reachable(&self) -> bool {
        self.0.reachable.load(Ordering::Relaxed)
    }

    /// Since when Redis has been out of reach; `None` while it is reachable.
    pub fn unreachable_since(&self) -> Option<OffsetDateTime> {
        if self.is_reachable() {
            return None;
        }
        self.0.down_since.lock().ok().and_then(|since| *since)
    }
}

/// The error a shared part records when Redis did not answer within its own deadline (a lease
/// that must step down in time cannot wait for the client's timeouts), or when a pub/sub
/// connection ends: counted as unreachable, like a dropped connection.
pub fn unreachable(what: &'static str) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Io, what))
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECTION_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        // Reconnect attempts per failed command; the next command tries again, so an outage of
        // any length ends by itself without piling up retries.
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_never_shown() {
        let url = RedisUrl::parse("rediss://user:s3cret@redis.internal:6380/2").unwrap();
        assert_eq!(url.to_string(), "rediss://redis.internal:6380/2");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(url.is_tls());
    }

    #[test]
    fn only_redis_urls_are_accepted() {
        assert!(RedisUrl::parse("redis://127.0.0.1:6379/0").is_ok());
        assert!(
            !RedisUrl::parse("redis://127.0.0.1:6379/0")
                .unwrap()
                .is_tls()
        );
        for wrong in ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://", ""] {
            assert!(RedisUrl::parse(wrong).is_err(), "{wrong:?} accepted");
        }
    }

    #[tokio::test]
    async fn commands_reach_a_real_server_and_an_outage_is_noticed_and_recovered() {
        let mut server = test_redis::RedisServer::start();
        let settings = ClusterSettings {
            url: RedisUrl::parse(&server.url()).unwrap(),
            lease: Duration::from_secs(10),
        };
        let cluster = Cluster::connect(&settings).await.unwrap();
        let mut connection = cluster.connection();
        let key = cluster.key("probe");
        let set: redis::RedisResult<()> = redis::cmd("SET")
            .arg(&key)
            .arg("1")
            .query_async(&mut connection)
            .await;
        cluster.record(&set);
        assert!(set.is_ok() && cluster.is_reachable());
        assert_eq!(server.cli(&["GET", "public-stats:probe"]), "1");

        server.kill();
        let down: redis::RedisResult<Option<String>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut connection)
            .await;
        cluster.record(&down);
        assert!(down.is_err() && !cluster.is_reachable());

        server.restart();
        let mut back: redis::RedisResult<Option<String>> = Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "not yet tried",
        )));
        for _ in 0..50 {
            back = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await;
            if back.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cluster.record(&back);
        assert_eq!(back.ok().flatten().as_deref(), Some("1"), "AOF kept it");
        assert!(cluster.is_reachable());
    }

    #[tokio::test]
    async fn an_unreachable_redis_at_start_names_the_setting_and_not_the_password() {
        let settings = ClusterSettings {
            url: RedisUrl::parse("redis://:hunter2@127.0.0.1:1/0").unwrap(),
            lease: Duration::from_secs(10),
        };
        let error = Cluster::connect(&settings).await.err().unwrap().to_string();
        assert!(
            error.contains("REDIS_URL") && error.contains("127.0.0.1:1"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
    }
}
