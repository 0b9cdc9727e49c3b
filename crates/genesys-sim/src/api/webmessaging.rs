//! TODO(owner): see the module list in api/mod.rs.

use axum::Router;

use crate::state::SimState;

#[derive(Default)]
pub struct Sessions {}

pub fn router() -> Router<SimState> {
    Router::new()
}
