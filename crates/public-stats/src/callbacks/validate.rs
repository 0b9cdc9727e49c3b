//! Stage 2 of `POST /api/callback`: from the visitor's [`CallbackRequest`] to a [`ValidCallback`],
//! the domain value the rest of the pipeline trusts — a public queue, 1 to 3 plausible number
//! strings, a displayable name, a real date-time.
//!
//! It is not phone-number validation (E.164 parsing and normalisation, country rules come later
//! and slot in after this stage) and not abuse control. Errors name the field, never its value.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::request::CallbackRequest;
use crate::problem::ApiError;
use crate::queues::PublicQueues;

/// Genesys takes a list; a visitor has no use for more than a few numbers, and each one is a
/// potential outbound call.
pub const MAX_NUMBERS: usize = 3;
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
    /// Non-empty, at most [`MAX_NUMBERS`], each trimmed, printable ASCII, ≤ [`MAX_NUMBER_CHARS`].
    pub numbers: Vec<String>,
    /// Trimmed; `None` when absent or blank.
    pub user_name: Option<String>,
    pub scheduled_time: Option<OffsetDateTime>,
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
            | Invalid::NumberCharacters => "callbackNumbers",
            Invalid::NameTooLong | Invalid::NameCharacters => "callbackUserName",
            Invalid::ScheduledTime => "callbackScheduledTime",
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
    pub fn new(request: CallbackRequest, queues: &PublicQueues) -> Result<Self, ApiError> {
        let queue = queue_id(
            request.queue_id,
            request.routing_data.and_then(|r| r.queue_id),
        )?;
        let numbers = numbers(request.callback_numbers)?;
        let user_name = user_name(request.callback_user_name)?;
        let scheduled_time = scheduled_time(request.callback_scheduled_time)?;
        let queue = queues.resolve(&queue)?;
        Ok(ValidCallback {
            queue,
            numbers,
            user_name,
            scheduled_time,
        })
    }

    /// What the logs may say about the numbers: the last 2 digits of the first one: enough to
    /// tell two requests apart, too little to identify or call the visitor.
    pub fn number_hint(&self) -> String {
        self.numbers
            .first()
            .map(|n| number_hint(n))
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
            .finish()
    }
}

/// `…42`: the last two digits, enough to tell two requests apart in a log, not to call anyone.
fn number_hint(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    format!("…{tail}")
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

/// Plausibility only: E.164 parsing comes with phone validation. ASCII because a number is
/// digits and separators; anything else is a typo or an attempt at something.
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

    fn invalid(request: CallbackRequest) -> String {
        match ValidCallback::new(request, &queues()) {
            Err(error) => error.to_string(),
            Ok(valid) => panic!("accepted {valid:?}"),
        }
    }

    #[test]
    fn a_seed_request_becomes_a_trimmed_valid_callback() {
        let mut seed = request(&[" +1 (317) 222-2222 "]);
        seed.callback_user_name = Some("  Zoë O'Brien-Smith ".into());
        seed.callback_scheduled_time = Some("2026-11-25T10:30:00.000Z".into());
        let valid = ValidCallback::new(seed, &queues()).unwrap();
        assert_eq!(valid.queue, PUBLIC);
        assert_eq!(valid.numbers, ["+1 (317) 222-2222"]);
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
        assert!(ValidCallback::new(only_routing, &queues()).is_ok());
        let mut conflicting = request(&["+13172222222"]);
        conflicting.routing_data = routing(Uuid::new_v4());
        assert_eq!(invalid(conflicting), Invalid::ConflictingQueues.to_string());
    }

    #[test]
    fn refuses_bad_numbers_names_and_times() {
        let long = "1".repeat(MAX_NUMBER_CHARS + 1);
        for (numbers, expected) in [
            (&[][..], Invalid::MissingNumbers),
            (&["1", "2", "3", "4"][..], Invalid::TooManyNumbers),
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
        let valid = ValidCallback::new(request(&["+1 317 222 2291"]), &queues()).unwrap();
        assert_eq!(valid.number_hint(), "…91");
        assert_eq!(number_hint("7"), "…7");
        let shown = format!("{valid:?}");
        assert!(!shown.contains("317") && !shown.contains("2291"), "{shown}");
    }
}
