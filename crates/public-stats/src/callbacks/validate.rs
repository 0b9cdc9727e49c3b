//! Stage 2 of `POST /api/callback`: from the visitor's [`CallbackRequest`] to a [`ValidCallback`],
//! the domain value the rest of the pipeline trusts — a public queue, 1 or 2 callable numbers in
//! E.164 (the rules are `phone`'s), a displayable name, a time within the booking window and,
//! for a queue with business hours ([`ValidCallback::within_hours`]), within its open hours: a
//! request without a time while the queue is closed is booked for its next opening.
//!
//! It is not abuse control (`limits`). Errors name the field, never its value.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::phone::{CallableNumber, NumberProblem, NumberRules, last_two_digits, region};
use super::request::CallbackRequest;
use crate::hours::{Horizon, HoursStatus, Reason};
use crate::problem::ApiError;
use crate::queues::PublicQueues;

/// Genesys takes a list; a visitor has no use for more than a mobile and a landline, and each one
/// is a potential outbound call.
pub const MAX_NUMBERS: usize = 2;
/// A visitor's clock may run a little behind ours: "now" from their form is not "in the past".
const SCHEDULE_CLOCK_SKEW: time::Duration = time::Duration::minutes(5);
/// E.164 has at most 15 digits; 32 leaves room for `+`, spaces, dashes and brackets.
pub const MAX_NUMBER_CHARS: usize = 32;
/// The name is shown on the agent's desktop: long enough for real names, too short to carry a
/// message to the agent.
pub const MAX_NAME_CHARS: usize = 64;

/// A callback request that passed every check: only this is ever sent upstream.
#[derive(Clone, PartialEq)]
pub struct ValidCallback {
    /// On the public allow-list.
    pub queue: Uuid,
    /// Non-empty, at most [`MAX_NUMBERS`], E.164, each callable by [`NumberRules`].
    pub numbers: Vec<String>,
    /// Trimmed; `None` when absent or blank.
    pub user_name: Option<String>,
    /// Not in the past, within the booking window.
    pub scheduled_time: Option<OffsetDateTime>,
    /// The visitor asked for no time and `scheduled_time` is the queue's next opening: the
    /// visitor must be told when the call will come.
    pub booked_for_opening: bool,
    /// The ISO region of the first number, for Genesys's `countryCode`.
    pub country_code: Option<String>,
}

/// What a request is checked against, besides the public queues.
#[derive(Clone, Debug)]
pub struct CallbackRules {
    pub numbers: NumberRules,
    /// How far ahead a callback may be booked.
    pub max_schedule_ahead: time::Duration,
}

impl Default for CallbackRules {
    fn default() -> Self {
        CallbackRules {
            numbers: NumberRules::default(),
            max_schedule_ahead: time::Duration::days(14),
        }
    }
}

/// What is wrong with a well-formed request, as the visitor is told.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Invalid {
    #[error("`queueId` is required: the ID of the public queue to call back from")]
    MissingQueue,
    #[error("`queueId` and `routingData.queueId` name different queues: send one of them")]
    ConflictingQueues,
    #[error("`callbackNumbers` is required: a list of 1 to {MAX_NUMBERS} phone numbers")]
    MissingNumbers,
    #[error("`callbackNumbers` may contain at most {MAX_NUMBERS} phone numbers")]
    TooManyNumbers,
    #[error("`callbackNumbers` contains an empty phone number")]
    EmptyNumber,
    #[error("each phone number in `callbackNumbers` must be at most {MAX_NUMBER_CHARS} characters")]
    NumberTooLong,
    #[error(
        "each phone number in `callbackNumbers` must contain only printable ASCII characters \
         (digits, `+`, spaces, `-`, `(`, `)`)"
    )]
    NumberCharacters,
    #[error("`callbackUserName` must be at most {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error(
        "`callbackUserName` contains characters that are not allowed \
         (control or invisible formatting characters, `<`, `>`)"
    )]
    NameCharacters,
    #[error(
        "`callbackScheduledTime` must be an ISO-8601 (RFC 3339) date-time with an offset, \
         such as 2026-11-25T10:30:00.000Z"
    )]
    ScheduledTime,
    #[error("`callbackScheduledTime` is in the past")]
    ScheduledInPast,
    #[error("`callbackScheduledTime` may be at most {0} days ahead")]
    ScheduledTooFar(i64),
    #[error("`countryCode` must be a two-letter ISO 3166 region, such as GB")]
    CountryCode,
    #[error("a number in `callbackNumbers` {0}")]
    Number(NumberProblem),
}

