//! The evaluation as tables: each case is business hours, an instant, and what it must say then.

use time::format_description::well_known::Rfc3339;

use super::*;

fn schedule(name: &str, start: &str, end: &str, rrule: Option<&str>) -> ScheduleSpec {
    let local = |text: &str| {
        genesys::architect::parse_local_date_time(text)
            .unwrap_or_else(|| panic!("{text} is a local date-time"))
    };
    ScheduleSpec {
        name: name.into(),
        start: local(start),
        end: local(end),
        rrule: rrule.map(str::to_owned),
    }
}

fn hours(zone: &str, open: Vec<ScheduleSpec>) -> BusinessHours {
    BusinessHours {
        time_zone: zone.into(),
        open,
        closed: vec![],
        holiday: vec![],
        emergency: false,
    }
}

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|_| panic!("{text} is RFC 3339"))
}

/// Monday to Friday, 09:00–17:00, from Monday 5 January 2026.
fn weekdays() -> ScheduleSpec {
    schedule(
        "Weekdays",
        "2026-01-05T09:00:00.000",
        "2026-01-05T17:00:00.000",
        Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    )
}

/// Every day, 09:00–17:00, from 1 March 2026.
fn daily() -> ScheduleSpec {
    schedule(
        "Daily",
        "2026-03-01T09:00:00.000",
        "2026-03-01T17:00:00.000",
        Some("FREQ=DAILY"),
    )
}

struct Case {
    name: &'static str,
    hours: BusinessHours,
    now: &'static str,
    open: bool,
    reason: Reason,
    next_change: Option<&'static str>,
    /// The first open intervals, when the case is about them.
    intervals: &'static [(&'static str, &'static str)],
}

fn check(case: &Case) {
    let status = evaluate(&case.hours, at(case.now), Horizon::default())
        .unwrap_or_else(|error| panic!("{}: {error}", case.name));
    assert_eq!(status.open, case.open, "{}: open", case.name);
    assert_eq!(status.reason, case.reason, "{}: reason", case.name);
    assert_eq!(
        status.next_change.map(format_with_offset).as_deref(),
        case.next_change,
        "{}: nextChange",
        case.name
    );
    let intervals: Vec<(String, String)> = status
        .open_intervals
        .iter()
        .map(|i| (format_with_offset(i.start), format_with_offset(i.end)))
        .collect();
    for (index, (start, end)) in case.intervals.iter().enumerate() {
        assert_eq!(
            intervals.get(index).map(|(s, e)| (s.as_str(), e.as_str())),
            Some((*start, *end)),
            "{}: interval {index} of {intervals:?}",
            case.name
        );
    }
}

#[test]
fn weekly_hours() {
    for case in [
        Case {
            name: "Wednesday morning, open until five",
            hours: hours("Europe/London", vec![weekdays()]),
            now: "2026-01-07T10:00:00Z",
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-01-07T17:00:00+00:00"),
            intervals: &[
                ("2026-01-07T10:00:00+00:00", "2026-01-07T17:00:00+00:00"),
                ("2026-01-08T09:00:00+00:00", "2026-01-08T17:00:00+00:00"),
                ("2026-01-09T09:00:00+00:00", "2026-01-09T17:00:00+00:00"),
                ("2026-01-12T09:00:00+00:00", "2026-01-12T17:00:00+00:00"),
            ],
        },
        Case {
            name: "Saturday, closed until Monday",
            hours: hours("Europe/London", vec![weekdays()]),
            now: "2026-01-10T12:00:00Z",
            open: false,
            reason: Reason::Closed,
            next_change: Some("2026-01-12T09:00:00+00:00"),
            intervals: &[("2026-01-12T09:00:00+00:00", "2026-01-12T17:00:00+00:00")],
        },
        Case {
            name: "the very instant of closing is closed",
            hours: hours("Europe/London", vec![weekdays()]),
            now: "2026-01-07T17:00:00Z",
            open: false,
            reason: Reason::Closed,
            next_change: Some("2026-01-08T09:00:00+00:00"),
            intervals: &[],
        },
        Case {
            name: "the offset is the zone's: New York in January",
            hours: hours("America/New_York", vec![weekdays()]),
            now: "2026-01-07T15:00:00Z",
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-01-07T17:00:00-05:00"),
            intervals: &[("2026-01-07T10:00:00-05:00", "2026-01-07T17:00:00-05:00")],
        },
        Case {
            name: "before the first occurrence",
            hours: hours("Europe/London", vec![weekdays()]),
            now: "2026-01-01T12:00:00Z",
            open: false,
            reason: Reason::Closed,
            next_change: Some("2026-01-05T09:00:00+00:00"),
            intervals: &[],
        },
        Case {
            name: "no schedule at all is closed, with nothing ahead",
            hours: hours("Europe/London", vec![]),
            now: "2026-01-07T10:00:00Z",
            open: false,
            reason: Reason::Closed,
            next_change: None,
            intervals: &[],
        },
    ] {
        check(&case);
    }
}

