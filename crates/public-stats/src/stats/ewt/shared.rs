//! The EWT cache of clustered mode, in Redis: per source, the latest reading (with when it was
//! fetched and the last good answer), a marker that says it is fresh — expiring by Redis's
//! clock, so the instances' clocks do not matter — and a short lock held by the one instance
//! asking Genesys. One Lua script per round reads, or takes the lock: instances racing for a
//! source cannot both get it. The waiters poll (every [`POLL_EVERY`], for at most
//! [`LONGEST_WAIT`](super::LONGEST_WAIT)) rather than subscribe: a round is rare (one per source
//! per period), short, and needs no connection of its own.
//!
//! It is not the cache's logic — what is due, what is stale, the local single-flight in front of
//! this — which stays in `ewt`; and it is not where Redis being down is decided (`ewt` falls back
//! to its own calls).

use std::sync::Arc;
use std::time::{Duration, Instant};

use genesys::EstimatedWaitTimePredictions;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Fetched, Good, LONGEST_WAIT, Outcome, Source};
use crate::cluster::Cluster;
use crate::cluster::budget::RedisBucket;
use crate::cluster::probe::Probe;
use crate::stats::view::Stamp;

/// The longest the instance holding a source's lock waits for Genesys before it gives up (and
/// publishes a failure).
pub(super) const LEADER_CALL_LIMIT: Duration = Duration::from_secs(12);
/// How long a source's lock lasts: longer than the call made under it, so that it is never
/// taken by another instance while the call may still reach Genesys; and short enough that an
/// instance dying with the lock delays the next call by no more than this.
const LOCK_FOR: Duration = Duration::from_secs(15);
/// How often a waiting instance looks again.
const POLL_EVERY: Duration = Duration::from_millis(50);
/// How long a reading is kept with nobody refreshing it: it is then too old to serve.
const KEEP_READING: Duration = Duration::from_secs(3600);

/// KEYS: reading, fresh marker, lock. ARGV: this round's owner, lock ms. Answers {"fresh",
/// reading, ms it stays fresh}, {"lead", reading, 0} (the lock is ours) or {"wait", reading,
/// ms the lock still lasts}; the reading is "" when there is none.
const ROUND: &str = r"
local reading = redis.call('GET', KEYS[1]) or ''
local fresh = redis.call('PTTL', KEYS[2])
if fresh > 0 then
  return {'fresh', reading, fresh}
end
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'lead', reading, 0}
end
return {'wait', reading, redis.call('PTTL', KEYS[3])}
";

/// KEYS: reading, fresh marker, lock. ARGV: owner, reading, ms fresh, ms kept. Writes the
/// reading and its freshness, and lets the lock go if it is still ours.
const PUBLISH: &str = r"
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
return 1
";

/// KEYS: lock. ARGV: owner. Lets the lock go if it is still ours.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

static ROUND_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(ROUND));
static PUBLISH_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(PUBLISH));
static RELEASE_SCRIPT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(RELEASE));

/// The shared side of the cache.
pub(super) struct Shared {
    cluster: Cluster,
    /// The EWT share of the request budget, for all the instances together.
    share: RedisBucket,
    /// While Redis is out of reach, rounds go straight to the fallback but every few seconds.
    probe: Probe,
}

/// How a round ended.
pub(super) enum Round {
    /// Redis holds a fresh reading (possibly a failure to serve the last good value for).
    Fresh {
        latest: Fetched,
        fresh_for: Duration,
    },
    /// The lock is this instance's: it asks Genesys, then publishes or releases.
    Lead(Lead),
    /// Another instance holds the lock and published nothing within the wait.
    GaveUp,
}

/// The lock on one source, held for one call.
pub(super) struct Lead {
    keys: Keys,
    owner: String,
    /// The last good answer Redis held when the lock was taken.
    seen_good: Option<Good>,
}

impl Lead {
    pub(super) fn seen_good(&self) -> Option<&Good> {
        self.seen_good.as_ref()
    }
}

