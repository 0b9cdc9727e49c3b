//! `loadgen`: drives a running public-stats service over loopback and prints what it measured —
//! HTTP stats requests per second with latency percentiles, how many WebSocket subscribers it
//! held and how many pushes they received, the service's resident memory before and with them
//! (when given its PID: per subscriber), and — given the sandbox simulator's URL — how long one
//! upstream change takes to reach every subscriber (fan-out latency percentiles). It is how the
//! speed and memory figures in BENCHMARKS.md are produced; it is not a test (the shared machine
//! is too noisy for timing assertions).
//!
//! The subscribers are kept cheap so that they measure the service, not themselves: one runtime,
//! one small task per socket, small buffers, and a substring search instead of JSON parsing.
//! Every loop is bounded by `--duration`, `--ws-clients` and `--fanout-rounds`, and it only talks
//! to the URLs given (refusing anything but loopback).
//!
//! Several instances (clustered mode) are measured at once by giving `--url` and `--pid` a
//! comma-separated list: subscribers are spread over the instances in turn, the HTTP load too,
//! and with `--sim-url` it also counts the requests that reached the simulator (every instance's
//! calls to "Genesys") during the HTTP load.

mod lean;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Parser, Debug)]
#[command(about = "Load generator for a running public-stats service (loopback only).")]
struct Args {
    /// Base URL of the service; a comma-separated list for several instances.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_delimiter = ',')]
    url: Vec<String>,
    /// Queue to ask about (default: the first of `GET /api/queues`).
    #[arg(long)]
    queue: Option<String>,
    /// Seconds of HTTP load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// WebSocket subscribers to `/` held during the HTTP load.
    #[arg(long, default_value_t = 1000)]
    ws_clients: usize,
    /// PID of the service, to report its resident memory; a comma-separated list for several.
    #[arg(long, value_delimiter = ',')]
    pid: Vec<u32>,
    /// The simulator's base URL (the sandbox's is printed in the service's banner): measures how
    /// long a change of a queue's agents takes to reach every subscriber, and counts the
    /// requests the service made to it during the HTTP load.
    #[arg(long)]
    sim_url: Option<String>,
    /// Upstream changes whose fan-out is timed.
    #[arg(long, default_value_t = 5)]
    fanout_rounds: u32,
    /// Runtime worker threads of the load generator itself (the lean subscribers have their own
    /// thread besides).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// How the subscribers are read.
    #[arg(long, value_enum, default_value_t = SubscriberKind::Lean)]
    subscribers: SubscriberKind,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SubscriberKind {
    /// One thread reads every socket over epoll: a frame costs one read and a substring search.
    Lean,
    /// A tokio-tungstenite client per socket, each its own task: what a typical Rust client costs.
    Tungstenite,
}

fn main() -> Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(run(args))
}

fn require_loopback(url: &str) -> Result<()> {
    let host = reqwest::Url::parse(url)?
        .host_str()
        .unwrap_or_default()
        .to_owned();
    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
        bail!("loadgen only targets loopback, not {host}");
    }
    Ok(())
}

