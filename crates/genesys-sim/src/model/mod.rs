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

mod media;

pub use media::MediaType;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::config::{QueueSpec, SimConfig};

/// An agent's routing status, as Genesys names it in `oUserRoutingStatuses` qualifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoutingStatus {
    OffQueue,
    Idle,
    Interacting,
    NotResponding,
    Communicating,
}

impl RoutingStatus {
    pub const ALL: [RoutingStatus; 5] = [
        RoutingStatus::OffQueue,
        RoutingStatus::Idle,
        RoutingStatus::Interacting,
        RoutingStatus::NotResponding,
        RoutingStatus::Communicating,
    ];

    /// The qualifier Genesys uses (`OFF_QUEUE`, `IDLE`, …).
    pub fn qualifier(self) -> &'static str {
        match self {
            RoutingStatus::OffQueue => "OFF_QUEUE",
            RoutingStatus::Idle => "IDLE",
            RoutingStatus::Interacting => "INTERACTING",
            RoutingStatus::NotResponding => "NOT_RESPONDING",
            RoutingStatus::Communicating => "COMMUNICATING",
        }
    }

    /// The system presence an agent in this status shows (`oUserPresences` qualifier).
    pub fn presence(self) -> &'static str {
        match self {
            RoutingStatus::OffQueue => "BREAK",
            _ => "ON_QUEUE",
        }
    }

    pub fn is_on_queue(self) -> bool {
        self != RoutingStatus::OffQueue
    }
}

/// Something the API layer may want to push to clients.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelEvent {
    /// A queue's observable numbers (counts, statuses) changed.
    QueueChanged(Uuid),
    /// An agent took an interaction (traffic, callback or web message).
    Assigned {
        conversation_id: Uuid,
        queue_id: Uuid,
        media: MediaType,
        agent_id: Uuid,
        agent_name: String,
    },
    /// An interaction ended (handled to completion, or ended by the API).
    Ended {
        conversation_id: Uuid,
        queue_id: Uuid,
    },
}

/// Where an interaction came from; decides who ends it.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Random arrivals, ended by the model after their handle time.
    Traffic,
    /// Created through `POST /api/v2/conversations/callbacks`.
    Callback,
    /// A web messaging guest; ended only through [`Model::end_conversation`].
    WebMessaging,
}

