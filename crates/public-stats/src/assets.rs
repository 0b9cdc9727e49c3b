//! The widget's static files at the seed's paths (`/`, `/scripts/chat-injector.js`,
//! `/scripts/chat-widget.js`, `/style/widget.css`, `/img/…`), embedded in the binary at build
//! time (see `build.rs`) with strong ETags and gzip/brotli, plus `/scripts/demo-config.js`, the
//! demo page's configuration, generated from the settings so the demo works in every mode.
//!
//! memory-serve does the embedding and content negotiation; the cache policy is ours: HTML is
//! revalidated on every load (`no-cache`, answered by a 304 thanks to the ETag) and the other
//! files are kept for five minutes, short enough that a deployment reaches pages quickly. Every
//! text file says it is UTF-8 (see [`with_charset`]).

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use memory_serve::CacheControl;
use serde_json::json;
use tower::ServiceExt;

use crate::problem::ApiError;
use crate::sandbox::BROWSER_PREFIX;
use crate::state::AppState;

/// The embedded files, built once. `/` itself is routed by `push::root` (the seed's clients open
/// their WebSocket on `/`), which hands plain page loads to [`index`].
static FILES: LazyLock<Router> = LazyLock::new(|| {
    memory_serve::load!()
        .index_file(None)
        // memory-serve turns compression off in debug builds; tests run debug builds and must
        // exercise what production serves.
        .enable_brotli(true)
        .enable_gzip(true)
        .html_cache_control(CacheControl::NoCache)
        .cache_control(CacheControl::Custom("public, max-age=300"))
        .into_router()
        .fallback(not_found)
        .layer(axum::middleware::map_response(with_charset))
});

/// memory-serve names a type without a charset (`text/javascript`, `text/css`,
/// `image/svg+xml`…) and has no setting for one. A browser then decodes the file in the
/// encoding of the page that loads it, and pages written for the seed declare none: the widget's
/// UTF-8 text would read "Checking availabilityâ€¦". The files are UTF-8 (`build.rs` reads them
/// as such), so every text type gets `charset=utf-8`.
async fn with_charset(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let Some(Ok(content_type)) = headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) else {
        return response;
    };
    if !is_text(content_type) || content_type.contains("charset=") {
        return response;
    }
    if let Ok(with_charset) = HeaderValue::from_str(&format!("{content_type}; charset=utf-8")) {
        headers.insert(header::CONTENT_TYPE, with_charset);
    }
    response
}

/// Types of files whose content is text a browser must decode: `text/*`, and the text formats
/// registered under other top-level types (SVG is `image/svg+xml`). Problem bodies (the
/// fallback's `application/problem+json`) are left as they are.
fn is_text(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.starts_with("text/")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/javascript"
                | "application/json"
                | "application/manifest+json"
                | "application/xml"
        )
}

/// Every unknown path: a problem body, like every other error.
async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/scripts/demo-config.js", get(demo_config))
        // widget/ holds the widget's documentation beside its files; it is for developers, not
        // for the public site.
        .route("/README.md", get(not_found))
        .fallback_service(FILES.clone())
        .layer(axum::middleware::map_response(
            crate::security_headers::embeddable,
        ))
}

/// The demo page, for a plain `GET /`.
pub async fn index(request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    parts.uri = Uri::from_static("/index.html");
    match FILES
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response,
        Err(infallible) => match infallible {},
    }
}

/// `window.pureCloudCustomChatConfig` for the demo page: a script, not inline JSON, so the page
/// works under a Content-Security-Policy without `'unsafe-inline'`.
async fn demo_config(State(state): State<AppState>) -> impl IntoResponse {
    let queue = state.queues.all().first();
    let mut config = json!({
        "scriptHost": "/",
        "queueId": queue.map(|q| q.id.to_string()),
        "queueName": queue.map(|q| q.name.clone()),
        // Empty: the widget connects to the page's own host.
        "statsWebsocketUri": "",
        "autoConnect": false,
    });
    if let Some(deployment) = state.settings.web_messaging_deployment_id {
        config["webMessaging"] = json!({ "deploymentId": deployment.to_string() });
    }
    if state.sandbox.is_some() {
        config["webMessaging"]["url"] = json!(format!("{BROWSER_PREFIX}/v1"));
        config["sandbox"] = json!(true);
    }
    let body = format!("window.pureCloudCustomChatConfig = {config};\n");
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
