//! Callbacks in clustered mode: several instances of the service against one real redis-server
//! and one simulator (an org of its own, reached with the demo credentials as a real org would
//! be), each instance a real server on its own port — in this process, or the real binary where a
//! test kills one with SIGKILL. What one instance accepts, another delivers; the limits and the
//! idempotency keys hold for the deployment; Redis going away refuses callbacks (503 with
//! `Retry-After`) instead of losing them, and what it acknowledged is delivered when it returns.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use genesys_sim::{RunningSim, SimConfig};
use public_stats::startup::Application;
use serde_json::{Value, json};
use test_redis::RedisServer;
use tokio_util::sync::CancellationToken;

use crate::callbacks::{ROUTE, body_for};
use crate::helpers::*;

/// How long an instance's claim on a job lasts unrenewed (`LEADER_LEASE_SECONDS`, its least).
const LEASE_SECONDS: &str = "2";

/// Limits that only the test at hand reaches: every request comes from 127.0.0.1.
const ROOMY: [&str; 6] = [
    "CALLBACK_PER_ADDRESS_HOURLY",
    "1000",
    "CALLBACK_PER_ADDRESS_DAILY",
    "1000",
    "CALLBACK_NUMBERS_PER_ADDRESS_DAILY",
    "1000",
];

/// The upstream every instance shares, and the Redis they share.
struct Deployment {
    sim: RunningSim,
    redis: RedisServer,
    http: reqwest::Client,
}

