//! Host pages other than the demo page: a small server on port 0 that serves the files of
//! `tests/browser/pages/` under `/__test/` and forwards everything else (HTTP and WebSocket) to
//! the service, so a test page embeds the widget exactly like a site that reverse-proxies the
//! service under its own origin. Same origin keeps CORS out of these tests: they are about the
//! page (its CSP, its CSS, its direction), not about cross-origin requests.
//!
//! Every HTML page it serves, its own and the service's, gets the probe `pages/watch.js` as the
//! first script of its `<head>`: the same record of console errors, CSP violations and sockets in
//! every engine, from before the page's own scripts run.
//!
//! The files are read at request time, so editing a page needs no rebuild.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::extract::ws::{self, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite;
use tokio_util::sync::CancellationToken;

/// The policy of `strict-csp.html`: nothing inline, no eval, only the page's own origin (which is
/// where the service is, see the module docs). `'report-sample'` loosens nothing: it puts the
/// first 40 characters of anything blocked into the violation event, for the failure message.
pub const STRICT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'report-sample'; \
     connect-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The running page server; dropping it stops it.
pub struct HostPages {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for HostPages {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl HostPages {
    /// Serves the test pages in front of the service at `service`.
    pub async fn start(service: SocketAddr) -> HostPages {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the host page server");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new()
            .route("/__test/{file}", get(page))
            .fallback(proxy)
            .with_state(Upstream {
                service,
                own_origin: HeaderValue::from_str(&format!("http://{addr}"))
                    .expect("an origin is a header value"),
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("reqwest client"),
            });
        let stop = CancellationToken::new();
        let signal = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { signal.cancelled().await })
                .await
        });
        HostPages { addr, stop }
    }

    /// The URL of a test page, e.g. `url("strict-csp.html")`.
    pub fn url(&self, file: &str) -> String {
        format!("http://{}/__test/{file}", self.addr)
    }

    /// The service's demo page (`/`), through this server: the same page, with the probe.
    pub fn demo_page(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `config.html` with these top-level widget settings replacing the demo configuration's
    /// (`null` removes one; see `pages/config.js`).
    pub fn configured(&self, settings: &serde_json::Value) -> String {
        reqwest::Url::parse_with_params(&self.url("config.html"), [("c", settings.to_string())])
            .expect("a valid page URL")
            .into()
    }
}

#[derive(Clone)]
struct Upstream {
    service: SocketAddr,
    /// This server's origin, as the browser sends it from its pages.
    own_origin: HeaderValue,
    http: reqwest::Client,
}

async fn page(Path(file): Path<String>) -> Response {
    if file.contains('/') || file.contains("..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/pages")
        .join(&file);
    let Ok(mut body) = tokio::fs::read(&path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if file.ends_with(".html") {
        body = with_probe(body);
    }
    let content_type = match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if file == "strict-csp.html" {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(STRICT_CSP),
        );
    }
    (headers, body).into_response()
}