struct Keys {
    reading: String,
    fresh: String,
    lock: String,
}

impl Keys {
    fn of(cluster: &Cluster, source: Source) -> Self {
        let base = match source {
            Source::Queue(queue) => cluster.key(&format!("ewt:{queue}")),
            Source::Media(queue, media) => cluster.key(&format!("ewt:{queue}:{media}")),
        };
        Keys {
            fresh: format!("{base}:fresh"),
            lock: format!("{base}:lock"),
            reading: base,
        }
    }
}

impl Shared {
    pub(super) fn new(cluster: Cluster, calls_per_minute: u32, burst: u32) -> Self {
        Shared {
            share: RedisBucket::new(cluster.key("budget:ewt"), calls_per_minute, burst),
            cluster,
            probe: Probe::default(),
        }
    }

    /// Reads `source`, or takes its lock, or waits for the instance that holds it.
    pub(super) async fn round(&self, source: Source) -> redis::RedisResult<Round> {
        if !self.probe.may_try(&self.cluster) {
            counted("unreachable");
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "Redis is out of reach",
            )));
        }
        let keys = Keys::of(&self.cluster, source);
        let owner = format!("{}:{}", self.cluster.instance(), Uuid::new_v4().simple());
        let deadline = tokio::time::Instant::now() + LONGEST_WAIT;
        let mut connection = self.cluster.connection();
        let mut waited = false;
        loop {
            let answer: redis::RedisResult<(String, String, i64)> = ROUND_SCRIPT
                .key(&keys.reading)
                .key(&keys.fresh)
                .key(&keys.lock)
                .arg(&owner)
                .arg(millis(LOCK_FOR))
                .invoke_async(&mut connection)
                .await;
            self.cluster.record(&answer);
            let (state, reading, ttl) = answer.inspect_err(|_| counted("unreachable"))?;
            let reading = parse(&reading);
            match state.as_str() {
                "fresh" => {
                    counted(if waited { "waited" } else { "fresh" });
                    let fresh_for =
                        u64::try_from(ttl).map_or(Duration::ZERO, Duration::from_millis);
                    let latest = reading.map_or(Fetched::Nothing, Stored::into_fetched);
                    return Ok(Round::Fresh { latest, fresh_for });
                }
                "lead" => {
                    counted("led");
                    let seen_good = reading
                        .and_then(|stored| stored.good)
                        .map(StoredGood::into_good);
                    return Ok(Round::Lead(Lead {
                        keys,
                        owner,
                        seen_good,
                    }));
                }
                _ if tokio::time::Instant::now() + POLL_EVERY > deadline => {
                    counted("gave_up");
                    return Ok(Round::GaveUp);
                }
                _ => {
                    waited = true;
                    tokio::time::sleep(POLL_EVERY).await;
                }
            }
        }
    }

    /// Takes one call from the EWT share every instance spends.
    pub(super) async fn take_share(&self) -> redis::RedisResult<bool> {
        let mut connection = self.cluster.connection();
        let taken = self.share.take(&mut connection, 0).await;
        self.cluster.record(&taken);
        let taken = taken?.is_ok();
        if !taken {
            tracing::debug!("the EWT share of the request budget is spent for now");
        }
        Ok(taken)
    }

    /// Writes the call's outcome for every instance, fresh for `fresh_for`, and lets the lock go.
    /// A failure to write is not the visitors' concern: the lock expires by itself.
    pub(super) async fn publish(
        &self,
        lead: Lead,
        latest: &Outcome,
        last_good: Option<&Good>,
        fresh_for: Duration,
    ) {
        let stored = Stored::of(latest, last_good);
        let Ok(json) = serde_json::to_string(&stored) else {
            self.release(lead).await;
            return;
        };
        let mut connection = self.cluster.connection();
        let written: redis::RedisResult<i64> = PUBLISH_SCRIPT
            .key(&lead.keys.reading)
            .key(&lead.keys.fresh)
            .key(&lead.keys.lock)
            .arg(&lead.owner)
            .arg(json)
            .arg(millis(fresh_for).max(1))
            .arg(millis(KEEP_READING))
            .invoke_async(&mut connection)
            .await;
        self.cluster.record(&written);
        if let Err(error) = written {
            tracing::debug!(kind = ?error.kind(), "could not share an estimated wait time");
        }
    }

    /// Lets the lock go without a reading (the budget refused the call), so another instance
    /// may try at once.
    pub(super) async fn release(&self, lead: Lead) {
        let mut connection = self.cluster.connection();
        let released: redis::RedisResult<i64> = RELEASE_SCRIPT
            .key(&lead.keys.lock)
            .arg(&lead.owner)
            .invoke_async(&mut connection)
            .await;
        self.cluster.record(&released);
    }
}

