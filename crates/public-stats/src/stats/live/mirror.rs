//! Every instance's side of clustered live stats: follows the leader's record in Redis and
//! publishes it as this instance's [`LiveView`], so handlers and push sockets read it as they
//! read the single-instance stream.
//!
//! Pub/sub is at-most-once (a message sent while the link is down is gone), so after every
//! (re)connection the instance subscribes first and then reads the stored record, and from then
//! on follows the channel. The view is stale when the leader says its stream is down, when the
//! record is older than a leader's heartbeats allow (no leader, or none able to write), and
//! while the link to Redis is down; the last known counts are still served, with the time they
//! were last current. It does not talk to Genesys (`leader` does).
//!
//! Why a dedicated pub/sub connection (`get_async_pubsub`) and not the `ConnectionManager`'s
//! RESP3 push messages with automatic resubscription: the manager resubscribes behind our back,
//! so nothing would tell this loop to read the stored record again after a reconnection, and
//! the messages missed in between would go unnoticed; RESP3 would also have to be asked for in
//! every operator's `REDIS_URL`. Owning the connection makes each reconnection an explicit step
//! (subscribe, read, follow), lets the loop say at once that the link is down (the view turns
//! stale), and lets it ping a quiet link so a half-open connection is noticed too.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, interval, timeout};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::shared::{Cadence, Record, state_key};
use super::{LiveView, publish_view};
use crate::cluster::{Cluster, unreachable};
use crate::stats::view::{ObservationsView, Stamp};

/// How long connecting, subscribing and reading the record may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Reconnection delays: from the first, doubling up to the last.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(2);

/// An open, subscribed pub/sub connection.
struct Link {
    sink: PubSubSink,
    messages: PubSubStream,
    /// The last message or answered ping.
    heard: Instant,
}

/// How a record reached this instance.
#[derive(Clone, Copy)]
enum Arrival {
    /// Announced just now: it was written a moment ago, whatever the clocks say.
    Announced,
    /// Read from the key: as old as its writer's clock says (the instances' clocks are assumed
    /// to agree within a second or so, as NTP keeps them).
    Stored,
}

/// The record in use, with its moments on this instance's clock.
struct Known {
    record: Record,
    /// Configured order.
    queues: Vec<(Uuid, ObservationsView)>,
    written: Stamp,
    as_of: Option<Stamp>,
}

pub(super) struct Mirror {
    cluster: Cluster,
    cadence: Cadence,
    latest: Latest,
}

impl Mirror {
    pub fn new(cluster: Cluster, queues: Vec<Uuid>) -> Self {
        let cadence = Cadence::of(cluster.lease());
        Mirror {
            cluster,
            cadence,
            latest: Latest::new(queues, cadence),
        }
    }