#[derive(Clone, Debug)]
pub struct Interaction {
    pub conversation_id: Uuid,
    pub media: MediaType,
    pub origin: Origin,
    /// Simulated seconds since the model started, when it entered the queue.
    pub queued_at: f64,
    pub state: InteractionState,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InteractionState {
    Waiting,
    /// Handled by `agent` until `until` (simulated seconds), or until ended if `until` is None.
    Interacting {
        agent: Uuid,
        until: Option<f64>,
    },
    Ended,
}

#[derive(Clone, Debug)]
pub struct Agent {
    pub id: Uuid,
    pub name: String,
    pub status: RoutingStatus,
    pub conversation: Option<Uuid>,
}

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

/// A test's exact state for a queue (control API `PUT /__sim/queues/{id}/state`).
#[derive(Clone, Debug, Default)]
pub struct QueueStateSpec {
    pub idle: u32,
    pub busy: u32,
    pub off_queue: u32,
    pub waiting: BTreeMap<MediaType, u32>,
    pub interacting: BTreeMap<MediaType, u32>,
}

#[derive(Clone, Debug)]
pub struct CallbackSpec {
    pub numbers: Vec<String>,
    pub user_name: Option<String>,
    pub scheduled_time: Option<String>,
}

#[derive(Clone, Debug)]
pub struct CallbackCreated {
    pub conversation_id: Uuid,
    pub acd_id: Uuid,
    pub external_id: Uuid,
}

/// A callback as `GET /api/v2/conversations/callbacks/{id}` describes it.
#[derive(Clone, Debug)]
pub struct CallbackRecord {
    pub conversation_id: Uuid,
    pub queue_id: Uuid,
    pub spec: CallbackSpec,
    pub customer_participant: Uuid,
    pub acd_participant: Uuid,
    pub state: InteractionState,
    /// The agent who took it, once one has.
    pub agent: Option<(Uuid, String)>,
}

struct Queue {
    spec: QueueSpec,
    agents: Vec<Uuid>,
    /// Waiting and interacting interactions, in arrival order.
    interactions: VecDeque<Interaction>,
    /// Set by the control API: no arrivals, no dispatch, no status changes until resumed.
    frozen: bool,
}

pub struct Model {
    clock: f64,
    traffic: bool,
    time_scale: f64,
    rng: StdRng,
    queues: BTreeMap<Uuid, Queue>,
    agents: HashMap<Uuid, Agent>,
    callbacks: HashMap<Uuid, CallbackRecord>,
    last_snapshots: HashMap<Uuid, QueueSnapshot>,
    events: Vec<ModelEvent>,
}

/// Mean simulated seconds an agent stays on queue between breaks, and the mean break length.
const MEAN_SECONDS_BETWEEN_BREAKS: f64 = 1800.0;
const MEAN_BREAK_SECONDS: f64 = 300.0;
/// Handle time used for a media type the queue's spec does not mention.
const DEFAULT_HANDLE_SECONDS: f64 = 300.0;

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
                },
            );
        }
        let mut model = Model {
            clock: 0.0,
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

    /// Puts a queue into exactly the state a test asks for and holds it there.
    pub fn set_queue_state(&mut self, queue: Uuid, spec: QueueStateSpec) -> bool {
        let Some(q) = self.queues.get_mut(&queue) else {
            return false;
        };
        q.frozen = true;
        // The test's state replaces whatever was in the queue; those interactions end, and say
        // so, so that a guest's chat or a callback caught in it does not wait forever.
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
        let spec = spec.clamped();
        let wanted = (spec.idle + spec.busy + spec.off_queue) as usize;
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
        let statuses = std::iter::repeat_n(RoutingStatus::Idle, spec.idle as usize)
            .chain(std::iter::repeat_n(
                RoutingStatus::Interacting,
                spec.busy as usize,
            ))
            .chain(std::iter::repeat_n(
                RoutingStatus::OffQueue,
                spec.off_queue as usize,
            ));
        for (id, status) in q.agents.iter().zip(statuses) {
            if let Some(agent) = self.agents.get_mut(id) {
                agent.status = status;
                agent.conversation = None;
            }
        }
        let clock = self.clock;
        let mut busy_agents = q
            .agents
            .iter()
            .copied()
            .filter(|id| {
                self.agents
                    .get(id)
                    .is_some_and(|a| a.status == RoutingStatus::Interacting)
            })
            .collect::<Vec<_>>()
            .into_iter();
        for (media, n) in &spec.interacting {
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
                        until: None,
                    },
                });
            }
        }
        for (media, n) in &spec.waiting {
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

    /// Creates a callback: a waiting callback interaction in `queue`.
    pub fn create_callback(&mut self, queue: Uuid, spec: CallbackSpec) -> Option<CallbackCreated> {
        let conversation_id = self.enqueue(queue, MediaType::Callback, Origin::Callback)?;
        let created = CallbackCreated {
            conversation_id,
            acd_id: new_id(&mut self.rng),
            external_id: new_id(&mut self.rng),
        };
        self.callbacks.insert(
            conversation_id,
            CallbackRecord {
                conversation_id,
                queue_id: queue,
                spec,
                customer_participant: created.external_id,
                acd_participant: created.acd_id,
                state: InteractionState::Waiting,
                agent: None,
            },
        );
        self.dispatch();
        self.record_changes();
        Some(created)
    }

    pub fn callback(&self, conversation_id: Uuid) -> Option<&CallbackRecord> {
        self.callbacks.get(&conversation_id)
    }

    /// A web messaging guest starts a conversation: it waits in `queue` for an idle agent
    /// (an [`ModelEvent::Assigned`] tells when one takes it).
    pub fn start_message_conversation(&mut self, queue: Uuid) -> Option<Uuid> {
        let id = self.enqueue(queue, MediaType::Message, Origin::WebMessaging)?;
        self.dispatch();
        self.record_changes();
        Some(id)
    }

    /// Ends a conversation wherever it is (waiting or being handled); its agent becomes idle.
    pub fn end_conversation(&mut self, conversation_id: Uuid) -> bool {
        let Some((queue_id, index)) = self.queues.iter().find_map(|(id, q)| {
            q.interactions
                .iter()
                .position(|i| i.conversation_id == conversation_id)
                .map(|index| (*id, index))
        }) else {
            return false;
        };
        self.finish(queue_id, index);
        self.dispatch();
        self.record_changes();
        true
    }

    /// The agent handling a conversation, if any.
    pub fn agent_of(&self, conversation_id: Uuid) -> Option<&Agent> {
        self.agents
            .values()
            .find(|a| a.conversation == Some(conversation_id))
    }

    fn enqueue(&mut self, queue: Uuid, media: MediaType, origin: Origin) -> Option<Uuid> {
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

    fn arrivals(&mut self, dt: f64) {
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

    fn agent_breaks(&mut self, dt: f64) {
        let movable: Vec<Uuid> = self
            .queues
            .values()
            .filter(|q| !q.frozen)
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
    fn dispatch(&mut self) {
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

    fn finish_due_interactions(&mut self) {
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

    fn finish(&mut self, queue_id: Uuid, index: usize) {
        let Some(interaction) = self
            .queues
            .get_mut(&queue_id)
            .and_then(|q| q.interactions.remove(index))
        else {
            return;
        };
        if let InteractionState::Interacting { agent, .. } = interaction.state
            && let Some(agent) = self.agents.get_mut(&agent)
            && agent.conversation == Some(interaction.conversation_id)
        {
            agent.conversation = None;
            agent.status = RoutingStatus::Idle;
        }
        if let Some(callback) = self.callbacks.get_mut(&interaction.conversation_id) {
            callback.state = InteractionState::Ended;
        }
        self.events.push(ModelEvent::Ended {
            conversation_id: interaction.conversation_id,
            queue_id,
        });
    }

    /// Emits `QueueChanged` for every queue whose snapshot differs from the last one seen.
    fn record_changes(&mut self) {
        for queue_id in self.queue_ids() {
            let Some(snapshot) = self.queue_snapshot(queue_id) else {
                continue;
            };
            if self.last_snapshots.get(&queue_id) != Some(&snapshot) {
                self.last_snapshots.insert(queue_id, snapshot);
                self.events.push(ModelEvent::QueueChanged(queue_id));
            }
        }
    }
}

/// Ids come from the model's seeded generator, so a seeded run is reproducible to the id.
fn new_id(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
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
}

fn handle_seconds(spec: &QueueSpec, media: MediaType) -> f64 {
    spec.handle_seconds
        .iter()
        .find(|(m, _)| *m == media)
        .map_or(DEFAULT_HANDLE_SECONDS, |(_, s)| *s)
}

#[cfg(test)]
mod tests;
