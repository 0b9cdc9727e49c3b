//! The Architect objects the simulator holds — schedules, schedule groups, emergency groups — as
//! Genesys's `Schedule`, `ScheduleGroup` and `EmergencyGroup` models show them, and how a posted
//! body becomes one (the checks Genesys is known or expected to make).
//!
//! It is not HTTP: `mod.rs` serves these; `demo.rs` makes the demo org's.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;

use crate::api::error::{ApiError, parse_uuid};
use crate::api::iso_millis;
use crate::api::routing::HOME_DIVISION;

/// Every object the org has, by kind.
#[derive(Default)]
pub struct Objects {
    pub schedules: BTreeMap<Uuid, Schedule>,
    pub groups: BTreeMap<Uuid, ScheduleGroup>,
    pub emergency_groups: BTreeMap<Uuid, EmergencyGroup>,
}

/// What every Architect object carries besides its own fields.
#[derive(Clone, Debug)]
pub struct Meta {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Starts at 1; every update adds one, and an update must name the version it replaces.
    pub version: u64,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub meta: Meta,
    pub start: PrimitiveDateTime,
    pub end: PrimitiveDateTime,
    pub rrule: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ScheduleGroup {
    pub meta: Meta,
    pub time_zone: Option<String>,
    pub open: Vec<Uuid>,
    pub closed: Vec<Uuid>,
    pub holiday: Vec<Uuid>,
}

#[derive(Clone, Debug)]
pub struct EmergencyGroup {
    pub meta: Meta,
    pub enabled: bool,
    /// `EmergencyCallFlow`s as given. The simulator has no flows or IVRs, so their ids are
    /// kept unchecked (Genesys presumably checks that they exist).
    pub call_flows: Vec<Value>,
}

/// One kind of Architect object: where it lives, how it reads from a body and shows as JSON.
pub trait Entity: Sized + Clone + Send + 'static {
    /// The collection path (`/api/v2/architect/schedules`).
    const PATH: &'static str;
    /// The path parameter's name, for error messages (`scheduleId`).
    const ID_PARAM: &'static str;
    /// What Genesys's messages call it.
    const LABEL: &'static str;
    /// Whether the listing takes `scheduleIds` (only schedule groups do).
    const FILTERS_BY_SCHEDULE: bool = false;
    type Body: DeserializeOwned;

    fn meta(&self) -> &Meta;
    fn map(objects: &Objects) -> &BTreeMap<Uuid, Self>;
    fn map_mut(objects: &mut Objects) -> &mut BTreeMap<Uuid, Self>;
    /// The object a body describes, or 400 naming what is wrong. `meta` is already built.
    fn from_body(body: Self::Body, meta: Meta, objects: &Objects) -> Result<Self, ApiError>;
    /// The model's fields besides the common ones.
    fn own_fields(&self, objects: &Objects) -> Value;
    /// What every body may carry: name, description and the version it replaces.
    fn header(body: &Self::Body) -> Header<'_>;
    fn uses_any_schedule(&self, _schedules: &[Uuid]) -> bool {
        true
    }

    /// The whole model, as Genesys answers it.
    fn to_json(&self, objects: &Objects) -> Value {
        let meta = self.meta();
        let mut fields = json!({
            "id": meta.id,
            "name": meta.name,
            "division": {"id": HOME_DIVISION, "name": "Home",
                         "selfUri": format!("/api/v2/authorization/divisions/{HOME_DIVISION}")},
            "version": meta.version,
            "dateCreated": iso_millis(meta.created),
            "dateModified": iso_millis(meta.modified),
            "state": "active",
            "selfUri": format!("{}/{}", Self::PATH, meta.id),
        });
        if let Some(description) = &meta.description {
            fields["description"] = json!(description);
        }
        if let (Value::Object(fields), Value::Object(own)) = (&mut fields, self.own_fields(objects))
        {
            fields.extend(own);
        }
        fields
    }
}

/// The fields every body shares.
pub struct Header<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub version: Option<u64>,
}