async fn run(args: Args) -> Result<()> {
    for url in &args.url {
        require_loopback(url)?;
    }
    if let Some(sim) = &args.sim_url {
        require_loopback(sim)?;
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let first = args.url.first().context("--url names no service")?;
    let queue = match &args.queue {
        Some(queue) => queue.clone(),
        None => first_queue(&http, first).await?,
    };
    let rss_before = total_rss(&args.pid);
    let subscribers = hold_subscribers(&args.url, args.ws_clients, args.subscribers).await?;
    // Let the snapshots go out and the allocator settle before reading the memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_with_subscribers = total_rss(&args.pid);
    if let Some(sim) = &args.sim_url {
        let cpu_before = CpuTimes::now(&args.pid);
        let fanout = fan_out(&http, sim, &queue, &subscribers, args.fanout_rounds).await?;
        fanout.print();
        if let (Some(before), Some(after)) = (cpu_before, CpuTimes::now(&args.pid)) {
            after.since(&before).print(args.fanout_rounds);
        }
    }
    let stats_urls: Vec<String> = args
        .url
        .iter()
        .map(|url| format!("{url}/api/stats/{queue}?key=ewt,observations"))
        .collect();
    let upstream_before = match &args.sim_url {
        Some(sim) if args.duration > 0 => Some(upstream_counts(&http, sim).await?),
        _ => None,
    };
    let report = http_load(
        &http,
        &stats_urls,
        args.concurrency,
        Duration::from_secs(args.duration),
    )
    .await;
    if let (Some(before), Some(sim)) = (upstream_before, &args.sim_url) {
        let after = upstream_counts(&http, sim).await?;
        print_upstream(&before, &after, args.duration);
    }
    let rss_after = total_rss(&args.pid);
    let pushes = subscribers.finish().await;
    println!("queue: {queue}");
    if args.duration > 0 {
        report.print(args.duration);
    }
    println!(
        "websocket subscribers held: {} (pushes received: {pushes})",
        args.ws_clients
    );
    if let (Some(before), Some(with), Some(after)) = (rss_before, rss_with_subscribers, rss_after) {
        println!(
            "service RSS (all instances): {before} KiB idle, {with} KiB with {} subscribers ({:.1} KiB each), {after} KiB after the HTTP load",
            args.ws_clients,
            (with.saturating_sub(before)) as f64 / args.ws_clients.max(1) as f64
        );
    }
    Ok(())
}

async fn first_queue(http: &reqwest::Client, base: &str) -> Result<String> {
    let body: serde_json::Value = http
        .get(format!("{base}/api/queues"))
        .send()
        .await?
        .json()
        .await?;
    body["queues"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .context("the service lists no queue")
}

/// The subscribers' shared state: what they count, and the round being timed.
struct Subscribers {
    readers: Readers,
    count: usize,
    pushes: Arc<AtomicU64>,
    round: watch::Sender<Option<Arc<Round>>>,
}

enum Readers {
    Tasks(JoinSet<()>),
    Lean(lean::LeanReader),
}

/// One timed change: the text its frame carries, and when each subscriber saw it.
struct Round {
    marker: String,
    started: Instant,
    /// Nanoseconds after `started`, plus one (0: not seen yet), per subscriber.
    seen: Vec<AtomicU64>,
}

impl Subscribers {
    async fn finish(self) -> u64 {
        match self.readers {
            Readers::Tasks(mut tasks) => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
            }
            Readers::Lean(reader) => {
                let _ = tokio::task::spawn_blocking(move || reader.finish()).await;
            }
        }
        self.pushes.load(Ordering::Relaxed)
    }
}

/// Small buffers: the frames are about a kilobyte and the client sends only pongs.
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Requests the simulator has logged so far, by `"METHOD /route"`.
async fn upstream_counts(
    http: &reqwest::Client,
    sim: &str,
) -> Result<std::collections::BTreeMap<String, u64>> {
    let log: serde_json::Value = http
        .get(format!("{sim}/__sim/requests"))
        .send()
        .await?
        .json()
        .await?;
    Ok(log["counts"]
        .as_object()
        .context("the simulator's request log has no counts")?
        .iter()
        .map(|(route, count)| (route.clone(), count.as_u64().unwrap_or_default()))
        .collect())
}

fn print_upstream(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
    seconds: u64,
) {
    let minutes = seconds.max(1) as f64 / 60.0;
    let mut total = 0;
    for (route, count) in after {
        let made = count.saturating_sub(before.get(route).copied().unwrap_or_default());
        if made > 0 {
            total += made;
            println!(
                "upstream during the HTTP load: {route}: {made} ({:.0}/min)",
                made as f64 / minutes
            );
        }
    }
    println!(
        "upstream during the HTTP load: {total} requests ({:.0}/min)",
        total as f64 / minutes
    );
}

/// The services' resident memory added up; `None` unless every PID was readable.
fn total_rss(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| rss_kib(*pid)).sum()
}