fn counted(result: &'static str) {
    metrics::counter!("public_stats_ewt_shared_rounds_total", "result" => result).increment(1);
}

/// A reading as Redis keeps it (JSON).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    /// When the latest call ended (Unix milliseconds).
    at_ms: i64,
    /// Whether it answered; its answer is then `good`.
    answered: bool,
    /// The last good answer.
    good: Option<StoredGood>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredGood {
    /// When it came (Unix milliseconds).
    at_ms: i64,
    predictions: EstimatedWaitTimePredictions,
}

impl Stored {
    fn of(latest: &Outcome, last_good: Option<&Good>) -> Self {
        let stored_good = |good: &Good| StoredGood {
            at_ms: unix_ms(good.at.utc()),
            predictions: (*good.predictions).clone(),
        };
        match latest {
            Outcome::Good(good) => Stored {
                at_ms: unix_ms(good.at.utc()),
                answered: true,
                good: Some(stored_good(good)),
            },
            Outcome::Failed { at } => Stored {
                at_ms: unix_ms(utc_of(*at)),
                answered: false,
                good: last_good.map(stored_good),
            },
        }
    }

    fn into_fetched(self) -> Fetched {
        let last_good = self.good.map(StoredGood::into_good);
        let latest = match (&last_good, self.answered) {
            (Some(good), true) => Outcome::Good(good.clone()),
            _ => Outcome::Failed {
                at: Stamp::from_utc(from_unix_ms(self.at_ms)).instant(),
            },
        };
        Fetched::Outcome { latest, last_good }
    }
}

impl StoredGood {
    fn into_good(self) -> Good {
        Good {
            predictions: Arc::new(self.predictions),
            at: Stamp::from_utc(from_unix_ms(self.at_ms)),
        }
    }
}

/// A reading written by an instance of another version, or damaged, is as good as none.
fn parse(reading: &str) -> Option<Stored> {
    if reading.is_empty() {
        return None;
    }
    serde_json::from_str(reading)
        .inspect_err(|_| tracing::debug!("an unreadable estimated wait time in Redis is ignored"))
        .ok()
}