#[test]
fn overnight_hours_cross_midnight() {
    let nights = || {
        hours(
            "America/New_York",
            vec![schedule(
                "Nights",
                "2026-01-05T22:00:00.000",
                "2026-01-06T06:00:00.000",
                Some("FREQ=DAILY"),
            )],
        )
    };
    for case in [
        Case {
            name: "before midnight",
            hours: nights(),
            now: "2026-01-08T04:30:00Z", // 23:30 local
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-01-08T06:00:00-05:00"),
            intervals: &[("2026-01-07T23:30:00-05:00", "2026-01-08T06:00:00-05:00")],
        },
        Case {
            name: "after midnight, in the night that started yesterday",
            hours: nights(),
            now: "2026-01-08T10:00:00Z", // 05:00 local
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-01-08T06:00:00-05:00"),
            intervals: &[
                ("2026-01-08T05:00:00-05:00", "2026-01-08T06:00:00-05:00"),
                ("2026-01-08T22:00:00-05:00", "2026-01-09T06:00:00-05:00"),
            ],
        },
        Case {
            name: "daytime",
            hours: nights(),
            now: "2026-01-08T12:00:00Z", // 07:00 local
            open: false,
            reason: Reason::Closed,
            next_change: Some("2026-01-08T22:00:00-05:00"),
            intervals: &[],
        },
    ] {
        check(&case);
    }
}

#[test]
fn holidays_and_closed_schedules_override_open_hours() {
    let with_holiday = || BusinessHours {
        holiday: vec![schedule(
            "New Year's Day",
            "2026-01-01T00:00:00.000",
            "2026-01-02T00:00:00.000",
            Some("FREQ=YEARLY"),
        )],
        closed: vec![schedule(
            "Training",
            "2026-01-06T12:00:00.000",
            "2026-01-06T13:00:00.000",
            None,
        )],
        ..hours("Europe/London", vec![weekdays()])
    };
    for case in [
        Case {
            name: "New Year's Day 2027, a Friday, is a holiday",
            hours: with_holiday(),
            now: "2027-01-01T10:00:00Z",
            open: false,
            reason: Reason::Holiday,
            next_change: Some("2027-01-04T09:00:00+00:00"),
            intervals: &[("2027-01-04T09:00:00+00:00", "2027-01-04T17:00:00+00:00")],
        },
        Case {
            name: "the closed hour splits the open day",
            hours: with_holiday(),
            now: "2026-01-06T12:30:00Z",
            open: false,
            reason: Reason::Closed,
            next_change: Some("2026-01-06T13:00:00+00:00"),
            intervals: &[("2026-01-06T13:00:00+00:00", "2026-01-06T17:00:00+00:00")],
        },
        Case {
            name: "before it, the day is open until the closed hour",
            hours: with_holiday(),
            now: "2026-01-06T09:00:00Z",
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-01-06T12:00:00+00:00"),
            intervals: &[
                ("2026-01-06T09:00:00+00:00", "2026-01-06T12:00:00+00:00"),
                ("2026-01-06T13:00:00+00:00", "2026-01-06T17:00:00+00:00"),
            ],
        },
        Case {
            name: "a holiday wins over a closed schedule at the same time",
            hours: BusinessHours {
                closed: vec![schedule(
                    "Closed on holidays too",
                    "2027-01-01T00:00:00.000",
                    "2027-01-02T00:00:00.000",
                    None,
                )],
                ..with_holiday()
            },
            now: "2027-01-01T10:00:00Z",
            open: false,
            reason: Reason::Holiday,
            next_change: Some("2027-01-04T09:00:00+00:00"),
            intervals: &[],
        },
    ] {
        check(&case);
    }
}

#[test]
fn an_enabled_emergency_closes_everything() {
    let all_day = schedule(
        "Always",
        "2026-01-01T00:00:00.000",
        "2026-01-02T00:00:00.000",
        Some("FREQ=DAILY"),
    );
    let emergency = BusinessHours {
        emergency: true,
        holiday: vec![schedule(
            "Holiday",
            "2026-01-07T00:00:00.000",
            "2026-01-08T00:00:00.000",
            None,
        )],
        ..hours("Europe/London", vec![all_day])
    };
    check(&Case {
        name: "open hours",
        hours: emergency.clone(),
        now: "2026-01-06T10:00:00Z",
        open: false,
        reason: Reason::Emergency,
        next_change: None,
        // The schedule's open periods stay visible: the emergency has no scheduled end.
        intervals: &[("2026-01-06T10:00:00+00:00", "2026-01-07T00:00:00+00:00")],
    });
    check(&Case {
        name: "even over a holiday",
        hours: emergency,
        now: "2026-01-07T10:00:00Z",
        open: false,
        reason: Reason::Emergency,
        next_change: None,
        intervals: &[],
    });
}

