//! Request ids: every request gets one, in `X-Request-Id`. The id a request arrives with is kept
//! only when the peer is one of the operator's proxies (`TRUSTED_PROXIES`) and the id is
//! well-formed; otherwise it is dropped and a UUID made (tower-http's `SetRequestId`). The id is a
//! field of the request's tracing span (so every log line of the request carries it), is echoed in
//! the response header, and is added as `requestId` to every `application/problem+json` body.
//!
//! A client outside the proxies cannot choose its id: it could otherwise make its requests look
//! like someone else's in the logs, or put arbitrary text there.

use std::net::SocketAddr;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;

use crate::client_address::TrustedProxies;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id accepted from a proxy: room for a UUID, a W3C trace id or an AWS trace header.
const MAX_LEN: usize = 128;

/// Problem bodies are a few hundred bytes; anything near this is not one of ours to rewrite.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// Whether an id from a proxy is safe to log and echo: 1 to [`MAX_LEN`] characters of letters,
/// digits and `-_.:+/=` (no spaces, quotes or control characters).
pub fn is_well_formed(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(b))
}

/// Drops the incoming `X-Request-Id` unless a trusted proxy sent exactly one well-formed id, so
/// that `SetRequestId` makes a new one.
pub async fn keep_only_from_trusted_proxies(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let from_proxy = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| proxies.is_proxy(*peer));
    let mut ids = request.headers().get_all(&HEADER).iter();
    let keep = match (ids.next(), ids.next()) {
        (Some(id), None) => from_proxy && is_well_formed(id.as_bytes()),
        _ => false,
    };
    if !keep {
        request.headers_mut().remove(&HEADER);
    }
    next.run(request).await
}

/// The request's span: method, route pattern and id — not the raw path or query, which are the
/// visitor's text.
pub fn span(request: &axum::http::Request<Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("fallback", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route = %route, request_id = %id)
}

/// Adds `"requestId"` to a problem body, whichever part of the service wrote it (handlers,
/// extractors, CORS and method layers): rewriting the response in one place needs no change to
/// each of them, and the bodies are small.
pub async fn add_to_problems(request: Request, next: Next) -> Response {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|kind| kind.as_bytes().starts_with(b"application/problem+json"));
    match id {
        Some(id) if is_problem => with_request_id(response, id).await,
        _ => response,
    }
}

async fn with_request_id(response: Response, id: String) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PROBLEM_BYTES).await else {
        // Not one of ours (too large, or a failing stream): an empty body is all that is left.
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let rewritten = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(mut problem)) => {
            problem.insert("requestId".to_owned(), serde_json::Value::String(id));
            serde_json::to_vec(&problem).ok()
        }
        _ => None,
    };
    match rewritten {
        Some(body) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(body))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_proxies_must_be_short_and_plain() {
        assert!(is_well_formed(b"9f2c1f0e-6d0b-4a55-9c55-1f7d2a3c4b5e"));
        assert!(is_well_formed(b"Root=1-5759e988-bd862e3fe1be46a994272793"));
        for bad in [
            &b""[..],
            b"has space",
            b"quote\"d",
            b"new\nline",
            b"<script>",
            &[b'a'; MAX_LEN + 1],
        ] {
            assert!(!is_well_formed(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
