//! What the model tells the rest of the simulator about changes: the events it queues up for
//! [`super::Model::take_events`]. It does not deliver them; the simulator's state publishes them
//! to the API modules that push to clients.

use uuid::Uuid;

use super::MediaType;

/// Something the API layer may want to push to clients.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelEvent {
    /// A queue's observable numbers (counts, statuses) changed. `media` names every media type
    /// whose counts differ from the state just before, so that a feed reports a drop to zero even
    /// when the number it had was never in an event (a client may have read it in a snapshot).
    QueueChanged {
        queue_id: Uuid,
        media: Vec<MediaType>,
    },
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