/// `{"id": …}` as a body names another object; `name` and `selfUri` are ignored.
#[derive(Debug, Deserialize)]
pub struct RefBody {
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleBody {
    name: Option<String>,
    description: Option<String>,
    version: Option<u64>,
    start: Option<String>,
    end: Option<String>,
    rrule: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleGroupBody {
    name: Option<String>,
    description: Option<String>,
    version: Option<u64>,
    time_zone: Option<String>,
    open_schedules: Option<Vec<RefBody>>,
    closed_schedules: Option<Vec<RefBody>>,
    holiday_schedules: Option<Vec<RefBody>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmergencyGroupBody {
    name: Option<String>,
    description: Option<String>,
    version: Option<u64>,
    enabled: Option<bool>,
    emergency_call_flows: Option<Vec<CallFlowBody>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFlowBody {
    emergency_flow: Option<RefBody>,
    ivrs: Option<Vec<RefBody>>,
}

/// Genesys's `LocalDateTime` as it answers it: `yyyy-MM-ddTHH:mm:ss.SSS`.
const LOCAL_OUT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]");
/// What it accepts: seconds and a fraction of up to nine digits optional (Genesys's own tools
/// send three or six).
const LOCAL_IN: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
);

pub fn format_local(at: PrimitiveDateTime) -> String {
    at.format(LOCAL_OUT)
        .unwrap_or_else(|_| at.date().to_string())
}

fn parse_local(field: &str, value: Option<String>) -> Result<PrimitiveDateTime, ApiError> {
    let value = value.ok_or_else(|| ApiError::bad_request(format!("{field} is required")))?;
    PrimitiveDateTime::parse(&value, LOCAL_IN).map_err(|_| {
        ApiError::bad_request(format!(
            "{field} '{value}' is not a date-time without a time zone (yyyy-MM-ddTHH:mm:ss.SSS)"
        ))
    })
}

/// The name every object must have.
pub fn required_name(name: Option<&str>) -> Result<String, ApiError> {
    match name.map(str::trim) {
        Some(name) if !name.is_empty() => Ok(name.to_owned()),
        _ => Err(ApiError::bad_request("name is required")),
    }
}

/// The rule parts RFC 5545 defines for RRULE.
const RRULE_PARTS: [&str; 14] = [
    "FREQ",
    "UNTIL",
    "COUNT",
    "INTERVAL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
];
const FREQUENCIES: [&str; 7] = [
    "SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY",
];

/// A shallow RRULE check: `KEY=VALUE` parts RFC 5545 knows, a `FREQ`, not both `UNTIL` and
/// `COUNT`. How deeply Genesys validates the rule is unconfirmed; an empty string means none
/// (Genesys's Terraform provider sends `""` for a schedule without recurrence).
fn checked_rrule(rrule: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(rule) = rrule.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let invalid = |why: &str| ApiError::bad_request(format!("Invalid rrule '{rule}': {why}"));
    let mut parts = BTreeMap::new();
    for part in rule.split(';') {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| invalid("expected KEY=VALUE parts"))?;
        if !RRULE_PARTS.contains(&key) || value.is_empty() {
            return Err(invalid(&format!("unknown or empty part {key}")));
        }
        parts.insert(key, value);
    }
    match parts.get("FREQ") {
        Some(freq) if FREQUENCIES.contains(freq) => {}
        _ => return Err(invalid("FREQ is missing or unknown")),
    }
    if parts.contains_key("UNTIL") && parts.contains_key("COUNT") {
        return Err(invalid("UNTIL and COUNT cannot both be set"));
    }
    Ok(Some(rule))
}

/// The ids a list of references names; each must be a UUID of a schedule the org has.
fn schedule_ids(
    field: &str,
    references: Option<Vec<RefBody>>,
    objects: &Objects,
) -> Result<Vec<Uuid>, ApiError> {
    references
        .unwrap_or_default()
        .into_iter()
        .map(|reference| {
            let id = reference.id.ok_or_else(|| {
                ApiError::bad_request(format!("{field}: every entry needs an id"))
            })?;
            let id = parse_uuid(field, &id)?;
            // A reference in a body is a bad request, not a missing resource: the URL names it not.
            if objects.schedules.contains_key(&id) {
                Ok(id)
            } else {
                Err(ApiError::bad_request(format!(
                    "{field}: schedule {id} does not exist"
                )))
            }
        })
        .collect()
}

fn reference(id: Uuid, objects: &Objects) -> Value {
    let name = objects.schedules.get(&id).map(|s| s.meta.name.clone());
    json!({"id": id, "name": name, "selfUri": format!("{}/{id}", Schedule::PATH)})
}

fn references(ids: &[Uuid], objects: &Objects) -> Vec<Value> {
    ids.iter().map(|id| reference(*id, objects)).collect()
}

impl Entity for Schedule {
    const PATH: &'static str = "/api/v2/architect/schedules";
    const ID_PARAM: &'static str = "scheduleId";
    const LABEL: &'static str = "Schedule";
    type Body = ScheduleBody;