impl Invalid {
    /// The request field the problem is about.
    pub fn field(&self) -> &'static str {
        match self {
            Invalid::MissingQueue | Invalid::ConflictingQueues => "queueId",
            Invalid::MissingNumbers
            | Invalid::TooManyNumbers
            | Invalid::EmptyNumber
            | Invalid::NumberTooLong
            | Invalid::NumberCharacters
            | Invalid::Number(_) => "callbackNumbers",
            Invalid::NameTooLong | Invalid::NameCharacters => "callbackUserName",
            Invalid::ScheduledTime | Invalid::ScheduledInPast | Invalid::ScheduledTooFar(_) => {
                "callbackScheduledTime"
            }
            Invalid::CountryCode => "countryCode",
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(error: Invalid) -> Self {
        ApiError::InvalidField {
            field: error.field(),
            reason: error.to_string(),
        }
    }
}

impl ValidCallback {
    /// Checks every field, then the queue against the allow-list (a queue that is not public is
    /// a 404, as on every other endpoint, so the answer does not say whether it exists).
    pub fn new(
        request: CallbackRequest,
        queues: &PublicQueues,
        rules: &CallbackRules,
        now: OffsetDateTime,
    ) -> Result<Self, ApiError> {
        let queue = queue_id(
            request.queue_id,
            request.routing_data.and_then(|r| r.queue_id),
        )?;
        let written_in = request
            .country_code
            .as_deref()
            .map(|code| region(code).ok_or(Invalid::CountryCode))
            .transpose()?;
        let numbers = numbers(request.callback_numbers)?;
        let numbers: Vec<CallableNumber> = numbers
            .iter()
            .map(|raw| {
                rules
                    .numbers
                    .check(raw, written_in)
                    .map_err(Invalid::Number)
            })
            .collect::<Result<_, _>>()?;
        let user_name = user_name(request.callback_user_name)?;
        let scheduled_time = scheduled_time(request.callback_scheduled_time)?
            .map(|at| within_booking_window(at, now, rules.max_schedule_ahead))
            .transpose()?;
        let queue = queues.resolve(&queue)?;
        let country_code = numbers.first().and_then(|n| n.region.clone());
        Ok(ValidCallback {
            queue,
            numbers: dedup(numbers.into_iter().map(|n| n.e164).collect()),
            user_name,
            scheduled_time,
            country_code,
            booked_for_opening: false,
        })
    }

    /// How far ahead the queue's business hours must be evaluated for a callback: past the
    /// booking window by a week, so a time asked for at its end still finds the next opening.
    pub fn hours_horizon(rules: &CallbackRules) -> Horizon {
        let reach = rules.max_schedule_ahead + time::Duration::days(7);
        Horizon {
            intervals: reach,
            next_change: reach.max(Horizon::default().next_change),
        }
    }