impl Deployment {
    async fn start() -> Self {
        Deployment {
            sim: genesys_sim::spawn(SimConfig::for_tests()).await.unwrap(),
            redis: RedisServer::start(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// The settings every instance gets, as environment variables, plus `extra`.
    fn env(&self, extra: &[&str]) -> Vec<(String, String)> {
        let queues = [DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE]
            .map(|q| q.to_string())
            .join(",");
        let mut env = vec![
            ("PURECLOUD_CLIENT_ID".into(), DEMO_CLIENT_ID.into()),
            ("PURECLOUD_CLIENT_SECRET".into(), DEMO_CLIENT_SECRET.into()),
            ("PURECLOUD_BASE_URL".into(), self.sim.base_url()),
            ("PURECLOUD_MONITORED_QUEUES".into(), queues),
            ("REDIS_URL".into(), self.redis.url()),
        ];
        if !extra.contains(&"LEADER_LEASE_SECONDS") {
            env.push(("LEADER_LEASE_SECONDS".into(), LEASE_SECONDS.into()));
        }
        for pair in ROOMY.chunks(2).chain(extra.chunks(2)) {
            env.push((pair[0].into(), pair[1].into()));
        }
        env
    }

    /// An instance in this process.
    async fn instance(&self, extra: &[&str]) -> Instance {
        self.start_in_process(self.env(extra)).await
    }

    /// An instance in this process, without `REDIS_URL`: alone, on its SQLite file.
    async fn alone(&self, extra: &[&str]) -> Instance {
        let mut env = self.env(extra);
        env.retain(|(name, _)| name != "REDIS_URL" && name != "LEADER_LEASE_SECONDS");
        self.start_in_process(env).await
    }

    async fn start_in_process(&self, env: Vec<(String, String)>) -> Instance {
        // The same settings as the binary gets, as flags (`--redis-url` for `REDIS_URL`).
        let flags: Vec<String> = env
            .into_iter()
            .flat_map(|(name, value)| [format!("--{}", flag_for(&name)), value])
            .collect();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let (settings, data_dir) = settings(&flags);
        let app = Application::build_with(settings, |mut client| {
            client.request_timeout = Duration::from_secs(2);
            client
        })
        .await
        .expect("a clustered instance starts");
        let addr = app.local_addr();
        let stop = CancellationToken::new();
        tokio::spawn(app.run_until(stop.clone()));
        Instance {
            addr,
            stop,
            _data_dir: data_dir,
        }
    }

    /// The real binary, to be killed.
    async fn process(&self, extra: &[&str]) -> Process {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap();
        let data_dir = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_public-stats"))
            .env_clear()
            .envs(self.env(extra))
            .env("BIND_ADDRESS", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("ADMIN_BIND_ADDRESS", "127.0.0.1:0")
            .env("DATA_DIR", data_dir.path())
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the service binary starts");
        let process = Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _data_dir: data_dir,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = self.http.get(process.url("/healthz")).send().await
                && response.status() == 200
            {
                return process;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the binary did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post(&self, base: &str, body: &Value, key: Option<&str>) -> Answer {
        let mut request = self.http.post(format!("{base}/api/callback")).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        Answer::read(request.send().await.expect("request sent")).await
    }

    async fn receipt(&self, base: &str, id: &str) -> Answer {
        let response = self
            .http
            .get(format!("{base}/api/callback/{id}"))
            .send()
            .await
            .expect("request sent");
        Answer::read(response).await
    }

    async fn sim_control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> u16 {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.sim.base_url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// Genesys answers every callback creation with `fault` until [`Deployment::recover`].
    async fn fail_creations(&self, fault: Value) {
        let mut spec = json!({ "route": ROUTE });
        spec.as_object_mut()
            .unwrap()
            .extend(fault.as_object().unwrap().clone());
        let status = self
            .sim_control(reqwest::Method::POST, "/__sim/faults", Some(spec))
            .await;
        assert_eq!(status, 201);
    }

    async fn recover(&self) {
        let status = self
            .sim_control(reqwest::Method::DELETE, "/__sim/faults", None)
            .await;
        assert_eq!(status, 204);
    }

    async fn log(&self) -> Value {
        self.http
            .get(format!("{}/__sim/requests", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// How many times Genesys created the callback with this job id.
    async fn created(&self, id: &str) -> usize {
        let log = self.log().await;
        log["callbacks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|body| body["data"]["outboxId"] == id)
            .count()
    }

    /// Waits (up to 30 s) until Genesys has created the callback `id`, then a few leases more,
    /// so that a second creation would have had time to happen; returns the count.
    async fn created_settled(&self, id: &str) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.created(id).await == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} was never created"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(
            3 * LEASE_SECONDS.parse::<u64>().unwrap(),
        ))
        .await;
        self.created(id).await
    }

    /// Attempts to create callbacks that reached Genesys, failed or not.
    async fn attempts(&self) -> u64 {
        self.log().await["counts"][ROUTE].as_u64().unwrap_or(0)
    }
}

/// `CALLBACK_PER_NUMBER_DAILY` → `callback-per-number-daily`, and so on.
fn flag_for(variable: &str) -> String {
    let flag = variable.to_ascii_lowercase().replace('_', "-");
    match flag.as_str() {
        "purecloud-client-id" => "client-id".into(),
        "purecloud-client-secret" => "client-secret".into(),
        "purecloud-base-url" => "base-url".into(),
        "purecloud-monitored-queues" => "monitored-queues".into(),
        _ => flag,
    }
}

/// One instance in this process; stops when dropped.
struct Instance {
    addr: SocketAddr,
    stop: CancellationToken,
    _data_dir: tempfile::TempDir,
}

impl Instance {
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The real binary; killed when dropped.
struct Process {
    child: Child,
    base: String,
    _data_dir: tempfile::TempDir,
}

impl Process {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, `Retry-After`, `Location`, `Content-Type` and the body as JSON.
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    location: Option<String>,
    content_type: String,
    body: Value,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Self {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header("retry-after").and_then(|v| v.parse().ok());
        let location = header("location");
        let content_type = header("content-type").unwrap_or_default();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            retry_after,
            location,
            content_type,
            body,
        }
    }

    fn accepted(self) -> String {
        assert_eq!(self.status, 202, "{}", self.body);
        self.body["id"].as_str().unwrap().to_owned()
    }

    fn problem(&self) -> &str {
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        self.body["type"].as_str().unwrap_or_default()
    }
}

fn on_queue(queue: uuid::Uuid, last_four: u16) -> Value {
    let mut body = body_for(last_four);
    body["queueId"] = json!(queue);
    body
}

#[tokio::test]
async fn a_callback_accepted_by_an_instance_killed_at_once_is_created_once_by_another() {
    let deployment = Deployment::start().await;
    deployment.fail_creations(json!({ "status": 503 })).await;
    let mut doomed = deployment.process(&[]).await;
    let survivor = deployment.instance(&[]).await;

    let id = deployment
        .post(&doomed.base, &body_for(3101), None)
        .await
        .accepted();
    // The accepting instance tries at once (its relay is woken) and fails: Genesys is down.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while deployment.attempts().await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "nobody tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.kill_9();
    deployment.recover().await;

    assert_eq!(deployment.created_settled(&id).await, 1);
    let receipt = deployment.receipt(&survivor.base(), &id).await;
    assert_eq!(receipt.body["status"], "created", "{}", receipt.body);
}

#[tokio::test]
async fn a_send_in_flight_when_its_instance_dies_is_taken_over_when_the_lease_lapses() {
    let deployment = Deployment::start().await;
    // Genesys takes the request and never answers: the instance dies with its send in flight.
    deployment.fail_creations(json!({ "hang": true })).await;
    // A lease long enough that a loaded machine's pauses do not make renewals late.
    let mut doomed = deployment.process(&["LEADER_LEASE_SECONDS", "5"]).await;
    let id = deployment
        .post(&doomed.base, &body_for(3102), None)
        .await
        .accepted();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while deployment.attempts().await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "nobody tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another instance joins once the job is held. The holder renews its claim while the send is
    // in flight, well past one lease: the other sends nothing meanwhile.
    // (Past the lease, before the binary's own 10 s request timeout.)
    let sent = tokio::time::Instant::now();
    let survivor = deployment.instance(&[]).await;
    tokio::time::sleep_until(sent + Duration::from_secs(6)).await;
    assert_eq!(deployment.attempts().await, 1, "sent twice while in flight");
    doomed.kill_9();
    deployment.recover().await;

    assert_eq!(deployment.created_settled(&id).await, 1);
    let receipt = deployment.receipt(&survivor.base(), &id).await;
    assert_eq!(receipt.body["status"], "created", "{}", receipt.body);
}

#[tokio::test]
async fn the_per_number_limits_hold_across_instances() {
    let deployment = Deployment::start().await;
    let instances = [
        deployment
            .instance(&["CALLBACK_PER_NUMBER_DAILY", "2"])
            .await,
        deployment
            .instance(&["CALLBACK_PER_NUMBER_DAILY", "2"])
            .await,
        deployment
            .instance(&["CALLBACK_PER_NUMBER_DAILY", "2"])
            .await,
    ];
    let [a, b, c] = &instances;

    let first = deployment
        .post(&a.base(), &on_queue(DEMO_SALES_QUEUE, 3201), None)
        .await
        .accepted();
    // The same number on the same queue, through another instance: already on its way.
    let again = deployment
        .post(&b.base(), &on_queue(DEMO_SALES_QUEUE, 3201), None)
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.problem(), "/problems/callback-pending");
    assert_eq!(again.body["id"], first);
    // Two requests for the number a day, whichever instances they reach.
    deployment
        .post(&b.base(), &on_queue(DEMO_SUPPORT_QUEUE, 3201), None)
        .await
        .accepted();
    let third = deployment
        .post(&c.base(), &on_queue(DEMO_BILLING_QUEUE, 3201), None)
        .await;
    assert_eq!(third.status, 429, "{}", third.body);
    assert_eq!(third.problem(), "/problems/too-many-callbacks");
    let wait = third.retry_after.expect("Retry-After");
    assert!(wait > 23 * 3600 && wait <= 24 * 3600, "{wait}");

    // Many at once for one number, spread over the instances: one is stored.
    let racing = (0..12).map(|n| {
        let base = instances[n % 3].base();
        let deployment = &deployment;
        async move {
            deployment
                .post(&base, &on_queue(DEMO_SALES_QUEUE, 3202), None)
                .await
        }
    });
    let answers = futures_util::future::join_all(racing).await;
    let ids: Vec<&str> = answers
        .iter()
        .filter(|answer| answer.status == 202)
        .map(|answer| answer.body["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "exactly one accepted");
    for answer in answers.iter().filter(|answer| answer.status != 202) {
        assert_eq!(answer.status, 409, "{}", answer.body);
        assert_eq!(answer.body["id"], ids[0]);
    }
}

#[tokio::test]
async fn an_idempotency_key_replayed_to_another_instance_gets_the_same_receipt() {
    let deployment = Deployment::start().await;
    let a = deployment.instance(&[]).await;
    let b = deployment.instance(&[]).await;
    let body = body_for(3301);
    let first = deployment.post(&a.base(), &body, Some("c0ffee-3301")).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let replay = deployment.post(&b.base(), &body, Some("c0ffee-3301")).await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.body["id"], first.body["id"]);
    assert_eq!(replay.body["numberEnding"], first.body["numberEnding"]);
    assert_eq!(replay.location, first.location);
    let other = deployment
        .post(&b.base(), &body_for(3302), Some("c0ffee-3301"))
        .await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(other.problem(), "/problems/idempotency-key-reused");

    let id = first.body["id"].as_str().unwrap();
    assert_eq!(deployment.created_settled(id).await, 1);
}

#[tokio::test]
async fn with_redis_down_callbacks_are_refused_and_what_it_kept_is_delivered_when_it_returns() {
    let mut deployment = Deployment::start().await;
    deployment.fail_creations(json!({ "status": 503 })).await;
    let a = deployment.instance(&[]).await;
    let b = deployment.instance(&[]).await;
    let kept = deployment
        .post(&a.base(), &body_for(3401), None)
        .await
        .accepted();

    deployment.redis.kill();
    let refused = deployment.post(&b.base(), &body_for(3402), None).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.problem(), "/problems/callback-store-unavailable");
    assert!(refused.retry_after.is_some_and(|s| s >= 1));
    let status = deployment.receipt(&a.base(), &kept).await;
    assert_eq!(status.status, 503, "{}", status.body);
    assert!(status.retry_after.is_some());

    deployment.redis.restart();
    deployment.recover().await;
    // Back within a few reconnects.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let after = loop {
        let answer = deployment.post(&b.base(), &body_for(3402), None).await;
        if answer.status == 202 || tokio::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let after = after.accepted();
    assert_eq!(deployment.created_settled(&kept).await, 1);
    assert_eq!(deployment.created_settled(&after).await, 1);
    // Nothing refused was stored.
    let callbacks = deployment.log().await["callbacks"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(callbacks, 2);
}

#[tokio::test]
async fn what_an_instance_accepted_alone_is_delivered_once_it_joins_a_cluster() {
    let deployment = Deployment::start().await;
    deployment.fail_creations(json!({ "status": 503 })).await;
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_string_lossy().into_owned();
    let alone = deployment.alone(&["DATA_DIR", &data]).await;
    let id = deployment
        .post(&alone.base(), &body_for(3501), None)
        .await
        .accepted();
    drop(alone);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let _clustered = deployment.instance(&["DATA_DIR", &data]).await;
    deployment.recover().await;
    assert_eq!(deployment.created_settled(&id).await, 1);
}

/// Visitors keep posting to whichever instances are up while, again and again, one of two
/// instances is killed with SIGKILL at a random moment and started again. In the end every
/// request answered 202 is created, and at most one duplicate per kill (sent, then killed before
/// recording it), each carrying its job id. `CLUSTER_CRASH_CYCLES` (default 3) sets the kills.
#[tokio::test]
async fn random_kills_of_clustered_instances_lose_no_accepted_callback() {
    let cycles: usize = std::env::var("CLUSTER_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let roomy = [
        "CALLBACK_PER_NUMBER_DAILY",
        "1000000",
        "CALLBACK_MAX_PENDING_PER_QUEUE",
        "1000000",
        "CALLBACK_DAILY_LIMIT",
        "1000000",
    ];
    let deployment = std::sync::Arc::new(Deployment::start().await);
    let mut processes = [
        deployment.process(&roomy).await,
        deployment.process(&roomy).await,
    ];
    let bases = std::sync::Arc::new(std::sync::Mutex::new(
        processes.iter().map(|p| p.base.clone()).collect::<Vec<_>>(),
    ));
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = CancellationToken::new();
    let poster = {
        let (deployment, bases, accepted, stop) = (
            deployment.clone(),
            bases.clone(),
            accepted.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut n: u16 = 0;
            while !stop.is_cancelled() {
                n += 1;
                let base = {
                    let bases = bases.lock().unwrap();
                    bases[usize::from(n) % bases.len()].clone()
                };
                let body = body_for(4000 + n);
                let request = deployment
                    .http
                    .post(format!("{base}/api/callback"))
                    .json(&body)
                    .send()
                    .await;
                // A refused connection or a lost answer is the kill: the request may or may not
                // have been stored, and counts for nothing either way.
                if let Ok(response) = request {
                    let answer = Answer::read(response).await;
                    assert_eq!(answer.status, 202, "refused: {}", answer.body);
                    if let Some(id) = answer.body["id"].as_str() {
                        accepted.lock().unwrap().push(id.to_owned());
                    }
                }
                // Under the deployment's one request budget (4 a second): deliveries come
                // first, and faster posting would leave a restarting instance nothing for its
                // own start-up requests.
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        })
    };
    for _ in 0..cycles {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(200..1500))).await;
        let victim = fastrand::usize(0..processes.len());
        processes[victim].kill_9();
        let restarted = deployment.process(&roomy).await;
        bases.lock().unwrap()[victim] = restarted.base.clone();
        processes[victim] = restarted;
    }
    stop.cancel();
    poster.await.unwrap();

    let accepted = accepted.lock().unwrap().clone();
    assert!(!accepted.is_empty(), "the run accepted callbacks");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let created = loop {
        let log = deployment.log().await;
        let mut created = std::collections::HashMap::<String, usize>::new();
        for body in log["callbacks"].as_array().into_iter().flatten() {
            if let Some(id) = body["data"]["outboxId"].as_str() {
                *created.entry(id.to_owned()).or_default() += 1;
            }
        }
        if accepted.iter().all(|id| created.contains_key(id))
            || tokio::time::Instant::now() > deadline
        {
            break created;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let lost: Vec<&String> = accepted
        .iter()
        .filter(|id| !created.contains_key(*id))
        .collect();
    let duplicates: usize = created.values().map(|n| n - 1).sum();
    println!(
        "clustered crash run: {cycles} kills, {} accepted, {} created, {} lost, {duplicates} duplicates",
        accepted.len(),
        created.values().sum::<usize>(),
        lost.len()
    );
    assert!(lost.is_empty(), "accepted but never created: {lost:?}");
    assert!(
        duplicates <= cycles,
        "{duplicates} duplicates in {cycles} kills"
    );
}