    /// Follows Redis until `shutdown`, publishing each visible change of the view.
    pub async fn run(
        mut self,
        publish: Arc<watch::Sender<Arc<LiveView>>>,
        shutdown: CancellationToken,
    ) {
        let mut link: Option<Link> = None;
        let mut delay = RECONNECT_FIRST;
        let mut reconnect_at = Instant::now();
        let mut check = interval(self.cadence.check);
        check.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                message = next_message(&mut link) => match message {
                    Some(payload) => {
                        if let Some(link) = &mut link {
                            link.heard = Instant::now();
                        }
                        self.latest.accept(&payload, Arrival::Announced);
                    }
                    None => {
                        link = None;
                        self.cluster.record(&Err::<(), _>(unreachable("the pub/sub connection closed")));
                        reconnect_at = Instant::now() + delay;
                    }
                },
                _ = check.tick() => {
                    let attended = tokio::select! {
                        biased;
                        () = shutdown.cancelled() => break,
                        attended = self.attend(link.take(), &mut reconnect_at, &mut delay) => attended,
                    };
                    link = attended;
                }
            }
            publish_view(&publish, self.latest.view(link.is_some()));
        }
        publish.send_replace(Arc::new(self.latest.view(false)));
    }

    /// The periodic care of the link: reconnects when it is down and due, pings it when quiet.
    async fn attend(
        &mut self,
        link: Option<Link>,
        reconnect_at: &mut Instant,
        delay: &mut Duration,
    ) -> Option<Link> {
        match link {
            None if Instant::now() >= *reconnect_at => {
                let link = self.connect().await;
                if link.is_some() {
                    *delay = RECONNECT_FIRST;
                } else {
                    *reconnect_at = Instant::now() + *delay;
                    *delay = (*delay * 2).min(RECONNECT_MAX);
                }
                link
            }
            None => None,
            Some(mut link) if link.heard.elapsed() > self.cadence.heartbeat * 2 => {
                let answered = timeout(self.cadence.heartbeat, link.sink.ping::<()>())
                    .await
                    .unwrap_or_else(|_| Err(unreachable("a pub/sub ping timed out")));
                self.cluster.record(&answered);
                if answered.is_ok() {
                    link.heard = Instant::now();
                    Some(link)
                } else {
                    *reconnect_at = Instant::now();
                    None
                }
            }
            Some(link) => Some(link),
        }
    }

    /// Subscribes, then reads the stored record: in that order, a record written in between
    /// is announced on the new subscription rather than missed.
    async fn connect(&mut self) -> Option<Link> {
        let key = state_key(&self.cluster);
        let cluster = self.cluster.clone();
        let attempt = async {
            let client = cluster.client()?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&key).await?;
            let mut connection = cluster.connection();
            let stored: Option<String> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await?;
            Ok::<_, redis::RedisError>((pubsub, stored))
        };
        let result = timeout(CONNECT_TIMEOUT, attempt)
            .await
            .unwrap_or_else(|_| Err(unreachable("subscribing timed out")));
        self.cluster.record(&result);
        match result {
            Ok((pubsub, stored)) => {
                if let Some(stored) = stored {
                    self.latest.accept(&stored, Arrival::Stored);
                }
                let (sink, messages) = pubsub.split();
                tracing::debug!("following the shared live record");
                Some(Link {
                    sink,
                    messages,
                    heard: Instant::now(),
                })
            }
            Err(error) => {
                tracing::debug!(kind = ?error.kind(), "could not follow the shared live record");
                None
            }
        }
    }
}

/// The latest record and how current it is: the part of the mirror that needs no Redis.
struct Latest {
    /// Configured order.
    queues: Vec<Uuid>,
    cadence: Cadence,
    known: Option<Known>,
    /// Whether an unreadable record was already logged (once per run of them).
    complained: bool,
}

impl Latest {
    fn new(queues: Vec<Uuid>, cadence: Cadence) -> Self {
        Latest {
            queues,
            cadence,
            known: None,
            complained: false,
        }
    }

    /// Takes a record unless it is an older one of the same writer.
    fn accept(&mut self, json: &str, arrival: Arrival) {
        let record = match serde_json::from_str::<Record>(json) {
            Ok(record) => {
                self.complained = false;
                record
            }
            Err(error) => {
                if !self.complained {
                    tracing::warn!(%error, "ignoring an unreadable shared live record");
                    self.complained = true;
                }
                return;
            }
        };
        if let (Arrival::Announced, Some(known)) = (arrival, &self.known)
            && !record.supersedes(&known.record)
        {
            return;
        }
        self.known = Some(self.known(record, arrival));
    }

    fn known(&self, record: Record, arrival: Arrival) -> Known {
        let now = OffsetDateTime::now_utc();
        let written_age = match arrival {
            Arrival::Announced => Duration::ZERO,
            Arrival::Stored => non_negative(now - record.written_at),
        };
        let written = Stamp::ago(written_age, record.written_at);
        let as_of = record
            .as_of
            .map(|as_of| Stamp::ago(written_age + non_negative(record.written_at - as_of), as_of));
        let queues = self
            .queues
            .iter()
            .map(|id| (*id, record.queues.get(id).cloned().unwrap_or_default()))
            .collect();
        Known {
            record,
            queues,
            written,
            as_of,
        }
    }

    /// The view as of now: a record ages even when no message arrives.
    fn view(&self, linked: bool) -> LiveView {
        let Some(known) = &self.known else {
            let empty = self
                .queues
                .iter()
                .map(|id| (*id, ObservationsView::default()))
                .collect();
            return LiveView::new(empty, false, None);
        };
        let recent = known.written.instant().elapsed() <= self.cadence.stale_after;
        let fresh = known.record.fresh && recent && linked;
        // A record that said fresh was current when written; one that did not says since when.
        let current_at = if known.record.fresh {
            Some(known.written)
        } else {
            known.as_of
        };
        LiveView::new(known.queues.clone(), fresh, current_at)
    }
}