    fn meta(&self) -> &Meta {
        &self.meta
    }
    fn map(objects: &Objects) -> &BTreeMap<Uuid, Self> {
        &objects.schedules
    }
    fn map_mut(objects: &mut Objects) -> &mut BTreeMap<Uuid, Self> {
        &mut objects.schedules
    }
    fn header(body: &ScheduleBody) -> Header<'_> {
        Header {
            name: body.name.as_deref(),
            description: body.description.as_deref(),
            version: body.version,
        }
    }

    fn from_body(body: ScheduleBody, meta: Meta, _: &Objects) -> Result<Self, ApiError> {
        let start = parse_local("start", body.start)?;
        let end = parse_local("end", body.end)?;
        // Unconfirmed that Genesys refuses it, but a schedule that ends before it starts
        // describes no time at all.
        if end <= start {
            return Err(ApiError::bad_request("end must be after start"));
        }
        Ok(Schedule {
            meta,
            start,
            end,
            rrule: checked_rrule(body.rrule)?,
        })
    }

    fn own_fields(&self, _: &Objects) -> Value {
        let mut fields = json!({"start": format_local(self.start), "end": format_local(self.end)});
        if let Some(rrule) = &self.rrule {
            fields["rrule"] = json!(rrule);
        }
        fields
    }
}

impl Entity for ScheduleGroup {
    const PATH: &'static str = "/api/v2/architect/schedulegroups";
    const ID_PARAM: &'static str = "scheduleGroupId";
    const LABEL: &'static str = "Schedule group";
    const FILTERS_BY_SCHEDULE: bool = true;
    type Body = ScheduleGroupBody;

    fn meta(&self) -> &Meta {
        &self.meta
    }
    fn map(objects: &Objects) -> &BTreeMap<Uuid, Self> {
        &objects.groups
    }
    fn map_mut(objects: &mut Objects) -> &mut BTreeMap<Uuid, Self> {
        &mut objects.groups
    }
    fn header(body: &ScheduleGroupBody) -> Header<'_> {
        Header {
            name: body.name.as_deref(),
            description: body.description.as_deref(),
            version: body.version,
        }
    }

    fn from_body(body: ScheduleGroupBody, meta: Meta, objects: &Objects) -> Result<Self, ApiError> {
        Ok(ScheduleGroup {
            meta,
            // Kept as given: whether Genesys checks the zone name is unconfirmed, and the
            // evaluation must cope with a zone it does not know anyway.
            time_zone: body.time_zone,
            open: schedule_ids("openSchedules", body.open_schedules, objects)?,
            closed: schedule_ids("closedSchedules", body.closed_schedules, objects)?,
            holiday: schedule_ids("holidaySchedules", body.holiday_schedules, objects)?,
        })
    }

    fn own_fields(&self, objects: &Objects) -> Value {
        let mut fields = json!({
            "openSchedules": references(&self.open, objects),
            "closedSchedules": references(&self.closed, objects),
            "holidaySchedules": references(&self.holiday, objects),
        });
        if let Some(zone) = &self.time_zone {
            fields["timeZone"] = json!(zone);
        }
        fields
    }

    fn uses_any_schedule(&self, schedules: &[Uuid]) -> bool {
        [&self.open, &self.closed, &self.holiday]
            .into_iter()
            .flatten()
            .any(|id| schedules.contains(id))
    }
}

