//! Pages written for the seed, served from a second origin: a site that moved from the seed's
//! Node service to this one and only changed where `chat-injector.js` comes from. A small server
//! on port 0 serves `tests/browser/pages/seed-*.html` (read at request time) and, for the pages
//! that use it, jQuery 3.3.1 (the seed's version, from npm in `tests/browser/axe/`); every other
//! path is a 404, like a site that does not have the seed's files. Unlike [`crate::host`] it
//! forwards nothing to the service: the widget talks to the service across origins.
//!
//! The page files keep the seed's text; the server rewrites, per request, only what a test
//! varies (see [`SeedPage`]): which of the seed's own addresses (`scriptHost: '/'`,
//! `ws://localhost:8080`, the all-zero `queueId`) are pointed at the service, whether the page
//! loads jQuery or keeps the retired web chat's `pureCloudChatConfig`, and whether the response
//! names a charset. It also puts a small recorder first in `<head>` (see [`RECORDER`]), so the
//! tests read what the page's console and network saw without any browser-specific log API.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::browser::Browser;

/// The seed's own addresses, as its README and pages write them.
const SEED_SCRIPT_HOST: &str = "scriptHost: '/'";
const SEED_STATS_ADDRESS: &str = "'ws://localhost:8080'";
const SEED_QUEUE: &str = "'00000000-0000-0000-0000-000000000000'";
const SEED_INJECTOR: &str = "src=\"/scripts/chat-injector.js\"";

/// Runs before anything else on the page: records every console call (`window.__seedConsole`,
/// `{level, text}`), uncaught errors and rejections (level `uncaught`), and every WebSocket and
/// `fetch` the page starts (`window.__seedAttempts`, `"ws URL"` / `"fetch METHOD URL"`). The
/// browser's own messages about failed connections never reach the console API: the attempts
/// stand for them.
const RECORDER: &str = r#"<script>
(function () {
  var log = window.__seedConsole = [];
  ['error', 'warn', 'info', 'log'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      log.push({ level: level, text: [].map.call(arguments, String).join(' ') });
      return original.apply(console, arguments);
    };
  });
  window.addEventListener('error', function (e) {
    if (e.target === window) log.push({ level: 'uncaught', text: String(e.message) });
  });
  window.addEventListener('unhandledrejection', function (e) {
    log.push({ level: 'uncaught', text: 'unhandled rejection: ' + String(e.reason) });
  });
  var attempts = window.__seedAttempts = [];
  var NativeSocket = window.WebSocket;
  function Socket(url, protocols) {
    attempts.push('ws ' + url);
    return protocols === undefined ? new NativeSocket(url) : new NativeSocket(url, protocols);
  }
  Socket.prototype = NativeSocket.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { Socket[k] = NativeSocket[k]; });
  window.WebSocket = Socket;
  var nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    attempts.push('fetch ' + ((init && init.method) || 'GET') + ' ' + ((input && input.url) || input));
    return nativeFetch.apply(this, arguments);
  };
})();
</script>"#;

/// One of the seed's pages as a site would serve it, and what the test changes in it.
#[derive(Clone, Debug)]
pub struct SeedPage {
    /// `seed-readme.html` (the README's example configuration, copied exactly) or
    /// `seed-demo.html` (the structure of the seed's demo page).
    pub file: &'static str,
    /// The response says `charset=utf-8`; without it (and the pages declare none) the browser
    /// reads the page as windows-1252.
    pub charset: bool,
    /// The page loads jQuery before the widget, as the seed told sites that use it to.
    pub jquery: bool,
    /// The page keeps its `pureCloudChatConfig` (the retired web chat's settings).
    pub legacy_chat: bool,
    /// `scriptHost` points at the service (else the seed's `'/'`: the page's own site).
    pub script_host_fixed: bool,
    /// `statsWebsocketUri`: `Some(url)` replaces the seed's `ws://localhost:8080` (with the
    /// service's address, or a wrong one); `None` leaves it.
    pub stats_address: Option<String>,
    /// `queueId`: `Some(id)` replaces the seed's all-zero ID; `None` leaves it.
    pub queue: Option<Uuid>,
    /// Settings a test adds to `pureCloudCustomChatConfig` before the loader runs (not the
    /// seed's; for what a seed page cannot express).
    pub extra: Option<Value>,
}

impl SeedPage {
    /// `file` with every seed address pointed at the service `app` and the queue `queue`: what a
    /// careful migration gives. A UTF-8 charset, no jQuery, no `pureCloudChatConfig`.
    pub fn migrated(file: &'static str, service: SocketAddr, queue: Uuid) -> SeedPage {
        SeedPage {
            file,
            charset: true,
            jquery: false,
            legacy_chat: false,
            script_host_fixed: true,
            stats_address: Some(format!("ws://{service}")),
            queue: Some(queue),
            extra: None,
        }
    }
}

