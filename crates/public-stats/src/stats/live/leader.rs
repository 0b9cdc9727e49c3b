//! The leader's side of clustered live stats: while this instance holds the lease, it runs the
//! Genesys observation stream — the deployment's one notification channel — and writes what it
//! learns to Redis for every instance (itself included) to read.
//!
//! Losing the lease stops the stream at once, before the lease could lapse and another instance
//! open its own. Writes are fenced: a script writes the record only while the lease still holds
//! this term's value, so a deposed leader never overwrites its successor. It does not serve the
//! view; `mirror` does, on every instance alike.

use std::sync::{Arc, LazyLock};

use genesys::GenesysClient;
use genesys::notifications::stream::{
    ObservationStream, StreamConfig, StreamStatus, spawn_observation_stream,
};
use redis::Script;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::shared::{Cadence, Record, state_key};
use super::{LiveView, Tracker};
use crate::cluster::lease::{Lease, Term};
use crate::cluster::{Cluster, unreachable};

/// Sets the record and announces it, only while the lease holds the writer's term.
static WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
            return 0
        end
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('PUBLISH', KEYS[2], ARGV[2])
        return 1
        ",
    )
});

/// What the leader needs to run the stream in its terms.
pub(super) struct Leader {
    pub client: GenesysClient,
    pub queues: Vec<Uuid>,
    pub config: StreamConfig,
    pub cluster: Cluster,
    pub lease_key: String,
}

/// Why a term ended.
enum TermEnd {
    Lost,
    Shutdown,
}

impl Leader {
    /// Contends for the lease until `shutdown`; runs the stream during each term. At shutdown the
    /// stream is closed first, then the lease released, so the successor opens its channel only
    /// after this one is gone.
    pub async fn run(self, lease: Lease, shutdown: CancellationToken) {
        let mut leadership = lease.leadership();
        loop {
            let term = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                term = next_term(&mut leadership) => term,
            };
            let Some(term) = term else { break };
            tracing::info!(
                token = term.token,
                "leading: opening the Genesys notification stream"
            );
            let stream = spawn_observation_stream(
                self.client.clone(),
                self.queues.clone(),
                self.config.clone(),
                shutdown.clone(),
            );
            let end = self
                .serve_term(stream, &term, &mut leadership, &shutdown)
                .await;
            if matches!(end, TermEnd::Shutdown) {
                break;
            }
            tracing::warn!(
                token = term.token,
                "no longer leading: the notification stream is closed"
            );
        }
        lease.release().await;
    }

    /// Follows the stream and hands each visible change to the term's writer, until the term
    /// ends; the stream is closed before this returns.
    async fn serve_term(
        &self,
        mut stream: ObservationStream,
        term: &Term,
        leadership: &mut watch::Receiver<Option<Term>>,
        shutdown: &CancellationToken,
    ) -> TermEnd {
        let mut tracker = Tracker::new(&self.queues);
        let mut status = stream.status();
        let (latest, for_writer) = watch::channel(None);
        let stop_writer = CancellationToken::new();
        let writer = tokio::spawn(
            Writer {
                cluster: self.cluster.clone(),
                lease_key: self.lease_key.clone(),
                state_key: state_key(&self.cluster),
                term: term.clone(),
                cadence: Cadence::of(self.cluster.lease()),
                seq: 0,
            }
            .run(for_writer, stop_writer.clone()),
        );
        let end = loop {
            // Losing the lease comes first: nothing else may delay closing the stream.
            tokio::select! {
                biased;
                changed = leadership.changed() => {
                    if changed.is_err() || leadership.borrow_and_update().as_ref() != Some(term) {
                        break TermEnd::Lost;
                    }
                }
                () = shutdown.cancelled() => break TermEnd::Shutdown,
                event = stream.next() => match event {
                    Some(event) => tracker.apply(event),
                    // Only a cancelled stream ends.
                    None => break TermEnd::Shutdown,
                },
                changed = status.changed() => {
                    if changed.is_err() {
                        break TermEnd::Shutdown;
                    }
                }
            }
            let connected = *status.borrow_and_update() == StreamStatus::Connected;
            let view = tracker.view(connected);
            // Until its stream has been current once, a new leader has nothing better than what
            // its predecessor left in Redis: overwriting that with empty counts would show
            // visitors zeros during a failover.
            if view.current_at.is_some() {
                latest.send_if_modified(|current: &mut Option<Arc<LiveView>>| {
                    let visible = current
                        .as_ref()
                        .is_none_or(|current| !current.same_as(&view));
                    *current = Some(Arc::new(view));
                    visible
                });
            }
        };
        stop_writer.cancel();
        stream.stop().await;
        let _ = writer.await;
        end
    }
}

