//! Architect: the schedule groups, schedules and emergency groups that say when a contact centre
//! is open. Genesys has no endpoint that evaluates them, so the client only reads them, by id
//! and as listings; deciding "open now?" is the service's job.
//!
//! It is not Architect administration: nothing here creates or changes anything, and flows and
//! IVRs (which tie a schedule group to a number) are not read.
//!
//! Shapes follow Genesys's `ScheduleGroup`, `Schedule` and `EmergencyGroup` models (official
//! SDKs); only the fields the service needs are typed, unknown ones are ignored.

use std::collections::HashMap;
use std::fmt;

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Deserializer};
use time::PrimitiveDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use uuid::Uuid;

use crate::GenesysClient;
use crate::budget::Priority;
use crate::error::Error;
use crate::http::{Request, Route};
use crate::paging::{DEFAULT_PAGE_SIZE, MAX_PAGES, Page};

const SCHEDULE_GROUPS: &str = "/api/v2/architect/schedulegroups";
const SCHEDULE_GROUP: &str = "/api/v2/architect/schedulegroups/{scheduleGroupId}";
const SCHEDULES: &str = "/api/v2/architect/schedules";
const SCHEDULE: &str = "/api/v2/architect/schedules/{scheduleId}";
const EMERGENCY_GROUPS: &str = "/api/v2/architect/emergencygroups";
const EMERGENCY_GROUP: &str = "/api/v2/architect/emergencygroups/{emergencyGroupId}";

/// `DomainEntityRef`: how a schedule group names its schedules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRef {
    pub id: Uuid,
    pub name: Option<String>,
    pub self_uri: Option<String>,
}

/// `ScheduleGroup`: a time zone and the schedules that make the group open, closed or on
/// holiday in it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleGroup {
    pub id: Uuid,
    pub name: String,
    /// An IANA zone name (`Europe/London`). Optional in the model; a group without one cannot
    /// be evaluated.
    pub time_zone: Option<String>,
    #[serde(default)]
    pub open_schedules: Vec<EntityRef>,
    #[serde(default)]
    pub closed_schedules: Vec<EntityRef>,
    #[serde(default)]
    pub holiday_schedules: Vec<EntityRef>,
    /// `active`, `inactive` or `deleted`.
    pub state: Option<String>,
    pub version: Option<i64>,
}

/// `Schedule`: one period, repeated by `rrule` when it has one. `start` and `end` are wall-clock
/// times without a zone (the group's zone applies): the first occurrence's start and end, so
/// every occurrence lasts as long as the first.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub id: Uuid,
    pub name: String,
    #[serde(deserialize_with = "local_date_time")]
    pub start: PrimitiveDateTime,
    #[serde(deserialize_with = "local_date_time")]
    pub end: PrimitiveDateTime,
    /// An iCalendar RRULE value (`FREQ=WEEKLY;BYDAY=MO,TU`), without `RRULE:` and without
    /// `DTSTART` (that is `start`).
    pub rrule: Option<String>,
    pub state: Option<String>,
    pub version: Option<i64>,
}

/// `EmergencyGroup`: when `enabled`, the emergency flows run instead of the normal ones, whatever
/// the schedules say.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyGroup {
    pub id: Uuid,
    pub name: String,
    /// Optional in the model; absent is read as "no emergency".
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub emergency_call_flows: Vec<EmergencyCallFlow>,
    pub state: Option<String>,
    pub version: Option<i64>,
}

/// `EmergencyCallFlow`: the flow that runs during the emergency, and for which IVRs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyCallFlow {
    pub emergency_flow: Option<EntityRef>,
    #[serde(default)]
    pub ivrs: Vec<EntityRef>,
}

/// A schedule group with every schedule it names, read one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleGroupWithSchedules {
    pub group: ScheduleGroup,
    pub open: Vec<Schedule>,
    pub closed: Vec<Schedule>,
    pub holiday: Vec<Schedule>,
}

/// Which kind of Architect object was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchitectKind {
    ScheduleGroup,
    Schedule,
    EmergencyGroup,
}

impl fmt::Display for ArchitectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArchitectKind::ScheduleGroup => "schedule group",
            ArchitectKind::Schedule => "schedule",
            ArchitectKind::EmergencyGroup => "emergency group",
        })
    }
}

