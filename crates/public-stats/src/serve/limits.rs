//! Limits on the request head, enforced before hyper's own so that a visitor gets a problem
//! body (414, 431) rather than hyper's bare status line; and the request timeout's 408 made a
//! problem body too.
//!
//! hyper keeps its own limits as the outer wall (see `serve`): a head larger than its read buffer,
//! more headers than its parser has room for, or a malformed request line never reaches a
//! service, and hyper answers those itself with an empty 431 or 400. Ours are set well inside
//! them, so every head of a size a real client sends is judged here.

use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::ApiError;

/// The longest request target (path and query) served. Browsers and proxies commonly cap URLs
/// near 8 KiB, and the service's own URLs are a few dozen bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// All header names and values together. Room for a large cookie jar of a shared parent domain.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Headers per request. Real browsers send 10 to 30.
pub const MAX_HEADERS: usize = 100;

/// Refuses an oversized head with a problem body, and turns the request timeout's bare 408 into
/// one.
pub async fn enforce(request: Request, next: Next) -> Response {
    if let Some(refusal) = refuse(&request) {
        metrics::counter!("public_stats_http_requests_refused_total", "reason" => refusal.1)
            .increment(1);
        return refusal.0.into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::REQUEST_TIMEOUT && response.body().is_end_stream() {
        metrics::counter!("public_stats_http_requests_refused_total", "reason" => "timeout")
            .increment(1);
        return ApiError::RequestTimeout.into_response();
    }
    response
}

fn refuse(request: &Request) -> Option<(ApiError, &'static str)> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return Some((ApiError::UriTooLong(MAX_URI_BYTES), "uri-too-long"));
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Some((
            ApiError::HeadersTooLarge {
                bytes: MAX_HEADER_BYTES,
                count: MAX_HEADERS,
            },
            "headers-too-large",
        ));
    }
    None
}
