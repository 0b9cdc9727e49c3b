//! Clustered live stats with real parts: three real service binaries sharing one real
//! redis-server, one simulator as Genesys, WebSocket clients on every instance. The deployment
//! keeps one notification channel (the leader's), a queue change reaches every instance's
//! clients, a leader killed with SIGKILL is replaced within the lease without two channels ever
//! being open at once, and a Redis outage turns frames stale without closing sockets, until
//! Redis is back.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use genesys_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

/// Short, so that a failover fits in a test: the shortest the setting allows.
const LEASE_SECONDS: u64 = 2;
const LEASE: Duration = Duration::from_secs(LEASE_SECONDS);
/// What a new leader needs beyond the lease: noticing the lapse, opening a channel and its
/// socket, reading a snapshot, writing it. Generous: the machine is shared.
const RECONNECT: Duration = Duration::from_secs(6);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// One real service process in clustered mode.
pub(crate) struct Instance {
    child: Child,
    pub(crate) base: String,
    admin: String,
    log: PathBuf,
    _data: tempfile::TempDir,
}

impl Instance {
    /// Starts it on this Redis, with these environment variables besides the usual ones.
    pub(crate) fn start_with(sim_url: &str, redis_url: &str, env: &[(&str, &OsStr)]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let admin_port = free_port();
        let log = data.path().join("service.log");
        let output = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_public-stats"))
            .env_clear()
            .env("PURECLOUD_CLIENT_ID", DEMO_CLIENT_ID)
            .env("PURECLOUD_CLIENT_SECRET", DEMO_CLIENT_SECRET)
            .env("PURECLOUD_BASE_URL", sim_url)
            .env("PURECLOUD_MONITORED_QUEUES", DEMO_SALES_QUEUE.to_string())
            .env("REDIS_URL", redis_url)
            .env("LEADER_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("BIND_ADDRESS", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("ADMIN_BIND_ADDRESS", format!("127.0.0.1:{admin_port}"))
            .env("DATA_DIR", data.path())
            .env("SHUTDOWN_DRAIN_SECONDS", "1")
            .env("RUST_LOG", "warn,public_stats=info")
            .envs(env.iter().copied())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .expect("the service binary starts");
        Instance {
            child,
            base: format!("127.0.0.1:{port}"),
            admin: format!("http://127.0.0.1:{admin_port}"),
            log,
            _data: data,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.base)
    }

    /// `/readyz`'s status and body; `None` while it does not answer.
    async fn readyz(&self, http: &reqwest::Client) -> Option<(u16, Value)> {
        let response = http.get(self.url("/readyz")).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.ok()?))
    }

    /// Waits up to `within` for the process to end by itself; its exit status if it did.
    pub(crate) async fn exited_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// SIGTERM, as an orchestrator stops it; waits for the exit.
    async fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The simulator, Redis and the instances.
pub(crate) struct Deployment {
    pub(crate) sim: RunningSim,
    redis: test_redis::RedisServer,
    pub(crate) instances: Vec<Instance>,
    pub(crate) http: reqwest::Client,
}

impl Deployment {
    async fn start(count: usize) -> Self {
        Self::start_on(test_redis::RedisServer::start(), count, &[]).await
    }

    /// `count` instances on this Redis, each given these environment variables too.
    pub(crate) async fn start_on(
        redis: test_redis::RedisServer,
        count: usize,
        env: &[(&str, &OsStr)],
    ) -> Self {
        let sim = genesys_sim::spawn(SimConfig::for_tests()).await.unwrap();
        let instances = (0..count)
            .map(|_| Instance::start_with(&sim.base_url(), &redis.url(), env))
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let deployment = Deployment {
            sim,
            redis,
            instances,
            http,
        };
        deployment.set_sales(1, 0).await;
        deployment
    }

