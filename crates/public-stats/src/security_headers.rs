//! The response headers that tell browsers what the service's answers may do: a strict
//! Content-Security-Policy, `Referrer-Policy` and framing rules on its own page (the demo page);
//! `X-Content-Type-Options: nosniff` on every answer; `Cache-Control: no-store` on callback
//! answers; and `Cross-Origin-Resource-Policy: cross-origin` on the widget's files, which other
//! sites embed.
//!
//! It is not CORS (`cors`), which decides which pages may read or post; these headers limit what a
//! browser does with an answer it already has.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::uri::Authority;
use axum::middleware::Next;
use axum::response::Response;

/// The demo page's policy, apart from `img-src` and `connect-src`. Nothing inline: every script
/// and stylesheet is a file from the service (the widget's own stylesheet is a `<link>` in its
/// shadow root), so an injected `<script>` or `style=""` would not run. `frame-ancestors 'none'`:
/// the page has buttons a framing site could trick a visitor into pressing, and no reason to be
/// framed.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                           font-src 'self'; manifest-src 'self'; \
                           frame-ancestors 'none'; object-src 'none'; base-uri 'none'; \
                           form-action 'self'";

/// Where the demo page's chat keeps files, beside the page's own origin: in sandbox mode the
/// simulator's upload target (its own port, as Genesys's storage is its own host), which the
/// chat uploads to (`connect-src`) and shows pictures from (`img-src`). `None` otherwise.
#[derive(Clone, Default)]
pub struct FileStore(Option<String>);

impl FileStore {
    /// `origin` (`scheme://host:port`) goes into the policy only if it is one.
    pub fn new(origin: Option<String>) -> Self {
        FileStore(origin.filter(|origin| plain_origin(origin)))
    }
}

/// Every answer: a browser must take the declared type at its word, so a JSON answer holding a
/// visitor's text can never be read as HTML or script.
pub async fn everywhere(State(files): State<FileStore>, request: Request, next: Next) -> Response {
    // HTTP/2 names the host in the URI (`:authority`), HTTP/1.1 in `Host`.
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| request.uri().authority().map(Authority::as_str))
        .and_then(plain_authority)
        .map(str::to_owned);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_html(headers) {
        add_page_headers(headers, host.as_deref(), files.0.as_deref());
    }
    response
}

/// The widget's files: any site may embed them (`<script src>`, `<link>`, `<img>`), including a
/// site that isolates itself with `Cross-Origin-Embedder-Policy`, which loads only resources that
/// say so. The demo page is left to [`everywhere`].
pub async fn embeddable(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !is_html(headers) {
        headers.insert(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        );
    }
    response
}

/// Callback answers carry a receipt about a visitor's request: no browser or proxy keeps them.
pub async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn add_page_headers(headers: &mut HeaderMap, host: Option<&str>, files: Option<&str>) {
    if let Ok(policy) = HeaderValue::try_from(page_policy(host, files)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    // The page links nowhere that needs to know where the visitor came from.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // For browsers that predate `frame-ancestors`.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The full policy for a page served to `host`, whose chat keeps files at `files`.
/// `connect-src 'self'` covers the statistics WebSocket only in browsers that implement CSP
/// Level 3 (older Safari and Firefox do not match `ws:` against `'self'`), so the page's own
/// WebSocket origins are listed as well.
fn page_policy(host: Option<&str>, files: Option<&str>) -> String {
    let sockets = host
        .map(|host| format!(" ws://{host} wss://{host}"))
        .unwrap_or_default();
    let files = files.map(|origin| format!(" {origin}")).unwrap_or_default();
    format!("{PAGE_POLICY}; img-src 'self'{files}; connect-src 'self'{sockets}{files}")
}

/// `http(s)://` and a plain host and port, nothing else: safe to write into the policy.
fn plain_origin(origin: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .and_then(plain_authority)
        .is_some()
}

/// A `Host` header that is a plain host and port, and so safe to write into the policy; anything
/// else (which no browser sends) gets the policy without the explicit WebSocket origins.
fn plain_authority(host: &str) -> Option<&str> {
    let plain = host.parse::<Authority>().is_ok()
        && !host.contains('@')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    plain.then_some(host)
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_host_and_port_reaches_the_policy() {
        for host in [
            "localhost:8080",
            "stats.example.com",
            "[::1]:3000",
            "127.0.0.1",
        ] {
            assert_eq!(plain_authority(host), Some(host), "{host}");
        }
        for host in [
            "x; script-src *",
            "a b",
            "user@host",
            "host/path",
            "",
            "é.example",
        ] {
            assert_eq!(plain_authority(host), None, "{host:?}");
        }
    }

    #[test]
    fn the_policy_lists_the_pages_own_websocket_origins() {
        let policy = page_policy(Some("stats.example.com"), None);
        assert!(
            policy.ends_with("connect-src 'self' ws://stats.example.com wss://stats.example.com"),
            "{policy}"
        );
        assert!(page_policy(None, None).ends_with("img-src 'self'; connect-src 'self'"));
        assert!(!policy.contains("unsafe"), "{policy}");
    }

    #[test]
    fn the_file_store_may_send_pictures_and_take_uploads() {
        let store = FileStore::new(Some("http://127.0.0.1:4100".to_owned()));
        let policy = page_policy(None, store.0.as_deref());
        assert!(
            policy.ends_with(
                "img-src 'self' http://127.0.0.1:4100; connect-src 'self' http://127.0.0.1:4100"
            ),
            "{policy}"
        );
        for origin in [
            "http://a b",
            "http://x; script-src *",
            "javascript:1",
            "127.0.0.1:4100",
        ] {
            assert!(
                FileStore::new(Some(origin.to_owned())).0.is_none(),
                "{origin}"
            );
        }
    }
}
