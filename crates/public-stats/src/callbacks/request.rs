//! Stage 1 of `POST /api/callback`: from HTTP (headers and body bytes) to a [`CallbackRequest`],
//! the visitor's input exactly as sent, strictly parsed: only the seed's fields (plus the
//! region to read national numbers in, and the form's honeypot), each with the right JSON type.
//!
//! It checks shape, not meaning (lengths, queue, time format are `validate`'s job), and it never
//! puts a value the visitor sent into an error message: a value may be a phone number. Field
//! *names* are echoed (shortened), because naming the offending field is the point of the 400.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::problem::{ApiError, excerpt};

/// Largest accepted body. A real request is ~200 bytes; 4 KiB leaves room for long names in
/// multi-byte scripts and still bounds what an anonymous visitor can make us buffer.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// The top-level fields a visitor may send: the seed's body, `countryCode` (the ISO region a
/// national number is written in; Genesys's field of the same name, which we fill from the parsed
/// number) and [`HONEYPOT_FIELD`]. Everything else in the Genesys `CreateCallbackCommand`
/// (`scriptId`, `data`, `callerId`, …) is ours to set or nobody's: accepting them would let a
/// visitor choose the script, caller ID or routing the agent sees (mass assignment).
const FIELDS: &[&str] = &[
    "queueId",
    "routingData",
    "callbackNumbers",
    "callbackUserName",
    "callbackScheduledTime",
    "countryCode",
    HONEYPOT_FIELD,
];

/// A field of the widget's form that people never see (hidden from sight and from assistive
/// technology): only a bot filling every input writes in it.
pub const HONEYPOT_FIELD: &str = "website";

/// Inside `routingData` only `queueId` is accepted. Genesys reads the queue from either place and
/// the seed's pages may send `{"routingData":{"queueId":…}}` (the form its README points to), so
/// refusing it would break them; `priority`, `skillIds`, `preferredAgentIds`, `scoredAgents`,
/// `routingFlags`, … would let a visitor jump the queue or pick an agent, so they are refused.
const ROUTING_FIELDS: &[&str] = &["queueId"];

/// The visitor's callback request as sent. Unknown fields are denied twice: by the explicit
/// check in [`CallbackRequest::from_json`] (which names the field with its path) and by serde as
/// a backstop, so a field added here without updating `FIELDS` still cannot slip through.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(
    description = "A callback request: the original Public Stats Service's fields, plus \
    `countryCode` (the region a national number is written in) and the form's hidden `website` \
    field. No other field is accepted; each is checked beyond this shape (a public queue, a valid \
    number, a time within the booking window).",
    // The sandbox's demo Sales queue: an example that works against `cargo run`.
    example = json!({
        "queueId": "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01",
        "callbackNumbers": ["+13175550123"],
        "callbackUserName": "Ada Lovelace"
    })
)]
pub struct CallbackRequest {
    #[serde(default, deserialize_with = "queue_id")]
    #[schema(format = Uuid)]
    pub queue_id: Option<String>,
    #[serde(default)]
    pub routing_data: Option<RoutingDataRequest>,
    #[serde(default, deserialize_with = "callback_numbers")]
    #[schema(min_items = 1, max_items = 2)]
    pub callback_numbers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "callback_user_name")]
    #[schema(max_length = 64)]
    pub callback_user_name: Option<String>,
    #[serde(default, deserialize_with = "callback_scheduled_time")]
    #[schema(format = DateTime)]
    pub callback_scheduled_time: Option<String>,
    #[serde(default, deserialize_with = "country_code")]
    pub country_code: Option<String>,
    #[serde(default, deserialize_with = "honeypot")]
    pub website: Option<String>,
}

/// `routingData` as a visitor may send it: the queue and nothing else.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingDataRequest {
    #[serde(default, deserialize_with = "routing_queue_id")]
    pub queue_id: Option<String>,
}

