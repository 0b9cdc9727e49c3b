//! The Genesys Cloud API surface the simulator serves, one module per API area.

pub mod analytics;
pub mod auth;
pub mod callbacks;
pub mod error;
pub mod notifications;
pub mod routing;
pub mod webmessaging;

use axum::Router;

use crate::control;
use crate::state::SimState;

/// The whole simulator: Genesys's API, the guest WebSockets and the `/__sim/` control API.
pub fn router(state: SimState) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(routing::router())
        .merge(analytics::router())
        .merge(callbacks::router())
        .merge(notifications::router())
        .merge(webmessaging::router())
        .merge(control::router())
        .with_state(state)
}
