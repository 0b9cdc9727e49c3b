//! TODO: WebSocket push (`/` compatibility stream, per-queue live stream).

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(root))
}

/// `GET /`: the seed's clients open their WebSocket here; a plain page load gets the demo page.
pub async fn root(request: Request) -> Response {
    crate::assets::index(request).await
}