async fn hold_subscribers(
    bases: &[String],
    count: usize,
    kind: SubscriberKind,
) -> Result<Subscribers> {
    let pushes = Arc::new(AtomicU64::new(0));
    let (round, rounds) = watch::channel(None::<Arc<Round>>);
    let started = Instant::now();
    let (readers, refusals) = match kind {
        SubscriberKind::Lean => {
            let bases = bases.to_vec();
            let pushes = pushes.clone();
            let (reader, refusals) =
                tokio::task::spawn_blocking(move || lean::hold(&bases, count, pushes, rounds))
                    .await??;
            (Readers::Lean(reader), refusals)
        }
        SubscriberKind::Tungstenite => {
            let (tasks, refusals) = hold_tungstenite(bases, count, &pushes, &rounds).await?;
            (Readers::Tasks(tasks), refusals)
        }
    };
    println!(
        "opened {count} WebSocket subscribers ({kind:?}) in {:.2?} ({refusals} upgrades refused with 503 and retried)",
        started.elapsed()
    );
    Ok(Subscribers {
        readers,
        count,
        pushes,
        round,
    })
}

async fn hold_tungstenite(
    bases: &[String],
    count: usize,
    pushes: &Arc<AtomicU64>,
    rounds: &watch::Receiver<Option<Arc<Round>>>,
) -> Result<(JoinSet<()>, u64)> {
    let ws_urls: Vec<String> = bases
        .iter()
        .map(|base| base.replacen("http", "ws", 1) + "/")
        .collect();
    let mut tasks = JoinSet::new();
    let mut refusals = 0u64;
    for index in 0..count {
        let ws_url = &ws_urls[index % ws_urls.len()];
        let mut socket = loop {
            match tokio_tungstenite::connect_async_with_config(ws_url, Some(client_config()), false)
                .await
            {
                Ok((socket, _)) => break socket,
                // The service's upgrade rate limit: come back shortly, as a reconnecting
                // widget would (without its spread: the load generator wants to be done).
                Err(tokio_tungstenite::tungstenite::Error::Http(refused))
                    if refused.status().as_u16() == 503 && refusals < 1_000_000 =>
                {
                    refusals += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => {
                    return Err(error).context(format!("opening WebSocket subscriber {index}"));
                }
            }
        };
        let pushes = pushes.clone();
        let rounds = rounds.clone();
        tasks.spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                pushes.fetch_add(1, Ordering::Relaxed);
                let current = rounds.borrow().clone();
                if let Some(round) = current
                    && text.as_str().contains(&round.marker)
                {
                    let nanos = round.started.elapsed().as_nanos() as u64 + 1;
                    let _ = round.seen[index].compare_exchange(
                        0,
                        nanos,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
            }
        });
    }
    Ok((tasks, refusals))
}

struct FanOut {
    latencies: Vec<Duration>,
    missed: usize,
    rounds: u32,
    subscribers: usize,
}

impl FanOut {
    fn print(&self) {
        let at = |p: f64| percentile(&self.latencies, p);
        println!(
            "fan-out of {} upstream changes to {} subscribers: latency min {:.1?} p50 {:.1?} p90 {:.1?} p99 {:.1?} max {:.1?}; {} deliveries missed (5 s)",
            self.rounds,
            self.subscribers,
            at(0.0),
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0),
            self.missed,
        );
    }
}

