//! The live observations as instances share them in Redis (clustered mode): the [`Record`] the
//! leader writes, where it goes (one key holding the latest, one channel announcing each), and
//! the cadence derived from the lease.
//!
//! It is the format and nothing else: `leader` writes it, `mirror` reads it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::cluster::Cluster;
use crate::stats::view::ObservationsView;

/// The lease that decides which instance holds the Genesys notification channel.
pub(super) const LEASE_NAME: &str = "live:leader";

/// The latest record (a string key) and the channel that announces each record. Channels and
/// keys are separate name spaces in Redis; the same name says they go together.
pub(super) fn state_key(cluster: &Cluster) -> String {
    cluster.key("live:state")
}

/// What the leader shares: the monitored queues' observations, whether its stream is current,
/// and when it wrote this (a heartbeat rewrites it even when nothing changed, so that a record
/// nobody rewrites shows the leader is gone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Record {
    /// The writer's fencing token: each term of leadership has its own.
    pub token: u64,
    /// Counts the writer's records within its term.
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
    /// The leader's stream is connected with a snapshot behind it.
    pub fresh: bool,
    /// When the data was last known current, while not fresh (`None`: never).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub as_of: Option<OffsetDateTime>,
    pub queues: BTreeMap<Uuid, ObservationsView>,
}

impl Record {
    /// Whether `self` came after `other` from the same writer. Records of another term are
    /// never called older: tokens are only compared for equality, so a Redis that lost its
    /// counter (and starts tokens again from 1) does not make every instance ignore the leader.
    pub fn supersedes(&self, other: &Record) -> bool {
        self.token != other.token || self.seq > other.seq
    }
}

/// How often the leader rewrites the record, and when a record nobody rewrote is old.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cadence {
    pub heartbeat: Duration,
    /// A record older than this is stale even if it says fresh: its leader is gone, and a new
    /// one takes over within the lease.
    pub stale_after: Duration,
    /// How often an instance looks at its link and at the age of what it holds.
    pub check: Duration,
}

impl Cadence {
    pub fn of(lease: Duration) -> Self {
        let heartbeat = (lease / 4).min(Duration::from_secs(2));
        Cadence {
            heartbeat,
            stale_after: lease + lease / 2,
            check: (heartbeat / 2).max(Duration::from_millis(50)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(token: u64, seq: u64) -> Record {
        Record {
            token,
            seq,
            written_at: OffsetDateTime::UNIX_EPOCH,
            fresh: true,
            as_of: None,
            queues: BTreeMap::new(),
        }
    }

    #[test]
    fn a_later_record_of_the_same_term_or_any_record_of_another_term_supersedes() {
        assert!(record(3, 5).supersedes(&record(3, 4)));
        assert!(!record(3, 4).supersedes(&record(3, 4)));
        assert!(!record(3, 3).supersedes(&record(3, 4)));
        assert!(record(4, 1).supersedes(&record(3, 9)));
        assert!(
            record(1, 1).supersedes(&record(3, 9)),
            "a counter that started over"
        );
    }

    #[test]
    fn the_record_reads_back_what_was_written() {
        let mut written = record(7, 2);
        written.as_of = Some(OffsetDateTime::UNIX_EPOCH);
        written
            .queues
            .insert(Uuid::nil(), ObservationsView::default());
        let json = serde_json::to_string(&written).unwrap();
        assert!(json.contains("\"writtenAt\"") && json.contains("\"availableAgents\""));
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), written);
    }
}
