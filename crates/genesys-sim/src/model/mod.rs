//! The simulated contact centre: queues with named agents, interactions that arrive, wait, are
//! handled and end, and the statistics Genesys would report about them.
//!
//! It is plain synchronous state advanced by [`Model::advance`] (the simulator's clock task calls
//! it every 100 ms of real time, scaled by `time_scale`). It knows nothing about HTTP or JSON: the
//! API modules turn its snapshots into Genesys's wire format. Every random choice comes from one
//! seeded generator, so a run is reproducible.
//!
//! What "moves as in a real queue" means here: interactions arrive per media type as a Poisson
//! process, wait FIFO until an idle on-queue agent takes them, are handled for an exponentially
//! distributed time, and the agent becomes idle again. Agents now and then go on break and come
//! back. The estimated wait time follows from the work ahead and the agents able to do it; with
//! nobody on queue it is the longest current wait, so it rises while nobody answers.
//!
//! This file holds the model itself and its clock. The rest is split by what it models: `agent`
//! and `interaction` (the people and the work), `events` (what the model reports), `traffic`
//! (how a queue moves on its own), `hold` (a queue held still for a test), `hours` (a queue
//! closed or opened by its business hours), `conversations`
//! (callbacks and web messaging guests, which the API starts) and `statistics` (what Genesys
//! would report).

mod agent;
mod conversations;
mod events;
mod hold;
mod hours;
mod interaction;
mod media;
mod statistics;
mod traffic;

pub use agent::{Agent, RoutingStatus};
pub use conversations::{CallbackCreated, CallbackRecord, CallbackSpec};
pub use events::ModelEvent;
pub use hold::QueueStateSpec;
pub use interaction::{Interaction, InteractionState, Origin};
pub use media::MediaType;
pub use statistics::{MediaCounts, QueueSnapshot};

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::{QueueSpec, SimConfig};

struct Queue {
    spec: QueueSpec,
    agents: Vec<Uuid>,
    /// Waiting and interacting interactions, in arrival order.
    interactions: VecDeque<Interaction>,
    /// Set by the control API: no arrivals, no dispatch, no status changes until resumed.
    frozen: bool,
    /// Closed by its business hours (see the hours module): its agents stay off queue.
    closed_by_hours: bool,
    /// The agents the hours sent off queue, who come back when the queue opens.
    sent_off_by_hours: Vec<Uuid>,
}

pub struct Model {
    clock: f64,
    /// The wall-clock moment the clock started from, so that simulated times have dates.
    started_at: OffsetDateTime,
    traffic: bool,
    time_scale: f64,
    rng: StdRng,
    queues: BTreeMap<Uuid, Queue>,
    agents: HashMap<Uuid, Agent>,
    callbacks: HashMap<Uuid, CallbackRecord>,
    last_snapshots: HashMap<Uuid, QueueSnapshot>,
    events: Vec<ModelEvent>,
}

impl Model {
    pub fn new(config: &SimConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut agents = HashMap::new();
        let mut queues = BTreeMap::new();
        for spec in &config.org.queues {
            let ids: Vec<Uuid> = spec
                .agents
                .iter()
                .enumerate()
                .map(|(index, name)| {
                    let id = new_id(&mut rng);
                    // Mostly idle at start, one on break, so the demo has something to show.
                    let status = if index == 1 {
                        RoutingStatus::OffQueue
                    } else {
                        RoutingStatus::Idle
                    };
                    agents.insert(
                        id,
                        Agent {
                            id,
                            name: name.clone(),
                            status,
                            conversation: None,
                        },
                    );
                    id
                })
                .collect();
            queues.insert(
                spec.id,
                Queue {
                    spec: spec.clone(),
                    agents: ids,
                    interactions: VecDeque::new(),
                    frozen: false,
                    closed_by_hours: false,
                    sent_off_by_hours: Vec::new(),
                },
            );
        }
        let mut model = Model {
            clock: 0.0,
            started_at: OffsetDateTime::now_utc(),
            traffic: config.traffic,
            time_scale: config.time_scale,
            rng,
            queues,
            agents,
            callbacks: HashMap::new(),
            last_snapshots: HashMap::new(),
            events: Vec::new(),
        };
        model.record_changes();
        model.events.clear();
        model
    }

    pub fn queue_ids(&self) -> Vec<Uuid> {
        self.queues.keys().copied().collect()
    }

    pub fn queue_name(&self, queue: Uuid) -> Option<&str> {
        self.queues.get(&queue).map(|q| q.spec.name.as_str())
    }

    pub fn queue_agents(&self, queue: Uuid) -> Vec<&Agent> {
        self.queues
            .get(&queue)
            .map(|q| {
                q.agents
                    .iter()
                    .filter_map(|id| self.agents.get(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waiting and interacting interactions of a queue, in arrival order.
    pub fn queue_interactions(&self, queue: Uuid) -> Vec<&Interaction> {
        self.queues
            .get(&queue)
            .map(|q| q.interactions.iter().collect())
            .unwrap_or_default()
    }

    /// The date of a simulated moment (seconds on the model's clock): the start plus that many
    /// seconds, so with a time scale above 1 the simulated dates run ahead of the real ones.
    pub fn date_of(&self, at: f64) -> OffsetDateTime {
        self.started_at + time::Duration::seconds_f64(at.max(0.0))
    }

    /// Events produced since the last call (the state publishes them after each change).
    pub fn take_events(&mut self) -> Vec<ModelEvent> {
        std::mem::take(&mut self.events)
    }

    /// Advances the clock by `real` time (scaled) and lets the contact centre move.
    pub fn advance(&mut self, real: Duration) {
        let dt = real.as_secs_f64() * self.time_scale;
        self.clock += dt;
        self.finish_due_interactions();
        if self.traffic {
            self.arrivals(dt);
            self.agent_breaks(dt);
        }
        self.dispatch();
        self.record_changes();
    }
}

/// Ids come from the model's seeded generator, so a seeded run is reproducible to the id.
fn new_id(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

#[cfg(test)]
mod tests;
