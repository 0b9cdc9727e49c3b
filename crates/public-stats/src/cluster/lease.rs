//! A leader lease in Redis: at most one instance at a time holds it, so that something that must
//! exist once per deployment (the Genesys notification channel) runs on one instance only.
//!
//! The lease is one key holding `"<token> <instance>"`, written with `SET … NX PX <lease>`, where
//! the token is a fencing token (an `INCR`ed counter, so each term has a new, larger one). The
//! holder renews it every third of the lease with a script that extends the key only while it
//! still holds the holder's value, and deletes it the same way when it stops cleanly. A holder
//! that cannot confirm a renewal in time steps down on its own clock while it still has a margin
//! before the key could lapse in Redis, so that whatever it ran has stopped before anyone else
//! can take over. The lease says nothing about what the holder does; it is not a lock for
//! requests.
//!
//! Deleting or overwriting the key by hand is noticed at the holder's next renewal: until then
//! (at most a third of the lease) a second instance could take a deleted key and both would lead.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::Script;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout_at};
use tokio_util::sync::CancellationToken;

use super::{Cluster, unreachable};

/// Takes the key when it is free, or when it still holds an earlier term of this same instance
/// (one that stepped down on its own clock while Redis was out of reach: nothing else can be
/// running under it, and waiting for it to lapse would only leave the deployment without a
/// leader). A new token either way.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local current = redis.call('GET', KEYS[1])
        if current and string.match(current, ' (.*)$') ~= ARGV[1] then
            return false
        end
        local value = redis.call('INCR', KEYS[2]) .. ' ' .. ARGV[1]
        if current then
            redis.call('SET', KEYS[1], value, 'XX', 'PX', ARGV[2])
        else
            redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2])
        end
        return value
        ",
    )
});

/// Extends the key only while it still holds the caller's value.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        ",
    )
});

/// Deletes the key only while it still holds the caller's value.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('DEL', KEYS[1])
        end
        return 0
        ",
    )
});

/// One term of leadership: the fencing token and the key's value while it lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub token: u64,
    /// `"<token> <instance>"`, what the key holds during this term (for fenced writes).
    value: Arc<str>,
}

impl Term {
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// The timings, all derived from the lease's length.
#[derive(Clone, Copy, Debug)]
struct Timing {
    lease: Duration,
    /// How often the holder renews.
    renew_every: Duration,
    /// How long before the key could lapse the holder steps down when it cannot renew: time for
    /// the holder to stop what it runs (closing a WebSocket politely takes up to a second).
    margin: Duration,
    /// How often a renewal that failed is tried again.
    retry: Duration,
    /// How often the others try to take the lease: often enough that a lapse is noticed soon
    /// (one cheap script per instance and second at most), whatever the lease's length.
    poll: Duration,
}

impl Timing {
    fn of(lease: Duration) -> Self {
        Timing {
            lease,
            renew_every: lease / 3,
            margin: (lease / 3).max(Duration::from_millis(1500).min(lease / 2)),
            retry: (lease / 10).clamp(Duration::from_millis(50), Duration::from_millis(500)),
            poll: (lease / 4).min(Duration::from_secs(1)),
        }
    }
}

/// A term as its holder keeps it.
struct Held {
    term: Term,
    /// When the key could lapse at the earliest: the lease counted from the moment the last
    /// successful command was sent (Redis counts from when it ran it, later).
    valid_until: Instant,
    next_renewal: Instant,
}

impl Held {
    fn step_down_at(&self, timing: &Timing) -> Instant {
        self.valid_until - timing.margin
    }
}

/// Takes part in the election of `key` until [`Lease::release`] or drop. Dropping it stops
/// renewing without deleting the key, as a crash would: the others take over when it lapses.
pub struct Lease {
    cluster: Cluster,
    key: String,
    leadership: watch::Receiver<Option<Term>>,
    stop: CancellationToken,
    task: Option<JoinHandle<Option<Held>>>,
}

impl Lease {
    /// Starts contending for the lease named `name` (the key `public-stats:<name>`), with the
    /// cluster's lease length.
    pub fn start(cluster: Cluster, name: &str) -> Self {
        let key = cluster.key(name);
        let contender = Contender {
            cluster: cluster.clone(),
            key: key.clone(),
            fencing_key: cluster.key(&format!("{name}:fencing")),
            timing: Timing::of(cluster.lease()),
        };
        let (publish, leadership) = watch::channel(None);
        let stop = CancellationToken::new();
        let task = tokio::spawn(contender.run(stop.clone(), publish));
        Lease {
            cluster,
            key,
            leadership,
            stop,
            task: Some(task),
        }
    }

