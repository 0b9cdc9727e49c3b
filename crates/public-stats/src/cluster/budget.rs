//! The Genesys request budget in clustered mode: one token bucket in Redis that every instance
//! spends, so that together they stay below the allowance of the one OAuth client they share,
//! with the priorities of one instance's bucket (`genesys::LocalBudget`): a lower priority never
//! takes the tokens kept for the ones above it. Each take is one Lua script — refill by Redis's
//! clock, check, take — so two instances racing for the last token cannot both get it, and the
//! clocks of the instances' machines do not matter.
//!
//! When Redis cannot be reached, an instance spends a bucket of its own holding its share: the
//! budget divided by the number of instances last seen alive (each says so every few seconds).
//! So callbacks and the live statistics keep going through an outage of Redis, and the
//! instances together still stay within the allowance; what is lost is the slack of idle
//! instances, which others cannot borrow until Redis is back. Refusing every call instead would
//! make an outage of Redis an outage of Genesys; spending a whole budget per instance would
//! exceed the allowance N times. Redis is tried again every few seconds (`probe`).
//!
//! It is not where the waiting rules live (the `genesys` client decides who waits), and not the
//! EWT cache's share of the budget (`stats::ewt`), which keeps its own [`RedisBucket`].

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use genesys::budget::Take;
use genesys::{BudgetConfig, LocalBudget, Priority, RequestBudget};
use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Cluster;
use super::probe::Probe;

/// How often an instance says it is alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// An instance not heard from in this long no longer counts towards the shares.
const ALIVE_FOR: Duration = Duration::from_secs(20);

/// Refills a bucket by Redis's clock and takes one token if more than the untouchable ones are
/// there. KEYS[1]: the bucket (a hash: `tokens`, `at` in ms). ARGV: tokens per minute, burst,
/// tokens this take must leave. Answers {1 or 0, tokens left, ms until a token could be taken
/// (-1: never)}.
const TAKE: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local per_ms = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local needed = tonumber(ARGV[3]) + 1
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1])
local at = tonumber(stored[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * per_ms)
  at = now
end
local granted = 0
if tokens >= needed then
  tokens = tokens - 1
  granted = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
if per_ms > 0 then
  -- A bucket left alone is full again by then: forgetting it changes nothing.
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / per_ms) + 60000)
end
local wait = -1
if granted == 0 and per_ms > 0 then
  wait = math.ceil((needed - tokens) / per_ms)
end
return {granted, tostring(tokens), wait}
";

/// Notes an instance alive and counts those alive. KEYS[1]: a sorted set, instance → last
/// heard (ms, Redis's clock). ARGV: the instance, how long one counts (ms).
const HEARTBEAT: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
";

/// A token bucket kept in Redis, shared by every instance that names the same key.
#[derive(Clone, Debug)]
pub struct RedisBucket {
    key: String,
    per_minute: u32,
    burst: u32,
}

impl RedisBucket {
    pub fn new(key: String, per_minute: u32, burst: u32) -> Self {
        RedisBucket {
            key,
            per_minute,
            burst,
        }
    }

    /// Takes one token, leaving `untouchable` ones in the bucket: `Ok(tokens left)`, or
    /// `Err(wait)` until one could be taken (`Duration::MAX`: never, at a rate of zero).
    pub async fn take(
        &self,
        connection: &mut ConnectionManager,
        untouchable: u32,
    ) -> redis::RedisResult<Result<f64, Duration>> {
        static SCRIPT: std::sync::LazyLock<redis::Script> =
            std::sync::LazyLock::new(|| redis::Script::new(TAKE));
        let (granted, left, wait): (i64, String, i64) = SCRIPT
            .key(&self.key)
            .arg(self.per_minute)
            .arg(self.burst)
            .arg(untouchable)
            .invoke_async(connection)
            .await?;
        let left = left.parse::<f64>().unwrap_or(0.0);
        Ok(if granted == 1 {
            Ok(left)
        } else {
            Err(u64::try_from(wait).map_or(Duration::MAX, Duration::from_millis))
        })
    }
}