    /// Holds the callback to the queue's business hours (`hours`, evaluated at `now` over
    /// [`ValidCallback::hours_horizon`]; `None`: the queue has none and is always open). A time
    /// asked for must fall in an open period (400 naming the next opening otherwise); without
    /// one, a closed queue books the callback for its next opening. During an emergency, or with
    /// no opening in the booking window, there is nothing to book for (503).
    pub fn within_hours(
        mut self,
        hours: Option<&HoursStatus>,
        rules: &CallbackRules,
        now: OffsetDateTime,
    ) -> Result<Self, ApiError> {
        let Some(hours) = hours else {
            return Ok(self);
        };
        let closed = ApiError::Closed {
            emergency: hours.reason == Reason::Emergency,
            within_days: rules.max_schedule_ahead.whole_days(),
        };
        if hours.reason == Reason::Emergency {
            return Err(closed);
        }
        match self.scheduled_time {
            Some(asked) => {
                // A time a little in the past (the visitor's clock) means now.
                let at = asked.max(now);
                if hours
                    .open_intervals
                    .iter()
                    .any(|open| open.start <= at && at < open.end)
                {
                    return Ok(self);
                }
                let next = hours.open_intervals.iter().find(|open| open.start > at);
                Err(match next {
                    Some(open) => ApiError::OutsideHours {
                        next_open: open.start,
                    },
                    None => closed,
                })
            }
            None if hours.open => Ok(self),
            None => match hours.next_change {
                Some(opening) if opening <= now + rules.max_schedule_ahead => {
                    self.scheduled_time = Some(opening);
                    self.booked_for_opening = true;
                    Ok(self)
                }
                _ => Err(closed),
            },
        }
    }

    /// What the logs may say about the numbers: the last 2 digits of the first one: enough to
    /// tell two requests apart, too little to identify or call the visitor.
    pub fn number_hint(&self) -> String {
        self.numbers
            .first()
            .map(|n| format!("…{}", last_two_digits(n)))
            .unwrap_or_default()
    }
}

/// Numbers and names are personal data: `Debug` shows neither.
impl fmt::Debug for ValidCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidCallback")
            .field("queue", &self.queue)
            .field(
                "numbers",
                &format_args!("[{} redacted]", self.numbers.len()),
            )
            .field("user_name", &self.user_name.as_ref().map(|_| "[REDACTED]"))
            .field("scheduled_time", &self.scheduled_time)
            .field("booked_for_opening", &self.booked_for_opening)
            .finish()
    }
}

/// The seed sends `queueId`; Genesys (and so possibly the seed's pages) also accepts
/// `routingData.queueId`. Either is fine, both only if they agree.
fn queue_id(top: Option<String>, routing: Option<String>) -> Result<String, Invalid> {
    match (top, routing) {
        (Some(top), Some(routing)) if top != routing => Err(Invalid::ConflictingQueues),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(Invalid::MissingQueue),
    }
}

fn numbers(numbers: Option<Vec<String>>) -> Result<Vec<String>, Invalid> {
    let numbers = numbers
        .filter(|n| !n.is_empty())
        .ok_or(Invalid::MissingNumbers)?;
    if numbers.len() > MAX_NUMBERS {
        return Err(Invalid::TooManyNumbers);
    }
    numbers.iter().map(|n| number(n)).collect()
}

/// A cheap first look before libphonenumber's rules (`phone`): ASCII because a number is digits
/// and separators; anything else is a typo or an attempt at something.
fn number(raw: &str) -> Result<String, Invalid> {
    let number = raw.trim();
    if number.is_empty() {
        Err(Invalid::EmptyNumber)
    } else if number.len() > MAX_NUMBER_CHARS {
        Err(Invalid::NumberTooLong)
    } else if !number.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        Err(Invalid::NumberCharacters)
    } else {
        Ok(number.to_owned())
    }
}

/// Shown on the agent's desktop: no control characters, no invisible formatting (bidi overrides,
/// zero-width characters that make a name display as something else), no markup brackets. Blank
/// counts as absent, as a form with an empty name field sends `""`.
fn user_name(name: Option<String>) -> Result<Option<String>, Invalid> {
    let Some(name) = name.as_deref().map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS {
        Err(Invalid::NameTooLong)
    } else if name
        .chars()
        .any(|c| c.is_control() || is_invisible(c) || "<>".contains(c))
    {
        Err(Invalid::NameCharacters)
    } else {
        Ok(Some(name.to_owned()))
    }
}

