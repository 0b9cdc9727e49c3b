//! The simulator's own reading of a schedule group: open or closed at a moment, so that a queue
//! can follow its hours (control API `PUT /__sim/queues/{id}/follow-hours`).
//!
//! Genesys offers no such endpoint and this is not the service's evaluation: it is deliberately
//! simple. The precedence is Architect's: an enabled emergency group closes; else a holiday
//! schedule covering the moment closes; else a closed one closes; else an open one opens; else
//! closed. A schedule's `start`/`end` are wall-clock times in the group's `timeZone` (UTC when the
//! group has none or names a zone the simulator does not know); with an `rrule` each occurrence
//! starts where the rule says and lasts `end - start` of real time. A rule the `rrule` crate
//! cannot read covers nothing.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rrule::{RRule, Unvalidated};
use time::PrimitiveDateTime;
use uuid::Uuid;

use super::objects::{Objects, Schedule};

/// Whether a schedule group lets its queues work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hours {
    Open,
    Closed,
}

/// What `group` (with `emergency`, when given) says at `now`. A group or emergency group the org
/// does not have counts as closed, as nothing opens it.
pub fn evaluate(
    objects: &Objects,
    group: Uuid,
    emergency: Option<Uuid>,
    now: DateTime<Utc>,
) -> Hours {
    if let Some(emergency) = emergency {
        match objects.emergency_groups.get(&emergency) {
            Some(e) if !e.enabled => {}
            _ => return Hours::Closed,
        }
    }
    let Some(group) = objects.groups.get(&group) else {
        return Hours::Closed;
    };
    let zone = group
        .time_zone
        .as_deref()
        .and_then(|name| name.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC);
    let covers = |ids: &[Uuid]| {
        ids.iter()
            .filter_map(|id| objects.schedules.get(id))
            .any(|s| covers(s, zone, now))
    };
    if covers(&group.holiday) || covers(&group.closed) {
        Hours::Closed
    } else if covers(&group.open) {
        Hours::Open
    } else {
        Hours::Closed
    }
}

/// Whether one of `schedule`'s occurrences contains `now`.
fn covers(schedule: &Schedule, zone: Tz, now: DateTime<Utc>) -> bool {
    let start = naive(schedule.start);
    let end = naive(schedule.end);
    let Some(rule) = &schedule.rrule else {
        let local = now.with_timezone(&zone).naive_local();
        return start <= local && local < end;
    };
    let Some(first) = zone.from_local_datetime(&start).earliest() else {
        return false;
    };
    let length = end - start;
    let parsed: Result<RRule<Unvalidated>, _> = rule.parse();
    let Ok(set) = parsed.and_then(|r| r.build(first.with_timezone(&rrule::Tz::Tz(zone)))) else {
        tracing::warn!(schedule = %schedule.meta.id, "rrule not understood; it covers nothing");
        return false;
    };
    let now_in_rule = now.with_timezone(&rrule::Tz::Tz(zone));
    // Every occurrence that started within one length before now: at most a couple matter.
    set.after(now_in_rule - length)
        .before(now_in_rule)
        .all(2)
        .dates
        .iter()
        .any(|occurrence| *occurrence <= now_in_rule && now_in_rule < *occurrence + length)
}