/// Why a request could not even be read as a callback request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The body broke off or its framing is wrong (e.g. a malformed chunk size).
    #[error(
        "the request body could not be read: its chunked transfer encoding is malformed or it ended early"
    )]
    Unreadable,
    #[error("the request body is not valid JSON (line {line}, column {column})")]
    Malformed { line: usize, column: usize },
    #[error("the request body must be a JSON object")]
    NotAnObject,
    #[error("`routingData` must be an object containing only `queueId`")]
    RoutingDataNotAnObject,
    /// The field's name, as an [`excerpt`] (quoted).
    #[error(
        "{0} cannot be set by a visitor: a callback request may contain only `queueId` \
         (or `routingData.queueId`), `callbackNumbers`, `callbackUserName`, \
         `callbackScheduledTime` and `countryCode`"
    )]
    ForbiddenField(String),
    /// A known field with the wrong JSON type; the message (ours) names the field.
    #[error("{0}")]
    WrongType(String),
}

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        match error {
            // 415 rather than a generic 400: it is the precise status, and it is what refuses
            // cross-site HTML form posts (text/plain, urlencoded, multipart), which a
            // browser sends without a CORS preflight.
            RequestError::UnsupportedMediaType => ApiError::UnsupportedMediaType,
            RequestError::TooLarge => ApiError::BodyTooLarge(MAX_BODY_BYTES),
            other => ApiError::BadBody(other.to_string()),
        }
    }
}

/// Whether reading stopped at the size limit, rather than at broken framing or a vanished client.
fn over_the_limit(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = current.source();
    }
    false
}

impl CallbackRequest {
    /// Reads and parses a request: content type, then size, then JSON, then shape. Cheapest
    /// refusals first, so a large non-JSON body is refused without being read. Also returns the
    /// body's SHA-256 (hex), which tells an `Idempotency-Key` replay from a different request.
    pub async fn read(headers: &HeaderMap, body: Body) -> Result<(Self, String), RequestError> {
        if !is_json(headers) {
            return Err(RequestError::UnsupportedMediaType);
        }
        if declared_length(headers).is_some_and(|length| length > MAX_BODY_BYTES) {
            return Err(RequestError::TooLarge);
        }
        // Without a (truthful) Content-Length the limit is enforced while reading.
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .map_err(|error| {
                if over_the_limit(&error) {
                    RequestError::TooLarge
                } else {
                    RequestError::Unreadable
                }
            })?;
        let digest = Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok((Self::from_json(&bytes)?, digest))
    }

    /// The honeypot was filled in: a bot, to be answered as if it had worked.
    pub fn is_from_a_bot(&self) -> bool {
        self.website
            .as_deref()
            .is_some_and(|value| !value.is_empty())
    }

    /// Parses a body already read.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RequestError> {
        // Through `Value` first: syntax errors are told apart from shape errors, and the shape
        // can be checked field by field with messages that name the path.
        let value: Value = serde_json::from_slice(bytes).map_err(|e| RequestError::Malformed {
            line: e.line(),
            column: e.column(),
        })?;
        let Value::Object(object) = &value else {
            return Err(RequestError::NotAnObject);
        };
        check_fields(object)?;
        serde_json::from_value(value).map_err(|e| RequestError::WrongType(e.to_string()))
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Refuses any field a visitor may not set, naming it with its path.
fn check_fields(object: &Map<String, Value>) -> Result<(), RequestError> {
    if let Some(key) = first_unknown(object, FIELDS) {
        return Err(RequestError::ForbiddenField(excerpt(key)));
    }
    match object.get("routingData") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(routing)) => match first_unknown(routing, ROUTING_FIELDS) {
            Some(key) => Err(RequestError::ForbiddenField(excerpt(&format!(
                "routingData.{key}"
            )))),
            None => Ok(()),
        },
        Some(_) => Err(RequestError::RoutingDataNotAnObject),
    }
}

fn first_unknown<'a>(object: &'a Map<String, Value>, allowed: &[&str]) -> Option<&'a str> {
    object
        .keys()
        .map(String::as_str)
        .find(|key| !allowed.contains(key))
}

// Field deserialisers: serde's own messages quote the offending value ("invalid type: integer
// `15551234567`") — possibly a phone number — so each field replaces them with one naming the
// field only.

