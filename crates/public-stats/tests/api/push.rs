//! WebSocket push: the seed's `/` stream and the per-queue live stream.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use uuid::Uuid;

use crate::helpers::*;
use crate::stats::QUEUE_EWT;

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(app: &TestApp, path: &str) -> Client {
    let (socket, response) = connect_async(app.ws_url(path))
        .await
        .expect("WebSocket opens");
    assert_eq!(response.status().as_u16(), 101);
    socket
}

/// The next text frame as JSON, skipping pings; panics after `within`.
pub async fn next_json(socket: &mut Client, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket stays open")
            .expect("a valid frame");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("JSON frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Reads frames until one satisfies `check`; panics after `within`.
pub async fn until(socket: &mut Client, within: Duration, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = next_json(socket, left).await;
        if check(&frame) {
            return frame;
        }
    }
}

fn sales_is(observations: &Value, idle: u64, busy: u64, voice_waiting: u64) -> bool {
    observations["availableAgents"] == idle
        && observations["busyAgents"] == busy
        && observations["voice"]["waiting"] == voice_waiting
}

fn root_sales(frame: &Value) -> &Value {
    &frame["queueStats"][DEMO_SALES_QUEUE.to_string()]
}

#[tokio::test]
async fn root_websocket_gets_queue_stats_on_connect_and_on_change() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let mut socket = connect(&app, "/").await;
    let first = next_json(&mut socket, Duration::from_secs(2)).await;
    let stats = first["queueStats"].as_object().expect("queueStats object");
    for queue in [DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE] {
        assert!(
            stats[&queue.to_string()]["voice"]["waiting"].is_u64(),
            "{first}"
        );
    }
    assert_eq!(stats.len(), 3);
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":2,"busy":1},"waiting":{"voice":3}}),
    )
    .await;
    until(&mut socket, Duration::from_secs(4), |f| {
        sales_is(root_sales(f), 2, 1, 3)
    })
    .await;
}

#[tokio::test]
async fn a_clients_ping_is_answered_and_the_frames_around_it_stay_whole() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let mut socket = connect(&app, "/").await;
    next_json(&mut socket, Duration::from_secs(2)).await;
    for round in 0..3u64 {
        // The pong is queued by tungstenite while the change's frame is written by the socket
        // straight to the connection: each must reach the client whole and in one piece.
        socket
            .send(Message::Ping(round.to_be_bytes().to_vec().into()))
            .await
            .unwrap();
        app.set_queue(
            DEMO_SALES_QUEUE,
            json!({"agents":{"idle":round + 4,"busy":1},"waiting":{"voice":0}}),
        )
        .await;
        let mut pong = None;
        let mut changed = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
        while pong.is_none() || !changed {
            let message = tokio::time::timeout_at(deadline, socket.next())
                .await
                .expect("the pong and the change in time")
                .expect("the socket stays open")
                .expect("a valid frame");
            match message {
                Message::Pong(payload) => pong = Some(payload),
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                    changed |= sales_is(root_sales(&frame), round + 4, 1, 0);
                }
                Message::Ping(_) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
        assert_eq!(pong.unwrap().as_ref(), round.to_be_bytes());
    }
}

#[tokio::test]
async fn a_frame_sent_with_the_handshake_in_one_packet_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::protocol::Role;

    let app = spawn_app().await;
    app.wait_ready().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    // The handshake and a masked ping (RFC 6455 §5.3) in one write: the server reads the ping
    // along with the request, before it switches protocols.
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut bytes = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        app.addr
    )
    .into_bytes();
    bytes.extend([0x89, 0x80 | 5]);
    bytes.extend(mask);
    bytes.extend(b"early".iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    stream.write_all(&bytes).await.unwrap();
    let mut received = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the server answers the handshake");
        received.extend_from_slice(&chunk[..read]);
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    assert!(received.starts_with(b"HTTP/1.1 101"), "{received:?}");
    let rest = received.split_off(end);
    let mut socket = WebSocketStream::from_partially_read(stream, rest, Role::Client, None).await;
    let pong = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match socket.next().await.expect("open").expect("a valid frame") {
                Message::Pong(payload) => return payload,
                _ => continue,
            }
        }
    })
    .await
    .expect("the early ping is answered");
    assert_eq!(pong.as_ref(), b"early");
}

#[tokio::test]
async fn a_plain_get_of_root_still_serves_the_demo_page() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn the_per_queue_stream_pushes_observations_and_ewt() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let queue = DEMO_SALES_QUEUE;
    let mut socket = connect(&app, &format!("/api/stats/{queue}/live?mediaType=voice")).await;
    let first = next_json(&mut socket, Duration::from_secs(3)).await;
    assert_eq!(first["queueId"], queue.to_string());
    assert!(
        first["ewt"].is_i64() && first["observations"]["busyAgents"].is_u64(),
        "{first}"
    );
    assert!(first.get("stale").is_none(), "{first}");
    app.set_queue(
        queue,
        json!({"agents":{"idle":2,"busy":1},"waiting":{"voice":3}}),
    )
    .await;
    let changed = until(&mut socket, Duration::from_secs(4), |f| {
        sales_is(&f["observations"], 2, 1, 3)
    })
    .await;
    assert_eq!(changed["queueId"], queue.to_string());
}