/// The same wall-clock time in chrono's terms.
fn naive(at: PrimitiveDateTime) -> NaiveDateTime {
    let date = NaiveDate::from_ymd_opt(
        at.year(),
        u32::from(u8::from(at.month())),
        u32::from(at.day()),
    );
    let time = NaiveTime::from_hms_nano_opt(
        u32::from(at.hour()),
        u32::from(at.minute()),
        u32::from(at.second()),
        at.nanosecond(),
    );
    match (date, time) {
        (Some(date), Some(time)) => date.and_time(time),
        // Every `time` date-time is a valid chrono one in the years Architect uses.
        _ => NaiveDateTime::MIN,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use time::OffsetDateTime;

    use super::*;
    use crate::api::architect::objects::{EmergencyGroup, Meta, ScheduleGroup};

    fn meta() -> Meta {
        let now = OffsetDateTime::now_utc();
        Meta {
            id: Uuid::new_v4(),
            name: "x".into(),
            description: None,
            version: 1,
            created: now,
            modified: now,
        }
    }

    fn local(text: &str) -> PrimitiveDateTime {
        let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
        PrimitiveDateTime::parse(text, format).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    struct Org {
        objects: Objects,
        group: Uuid,
    }

    impl Org {
        /// A group in `zone` with the given (start, end, rrule) schedules.
        fn new(
            zone: &str,
            open: &[(&str, &str, Option<&str>)],
            closed: &[(&str, &str, Option<&str>)],
            holiday: &[(&str, &str, Option<&str>)],
        ) -> Org {
            let mut schedules = BTreeMap::new();
            let mut ids = |list: &[(&str, &str, Option<&str>)]| -> Vec<Uuid> {
                list.iter()
                    .map(|(start, end, rule)| {
                        let schedule = Schedule {
                            meta: meta(),
                            start: local(start),
                            end: local(end),
                            rrule: rule.map(str::to_owned),
                        };
                        let id = schedule.meta.id;
                        schedules.insert(id, schedule);
                        id
                    })
                    .collect()
            };
            let group = ScheduleGroup {
                meta: meta(),
                time_zone: Some(zone.to_owned()),
                open: ids(open),
                closed: ids(closed),
                holiday: ids(holiday),
            };
            let id = group.meta.id;
            let mut objects = Objects {
                schedules,
                ..Objects::default()
            };
            objects.groups.insert(id, group);
            Org { objects, group: id }
        }

        fn at(&self, moment: &str) -> Hours {
            evaluate(&self.objects, self.group, None, at(moment))
        }
    }

    const WEEKDAYS: (&str, &str, Option<&str>) = (
        "2026-01-05T09:00",
        "2026-01-05T17:00",
        Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    );

    #[test]
    fn open_schedules_repeat_by_their_rule_in_the_group_zone() {
        let org = Org::new("America/New_York", &[WEEKDAYS], &[], &[]);
        // Wednesday 2026-03-04, 09:30 in New York (EST, UTC-5).
        assert_eq!(org.at("2026-03-04T14:30:00Z"), Hours::Open);
        assert_eq!(org.at("2026-03-04T13:59:59Z"), Hours::Closed);
        assert_eq!(
            org.at("2026-03-04T22:00:00Z"),
            Hours::Closed,
            "17:00 is the end"
        );
        // Saturday.
        assert_eq!(org.at("2026-03-07T15:00:00Z"), Hours::Closed);
        // Before the first occurrence.
        assert_eq!(org.at("2026-01-02T15:00:00Z"), Hours::Closed);
    }

    #[test]
    fn holidays_and_closed_schedules_win_over_open_ones() {
        let org = Org::new(
            "Europe/London",
            &[WEEKDAYS],
            &[("2026-03-04T12:00", "2026-03-04T13:00", None)],
            &[("2026-03-05T00:00", "2026-03-06T00:00", None)],
        );
        assert_eq!(org.at("2026-03-04T11:59:00Z"), Hours::Open);
        assert_eq!(org.at("2026-03-04T12:30:00Z"), Hours::Closed);
        assert_eq!(org.at("2026-03-05T10:00:00Z"), Hours::Closed);
        assert_eq!(org.at("2026-03-06T10:00:00Z"), Hours::Open);
    }

    #[test]
    fn one_off_schedules_are_wall_clock_times_in_the_zone() {
        let org = Org::new(
            "Asia/Kolkata",
            &[("2026-03-04T09:00", "2026-03-04T10:00", None)],
            &[],
            &[],
        );
        // 09:00 in Kolkata is 03:30 UTC.
        assert_eq!(org.at("2026-03-04T03:29:00Z"), Hours::Closed);
        assert_eq!(org.at("2026-03-04T03:30:00Z"), Hours::Open);
        assert_eq!(org.at("2026-03-04T04:30:00Z"), Hours::Closed);
    }

    #[test]
    fn no_schedule_an_unknown_group_or_an_enabled_emergency_close() {
        let org = Org::new("UTC", &[], &[], &[]);
        assert_eq!(org.at("2026-03-04T12:00:00Z"), Hours::Closed);
        let mut org = Org::new(
            "UTC",
            &[("2026-01-01T00:00", "2026-01-02T00:00", Some("FREQ=DAILY"))],
            &[],
            &[],
        );
        let now = at("2026-03-04T12:00:00Z");
        assert_eq!(
            evaluate(&org.objects, Uuid::nil(), None, now),
            Hours::Closed
        );
        let emergency = EmergencyGroup {
            meta: meta(),
            enabled: false,
            call_flows: Vec::new(),
        };
        let id = emergency.meta.id;
        org.objects.emergency_groups.insert(id, emergency);
        assert_eq!(
            evaluate(&org.objects, org.group, Some(id), now),
            Hours::Open
        );
        if let Some(e) = org.objects.emergency_groups.get_mut(&id) {
            e.enabled = true;
        }
        assert_eq!(
            evaluate(&org.objects, org.group, Some(id), now),
            Hours::Closed
        );
    }
}
