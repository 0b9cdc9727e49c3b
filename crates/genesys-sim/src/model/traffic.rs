//! How a queue moves on its own: interactions arrive (a Poisson process per media type), wait
//! FIFO until an idle agent of their queue takes them, are handled for an exponentially
//! distributed time and end; agents now and then go on break and come back.
//!
//! Arrivals and breaks happen only when the simulator runs with traffic; dispatch and endings
//! always do, except in a queue a test is holding still (see the hold module). Conversations that
//! the API starts or ends reuse the enqueue, dispatch and finish steps here.

use rand::Rng;
use uuid::Uuid;

use super::{
    Interaction, InteractionState, MediaType, Model, ModelEvent, Origin, RoutingStatus, new_id,
};
use crate::config::QueueSpec;

/// Mean simulated seconds an agent stays on queue between breaks, and the mean break length.
const MEAN_SECONDS_BETWEEN_BREAKS: f64 = 1800.0;
const MEAN_BREAK_SECONDS: f64 = 300.0;
/// Handle time used for a media type the queue's spec does not mention.
pub(super) const DEFAULT_HANDLE_SECONDS: f64 = 300.0;

impl Model {
    /// Puts a new waiting interaction at the back of `queue`; None if the queue does not exist.
    pub(super) fn enqueue(
        &mut self,
        queue: Uuid,
        media: MediaType,
        origin: Origin,
    ) -> Option<Uuid> {
        let clock = self.clock;
        let q = self.queues.get_mut(&queue)?;
        let conversation_id = new_id(&mut self.rng);
        q.interactions.push_back(Interaction {
            conversation_id,
            media,
            origin,
            queued_at: clock,
            state: InteractionState::Waiting,
        });
        Some(conversation_id)
    }

    pub(super) fn arrivals(&mut self, dt: f64) {
        let mut new = Vec::new();
        for (id, q) in &self.queues {
            if q.frozen {
                continue;
            }
            for (media, per_hour) in &q.spec.arrivals_per_hour {
                // Poisson arrivals: over a short step the chance of one arrival is rate × dt.
                let chance = per_hour / 3600.0 * dt;
                if self.rng.random_bool(chance.clamp(0.0, 1.0)) {
                    new.push((*id, *media));
                }
            }
        }
        for (queue, media) in new {
            self.enqueue(queue, media, Origin::Traffic);
        }
    }

    pub(super) fn agent_breaks(&mut self, dt: f64) {
        let movable: Vec<Uuid> = self
            .queues
            .values()
            // Nobody comes back from a break while the business hours keep the queue closed.
            .filter(|q| !q.frozen && !q.closed_by_hours)
            .flat_map(|q| q.agents.iter().copied())
            .collect();
        for id in movable {
            let Some(agent) = self.agents.get_mut(&id) else {
                continue;
            };
            match agent.status {
                RoutingStatus::Idle
                    if self
                        .rng
                        .random_bool((dt / MEAN_SECONDS_BETWEEN_BREAKS).clamp(0.0, 1.0)) =>
                {
                    agent.status = RoutingStatus::OffQueue;
                }
                RoutingStatus::OffQueue
                    if self
                        .rng
                        .random_bool((dt / MEAN_BREAK_SECONDS).clamp(0.0, 1.0)) =>
                {
                    agent.status = RoutingStatus::Idle;
                }
                _ => {}
            }
        }
    }

    /// Gives waiting interactions, oldest first, to idle agents of their queue.
    pub(super) fn dispatch(&mut self) {
        let queue_ids: Vec<Uuid> = self.queues.keys().copied().collect();
        for queue_id in queue_ids {
            while let Some((index, agent_id)) = self.next_assignment(queue_id) {
                self.assign(queue_id, index, agent_id);
            }
        }
    }

    /// The oldest waiting interaction of a moving queue and an idle agent to take it, if both exist.
    fn next_assignment(&self, queue_id: Uuid) -> Option<(usize, Uuid)> {
        let q = self.queues.get(&queue_id).filter(|q| !q.frozen)?;
        let index = q
            .interactions
            .iter()
            .position(|i| i.state == InteractionState::Waiting)?;
        let agent_id = q.agents.iter().copied().find(|id| {
            self.agents
                .get(id)
                .is_some_and(|a| a.status == RoutingStatus::Idle)
        })?;
        Some((index, agent_id))
    }