/// The request budget every instance spends, in Redis; see the module's description.
pub struct SharedBudget {
    cluster: Cluster,
    config: BudgetConfig,
    bucket: RedisBucket,
    /// Instances alive when last counted (at least this one).
    instances: AtomicU32,
    /// While Redis is unreachable: this instance's share, made when the outage is first noticed.
    fallback: Mutex<Option<Arc<LocalBudget>>>,
    /// While Redis is unreachable: when a request may try it again.
    probe: Probe,
}

impl SharedBudget {
    /// The budget of `config`'s size, kept in Redis; counts the instances once, then keeps
    /// counting them (and saying this one is alive) until `shutdown`.
    pub async fn start(
        cluster: Cluster,
        config: BudgetConfig,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Arc<Self> {
        let budget = Arc::new(SharedBudget {
            bucket: RedisBucket::new(
                cluster.key("budget:requests"),
                config.per_minute,
                config.burst,
            ),
            cluster,
            config,
            instances: AtomicU32::new(1),
            fallback: Mutex::new(None),
            probe: Probe::default(),
        });
        budget.heartbeat().await;
        tasks.spawn(Arc::clone(&budget).keep_heartbeat(shutdown));
        budget
    }

    /// Instances alive when last counted.
    pub fn instances(&self) -> u32 {
        self.instances.load(Ordering::Relaxed).max(1)
    }

    async fn take(&self, priority: Priority) -> Result<(), Duration> {
        if !self.probe.may_try(&self.cluster) {
            return self.take_locally(priority);
        }
        let mut connection = self.cluster.connection();
        let taken = self
            .bucket
            .take(&mut connection, self.config.untouchable(priority))
            .await;
        self.cluster.record(&taken);
        match taken {
            Ok(taken) => {
                self.back_on_redis();
                if let Ok(left) = taken {
                    metrics::gauge!("public_stats_budget_shared_tokens").set(left);
                    // The client's own gauge means "requests left in the budget it spends",
                    // which is now this one: dashboards read one series in either mode.
                    metrics::gauge!("genesys_client_budget_tokens").set(left);
                }
                taken.map(|_| ())
            }
            Err(error) => {
                tracing::debug!(kind = ?error.kind(), "the shared request budget is out of reach");
                self.take_locally(priority)
            }
        }
    }

    fn take_locally(&self, priority: Priority) -> Result<(), Duration> {
        metrics::counter!("public_stats_budget_fallback_takes_total").increment(1);
        let local = {
            let mut fallback = self.fallback.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(fallback.get_or_insert_with(|| {
                let instances = self.instances();
                tracing::warn!(
                    instances,
                    "the shared request budget is out of reach: spending this instance's share \
                     until Redis is back"
                );
                Arc::new(LocalBudget::new(share_of(self.config, instances)))
            }))
        };
        local.try_acquire(priority)
    }

    fn back_on_redis(&self) {
        let was_local = self
            .fallback
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .is_some();
        if was_local {
            tracing::info!("the shared request budget is back in use");
        }
    }

    async fn heartbeat(&self) {
        static SCRIPT: std::sync::LazyLock<redis::Script> =
            std::sync::LazyLock::new(|| redis::Script::new(HEARTBEAT));
        let mut connection = self.cluster.connection();
        let alive: redis::RedisResult<u32> = SCRIPT
            .key(self.cluster.key("budget:instances"))
            .arg(self.cluster.instance())
            .arg(millis(ALIVE_FOR))
            .invoke_async(&mut connection)
            .await;
        self.cluster.record(&alive);
        if let Ok(alive) = alive {
            self.instances.store(alive.max(1), Ordering::Relaxed);
            metrics::gauge!("public_stats_budget_instances").set(f64::from(alive));
        }
    }

    async fn keep_heartbeat(self: Arc<Self>, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(HEARTBEAT_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticks.tick() => self.heartbeat().await,
            }
        }
        // The others' shares grow at once instead of after ALIVE_FOR.
        let mut connection = self.cluster.connection();
        let gone: redis::RedisResult<()> = redis::cmd("ZREM")
            .arg(self.cluster.key("budget:instances"))
            .arg(self.cluster.instance())
            .query_async(&mut connection)
            .await;
        self.cluster.record(&gone);
    }
}

