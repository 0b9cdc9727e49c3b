//! Liveness and readiness for orchestrators: `/healthz` answers while the process runs;
//! `/readyz` answers 200 only once a token has been obtained and the notification stream is
//! connected (a fresh snapshot behind it), 503 otherwise.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::stats::LiveStats;

pub fn router<S>() -> Router<S>
where
    LiveStats: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(ready))
}

async fn ready(State(live): State<LiveStats>) -> (StatusCode, Json<Value>) {
    // The stream connects only with a valid token, so "connected" covers both conditions.
    let connected = live.is_connected();
    let status = if connected {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(
            json!({ "ready": connected, "stream": if connected { "connected" } else { "disconnected" } }),
        ),
    )
}
