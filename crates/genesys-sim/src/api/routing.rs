//! TODO(owner): see the module list in api/mod.rs.

use axum::Router;

use crate::state::SimState;

pub fn router() -> Router<SimState> {
    Router::new()
}