    /// `Some(term)` while this instance holds the lease. A holder changes to `None` before the
    /// lease could lapse, and a new term has a new token, even when the change from one term
    /// to the next is seen at once.
    pub fn leadership(&self) -> watch::Receiver<Option<Term>> {
        self.leadership.clone()
    }

    pub fn is_leader(&self) -> bool {
        self.leadership.borrow().is_some()
    }

    /// Stops contending and, when it holds the lease, deletes the key (only if it still holds
    /// this instance's value) so that another instance takes over at once. Call it after what
    /// the lease guarded has stopped.
    pub async fn release(mut self) {
        self.stop.cancel();
        let held = match self.task.take() {
            Some(task) => task.await.ok().flatten(),
            None => None,
        };
        let Some(held) = held else {
            return;
        };
        if Instant::now() >= held.valid_until {
            return;
        }
        let mut connection = self.cluster.connection();
        let released = timeout_at(
            held.valid_until,
            RELEASE
                .key(&self.key)
                .arg(held.term.value())
                .invoke_async::<i64>(&mut connection),
        )
        .await
        .unwrap_or_else(|_| Err(unreachable("releasing the lease timed out")));
        self.cluster.record(&released);
        match released {
            Ok(1) => tracing::info!(token = held.term.token, "released the leader lease"),
            Ok(_) => tracing::info!("the leader lease had already changed hands"),
            Err(error) => tracing::warn!(
                kind = ?error.kind(),
                "could not release the leader lease; another instance takes over when it lapses"
            ),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The task that contends for and keeps the lease.
struct Contender {
    cluster: Cluster,
    key: String,
    fencing_key: String,
    timing: Timing,
}

impl Contender {
    /// Returns what it holds when stopped, for [`Lease::release`].
    async fn run(
        self,
        stop: CancellationToken,
        publish: watch::Sender<Option<Term>>,
    ) -> Option<Held> {
        set_gauge(false);
        let mut held: Option<Held> = None;
        loop {
            held = match held {
                None => {
                    let won = tokio::select! {
                        biased;
                        () = stop.cancelled() => return None,
                        won = self.try_acquire() => won,
                    };
                    if let Some(won) = &won {
                        tracing::info!(token = won.term.token, "holding the leader lease");
                        publish.send_replace(Some(won.term.clone()));
                        set_gauge(true);
                    } else {
                        let pause = jitter(self.timing.poll);
                        tokio::select! {
                            biased;
                            () = stop.cancelled() => return None,
                            () = sleep(pause) => {}
                        }
                    }
                    won
                }
                Some(mut current) => {
                    let wake = current.next_renewal.min(current.step_down_at(&self.timing));
                    tokio::select! {
                        biased;
                        () = stop.cancelled() => return Some(current),
                        () = sleep_until(wake) => {}
                    }
                    let kept = tokio::select! {
                        biased;
                        () = stop.cancelled() => return Some(current),
                        kept = self.renew(&mut current) => kept,
                    };
                    if kept {
                        Some(current)
                    } else {
                        publish.send_replace(None);
                        set_gauge(false);
                        None
                    }
                }
            };
        }
    }

    async fn try_acquire(&self) -> Option<Held> {
        let sent = Instant::now();
        let mut connection = self.cluster.connection();
        let lease_ms = millis(self.timing.lease);
        let result = timeout_at(
            sent + self.timing.poll,
            ACQUIRE
                .key(&self.key)
                .key(&self.fencing_key)
                .arg(self.cluster.instance())
                .arg(lease_ms)
                .invoke_async::<Option<String>>(&mut connection),
        )
        .await
        .unwrap_or_else(|_| Err(unreachable("taking the lease timed out")));
        self.cluster.record(&result);
        let value = result.ok().flatten()?;
        let token = value.split(' ').next()?.parse().ok()?;
        Some(Held {
            term: Term {
                token,
                value: value.into(),
            },
            valid_until: sent + self.timing.lease,
            next_renewal: sent + self.timing.renew_every,
        })
    }

    /// One renewal attempt: `false` when the term is over (lost, or no longer safe to keep).
    async fn renew(&self, held: &mut Held) -> bool {
        let step_down_at = held.step_down_at(&self.timing);
        let sent = Instant::now();
        if sent >= step_down_at {
            tracing::warn!(
                token = held.term.token,
                "stepping down: the leader lease could not be renewed before its margin"
            );
            return false;
        }
        let mut connection = self.cluster.connection();
        let result = timeout_at(
            step_down_at,
            RENEW
                .key(&self.key)
                .arg(held.term.value())
                .arg(millis(self.timing.lease))
                .invoke_async::<i64>(&mut connection),
        )
        .await
        .unwrap_or_else(|_| Err(unreachable("renewing the lease timed out")));
        self.cluster.record(&result);
        match result {
            Ok(1) => {
                held.valid_until = sent + self.timing.lease;
                held.next_renewal = sent + self.timing.renew_every;
                true
            }
            Ok(_) => {
                tracing::warn!(
                    token = held.term.token,
                    "stepping down: the leader lease is no longer this instance's"
                );
                false
            }
            Err(_) if Instant::now() + self.timing.retry < step_down_at => {
                held.next_renewal = Instant::now() + self.timing.retry;
                true
            }
            Err(error) => {
                tracing::warn!(
                    token = held.term.token,
                    kind = ?error.kind(),
                    "stepping down: the leader lease could not be renewed before its margin"
                );
                false
            }
        }
    }
}

fn set_gauge(leader: bool) {
    metrics::gauge!("public_stats_cluster_leader").set(if leader { 1.0 } else { 0.0 });
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `base` ± 20 %, so that the instances' attempts spread out.
fn jitter(base: Duration) -> Duration {
    base.mul_f64(0.8 + fastrand::f64() * 0.4)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{ClusterSettings, RedisUrl};
    use super::*;

    const LEASE: Duration = Duration::from_secs(2);
    const KEY: &str = "public-stats:test:leader";

    async fn cluster(server: &test_redis::RedisServer) -> Cluster {
        Cluster::connect(&ClusterSettings {
            url: RedisUrl::parse(&server.url()).unwrap(),
            lease: LEASE,
        })
        .await
        .unwrap()
    }

    /// Waits until `lease` leads (or, with `false`, does not), for at most `within`.
    async fn until_leading(lease: &Lease, leading: bool, within: Duration) -> Option<Instant> {
        let mut leadership = lease.leadership();
        let deadline = Instant::now() + within;
        loop {
            if leadership.borrow_and_update().is_some() == leading {
                return Some(Instant::now());
            }
            if timeout_at(deadline, leadership.changed()).await.is_err() {
                return None;
            }
        }
    }

    async fn first_leader(a: &Lease, b: &Lease) {
        let deadline = Instant::now() + LEASE * 3;
        while !(a.is_leader() || b.is_leader()) {
            assert!(Instant::now() < deadline, "nobody took the lease");
            sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn two_contenders_make_exactly_one_leader_and_it_stays() {
        let server = test_redis::RedisServer::start();
        let a = Lease::start(cluster(&server).await, "test:leader");
        let b = Lease::start(cluster(&server).await, "test:leader");
        first_leader(&a, &b).await;
        // Over several renewals: always exactly one, always the same.
        let first_is_a = a.is_leader();
        let until = Instant::now() + LEASE * 2;
        while Instant::now() < until {
            assert!(a.is_leader() ^ b.is_leader(), "exactly one leader");
            assert_eq!(a.is_leader(), first_is_a, "the leader kept its lease");
            sleep(Duration::from_millis(10)).await;
        }
        let value = server.cli(&["GET", KEY]);
        let leader = if first_is_a { &a } else { &b };
        let term = leader.leadership().borrow().clone().unwrap();
        assert_eq!(value, term.value());
        let ttl: u64 = server.cli(&["PTTL", KEY]).parse().unwrap();
        assert!(ttl > 0 && ttl <= 2000, "{ttl}");
    }

    #[tokio::test]
    async fn a_crashed_leader_is_replaced_within_the_lease_and_a_released_one_at_once() {
        let server = test_redis::RedisServer::start();
        let a = Lease::start(cluster(&server).await, "test:leader");
        until_leading(&a, true, LEASE).await.expect("a leads alone");
        let first = a.leadership().borrow().clone().unwrap();
        let b = Lease::start(cluster(&server).await, "test:leader");
        // a stops renewing without deleting its key, as a crash would.
        let crashed = Instant::now();
        drop(a);
        let took_over = until_leading(&b, true, LEASE * 2)
            .await
            .expect("b takes over");
        let gap = took_over - crashed;
        assert!(
            gap <= LEASE + Timing::of(LEASE).poll * 2,
            "took over after {gap:?}"
        );
        let second = b.leadership().borrow().clone().unwrap();
        assert!(second.token > first.token, "a new term has a larger token");

        let c = Lease::start(cluster(&server).await, "test:leader");
        sleep(Duration::from_millis(300)).await;
        assert!(!c.is_leader(), "b still holds it");
        b.release().await;
        assert_eq!(server.cli(&["EXISTS", KEY]), "0", "released means deleted");
        until_leading(&c, true, LEASE)
            .await
            .expect("c takes the released lease without waiting for it to lapse");
    }

    #[tokio::test]
    async fn a_leader_whose_key_is_taken_or_deleted_steps_down() {
        let server = test_redis::RedisServer::start();
        let a = Lease::start(cluster(&server).await, "test:leader");
        until_leading(&a, true, LEASE).await.expect("a leads");
        let mut leadership = a.leadership();
        let first = leadership.borrow_and_update().clone().unwrap();
        server.cli(&["SET", KEY, "999 someone-else", "PX", "60000"]);
        until_leading(&a, false, LEASE)
            .await
            .expect("a steps down when its key holds another value");
        sleep(LEASE).await;
        assert!(!a.is_leader(), "not while someone else holds the key");

        server.cli(&["DEL", KEY]);
        until_leading(&a, true, LEASE).await.expect("a leads again");
        let second = leadership.borrow_and_update().clone().unwrap();
        assert!(second.token > first.token);
        server.cli(&["DEL", KEY]);
        // a may well take the free key again at once, with a new term: either way the term it
        // held when the key vanished is over.
        let deadline = Instant::now() + LEASE;
        loop {
            let now = leadership.borrow_and_update().clone();
            if now.as_ref() != Some(&second) {
                break;
            }
            assert!(Instant::now() < deadline, "a kept a deleted term");
            let _ = timeout_at(deadline, leadership.changed()).await;
        }
    }

    #[tokio::test]
    async fn a_leader_that_loses_redis_steps_down_before_its_lease_could_lapse_and_returns() {
        let mut server = test_redis::RedisServer::start();
        let a = Lease::start(cluster(&server).await, "test:leader");
        until_leading(&a, true, LEASE).await.expect("a leads");
        // The last renewal reached Redis before the kill, so the key lapses no earlier than
        // the kill: stepping down must come before the kill plus the lease.
        let killed = Instant::now();
        server.kill();
        let stepped_down = until_leading(&a, false, LEASE * 2)
            .await
            .expect("a steps down");
        assert!(
            stepped_down < killed + LEASE,
            "stepped down {:?} after the kill, lease {LEASE:?}",
            stepped_down - killed
        );
        server.restart();
        until_leading(&a, true, LEASE * 3)
            .await
            .expect("a leads again once Redis is back");
    }
}
