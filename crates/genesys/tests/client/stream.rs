//! The observation stream against the simulator over real HTTP and WebSocket: snapshot then
//! updates, aggregates ignored, and recovery from every way the notification service can fail
//! (silence, socket_closing, drops, channel expiry, lost subscriptions, token expiry), plus status
//! reporting, shutdown and keeping the `connectUri` out of logs.
//!
//! Timings are shrunk to milliseconds; every wait is bounded so a broken stream fails rather than
//! hangs. Not here: the parsing and backoff details, which are unit-tested next to the code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use genesys::GenesysClient;
use genesys::notifications::stream::{
    BackoffConfig, ObservationStream, QueueObservationUpdate, StreamConfig, StreamEvent,
    StreamStatus, spawn_observation_stream,
};
use genesys_sim::SimConfig;
use genesys_sim::config::{DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE};
use serde_json::{Value, json};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;

use crate::helpers::{OBSERVATIONS, Sim, TOKEN};

const CREATE_CHANNEL: &str = "POST /api/v2/notifications/channels";
const HEAD_CHANNEL: &str = "HEAD /api/v2/notifications/channels/{channelId}";
const SUBSCRIBE: &str = "PUT /api/v2/notifications/channels/{channelId}/subscriptions";
/// Long enough for any single step of a healthy stream on a loaded CI machine.
const STEP: Duration = Duration::from_secs(3);

/// The shared simulator helpers plus the notification parts of the control API.
struct Harness {
    sim: Sim,
    http: reqwest::Client,
    client: GenesysClient,
}

impl Harness {
    /// A simulator with heartbeats every 200 ms (well inside [`fast`]'s silence timeout), changed by `tweak`.
    async fn start(tweak: impl FnOnce(&mut SimConfig)) -> Result<Self> {
        let sim = Sim::start_with(|cfg| {
            cfg.heartbeat_interval = Duration::from_millis(200);
            cfg.observation_min_interval = Duration::from_millis(20);
            tweak(cfg);
        })
        .await?;
        let client = sim.client();
        Ok(Harness {
            sim,
            http: reqwest::Client::new(),
            client,
        })
    }

    fn stream(&self, config: StreamConfig) -> ObservationStream {
        self.stream_with(config, CancellationToken::new())
    }

    fn stream_with(&self, config: StreamConfig, shutdown: CancellationToken) -> ObservationStream {
        spawn_observation_stream(
            self.client.clone(),
            vec![DEMO_SALES_QUEUE],
            config,
            shutdown,
        )
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.sim.base_url())
    }

    async fn control(&self, path: &str, body: Value) -> Result<()> {
        let response = self.http.post(self.url(path)).json(&body).send().await?;
        if !response.status().is_success() {
            bail!("POST {path} answered {}", response.status());
        }
        Ok(())
    }

    async fn drop_sockets(&self) -> Result<()> {
        self.control("/__sim/notifications/drop", json!({})).await
    }

    async fn set_waiting_voice(&self, waiting: u32) -> Result<()> {
        let state =
            json!({"agents": {"idle": 2, "busy": 1, "offQueue": 0}, "waiting": {"voice": waiting}});
        self.sim.set_queue_state(DEMO_SALES_QUEUE, state).await
    }

    async fn count(&self, route: &str) -> Result<u64> {
        self.sim.count(route).await
    }

    /// When (ms since the simulator started) each channel was created.
    async fn created_at_ms(&self) -> Result<Vec<u64>> {
        let log = self.sim.requests().await?;
        Ok(log
            .entries_for(CREATE_CHANNEL)
            .iter()
            .map(|e| e.at_ms)
            .collect())
    }

    async fn channels(&self) -> Result<Vec<Value>> {
        let url = self.url("/__sim/notifications/channels");
        Ok(self.http.get(url).send().await?.json().await?)
    }

    /// The one channel with a socket attached.
    async fn connected_channel(&self) -> Result<Value> {
        let channels = self.channels().await?;
        let mut connected = channels.into_iter().filter(|c| c["connected"] == true);
        match (connected.next(), connected.next()) {
            (Some(channel), None) => Ok(channel),
            _ => bail!("expected exactly one connected channel"),
        }
    }
}

