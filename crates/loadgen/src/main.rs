//! `loadgen`: drives a running public-stats service over loopback and prints what it measured —
//! HTTP stats requests per second with latency percentiles, how many WebSocket subscribers it
//! held and how many pushes they received, and the service's resident memory before and after
//! (when given its PID). It is how the speed and memory figures in BENCHMARKS.md are produced;
//! it is not a test (the shared machine is too noisy for timing assertions).
//!
//! Every loop is bounded by `--duration` and `--ws-clients`, and it only talks to the URL given
//! (refusing anything but loopback).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::StreamExt;
use tokio::task::JoinSet;

#[derive(Parser, Debug)]
#[command(about = "Load generator for a running public-stats service (loopback only).")]
struct Args {
    /// Base URL of the service.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
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
    /// PID of the service, to report its resident memory.
    #[arg(long)]
    pid: Option<u32>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let host = reqwest::Url::parse(&args.url)?
        .host_str()
        .unwrap_or_default()
        .to_owned();
    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
        bail!("loadgen only targets loopback, not {host}");
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let queue = match &args.queue {
        Some(queue) => queue.clone(),
        None => first_queue(&http, &args.url).await?,
    };
    let rss_before = args.pid.and_then(rss_kib);
    let subscribers = hold_subscribers(&args.url, args.ws_clients).await?;
    let rss_with_subscribers = args.pid.and_then(rss_kib);
    let stats_url = format!("{}/api/stats/{queue}?key=ewt,observations", args.url);
    let report = http_load(
        &http,
        &stats_url,
        args.concurrency,
        Duration::from_secs(args.duration),
    )
    .await;
    let rss_after = args.pid.and_then(rss_kib);
    let pushes = subscribers.finish().await;
    println!("queue: {queue}");
    report.print(args.duration);
    println!(
        "websocket subscribers held: {} (pushes received: {pushes})",
        args.ws_clients
    );
    if let (Some(before), Some(with), Some(after)) = (rss_before, rss_with_subscribers, rss_after) {
        println!(
            "service RSS: {before} KiB idle, {with} KiB with {} subscribers ({:.1} KiB each), {after} KiB after the HTTP load",
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

struct Subscribers {
    tasks: JoinSet<u64>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Subscribers {
    async fn finish(mut self) -> u64 {
        let _ = self.stop.send(true);
        let mut pushes = 0;
        while let Some(result) = self.tasks.join_next().await {
            pushes += result.unwrap_or(0);
        }
        pushes
    }
}

async fn hold_subscribers(base: &str, count: usize) -> Result<Subscribers> {
    let ws_url = base.replacen("http", "ws", 1) + "/";
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for _ in 0..count {
        let (socket, _) = tokio_tungstenite::connect_async(&ws_url)
            .await
            .context("opening a WebSocket subscriber")?;
        let mut stopped = stopped.clone();
        tasks.spawn(async move {
            let (_write, mut read) = socket.split();
            let mut pushes = 0;
            loop {
                tokio::select! {
                    _ = stopped.changed() => return pushes,
                    message = read.next() => match message {
                        Some(Ok(_)) => pushes += 1,
                        _ => return pushes,
                    },
                }
            }
        });
    }
    println!(
        "opened {count} WebSocket subscribers in {:.2?}",
        started.elapsed()
    );
    Ok(Subscribers { tasks, stop })
}

struct HttpReport {
    latencies: Vec<Duration>,
    errors: u64,
}

impl HttpReport {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index]
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
    url: &str,
    concurrency: usize,
    duration: Duration,
) -> HttpReport {
    let deadline = Instant::now() + duration;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let http = http.clone();
        let url = url.to_owned();
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

/// Resident set size of a process, from /proc (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