/// Reading one Architect object by id.
#[derive(Debug, thiserror::Error)]
pub enum ArchitectError {
    /// Genesys answered 404: the id is wrong, or the object was deleted. (Whether Genesys also
    /// answers 404 for an object in a division the client may not see is unconfirmed.)
    #[error("the {kind} {id} was not found")]
    NotFound { kind: ArchitectKind, id: Uuid },
    #[error(transparent)]
    Genesys(#[from] Error),
}

impl crate::budget::WaitsForBudget for ArchitectError {
    fn waits_for_budget(&self) -> bool {
        matches!(self, ArchitectError::Genesys(error) if error.waits_for_budget())
    }
}

/// Genesys's `LocalDateTime`: `yyyy-MM-ddTHH:mm:ss.SSS`. Seconds and fractions are optional
/// here, and fractions may have up to nine digits (other tools send six).
const LOCAL_DATE_TIME: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
);

/// Parses Genesys's zone-less date-time form (`2026-01-05T08:00:00.000`).
pub fn parse_local_date_time(text: &str) -> Option<PrimitiveDateTime> {
    PrimitiveDateTime::parse(text, LOCAL_DATE_TIME).ok()
}

fn local_date_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<PrimitiveDateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_local_date_time(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{text:?} is not a local date-time (yyyy-MM-ddTHH:mm:ss.SSS)"
        ))
    })
}

impl GenesysClient {
    /// `GET /api/v2/architect/schedulegroups/{scheduleGroupId}`.
    pub async fn schedule_group(&self, id: Uuid) -> Result<ScheduleGroup, ArchitectError> {
        self.architect_object(ArchitectKind::ScheduleGroup, id)
            .await
    }

    /// `GET /api/v2/architect/schedules/{scheduleId}`.
    pub async fn schedule(&self, id: Uuid) -> Result<Schedule, ArchitectError> {
        self.architect_object(ArchitectKind::Schedule, id).await
    }

    /// `GET /api/v2/architect/emergencygroups/{emergencyGroupId}`.
    pub async fn emergency_group(&self, id: Uuid) -> Result<EmergencyGroup, ArchitectError> {
        self.architect_object(ArchitectKind::EmergencyGroup, id)
            .await
    }

    /// The group and every schedule it names, each schedule read once even if it is named
    /// twice. A named schedule that does not exist is [`ArchitectError::NotFound`] for it.
    pub async fn schedule_group_with_schedules(
        &self,
        id: Uuid,
    ) -> Result<ScheduleGroupWithSchedules, ArchitectError> {
        let group = self.schedule_group(id).await?;
        let mut read: HashMap<Uuid, Schedule> = HashMap::new();
        let mut lists: [Vec<Schedule>; 3] = Default::default();
        let references = [
            &group.open_schedules,
            &group.closed_schedules,
            &group.holiday_schedules,
        ];
        for (list, references) in lists.iter_mut().zip(references) {
            for reference in references {
                let schedule = match read.get(&reference.id) {
                    Some(schedule) => schedule.clone(),
                    None => {
                        let schedule = self.schedule(reference.id).await?;
                        read.insert(reference.id, schedule.clone());
                        schedule
                    }
                };
                list.push(schedule);
            }
        }
        let [open, closed, holiday] = lists;
        Ok(ScheduleGroupWithSchedules {
            group,
            open,
            closed,
            holiday,
        })
    }

    /// `GET /api/v2/architect/schedulegroups`, every page.
    pub async fn list_schedule_groups(&self) -> Result<Vec<ScheduleGroup>, Error> {
        self.architect_listing(ArchitectKind::ScheduleGroup).await
    }

    /// `GET /api/v2/architect/schedules`, every page.
    pub async fn list_schedules(&self) -> Result<Vec<Schedule>, Error> {
        self.architect_listing(ArchitectKind::Schedule).await
    }

    /// `GET /api/v2/architect/emergencygroups`, every page.
    pub async fn list_emergency_groups(&self) -> Result<Vec<EmergencyGroup>, Error> {
        self.architect_listing(ArchitectKind::EmergencyGroup).await
    }

