//! The push WebSockets on the open internet: who is admitted before the upgrade (origin,
//! per-address and global caps, upgrade rate), what a client may send, and the spread-out
//! `1012` close at shutdown. Raw tokio-tungstenite clients, so the test sees exactly what a
//! client receives (status, problem body, close code).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::header;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::*;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the handshake got: the socket, or the refusal's status, headers and body.
enum Handshake {
    Open(Box<Client>),
    Refused(u16, header::HeaderMap, Value),
}

impl Handshake {
    fn open(self) -> Client {
        match self {
            Handshake::Open(client) => *client,
            Handshake::Refused(status, _, body) => panic!("refused with {status}: {body}"),
        }
    }

    fn refused(self) -> (u16, header::HeaderMap, Value) {
        match self {
            Handshake::Open(_) => panic!("expected a refusal, the socket opened"),
            Handshake::Refused(status, headers, body) => (status, headers, body),
        }
    }
}

async fn handshake(app: &TestApp, path: &str, headers: &[(&'static str, &str)]) -> Handshake {
    let mut request = app.ws_url(path).into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    match connect_async(request).await {
        Ok((socket, _)) => Handshake::Open(Box::new(socket)),
        Err(tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .and_then(|bytes| serde_json::from_slice(bytes).ok())
                .unwrap_or(Value::Null);
            let status = response.status().as_u16();
            let (parts, _) = response.into_parts();
            Handshake::Refused(status, parts.headers, body)
        }
        Err(other) => panic!("{path}: handshake failed: {other}"),
    }
}

/// The close frame's code, skipping other frames; `None` if the connection ended without one.
async fn close_code(socket: &mut Client, within: Duration) -> Option<CloseCode> {
    tokio::time::timeout(within, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the server closed in time")
}

fn live_path() -> String {
    format!("/api/stats/{DEMO_SALES_QUEUE}/live")
}

#[tokio::test]
async fn a_foreign_origin_is_refused_before_the_upgrade_with_a_problem_naming_the_setting() {
    let app = spawn_app().await;
    for path in ["/", &live_path()] {
        let (status, _, body) = handshake(&app, path, &[("origin", "https://evil.example")])
            .await
            .refused();
        assert_eq!(status, 403, "{path}");
        assert_eq!(body["type"], "/problems/foreign-origin", "{path}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("ALLOWED_ORIGINS=*"), "{detail}");
        // A DNS-rebound name at the right port, with a Host to match, is still foreign.
        let rebound = format!("attacker.example:{}", app.addr.port());
        let (status, _, _) = handshake(
            &app,
            path,
            &[("origin", &format!("http://{rebound}")), ("host", &rebound)],
        )
        .await
        .refused();
        assert_eq!(status, 403, "{path}: a rebound Host is not own");
        // The service's own page and non-browser clients (no Origin) are admitted.
        let own = format!("http://{}", app.addr);
        handshake(&app, path, &[("origin", &own)]).await.open();
        let own_by_name = format!("http://localhost:{}", app.addr.port());
        handshake(&app, path, &[("origin", &own_by_name)])
            .await
            .open();
        handshake(&app, path, &[]).await.open();
    }
}

#[tokio::test]
async fn allowed_origins_public_url_and_star_admit_other_pages() {
    let listed = spawn_app_with(&[
        "--allowed-origins",
        "https://shop.example",
        "--public-url",
        "https://stats.example/widget/",
    ])
    .await;
    for origin in ["https://shop.example", "https://stats.example"] {
        handshake(&listed, "/", &[("origin", origin)]).await.open();
    }
    let (status, _, _) = handshake(&listed, "/", &[("origin", "https://other.example")])
        .await
        .refused();
    assert_eq!(status, 403);
    let open = spawn_app_with(&["--allowed-origins", "*"]).await;
    handshake(&open, "/", &[("origin", "https://other.example")])
        .await
        .open();
}

#[tokio::test]
async fn a_page_can_read_why_its_socket_was_refused_with_a_plain_fetch() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url(&live_path()))
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/foreign-origin");
    // From an admitted page the same fetch says "use a WebSocket".
    let own = app
        .http
        .get(app.url(&live_path()))
        .header(header::ORIGIN, format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 426);
}

#[tokio::test]
async fn one_address_holds_at_most_ws_max_per_address_sockets_until_one_closes() {
    let app = spawn_app_with(&["--ws-max-per-address", "2"]).await;
    let mut first = handshake(&app, "/", &[]).await.open();
    let _second = handshake(&app, &live_path(), &[]).await.open();
    let (status, _, body) = handshake(&app, "/", &[]).await.refused();
    assert_eq!(status, 429);
    assert_eq!(body["type"], "/problems/too-many-sockets", "{body}");
    first.close(None).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while app.state.sockets.open() > 1 {
        assert!(
            Instant::now() < deadline,
            "the closed socket's place is freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handshake(&app, "/", &[]).await.open();
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_counted() {
    let app = spawn_app_with(&[
        "--ws-max-per-address",
        "1",
        "--trusted-proxies",
        "127.0.0.1",
    ])
    .await;
    let _a = handshake(&app, "/", &[("x-forwarded-for", "203.0.113.1")])
        .await
        .open();
    let _b = handshake(&app, "/", &[("x-forwarded-for", "203.0.113.2")])
        .await
        .open();
    let (status, _, _) = handshake(&app, "/", &[("x-forwarded-for", "203.0.113.1")])
        .await
        .refused();
    assert_eq!(status, 429);
    // Without a trusted proxy, the header is the client's own claim and is ignored.
    let direct = spawn_app_with(&["--ws-max-per-address", "1"]).await;
    let _c = handshake(&direct, "/", &[("x-forwarded-for", "203.0.113.1")])
        .await
        .open();
    let (status, _, _) = handshake(&direct, "/", &[("x-forwarded-for", "203.0.113.2")])
        .await
        .refused();
    assert_eq!(status, 429);
}

#[tokio::test]
async fn a_full_service_and_a_reconnect_herd_get_503_with_retry_after() {
    let full = spawn_app_with(&["--ws-max-connections", "2"]).await;
    let _held = [
        handshake(&full, "/", &[]).await.open(),
        handshake(&full, "/", &[]).await.open(),
    ];
    let (status, headers, body) = handshake(&full, "/", &[]).await.refused();
    assert_eq!(status, 503);
    assert_eq!(body["type"], "/problems/sockets-unavailable", "{body}");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    let herd = spawn_app_with(&["--ws-upgrades-per-second", "1", "--ws-upgrade-burst", "3"]).await;
    let mut opened = Vec::new();
    let mut refused = 0;
    for _ in 0..6 {
        match handshake(&herd, "/", &[]).await {
            Handshake::Open(socket) => opened.push(socket),
            Handshake::Refused(status, headers, _) => {
                assert_eq!(status, 503);
                assert!(headers.contains_key(header::RETRY_AFTER));
                refused += 1;
            }
        }
    }
    assert!(
        (3..=4).contains(&opened.len()) && refused >= 2,
        "the burst opens, the rest waits: {} opened, {refused} refused",
        opened.len()
    );
}

#[tokio::test]
async fn a_client_that_sends_data_or_too_many_frames_is_closed_with_policy_violation() {
    let app = spawn_app().await;
    let mut talker = handshake(&app, "/", &[]).await.open();
    talker.send(Message::text("hello")).await.unwrap();
    assert_eq!(
        close_code(&mut talker, Duration::from_secs(3)).await,
        Some(CloseCode::Policy)
    );
    let mut pinger = handshake(&app, "/", &[]).await.open();
    let allowed = public_stats::push::MAX_INBOUND_PER_MINUTE;
    for _ in 0..=allowed {
        // The socket may already be closing while the last pings go out.
        let _ = pinger.send(Message::Ping(Default::default())).await;
    }
    assert_eq!(
        close_code(&mut pinger, Duration::from_secs(3)).await,
        Some(CloseCode::Policy)
    );
    // A client within the budget stays.
    let mut quiet = handshake(&app, "/", &[]).await.open();
    for _ in 0..allowed {
        quiet.send(Message::Ping(Default::default())).await.unwrap();
    }
    let still_open = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            match quiet.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return false,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(
        still_open.is_err(),
        "a client within the budget is not closed"
    );
}

#[tokio::test]
async fn an_oversized_message_gets_close_code_1009_not_a_reset() {
    let app = spawn_app().await;
    for size in [public_stats::push::MAX_INBOUND + 1, 64 * 1024, 1024 * 1024] {
        let mut socket = handshake(&app, "/", &[]).await.open();
        // The send may fail part way if the server closes first; the close frame is what counts.
        let _ = socket.send(Message::binary(vec![0u8; size])).await;
        assert_eq!(
            close_code(&mut socket, Duration::from_secs(3)).await,
            Some(CloseCode::Size),
            "{size} bytes"
        );
    }
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_1012_spread_over_the_drain_window() {
    const SOCKETS: usize = 24;
    let window = Duration::from_secs(2);
    let app = spawn_app_with(&[
        "--shutdown-drain-seconds",
        "2",
        "--ws-max-per-address",
        "100",
    ])
    .await;
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        sockets.push(handshake(&app, "/", &[]).await.open());
    }
    let started = Instant::now();
    drop(app);
    let closes = futures_util::future::join_all(sockets.iter_mut().map(|socket| async {
        let code = close_code(socket, window + Duration::from_secs(3)).await;
        (code, started.elapsed())
    }))
    .await;
    let mut times: Vec<Duration> = closes
        .iter()
        .map(|(code, at)| {
            assert_eq!(*code, Some(CloseCode::Restart));
            *at
        })
        .collect();
    times.sort();
    let (first, last) = (times[0], times[SOCKETS - 1]);
    assert!(
        last <= window + Duration::from_secs(1),
        "all closed within the window: {times:?}"
    );
    // Uniformly spread, 24 closes leave less than half the window between first and last with
    // a probability of about 1e-5.
    assert!(
        last - first >= window / 2,
        "the closes are spread, not at once: {times:?}"
    );
    let early = times.iter().filter(|t| **t < window / 2).count();
    assert!(
        (3..=SOCKETS - 3).contains(&early),
        "both halves of the window get closes: {times:?}"
    );
}