impl Entity for EmergencyGroup {
    const PATH: &'static str = "/api/v2/architect/emergencygroups";
    const ID_PARAM: &'static str = "emergencyGroupId";
    const LABEL: &'static str = "Emergency group";
    type Body = EmergencyGroupBody;

    fn meta(&self) -> &Meta {
        &self.meta
    }
    fn map(objects: &Objects) -> &BTreeMap<Uuid, Self> {
        &objects.emergency_groups
    }
    fn map_mut(objects: &mut Objects) -> &mut BTreeMap<Uuid, Self> {
        &mut objects.emergency_groups
    }
    fn header(body: &EmergencyGroupBody) -> Header<'_> {
        Header {
            name: body.name.as_deref(),
            description: body.description.as_deref(),
            version: body.version,
        }
    }

    fn from_body(body: EmergencyGroupBody, meta: Meta, _: &Objects) -> Result<Self, ApiError> {
        let call_flows = body
            .emergency_call_flows
            .unwrap_or_default()
            .into_iter()
            .map(call_flow_json)
            .collect::<Result<_, _>>()?;
        Ok(EmergencyGroup {
            meta,
            enabled: body.enabled.unwrap_or(false),
            call_flows,
        })
    }

    fn own_fields(&self, _: &Objects) -> Value {
        json!({"enabled": self.enabled, "emergencyCallFlows": self.call_flows})
    }
}

fn call_flow_json(flow: CallFlowBody) -> Result<Value, ApiError> {
    let id = |reference: RefBody, field: &str| -> Result<Uuid, ApiError> {
        let id = reference
            .id
            .ok_or_else(|| ApiError::bad_request(format!("{field} needs an id")))?;
        parse_uuid(field, &id)
    };
    let mut json = json!({});
    if let Some(reference) = flow.emergency_flow {
        let flow_id = id(reference, "emergencyFlow")?;
        json["emergencyFlow"] =
            json!({"id": flow_id, "selfUri": format!("/api/v2/flows/{flow_id}")});
    }
    let ivrs = flow
        .ivrs
        .unwrap_or_default()
        .into_iter()
        .map(|reference| {
            let ivr = id(reference, "ivrs")?;
            Ok(json!({"id": ivr, "selfUri": format!("/api/v2/architect/ivrs/{ivr}")}))
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    json["ivrs"] = json!(ivrs);
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrules_are_checked_shallowly() {
        for good in [
            "FREQ=WEEKLY;BYDAY=MO,TU",
            "FREQ=DAILY;UNTIL=20261231T235959Z",
            " FREQ=YEARLY ",
        ] {
            assert!(
                checked_rrule(Some(good.into())).unwrap().is_some(),
                "{good}"
            );
        }
        assert_eq!(checked_rrule(Some(String::new())).unwrap(), None);
        for bad in [
            "BYDAY=MO",
            "FREQ=FORTNIGHTLY",
            "FREQ=DAILY;BYDAYS=MO",
            "FREQ=DAILY;COUNT=3;UNTIL=20261231T000000Z",
            "FREQ",
        ] {
            assert!(checked_rrule(Some(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_date_times_are_answered_in_genesys_form() {
        let at = PrimitiveDateTime::parse("2026-01-05T08:00", LOCAL_IN).unwrap();
        assert_eq!(format_local(at), "2026-01-05T08:00:00.000");
        assert!(parse_local("start", Some("2026-01-05T08:00:00Z".into())).is_err());
    }
}