/// Short timings: silence after 600 ms, 300 ms grace, backoff from 50 ms up to 500 ms.
fn fast() -> StreamConfig {
    StreamConfig {
        silence_timeout: Duration::from_millis(600),
        ping_grace: Duration::from_millis(300),
        backoff: BackoffConfig {
            initial: Duration::from_millis(50),
            factor: 2.0,
            max: Duration::from_millis(500),
            jitter: 0.0,
        },
        connect_timeout: Duration::from_secs(2),
        ..StreamConfig::default()
    }
}

async fn next_event(stream: &mut ObservationStream, within: Duration) -> Result<StreamEvent> {
    timeout(within, stream.next())
        .await
        .context("no stream event in time")?
        .context("the stream ended")
}

/// Waits for the next snapshot, skipping updates, and checks it covers the sales queue.
async fn next_snapshot(stream: &mut ObservationStream, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let StreamEvent::Snapshot(queues) = next_event(stream, left).await? {
            let shown = format!("{queues:?}");
            if !shown.contains(&DEMO_SALES_QUEUE.to_string()) {
                bail!("the snapshot lacks the sales queue: {shown}");
            }
            return Ok(());
        }
    }
}

/// Waits for an update of the sales queue's voice row saying `oWaiting` = `waiting`.
async fn next_waiting_voice(
    stream: &mut ObservationStream,
    waiting: u32,
) -> Result<QueueObservationUpdate> {
    let deadline = Instant::now() + STEP;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let StreamEvent::Update(update) = next_event(stream, left).await?
            && update.queue_id == DEMO_SALES_QUEUE
            && update.media_type.as_deref() == Some("voice")
            && update
                .metrics
                .iter()
                .any(|m| m.metric == "oWaiting" && m.count == u64::from(waiting))
        {
            return Ok(update);
        }
    }
}

/// Asserts no event at all arrives for `quiet`.
async fn expect_quiet(stream: &mut ObservationStream, quiet: Duration) -> Result<()> {
    match timeout(quiet, stream.next()).await {
        Err(_) => Ok(()),
        Ok(event) => bail!("expected no event, got {event:?}"),
    }
}

#[tokio::test]
async fn yields_a_snapshot_first_then_an_update_after_a_state_change() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    h.set_waiting_voice(3).await?;
    let update = next_waiting_voice(&mut stream, 3).await?;
    assert!(
        update.metrics.iter().all(|m| m.metric.starts_with('o')),
        "{update:?}"
    );
    let channel = h.connected_channel().await?;
    let topic = format!("v2.analytics.queues.{DEMO_SALES_QUEUE}.observations");
    assert_eq!(channel["topics"], json!([topic]));
    assert!(!format!("{channel}").contains(&DEMO_SUPPORT_QUEUE.to_string()));
    Ok(())
}

#[tokio::test]
async fn thirty_minute_aggregates_are_not_yielded() -> Result<()> {
    let h = Harness::start(|cfg| cfg.aggregate_interval = Duration::from_millis(100)).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    // Several aggregates arrive in this time, and nothing else changes.
    expect_quiet(&mut stream, Duration::from_millis(700)).await?;
    h.set_waiting_voice(2).await?;
    next_waiting_voice(&mut stream, 2).await?;
    assert_eq!(
        stream.skipped_messages(),
        0,
        "aggregates are well-formed, not malformed"
    );
    Ok(())
}

#[tokio::test]
async fn a_ping_keeps_a_quiet_but_live_socket() -> Result<()> {
    // No heartbeats at all: only the stream's ping (answered with a pong) shows the socket lives.
    let h = Harness::start(|cfg| cfg.heartbeat_interval = Duration::from_secs(60)).await?;
    let mut stream = h.stream(StreamConfig {
        silence_timeout: Duration::from_millis(300),
        ping_grace: Duration::from_millis(300),
        ..fast()
    });
    next_snapshot(&mut stream, STEP).await?;
    expect_quiet(&mut stream, Duration::from_millis(1500)).await?;
    assert_eq!(h.connected_channel().await?["connections"], 1);
    Ok(())
}

