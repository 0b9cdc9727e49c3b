//! What Genesys would report about a queue: the observation snapshot (agents by routing status and
//! presence, interactions by media type and state), the estimated wait time, and the
//! `QueueChanged` events raised when a snapshot differs from the one before.
//!
//! It only reads the model (apart from remembering the last snapshots); turning these numbers into
//! Genesys's JSON is the API modules' job.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::traffic::{DEFAULT_HANDLE_SECONDS, handle_seconds};
use super::{Interaction, InteractionState, MediaType, Model, ModelEvent, RoutingStatus};

/// Numbers for one media type in one queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaCounts {
    pub waiting: u32,
    pub interacting: u32,
    pub alerting: u32,
}

/// What Genesys's queue observations would say about a queue right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSnapshot {
    pub queue_id: Uuid,
    pub name: String,
    pub member_users: u32,
    /// Members by routing status; every status is present, possibly 0.
    pub routing_statuses: BTreeMap<RoutingStatus, u32>,
    /// Members by system presence (`ON_QUEUE`, `BREAK`, …).
    pub presences: BTreeMap<&'static str, u32>,
    /// Per media type; every media type is present, possibly all 0.
    pub media: BTreeMap<MediaType, MediaCounts>,
}

impl QueueSnapshot {
    pub fn on_queue_users(&self) -> u32 {
        self.routing_statuses
            .iter()
            .filter(|(status, _)| status.is_on_queue())
            .map(|(_, n)| n)
            .sum()
    }

    pub fn off_queue_users(&self) -> u32 {
        self.routing_statuses
            .get(&RoutingStatus::OffQueue)
            .copied()
            .unwrap_or(0)
    }
}

impl Model {
    pub fn queue_snapshot(&self, queue: Uuid) -> Option<QueueSnapshot> {
        let q = self.queues.get(&queue)?;
        let mut routing_statuses: BTreeMap<RoutingStatus, u32> =
            RoutingStatus::ALL.iter().map(|s| (*s, 0)).collect();
        let mut presences = BTreeMap::new();
        for agent in q.agents.iter().filter_map(|id| self.agents.get(id)) {
            *routing_statuses.entry(agent.status).or_insert(0) += 1;
            *presences.entry(agent.status.presence()).or_insert(0) += 1;
        }
        let mut media: BTreeMap<MediaType, MediaCounts> = MediaType::ALL
            .iter()
            .map(|m| (*m, MediaCounts::default()))
            .collect();
        for interaction in &q.interactions {
            let counts = media.entry(interaction.media).or_default();
            match interaction.state {
                InteractionState::Waiting => counts.waiting += 1,
                InteractionState::Interacting { .. } => counts.interacting += 1,
                InteractionState::Ended => {}
            }
        }
        Some(QueueSnapshot {
            queue_id: queue,
            name: q.spec.name.clone(),
            member_users: q.agents.len() as u32,
            routing_statuses,
            presences,
            media,
        })
    }

    /// The media types `queue` serves, in [`MediaType::ALL`]'s order: those it has a handle time
    /// or arrivals for, and any it holds an interaction of.
    pub fn media_served(&self, queue: Uuid) -> Vec<MediaType> {
        let Some(q) = self.queues.get(&queue) else {
            return Vec::new();
        };
        MediaType::ALL
            .into_iter()
            .filter(|media| {
                q.spec.handle_seconds.iter().any(|(m, _)| m == media)
                    || q.spec.arrivals_per_hour.iter().any(|(m, _)| m == media)
                    || q.interactions.iter().any(|i| i.media == *media)
            })
            .collect()
    }

    /// Genesys's estimated wait time in seconds for a new interaction of `media` (or any media),
    /// or None when no estimate is possible (nobody on queue and nothing waiting).
    ///
    /// With agents on queue: the work ahead (waiting interactions, plus the new one) times the
    /// mean handle time, shared among the agents who can take it, minus nothing for idle agents
    /// (an idle agent with nothing waiting answers at once: 0). With nobody on queue: the longest
    /// current wait, as Genesys's Architect documentation describes, so it rises until someone
    /// answers.
    pub fn estimated_wait_seconds(&self, queue: Uuid, media: Option<MediaType>) -> Option<u64> {
        let q = self.queues.get(&queue)?;
        let matches = |i: &Interaction| media.is_none_or(|m| i.media == m);
        let waiting: Vec<&Interaction> = q
            .interactions
            .iter()
            .filter(|i| i.state == InteractionState::Waiting && matches(i))
            .collect();
        let statuses = q
            .agents
            .iter()
            .filter_map(|id| self.agents.get(id))
            .map(|a| a.status);
        let on_queue = statuses.clone().filter(|s| s.is_on_queue()).count();
        let idle = statuses.filter(|s| *s == RoutingStatus::Idle).count();
        let longest = waiting
            .iter()
            .map(|i| (self.clock - i.queued_at).max(0.0))
            .fold(None, |acc: Option<f64>, w| {
                Some(acc.map_or(w, |a| a.max(w)))
            });
        if on_queue == 0 {
            return longest.map(|w| w.ceil() as u64);
        }
        if idle > waiting.len() {
            return Some(0);
        }
        let handle = media.map_or(DEFAULT_HANDLE_SECONDS, |m| handle_seconds(&q.spec, m));
        let ahead = (waiting.len() + 1 - idle) as f64;
        let estimate = ahead * handle / on_queue as f64;
        // With nobody idle, a newcomer waits at least as long as the oldest waiting interaction
        // already has: the estimate rises for as long as nobody frees up.
        let estimate = if idle == 0 {
            estimate.max(longest.unwrap_or(0.0))
        } else {
            estimate
        };
        Some(estimate.ceil() as u64)
    }

    /// Emits `QueueChanged` for every queue whose snapshot differs from the last one seen.
    pub(super) fn record_changes(&mut self) {
        for queue_id in self.queue_ids() {
            let Some(snapshot) = self.queue_snapshot(queue_id) else {
                continue;
            };
            let before = self.last_snapshots.get(&queue_id);
            if before == Some(&snapshot) {
                continue;
            }
            let media = snapshot
                .media
                .iter()
                .filter(|(media, counts)| before.and_then(|b| b.media.get(media)) != Some(*counts))
                .map(|(media, _)| *media)
                .collect();
            self.last_snapshots.insert(queue_id, snapshot);
            self.events
                .push(ModelEvent::QueueChanged { queue_id, media });
        }
    }
}
