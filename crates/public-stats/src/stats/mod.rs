//! Queue statistics for anonymous visitors: `GET /api/stats/{queueId}` with the seed's contract,
//! the live observations behind it ([`LiveStats`]), the EWT cache ([`EwtCache`]) and the
//! per-queue live feeds ([`feed`]).
//!
//! `GET /api/stats/{queueId}?key=ewt,observations[&mediaType=…]` answers
//! `{"observations": {…}, "ewt": 8}` with only the keys asked for. Observations come from the
//! notification stream's state (no upstream call per request); the EWT from the cache. Data that
//! is not current is served anyway and marked: `"stale": true`, plus `"observationsAgeSeconds"`
//! and/or `"ewtAgeSeconds"` (seconds since that part was last current; absent if it never was).
//! Nothing about the WebSocket lives here (`push`).

mod ewt;
pub mod feed;
mod live;
mod query;
mod view;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub use ewt::{EwtCache, EwtFreshness, EwtKey, EwtReading};
pub use live::{LiveStats, LiveView, ObservationsFreshness};
pub use query::{StatsQuery, media_type};
pub use view::{MediaCounts, ObservationsView, SEED_MEDIA_TYPES, Stamp};

use crate::problem::ApiError;
use crate::queues::PublicQueue;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/stats/{queueId}", get(stats))
}

/// The response body: the seed's two keys, each only when asked for, plus staleness markers.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct StatsBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    observations: Option<ObservationsView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ewt: Option<i64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    observations_age_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ewt_age_seconds: Option<u64>,
}

async fn stats(
    State(state): State<AppState>,
    PublicQueue(queue): PublicQueue,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = StatsQuery::parse(raw.as_deref())?;
    let mut body = StatsBody::default();
    if query.observations {
        add_observations(&mut body, &state.live.view(), queue);
    }
    if query.ewt {
        let reading = state
            .ewt
            .get(EwtKey {
                queue,
                media: query.media,
            })
            .await;
        add_ewt(&mut body, &reading);
    }
    let max_age = state.settings.ewt_cache_ttl.as_secs();
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    Ok(response)
}

fn add_observations(body: &mut StatsBody, view: &LiveView, queue: uuid::Uuid) {
    body.observations = Some(view.observations(queue).cloned().unwrap_or_default());
    if let ObservationsFreshness::Stale { as_of } = view.freshness() {
        body.stale = true;
        body.observations_age_seconds = as_of.map(|stamp| stamp.age_seconds());
    }
}

fn add_ewt(body: &mut StatsBody, reading: &EwtReading) {
    body.ewt = Some(reading.wire_seconds());
    if let EwtFreshness::Stale { as_of } = reading.freshness {
        body.stale = true;
        body.ewt_age_seconds = as_of.map(|stamp| stamp.age_seconds());
    }
}