fn unix_ms(utc: OffsetDateTime) -> i64 {
    i64::try_from(utc.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn from_unix_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// This process's `instant` in UTC.
fn utc_of(instant: Instant) -> OffsetDateTime {
    OffsetDateTime::now_utc() - Instant::now().saturating_duration_since(instant)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use genesys::{ClientConfig, ClientSecret, Environment, GenesysClient};
    use genesys_sim::RunningSim;
    use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SALES_QUEUE};
    use serde_json::{Value, json};

    use crate::cluster::{Cluster, ClusterSettings, RedisUrl};
    use crate::stats::ewt::{EwtCache, EwtKey};
    use crate::stats::view::Freshness;

    const QUEUE_EWT: &str = "GET /api/v2/routing/queues/{queueId}/estimatedwaittime";
    const TTL: Duration = Duration::from_secs(1);
    const SALES: EwtKey = EwtKey {
        queue: DEMO_SALES_QUEUE,
        media: None,
    };

    struct Parts {
        sim: RunningSim,
        redis: test_redis::RedisServer,
        http: reqwest::Client,
    }

    impl Parts {
        async fn start() -> Self {
            Parts {
                sim: genesys_sim::spawn(genesys_sim::SimConfig::for_tests())
                    .await
                    .unwrap(),
                redis: test_redis::RedisServer::start(),
                http: reqwest::Client::new(),
            }
        }

        /// One instance's cache: its own client (and token) and its own link to Redis.
        async fn instance(&self) -> EwtCache {
            let mut config = ClientConfig::new(
                Environment::base_url(&self.sim.base_url()).unwrap(),
                DEMO_CLIENT_ID,
                ClientSecret::new(DEMO_CLIENT_SECRET),
            );
            config.request_timeout = Duration::from_secs(2);
            let client = GenesysClient::new(config).unwrap();
            let cluster = Cluster::connect(&ClusterSettings {
                url: RedisUrl::parse(&self.redis.url()).unwrap(),
                lease: Duration::from_secs(10),
            })
            .await
            .unwrap();
            EwtCache::clustered(client, TTL, 120, cluster)
        }

        async fn sim(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
            let mut request = self
                .http
                .request(method, format!("{}{path}", self.sim.base_url()));
            if let Some(body) = body {
                request = request.json(&body);
            }
            assert!(request.send().await.unwrap().status().is_success());
        }

        /// A fault rule in the simulator (`POST /__sim/faults`).
        async fn fault(&self, rule: Value) {
            self.sim(reqwest::Method::POST, "/__sim/faults", Some(rule))
                .await;
        }

        /// When (ms since the simulator started) each queue-wide EWT call arrived.
        async fn ewt_calls(&self) -> Vec<u64> {
            let log: Value = self
                .http
                .get(format!("{}/__sim/requests", self.sim.base_url()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            log["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|entry| entry["route"] == QUEUE_EWT)
                .map(|entry| entry["atMs"].as_u64().unwrap())
                .collect()
        }
    }

    #[tokio::test]
    async fn instances_asking_at_once_call_genesys_once_per_period_and_answer_fresh() {
        let parts = Parts::start().await;
        let mut caches = Vec::new();
        for _ in 0..3 {
            caches.push(parts.instance().await);
        }
        let started = tokio::time::Instant::now();
        let mut visitors = tokio::task::JoinSet::new();
        for visitor in 0..30 {
            let cache = caches[visitor % caches.len()].clone();
            visitors.spawn(async move {
                let mut stale = 0;
                let mut asked = 0;
                while started.elapsed() < Duration::from_millis(3_500) {
                    let reading = cache.get(SALES).await;
                    asked += 1;
                    stale += usize::from(reading.freshness != Freshness::Fresh);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (asked, stale)
            });
        }
        let (mut asked, mut stale) = (0, 0);
        while let Some(result) = visitors.join_next().await {
            let (a, s) = result.unwrap();
            asked += a;
            stale += s;
        }
        let calls = parts.ewt_calls().await;
        // 3.5 s at one call a second at most: the first, then one per period.
        assert!(
            (2..=4).contains(&calls.len()),
            "{} calls for {asked} answers: {calls:?}",
            calls.len()
        );
        for pair in calls.windows(2) {
            assert!(
                pair[1] - pair[0] >= TTL.as_millis() as u64,
                "two calls within a period: {calls:?}"
            );
        }
        assert!(stale * 20 <= asked, "{stale} of {asked} answers stale");
    }

    #[tokio::test]
    async fn a_reading_one_instance_fetched_is_served_by_the_others_without_a_call() {
        let parts = Parts::start().await;
        let (first, second) = (parts.instance().await, parts.instance().await);
        let fetched = first.get(SALES).await;
        let shared = second.get(SALES).await;
        assert_eq!(parts.ewt_calls().await.len(), 1);
        assert_eq!(shared.freshness, Freshness::Fresh);
        assert_eq!(shared.seconds, fetched.seconds);
        assert!(shared.seconds.is_some());
        let stored = parts
            .redis
            .cli(&["GET", &format!("public-stats:ewt:{DEMO_SALES_QUEUE}")]);
        assert!(stored.contains("\"answered\":true"), "{stored}");
    }

    #[tokio::test]
    async fn while_another_instance_holds_the_lock_the_others_wait_then_serve_their_last_reading_stale()
     {
        let parts = Parts::start().await;
        let cache = parts.instance().await;
        let first = cache.get(SALES).await;
        assert_eq!(first.freshness, Freshness::Fresh);
        // Another instance is asking Genesys (and never finishes): the lock is its.
        let lock = format!("public-stats:ewt:{DEMO_SALES_QUEUE}:lock");
        parts.redis.cli(&["SET", &lock, "elsewhere", "PX", "60000"]);
        tokio::time::sleep(TTL).await;
        let later = cache.get(SALES).await;
        assert_eq!(parts.ewt_calls().await.len(), 1, "no second call");
        assert!(
            matches!(later.freshness, Freshness::Stale { as_of: Some(_) }),
            "{later:?}"
        );
        assert_eq!(later.seconds, first.seconds, "the last reading");
        // The round that waited ends within a poll of the visitor's wait: let it end.
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The lock's holder is gone: the instance asks itself.
        parts.redis.cli(&["DEL", &lock]);
        let again = cache.get(SALES).await;
        assert_eq!(again.freshness, Freshness::Fresh);
        assert_eq!(parts.ewt_calls().await.len(), 2);
    }

    #[tokio::test]
    async fn an_instance_waits_for_the_call_another_is_making_and_serves_its_answer_fresh() {
        let parts = Parts::start().await;
        let (first, second) = (parts.instance().await, parts.instance().await);
        parts
            .fault(json!({"route": QUEUE_EWT, "delayMs": 400, "times": 1}))
            .await;
        let leading = tokio::spawn(async move { first.get(SALES).await });
        // The first instance has the lock and is waiting for Genesys when the second asks.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let waited = second.get(SALES).await;
        let led = leading.await.unwrap();
        assert_eq!(parts.ewt_calls().await.len(), 1, "one call for both");
        assert_eq!(waited.freshness, Freshness::Fresh, "{waited:?}");
        assert_eq!(waited.seconds, led.seconds);
    }

    /// Lua calls Redis has run so far (the rounds are scripts).
    fn scripts_run(redis: &test_redis::RedisServer) -> u64 {
        redis
            .cli(&["INFO", "commandstats"])
            .lines()
            .filter(|line| {
                line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:")
            })
            .filter_map(|line| {
                line.split("calls=")
                    .nth(1)?
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }

    #[tokio::test]
    async fn a_waiting_instance_stops_polling_when_its_wait_is_over() {
        let parts = Parts::start().await;
        let cache = parts.instance().await;
        // Another instance holds the lock for long and never publishes.
        let lock = format!("public-stats:ewt:{DEMO_SALES_QUEUE}:lock");
        parts.redis.cli(&["SET", &lock, "elsewhere", "PX", "60000"]);
        let reading = cache.get(SALES).await;
        assert!(reading.freshness != Freshness::Fresh, "{reading:?}");
        tokio::time::sleep(super::LONGEST_WAIT + Duration::from_millis(300)).await;
        let after_the_wait = scripts_run(&parts.redis);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            scripts_run(&parts.redis),
            after_the_wait,
            "still polling Redis after giving up"
        );
        assert_eq!(parts.ewt_calls().await.len(), 0);
    }

    #[tokio::test]
    async fn a_lead_the_share_refuses_lets_the_lock_go_at_once() {
        let parts = Parts::start().await;
        let cache = parts.instance().await;
        // The EWT share is spent as of now, by Redis's clock.
        let time = parts.redis.cli(&["TIME"]);
        let mut parts_of_time = time
            .split_whitespace()
            .map(|part| part.parse::<u64>().unwrap());
        let now_ms = parts_of_time.next().unwrap() * 1000 + parts_of_time.next().unwrap() / 1000;
        parts.redis.cli(&[
            "HSET",
            "public-stats:budget:ewt",
            "tokens",
            "0",
            "at",
            &now_ms.to_string(),
        ]);
        let reading = cache.get(SALES).await;
        assert!(reading.freshness != Freshness::Fresh, "{reading:?}");
        assert_eq!(
            parts.ewt_calls().await.len(),
            0,
            "the share refused the call"
        );
        let lock = format!("public-stats:ewt:{DEMO_SALES_QUEUE}:lock");
        assert_eq!(
            parts.redis.cli(&["EXISTS", &lock]).trim(),
            "0",
            "the lock is let go, so another instance may try at once"
        );
    }

    #[tokio::test]
    async fn a_failure_published_by_a_newcomer_keeps_the_last_good_value_redis_held() {
        let parts = Parts::start().await;
        let good = parts.instance().await.get(SALES).await;
        assert!(good.seconds.is_some());
        tokio::time::sleep(TTL).await;
        parts
            .fault(json!({"route": QUEUE_EWT, "status": 400}))
            .await;
        // An instance with no reading of its own leads the next round and its call fails: what
        // it publishes still carries the good value another instance fetched.
        let newcomer = parts.instance().await.get(SALES).await;
        assert!(newcomer.freshness != Freshness::Fresh, "{newcomer:?}");
        assert_eq!(parts.ewt_calls().await.len(), 2, "the newcomer asked");
        let later = parts.instance().await.get(SALES).await;
        assert_eq!(parts.ewt_calls().await.len(), 2, "the failure was shared");
        assert!(
            matches!(later.freshness, Freshness::Stale { as_of: Some(_) }),
            "{later:?}"
        );
        assert_eq!(later.seconds, good.seconds, "the last good value");
    }

    #[tokio::test]
    async fn a_failure_is_shared_like_an_answer_so_an_outage_costs_one_call_per_period() {
        let parts = Parts::start().await;
        let (first, second) = (parts.instance().await, parts.instance().await);
        let good = first.get(SALES).await;
        tokio::time::sleep(TTL).await;
        parts
            .fault(json!({"route": QUEUE_EWT, "status": 400}))
            .await;
        let failed = first.get(SALES).await;
        let shared = second.get(SALES).await;
        assert_eq!(parts.ewt_calls().await.len(), 2, "one call for the failure");
        for reading in [failed, shared] {
            assert!(
                matches!(reading.freshness, Freshness::Stale { as_of: Some(_) }),
                "{reading:?}"
            );
            assert_eq!(reading.seconds, good.seconds, "the last good value");
        }
    }

    #[tokio::test]
    async fn without_redis_an_instance_asks_genesys_itself() {
        let mut parts = Parts::start().await;
        let (first, second) = (parts.instance().await, parts.instance().await);
        parts.redis.kill();
        assert_eq!(first.get(SALES).await.freshness, Freshness::Fresh);
        assert_eq!(second.get(SALES).await.freshness, Freshness::Fresh);
        assert_eq!(
            parts.ewt_calls().await.len(),
            2,
            "each on its own: one call each"
        );
    }

    #[tokio::test]
    async fn an_unreadable_reading_in_redis_is_ignored() {
        let parts = Parts::start().await;
        let cache = parts.instance().await;
        let key = format!("public-stats:ewt:{DEMO_SALES_QUEUE}");
        parts.redis.cli(&["SET", &key, "{not json"]);
        let reading = cache.get(SALES).await;
        assert_eq!(reading.freshness, Freshness::Fresh);
        assert_eq!(parts.ewt_calls().await.len(), 1);
        assert!(parts.redis.cli(&["GET", &key]).contains("answered"));
    }
}