/// Waits for a term of leadership; `None` when the lease has gone.
async fn next_term(leadership: &mut watch::Receiver<Option<Term>>) -> Option<Term> {
    loop {
        if let Some(term) = leadership.borrow_and_update().clone() {
            return Some(term);
        }
        leadership.changed().await.ok()?;
    }
}

/// Writes the term's latest view to Redis on every change, and again every heartbeat.
struct Writer {
    cluster: Cluster,
    lease_key: String,
    state_key: String,
    term: Term,
    cadence: Cadence,
    seq: u64,
}

impl Writer {
    async fn run(
        mut self,
        mut views: watch::Receiver<Option<Arc<LiveView>>>,
        stop: CancellationToken,
    ) {
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                changed = views.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                () = sleep(self.cadence.heartbeat) => {}
            }
            let Some(view) = views.borrow_and_update().clone() else {
                continue;
            };
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                () = self.write(&view) => {}
            }
        }
    }

    async fn write(&mut self, view: &LiveView) {
        self.seq += 1;
        let (stale, as_of) = view.freshness().stale_as_of();
        let record = Record {
            token: self.term.token,
            seq: self.seq,
            written_at: OffsetDateTime::now_utc(),
            fresh: !stale,
            as_of,
            queues: view.queues.iter().cloned().collect(),
        };
        let json = match serde_json::to_string(&record) {
            Ok(json) => json,
            Err(error) => {
                tracing::error!(%error, "could not serialise the shared live record");
                return;
            }
        };
        let mut connection = self.cluster.connection();
        let written = timeout(
            self.cadence.heartbeat,
            WRITE
                .key(&self.lease_key)
                .key(&self.state_key)
                .arg(self.term.value())
                .arg(json)
                .invoke_async::<i64>(&mut connection),
        )
        .await
        .unwrap_or_else(|_| Err(unreachable("writing the live record timed out")));
        self.cluster.record(&written);
        match written {
            Ok(1) => {
                metrics::counter!("public_stats_cluster_live_writes_total").increment(1);
            }
            // The lease changed hands; the lease itself notices at its next renewal.
            Ok(_) => tracing::debug!(
                token = self.term.token,
                "not written: the lease is no longer this term's"
            ),
            Err(error) => tracing::debug!(kind = ?error.kind(), "could not write the live record"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cluster::{ClusterSettings, RedisUrl};

    const SALES: Uuid = uuid::uuid!("1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01");

    #[tokio::test]
    async fn only_the_lease_holder_writes_the_record() {
        let server = test_redis::RedisServer::start();
        let cluster = Cluster::connect(&ClusterSettings {
            url: RedisUrl::parse(&server.url()).unwrap(),
            lease: Duration::from_secs(2),
        })
        .await
        .unwrap();
        let lease = Lease::start(cluster.clone(), super::super::shared::LEASE_NAME);
        let mut leadership = lease.leadership();
        let term = tokio::time::timeout(Duration::from_secs(2), next_term(&mut leadership))
            .await
            .unwrap()
            .unwrap();
        let mut writer = Writer {
            lease_key: cluster.key(super::super::shared::LEASE_NAME),
            state_key: state_key(&cluster),
            cluster: cluster.clone(),
            term: term.clone(),
            cadence: Cadence::of(cluster.lease()),
            seq: 0,
        };
        let view = Tracker::new(&[SALES]).view(false);
        writer.write(&view).await;
        let stored: Record =
            serde_json::from_str(&server.cli(&["GET", "public-stats:live:state"])).unwrap();
        assert_eq!((stored.token, stored.seq), (term.token, 1));
        assert!(stored.queues.contains_key(&SALES));

        // Deposed: the lease holds another value now.
        server.cli(&[
            "SET",
            "public-stats:live:leader",
            "99 elsewhere",
            "PX",
            "60000",
        ]);
        writer.write(&view).await;
        let stored: Record =
            serde_json::from_str(&server.cli(&["GET", "public-stats:live:state"])).unwrap();
        assert_eq!(
            stored.seq, 1,
            "a deposed leader does not overwrite its successor"
        );
    }
}
