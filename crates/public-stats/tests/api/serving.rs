//! The serving loop against hostile or broken clients: a head sent too slowly, too many
//! connections, oversized request lines and headers, a malformed chunked body, a request that
//! takes too long — each ends in a problem body or a closed connection, never a hang; and a
//! WebSocket outlives the request timeout.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

/// Sends `request` as raw bytes and reads until the server closes or `within` passes.
async fn raw_exchange(app: &TestApp, request: &[u8], within: Duration) -> String {
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    read_answer(&mut tcp, within).await
}

async fn read_answer(tcp: &mut TcpStream, within: Duration) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(within, tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status code and JSON body of a raw HTTP/1.1 answer.
fn status_and_problem(answer: &str) -> (u16, Value) {
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_head_sent_too_slowly_is_cut_off_after_the_header_read_timeout() {
    let app = spawn_app_with(&["--header-read-timeout", "1s"]).await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    let started = tokio::time::Instant::now();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The rest of the head never comes: the server must close, not wait for ever.
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buffer))
        .await
        .expect("the server closes the connection within seconds");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}, before the timeout"
    );
    // A client that connects and sends nothing is closed likewise.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buffer))
        .await
        .expect("the server closes a silent connection within seconds");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // A complete request is served as usual.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_connection_over_max_connections_gets_a_503_problem_and_is_closed() {
    let app = spawn_app_with(&["--max-connections", "2"]).await;
    // Two open connections take both places: one idle, one a WebSocket (which counts too).
    let idle = TcpStream::connect(app.addr).await.unwrap();
    let (socket, _) = connect_async(app.ws_url("/")).await.unwrap();
    // Accepting is asynchronous: give the loop a moment to count the idle one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = raw_exchange(
        &app,
        b"GET /api/queues HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    let (status, problem) = status_and_problem(&answer);
    assert_eq!(status, 503, "{answer}");
    assert_eq!(
        problem["type"], "/problems/too-many-connections",
        "{problem}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 5"),
        "{answer}"
    );
    // A client library sees the same, not a reset.
    let response = app.http.get(app.url("/api/queues")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    // Places free up when connections close, the WebSocket's included.
    drop(idle);
    drop(socket);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let status = reqwest::Client::new()
            .get(app.url("/api/queues"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_overlong_url_is_a_414_problem() {
    let app = spawn_app().await;
    let long = "a".repeat(9 * 1024);
    let response = app.get(&format!("/api/queues?pad={long}")).await;
    assert_eq!(response.status(), 414);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/uri-too-long", "{problem}");
    // An ordinary URL of some length is fine.
    let fine = "a".repeat(1024);
    assert_eq!(
        app.get(&format!("/api/queues?pad={fine}")).await.status(),
        200
    );
}

#[tokio::test]
async fn oversized_headers_are_a_431_problem() {
    let app = spawn_app().await;
    let big = app
        .http
        .get(app.url("/api/queues"))
        .header("x-padding", "a".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    let many = (0..120).fold(app.http.get(app.url("/api/queues")), |request, n| {
        request.header(format!("x-header-{n}"), "1")
    });
    let many = many.send().await.unwrap();
    for response in [big, many] {
        assert_eq!(response.status(), 431);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/headers-too-large", "{problem}");
    }
    // Beyond hyper's own buffer the answer is hyper's: the status is right, the body empty.
    let huge = app
        .http
        .get(app.url("/api/queues"))
        .header("x-padding", "a".repeat(100 * 1024))
        .send()
        .await;
    if let Ok(huge) = huge {
        assert_eq!(huge.status(), 431);
    }
}

#[tokio::test]
async fn a_malformed_chunked_body_is_a_400_problem_not_a_size_complaint() {
    let app = spawn_app().await;
    let answer = raw_exchange(
        &app,
        b"POST /api/callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Transfer-Encoding: chunked\r\n\r\nzz-not-a-size\r\n{}\r\n0\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    let (status, problem) = status_and_problem(&answer);
    assert_eq!(status, 400, "{answer}");
    assert_eq!(problem["type"], "/problems/bad-body", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("chunked"),
        "{problem}"
    );
    // A well-formed chunked body over the limit is still a 413.
    let chunk = "a".repeat(8 * 1024);
    let request = format!(
        "POST /api/callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let answer = raw_exchange(&app, request.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(status_and_problem(&answer).0, 413, "{answer}");
}

#[tokio::test]
async fn a_request_whose_body_never_ends_is_a_408_problem() {
    let app = spawn_app_with(&["--request-timeout", "1s"]).await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(
        b"POST /api/callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"queueId\":",
    )
    .await
    .unwrap();
    let answer = read_answer(&mut tcp, Duration::from_secs(10)).await;
    let (status, problem) = status_and_problem(&answer);
    assert_eq!(status, 408, "{answer}");
    assert_eq!(problem["type"], "/problems/request-timeout", "{problem}");
}

#[tokio::test]
async fn a_websocket_outlives_the_request_timeout() {
    let app = spawn_app_with(&["--request-timeout", "1s"]).await;
    app.wait_ready().await;
    let (mut socket, _) = connect_async(app.ws_url("/")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":7,"busy":0},"waiting":{"voice":0}}),
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is still open")
            .expect("a valid frame");
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(text.as_str()).unwrap();
            if frame["queueStats"][DEMO_SALES_QUEUE.to_string()]["availableAgents"] == 7 {
                break;
            }
        }
    }
}