    fn assign(&mut self, queue_id: Uuid, index: usize, agent_id: Uuid) {
        let Some(interaction) = self
            .queues
            .get(&queue_id)
            .and_then(|q| q.interactions.get(index))
        else {
            return;
        };
        let (media, conversation_id) = (interaction.media, interaction.conversation_id);
        // A guest's conversation lasts until the guest or the API ends it.
        let until = match interaction.origin {
            Origin::WebMessaging => None,
            _ => Some(self.clock + self.sample_handle_seconds(queue_id, media)),
        };
        let state = InteractionState::Interacting {
            agent: agent_id,
            since: self.clock,
            until,
        };
        if let Some(interaction) = self
            .queues
            .get_mut(&queue_id)
            .and_then(|q| q.interactions.get_mut(index))
        {
            interaction.state = state.clone();
        }
        let Some(agent) = self.agents.get_mut(&agent_id) else {
            return;
        };
        agent.status = RoutingStatus::Interacting;
        agent.conversation = Some(conversation_id);
        let agent_name = agent.name.clone();
        if let Some(callback) = self.callbacks.get_mut(&conversation_id) {
            callback.state = state;
            callback.agent = Some((agent_id, agent_name.clone()));
        }
        self.events.push(ModelEvent::Assigned {
            conversation_id,
            queue_id,
            media,
            agent_id,
            agent_name,
        });
    }

    fn sample_handle_seconds(&mut self, queue: Uuid, media: MediaType) -> f64 {
        let mean = self
            .queues
            .get(&queue)
            .map_or(DEFAULT_HANDLE_SECONDS, |q| handle_seconds(&q.spec, media));
        // Exponential distribution by inversion; `1 - u` keeps ln away from 0.
        let u: f64 = self.rng.random();
        -mean * (1.0 - u).ln()
    }

    pub(super) fn finish_due_interactions(&mut self) {
        let clock = self.clock;
        let due: Vec<(Uuid, Uuid)> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.frozen)
            .flat_map(|(queue_id, q)| {
                q.interactions.iter().filter_map(move |i| match i.state {
                    InteractionState::Interacting {
                        until: Some(until), ..
                    } if until <= clock => Some((*queue_id, i.conversation_id)),
                    _ => None,
                })
            })
            .collect();
        for (queue_id, conversation_id) in due {
            if let Some(index) = self.queues.get(&queue_id).and_then(|q| {
                q.interactions
                    .iter()
                    .position(|i| i.conversation_id == conversation_id)
            }) {
                self.finish(queue_id, index);
            }
        }
    }

    /// Takes the interaction at `index` out of its queue; its agent, if still on it, becomes idle.
    pub(super) fn finish(&mut self, queue_id: Uuid, index: usize) {
        let Some(interaction) = self
            .queues
            .get_mut(&queue_id)
            .and_then(|q| q.interactions.remove(index))
        else {
            return;
        };
        if let InteractionState::Interacting { agent, .. } = interaction.state
            && let Some(freed) = self.agents.get_mut(&agent)
            && freed.conversation == Some(interaction.conversation_id)
        {
            freed.conversation = None;
            freed.status = RoutingStatus::Idle;
            self.send_off_if_closed(queue_id, agent);
        }
        if let Some(callback) = self.callbacks.get_mut(&interaction.conversation_id) {
            callback.state = InteractionState::Ended;
        }
        self.events.push(ModelEvent::Ended {
            conversation_id: interaction.conversation_id,
            queue_id,
        });
    }
}

/// The mean handle time of `media` in a queue.
pub(super) fn handle_seconds(spec: &QueueSpec, media: MediaType) -> f64 {
    spec.handle_seconds
        .iter()
        .find(|(m, _)| *m == media)
        .map_or(DEFAULT_HANDLE_SECONDS, |(_, s)| *s)
}