/// Forwards a request to the service: WebSocket upgrades are bridged message by message, other
/// requests are replayed with reqwest (bodies stay compressed: no decompression feature is on).
async fn proxy(State(upstream): State<Upstream>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    if parts.headers.contains_key(header::UPGRADE) {
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(upgrade) => upgrade,
            Err(rejection) => return rejection.into_response(),
        };
        let target = format!("ws://{}{path}", upstream.service);
        // Connect before accepting, so a refused upgrade (404, 400) reaches the page as such.
        return match tokio_tungstenite::connect_async(&target).await {
            Ok((server, _)) => upgrade.on_upgrade(move |client| bridge(client, server)),
            Err(tungstenite::Error::Http(refused)) => {
                StatusCode::from_u16(refused.status().as_u16())
                    .unwrap_or(StatusCode::BAD_GATEWAY)
                    .into_response()
            }
            Err(_) => StatusCode::BAD_GATEWAY.into_response(),
        };
    }
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    // A page is asked for uncompressed, so that the probe can be put into it.
    let page = accepts_html(&parts.headers);
    if page {
        parts.headers.remove(header::ACCEPT_ENCODING);
    }
    let mut forwarded = upstream
        .http
        .request(parts.method, format!("http://{}{path}", upstream.service))
        .body(body);
    // Headers go along as a reverse proxy sends them, except that this server's own origin is
    // presented as the service's: a service behind a real proxy is told the proxy's address
    // (`PUBLIC_URL`), but this one is started before this server has a port. Other origins pass
    // unchanged, so the service still judges them.
    let service_origin = format!("http://{}", upstream.service);
    for (name, value) in &parts.headers {
        if name == header::ORIGIN && *value == upstream.own_origin {
            forwarded = forwarded.header(name, service_origin.as_str());
        } else if name != header::CONNECTION {
            forwarded = forwarded.header(name, value);
        }
    }
    let Ok(answer) = forwarded.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    for hop in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::CONTENT_LENGTH,
    ] {
        headers.remove(hop);
    }
    let mut bytes = answer.bytes().await.unwrap_or_default().to_vec();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if page && is_html && !headers.contains_key(header::CONTENT_ENCODING) {
        bytes = with_probe(bytes);
    }
    (status, headers, Body::from(bytes)).into_response()
}

/// Whether the request is a navigation (a browser asking for a page rather than a resource).
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The probe's tag, for the start of every page's `<head>`.
const PROBE: &[u8] = b"<script src=\"/__test/watch.js\"></script>";

/// Puts [`PROBE`] right after the page's `<head>` tag. A page without one is served as it is:
/// the tests that read the probe then say it is missing. A byte search rather than an HTML
/// parser: the pages are this repository's own, each with a plain `<head>`.
fn with_probe(page: Vec<u8>) -> Vec<u8> {
    let lower = page.to_ascii_lowercase();
    let head = lower
        .windows(5)
        .position(|w| w == b"<head")
        .filter(|&at| matches!(lower.get(at + 5), Some(b'>' | b' ' | b'\n' | b'\t')))
        .and_then(|at| {
            lower[at..]
                .iter()
                .position(|&b| b == b'>')
                .map(|end| at + end + 1)
        });
    let Some(at) = head else {
        return page;
    };
    [&page[..at], PROBE, &page[at..]].concat()
}

/// Copies messages both ways until either side closes.
async fn bridge(
    client: WebSocket,
    server: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) {
    let (mut to_client, mut from_client) = client.split();
    let (mut to_server, mut from_server) = server.split();
    let up = async {
        while let Some(Ok(message)) = from_client.next().await {
            let message = match message {
                ws::Message::Text(text) => tungstenite::Message::text(text.as_str()),
                ws::Message::Binary(bytes) => tungstenite::Message::binary(bytes),
                ws::Message::Ping(bytes) => tungstenite::Message::Ping(bytes),
                ws::Message::Pong(bytes) => tungstenite::Message::Pong(bytes),
                ws::Message::Close(_) => break,
            };
            if to_server.send(message).await.is_err() {
                break;
            }
        }
        let _ = to_server.close().await;
    };
    let down = async {
        while let Some(Ok(message)) = from_server.next().await {
            let message = match message {
                tungstenite::Message::Text(text) => ws::Message::Text(text.as_str().into()),
                tungstenite::Message::Binary(bytes) => ws::Message::Binary(bytes),
                tungstenite::Message::Ping(bytes) => ws::Message::Ping(bytes),
                tungstenite::Message::Pong(bytes) => ws::Message::Pong(bytes),
                tungstenite::Message::Close(_) => break,
                tungstenite::Message::Frame(_) => continue,
            };
            if to_client.send(message).await.is_err() {
                break;
            }
        }
        let _ = to_client.close().await;
    };
    // Whichever side ends first ends the bridge.
    tokio::select! {
        () = up => {},
        () = down => {},
    }
}
