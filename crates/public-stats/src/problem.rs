//! Errors as visitors see them: RFC 9457 `application/problem+json` bodies with a stable `type`,
//! a short `title` and a `detail` that says what to fix.
//!
//! Only text this service wrote reaches a visitor: upstream (Genesys) error bodies are logged at
//! most by kind and never copied into a problem, and a visitor's own input is quoted back only as
//! a short [`excerpt`].

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Everything that can go wrong in a request, as the visitor is told about it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The queue is not one of the monitored (public) queues, or not a queue ID at all.
    #[error("no public queue has this ID")]
    UnknownQueue,
    /// A query parameter is missing or has a value we do not know.
    #[error("{0}")]
    BadQuery(String),
    /// The body is not JSON, or not the JSON we expect.
    #[error("{0}")]
    BadBody(String),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    /// Genesys could not be reached or refused; details are in the logs, not here.
    #[error("the contact centre could not be reached; please try again shortly")]
    UpstreamUnavailable,
    /// Genesys (or our own request budget) says to wait; the answer carries `Retry-After`.
    #[error(
        "the contact centre is busy; please try again in {} seconds",
        retry_after_secs(*.retry_after)
    )]
    UpstreamBusy { retry_after: std::time::Duration },
    #[error("no such resource")]
    NotFound,
    /// One field of a JSON body is wrong; `field` is its name (RFC 9457 `invalid-params`), so a
    /// form can show the message next to the right input.
    #[error("{reason}")]
    InvalidField { field: &'static str, reason: String },
    /// A WebSocket endpoint asked for without a WebSocket handshake.
    #[error("this endpoint is a WebSocket: connect with a WebSocket client (Upgrade: websocket)")]
    NotWebSocket,
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// A browser page from an origin that may not create callbacks or open WebSockets
    /// (`ALLOWED_ORIGINS`).
    #[error(
        "this page's origin may not send requests here; the site owner can add it to ALLOWED_ORIGINS (ALLOWED_ORIGINS=* allows any site)"
    )]
    ForeignOrigin,
    /// One client address holds as many WebSockets as `WS_MAX_PER_ADDRESS` allows.
    #[error(
        "this address has {0} live-statistics connections open, the most one address may hold; close one first"
    )]
    TooManySockets(u32),
    /// The service holds all the WebSockets it takes, or takes new ones more slowly right now
    /// (a restart's reconnects); the answer carries `Retry-After`.
    #[error(
        "the service takes no more live-statistics connections right now; please try again in {} seconds",
        retry_after_secs(*.retry_after)
    )]
    SocketsUnavailable { retry_after: std::time::Duration },
    /// A callback to this number from this queue is already on its way; `id` is its receipt.
    #[error("a callback to this number is already pending; we will call you soon")]
    CallbackAlreadyPending { id: String },
    /// A per-number or per-address callback limit; the answer carries `Retry-After`.
    #[error(
        "too many callback requests; please try again in {} minutes",
        whole_minutes(*.retry_after)
    )]
    TooManyCallbacks { retry_after: std::time::Duration },
    /// The asked `callbackScheduledTime` falls outside the queue's business hours; `next_open` is
    /// the first opening after it.
    #[error(
        "the contact centre is closed at `callbackScheduledTime`; it next opens at {}: choose a \
         time when it is open",
        crate::hours::format_with_offset(*.next_open)
    )]
    OutsideHours { next_open: time::OffsetDateTime },
    /// The queue is closed with no opening to book a callback for: an emergency, or no opening
    /// within the booking window.
    #[error("{}", closed_detail(*.emergency, *.within_days))]
    Closed { emergency: bool, within_days: i64 },
    /// A queue's or the org's callback capacity is used up.
    #[error("we cannot take more callback requests right now; please try again later")]
    CallbacksUnavailable,
    /// The store shared by the service's instances cannot be reached: nothing was stored. The
    /// answer carries `Retry-After`.
    #[error(
        "callback requests cannot be taken right now; please try again in {} seconds",
        retry_after_secs(*.retry_after)
    )]
    CallbackStoreUnavailable { retry_after: std::time::Duration },
    #[error("`Idempotency-Key` must be 1 to 255 visible ASCII characters, such as a UUID")]
    IdempotencyKeyInvalid,
    #[error("a request with this `Idempotency-Key` is still being processed; retry shortly")]
    IdempotencyKeyInUse,
    #[error("this `Idempotency-Key` was already used for a different request")]
    IdempotencyKeyReused,
    #[error("the request's URL is longer than {0} bytes")]
    UriTooLong(usize),
    #[error("the request's headers are larger than {bytes} bytes or more than {count}")]
    HeadersTooLarge { bytes: usize, count: usize },
    /// The request (its body included) took longer than `REQUEST_TIMEOUT`.
    #[error("the request took too long; please try again")]
    RequestTimeout,
    /// `MAX_CONNECTIONS` are open; the answer carries `Retry-After` and the connection closes.
    #[error(
        "the service is handling as many connections as it can; please try again in {} seconds",
        retry_after_secs(*.retry_after)
    )]
    TooManyConnections { retry_after: std::time::Duration },
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::UnknownQueue | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::ForeignOrigin => StatusCode::FORBIDDEN,
            ApiError::BadQuery(_) | ApiError::BadBody(_) | ApiError::InvalidField { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NotWebSocket => StatusCode::UPGRADE_REQUIRED,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::OutsideHours { .. } => StatusCode::BAD_REQUEST,
            ApiError::UpstreamUnavailable
            | ApiError::UpstreamBusy { .. }
            | ApiError::Closed { .. }
            | ApiError::CallbacksUnavailable
            | ApiError::CallbackStoreUnavailable { .. }
            | ApiError::SocketsUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManySockets(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::CallbackAlreadyPending { .. } | ApiError::IdempotencyKeyInUse => {
                StatusCode::CONFLICT
            }
            ApiError::TooManyCallbacks { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::IdempotencyKeyInvalid => StatusCode::BAD_REQUEST,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyConnections { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A stable, machine-readable identifier of the kind of problem.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::UnknownQueue => "unknown-queue",
            ApiError::BadQuery(_) => "bad-query",
            ApiError::BadBody(_) | ApiError::InvalidField { .. } => "bad-body",
            ApiError::NotWebSocket => "websocket-required",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::BodyTooLarge(_) => "body-too-large",
            ApiError::UpstreamUnavailable => "upstream-unavailable",
            ApiError::UpstreamBusy { .. } => "upstream-busy",
            ApiError::NotFound => "not-found",
            ApiError::ForeignOrigin => "foreign-origin",
            ApiError::TooManySockets(_) => "too-many-sockets",
            ApiError::SocketsUnavailable { .. } => "sockets-unavailable",
            ApiError::CallbackAlreadyPending { .. } => "callback-pending",
            ApiError::TooManyCallbacks { .. } => "too-many-callbacks",
            ApiError::CallbacksUnavailable => "callbacks-unavailable",
            ApiError::OutsideHours { .. } => "outside-hours",
            ApiError::Closed { .. } => "closed",
            ApiError::CallbackStoreUnavailable { .. } => "callback-store-unavailable",
            ApiError::IdempotencyKeyInvalid => "bad-idempotency-key",
            ApiError::IdempotencyKeyInUse => "idempotency-key-in-use",
            ApiError::IdempotencyKeyReused => "idempotency-key-reused",
            ApiError::UriTooLong(_) => "uri-too-long",
            ApiError::HeadersTooLarge { .. } => "headers-too-large",
            ApiError::RequestTimeout => "request-timeout",
            ApiError::TooManyConnections { .. } => "too-many-connections",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::UnknownQueue => "Unknown queue",
            ApiError::BadQuery(_) => "Invalid query parameters",
            ApiError::BadBody(_) | ApiError::InvalidField { .. } => "Invalid request body",
            ApiError::NotWebSocket => "WebSocket required",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::BodyTooLarge(_) => "Request body too large",
            ApiError::UpstreamUnavailable => "Contact centre unavailable",
            ApiError::UpstreamBusy { .. } => "Contact centre busy",
            ApiError::NotFound => "Not found",
            ApiError::ForeignOrigin => "Origin not allowed",
            ApiError::TooManySockets(_) => "Too many connections from this address",
            ApiError::SocketsUnavailable { .. } => "Live connections unavailable",
            ApiError::CallbackAlreadyPending { .. } => "Callback already pending",
            ApiError::TooManyCallbacks { .. } => "Too many callback requests",
            ApiError::CallbacksUnavailable => "Callbacks unavailable",
            ApiError::OutsideHours { .. } => "Outside business hours",
            ApiError::Closed { .. } => "Closed",
            ApiError::CallbackStoreUnavailable { .. } => "Callbacks temporarily unavailable",
            ApiError::IdempotencyKeyInvalid => "Invalid Idempotency-Key",
            ApiError::IdempotencyKeyInUse => "Request in progress",
            ApiError::IdempotencyKeyReused => "Idempotency-Key reused",
            ApiError::UriTooLong(_) => "URI too long",
            ApiError::HeadersTooLarge { .. } => "Request headers too large",
            ApiError::RequestTimeout => "Request timeout",
            ApiError::TooManyConnections { .. } => "Too many connections",
        }
    }
}

/// The wire form of a problem (RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Problem {
    /// `/problems/<kind>`: stable, for programs to tell problems apart.
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = String)]
    title: &'static str,
    /// The HTTP status, repeated.
    status: u16,
    /// What went wrong and what to do, in words for people.
    detail: String,
    /// The field that is wrong, for `bad-body` problems about one field.
    #[serde(rename = "invalid-params", skip_serializing_if = "Vec::is_empty")]
    invalid_params: Vec<InvalidParam>,
    /// The pending callback's receipt, for `callback-pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    id: Option<String>,
    /// For `outside-hours`: when the queue next opens after the time asked (RFC 3339 with the
    /// business hours' offset).
    #[serde(rename = "nextOpen", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime)]
    next_open: Option<String>,
    // `None` here: `telemetry::request_id` adds it to every problem body on the way out,
    // wherever the problem was made.
    /// The request's id (also in `X-Request-Id`), to quote when reporting a problem.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = true)]
    request_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct InvalidParam {
    #[schema(value_type = String)]
    name: &'static str,
    reason: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let invalid_params = match &self {
            ApiError::InvalidField { field, reason } => vec![InvalidParam {
                name: field,
                reason: reason.clone(),
            }],
            // The field a form should mark.
            ApiError::OutsideHours { .. } => vec![InvalidParam {
                name: "callbackScheduledTime",
                reason: self.to_string(),
            }],
            _ => Vec::new(),
        };
        let problem = Problem {
            kind: format!("/problems/{}", self.kind()),
            title: self.title(),
            status: status.as_u16(),
            detail: self.to_string(),
            invalid_params,
            id: match &self {
                ApiError::CallbackAlreadyPending { id } => Some(id.clone()),
                _ => None,
            },
            next_open: match &self {
                ApiError::OutsideHours { next_open } => {
                    Some(crate::hours::format_with_offset(*next_open))
                }
                _ => None,
            },
            request_id: None,
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        let retry_after = match &self {
            ApiError::UpstreamBusy { retry_after }
            | ApiError::TooManyConnections { retry_after }
            | ApiError::SocketsUnavailable { retry_after }
            | ApiError::CallbackStoreUnavailable { retry_after } => {
                Some(retry_after_secs(*retry_after))
            }
            ApiError::TooManyCallbacks { retry_after } => Some(whole_minutes(*retry_after) * 60),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

fn closed_detail(emergency: bool, within_days: i64) -> String {
    if emergency {
        "the contact centre is closed for an emergency and no reopening is scheduled, so no \
         callback can be booked now; please try again later"
            .to_owned()
    } else {
        format!(
            "the contact centre does not open within the next {within_days} days, so no \
             callback can be booked now"
        )
    }
}

/// Longest part of a visitor's input quoted back in a problem.
pub const EXCERPT_CHARS: usize = 40;

/// A visitor's input for a problem's `detail`: at most [`EXCERPT_CHARS`] characters (then `…`),
/// in double quotes with quotes, backslashes, control and invisible characters escaped. So an
/// answer never reflects a long input back whole, and nothing in it can end the quote or start a
/// line of its own.
pub fn excerpt(input: &str) -> String {
    let cut: String = input.chars().take(EXCERPT_CHARS).collect();
    let ellipsis = if cut.len() < input.len() { "…" } else { "" };
    format!("{cut:?}{ellipsis}")
}

/// Whole minutes, rounded up and at least 1: what a visitor can act on.
fn whole_minutes(wait: std::time::Duration) -> u64 {
    retry_after_secs(wait).div_ceil(60)
}

/// Whole seconds, rounded up and at least 1: `Retry-After: 0` would invite an immediate retry.
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    let rounded_up = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    rounded_up.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_short_quoted_and_escaped() {
        assert_eq!(excerpt("agents"), "\"agents\"");
        let long = "x".repeat(10_000);
        assert_eq!(
            excerpt(&long),
            format!("\"{}\"…", "x".repeat(EXCERPT_CHARS))
        );
        let tricky = excerpt("a\"b\nc\u{202e}d\\");
        assert_eq!(tricky, "\"a\\\"b\\nc\\u{202e}d\\\\\"");
        assert_eq!(excerpt(&"é".repeat(50)).chars().count(), EXCERPT_CHARS + 3);
    }
}