/// Europe/London: clocks go forward 2026-03-29 01:00 UTC (GMT → BST) and back 2026-10-25
/// 01:00 UTC (BST → GMT).
#[test]
fn daylight_saving_time_changes_both_ways() {
    for case in [
        Case {
            name: "Saturday before spring forward",
            hours: hours("Europe/London", vec![daily()]),
            now: "2026-03-28T10:00:00Z",
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-03-28T17:00:00+00:00"),
            intervals: &[
                ("2026-03-28T10:00:00+00:00", "2026-03-28T17:00:00+00:00"),
                ("2026-03-29T09:00:00+01:00", "2026-03-29T17:00:00+01:00"),
            ],
        },
        Case {
            name: "Sunday after spring forward: 09:00 local is 08:00 UTC",
            hours: hours("Europe/London", vec![daily()]),
            now: "2026-03-29T08:30:00Z",
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-03-29T17:00:00+01:00"),
            intervals: &[("2026-03-29T09:30:00+01:00", "2026-03-29T17:00:00+01:00")],
        },
        Case {
            name: "Saturday before fall back",
            hours: hours("Europe/London", vec![daily()]),
            now: "2026-10-24T12:00:00Z",
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-10-24T17:00:00+01:00"),
            intervals: &[
                ("2026-10-24T13:00:00+01:00", "2026-10-24T17:00:00+01:00"),
                ("2026-10-25T09:00:00+00:00", "2026-10-25T17:00:00+00:00"),
            ],
        },
        Case {
            name: "Sunday after fall back: 08:30 UTC is before 09:00 local",
            hours: hours("Europe/London", vec![daily()]),
            now: "2026-10-25T08:30:00Z",
            open: false,
            reason: Reason::Closed,
            next_change: Some("2026-10-25T09:00:00+00:00"),
            intervals: &[],
        },
        Case {
            name: "a night across spring forward is an hour shorter",
            hours: hours(
                "Europe/London",
                vec![schedule(
                    "Nights",
                    "2026-03-01T00:00:00.000",
                    "2026-03-01T03:00:00.000",
                    Some("FREQ=DAILY"),
                )],
            ),
            now: "2026-03-29T00:30:00Z",
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-03-29T03:00:00+01:00"),
            intervals: &[("2026-03-29T00:30:00+00:00", "2026-03-29T03:00:00+01:00")],
        },
        Case {
            name: "a start in the skipped hour comes an hour later",
            hours: hours(
                "Europe/London",
                vec![schedule(
                    "Skipped",
                    "2026-03-29T01:30:00.000",
                    "2026-03-29T04:00:00.000",
                    None,
                )],
            ),
            now: "2026-03-29T00:00:00Z",
            open: false,
            reason: Reason::Closed,
            next_change: Some("2026-03-29T02:30:00+01:00"),
            intervals: &[("2026-03-29T02:30:00+01:00", "2026-03-29T04:00:00+01:00")],
        },
        Case {
            name: "a start in the repeated hour is its first instant",
            hours: hours(
                "Europe/London",
                vec![schedule(
                    "Repeated",
                    "2026-10-25T01:30:00.000",
                    "2026-10-25T04:00:00.000",
                    None,
                )],
            ),
            now: "2026-10-24T23:00:00Z",
            open: false,
            reason: Reason::Closed,
            next_change: Some("2026-10-25T01:30:00+01:00"),
            intervals: &[("2026-10-25T01:30:00+01:00", "2026-10-25T04:00:00+00:00")],
        },
    ] {
        check(&case);
    }
}

#[test]
fn schedules_with_an_end_date_stop() {
    let until = |rule: &'static str| {
        hours(
            "Europe/London",
            vec![schedule(
                "January only",
                "2026-01-05T09:00:00.000",
                "2026-01-05T17:00:00.000",
                Some(rule),
            )],
        )
    };
    for (name, rule) in [
        (
            "UNTIL in UTC",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260130T235959Z",
        ),
        (
            "UNTIL in local time",
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20260130T235959",
        ),
        (
            "UNTIL as a date",
            "RRULE:FREQ=WEEKLY;UNTIL=20260130;BYDAY=MO,TU,WE,TH,FR",
        ),
        ("COUNT", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=20"),
    ] {
        check(&Case {
            name,
            hours: until(rule),
            now: "2026-01-30T10:00:00Z",
            open: true,
            reason: Reason::Open,
            next_change: Some("2026-01-30T17:00:00+00:00"),
            intervals: &[("2026-01-30T10:00:00+00:00", "2026-01-30T17:00:00+00:00")],
        });
        let after = evaluate(&until(rule), at("2026-01-30T10:00:00Z"), Horizon::default());
        assert_eq!(
            after.map(|s| s.open_intervals.len()),
            Ok(1),
            "{name}: none after the end"
        );
    }
    check(&Case {
        name: "a one-off schedule is over once it ends",
        hours: hours(
            "Europe/London",
            vec![schedule(
                "Open day",
                "2026-02-14T10:00:00.000",
                "2026-02-14T16:00:00.000",
                None,
            )],
        ),
        now: "2026-02-14T16:00:00Z",
        open: false,
        reason: Reason::Closed,
        next_change: None,
        intervals: &[],
    });
}

