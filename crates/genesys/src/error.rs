//! The one error type of this crate, and Genesys's own error body.
//!
//! `Display` never carries secrets, tokens, URLs or upstream message text: it is safe to log.
//! Upstream text stays available in [`ErrorBody`] for callers that decide to show it; it is not
//! meant to be forwarded to anonymous visitors.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

/// Everything that can go wrong talking to Genesys Cloud.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Genesys answered with a 4xx/5xx other than the ones below.
    #[error("Genesys answered {status}{}", code_suffix(body))]
    Api {
        status: StatusCode,
        /// `None` when the body was missing, too large or not an `ErrorBody`.
        body: Option<Box<ErrorBody>>,
    },
    /// Genesys said 429 and the wait it asked for exceeds what this call may wait (or it still
    /// said 429 after the last attempt). Nothing more is sent to that endpoint before it elapses.
    #[error("rate limited by Genesys for another {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// The client's own request budget (kept below Genesys's per-token limit) is spent.
    #[error("the client's request budget is exhausted")]
    BudgetExhausted,
    #[error("the request to Genesys timed out")]
    Timeout,
    /// No connection could be made; nothing was sent.
    #[error("could not connect to Genesys")]
    Connect(#[source] reqwest::Error),
    /// Any other transport failure (reset connection, broken body, …).
    #[error("HTTP transport error talking to Genesys")]
    Transport(#[source] reqwest::Error),
    /// Redirects are never followed: the API does not use them, and following one could send the
    /// bearer token elsewhere.
    #[error("Genesys answered with a redirect ({status}), which is not followed")]
    Redirect { status: StatusCode },
    #[error("the response body exceeds the {limit}-byte limit")]
    BodyTooLarge { limit: usize },
    /// A 2xx body that is not the JSON this client expects.
    #[error("could not decode the {what}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The OAuth token endpoint refused the client credentials.
    #[error("Genesys refused the client credentials ({status})")]
    Auth { status: StatusCode },
    /// A request this client would build is invalid (e.g. an unserialisable body).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The client's configuration cannot be used (e.g. a root certificate that is not one).
    #[error("invalid client configuration: {0}")]
    InvalidConfig(&'static str),
}

fn code_suffix(body: &Option<Box<ErrorBody>>) -> String {
    // The code is a stable machine identifier (`bad.request`); the message may echo user input.
    match body.as_deref().and_then(|body| body.code.as_deref()) {
        Some(code) => format!(" ({code})"),
        None => String::new(),
    }
}

impl Error {
    /// The HTTP status Genesys answered with, when the error is an answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Redirect { status } | Error::Auth { status } => {
                Some(*status)
            }
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            _ => None,
        }
    }
}

/// Genesys's `ErrorBody` model, field names as in the API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub message: Option<String>,
    pub code: Option<String>,
    pub status: Option<u16>,
    pub entity_id: Option<String>,
    pub entity_name: Option<String>,
    pub message_with_params: Option<String>,
    pub message_params: Option<HashMap<String, String>>,
    pub context_id: Option<String>,
    pub details: Option<Vec<ErrorDetail>>,
    pub errors: Option<Vec<ErrorBody>>,
    pub limit: Option<ErrorLimit>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    pub error_code: Option<String>,
    pub field_name: Option<String>,
    pub entity_id: Option<String>,
    pub entity_name: Option<String>,
}

/// The limit a 429 hit, when Genesys says which.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorLimit {
    pub key: Option<String>,
    pub namespace: Option<String>,
    pub value: Option<i64>,
}

impl ErrorBody {
    /// Parses an error response body; anything that is not an `ErrorBody` gives `None`.
    pub fn parse(bytes: &[u8]) -> Option<Box<ErrorBody>> {
        serde_json::from_slice(bytes).ok().map(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_error_body_and_ignores_unknown_fields() {
        let json = br#"{"message":"Rate limit exceeded +15551234","code":"too.many.requests.retry.after","status":429,
            "entityId":"e","entityName":"n","messageWithParams":"m {x}","messageParams":{"x":"1"},"contextId":"c",
            "details":[{"errorCode":"E","fieldName":"f"}],"errors":[{"code":"inner"}],"limit":{"key":"k","namespace":"ns","value":300},
            "somethingNew":true}"#;
        let body = ErrorBody::parse(json).unwrap();
        assert_eq!(body.code.as_deref(), Some("too.many.requests.retry.after"));
        assert_eq!(body.status, Some(429));
        assert_eq!(body.limit.as_ref().and_then(|l| l.value), Some(300));
        assert_eq!(body.errors.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            body.details
                .as_ref()
                .and_then(|d| d[0].field_name.as_deref()),
            Some("f")
        );
    }

    #[test]
    fn malformed_or_wrongly_typed_bodies_give_none() {
        for bad in [
            &b"<html>oops"[..],
            b"",
            b"[1,2]",
            br#"{"status":"four hundred"}"#,
        ] {
            assert!(
                ErrorBody::parse(bad).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn display_shows_the_code_but_never_the_upstream_message() {
        let error = Error::Api {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody::parse(br#"{"message":"bad number +15551234","code":"bad.request"}"#),
        };
        let shown = error.to_string();
        assert!(
            shown.contains("400") && shown.contains("bad.request"),
            "{shown}"
        );
        assert!(!shown.contains("+15551234"), "{shown}");
    }
}
