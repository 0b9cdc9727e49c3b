//! What lets an operator watch the service: Prometheus metrics on a separate admin listener
//! ([`metrics`]), request ids in logs, response headers and problem bodies ([`request_id`]), and
//! the log output itself, text or JSON lines ([`logs`]).
//!
//! [`instrument`] wraps the public router with all of it. It is not where metrics are emitted:
//! the `metrics` macros are called where things happen, here and in the `genesys` crate.

pub mod logs;
pub mod metrics;
pub mod request_id;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::client_address::TrustedProxies;

/// The public router with request ids (kept from trusted proxies, else made here), a tracing span
/// per request carrying the id, HTTP metrics by route pattern, and the id added to every problem
/// body. Applied with `Router::layer`, so it sees every route, the fallback included, and
/// `MatchedPath` is already known.
pub fn instrument(router: Router, proxies: TrustedProxies) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(from_fn_with_state(
                proxies,
                request_id::keep_only_from_trusted_proxies,
            ))
            .layer(SetRequestIdLayer::new(
                request_id::HEADER.clone(),
                MakeRequestUuid,
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_id::span)
                    // A 5xx is logged where it is decided, with its cause; the layer's own line
                    // would repeat it without one (and call every not-ready probe an error).
                    .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
            )
            .layer(PropagateRequestIdLayer::new(request_id::HEADER.clone()))
            .layer(from_fn(metrics::record_http))
            .layer(from_fn(request_id::add_to_problems)),
    )
}