#[tokio::test]
async fn the_per_queue_stream_refuses_unknown_queues_and_media_types() {
    let app = spawn_app().await;
    for (path, status) in [
        (format!("/api/stats/{}/live", Uuid::new_v4()), 404),
        ("/api/stats/not-a-uuid/live".to_string(), 404),
        (
            format!("/api/stats/{DEMO_SALES_QUEUE}/live?mediaType=fax"),
            400,
        ),
    ] {
        match connect_async(app.ws_url(&path)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), status, "{path}");
            }
            other => panic!(
                "{path}: expected a refusal, got {:?}",
                other.map(|(_, r)| r.status())
            ),
        }
    }
    assert_eq!(app.state.feeds.running(), 0);
}

#[tokio::test]
async fn the_ewt_is_refreshed_only_while_someone_listens() {
    let app = spawn_app_with(&["--cache-seconds", "1"]).await;
    let path = format!("/api/stats/{DEMO_BILLING_QUEUE}/live?mediaType=email");
    let mut first = connect(&app, &path).await;
    let mut second = connect(&app, &path).await;
    next_json(&mut first, Duration::from_secs(2)).await;
    next_json(&mut second, Duration::from_secs(2)).await;
    assert_eq!(app.state.feeds.running(), 1, "one refresher for both");
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    // The queue-wide answer carries the email estimate.
    let while_listening = app.upstream_count(QUEUE_EWT).await;
    assert!(
        (2..=4).contains(&while_listening),
        "every second: {while_listening}"
    );
    first.close(None).await.unwrap();
    second.close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while app.state.feeds.running() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refresher stops"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped = app.upstream_count(QUEUE_EWT).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(app.upstream_count(QUEUE_EWT).await, stopped);
}

#[tokio::test]
async fn updates_survive_a_dropped_notification_socket() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let mut socket = connect(&app, "/").await;
    next_json(&mut socket, Duration::from_secs(2)).await;
    let dropped = app
        .sim_control(Method::POST, "/__sim/notifications/drop", None)
        .await;
    assert_eq!(dropped.status().as_u16(), 204);
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":2,"busy":1},"waiting":{"voice":3}}),
    )
    .await;
    until(&mut socket, Duration::from_secs(4), |f| {
        sales_is(root_sales(f), 2, 1, 3)
    })
    .await;
    // And live updates (not only the reconnect's snapshot) flow again.
    app.wait_ready().await;
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":1,"busy":2},"waiting":{"voice":4}}),
    )
    .await;
    until(&mut socket, Duration::from_secs(4), |f| {
        sales_is(root_sales(f), 1, 2, 4)
    })
    .await;
}

#[tokio::test]
async fn updates_survive_an_expired_token() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let mut socket = connect(&app, &format!("/api/stats/{DEMO_SALES_QUEUE}/live")).await;
    next_json(&mut socket, Duration::from_secs(2)).await;
    let expired = app
        .sim_control(Method::POST, "/__sim/tokens/expire", None)
        .await;
    assert_eq!(expired.status().as_u16(), 204);
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":2,"busy":1},"waiting":{"voice":3}}),
    )
    .await;
    until(&mut socket, Duration::from_secs(4), |f| {
        sales_is(&f["observations"], 2, 1, 3)
    })
    .await;
    app.wait_ready().await;
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":1,"busy":2},"waiting":{"voice":4}}),
    )
    .await;
    until(&mut socket, Duration::from_secs(4), |f| {
        sales_is(&f["observations"], 1, 2, 4)
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_sockets_with_service_restart() {
    let app = spawn_app_with(&["--shutdown-drain-seconds", "0"]).await;
    let mut socket = connect(&app, "/").await;
    next_json(&mut socket, Duration::from_secs(2)).await;
    drop(app);
    let close = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed in time");
    assert_eq!(close, Some(CloseCode::Restart));
}

#[tokio::test]
async fn root_frames_say_stale_while_the_stream_is_down_and_recover() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let mut socket = connect(&app, "/").await;
    let first = next_json(&mut socket, Duration::from_secs(2)).await;
    assert!(first.get("stale").is_none(), "{first}");
    app.take_down_notification_stream().await;
    let stale = until(&mut socket, Duration::from_secs(3), |f| f["stale"] == true).await;
    assert!(
        stale["asOf"].is_string() && stale["queueStats"].is_object(),
        "{stale}"
    );
    app.clear_faults().await;
    until(&mut socket, Duration::from_secs(4), |f| {
        f.get("stale").is_none()
    })
    .await;
}