#[test]
fn next_change_looks_past_a_week_but_intervals_do_not() {
    let status = evaluate(
        &BusinessHours {
            holiday: vec![schedule(
                "Winter break",
                "2026-12-19T00:00:00.000",
                "2027-01-04T00:00:00.000",
                None,
            )],
            ..hours("Europe/London", vec![weekdays()])
        },
        at("2026-12-21T10:00:00Z"),
        Horizon::default(),
    )
    .unwrap();
    assert_eq!(status.reason, Reason::Holiday);
    assert_eq!(
        status.next_change.map(format_with_offset).as_deref(),
        Some("2027-01-04T09:00:00+00:00")
    );
    assert!(status.open_intervals.is_empty());
}

#[test]
fn unusable_configuration_is_a_clear_error() {
    let now = at("2026-01-07T10:00:00Z");
    let error = |hours: BusinessHours| evaluate(&hours, now, Horizon::default()).unwrap_err();
    assert_eq!(
        error(hours("Mars/Olympus_Mons", vec![weekdays()])),
        HoursError::UnknownTimeZone("Mars/Olympus_Mons".into())
    );
    assert_eq!(
        error(hours("", vec![])),
        HoursError::UnknownTimeZone(String::new())
    );
    let backwards = schedule(
        "Backwards",
        "2026-01-05T17:00:00.000",
        "2026-01-05T09:00:00.000",
        None,
    );
    assert_eq!(
        error(hours("Europe/London", vec![backwards])),
        HoursError::EmptySchedule {
            schedule: "Backwards".into()
        }
    );
    let nonsense = schedule(
        "Nonsense",
        "2026-01-05T09:00:00.000",
        "2026-01-05T17:00:00.000",
        Some("FREQ=SOMETIMES"),
    );
    assert!(matches!(
        error(hours("Europe/London", vec![nonsense])),
        HoursError::InvalidRecurrence { schedule, .. } if schedule == "Nonsense"
    ));
    let message = HoursError::UnknownTimeZone("Mars/Olympus_Mons".into()).to_string();
    assert!(
        message.contains("Mars/Olympus_Mons") && message.contains("IANA"),
        "{message}"
    );
}

#[test]
fn the_answer_serialises_in_the_documented_shape() {
    let status = evaluate(
        &hours("Europe/London", vec![weekdays()]),
        at("2026-01-07T10:00:00.750Z"),
        Horizon::default(),
    )
    .unwrap();
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["open"], true);
    assert_eq!(json["reason"], "open");
    assert_eq!(json["timeZone"], "Europe/London");
    assert_eq!(json["nextChange"], "2026-01-07T17:00:00+00:00");
    assert_eq!(
        json["openIntervals"][0],
        serde_json::json!({"start": "2026-01-07T10:00:00+00:00", "end": "2026-01-07T17:00:00+00:00"})
    );
    let closed = evaluate(
        &BusinessHours {
            emergency: true,
            ..hours("Europe/London", vec![])
        },
        at("2026-01-07T10:00:00Z"),
        Horizon::default(),
    )
    .unwrap();
    let json = serde_json::to_value(&closed).unwrap();
    assert_eq!(json["reason"], "emergency");
    assert!(json["nextChange"].is_null());
}

#[test]
fn open_intervals_stop_a_week_from_now() {
    let status = evaluate(
        &hours("Europe/London", vec![weekdays()]),
        at("2026-01-07T10:00:00Z"),
        Horizon::default(),
    )
    .unwrap();
    let last = status.open_intervals.last().map(|interval| {
        (
            format_with_offset(interval.start),
            format_with_offset(interval.end),
        )
    });
    assert_eq!(
        status.open_intervals.len(),
        6,
        "Wed (from now) to Wed (until now)"
    );
    assert_eq!(
        last,
        Some((
            "2026-01-14T09:00:00+00:00".to_owned(),
            "2026-01-14T10:00:00+00:00".to_owned()
        ))
    );
}
