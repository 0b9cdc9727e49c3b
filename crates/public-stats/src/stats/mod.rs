//! Queue statistics for anonymous visitors: `GET /api/stats/{queueId}` with the seed's contract,
//! the live observations behind it ([`LiveStats`]), the EWT cache ([`EwtCache`]) and the
//! per-queue live feeds ([`QueueFeeds`]).
//!
//! `GET /api/stats/{queueId}?key=ewt,observations,hours[&mediaType=…]` answers
//! `{"observations": {…}, "ewt": 8, "hours": {…}}` with only the keys asked for. Observations
//! come from the notification stream's state (no upstream call per request); the EWT from the
//! cache; business hours are evaluated at the request from the last reading (`hours::keeper`),
//! and absent for a queue that has none. Data that is not current is served anyway and marked:
//! `"stale": true`, plus `"observationsAgeSeconds"` and/or `"ewtAgeSeconds"` (seconds since that
//! part was last current; absent if it never was); hours carry their own `stale` and `asOf`.
//! The WebSocket frames are made here (`root`, `feed`), serialised once per change; the sockets
//! are `push`'s.

mod ewt;
mod feed;
mod live;
mod query;
mod root;
mod view;

use std::time::Duration;

use axum::extract::{FromRef, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub use ewt::{EwtCache, EwtKey, EwtReading};
pub use feed::{Feed, QueueFeeds};
pub use live::{LiveStats, LiveView};
pub use query::{StatsQuery, media_type};
pub use root::RootFrames;
pub use view::{Freshness, MediaCounts, ObservationsView, SEED_MEDIA_TYPES, Stamp};

use crate::hours::keeper::{HoursAnswer, HoursKeeper};
use crate::problem::ApiError;
use crate::queues::{PublicQueue, PublicQueues};

/// `ewt_cache_ttl` is also how long browsers and proxies may keep an answer: asking sooner would
/// get the same estimate.
pub fn router<S>(ewt_cache_ttl: Duration) -> Router<S>
where
    LiveStats: FromRef<S>,
    EwtCache: FromRef<S>,
    HoursKeeper: FromRef<S>,
    PublicQueues: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    // Built once: this is the busiest route.
    let cache_control =
        HeaderValue::try_from(format!("public, max-age={}", ewt_cache_ttl.as_secs()))
            .expect("digits make a valid header value");
    Router::new().route(
        "/api/stats/{queueId}",
        get(move |live, ewt, hours, queue, query| {
            stats(live, ewt, hours, queue, query, cache_control)
        }),
    )
}

/// The response body: the seed's two keys, each only when asked for, plus staleness markers.
#[derive(Serialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatsBody {
    /// Present when `key` asked for `observations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    observations: Option<ObservationsView>,
    /// Present when `key` asked for `ewt`: estimated wait in seconds, `-1` when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -1)]
    ewt: Option<i64>,
    /// Present when `key` asked for `hours` and the queue has business hours: whether it is open
    /// now, why, when that changes and the week's open periods.
    #[serde(skip_serializing_if = "Option::is_none")]
    hours: Option<HoursAnswer>,
    /// Present (and `true`) when the observations or the estimate are not current (`hours` say
    /// so inside their own object).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stale: bool,
    /// Seconds since the observations were last current, when stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    observations_age_seconds: Option<u64>,
    /// Seconds since the estimate was obtained, when stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    ewt_age_seconds: Option<u64>,
}

async fn stats(
    State(live): State<LiveStats>,
    State(ewt): State<EwtCache>,
    State(hours): State<HoursKeeper>,
    PublicQueue(queue): PublicQueue,
    RawQuery(raw): RawQuery,
    cache_control: HeaderValue,
) -> Result<Response, ApiError> {
    let query = StatsQuery::parse(raw.as_deref())?;
    let mut body = StatsBody::default();
    if query.observations {
        add_observations(&mut body, &live.view(), queue);
    }
    if query.ewt {
        let reading = ewt
            .get(EwtKey {
                queue,
                media: query.media,
            })
            .await;
        add_ewt(&mut body, &reading);
    }
    if query.hours {
        body.hours = hours.answer(queue);
    }
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, cache_control);
    Ok(response)
}

fn add_observations(body: &mut StatsBody, view: &LiveView, queue: uuid::Uuid) {
    body.observations = Some(view.observations(queue).cloned().unwrap_or_default());
    if let Freshness::Stale { as_of } = view.freshness() {
        body.stale = true;
        body.observations_age_seconds = as_of.map(|stamp| stamp.age_seconds());
    }
}

fn add_ewt(body: &mut StatsBody, reading: &EwtReading) {
    body.ewt = Some(reading.wire_seconds());
    if let Freshness::Stale { as_of } = reading.freshness {
        body.stale = true;
        body.ewt_age_seconds = as_of.map(|stamp| stamp.age_seconds());
    }
}
