//! Graceful shutdown of the real binary under load: SIGTERM with thousands of WebSockets open
//! and requests in flight. Readiness turns 503, nothing new is accepted, the requests in flight
//! complete, every socket gets a `1012 Service Restart` close, and the process exits 0 well
//! within the time orchestrators allow (30 s by default).
//!
//! `SHUTDOWN_TEST_SOCKETS` (default 2,000) sets how many WebSockets are open; to see how long the
//! shutdown took: `cargo test -p public-stats --test api shutdown -- --nocapture`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use genesys_sim::SimConfig;
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use crate::callbacks::tomorrow;
use crate::helpers::*;

/// The binary, killed if the test ends before it does.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn start_service(sim_url: &str, port: u16, data_dir: &str) -> Service {
    let child = Command::new(env!("CARGO_BIN_EXE_public-stats"))
        .env_clear()
        .env("PURECLOUD_CLIENT_ID", DEMO_CLIENT_ID)
        .env("PURECLOUD_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        .env("PURECLOUD_BASE_URL", sim_url)
        .env("PURECLOUD_MONITORED_QUEUES", DEMO_SALES_QUEUE.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DATA_DIR", data_dir)
        .env("ADMIN_BIND_ADDRESS", "127.0.0.1:0")
        .env("SHUTDOWN_DRAIN_SECONDS", "2")
        // Every socket comes from this test's one address, at once.
        .env("WS_MAX_PER_ADDRESS", "10000")
        .env("WS_MAX_CONNECTIONS", "10000")
        .env("WS_UPGRADES_PER_SECOND", "100000")
        .env("WS_UPGRADE_BURST", "10000")
        .env("CALLBACK_PER_ADDRESS_HOURLY", "1000")
        .env("CALLBACK_PER_ADDRESS_DAILY", "1000")
        .env("CALLBACK_NUMBERS_PER_ADDRESS_DAILY", "1000")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the service binary starts");
    Service(child)
}

/// Generous: a debug binary starting beside a busy test run (browsers, other services) can take
/// tens of seconds to connect its stream on a shared machine.
async fn wait_connected(http: &reqwest::Client, base: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/readyz")).send().await
            && let Ok(body) = response.json::<Value>().await
            && body["ready"] == true
            && body["stream"]["connected"] == true
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the service did not come up with a connected stream");
}

/// A callback request whose head and part of whose body are sent now; `finish` sends the rest
/// and reads the answer.
struct SlowRequest {
    tcp: TcpStream,
    rest: Vec<u8>,
}

impl SlowRequest {
    async fn begin(port: u16, number: u32) -> Self {
        let body = json!({
            "queueId": DEMO_SALES_QUEUE,
            "callbackNumbers": [format!("+1317{:07}", 3_000_000 + number)],
            "callbackUserName": "Shutdown Test",
            "callbackScheduledTime": tomorrow(),
        })
        .to_string()
        .into_bytes();
        let head = format!(
            "POST /api/callback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (first, rest) = body.split_at(body.len() / 2);
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(first).await.unwrap();
        SlowRequest {
            tcp,
            rest: rest.to_vec(),
        }
    }

    /// The status code of the answer.
    async fn finish(mut self) -> u16 {
        self.tcp.write_all(&self.rest).await.unwrap();
        status_of(&mut self.tcp).await
    }
}

async fn status_of(tcp: &mut TcpStream) -> u16 {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {answer:?}"))
}

/// Opens a WebSocket (a few handshakes at a time), says so on `opened`, and reads it until it
/// closes; its close code (`None`: closed without a close frame).
async fn close_code_of(
    url: String,
    handshakes: Arc<Semaphore>,
    opened: mpsc::UnboundedSender<()>,
) -> Option<u16> {
    let (mut socket, _) = {
        let _handshake = handshakes.acquire().await.unwrap();
        connect_async(&url).await.expect("WebSocket opens")
    };
    let _ = opened.send(());
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Close(frame)) => return frame.map(|frame| u16::from(frame.code)),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[tokio::test]
async fn sigterm_with_thousands_of_sockets_and_requests_in_flight_exits_cleanly_in_time() {
    let sockets: usize = std::env::var("SHUTDOWN_TEST_SOCKETS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(2_000);
    let sim = genesys_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut service = start_service(&sim.base_url(), port, &data_dir.path().to_string_lossy());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    wait_connected(&http, &base).await;

    // The sockets, each read until its close frame.
    let handshakes = Arc::new(Semaphore::new(64));
    let (opened, mut opens) = mpsc::unbounded_channel();
    let readers: Vec<_> = (0..sockets)
        .map(|_| {
            tokio::spawn(close_code_of(
                format!("ws://127.0.0.1:{port}/"),
                handshakes.clone(),
                opened.clone(),
            ))
        })
        .collect();
    for _ in 0..sockets {
        opens.recv().await.expect("every socket opens");
    }
    // Requests in flight at the signal: bodies half sent.
    let mut in_flight = Vec::new();
    for number in 0..10 {
        in_flight.push(SlowRequest::begin(port, number).await);
    }
    // A request whose head is half sent at the signal and completed after it.
    let mut late = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    late.write_all(b"GET /readyz HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &service.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Readiness says 503 to what still reaches the service.
    late.write_all(b"Host: 127.0.0.1\r\n\r\n").await.unwrap();
    assert_eq!(status_of(&mut late).await, 503, "readiness during shutdown");
    // Nothing new gets in.
    let refused = TcpStream::connect(("127.0.0.1", port)).await;
    assert!(
        refused.is_err(),
        "a new connection was accepted after SIGTERM"
    );
    // The requests in flight complete, accepted.
    for request in in_flight {
        assert_eq!(
            request.finish().await,
            202,
            "a request in flight at SIGTERM"
        );
    }
    // Every socket got its close frame, 1012.
    let mut codes = std::collections::BTreeMap::new();
    for reader in readers {
        *codes.entry(reader.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        codes,
        std::collections::BTreeMap::from([(Some(1012), sockets)]),
        "close codes (None: no close frame)"
    );
    let deadline = signalled + Duration::from_secs(25);
    let status = loop {
        if let Some(status) = service.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 25 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = signalled.elapsed();
    println!(
        "shutdown with {sockets} WebSockets and 10 requests in flight: {status} after {took:?}"
    );
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(25), "{took:?}");
}
