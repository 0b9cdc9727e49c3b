//! Business hours: whether the contact centre is open at an instant, why, when that changes, and
//! its open periods over the next week — computed from a Genesys Architect schedule group, since
//! Genesys has no endpoint that evaluates one.
//!
//! The rules are Architect's "Evaluate Schedule Group": an enabled emergency group closes
//! everything; otherwise a holiday schedule that covers the instant closes, then a closed
//! schedule, then an open schedule opens; an instant no schedule covers is closed. Schedules are
//! wall-clock times in the group's IANA time zone, repeated by iCalendar rules (`occurrences`).
//!
//! It is pure: it never reads the clock (the caller passes `now`) and makes no calls; fetching
//! the group is the `genesys` crate's job. [`keeper`] is the service's side: it reads the
//! configured groups, keeps them fresh and says when a queue opens or closes.

pub mod keeper;
mod occurrences;
#[cfg(test)]
mod tests;

use std::str::FromStr;

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde::Serializer;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use occurrences::{Span, occurrences};

/// One schedule: the first occurrence's wall-clock start and end, and the rule repeating it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    /// Names the schedule in errors (its Genesys name, or id).
    pub name: String,
    pub start: PrimitiveDateTime,
    pub end: PrimitiveDateTime,
    /// An iCalendar RRULE value (`FREQ=WEEKLY;BYDAY=MO`); `None` or empty: it happens once.
    pub rrule: Option<String>,
}

/// What the evaluation needs of a schedule group and its emergency group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// An IANA zone name (`Europe/London`).
    pub time_zone: String,
    pub open: Vec<ScheduleSpec>,
    pub closed: Vec<ScheduleSpec>,
    pub holiday: Vec<ScheduleSpec>,
    /// Whether the emergency group is enabled.
    pub emergency: bool,
}

/// How far ahead the evaluation looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// The span of `openIntervals`.
    pub intervals: Duration,
    /// How far to look for `nextChange`: longer than a week, so that a closure of a week or two
    /// (a holiday season) still tells when it ends.
    pub next_change: Duration,
}

impl Default for Horizon {
    fn default() -> Self {
        Horizon {
            intervals: Duration::days(7),
            next_change: Duration::days(31),
        }
    }
}

/// Why the contact centre is open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = HoursReason)]
pub enum Reason {
    Open,
    /// A closed schedule covers the instant, or no schedule does.
    Closed,
    Holiday,
    Emergency,
}

/// `[start, end)`, both with the zone's offset at that instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = HoursInterval)]
pub struct Interval {
    /// RFC 3339 with the zone's offset.
    #[serde(serialize_with = "with_offset")]
    #[schema(value_type = String, format = DateTime)]
    pub start: OffsetDateTime,
    #[serde(serialize_with = "with_offset")]
    #[schema(value_type = String, format = DateTime)]
    pub end: OffsetDateTime,
}

/// The evaluation at one instant. Serialises as `{"open","reason","nextChange","timeZone",
/// "openIntervals":[{"start","end"}]}`, times in RFC 3339 with the zone's offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HoursStatus {
    pub open: bool,
    pub reason: Reason,
    /// The next instant `open` flips, within [`Horizon::next_change`]. `None` during an
    /// emergency too: nothing scheduled ends it.
    #[serde(serialize_with = "maybe_with_offset")]
    pub next_change: Option<OffsetDateTime>,
    pub time_zone: String,
    /// The open periods between now and [`Horizon::intervals`] from now, cut at both ends,
    /// touching periods merged. They follow the schedules alone: an emergency does not remove
    /// them (it has no scheduled end), `open` and `reason` say that it applies now.
    pub open_intervals: Vec<Interval>,
}

/// Why business hours could not be evaluated. Names schedules and zones, which are the org's
/// configuration, never a visitor's input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("the schedule group has no time zone")]
    NoTimeZone,
    #[error("unknown time zone {0:?} (expected an IANA name such as Europe/London)")]
    UnknownTimeZone(String),
    #[error("schedule {schedule:?} does not end after it starts")]
    EmptySchedule { schedule: String },
    #[error("schedule {schedule:?} has a recurrence rule that cannot be used: {reason}")]
    InvalidRecurrence { schedule: String, reason: String },
    #[error("schedule {schedule:?} repeats too often to evaluate")]
    TooManyOccurrences { schedule: String },
}

impl From<&genesys::Schedule> for ScheduleSpec {
    fn from(schedule: &genesys::Schedule) -> Self {
        ScheduleSpec {
            name: schedule.name.clone(),
            start: schedule.start,
            end: schedule.end,
            rrule: schedule.rrule.clone(),
        }
    }
}

impl BusinessHours {
    /// From a group read with its schedules, and whether its emergency group is enabled.
    pub fn from_genesys(
        group: &genesys::ScheduleGroupWithSchedules,
        emergency: bool,
    ) -> Result<Self, HoursError> {
        let specs =
            |schedules: &[genesys::Schedule]| schedules.iter().map(ScheduleSpec::from).collect();
        Ok(BusinessHours {
            time_zone: group
                .group
                .time_zone
                .clone()
                .ok_or(HoursError::NoTimeZone)?,
            open: specs(&group.open),
            closed: specs(&group.closed),
            holiday: specs(&group.holiday),
            emergency,
        })
    }
}

