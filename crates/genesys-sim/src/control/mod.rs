//! The `/__sim/` control API (see the crate README for the contract), plus the request log and
//! fault injection, both applied by [`observe`], one middleware around every non-control route.
//!
//! None of this exists in Genesys Cloud: it is how tests set state, break things on purpose and
//! see what reached "Genesys". It is not part of the emulated API and never logged or faulted.
//! (Other modules may add their own `/__sim/...` routes, e.g. notifications; they are treated as
//! control routes too.)

pub mod faults;
pub mod hours;
pub mod log;
mod routes;

use std::sync::{Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::error::ApiError;
use crate::state::SimState;

pub use routes::router;

/// The prefix of every control route.
pub const CONTROL_PREFIX: &str = "/__sim/";

/// The control API's state: the request log and the active fault rules.
#[derive(Default)]
pub struct Control {
    log: Mutex<log::RequestLog>,
    faults: Mutex<faults::Faults>,
    /// Set by `PUT /__sim/ewt`: the queue-wide EWT answers with the `ALL` estimate only.
    ewt_whole_queue_only: std::sync::atomic::AtomicBool,
    /// The queues that follow their business hours.
    pub follow_hours: hours::FollowHours,
}

impl Control {
    /// Whether the queue-wide EWT leaves out its per-media results.
    pub fn ewt_whole_queue_only(&self) -> bool {
        self.ewt_whole_queue_only
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_ewt_whole_queue_only(&self, whole_queue_only: bool) {
        self.ewt_whole_queue_only
            .store(whole_queue_only, std::sync::atomic::Ordering::Relaxed);
    }

    /// The request log. Never hold the guard across an `.await`.
    pub fn log(&self) -> MutexGuard<'_, log::RequestLog> {
        // Both are plain records; a panic mid-update leaves nothing worth refusing to read.
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The fault rules. Never hold the guard across an `.await`.
    pub fn faults(&self) -> MutexGuard<'_, faults::Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `METHOD /path/{template}`: the route as registered (the key of counts and fault rules).
fn route_key(request: &Request) -> String {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    format!("{} {template}", request.method())
}

/// Middleware (installed with `route_layer`, so `MatchedPath` is known): logs the request, then
/// applies the first matching fault rule, if any, instead of or before the real handler.
pub async fn observe(State(state): State<SimState>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with(CONTROL_PREFIX) {
        return next.run(request).await;
    }
    let route = route_key(&request);
    let version = format!("{:?}", request.version());
    let seq = state.control.log().record(
        &route,
        request.method().as_str(),
        request.uri().path(),
        &version,
    );
    let effect = state.control.faults().take(&route);
    let response = match effect {
        None => next.run(request).await,
        Some(effect) => {
            tracing::debug!(%route, ?effect, "injecting fault");
            apply(&state, effect, request, next).await
        }
    };
    state
        .control
        .log()
        .set_status(seq, response.status().as_u16());
    response
}

async fn apply(state: &SimState, effect: faults::Effect, request: Request, next: Next) -> Response {
    if let Some(delay) = effect.delay {
        tokio::time::sleep(delay).await;
    }
    if effect.hang {
        // Never answer; only the simulator shutting down ends the wait, so shutdown is not held up.
        state.shutdown.clone().cancelled_owned().await;
        return ApiError::for_status(StatusCode::SERVICE_UNAVAILABLE, None).into_response();
    }
    if let Some(status) = effect.malformed {
        return malformed(status);
    }
    match effect.status {
        Some(status) => injected_error(status, effect.retry_after, &request),
        None => next.run(request).await,
    }
}

/// A body that claims to be JSON and is cut off mid-object.
fn malformed(status: StatusCode) -> Response {
    let mut response = Response::new(Body::from(r#"{"results":[{"group":{"queueId":"#));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn injected_error(status: StatusCode, retry_after: Option<u64>, request: &Request) -> Response {
    let mut response = ApiError::for_status(status, retry_after).into_response();
    if status.is_redirection() {
        let target = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |pq| pq.as_str().to_owned(),
        );
        if let Ok(location) = HeaderValue::from_str(&target) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}