#[tokio::test]
async fn heartbeat_silence_leads_to_a_reconnect_and_a_new_snapshot() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    let mut status = stream.status();
    h.control("/__sim/notifications/silence", json!({"silent": true}))
        .await?;
    let silenced = Instant::now();
    status
        .wait_for(|s| *s == StreamStatus::Disconnected)
        .await?;
    // 600 ms after the last heartbeat (at most 200 ms before silencing), a ping, 300 ms of grace.
    assert!(
        silenced.elapsed() >= Duration::from_millis(650),
        "{:?}",
        silenced.elapsed()
    );
    h.control("/__sim/notifications/silence", json!({"silent": false}))
        .await?;
    next_snapshot(&mut stream, STEP).await?;
    assert_eq!(h.connected_channel().await?["connections"], 2);
    assert_eq!(
        h.count(CREATE_CHANNEL).await?,
        1,
        "the channel itself was fine"
    );
    Ok(())
}

#[tokio::test]
async fn socket_closing_opens_a_new_socket_long_before_the_close() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    let mut status = stream.status();
    status.mark_unchanged();
    let announced = Instant::now();
    h.control(
        "/__sim/notifications/socket-closing",
        json!({"closeAfterMs": 3000}),
    )
    .await?;
    next_snapshot(&mut stream, Duration::from_millis(1000)).await?;
    assert!(
        announced.elapsed() < Duration::from_millis(1000),
        "{:?}",
        announced.elapsed()
    );
    assert_eq!(h.connected_channel().await?["connections"], 2);
    assert!(
        !status.has_changed()?,
        "the hand-over never left the stream disconnected"
    );
    // The new socket is not the one the simulator closes at 3 s.
    h.set_waiting_voice(4).await?;
    next_waiting_voice(&mut stream, 4).await?;
    Ok(())
}

#[tokio::test]
async fn a_dropped_socket_is_reconnected_after_a_backoff() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let mut stream = h.stream(StreamConfig {
        backoff: BackoffConfig {
            initial: Duration::from_millis(400),
            max: Duration::from_secs(2),
            ..fast().backoff
        },
        ..fast()
    });
    next_snapshot(&mut stream, STEP).await?;
    let mut status = stream.status();
    let dropped = Instant::now();
    h.drop_sockets().await?;
    status
        .wait_for(|s| *s == StreamStatus::Disconnected)
        .await?;
    next_snapshot(&mut stream, STEP).await?;
    assert!(
        dropped.elapsed() >= Duration::from_millis(400),
        "no backoff: {:?}",
        dropped.elapsed()
    );
    assert!(stream.is_connected());
    assert_eq!(h.connected_channel().await?["connections"], 2);
    // That connection was healthy (heartbeats), so the next drop waits the first delay again,
    // not twice it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dropped = Instant::now();
    h.drop_sockets().await?;
    next_snapshot(&mut stream, STEP).await?;
    let waited = dropped.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_millis(780),
        "{waited:?}"
    );
    Ok(())
}

#[tokio::test]
async fn failing_connects_back_off_exponentially_until_one_works() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let fault = json!({"route": "GET /channels/{channelId}", "status": 503, "times": 3});
    h.sim.fault(fault).await?;
    let started = Instant::now();
    let mut stream = h.stream(StreamConfig {
        backoff: BackoffConfig {
            initial: Duration::from_millis(100),
            ..fast().backoff
        },
        ..fast()
    });
    next_snapshot(&mut stream, STEP).await?;
    // 100 + 200 + 400 ms of backoff before the fourth attempt.
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        h.count(CREATE_CHANNEL).await?,
        1,
        "a failed connect keeps the channel"
    );
    Ok(())
}

