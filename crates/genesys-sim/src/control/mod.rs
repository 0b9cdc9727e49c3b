//! TODO(owner): the `/__sim/` control API, fault injection and the request log.

use axum::Router;

use crate::state::SimState;

#[derive(Default)]
pub struct Control {}

pub fn router() -> Router<SimState> {
    Router::new()
}