    /// Waits until exactly one instance leads and every instance serves current data; returns
    /// the leader's index. The limits are generous: three binaries starting on a loaded
    /// two-core machine can take a while, and only the outcome is checked, not its speed.
    pub(crate) async fn until_settled(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        let mut last = Vec::new();
        loop {
            last.clear();
            for instance in &self.instances {
                last.push(instance.readyz(&self.http).await);
            }
            let leaders: Vec<usize> = (0..last.len())
                .filter(|i| matches!(&last[*i], Some((_, body)) if body["leader"] == true))
                .collect();
            let all_current = last.iter().all(
                |answer| matches!(answer, Some((200, body)) if body["stream"]["connected"] == true),
            );
            if leaders.len() == 1 && all_current {
                return leaders[0];
            }
            if Instant::now() > deadline {
                panic!("the deployment did not settle: {last:?}\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn channels(&self) -> Vec<Value> {
        self.http
            .get(format!(
                "{}/__sim/notifications/channels",
                self.sim.base_url()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Holds the sales queue with `idle` agents free and `waiting` voice calls.
    pub(crate) async fn set_sales(&self, idle: u32, waiting: u32) {
        let response = self
            .http
            .put(format!(
                "{}/__sim/queues/{DEMO_SALES_QUEUE}/state",
                self.sim.base_url()
            ))
            .json(&json!({ "agents": { "idle": idle }, "waiting": { "voice": waiting } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }

    pub(crate) fn logs(&self) -> String {
        self.instances
            .iter()
            .enumerate()
            .map(|(i, instance)| format!("--- instance {i} ---\n{}", instance.log()))
            .collect()
    }
}

/// Polls the simulator's channel list until dropped, remembering the most sockets it ever saw
/// connected at once.
struct ChannelWatch {
    most_connected: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl ChannelWatch {
    fn start(sim_url: String) -> Self {
        let most_connected = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (most, done) = (most_connected.clone(), stop.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !done.load(Ordering::Relaxed) {
                if let Ok(response) = http
                    .get(format!("{sim_url}/__sim/notifications/channels"))
                    .send()
                    .await
                    && let Ok(channels) = response.json::<Vec<Value>>().await
                {
                    let connected = channels.iter().filter(|c| c["connected"] == true).count();
                    most.fetch_max(connected, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        ChannelWatch {
            most_connected,
            stop,
        }
    }

    fn most_connected(&self) -> usize {
        self.most_connected.load(Ordering::Relaxed)
    }
}

impl Drop for ChannelWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A `/` WebSocket client reading on a task of its own: every frame, when it came, and whether
/// the socket closed.
pub(crate) struct Client {
    frames: Arc<Mutex<Vec<(Instant, Value)>>>,
    closed: Arc<AtomicBool>,
}

impl Client {
    pub(crate) async fn connect(instance: &Instance) -> Self {
        let (mut socket, _) = connect_async(format!("ws://{}/", instance.base))
            .await
            .expect("the WebSocket opens");
        let frames = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(AtomicBool::new(false));
        let (seen, ended) = (frames.clone(), closed.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                match message {
                    Message::Text(text) => {
                        let frame = serde_json::from_str(text.as_str()).expect("a JSON frame");
                        seen.lock().unwrap().push((Instant::now(), frame));
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            ended.store(true, Ordering::Relaxed);
        });
        Client { frames, closed }
    }

    fn is_open(&self) -> bool {
        !self.closed.load(Ordering::Relaxed)
    }

    /// The first frame since `since` that satisfies `check`, waiting up to `within`.
    pub(crate) async fn first(
        &self,
        since: Instant,
        within: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Option<(Instant, Value)> {
        let deadline = Instant::now() + within;
        loop {
            let found = self
                .frames
                .lock()
                .unwrap()
                .iter()
                .find(|(at, frame)| *at >= since && check(frame))
                .cloned();
            if found.is_some() || Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(crate) fn last(&self) -> Option<Value> {
        self.frames
            .lock()
            .unwrap()
            .last()
            .map(|(_, frame)| frame.clone())
    }
}

/// A current (not stale) frame with the sales queue at these counts.
pub(crate) fn sales_at(idle: u64, waiting: u64) -> impl Fn(&Value) -> bool {
    move |frame| {
        let sales = &frame["queueStats"][DEMO_SALES_QUEUE.to_string()];
        frame.get("stale").is_none()
            && sales["availableAgents"] == idle
            && sales["voice"]["waiting"] == waiting
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_keep_one_channel_and_every_instance_pushes_a_change() {
    let mut deployment = Deployment::start(3).await;
    let leader = deployment.until_settled(Duration::from_secs(45)).await;
    let channels = deployment.channels().await;
    assert_eq!(
        channels.len(),
        1,
        "one notification channel for the deployment: {channels:?}"
    );
    assert_eq!(channels[0]["connected"], true);

    let spec: Value = deployment
        .http
        .get(deployment.instances[0].url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut leaders = 0.0;
    for (i, instance) in deployment.instances.iter().enumerate() {
        let (status, body) = instance.readyz(&deployment.http).await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body["leader"], i == leader, "{body}");
        assert_eq!(body["redis"]["reachable"], true, "{body}");
        assert_eq!(body["redis"]["downSince"], Value::Null, "{body}");
        assert_eq!(body["degraded"], false, "{body}");
        crate::openapi::assert_matches(&spec, "/readyz", "get", 200, &body);
        let metrics = deployment
            .http
            .get(format!("{}/metrics", instance.admin))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let gauge = metrics
            .lines()
            .find_map(|line| line.strip_prefix("public_stats_cluster_leader "))
            .unwrap_or_else(|| panic!("the leader gauge is exported: {metrics}"));
        leaders += gauge.trim().parse::<f64>().unwrap();
    }
    assert_eq!(leaders, 1.0, "exactly one instance says it leads");

    let mut clients = Vec::new();
    for instance in &deployment.instances {
        clients.push(Client::connect(instance).await);
    }
    let changed = Instant::now();
    deployment.set_sales(4, 7).await;
    for (i, client) in clients.iter().enumerate() {
        client
            .first(changed, Duration::from_secs(10), sales_at(4, 7))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "instance {i}'s client never saw the change; last: {:?}\n{}",
                    client.last(),
                    deployment.logs()
                )
            });
    }
    let channels = deployment.channels().await;
    assert_eq!(channels.len(), 1, "still one channel: {channels:?}");

    // A clean stop hands over at once: the leader closes its channel, then deletes its lease
    // instead of letting it lapse.
    let lease = deployment.redis.cli(&["GET", "public-stats:live:leader"]);
    assert!(!lease.is_empty());
    let watch = ChannelWatch::start(deployment.sim.base_url());
    let status = deployment.instances[leader].terminate().await;
    assert!(status.success(), "{status}\n{}", deployment.logs());
    let after = deployment.redis.cli(&["GET", "public-stats:live:leader"]);
    assert_ne!(after, lease, "the stopped leader's lease is gone");
    let changed = Instant::now();
    deployment.set_sales(1, 2).await;
    for (i, client) in clients.iter().enumerate() {
        if i != leader {
            assert!(
                client
                    .first(changed, LEASE + RECONNECT, sales_at(1, 2))
                    .await
                    .is_some(),
                "{}",
                deployment.logs()
            );
        }
    }
    assert_eq!(watch.most_connected(), 1, "never two channels at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_with_sigkill_is_replaced_within_the_lease_and_never_two_channels() {
    let mut deployment = Deployment::start(3).await;
    let watch = ChannelWatch::start(deployment.sim.base_url());
    let leader = deployment.until_settled(Duration::from_secs(45)).await;
    let mut clients = Vec::new();
    for instance in &deployment.instances {
        clients.push(Some(Client::connect(instance).await));
    }
    let before = Instant::now();
    deployment.set_sales(2, 3).await;
    for client in clients.iter().flatten() {
        assert!(
            client
                .first(before, Duration::from_secs(10), sales_at(2, 3))
                .await
                .is_some(),
            "{}",
            deployment.logs()
        );
    }

    let killed = Instant::now();
    deployment.instances[leader].kill_9();
    clients[leader] = None;
    // Changed at once: only a new leader's stream can bring it to the survivors.
    deployment.set_sales(5, 9).await;
    let mut first_update = None;
    for (i, client) in clients.iter().enumerate() {
        let Some(client) = client else { continue };
        let (at, _) = client
            .first(killed, LEASE + RECONNECT, sales_at(5, 9))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "survivor {i} saw no update after the failover; last: {:?}\n{}",
                    client.last(),
                    deployment.logs()
                )
            });
        first_update = Some(first_update.map_or(at, |first: Instant| first.min(at)));
        assert!(client.is_open(), "survivor {i}'s client kept its socket");
    }
    let failover = first_update.unwrap() - killed;
    eprintln!(
        "failover: SIGKILL of the leader → first update on a survivor's WebSocket in {failover:?} \
         (LEADER_LEASE_SECONDS={LEASE_SECONDS})"
    );

    let survivors: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    let new_leader = loop {
        let mut leading = Vec::new();
        for i in &survivors {
            if let Some((_, body)) = deployment.instances[*i].readyz(&deployment.http).await
                && body["leader"] == true
            {
                leading.push(*i);
            }
        }
        if leading.len() == 1 {
            break leading[0];
        }
        assert!(Instant::now() < deadline, "survivors leading: {leading:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(new_leader, leader);
    // Time for a second socket to show if one were open.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let channels = deployment.channels().await;
    let connected = channels.iter().filter(|c| c["connected"] == true).count();
    assert_eq!(connected, 1, "{channels:?}");
    assert_eq!(
        channels.len(),
        2,
        "the dead leader's channel and the new one, nobody else's: {channels:?}"
    );
    assert_eq!(
        watch.most_connected(),
        1,
        "never two notification sockets at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_turns_frames_stale_without_closing_sockets_and_recovers() {
    let mut deployment = Deployment::start(3).await;
    let watch = ChannelWatch::start(deployment.sim.base_url());
    deployment.until_settled(Duration::from_secs(45)).await;
    let mut clients = Vec::new();
    for instance in &deployment.instances {
        clients.push(Client::connect(instance).await);
    }
    let before = Instant::now();
    deployment.set_sales(3, 1).await;
    for client in &clients {
        assert!(
            client
                .first(before, Duration::from_secs(10), sales_at(3, 1))
                .await
                .is_some()
        );
    }

    let killed = Instant::now();
    deployment.redis.kill();
    for (i, client) in clients.iter().enumerate() {
        let (_, frame) = client
            .first(killed, LEASE * 2, |frame| frame["stale"] == true)
            .await
            .unwrap_or_else(|| panic!("instance {i}'s frames never turned stale"));
        let sales = &frame["queueStats"][DEMO_SALES_QUEUE.to_string()];
        assert_eq!(
            sales["availableAgents"], 3,
            "the last known counts: {frame}"
        );
        assert!(frame["asOf"].is_string(), "{frame}");
    }
    let deadline = Instant::now() + LEASE * 2;
    for (i, instance) in deployment.instances.iter().enumerate() {
        loop {
            let (status, body) = instance.readyz(&deployment.http).await.unwrap();
            assert_eq!(
                status, 200,
                "Redis down degrades, it does not take out: {body}"
            );
            if body["redis"]["reachable"] == false && body["leader"] == false {
                assert_eq!(body["degraded"], true, "{body}");
                assert!(body["redis"]["downSince"].is_string(), "{body}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "instance {i} never said Redis is down and it does not lead: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Without Redis nobody can hold the lease: the leader closed its channel.
    let channels = deployment.channels().await;
    assert!(
        channels.iter().all(|c| c["connected"] == false),
        "{channels:?}"
    );
    // The numbers are still served, marked stale.
    let stats: Value = deployment
        .http
        .get(
            deployment.instances[0].url(&format!("/api/stats/{DEMO_SALES_QUEUE}?key=observations")),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["stale"], true, "{stats}");
    assert_eq!(stats["observations"]["availableAgents"], 3, "{stats}");
    // Long enough for every reconnection delay to reach its longest, and for the last record to
    // age past what a leader's heartbeats allow.
    tokio::time::sleep(LEASE * 2).await;
    for (i, client) in clients.iter().enumerate() {
        assert!(client.is_open(), "instance {i}'s socket stayed open");
        assert_eq!(client.last().unwrap()["stale"], true);
    }

    deployment.redis.restart();
    let restarted = Instant::now();
    deployment.set_sales(6, 2).await;
    for (i, client) in clients.iter().enumerate() {
        assert!(
            client
                .first(restarted, LEASE + RECONNECT, sales_at(6, 2))
                .await
                .is_some(),
            "instance {i}'s client saw no update after Redis came back; last: {:?}\n{}",
            client.last(),
            deployment.logs()
        );
        assert!(client.is_open(), "instance {i}'s socket stayed open");
    }
    deployment.until_settled(Duration::from_secs(30)).await;
    for (i, instance) in deployment.instances.iter_mut().enumerate() {
        assert!(instance.is_running(), "instance {i} is still running");
        let log = instance.log();
        assert!(!log.contains("panicked"), "instance {i} panicked:\n{log}");
    }
    assert_eq!(watch.most_connected(), 1, "never two channels at once");
}
