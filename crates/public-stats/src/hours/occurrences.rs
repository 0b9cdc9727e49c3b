//! When one schedule happens: its occurrences as instants, in the group's time zone, between
//! two instants.
//!
//! A schedule's `start` and `end` are wall-clock times of its first occurrence; `rrule` repeats
//! that start, and every occurrence lasts the same wall-clock length (08:00–17:00 stays
//! 08:00–17:00 on the day the clocks change, though it is an hour shorter or longer then).
//! Wall-clock times the zone skips or repeats are read as RFC 5545 reads them (section 3.3.5):
//! a skipped time with the offset from before the gap (01:30 in a 01:00→02:00 jump is 02:30), a
//! repeated time as its first instant.
//!
//! It decides nothing about open or closed: that is `mod.rs`.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use rrule::{RRule, RRuleSet, Unvalidated};

use super::{HoursError, ScheduleSpec};

/// More occurrences than this, counted from a schedule's first one to the end of the window,
/// make the evaluation fail instead of running on: ten years of a daily schedule is about 3,650.
const MAX_OCCURRENCES: usize = 100_000;

/// One occurrence, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Span {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }
}

/// The occurrences of `schedule` in `zone` that overlap `[from, to)`, in order.
pub(super) fn occurrences(
    schedule: &ScheduleSpec,
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Span>, HoursError> {
    let first_start = naive(schedule.start);
    let first_end = naive(schedule.end);
    let length = first_end - first_start;
    if length <= Duration::zero() {
        return Err(HoursError::EmptySchedule {
            schedule: schedule.name.clone(),
        });
    }
    let overlaps = |span: &Span| span.start < to && span.end > from;
    let Some(rule) = schedule.rrule.as_deref().filter(|r| !r.trim().is_empty()) else {
        let span = Span {
            start: instant(zone, first_start),
            end: instant(zone, first_end),
        };
        return Ok(Vec::from_iter(Some(span).filter(overlaps)));
    };
    let set =
        recurrence(rule, zone, first_start).map_err(|reason| HoursError::InvalidRecurrence {
            schedule: schedule.name.clone(),
            reason,
        })?;
    let mut spans = Vec::new();
    // `limit` keeps the crate's own guard against rules that never produce a date.
    for (count, occurrence) in set.limit().into_iter().enumerate() {
        if count >= MAX_OCCURRENCES {
            return Err(HoursError::TooManyOccurrences {
                schedule: schedule.name.clone(),
            });
        }
        let start = occurrence.with_timezone(&Utc);
        if start >= to {
            break;
        }
        let span = Span {
            start,
            end: instant(zone, occurrence.naive_local() + length),
        };
        if overlaps(&span) {
            spans.push(span);
        }
    }
    Ok(spans)
}

/// The rule set of `rule` starting at `first_start`, or why it is not one.
fn recurrence(rule: &str, zone: Tz, first_start: NaiveDateTime) -> Result<RRuleSet, String> {
    let rule = with_utc_until(rule, zone)?;
    let parsed: RRule<Unvalidated> = rule.parse().map_err(|e: rrule::RRuleError| e.to_string())?;
    let start = instant(zone, first_start).with_timezone(&rrule::Tz::Tz(zone));
    parsed.build(start).map_err(|e| e.to_string())
}

/// `rule` without an `RRULE:` prefix and with `UNTIL` in UTC. RFC 5545 wants UTC there when
/// the start has a zone, and the rrule crate would read a zone-less `UNTIL` in the machine's own
/// zone; Genesys's form of `UNTIL` is unconfirmed, so a zone-less one is read in the group's
/// zone, and a bare date as the end of that day (its occurrences included).
fn with_utc_until(rule: &str, zone: Tz) -> Result<String, String> {
    let rule = rule.trim();
    let rule = rule.strip_prefix("RRULE:").unwrap_or(rule);
    let parts: Result<Vec<String>, String> = rule
        .split(';')
        .map(|part| match part.split_once('=') {
            Some((key, value)) if key.eq_ignore_ascii_case("UNTIL") && !value.ends_with('Z') => {
                let until = local_until(value)
                    .ok_or_else(|| format!("UNTIL={value} is not a date or date-time"))?;
                Ok(format!(
                    "UNTIL={}",
                    instant(zone, until).format("%Y%m%dT%H%M%SZ")
                ))
            }
            _ => Ok(part.to_owned()),
        })
        .collect();
    Ok(parts?.join(";"))
}

fn local_until(value: &str) -> Option<NaiveDateTime> {
    if let Ok(at) = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S") {
        return Some(at);
    }
    NaiveDate::parse_from_str(value, "%Y%m%d")
        .ok()?
        .and_hms_opt(23, 59, 59)
}

/// The instant a wall-clock time in `zone` names (see the module doc for skipped and repeated
/// times).
pub(super) fn instant(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // A day earlier is before the gap: zones never change offset twice in a day.
            let before = zone
                .offset_from_local_datetime(&(local - Duration::days(1)))
                .earliest()
                .map(|offset| offset.fix())
                .unwrap_or_else(|| Utc.fix());
            (local - before).and_utc()
        }
    }
}

fn naive(at: time::PrimitiveDateTime) -> NaiveDateTime {
    let date = NaiveDate::from_ymd_opt(
        at.year(),
        u32::from(u8::from(at.month())),
        u32::from(at.day()),
    );
    date.and_then(|date| {
        date.and_hms_nano_opt(
            u32::from(at.hour()),
            u32::from(at.minute()),
            u32::from(at.second()),
            at.nanosecond(),
        )
    })
    // Every PrimitiveDateTime is a valid chrono date-time in chrono's much wider range.
    .unwrap_or_default()
}
