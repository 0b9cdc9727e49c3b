//! The demo org's business hours: one schedule group (`DEMO_SCHEDULE_GROUP`, Europe/London) for
//! every demo queue, and a disabled emergency group.
//!
//! The sandbox must be open whenever someone tries it, yet its week view should show what closed
//! hours and a holiday look like. So the schedules are placed relative to the moment the
//! simulator starts:
//!
//! * open: every day, 00:00 to 24:00 (`FREQ=DAILY` from 2024-01-01) — always open on its own;
//! * closed: 03:00–03:30 once a week, first on the day three days after the start (`FREQ=WEEKLY`
//!   on that weekday) — never sooner than two days after the start, so a fresh sandbox is open,
//!   and, weekly, always somewhere in the next seven days;
//! * holiday: 12:00–13:00 on the day five days after the start, once — inside the first week.
//!
//! Start dates are taken in UTC and the times read in London, an hour apart at most, which the
//! margins of days above absorb. A sandbox left running for more than two days will meet its
//! closed half-hour, and after six days no longer shows the holiday.

use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, Weekday};
use uuid::Uuid;

use super::objects::{EmergencyGroup, Meta, Objects, Schedule, ScheduleGroup};
use crate::config::{
    DEMO_CLOSED_SCHEDULE, DEMO_EMERGENCY_GROUP, DEMO_HOLIDAY_SCHEDULE, DEMO_OPEN_SCHEDULE,
    DEMO_SCHEDULE_GROUP, DEMO_TIME_ZONE,
};

/// How far after the start the weekly closed period first comes.
const CLOSED_AFTER_DAYS: i64 = 3;
/// How far after the start the holiday comes.
const HOLIDAY_AFTER_DAYS: i64 = 5;

pub fn objects(now: OffsetDateTime) -> Objects {
    let meta = |id: Uuid, name: &str, description: &str| Meta {
        id,
        name: name.to_owned(),
        description: Some(description.to_owned()),
        version: 1,
        created: now,
        modified: now,
    };
    let mut objects = Objects::default();
    let first_open = Date::from_calendar_date(2024, time::Month::January, 1).unwrap_or(now.date());
    let closed_day = (now + Duration::days(CLOSED_AFTER_DAYS)).date();
    let holiday_day = (now + Duration::days(HOLIDAY_AFTER_DAYS)).date();
    let schedules = [
        Schedule {
            meta: meta(
                DEMO_OPEN_SCHEDULE,
                "Open every day",
                "00:00 to 24:00, every day",
            ),
            start: at(first_open, 0, 0),
            end: at(first_open.next_day().unwrap_or(first_open), 0, 0),
            rrule: Some("FREQ=DAILY".into()),
        },
        Schedule {
            meta: meta(
                DEMO_CLOSED_SCHEDULE,
                "Weekly maintenance",
                "Closed for half an hour once a week",
            ),
            start: at(closed_day, 3, 0),
            end: at(closed_day, 3, 30),
            rrule: Some(format!("FREQ=WEEKLY;BYDAY={}", byday(closed_day.weekday()))),
        },
        Schedule {
            meta: meta(
                DEMO_HOLIDAY_SCHEDULE,
                "Team lunch",
                "A short holiday, once, to show what one looks like",
            ),
            start: at(holiday_day, 12, 0),
            end: at(holiday_day, 13, 0),
            rrule: None,
        },
    ];
    for schedule in schedules {
        objects.schedules.insert(schedule.meta.id, schedule);
    }
    objects.groups.insert(
        DEMO_SCHEDULE_GROUP,
        ScheduleGroup {
            meta: meta(
                DEMO_SCHEDULE_GROUP,
                "Demo business hours",
                "The business hours of every demo queue",
            ),
            time_zone: Some(DEMO_TIME_ZONE.to_owned()),
            open: vec![DEMO_OPEN_SCHEDULE],
            closed: vec![DEMO_CLOSED_SCHEDULE],
            holiday: vec![DEMO_HOLIDAY_SCHEDULE],
        },
    );
    objects.emergency_groups.insert(
        DEMO_EMERGENCY_GROUP,
        EmergencyGroup {
            meta: meta(
                DEMO_EMERGENCY_GROUP,
                "Demo emergency",
                "Turn on to close every demo queue at once",
            ),
            enabled: false,
            call_flows: Vec::new(),
        },
    );
    objects
}

fn at(date: Date, hour: u8, minute: u8) -> PrimitiveDateTime {
    PrimitiveDateTime::new(
        date,
        Time::from_hms(hour, minute, 0).unwrap_or(Time::MIDNIGHT),
    )
}

fn byday(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_closed_period_and_holiday_come_days_after_the_start() {
        let now = datetime!(2026-03-27 23:59 UTC);
        let objects = objects(now);
        let closed = &objects.schedules[&DEMO_CLOSED_SCHEDULE];
        assert_eq!(closed.start, datetime!(2026-03-30 03:00));
        assert_eq!(closed.rrule.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO"));
        let holiday = &objects.schedules[&DEMO_HOLIDAY_SCHEDULE];
        assert_eq!(holiday.start, datetime!(2026-04-01 12:00));
        assert!(!objects.emergency_groups[&DEMO_EMERGENCY_GROUP].enabled);
    }
}