/// The next announced payload; never ready without a link. `None` when the link ended.
async fn next_message(link: &mut Option<Link>) -> Option<String> {
    let Some(link) = link else {
        return std::future::pending().await;
    };
    loop {
        let message = link.messages.next().await?;
        match message.get_payload::<String>() {
            Ok(payload) => return Some(payload),
            Err(error) => tracing::debug!(kind = ?error.kind(), "skipped a pub/sub message"),
        }
    }
}

fn non_negative(duration: time::Duration) -> Duration {
    Duration::try_from(duration).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::stats::view::Freshness;

    const SALES: Uuid = uuid::uuid!("1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01");

    fn latest() -> Latest {
        Latest::new(vec![SALES], Cadence::of(Duration::from_secs(10)))
    }

    fn record(seq: u64, waiting: u64, fresh: bool, written_ago: time::Duration) -> String {
        let mut sales = ObservationsView::default();
        sales.voice.waiting = waiting;
        let written_at = OffsetDateTime::now_utc() - written_ago;
        serde_json::to_string(&Record {
            token: 1,
            seq,
            written_at,
            fresh,
            as_of: (!fresh).then(|| written_at - time::Duration::seconds(30)),
            queues: BTreeMap::from([(SALES, sales)]),
        })
        .unwrap()
    }

    fn frame(view: &LiveView) -> Value {
        serde_json::from_str(view.root_frame().as_str()).unwrap()
    }

    fn waiting(view: &LiveView) -> u64 {
        view.observations(SALES).unwrap().voice.waiting
    }

    #[test]
    fn nothing_read_yet_is_stale_and_never_current() {
        let view = latest().view(true);
        assert_eq!(view.freshness(), Freshness::Stale { as_of: None });
        assert_eq!(waiting(&view), 0);
    }

    #[test]
    fn a_fresh_record_is_fresh_only_while_the_link_is_up() {
        let mut latest = latest();
        latest.accept(
            &record(1, 4, true, time::Duration::ZERO),
            Arrival::Announced,
        );
        let view = latest.view(true);
        assert_eq!(view.freshness(), Freshness::Fresh);
        assert_eq!(waiting(&view), 4);
        let cut_off = latest.view(false);
        assert!(matches!(
            cut_off.freshness(),
            Freshness::Stale { as_of: Some(_) }
        ));
        assert_eq!(waiting(&cut_off), 4, "the last known counts are kept");
        assert_eq!(frame(&cut_off)["stale"], true);
    }

    #[test]
    fn a_stored_record_nobody_rewrote_for_too_long_is_stale_as_of_its_writing() {
        let mut latest = latest();
        let old = time::Duration::seconds(60);
        latest.accept(&record(1, 2, true, old), Arrival::Stored);
        let view = latest.view(true);
        let Freshness::Stale { as_of: Some(as_of) } = view.freshness() else {
            panic!("an old record is stale: {:?}", view.freshness());
        };
        assert!((59..=61).contains(&as_of.age_seconds()), "{as_of:?}");
        assert_eq!(waiting(&view), 2);
    }

    #[test]
    fn a_leader_without_its_stream_shares_since_when_the_data_is_old() {
        let mut latest = latest();
        latest.accept(
            &record(1, 2, false, time::Duration::ZERO),
            Arrival::Announced,
        );
        let Freshness::Stale { as_of: Some(as_of) } = latest.view(true).freshness() else {
            panic!("the leader said stale");
        };
        assert!((29..=31).contains(&as_of.age_seconds()), "{as_of:?}");
    }

    #[test]
    fn an_older_announcement_of_the_same_term_does_not_undo_a_newer_record() {
        let mut latest = latest();
        latest.accept(&record(5, 5, true, time::Duration::ZERO), Arrival::Stored);
        latest.accept(
            &record(4, 4, true, time::Duration::ZERO),
            Arrival::Announced,
        );
        assert_eq!(waiting(&latest.view(true)), 5);
        latest.accept(
            &record(6, 6, true, time::Duration::ZERO),
            Arrival::Announced,
        );
        assert_eq!(waiting(&latest.view(true)), 6);
        latest.accept("{not a record", Arrival::Announced);
        assert_eq!(
            waiting(&latest.view(true)),
            6,
            "an unreadable record is ignored"
        );
    }

    mod with_redis {
        use super::*;
        use crate::cluster::{ClusterSettings, RedisUrl};

        /// Waits until the published view satisfies `check`.
        async fn until(
            view: &mut watch::Receiver<Arc<LiveView>>,
            what: &str,
            check: impl Fn(&LiveView) -> bool,
        ) {
            let waited = tokio::time::timeout(Duration::from_secs(5), async {
                while !check(&view.borrow_and_update()) {
                    view.changed().await.unwrap();
                }
            })
            .await;
            assert!(waited.is_ok(), "{what}: {:?}", view.borrow().freshness());
        }

        fn set_and_announce(server: &test_redis::RedisServer, json: &str) {
            server.cli(&["SET", "public-stats:live:state", json]);
            server.cli(&["PUBLISH", "public-stats:live:state", json]);
        }

        #[tokio::test]
        async fn reads_the_stored_record_follows_announcements_and_survives_an_outage() {
            let mut server = test_redis::RedisServer::start();
            server.cli(&[
                "SET",
                "public-stats:live:state",
                &record(1, 3, true, time::Duration::ZERO),
            ]);
            let cluster = Cluster::connect(&ClusterSettings {
                url: RedisUrl::parse(&server.url()).unwrap(),
                lease: Duration::from_secs(2),
            })
            .await
            .unwrap();
            let mirror = Mirror::new(cluster, vec![SALES]);
            let initial = mirror.latest.view(false);
            let (publish, mut view) = watch::channel(Arc::new(initial));
            let publish = Arc::new(publish);
            let shutdown = CancellationToken::new();
            let task = tokio::spawn(mirror.run(publish, shutdown.clone()));

            until(&mut view, "the stored record, read on connect", |v| {
                waiting(v) == 3 && v.freshness() == Freshness::Fresh
            })
            .await;
            set_and_announce(&server, &record(2, 5, true, time::Duration::ZERO));
            until(&mut view, "an announced record", |v| waiting(v) == 5).await;

            server.kill();
            until(&mut view, "stale without Redis, counts kept", |v| {
                waiting(v) == 5 && matches!(v.freshness(), Freshness::Stale { as_of: Some(_) })
            })
            .await;
            server.restart();
            // Written while nobody was subscribed yet: found by the read after reconnecting.
            server.cli(&[
                "SET",
                "public-stats:live:state",
                &record(3, 7, true, time::Duration::ZERO),
            ]);
            until(&mut view, "current again once Redis is back", |v| {
                waiting(v) == 7 && v.freshness() == Freshness::Fresh
            })
            .await;
            // A quiet link is pinged rather than taken for dead: no visible change while nothing
            // is announced for longer than two heartbeats (but less than a record may age).
            set_and_announce(&server, &record(4, 8, true, time::Duration::ZERO));
            until(&mut view, "following again", |v| waiting(v) == 8).await;
            tokio::time::sleep(Duration::from_millis(1700)).await;
            assert!(
                !view.has_changed().unwrap(),
                "the link was not dropped and the view never turned stale in between"
            );
            set_and_announce(&server, &record(5, 9, true, time::Duration::ZERO));
            until(&mut view, "still following", |v| {
                waiting(v) == 9 && v.freshness() == Freshness::Fresh
            })
            .await;
            shutdown.cancel();
            task.await.unwrap();
        }

        #[tokio::test]
        async fn a_record_nobody_rewrites_turns_stale_after_the_heartbeats_allow() {
            let server = test_redis::RedisServer::start();
            let cluster = Cluster::connect(&ClusterSettings {
                url: RedisUrl::parse(&server.url()).unwrap(),
                lease: Duration::from_secs(2),
            })
            .await
            .unwrap();
            let mirror = Mirror::new(cluster, vec![SALES]);
            let stale_after = mirror.cadence.stale_after;
            let (publish, mut view) = watch::channel(Arc::new(mirror.latest.view(false)));
            let shutdown = CancellationToken::new();
            let task = tokio::spawn(mirror.run(Arc::new(publish), shutdown.clone()));
            tokio::time::sleep(Duration::from_millis(300)).await;
            let written = Instant::now();
            set_and_announce(&server, &record(1, 2, true, time::Duration::ZERO));
            until(&mut view, "fresh when announced", |v| {
                v.freshness() == Freshness::Fresh
            })
            .await;
            until(&mut view, "stale once the leader is silent", |v| {
                v.freshness() != Freshness::Fresh
            })
            .await;
            assert!(
                written.elapsed() >= stale_after,
                "not before {stale_after:?}"
            );
            shutdown.cancel();
            task.await.unwrap();
        }
    }
}
