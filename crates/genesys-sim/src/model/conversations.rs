//! Conversations the API starts and ends: callbacks (`POST /api/v2/conversations/callbacks` and
//! the record `GET …/callbacks/{id}` reads) and web messaging guests, plus looking up the agent
//! handling a conversation.
//!
//! Once queued, these wait and are taken like any other interaction (see the traffic module);
//! what differs is who creates them and, for a guest, that only the API ends them.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Agent, InteractionState, MediaType, Model, Origin, new_id};

#[derive(Clone, Debug)]
pub struct CallbackSpec {
    pub numbers: Vec<String>,
    pub user_name: Option<String>,
    pub scheduled_time: Option<OffsetDateTime>,
    /// The command's `data`: Genesys keeps it as the customer participant's attributes.
    pub attributes: BTreeMap<String, String>,
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

impl Model {
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
    /// (an [`super::ModelEvent::Assigned`] tells when one takes it).
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
}
