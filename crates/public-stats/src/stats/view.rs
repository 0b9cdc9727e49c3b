//! The seed's `observations` object, built from the counts the notification stream keeps;
//! [`Stamp`], the moment a piece of data was last known to be current; and [`Freshness`], how
//! `live` and `ewt` say whether their data is current.
//!
//! It decides the public shape and nothing else: which counts are read comes from
//! `genesys::QueueObservations`, and when data is stale is decided by `live` and `ewt`.

use std::time::{Duration, Instant};

use genesys::QueueObservations;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The media types of the seed's `observations` object, as analytics names (the same words).
pub const SEED_MEDIA_TYPES: [&str; 8] = [
    "voice",
    "screenshare",
    "chat",
    "callback",
    "cobrowse",
    "video",
    "message",
    "email",
];

/// `observations` exactly as the seed's service answered it (field order as in its README).
/// Read back too: in clustered mode it is what instances share through Redis.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservationsView {
    /// On-queue users whose routing status is IDLE: free to take an interaction now.
    pub available_agents: u64,
    /// On-queue users whose routing status is INTERACTING, COMMUNICATING or NOT_RESPONDING
    /// (`QueueObservations::busy_agents`): on queue but not free.
    pub busy_agents: u64,
    pub voice: MediaCounts,
    pub screenshare: MediaCounts,
    pub chat: MediaCounts,
    pub callback: MediaCounts,
    pub cobrowse: MediaCounts,
    pub video: MediaCounts,
    pub message: MediaCounts,
    pub email: MediaCounts,
}

/// Interactions of one media type: being handled, and waiting for an agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaCounts {
    pub interacting: u64,
    pub waiting: u64,
}

impl ObservationsView {
    pub fn of(observed: &QueueObservations) -> Self {
        let media = |name: &str| MediaCounts {
            interacting: observed.interacting(Some(name)),
            waiting: observed.waiting(Some(name)),
        };
        ObservationsView {
            available_agents: observed.available_agents(),
            busy_agents: observed.busy_agents(),
            voice: media("voice"),
            screenshare: media("screenshare"),
            chat: media("chat"),
            callback: media("callback"),
            cobrowse: media("cobrowse"),
            video: media("video"),
            message: media("message"),
            email: media("email"),
        }
    }
}

/// A moment, both as a monotonic instant (for ages) and as UTC (for `asOf` fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    at: Instant,
    utc: OffsetDateTime,
}

impl Stamp {
    pub fn now() -> Self {
        Stamp {
            at: Instant::now(),
            utc: OffsetDateTime::now_utc(),
        }
    }

    /// A moment `age` ago, known elsewhere as `utc` (another instance's clock): ages are then
    /// counted on this instance's monotonic clock.
    pub fn ago(age: Duration, utc: OffsetDateTime) -> Self {
        let now = Instant::now();
        Stamp {
            at: now.checked_sub(age).unwrap_or(now),
            utc,
        }
    }

    /// A moment known by its UTC time (another instance's), placed on this process's clock.
    pub fn from_utc(utc: OffsetDateTime) -> Self {
        let now = Stamp::now();
        let age = std::time::Duration::try_from(now.utc - utc).unwrap_or_default();
        Stamp {
            at: now.at.checked_sub(age).unwrap_or(now.at),
            utc,
        }
    }

    pub fn instant(&self) -> Instant {
        self.at
    }

    /// Whole seconds since then, as the `…AgeSeconds` fields carry it.
    pub fn age_seconds(&self) -> u64 {
        self.at.elapsed().as_secs()
    }

    pub fn utc(&self) -> OffsetDateTime {
        self.utc
    }
}

/// Whether a piece of data (the observations, an estimate) is current.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Fresh,
    /// Not current; `as_of` is when it last was (`None`: never).
    Stale {
        as_of: Option<Stamp>,
    },
}

impl Freshness {
    /// The frames' `stale` flag and `…AsOf` time (when the data was last current, in UTC).
    pub fn stale_as_of(self) -> (bool, Option<OffsetDateTime>) {
        match self {
            Freshness::Fresh => (false, None),
            Freshness::Stale { as_of } => (true, as_of.map(|stamp| stamp.utc())),
        }
    }
}

#[cfg(test)]
mod tests {
    use genesys::MetricUpdate;
    use uuid::Uuid;

    use super::*;

    fn count(metric: &str, qualifier: Option<&str>, media: Option<&str>, n: f64) -> MetricUpdate {
        MetricUpdate::from_count(metric, qualifier, media, n).unwrap()
    }

    #[test]
    fn agents_and_media_rows_map_to_the_seed_fields() {
        let mut observed = QueueObservations::new(Uuid::new_v4());
        for update in [
            count("oUserRoutingStatuses", Some("IDLE"), None, 2.0),
            count("oUserRoutingStatuses", Some("INTERACTING"), None, 1.0),
            count("oUserRoutingStatuses", Some("COMMUNICATING"), None, 1.0),
            count("oUserRoutingStatuses", Some("NOT_RESPONDING"), None, 1.0),
            count("oUserRoutingStatuses", Some("OFF_QUEUE"), None, 7.0),
            count("oWaiting", None, Some("voice"), 3.0),
            count("oInteracting", None, Some("chat"), 4.0),
            count("oWaiting", None, Some("cobrowse"), 5.0),
        ] {
            observed.apply(update);
        }
        let view = ObservationsView::of(&observed);
        assert_eq!((view.available_agents, view.busy_agents), (2, 3));
        assert_eq!(view.voice.waiting, 3);
        assert_eq!(view.chat.interacting, 4);
        assert_eq!(view.cobrowse.waiting, 5);
        assert_eq!(view.email, MediaCounts::default());
    }

    #[test]
    fn the_object_has_exactly_the_seed_keys() {
        let json = serde_json::to_value(ObservationsView::default()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = vec!["availableAgents", "busyAgents"];
        expected.extend(SEED_MEDIA_TYPES);
        assert_eq!(keys.len(), expected.len());
        for key in expected {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}
