//! Genesys's error responses: the `ErrorBody` JSON every Platform API failure carries, with the
//! `code` strings Genesys's published API definition gives each status, and a JSON body extractor
//! whose rejections look like Genesys's instead of axum's plain-text ones.
//!
//! It is not the OAuth login's error format (`/oauth/token` answers OAuth-style bodies, see
//! `auth.rs`), nor the web messaging socket's `{"type":"response","class":"string",…}` errors.

use std::fmt;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// A Genesys `ErrorBody` (`{"message","code","status","contextId","details":[],"errors":[]}`)
/// plus the `Retry-After` header a 429 carries.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Seconds for the `Retry-After` header.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    message: &'a str,
    code: &'a str,
    status: u16,
    /// Genesys puts a fresh correlation id here; clients log it, nothing parses it.
    context_id: String,
    details: &'a [serde_json::Value],
    errors: &'a [serde_json::Value],
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `bad.request`: the request is malformed; `message` names the problem.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }

    /// 400 `bad.request` for a body that is not what the endpoint takes; `reason` says why.
    pub fn invalid_body(reason: impl fmt::Display) -> Self {
        Self::bad_request(format!("The request body is invalid: {reason}"))
    }

    /// 401 `authentication.required`: no bearer token at all.
    pub fn authentication_required() -> Self {
        Self::for_status(StatusCode::UNAUTHORIZED, None)
    }

    /// 401 `bad.credentials`: a token the simulator never issued.
    pub fn bad_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        )
    }

    /// 401 `credentials.expired`: a token that was valid once.
    pub fn credentials_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "credentials.expired",
            "The supplied credentials are expired and cannot be used.",
        )
    }

    /// 404 `not.found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not.found", message)
    }

    /// 429 `too.many.requests.retry.after` with a `Retry-After` header.
    pub fn too_many_requests(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too.many.requests.retry.after",
                format!(
                    "Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
                ),
            )
        }
    }

    /// The error Genesys would send with `status`, for fault injection: the code Genesys's API
    /// definition gives that status, or a generic one for statuses it gives none.
    pub fn for_status(status: StatusCode, retry_after: Option<u64>) -> Self {
        let (code, message) = code_for_status(status, retry_after.is_some());
        ApiError {
            retry_after,
            ..Self::new(status, code, message)
        }
    }
}

/// The `x-inin-error-codes` of Genesys's published API definition (swagger), one per status.
fn code_for_status(status: StatusCode, retry_after: bool) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "bad.request",
            "The request could not be understood by the server due to malformed syntax.",
        ),
        401 => (
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        ),
        403 => (
            "not.authorized",
            "You are not authorized to perform the requested action.",
        ),
        404 => ("not.found", "The requested resource was not found."),
        408 => (
            "client.timeout",
            "The client did not produce a request within the server timeout limit.",
        ),
        413 => (
            "request.entity.too.large",
            "The request is over the size limit.",
        ),
        415 => (
            "unsupported.media.type",
            "Unsupported Media Type - Unsupported or incorrect media type, such as an incorrect Content-Type value in the header.",
        ),
        429 if retry_after => (
            "too.many.requests.retry.after",
            "Rate limit exceeded the maximum. Retry the request later.",
        ),
        429 => ("too.many.requests", "Rate limit exceeded the maximum."),
        500 => (
            "internal.server.error",
            "The server encountered an unexpected condition which prevented it from fulfilling the request.",
        ),
        503 => (
            "service.unavailable",
            "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
        ),
        504 => ("request.timeout", "The request timed out."),
        // Statuses the API definition gives no code for (3xx, 502, …): a plausible generic pair.
        _ if status.is_server_error() => {
            ("internal.server.error", "The server encountered an error.")
        }
        _ => ("error", "The request failed."),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            message: &self.message,
            code: &self.code,
            status: self.status.as_u16(),
            context_id: Uuid::new_v4().to_string(),
            details: &[],
            errors: &[],
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A JSON body extractor that rejects like Genesys: 415 `unsupported.media.type` without a JSON
/// content type, 400 `bad.request` for anything that does not parse into `T`.
pub struct GenesysJson<T>(pub T);

impl<S, T> FromRequest<S> for GenesysJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(GenesysJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, None)
        }
        other => ApiError::invalid_body(other.body_text()),
    }
}

/// Parses a path segment that Genesys types as a UUID; 400 naming the parameter otherwise.
pub fn parse_uuid(name: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| {
        ApiError::bad_request(format!("Invalid {name}: '{value}' is not a valid UUID"))
    })
}

/// The answer to a path no module serves: Genesys's 404 body rather than axum's empty one.
pub async fn fallback() -> ApiError {
    ApiError::for_status(StatusCode::NOT_FOUND, None)
}
