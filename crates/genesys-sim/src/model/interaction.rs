//! The work in the contact centre: an interaction (a call, a chat, a callback, …), where it came
//! from and how far it has got. Data only; how interactions move between states is in the
//! traffic, hold and conversations modules.

use uuid::Uuid;

use super::MediaType;

/// Where an interaction came from; decides who ends it.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Random arrivals, ended by the model after their handle time.
    Traffic,
    /// Created through `POST /api/v2/conversations/callbacks`.
    Callback,
    /// A web messaging guest; ended only through [`super::Model::end_conversation`].
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
    /// Handled by `agent` since `since` until `until` (simulated seconds), or until ended if
    /// `until` is None.
    Interacting {
        agent: Uuid,
        since: f64,
        until: Option<f64>,
    },
    Ended,
}