/// Which schedules cover which instants, for one evaluation.
struct Coverage {
    open: Vec<Span>,
    closed: Vec<Span>,
    holiday: Vec<Span>,
}

impl Coverage {
    /// The schedules' verdict at `at`, emergencies aside.
    fn reason_at(&self, at: DateTime<Utc>) -> Reason {
        let covers = |spans: &[Span]| spans.iter().any(|span| span.contains(at));
        if covers(&self.holiday) {
            Reason::Holiday
        } else if covers(&self.closed) {
            Reason::Closed
        } else if covers(&self.open) {
            Reason::Open
        } else {
            Reason::Closed
        }
    }

    /// Every instant in `(from, to)` where a schedule starts or ends, in order.
    fn boundaries(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut points: Vec<DateTime<Utc>> = [&self.open, &self.closed, &self.holiday]
            .into_iter()
            .flatten()
            .flat_map(|span| [span.start, span.end])
            .filter(|at| from < *at && *at < to)
            .collect();
        points.sort();
        points.dedup();
        points
    }
}

/// Evaluates `hours` at `now` (to the second) looking `horizon` ahead.
pub fn evaluate(
    hours: &BusinessHours,
    now: OffsetDateTime,
    horizon: Horizon,
) -> Result<HoursStatus, HoursError> {
    let zone = Tz::from_str(&hours.time_zone)
        .map_err(|_| HoursError::UnknownTimeZone(hours.time_zone.clone()))?;
    let now = to_chrono(now);
    let intervals_end = now + to_chrono_duration(horizon.intervals);
    let change_end = now + to_chrono_duration(horizon.next_change);
    let window_end = intervals_end.max(change_end);
    let spans = |schedules: &[ScheduleSpec]| -> Result<Vec<Span>, HoursError> {
        let mut all = Vec::new();
        for schedule in schedules {
            all.extend(occurrences(schedule, zone, now, window_end)?);
        }
        Ok(all)
    };
    let coverage = Coverage {
        open: spans(&hours.open)?,
        closed: spans(&hours.closed)?,
        holiday: spans(&hours.holiday)?,
    };
    // Between two boundaries nothing changes, so each segment is judged by its first instant.
    let mut starts = vec![now];
    starts.extend(coverage.boundaries(now, window_end));
    let segments: Vec<(DateTime<Utc>, DateTime<Utc>, bool)> = starts
        .iter()
        .enumerate()
        .map(|(i, start)| {
            let end = starts.get(i + 1).copied().unwrap_or(window_end);
            (*start, end, coverage.reason_at(*start) == Reason::Open)
        })
        .collect();
    let scheduled = coverage.reason_at(now);
    let (reason, next_change) = if hours.emergency {
        (Reason::Emergency, None)
    } else {
        let is_open = scheduled == Reason::Open;
        let flip = segments
            .iter()
            .find(|(start, _, open)| *open != is_open && *start <= change_end)
            .map(|(start, _, _)| *start);
        (scheduled, flip)
    };
    Ok(HoursStatus {
        open: reason == Reason::Open,
        reason,
        next_change: next_change.map(|at| in_zone(zone, at)),
        time_zone: hours.time_zone.clone(),
        open_intervals: open_intervals(&segments, intervals_end, zone),
    })
}

/// The open segments before `until`, touching ones merged, cut at `until`.
fn open_intervals(
    segments: &[(DateTime<Utc>, DateTime<Utc>, bool)],
    until: DateTime<Utc>,
    zone: Tz,
) -> Vec<Interval> {
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (start, end, open) in segments {
        if !open || *start >= until {
            continue;
        }
        let end = (*end).min(until);
        match merged.last_mut() {
            Some(last) if last.1 == *start => last.1 = end,
            _ => merged.push((*start, end)),
        }
    }
    merged
        .into_iter()
        .map(|(start, end)| Interval {
            start: in_zone(zone, start),
            end: in_zone(zone, end),
        })
        .collect()
}

/// Whole seconds: business hours have no use for less, and answers read better without.
fn to_chrono(at: OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.unix_timestamp(), 0).unwrap_or_default()
}

fn to_chrono_duration(span: Duration) -> chrono::Duration {
    chrono::Duration::seconds(span.whole_seconds())
}

/// `at` with the offset `zone` has at that instant.
fn in_zone(zone: Tz, at: DateTime<Utc>) -> OffsetDateTime {
    let offset = zone.offset_from_utc_datetime(&at.naive_utc()).fix();
    let offset = UtcOffset::from_whole_seconds(offset.local_minus_utc()).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp(at.timestamp())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset)
}

/// RFC 3339 to the second with a numeric offset, `+00:00` included: `Z` would say "UTC" where
/// the zone's own offset is meant.
const WITH_OFFSET: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
);

/// `at` in RFC 3339 with its offset (`2026-03-29T09:00:00+01:00`).
pub fn format_with_offset(at: OffsetDateTime) -> String {
    // Formatting these components cannot fail; the fallback only avoids a panic path.
    at.format(WITH_OFFSET)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

pub(crate) fn with_offset<S: Serializer>(
    at: &OffsetDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_with_offset(*at))
}

pub(crate) fn maybe_with_offset<S: Serializer>(
    at: &Option<OffsetDateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => with_offset(at, serializer),
        None => serializer.serialize_none(),
    }
}