fn typed<'de, D, T>(deserializer: D, message: &'static str) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map_err(|_| serde::de::Error::custom(message))
}

fn queue_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    typed(d, "`queueId` must be a string (the ID of a public queue)")
}

fn routing_queue_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    typed(
        d,
        "`routingData.queueId` must be a string (the ID of a public queue)",
    )
}

fn callback_numbers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    typed(d, "`callbackNumbers` must be an array of strings")
}

fn callback_user_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    typed(d, "`callbackUserName` must be a string")
}

fn callback_scheduled_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    typed(d, "`callbackScheduledTime` must be a string")
}

fn country_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    typed(
        d,
        "`countryCode` must be a string (an ISO 3166 region such as GB)",
    )
}

fn honeypot<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    typed(d, "`website` must be a string")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn parse(json: &str) -> Result<CallbackRequest, RequestError> {
        CallbackRequest::from_json(json.as_bytes())
    }

    #[test]
    fn accepts_the_seed_body_and_routing_data_queue_id() {
        let request = parse(
            r#"{"queueId":"q","callbackNumbers":["+1 317"],"callbackUserName":"Jo",
                "callbackScheduledTime":"2026-01-01T00:00:00Z","routingData":{"queueId":"q"}}"#,
        )
        .unwrap();
        assert_eq!(request.queue_id.as_deref(), Some("q"));
        assert_eq!(
            request.routing_data.and_then(|d| d.queue_id).as_deref(),
            Some("q")
        );
        assert_eq!(request.callback_numbers, Some(vec!["+1 317".to_owned()]));
    }

    #[test]
    fn names_forbidden_fields_with_their_path() {
        for (json, field) in [
            (r#"{"scriptId":"s"}"#, "\"scriptId\""),
            (
                r#"{"routingData":{"priority":1}}"#,
                "\"routingData.priority\"",
            ),
            (
                r#"{"routingData":{"queueId":"q","skillIds":[]}}"#,
                "\"routingData.skillIds\"",
            ),
        ] {
            match parse(json) {
                Err(error @ RequestError::ForbiddenField(_)) => {
                    assert!(error.to_string().contains(field), "{error}")
                }
                other => panic!("{json}: {:?}", other.err()),
            }
        }
    }

    #[test]
    fn type_errors_name_the_field_but_never_echo_the_value() {
        for (json, field) in [
            (r#"{"callbackNumbers":[15551234567]}"#, "`callbackNumbers`"),
            (r#"{"callbackNumbers":"15551234567"}"#, "`callbackNumbers`"),
            (r#"{"queueId":15551234567}"#, "`queueId`"),
            (
                r#"{"routingData":{"queueId":15551234567}}"#,
                "`routingData.queueId`",
            ),
            (r#"{"callbackUserName":15551234567}"#, "`callbackUserName`"),
        ] {
            let error = parse(json).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(field), "{json}: {error}");
            assert!(!error.contains("1555"), "{json}: {error}");
        }
        assert_eq!(
            parse(r#""15551234567""#).err(),
            Some(RequestError::NotAnObject)
        );
    }

    #[test]
    fn the_region_and_the_honeypot_are_read() {
        let request = parse(r#"{"countryCode":"GB","website":""}"#).unwrap();
        assert_eq!(request.country_code.as_deref(), Some("GB"));
        assert!(!request.is_from_a_bot(), "an empty honeypot is a person");
        assert!(
            parse(r#"{"website":"http://spam.example"}"#)
                .unwrap()
                .is_from_a_bot()
        );
        assert!(!parse("{}").unwrap().is_from_a_bot());
    }

    #[test]
    fn syntax_errors_are_malformed() {
        assert!(matches!(
            parse(r#"{"queueId": "#),
            Err(RequestError::Malformed { line: 1, .. })
        ));
    }

    #[test]
    fn only_application_json_is_json() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            is_json(&headers)
        };
        assert!(with("application/json") && with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain") && !with("application/x-www-form-urlencoded"));
        assert!(!with("application/jsonx") && !is_json(&HeaderMap::new()));
    }
}
