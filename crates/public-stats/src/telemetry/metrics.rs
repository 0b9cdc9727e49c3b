//! Prometheus metrics: the process-wide recorder behind every `metrics::counter!`/`gauge!`/
//! `histogram!` of the service and of the `genesys` client, the admin router that serves it at
//! `/metrics` (on `ADMIN_BIND_ADDRESS`, never on the public port), and the HTTP request series.
//!
//! The recorder is global — a process has one — so it is installed once, on first use, and every
//! [`Application`](crate::startup::Application) of the process (tests start many) shares it.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Latency buckets in seconds, for every histogram (all of them are durations): from a cached
/// answer (well under a millisecond) to an upstream call that hits its timeout.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histograms are drained and idle series dropped, whether or not anyone scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: LazyLock<PrometheusHandle> = LazyLock::new(install);

/// The process's recorder, installed on first use.
pub fn handle() -> PrometheusHandle {
    HANDLE.clone()
}

fn install() -> PrometheusHandle {
    let builder = PrometheusBuilder::new();
    // Without buckets the exporter writes summaries, which cannot be aggregated across instances.
    let builder = match builder.set_buckets(&LATENCY_BUCKETS) {
        Ok(with_buckets) => with_buckets,
        Err(error) => {
            tracing::warn!(%error, "histogram buckets refused; durations become summaries");
            PrometheusBuilder::new()
        }
    };
    builder.install_recorder().unwrap_or_else(|error| {
        // Only when something else in the process installed a recorder first: serve an empty one.
        tracing::warn!(%error, "a metrics recorder is already installed; /metrics stays empty");
        PrometheusBuilder::new().build_recorder().handle()
    })
}

/// Keeps the recorder's memory bounded: `install_recorder` starts no upkeep of its own.
pub fn spawn_upkeep(handle: PrometheusHandle, shutdown: CancellationToken, tasks: &TaskTracker) {
    tasks.spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = every.tick() => handle.run_upkeep(),
            }
        }
    });
}

/// The admin listener's routes: `/metrics` only.
pub fn admin_router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(handle)
}

async fn render(State(handle): State<PrometheusHandle>) -> Response {
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Serves the admin router on its own listener until `stop` is cancelled.
pub fn serve_admin(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
) -> JoinHandle<std::io::Result<()>> {
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    })
}

/// Counts each request by method, route pattern (`MatchedPath`, never the raw path, so visitors
/// cannot create series) and status, and records its latency to the response head. Requests no
/// route matched — embedded files and unknown paths — share the route `fallback`.
pub async fn record_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "fallback".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_str().to_owned();
    metrics::histogram!("public_stats_http_request_duration_seconds",
        "method" => method, "route" => route.clone())
    .record(started.elapsed().as_secs_f64());
    metrics::counter!("public_stats_http_requests_total",
        "method" => method, "route" => route, "status" => status)
    .increment(1);
    response
}

/// Methods as static labels; anything else a client made up is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
