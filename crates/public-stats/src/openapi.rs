//! The public HTTP API's OpenAPI 3.1 description, generated with `utoipa` and served at
//! `/openapi.json`: every public route, each status it can answer with, and the problem body.
//!
//! The operations are declared here, side by side, on stand-in functions that are never called
//! (two handlers are closures, and the WebSocket handshakes have no body types to derive); the
//! bodies' schemas are derived from the types the handlers serialise (`StatsBody`, `Problem`, …).
//! Tests keep it honest: every route in the code must be described, and real responses must
//! match their schemas. It is not documentation of the embedded widget files or the sandbox's
//! `/__sim/` routes.

// The stand-ins exist only for their `#[utoipa::path]` attribute.
#![allow(dead_code)]

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use crate::callbacks::ReceiptBody;
use crate::callbacks::request::{CallbackRequest, RoutingDataRequest};
use crate::hours::keeper::HoursAnswer;
use crate::hours::{Interval, Reason};
use crate::problem::{InvalidParam, Problem};
use crate::queues::{PublicQueueInfo, QueueList};
use crate::stats::{MediaCounts, ObservationsView, StatsBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "public-stats",
        description = "Live Genesys Cloud queue statistics and callbacks for anonymous web \
                       visitors. Every error is an RFC 9457 `application/problem+json` body \
                       carrying the request's `requestId` (also in the `X-Request-Id` header).",
    ),
    paths(
        queues, stats, stats_live, root, create_callback, callback_status, healthz, readyz,
        openapi_json
    ),
    components(schemas(
        QueueList, PublicQueueInfo, StatsBody, ObservationsView, MediaCounts, HoursAnswer,
        Interval, Reason, StatsKey,
        MediaType, CallbackRequest, RoutingDataRequest, ReceiptBody, Problem, InvalidParam,
        Health, Readiness, StreamHealth, DataHealth, RedisHealth
    )),
    tags(
        (name = "statistics", description = "Queue statistics, polled or pushed"),
        (name = "callbacks", description = "Callback requests"),
        (name = "operations", description = "Probes and this description"),
    )
)]
pub struct ApiDoc;

/// The description as served, serialised once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    name_link_targets_as_the_spec_does(&mut document);
    document.to_string()
});

/// utoipa 5.5 writes a link's target as `operation_id`; OpenAPI (and every tool reading links)
/// spells it `operationId`.
fn name_link_targets_as_the_spec_does(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links")?.as_object_mut())
        .flat_map(|links| links.values_mut())
        .filter_map(Value::as_object_mut);
    for link in links {
        if let Some(target) = link.remove("operation_id") {
            link.insert("operationId".to_owned(), target);
        }
    }
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> Response {
    let mut response = DOCUMENT.as_str().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A part of the statistics `key` asks for.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum StatsKey {
    Ewt,
    Observations,
    /// Business hours; answered only for a queue that has them.
    Hours,
}

/// A media type in the seed's words (`voice`, `video`) or Genesys's (`call`, `videoComm`),
/// case-insensitively; `all` is the whole queue, like no `mediaType` at all.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
enum MediaType {
    All,
    Voice,
    Call,
    Chat,
    Callback,
    Email,
    Message,
    Video,
    VideoComm,
}

/// `/healthz`'s answer.
#[derive(Serialize, ToSchema)]
struct Health {
    #[schema(pattern = "^ok$")]
    status: String,
}

/// `/readyz`'s answer: whether the instance can serve, and how well.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Readiness {
    ready: bool,
    #[schema(pattern = "^(starting|serving|stopping)$")]
    phase: String,
    /// Serving, but from stale data (the notification stream is down), or, clustered, without
    /// Redis.
    degraded: bool,
    stream: StreamHealth,
    data: DataHealth,
    /// Clustered mode (`REDIS_URL`) only: this instance holds the leader lease, and with it the
    /// deployment's one Genesys notification stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<bool>,
    /// Clustered mode only: the link to Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<RedisHealth>,
}

/// The link to Redis, as `/readyz` reports it in clustered mode.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RedisHealth {
    reachable: bool,
    /// Since when Redis has been out of reach (`null` while reachable).
    #[schema(format = DateTime)]
    down_since: Option<String>,
}

/// The Genesys notification stream, as `/readyz` reports it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StreamHealth {
    connected: bool,
    /// When the stream was last connected with current data (`null`: connected, or never yet).
    #[schema(format = DateTime)]
    down_since: Option<String>,
}

/// How current the observations are, as `/readyz` reports it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DataHealth {
    stale: bool,
    #[schema(format = DateTime)]
    as_of: Option<String>,
    #[schema(minimum = 0)]
    age_seconds: Option<u64>,
}

/// The public queues visitors may ask about.
#[utoipa::path(get, path = "/api/queues", tag = "statistics",
    responses((status = 200, description = "The public queues", body = QueueList,
        links(("QueueStats" = (operation_id = "stats",
            parameters(("queueId" = "$response.body#/queues/0/id")),
            description = "The first queue's statistics"))))))]
fn queues() {}

