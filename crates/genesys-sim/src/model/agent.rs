//! The people in the contact centre: an agent and the routing status Genesys reports for them.
//! Data only; when an agent changes status (breaks, taking work, becoming idle) is decided by the
//! traffic and hold modules.

use uuid::Uuid;

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

#[derive(Clone, Debug)]
pub struct Agent {
    pub id: Uuid,
    pub name: String,
    pub status: RoutingStatus,
    pub conversation: Option<Uuid>,
}