/// The running page server; dropping it stops it.
pub struct SeedPages {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for SeedPages {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl SeedPages {
    /// Binds and serves; the service's address comes with each page's URL, so the service may
    /// be started after this (with this server's [`SeedPages::origin`] in `ALLOWED_ORIGINS`).
    pub async fn start() -> SeedPages {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the seed page server");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new()
            .route("/{file}", get(page))
            .route("/vendor/jquery.min.js", get(jquery));
        let stop = CancellationToken::new();
        let signal = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { signal.cancelled().await })
                .await
        });
        SeedPages { addr, stop }
    }

    /// `http://127.0.0.1:PORT`, as a browser sends it in `Origin`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of `page`, its widget loaded from the service at `service`.
    pub fn url(&self, page: &SeedPage, service: SocketAddr) -> String {
        let mut query: Vec<(&str, String)> = vec![("service", service.to_string())];
        let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
        query.push(("charset", flag(page.charset)));
        query.push(("jquery", flag(page.jquery)));
        query.push(("legacy", flag(page.legacy_chat)));
        query.push(("scripthost", flag(page.script_host_fixed)));
        if let Some(address) = &page.stats_address {
            query.push(("socket", address.clone()));
        }
        if let Some(queue) = page.queue {
            query.push(("queue", queue.to_string()));
        }
        if let Some(extra) = &page.extra {
            query.push(("extra", extra.to_string()));
        }
        reqwest::Url::parse_with_params(&format!("{}/{}", self.origin(), page.file), query)
            .expect("a valid page URL")
            .into()
    }
}

/// What a test page recorded (see [`RECORDER`]).
pub struct Recorded {
    /// `(level, text)` of every console call and uncaught error, in order.
    pub console: Vec<(String, String)>,
    /// Every WebSocket and fetch the page started.
    pub attempts: Vec<String>,
}

impl Recorded {
    pub async fn read(browser: &Browser) -> Recorded {
        let value = browser
            .js(
                "return { console: window.__seedConsole || null, attempts: window.__seedAttempts || null };",
                vec![],
            )
            .await;
        assert!(
            value["console"].is_array(),
            "the page has no recorder: not a seed page? {value}"
        );
        let console = value["console"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                (
                    entry["level"].as_str().unwrap_or_default().to_owned(),
                    entry["text"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let attempts = value["attempts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a.as_str().unwrap_or_default().to_owned())
            .collect();
        Recorded { console, attempts }
    }

    /// The widget's own messages (they start with "public-stats widget:").
    pub fn widget_messages(&self) -> Vec<&str> {
        self.console
            .iter()
            .filter(|(_, text)| text.starts_with("public-stats widget:"))
            .map(|(_, text)| text.as_str())
            .collect()
    }

    /// How many attempts went to an address starting with `prefix` (e.g. `ws://127.0.0.1:9`).
    pub fn attempts_to(&self, prefix: &str) -> usize {
        self.attempts
            .iter()
            .filter(|a| {
                a.split(' ')
                    .next_back()
                    .is_some_and(|url| url.starts_with(prefix))
            })
            .count()
    }
}

#[derive(serde::Deserialize)]
struct Variant {
    service: String,
    charset: String,
    jquery: String,
    legacy: String,
    scripthost: String,
    socket: Option<String>,
    queue: Option<String>,
    extra: Option<String>,
}

async fn page(Path(file): Path<String>, Query(variant): Query<Variant>) -> Response {
    if !file.starts_with("seed-") || file.contains('/') || file.contains("..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/pages")
        .join(&file);
    let Ok(text) = tokio::fs::read_to_string(&path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let service = format!("http://{}", variant.service);
    let mut text = text
        .replacen("<head>", &format!("<head>\n{RECORDER}"), 1)
        .replace(
            SEED_INJECTOR,
            &format!("src=\"{service}/scripts/chat-injector.js\""),
        );
    if variant.scripthost == "1" {
        text = text.replace(SEED_SCRIPT_HOST, &format!("scriptHost: '{service}/'"));
    }
    if let Some(socket) = &variant.socket {
        text = text.replace(SEED_STATS_ADDRESS, &format!("'{socket}'"));
    }
    if let Some(queue) = &variant.queue {
        text = text.replace(SEED_QUEUE, &format!("'{queue}'"));
    }
    text = keep_block(&text, "legacy", variant.legacy == "1");
    let jquery = if variant.jquery == "1" {
        "<script src=\"/vendor/jquery.min.js\" type=\"text/javascript\"></script>"
    } else {
        ""
    };
    text = text.replace("<!--jquery-->", jquery);
    let extra = variant
        .extra
        .map(|json| format!("<script>Object.assign(pureCloudCustomChatConfig, {json});</script>"))
        .unwrap_or_default();
    text = text.replace("<!--extra-->", &extra);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if variant.charset == "1" {
            "text/html; charset=utf-8"
        } else {
            "text/html"
        }),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (headers, text).into_response()
}

/// The text between `<!--name-->` and `<!--/name-->`, markers removed; or nothing of it.
fn keep_block(text: &str, name: &str, keep: bool) -> String {
    let (open, close) = (format!("<!--{name}-->"), format!("<!--/{name}-->"));
    match (text.find(&open), text.find(&close)) {
        (Some(start), Some(end)) if start < end => {
            let inside = if keep {
                &text[start + open.len()..end]
            } else {
                ""
            };
            format!("{}{inside}{}", &text[..start], &text[end + close.len()..])
        }
        _ => text.to_owned(),
    }
}

async fn jquery() -> Response {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/axe/node_modules/jquery/dist/jquery.min.js");
    let body = tokio::fs::read(&path).await.unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run `npm ci` in crates/public-stats/tests/browser/axe \
             (scripts/test does)",
            path.display()
        )
    });
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
        .into_response()
}