/// Sets `queue`'s idle agents in the simulator (a different count each round) and times, from
/// just before the change is made, until each subscriber holds a frame that shows it.
async fn fan_out(
    http: &reqwest::Client,
    sim: &str,
    queue: &str,
    subscribers: &Subscribers,
    rounds: u32,
) -> Result<FanOut> {
    let mut latencies = Vec::new();
    let mut missed = 0;
    for number in 0..rounds {
        let idle = 5 + number % 2;
        let round = Arc::new(Round {
            // `availableAgents` comes first in a queue's object, so this names one queue.
            marker: format!("\"{queue}\":{{\"availableAgents\":{idle},"),
            started: Instant::now(),
            seen: (0..subscribers.count).map(|_| AtomicU64::new(0)).collect(),
        });
        subscribers.round.send_replace(Some(round.clone()));
        let answer = http
            .put(format!("{sim}/__sim/queues/{queue}/state"))
            .json(&serde_json::json!({"agents": {"idle": idle, "busy": 1}}))
            .send()
            .await?;
        if !answer.status().is_success() {
            bail!("the simulator refused the change: {}", answer.status());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let seen = |round: &Round| {
            round
                .seen
                .iter()
                .filter(|at| at.load(Ordering::Relaxed) != 0)
                .count()
        };
        while seen(&round) < subscribers.count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        subscribers.round.send_replace(None);
        for at in &round.seen {
            match at.load(Ordering::Relaxed) {
                0 => missed += 1,
                nanos => latencies.push(Duration::from_nanos(nanos - 1)),
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    latencies.sort_unstable();
    Ok(FanOut {
        latencies,
        missed,
        rounds,
        subscribers: subscribers.count,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

struct HttpReport {
    latencies: Vec<Duration>,
    errors: u64,
}

impl HttpReport {
    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    fn print(&self, seconds: u64) {
        println!(
            "http: {} requests in {seconds} s = {:.0}/s, errors {}, latency p50 {:.2?} p99 {:.2?} max {:.2?}",
            self.latencies.len(),
            self.latencies.len() as f64 / seconds.max(1) as f64,
            self.errors,
            self.percentile(0.5),
            self.percentile(0.99),
            self.percentile(1.0),
        );
    }
}

async fn http_load(
    http: &reqwest::Client,
    urls: &[String],
    concurrency: usize,
    duration: Duration,
) -> HttpReport {
    let deadline = Instant::now() + duration;
    let mut workers = JoinSet::new();
    for worker in 0..concurrency {
        let http = http.clone();
        let url = urls[worker % urls.len()].clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let start = Instant::now();
                match http.get(&url).send().await {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(start.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    let mut report = HttpReport {
        latencies: Vec::new(),
        errors: 0,
    };
    while let Some(Ok((latencies, errors))) = workers.join_next().await {
        report.latencies.extend(latencies);
        report.errors += errors;
    }
    report.latencies.sort_unstable();
    report
}

/// CPU time (user + system, in clock ticks) of the load generator and of the services, from
/// /proc: on a machine of two cores the fan-out's latency is bounded by the work both sides do.
struct CpuTimes {
    own: u64,
    services: u64,
}

impl CpuTimes {
    fn now(pids: &[u32]) -> Option<CpuTimes> {
        let services = pids
            .iter()
            .map(|pid| cpu_ticks(&pid.to_string()))
            .sum::<Option<u64>>()?;
        Some(CpuTimes {
            own: cpu_ticks("self")?,
            services,
        })
    }

    fn since(&self, before: &CpuTimes) -> CpuTimes {
        CpuTimes {
            own: self.own.saturating_sub(before.own),
            services: self.services.saturating_sub(before.services),
        }
    }

    /// Per change, in milliseconds (Linux counts 100 ticks a second).
    fn print(&self, rounds: u32) {
        let per_round = |ticks: u64| ticks as f64 * 10.0 / f64::from(rounds.max(1));
        println!(
            "CPU time per change (the 1 s pauses between changes included): service {:.0} ms, load generator {:.0} ms",
            per_round(self.services),
            per_round(self.own)
        );
    }
}

/// utime + stime of `/proc/{pid}/stat` (fields 14 and 15, after the parenthesised name).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// Resident set size of a process, from /proc (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