/// One public queue's observations and/or estimated wait time, as the seed answered them, and/or
/// its business hours (`key=hours`: absent for a queue without business hours, the answer still
/// 200). Parameters other than `key` and `mediaType` are ignored (a jQuery `_=` cache-buster,
/// say).
#[utoipa::path(get, path = "/api/stats/{queueId}", tag = "statistics",
    params(
        ("queueId" = uuid::Uuid, Path, description = "A public queue's ID (see /api/queues)"),
        ("key" = Vec<StatsKey>, Query, explode = true, min_items = 1,
            description = "What to answer: repeated (`key=ewt&key=observations`) or \
                           comma-separated (`key=ewt,observations,hours`)"),
        ("mediaType" = Option<MediaType>, Query,
            description = "The estimate's media type (default: the whole queue)"),
    ),
    responses(
        (status = 200, description = "The parts asked for; `stale` marks data that is not current",
            body = StatsBody),
        (status = 400, description = "`key` missing or unknown, or `mediaType` unknown",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a public queue", body = Problem,
            content_type = "application/problem+json"),
    ))]
fn stats() {}

/// A WebSocket of one queue's observations and estimated wait time, a frame on every change. A
/// queue with business hours also has `hours` (the `Hours` schema), and gets a frame at the
/// instant it opens or closes.
#[utoipa::path(get, path = "/api/stats/{queueId}/live", tag = "statistics",
    params(
        ("queueId" = uuid::Uuid, Path, description = "A public queue's ID"),
        ("mediaType" = Option<MediaType>, Query, description = "The estimate's media type"),
    ),
    responses(
        (status = 101, description = "WebSocket handshake accepted"),
        (status = 400, description = "Unknown `mediaType`", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "Not a public queue", body = Problem,
            content_type = "application/problem+json"),
        (status = 426, description = "Not a WebSocket handshake", body = Problem,
            content_type = "application/problem+json"),
        (status = 403, description = "A page origin that is neither the service's own nor in \
            `ALLOWED_ORIGINS`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`WS_MAX_PER_ADDRESS` sockets already open from this client \
            address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`WS_MAX_CONNECTIONS` reached, upgrades over \
            `WS_UPGRADES_PER_SECOND`, or shutting down; see `Retry-After`", body = Problem,
            content_type = "application/problem+json"),
    ))]
fn stats_live() {}

/// The seed's WebSocket: every monitored queue's observations (`{"queueStats": {…}}`) on connect
/// and on every change, with a top-level `hours` map (queue ID → the `Hours` schema) of the
/// queues that have business hours, pushed also at the instant one opens or closes. A plain page
/// load gets the demo page.
#[utoipa::path(get, path = "/", tag = "statistics",
    responses(
        (status = 101, description = "WebSocket handshake accepted"),
        (status = 200, description = "The demo page", content_type = "text/html", body = String),
        (status = 426, description = "A WebSocket upgrade that is not a valid handshake",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A page origin that is neither the service's own nor in \
            `ALLOWED_ORIGINS`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`WS_MAX_PER_ADDRESS` sockets already open from this client \
            address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`WS_MAX_CONNECTIONS` reached, upgrades over \
            `WS_UPGRADES_PER_SECOND`, or shutting down; see `Retry-After`", body = Problem,
            content_type = "application/problem+json"),
    ))]
fn root() {}

/// Asks to be called back from a public queue. Accepted requests are stored before the answer
/// and delivered to Genesys Cloud after it; follow them with the receipt's `Location`. For a
/// queue with business hours, `callbackScheduledTime` must fall within them; a request without
/// one while the queue is closed is booked for its next opening (the 202 says when).
#[utoipa::path(post, path = "/api/callback", tag = "callbacks",
    request_body(content = CallbackRequest, content_type = "application/json",
        description = "The seed's body; `queueId` may also be given as `routingData.queueId`"),
    params(
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", nullable = false,
            description = "Makes retries safe: the same key and body get the same receipt"),
    ),
    responses(
        (status = 202, description = "Accepted: the receipt", body = ReceiptBody,
            headers(("Location" = String, description = "Where the receipt can be followed")),
            links(("Receipt" = (operation_id = "callback_status",
                parameters(("id" = "$response.body#/id")),
                description = "What became of the request")))),
        (status = 400, description = "Not a callback request, or a field is invalid (named in \
            `invalid-params`), or a malformed `Idempotency-Key`; `outside-hours` when \
            `callbackScheduledTime` is outside the queue's business hours (`nextOpen` says when \
            it next opens)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A page from an origin that may not create callbacks",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A callback to this number is already pending (its receipt \
            is `id`), or the same `Idempotency-Key` is being processed", body = Problem,
            content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 4 KiB", body = Problem,
            content_type = "application/problem+json"),
        (status = 415, description = "Body is not `application/json`", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "`Idempotency-Key` reused with a different body",
            body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this number or from this address; \
            see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Callback capacity used up, or the store is unavailable \
            (with `Retry-After` when it is the store the instances share), or `closed`: the \
            queue is closed with no opening to book for (an emergency)",
            body = Problem, content_type = "application/problem+json"),
    ))]
fn create_callback() {}

/// What became of a callback request.
#[utoipa::path(get, path = "/api/callback/{id}", tag = "callbacks",
    params(("id" = String, Path, description = "The receipt's `id`")),
    responses(
        (status = 200, description = "The receipt", body = ReceiptBody),
        (status = 404, description = "No such receipt", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem,
            content_type = "application/problem+json"),
    ))]
fn callback_status() {}

/// Liveness: answers while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
fn healthz() {}

/// Readiness: 200 from the moment the port serves until shutdown begins, also while Genesys is
/// unreachable and, in clustered mode, while Redis is (the body then says `degraded`); 503
/// before and after.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Serving (see `degraded`)", body = Readiness),
        (status = 503, description = "Starting or shutting down", body = Readiness),
    ))]
fn readyz() {}

/// This description.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
fn openapi_json() {}
