//! The Genesys Cloud API surface the simulator serves, one module per API area: wire formats
//! and protocol rules only. What happens in the contact centre is `model`; test hooks are
//! `control`.

pub mod analytics;
pub mod architect;
pub mod auth;
pub mod callbacks;
pub mod error;
pub mod listing;
pub mod notifications;
pub mod organization;
pub mod rate_limit;
pub mod routing;
pub mod webmessaging;

use axum::Router;
use axum::middleware::from_fn_with_state;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::control;
use crate::state::SimState;

/// The whole simulator: Genesys's API, the guest WebSockets and the `/__sim/` control API.
///
/// Every route merged before the `route_layer`s (whatever module adds it) gets, outermost first,
/// the request log + fault injection ([`control::observe`]) and the bearer check on `/api/v2/...`
/// ([`auth::require_bearer`]). `route_layer` (not `layer`) so that `MatchedPath` is known and
/// unmatched paths fall through to Genesys's 404. Paths under `/__sim/` pass both untouched.
pub fn router(state: SimState) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(routing::router())
        .merge(organization::router())
        .merge(analytics::router())
        .merge(callbacks::router())
        .merge(architect::router())
        .merge(notifications::router())
        .merge(webmessaging::router())
        .route_layer(from_fn_with_state(state.clone(), auth::require_bearer))
        .route_layer(from_fn_with_state(state.clone(), control::observe))
        .merge(control::router())
        .fallback(error::fallback)
        .with_state(state)
}

/// `2020-08-12T12:41:54.707Z`: the millisecond UTC form of every Genesys timestamp the simulator
/// sends (channel expiry, notification intervals, web messaging times).
pub fn iso_millis(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let utc = at.to_offset(UtcOffset::UTC);
    // Formatting these components cannot fail; the fallback only avoids a panic path.
    utc.format(format)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}