#[tokio::test]
async fn a_channel_is_replaced_before_it_expires() -> Result<()> {
    let h = Harness::start(|cfg| cfg.channel_ttl = Duration::from_secs(2)).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    let first = h.connected_channel().await?["id"].clone();
    let mut status = stream.status();
    status.mark_unchanged();
    // 90 % of 2 s: renewed at about 1.8 s.
    next_snapshot(&mut stream, STEP).await?;
    let created = h.created_at_ms().await?;
    assert_eq!(created.len(), 2, "{created:?}");
    assert!(
        created[1] - created[0] < 2000,
        "renewed after the first expired: {created:?}"
    );
    assert_ne!(h.connected_channel().await?["id"], first);
    assert!(
        !status.has_changed()?,
        "the renewal never left the stream disconnected"
    );
    h.set_waiting_voice(5).await?;
    next_waiting_voice(&mut stream, 5).await?;
    Ok(())
}

#[tokio::test]
async fn no_longer_subscribed_leads_to_a_new_channel() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    h.control("/__sim/notifications/no-longer-subscribed", json!({}))
        .await?;
    next_snapshot(&mut stream, STEP).await?;
    assert_eq!(h.count(CREATE_CHANNEL).await?, 2);
    assert_eq!(h.count(SUBSCRIBE).await?, 2);
    h.set_waiting_voice(6).await?;
    next_waiting_voice(&mut stream, 6).await?;
    Ok(())
}

#[tokio::test]
async fn expired_channels_are_found_gone_and_replaced() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    h.control("/__sim/channels/expire", json!({})).await?;
    next_snapshot(&mut stream, STEP).await?;
    assert!(
        h.count(HEAD_CHANNEL).await? >= 1,
        "the old channel was checked first"
    );
    assert_eq!(h.count(CREATE_CHANNEL).await?, 2);
    h.set_waiting_voice(7).await?;
    next_waiting_voice(&mut stream, 7).await?;
    Ok(())
}

#[tokio::test]
async fn a_404_on_subscribe_leads_to_a_new_channel() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    h.control(
        "/__sim/faults",
        json!({"route": SUBSCRIBE, "status": 404, "times": 1}),
    )
    .await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    assert_eq!(h.count(CREATE_CHANNEL).await?, 2);
    assert_eq!(h.count(SUBSCRIBE).await?, 2);
    Ok(())
}

#[tokio::test]
async fn a_reconnect_after_token_expiry_uses_a_new_token() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    assert_eq!(h.count(TOKEN).await?, 1);
    h.sim.expire_tokens().await?;
    h.drop_sockets().await?;
    next_snapshot(&mut stream, STEP).await?;
    assert_eq!(h.count(TOKEN).await?, 2);
    h.set_waiting_voice(8).await?;
    next_waiting_voice(&mut stream, 8).await?;
    Ok(())
}

#[tokio::test]
async fn status_goes_from_disconnected_to_connected() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let stream = h.stream(fast());
    let mut status = stream.status();
    assert_eq!(*status.borrow_and_update(), StreamStatus::Disconnected);
    assert!(!stream.is_connected());
    timeout(STEP, status.wait_for(|s| *s == StreamStatus::Connected)).await??;
    assert!(stream.is_connected());
    Ok(())
}

#[tokio::test]
async fn cancelling_stops_the_stream_and_closes_its_socket() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let shutdown = CancellationToken::new();
    let mut stream = h.stream_with(fast(), shutdown.clone());
    next_snapshot(&mut stream, STEP).await?;
    let status = stream.status();
    shutdown.cancel();
    // Nothing more, and the event channel closes: the task has ended.
    assert!(timeout(STEP, stream.next()).await?.is_none());
    assert_eq!(*status.borrow(), StreamStatus::Stopped);
    wait_until_disconnected(&h).await
}

#[tokio::test]
async fn cancelling_interrupts_a_hanging_request() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    h.sim
        .fault(json!({"route": CREATE_CHANNEL, "hang": true}))
        .await?;
    let shutdown = CancellationToken::new();
    let mut stream = h.stream_with(fast(), shutdown.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.count(CREATE_CHANNEL).await?,
        1,
        "the stream should be waiting on Genesys"
    );
    shutdown.cancel();
    // The client's own request timeout is seconds away.
    let stopped = timeout(Duration::from_millis(500), stream.next()).await;
    assert!(matches!(stopped, Ok(None)), "{stopped:?}");
    assert_eq!(*stream.status().borrow(), StreamStatus::Stopped);
    Ok(())
}

