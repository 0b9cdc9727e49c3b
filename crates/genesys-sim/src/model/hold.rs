//! Holding a queue still for a test (control API `PUT /__sim/queues/{id}/state` and
//! `POST …/resume`): the queue is put into exactly the state asked for and then nothing arrives,
//! is dispatched, ends or goes on break there until it is resumed, so a test can assert on exact
//! numbers. Its clock still runs, so waits (and the estimated wait time) keep growing.
//!
//! Not for normal traffic: it replaces whatever was in the queue.

use std::collections::BTreeMap;
use std::iter::repeat_n;

use uuid::Uuid;

use super::{
    Agent, Interaction, InteractionState, MediaType, Model, ModelEvent, Origin, RoutingStatus,
    new_id,
};

/// A test's exact state for a queue (control API `PUT /__sim/queues/{id}/state`).
#[derive(Clone, Debug, Default)]
pub struct QueueStateSpec {
    pub idle: u32,
    pub busy: u32,
    pub off_queue: u32,
    pub waiting: BTreeMap<MediaType, u32>,
    pub interacting: BTreeMap<MediaType, u32>,
}

/// The most agents or interactions of one kind a test may ask a queue to hold.
const MAX_STATE_COUNT: u32 = 10_000;

impl QueueStateSpec {
    /// Caps every count, so a control request cannot exhaust memory or overflow a sum.
    fn clamped(self) -> Self {
        let cap = |map: BTreeMap<MediaType, u32>| {
            map.into_iter()
                .map(|(media, n)| (media, n.min(MAX_STATE_COUNT)))
                .collect()
        };
        QueueStateSpec {
            idle: self.idle.min(MAX_STATE_COUNT),
            busy: self.busy.min(MAX_STATE_COUNT),
            off_queue: self.off_queue.min(MAX_STATE_COUNT),
            waiting: cap(self.waiting),
            interacting: cap(self.interacting),
        }
    }

    fn agents(&self) -> usize {
        (self.idle + self.busy + self.off_queue) as usize
    }
}

impl Model {
    /// Puts a queue into exactly the state a test asks for and holds it there.
    pub fn set_queue_state(&mut self, queue: Uuid, spec: QueueStateSpec) -> bool {
        if !self.hold(queue) {
            return false;
        }
        let spec = spec.clamped();
        self.end_every_interaction(queue);
        self.staff(queue, spec.agents());
        self.set_agent_statuses(queue, &spec);
        self.add_interacting(queue, &spec.interacting);
        self.add_waiting(queue, &spec.waiting);
        self.record_changes();
        true
    }

    /// Lets a queue held by [`Model::set_queue_state`] move again.
    pub fn resume_queue(&mut self, queue: Uuid) -> bool {
        match self.queues.get_mut(&queue) {
            Some(q) => {
                q.frozen = false;
                true
            }
            None => false,
        }
    }

    /// Stops the queue moving; false if there is no such queue.
    fn hold(&mut self, queue: Uuid) -> bool {
        match self.queues.get_mut(&queue) {
            Some(q) => {
                q.frozen = true;
                true
            }
            None => false,
        }
    }

    /// Empties the queue. The interactions end and say so, so that a guest's chat or a callback
    /// caught in it does not wait forever for an agent.
    fn end_every_interaction(&mut self, queue: Uuid) {
        let Some(q) = self.queues.get_mut(&queue) else {
            return;
        };
        for interaction in q.interactions.drain(..) {
            if let InteractionState::Interacting { agent, .. } = interaction.state
                && let Some(agent) = self.agents.get_mut(&agent)
            {
                agent.conversation = None;
            }
            if let Some(callback) = self.callbacks.get_mut(&interaction.conversation_id) {
                callback.state = InteractionState::Ended;
            }
            self.events.push(ModelEvent::Ended {
                conversation_id: interaction.conversation_id,
                queue_id: queue,
            });
        }
    }

    /// Hires (`Agent N`) or lets go of the queue's last agents until it has `wanted`.
    fn staff(&mut self, queue: Uuid, wanted: usize) {
        let Some(q) = self.queues.get_mut(&queue) else {
            return;
        };
        while q.agents.len() < wanted {
            let id = new_id(&mut self.rng);
            let name = format!("Agent {}", q.agents.len() + 1);
            self.agents.insert(
                id,
                Agent {
                    id,
                    name,
                    status: RoutingStatus::Idle,
                    conversation: None,
                },
            );
            q.agents.push(id);
        }
        q.agents.truncate(wanted);
    }

    /// The first agents idle, the next busy, the rest off queue; none is tied to a conversation
    /// until [`Model::add_interacting`] gives the busy ones one.
    fn set_agent_statuses(&mut self, queue: Uuid, spec: &QueueStateSpec) {
        let Some(q) = self.queues.get(&queue) else {
            return;
        };
        let statuses = repeat_n(RoutingStatus::Idle, spec.idle as usize)
            .chain(repeat_n(RoutingStatus::Interacting, spec.busy as usize))
            .chain(repeat_n(RoutingStatus::OffQueue, spec.off_queue as usize));
        for (id, status) in q.agents.iter().zip(statuses) {
            if let Some(agent) = self.agents.get_mut(id) {
                agent.status = status;
                agent.conversation = None;
            }
        }
    }

    /// Interactions being handled, each given to the next busy agent while there is one.
    fn add_interacting(&mut self, queue: Uuid, interacting: &BTreeMap<MediaType, u32>) {
        let mut busy_agents = self.busy_agents(queue).into_iter();
        let clock = self.clock;
        let Some(q) = self.queues.get_mut(&queue) else {
            return;
        };
        for (media, n) in interacting {
            for _ in 0..*n {
                // More interacting interactions than busy agents is allowed (an agent may handle
                // several emails at once); they are then not tied to an agent.
                let agent = busy_agents.next();
                let conversation_id = new_id(&mut self.rng);
                if let Some(agent) = agent.and_then(|id| self.agents.get_mut(&id)) {
                    agent.conversation = Some(conversation_id);
                }
                q.interactions.push_back(Interaction {
                    conversation_id,
                    media: *media,
                    origin: Origin::Traffic,
                    queued_at: clock,
                    state: InteractionState::Interacting {
                        agent: agent.unwrap_or(Uuid::nil()),
                        since: clock,
                        until: None,
                    },
                });
            }
        }
    }

    /// Interactions waiting since now, after the ones being handled.
    fn add_waiting(&mut self, queue: Uuid, waiting: &BTreeMap<MediaType, u32>) {
        let clock = self.clock;
        let Some(q) = self.queues.get_mut(&queue) else {
            return;
        };
        for (media, n) in waiting {
            for _ in 0..*n {
                q.interactions.push_back(Interaction {
                    conversation_id: new_id(&mut self.rng),
                    media: *media,
                    origin: Origin::Traffic,
                    queued_at: clock,
                    state: InteractionState::Waiting,
                });
            }
        }
    }

    /// The queue's agents in routing status `Interacting`, in queue order.
    fn busy_agents(&self, queue: Uuid) -> Vec<Uuid> {
        let Some(q) = self.queues.get(&queue) else {
            return Vec::new();
        };
        q.agents
            .iter()
            .copied()
            .filter(|id| {
                self.agents
                    .get(id)
                    .is_some_and(|a| a.status == RoutingStatus::Interacting)
            })
            .collect()
    }
}