impl RequestBudget for SharedBudget {
    fn try_take(&self, priority: Priority) -> Take<'_> {
        Box::pin(self.take(priority))
    }
}

impl fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBudget")
            .field("redis", self.cluster.url())
            .field("config", &self.config)
            .field("instances", &self.instances())
            .finish_non_exhaustive()
    }
}

/// One instance's part of `config` among `instances`: the rate divided, the reserves divided
/// rounding up (so each priority keeps at least what it had a part of), and room for them.
pub fn share_of(config: BudgetConfig, instances: u32) -> BudgetConfig {
    let instances = instances.max(1);
    let part = |value: u32| value.div_ceil(instances);
    let high = part(config.high_priority_reserve);
    let normal = part(config.normal_priority_reserve);
    BudgetConfig {
        per_minute: config.per_minute / instances,
        burst: (config.burst / instances).max(high.saturating_add(normal).saturating_add(1)),
        high_priority_reserve: high,
        normal_priority_reserve: normal,
        high_priority_max_wait: config.high_priority_max_wait,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ClusterSettings, RedisUrl};

    async fn cluster(server: &test_redis::RedisServer) -> Cluster {
        Cluster::connect(&ClusterSettings {
            url: RedisUrl::parse(&server.url()).unwrap(),
            lease: Duration::from_secs(10),
        })
        .await
        .unwrap()
    }

    /// No refill: what can be taken is exactly what the bucket holds.
    fn still(burst: u32, high: u32, normal: u32) -> BudgetConfig {
        BudgetConfig {
            per_minute: 0,
            burst,
            high_priority_reserve: high,
            normal_priority_reserve: normal,
            high_priority_max_wait: Duration::ZERO,
        }
    }

    async fn instances(
        server: &test_redis::RedisServer,
        config: BudgetConfig,
        count: usize,
    ) -> (Vec<Arc<SharedBudget>>, CancellationToken) {
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let mut budgets = Vec::new();
        for _ in 0..count {
            let cluster = cluster(server).await;
            budgets.push(SharedBudget::start(cluster, config, shutdown.clone(), &tasks).await);
        }
        (budgets, shutdown)
    }

    /// Takes at `priority` from each instance in turn until all refuse.
    async fn take_all(budgets: &[Arc<SharedBudget>], priority: Priority) -> usize {
        let mut taken = 0;
        loop {
            let mut any = false;
            for budget in budgets {
                if budget.try_take(priority).await.is_ok() {
                    taken += 1;
                    any = true;
                }
            }
            if !any || taken > 10_000 {
                return taken;
            }
        }
    }

    #[tokio::test]
    async fn instances_spend_one_bucket_and_each_priority_leaves_the_reserves_above_it() {
        let server = test_redis::RedisServer::start();
        let (budgets, _shutdown) = instances(&server, still(10, 3, 2), 3).await;
        assert_eq!(take_all(&budgets, Priority::Low).await, 5);
        assert_eq!(take_all(&budgets, Priority::Normal).await, 2);
        assert_eq!(take_all(&budgets, Priority::High).await, 3);
        assert_eq!(
            budgets[0].try_take(Priority::High).await,
            Err(Duration::MAX),
            "a bucket with no refill never has a token again"
        );
        assert!(
            server
                .cli(&["HGET", "public-stats:budget:requests", "tokens"])
                .starts_with('0'),
            "the bucket is in Redis"
        );
    }

    #[tokio::test]
    async fn instances_racing_for_the_last_tokens_never_take_more_than_there_are() {
        let server = test_redis::RedisServer::start();
        let (budgets, _shutdown) = instances(&server, still(60, 5, 5), 3).await;
        let mut racers = tokio::task::JoinSet::new();
        for round in 0..120 {
            let budget = Arc::clone(&budgets[round % budgets.len()]);
            let priority = if round % 4 == 0 {
                Priority::High
            } else {
                Priority::Low
            };
            racers.spawn(async move { (priority, budget.try_take(priority).await.is_ok()) });
        }
        let (mut low, mut high) = (0, 0);
        while let Some(result) = racers.join_next().await {
            match result.unwrap() {
                (Priority::Low, true) => low += 1,
                (_, true) => high += 1,
                (_, false) => {}
            }
        }
        assert!(low <= 50, "{low} low-priority takes");
        assert_eq!(
            low + high,
            60,
            "{low} low, {high} high: every token, no more"
        );
    }

    #[tokio::test]
    async fn the_bucket_refills_at_its_rate_and_says_how_long_to_wait() {
        let server = test_redis::RedisServer::start();
        let config = BudgetConfig {
            per_minute: 600, // one token every 100 ms
            ..still(3, 0, 0)
        };
        let (budgets, _shutdown) = instances(&server, config, 2).await;
        assert_eq!(take_all(&budgets, Priority::Low).await, 3);
        let wait = budgets[1].try_take(Priority::Low).await.unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        tokio::time::sleep(wait + Duration::from_millis(20)).await;
        budgets[0].try_take(Priority::Low).await.unwrap();
    }

    #[tokio::test]
    async fn without_redis_each_instance_spends_its_share_then_the_shared_bucket_again() {
        let mut server = test_redis::RedisServer::start();
        let (budgets, _shutdown) = instances(&server, still(30, 3, 3), 3).await;
        // Every instance has counted all three (the last one counted at its start).
        for budget in &budgets {
            budget.heartbeat().await;
            assert_eq!(budget.instances(), 3);
        }
        server.kill();
        // A third each: 10 tokens, of which 1 + 1 are reserved.
        for budget in &budgets {
            let alone = std::slice::from_ref(budget);
            assert_eq!(take_all(alone, Priority::Low).await, 8);
            assert_eq!(take_all(alone, Priority::High).await, 2);
        }
        server.restart();
        tokio::time::sleep(crate::cluster::probe::PROBE_EVERY + Duration::from_millis(100)).await;
        // The shared bucket (kept by the AOF) again: 30 minus what was spent before the outage
        // (nothing) is there for all of them together.
        let mut back = false;
        for _ in 0..50 {
            if budgets[0].try_take(Priority::Low).await.is_ok() {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(back, "the shared bucket is used again");
        assert_eq!(take_all(&budgets, Priority::Low).await, 23);
        // A second outage starts from a new share: what the first one spent is not carried over.
        server.kill();
        let first = std::slice::from_ref(&budgets[0]);
        assert_eq!(take_all(first, Priority::Low).await, 8);
    }

    #[tokio::test]
    async fn its_debug_output_names_where_the_bucket_is_and_what_it_counts() {
        let server = test_redis::RedisServer::start();
        let (budgets, _shutdown) = instances(&server, still(30, 3, 3), 1).await;
        let shown = format!("{:?}", budgets[0]);
        for part in [
            "SharedBudget".to_owned(),
            format!("redis://127.0.0.1:{}", server.port()),
            "instances: 1".to_owned(),
        ] {
            assert!(shown.contains(&part), "{part} missing from {shown}");
        }
    }

    #[tokio::test]
    async fn an_instance_that_stops_is_no_longer_counted_by_the_others() {
        let server = test_redis::RedisServer::start();
        let config = still(30, 3, 3);
        let (staying, _keep) = instances(&server, config, 1).await;
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let leaving =
            SharedBudget::start(cluster(&server).await, config, shutdown.clone(), &tasks).await;
        assert_eq!(leaving.instances(), 2);
        shutdown.cancel();
        tasks.close();
        tasks.wait().await;
        // At once, not after ALIVE_FOR: the others' shares grow as soon as it is gone.
        staying[0].heartbeat().await;
        assert_eq!(staying[0].instances(), 1);
    }

    #[test]
    fn a_share_divides_the_rate_and_keeps_every_reserve() {
        let config = BudgetConfig::default(); // 240 a minute, burst 20, reserves 5 and 5
        assert_eq!(share_of(config, 1), config);
        let third = share_of(config, 3);
        assert_eq!(
            (
                third.per_minute,
                third.burst,
                third.high_priority_reserve,
                third.normal_priority_reserve
            ),
            (80, 6, 2, 2)
        );
        let many = share_of(config, 100);
        assert_eq!((many.per_minute, many.burst), (2, 3));
        assert!(many.high_priority_reserve >= 1 && many.normal_priority_reserve >= 1);
        assert_eq!(share_of(config, 0), config, "never divided by zero");
    }
}