#[tokio::test]
async fn dropping_the_handle_stops_the_stream() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    let shutdown = CancellationToken::new();
    let mut stream = h.stream_with(fast(), shutdown.clone());
    next_snapshot(&mut stream, STEP).await?;
    let mut status = stream.status();
    drop(stream);
    timeout(STEP, status.wait_for(|s| *s == StreamStatus::Stopped)).await??;
    assert!(!shutdown.is_cancelled(), "the caller's token is left alone");
    wait_until_disconnected(&h).await
}

async fn wait_until_disconnected(h: &Harness) -> Result<()> {
    let deadline = Instant::now() + STEP;
    while h.channels().await?.iter().any(|c| c["connected"] == true) {
        if Instant::now() > deadline {
            bail!("the stream's socket is still connected");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Captures this test's log lines (current-thread runtime, so the stream's task logs here too).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn logs_never_show_the_connect_uri_or_the_token() -> Result<()> {
    let captured = Captured::default();
    let writer = captured.clone();
    // This crate's logs only: the simulator, which runs on this thread too, may log what it likes.
    let ours =
        filter_fn(|meta| meta.target() == "genesys" || meta.target().starts_with("genesys::"));
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .with_filter(ours);
    crate::helpers::keep_log_interest_per_thread();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));

    let h = Harness::start(|_| {}).await?;
    let mut stream = h.stream(fast());
    next_snapshot(&mut stream, STEP).await?;
    let channel = h.connected_channel().await?;
    let id = channel["id"].as_str().context("channel id")?.to_owned();
    h.drop_sockets().await?;
    next_snapshot(&mut stream, STEP).await?;
    let token = h.client.access_token().await?;
    stream.stop().await;

    let logs =
        String::from_utf8_lossy(&captured.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?)
            .into_owned();
    assert!(
        logs.contains("notification"),
        "the stream should have logged something: {logs}"
    );
    assert!(
        !logs.contains(&id),
        "the channel id (the connectUri's secret part) leaked: {logs}"
    );
    let connect_uri_base = format!("{}/channels/", h.sim.sim.ws_base_url());
    assert!(
        !logs.contains(&connect_uri_base),
        "a connectUri leaked: {logs}"
    );
    assert!(
        !logs.contains(token.expose_secret()),
        "the token leaked: {logs}"
    );
    Ok(())
}

#[tokio::test]
async fn polling_that_spends_the_budget_leaves_the_reconnect_its_snapshot() -> Result<()> {
    let h = Harness::start(|_| {}).await?;
    // A budget that does not refill within the test: the reconnect must live on its reserve.
    let client = h.sim.client_with(|config| {
        config.budget = genesys::BudgetConfig {
            per_minute: 1,
            burst: 12,
            high_priority_reserve: 2,
            normal_priority_reserve: 5,
            high_priority_max_wait: Duration::from_millis(100),
        }
    });
    let mut stream = spawn_observation_stream(
        client.clone(),
        vec![DEMO_SALES_QUEUE],
        fast(),
        CancellationToken::new(),
    );
    next_snapshot(&mut stream, STEP).await?;
    // Visitors' polling takes whatever it may, then is refused.
    let mut polled = 0;
    while client.estimated_wait_time(DEMO_SALES_QUEUE).await.is_ok() {
        polled += 1;
        assert!(polled < 20, "the budget never ran out");
    }
    assert!(
        matches!(
            client.estimated_wait_time(DEMO_SALES_QUEUE).await,
            Err(genesys::Error::BudgetExhausted)
        ),
        "polling spent its share"
    );
    let snapshots = h.count(OBSERVATIONS).await?;
    h.drop_sockets().await?;
    next_snapshot(&mut stream, STEP).await?;
    assert_eq!(
        h.count(OBSERVATIONS).await?,
        snapshots + 1,
        "the reconnect read its snapshot"
    );
    Ok(())
}
