//! Which web pages may call the API from another origin.
//!
//! The statistics are public: `GET /api/queues` and `GET /api/stats/{queueId}` answer any origin
//! (`Access-Control-Allow-Origin: *`, never with credentials). Creating a callback costs an
//! outbound call and agent time, so `POST /api/callback` is open only to the page's own origin and
//! the origins listed in `ALLOWED_ORIGINS`: a preflight from any other origin gets no CORS
//! headers, and a POST carrying a foreign `Origin` is refused with 403 — CORS alone does not stop
//! the request from reaching us, only the page from reading the answer. Requests without an
//! `Origin` (not from a browser page) are left to the callback endpoint's own checks.
//! The WebSockets need no CORS; `push` applies the same origin rules before an upgrade.
//!
//! A refused page cannot tell its owner why (the browser hides the failed preflight from
//! scripts), so the service logs each refused origin: once per origin and hour, however many
//! visitors try ([`OriginPolicy::report_refused`]).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use moka::future::Cache;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::origin::OriginRules;
use crate::problem::ApiError;

/// Preflight answers may be cached by browsers for this long.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);
/// A refused origin is logged again after this long, if its pages still try.
const REPORT_EVERY: Duration = Duration::from_secs(3600);
/// Bounds the memory of origins already logged: anyone can send any `Origin`.
const REPORTED_ORIGINS: u64 = 1024;
/// An `Origin` longer than this is cut in the log; real ones are far shorter.
const MAX_LOGGED_ORIGIN: usize = 200;

/// Which origins may create callbacks (the service's own and `ALLOWED_ORIGINS`), and which
/// refused ones were logged lately. Cheap to clone.
#[derive(Clone)]
pub struct OriginPolicy {
    rules: OriginRules,
    reported: Cache<String, ()>,
}

impl OriginPolicy {
    pub fn new(rules: OriginRules) -> Self {
        OriginPolicy {
            rules,
            reported: Cache::builder()
                .max_capacity(REPORTED_ORIGINS)
                .time_to_live(REPORT_EVERY)
                .build(),
        }
    }

    fn is_refused(&self, origin: &HeaderValue) -> bool {
        !self.rules.admits(origin)
    }

    /// Logs, at most once per origin and [`REPORT_EVERY`], a callback request (its preflight or
    /// the POST itself) from a page whose origin is refused. Sits outside the CORS layer, which
    /// answers preflights itself.
    pub async fn report_refused(
        State(policy): State<OriginPolicy>,
        request: Request,
        next: Next,
    ) -> Response {
        if matches!(*request.method(), Method::OPTIONS | Method::POST)
            && let Some(origin) = request.headers().get(header::ORIGIN)
            && policy.is_refused(origin)
        {
            let shown: String = String::from_utf8_lossy(origin.as_bytes())
                .chars()
                .take(MAX_LOGGED_ORIGIN)
                .collect();
            let first_in_a_while = policy
                .reported
                .entry(shown.clone())
                .or_insert(())
                .await
                .is_fresh();
            if first_in_a_while {
                tracing::warn!(
                    origin = ?shown,
                    "refused a callback request from a page on {shown:?}: that origin is not in \
                     ALLOWED_ORIGINS, so the browser does not send it and the visitor sees an \
                     error. Add the origin to ALLOWED_ORIGINS if that site should offer callbacks \
                     (this origin is not logged again for an hour)"
                );
            }
        }
        next.run(request).await
    }
}

/// For the public, read-only endpoints.
pub fn public_reads() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// For `POST /api/callback` and its receipts: only the origins the rules admit.
pub fn callbacks(rules: OriginRules) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            rules.admits(origin)
        }))
        .allow_methods([Method::POST, Method::GET])
        .allow_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::LOCATION, header::RETRY_AFTER])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Refuses a POST whose `Origin` is neither the service's own nor one of the `ALLOWED_ORIGINS`.
pub async fn refuse_foreign_origin(
    State(policy): State<OriginPolicy>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST
        && let Some(origin) = request.headers().get(header::ORIGIN)
        && policy.is_refused(origin)
    {
        return ApiError::ForeignOrigin.into_response();
    }
    next.run(request).await
}