/// Unicode format characters that change how text displays: zero-width (U+200B–U+200F), bidi
/// embeddings/overrides (U+202A–U+202E), bidi isolates (U+2066–U+2069), BOM (U+FEFF).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The same number written twice is one number (and one outbound call).
fn dedup(mut numbers: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    numbers.retain(|n| seen.insert(n.clone()));
    numbers
}

/// Not in the past (Genesys would call at once, or never) and not further ahead than the
/// operator allows (a booking for 9999 is a typo or a probe, not a customer).
fn within_booking_window(
    at: OffsetDateTime,
    now: OffsetDateTime,
    max_ahead: time::Duration,
) -> Result<OffsetDateTime, Invalid> {
    if at < now - SCHEDULE_CLOCK_SKEW {
        Err(Invalid::ScheduledInPast)
    } else if at > now + max_ahead {
        Err(Invalid::ScheduledTooFar(max_ahead.whole_days()))
    } else {
        Ok(at)
    }
}

/// Genesys documents `yyyy-MM-ddTHH:mm:ss.SSSZ`; RFC 3339 is that and its equivalents. A time
/// without an offset is refused: guessing the visitor's zone would call them at the wrong hour.
fn scheduled_time(time: Option<String>) -> Result<Option<OffsetDateTime>, Invalid> {
    time.map(|t| OffsetDateTime::parse(&t, &Rfc3339).map_err(|_| Invalid::ScheduledTime))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::request::RoutingDataRequest;
    use crate::queues::PublicQueueInfo;

    const PUBLIC: Uuid = uuid::uuid!("1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01");

    fn queues() -> PublicQueues {
        PublicQueues::new(vec![PublicQueueInfo {
            id: PUBLIC,
            name: "Sales".into(),
        }])
    }

    fn request(numbers: &[&str]) -> CallbackRequest {
        CallbackRequest {
            queue_id: Some(PUBLIC.to_string()),
            callback_numbers: Some(numbers.iter().map(|n| n.to_string()).collect()),
            ..CallbackRequest::default()
        }
    }

    /// Tests run at a fixed moment, so the scheduled times below stay in the future.
    const NOW: OffsetDateTime = time::macros::datetime!(2026-11-24 12:00 UTC);

    fn check(request: CallbackRequest) -> Result<ValidCallback, ApiError> {
        ValidCallback::new(request, &queues(), &CallbackRules::default(), NOW)
    }

    fn invalid(request: CallbackRequest) -> String {
        match check(request) {
            Err(error) => error.to_string(),
            Ok(valid) => panic!("accepted {valid:?}"),
        }
    }

    #[test]
    fn a_seed_request_becomes_a_trimmed_valid_callback() {
        let mut seed = request(&[" +1 (317) 222-2222 "]);
        seed.callback_user_name = Some("  Zoë O'Brien-Smith ".into());
        seed.callback_scheduled_time = Some("2026-11-25T10:30:00.000Z".into());
        let valid = check(seed).unwrap();
        assert_eq!(valid.queue, PUBLIC);
        assert_eq!(valid.numbers, ["+13172222222"]);
        assert_eq!(valid.country_code.as_deref(), Some("US"));
        assert_eq!(valid.user_name.as_deref(), Some("Zoë O'Brien-Smith"));
        assert_eq!(
            valid.scheduled_time,
            Some(time::macros::datetime!(2026-11-25 10:30 UTC))
        );
    }

    #[test]
    fn routing_data_queue_id_counts_when_it_agrees() {
        let routing = |id: Uuid| {
            Some(RoutingDataRequest {
                queue_id: Some(id.to_string()),
            })
        };
        let mut only_routing = request(&["+13172222222"]);
        only_routing.queue_id = None;
        only_routing.routing_data = routing(PUBLIC);
        assert!(check(only_routing).is_ok());
        let mut conflicting = request(&["+13172222222"]);
        conflicting.routing_data = routing(Uuid::new_v4());
        assert_eq!(invalid(conflicting), Invalid::ConflictingQueues.to_string());
    }

    #[test]
    fn refuses_bad_numbers_names_and_times() {
        let long = "1".repeat(MAX_NUMBER_CHARS + 1);
        for (numbers, expected) in [
            (&[][..], Invalid::MissingNumbers),
            (&["1", "2", "3"][..], Invalid::TooManyNumbers),
            (&["911"][..], Invalid::Number(NumberProblem::Invalid)),
            (
                &["+1 900 555 0199"][..],
                Invalid::Number(NumberProblem::KindNotAllowed),
            ),
            (&["  "][..], Invalid::EmptyNumber),
            (&[long.as_str()][..], Invalid::NumberTooLong),
            (&["+1317\n2222"][..], Invalid::NumberCharacters),
            (&["+١٣١٧"][..], Invalid::NumberCharacters),
        ] {
            assert_eq!(
                invalid(request(numbers)),
                expected.to_string(),
                "{numbers:?}"
            );
        }
        for (name, expected) in [
            ("x".repeat(MAX_NAME_CHARS + 1), Invalid::NameTooLong),
            ("Bob\u{7}".into(), Invalid::NameCharacters),
            ("Bob\u{202E}nhoJ".into(), Invalid::NameCharacters),
            ("<img src=x>".into(), Invalid::NameCharacters),
        ] {
            let mut bad = request(&["+13172222222"]);
            bad.callback_user_name = Some(name);
            assert_eq!(invalid(bad), expected.to_string());
        }
        for time in ["tomorrow", "2026-11-25T10:30:00", "2026-11-25"] {
            let mut bad = request(&["+13172222222"]);
            bad.callback_scheduled_time = Some(time.into());
            assert_eq!(invalid(bad), Invalid::ScheduledTime.to_string(), "{time}");
        }
        for (time, expected) in [
            ("1900-01-01T00:00:00Z", Invalid::ScheduledInPast),
            ("2020-06-01T10:00:00Z", Invalid::ScheduledInPast),
            ("2026-11-24T11:50:00Z", Invalid::ScheduledInPast),
            ("2026-12-08T12:00:01Z", Invalid::ScheduledTooFar(14)),
            ("9999-12-31T23:59:59Z", Invalid::ScheduledTooFar(14)),
        ] {
            let mut bad = request(&["+13172222222"]);
            bad.callback_scheduled_time = Some(time.into());
            assert_eq!(invalid(bad), expected.to_string(), "{time}");
        }
        let mut bad_region = request(&["020 7946 0018"]);
        bad_region.country_code = Some("GBR".into());
        assert_eq!(invalid(bad_region), Invalid::CountryCode.to_string());
    }

    #[test]
    fn the_booking_window_edges_are_inside() {
        for time in ["2026-11-24T11:56:00Z", "2026-12-08T12:00:00Z"] {
            let mut edge = request(&["+13172222222"]);
            edge.callback_scheduled_time = Some(time.into());
            assert!(check(edge).is_ok(), "{time}");
        }
    }

    #[test]
    fn national_numbers_are_read_in_the_request_region_and_duplicates_merge() {
        let mut national = request(&["020 7946 0018", "+44 20 7946 0018"]);
        national.country_code = Some("gb".into());
        let valid = check(national).unwrap();
        assert_eq!(valid.numbers, ["+442079460018"]);
        assert_eq!(valid.country_code.as_deref(), Some("GB"));
    }

    #[test]
    fn a_queue_that_is_not_public_is_unknown() {
        let mut other = request(&["+13172222222"]);
        other.queue_id = Some(Uuid::new_v4().to_string());
        assert_eq!(invalid(other), ApiError::UnknownQueue.to_string());
        let mut missing = request(&["+13172222222"]);
        missing.queue_id = None;
        assert_eq!(invalid(missing), Invalid::MissingQueue.to_string());
    }

    #[test]
    fn logs_and_debug_show_at_most_two_digits() {
        let valid = check(request(&["+1 317 222 2291"])).unwrap();
        assert_eq!(valid.number_hint(), "…91");
        assert_eq!(last_two_digits("7"), "7");
        let shown = format!("{valid:?}");
        assert!(!shown.contains("317") && !shown.contains("2291"), "{shown}");
    }

    mod hours {
        use super::*;
        use crate::hours::{BusinessHours, ScheduleSpec, evaluate};

        /// Monday to Friday, 09:00–17:00 in London (UTC in November).
        fn weekdays(emergency: bool) -> BusinessHours {
            let local = |text| genesys::architect::parse_local_date_time(text).unwrap();
            BusinessHours {
                time_zone: "Europe/London".into(),
                open: vec![ScheduleSpec {
                    name: "Weekdays".into(),
                    start: local("2026-01-05T09:00:00"),
                    end: local("2026-01-05T17:00:00"),
                    rrule: Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR".into()),
                }],
                closed: vec![],
                holiday: vec![],
                emergency,
            }
        }

        fn at(text: &str) -> OffsetDateTime {
            OffsetDateTime::parse(text, &Rfc3339).unwrap()
        }

        /// `request` (with `asked` as its time) held to `hours` at `now`.
        fn fit(
            hours: &BusinessHours,
            now: &str,
            asked: Option<&str>,
        ) -> Result<Option<OffsetDateTime>, ApiError> {
            let rules = CallbackRules::default();
            let now = at(now);
            let mut asking = request(&["+13172222222"]);
            asking.callback_scheduled_time = asked.map(str::to_owned);
            let status = evaluate(hours, now, ValidCallback::hours_horizon(&rules)).unwrap();
            let valid = ValidCallback::new(asking, &queues(), &rules, now)?.within_hours(
                Some(&status),
                &rules,
                now,
            )?;
            assert_eq!(
                valid.booked_for_opening,
                asked.is_none() && valid.scheduled_time.is_some()
            );
            Ok(valid.scheduled_time)
        }

        #[test]
        fn open_hours_change_nothing() {
            let hours = weekdays(false);
            assert_eq!(fit(&hours, "2026-11-24T12:00:00Z", None).unwrap(), None);
            let inside = "2026-11-25T10:00:00Z";
            assert_eq!(
                fit(&hours, "2026-11-24T12:00:00Z", Some(inside)).unwrap(),
                Some(at(inside))
            );
        }

        #[test]
        fn a_time_outside_the_hours_is_refused_naming_the_next_opening() {
            let refusal = fit(
                &weekdays(false),
                "2026-11-24T12:00:00Z",
                Some("2026-11-27T20:00:00Z"),
            )
            .unwrap_err();
            match &refusal {
                ApiError::OutsideHours { next_open } => {
                    assert_eq!(
                        *next_open,
                        at("2026-11-30T09:00:00Z"),
                        "Friday night → Monday"
                    )
                }
                other => panic!("{other:?}"),
            }
            assert!(
                refusal.to_string().contains("2026-11-30T09:00:00+00:00"),
                "{refusal}"
            );
        }

        #[test]
        fn closed_without_a_time_books_the_next_opening() {
            let booked = fit(&weekdays(false), "2026-11-24T18:00:00Z", None).unwrap();
            assert_eq!(booked, Some(at("2026-11-25T09:00:00Z")));
        }

        #[test]
        fn an_emergency_or_no_opening_leaves_nothing_to_book() {
            for asked in [None, Some("2026-11-25T10:00:00Z")] {
                let refusal = fit(&weekdays(true), "2026-11-24T12:00:00Z", asked).unwrap_err();
                assert!(
                    matches!(
                        refusal,
                        ApiError::Closed {
                            emergency: true,
                            ..
                        }
                    ),
                    "{refusal:?}"
                );
            }
            let never = BusinessHours {
                open: vec![],
                ..weekdays(false)
            };
            let refusal = fit(&never, "2026-11-24T12:00:00Z", None).unwrap_err();
            assert!(
                matches!(
                    refusal,
                    ApiError::Closed {
                        emergency: false,
                        ..
                    }
                ),
                "{refusal:?}"
            );
        }
    }
}