    /// Reads business hours at low priority: they change rarely, so a skipped refresh costs
    /// nothing and must never take a token from callbacks or the live statistics.
    async fn architect_object<T: serde::de::DeserializeOwned>(
        &self,
        kind: ArchitectKind,
        id: Uuid,
    ) -> Result<T, ArchitectError> {
        let (collection, template, what) = paths(kind);
        let id_text = id.to_string();
        let url = self.api_url(&["api", "v2", "architect", collection, &id_text])?;
        let route = Route::idempotent(Method::GET, template);
        match self.send(Request::new(route, url, Priority::Low)).await {
            Ok(reply) => Ok(reply.json(what)?),
            Err(Error::Api {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Err(ArchitectError::NotFound { kind, id }),
            Err(error) => Err(error.into()),
        }
    }

    async fn architect_listing<T: serde::de::DeserializeOwned>(
        &self,
        kind: ArchitectKind,
    ) -> Result<Vec<T>, Error> {
        let (collection, _, _) = paths(kind);
        let template = match kind {
            ArchitectKind::ScheduleGroup => SCHEDULE_GROUPS,
            ArchitectKind::Schedule => SCHEDULES,
            ArchitectKind::EmergencyGroup => EMERGENCY_GROUPS,
        };
        let mut all = Vec::new();
        for page_number in 1..=MAX_PAGES {
            let mut url = self.api_url(&["api", "v2", "architect", collection])?;
            url.query_pairs_mut()
                .append_pair("pageSize", &DEFAULT_PAGE_SIZE.to_string())
                .append_pair("pageNumber", &page_number.to_string());
            let route = Route::idempotent(Method::GET, template);
            let reply = self.send(Request::new(route, url, Priority::Low)).await?;
            let page: Page<T> = reply.json("Architect listing")?;
            let collected = all.len() + page.entities.len();
            let last = page.is_last(page_number, collected, DEFAULT_PAGE_SIZE);
            all.extend(page.entities);
            if last {
                break;
            }
        }
        Ok(all)
    }
}

/// The path segment, the by-id template and what a decode error calls the object.
fn paths(kind: ArchitectKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        ArchitectKind::ScheduleGroup => ("schedulegroups", SCHEDULE_GROUP, "schedule group"),
        ArchitectKind::Schedule => ("schedules", SCHEDULE, "schedule"),
        ArchitectKind::EmergencyGroup => ("emergencygroups", EMERGENCY_GROUP, "emergency group"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn local_date_times_take_genesys_form_and_shorter_ones() {
        for (text, expected) in [
            ("2026-01-05T08:00:00.000", datetime!(2026-01-05 08:00)),
            ("2026-01-05T08:00:30", datetime!(2026-01-05 08:00:30)),
            ("2026-01-05T08:00", datetime!(2026-01-05 08:00)),
            ("2021-08-04T17:00:00.000000", datetime!(2021-08-04 17:00)),
        ] {
            assert_eq!(parse_local_date_time(text), Some(expected), "{text}");
        }
        for bad in [
            "2026-01-05",
            "2026-01-05T08:00:00Z",
            "08:00",
            "2026-13-01T00:00",
        ] {
            assert_eq!(parse_local_date_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_schedule_group_reads_the_models_fields_and_ignores_others() {
        let group: ScheduleGroup = serde_json::from_str(
            r#"{"id":"6c0e2a52-5d1e-4f0e-9a43-3f3f1a3b2c01","name":"Support hours",
                "division":{"id":"9f0c7e21-5d4b-4a3c-8b2a-1e0d9c8b7a60","name":"Home"},
                "version":3,"state":"active","timeZone":"Europe/London",
                "openSchedules":[{"id":"7d1f3b63-6e2f-4a1f-8b54-4a4a2b4c3d02","name":"Weekdays",
                                  "selfUri":"/api/v2/architect/schedules/7d1f3b63-6e2f-4a1f-8b54-4a4a2b4c3d02"}],
                "closedSchedules":[],"selfUri":"/api/v2/architect/schedulegroups/x"}"#,
        )
        .unwrap();
        assert_eq!(group.time_zone.as_deref(), Some("Europe/London"));
        assert_eq!(group.open_schedules.len(), 1);
        assert!(group.holiday_schedules.is_empty(), "absent lists are empty");
        assert_eq!(group.version, Some(3));
    }

    #[test]
    fn a_schedule_without_a_local_start_is_a_decode_error() {
        let json = r#"{"id":"7d1f3b63-6e2f-4a1f-8b54-4a4a2b4c3d02","name":"x",
                       "start":"2026-01-05T08:00:00Z","end":"2026-01-05T17:00:00.000"}"#;
        assert!(serde_json::from_str::<Schedule>(json).is_err());
    }

    #[test]
    fn an_emergency_group_without_enabled_is_off() {
        let group: EmergencyGroup =
            serde_json::from_str(r#"{"id":"7d1f3b63-6e2f-4a1f-8b54-4a4a2b4c3d02","name":"Storm"}"#)
                .unwrap();
        assert!(!group.enabled);
    }
}
