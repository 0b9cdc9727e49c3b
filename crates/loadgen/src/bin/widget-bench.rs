//! `widget-bench`: what the widget costs the page that embeds it, measured in headless Chromium
//! on a running service's demo page (sandbox mode is enough). The page is loaded `--runs` times
//! with the widget and as many times without it (its loader blocked over the DevTools protocol),
//! cache off, and each load reports its long tasks (≥ 50 ms, `PerformanceObserver`), its layout
//! shift and the renderer's script and task time (`Performance.getMetrics`) until the page has
//! settled. Medians and maxima are printed, and the widget's share (with minus without).
//!
//! Script and task time are wall-clock time by default: on a machine whose cores are busy (a
//! fresh browser starting up is busy itself) they include the time the page's thread waited for
//! a core. `--thread-ticks` counts them in the thread's CPU time instead, which the machine's
//! load hardly moves; the main thread's whole CPU time (`ThreadTime`) is printed either way.
//!
//! It is how the load-time figures in BENCHMARKS.md are produced (`scripts/bench-widget`); it is
//! not a test: timings on a shared machine vary too much to pass or fail on. It drives
//! `chromedriver` (Debian's `chromium-driver`) on loopback only.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "Measures the widget's load-time cost on the demo page in headless Chromium.")]
struct Args {
    /// Base URL of a running public-stats service (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Loads of the page with the widget, and as many without it.
    #[arg(long, default_value_t = 15)]
    runs: usize,
    /// Milliseconds to wait after the load event for the page to settle (idle-time work included).
    #[arg(long, default_value_t = 2500)]
    settle_ms: u64,
    /// Milliseconds the browser is left open on a blank page before the visit: a visitor's browser
    /// is already running when they come to the site, not starting its processes at that moment
    /// (0 for a visit made while the browser starts).
    #[arg(long, default_value_t = 1500)]
    browser_settle_ms: u64,
    /// The chromedriver binary.
    #[arg(long, default_value = "/usr/bin/chromedriver")]
    chromedriver: String,
    /// The Chromium binary.
    #[arg(long, default_value = "/usr/bin/chromium")]
    chromium: String,
    /// Adds an 80 ms task to every page, to see that the long-task observer reports it.
    #[arg(long)]
    self_check: bool,
    /// Prints every load's figures.
    #[arg(long)]
    verbose: bool,
    /// Script and task time in the main thread's CPU time rather than wall-clock time.
    #[arg(long)]
    thread_ticks: bool,
    /// The port chromedriver listens on (loopback).
    #[arg(long, default_value_t = 19515)]
    driver_port: u16,
}

/// Installed in every page before its own scripts: collects the long tasks and layout shifts.
const OBSERVER: &str = r#"
window.__bench = { longTasks: [], shift: 0, shifted: [] };
try {
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { window.__bench.longTasks.push(e.duration); });
  }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { if (e.hadRecentInput) return;
      window.__bench.shift += e.value;
      (e.sources || []).forEach(function (s) { window.__bench.shifted.push((s.node ? (s.node.id || s.node.nodeName) : '?') + ' ' +
        [s.previousRect.y, s.previousRect.height, s.currentRect.y, s.currentRect.height].join('/') + ' @' + Math.round(e.startTime)); });
    });
  }).observe({ type: 'layout-shift', buffered: true });
} catch (e) {}
"#;

/// What one load of the page cost.
#[derive(Debug, Default, Clone)]
struct Sample {
    longest_task_ms: f64,
    long_tasks: usize,
    layout_shift: f64,
    script_ms: f64,
    task_ms: f64,
    /// The main thread's CPU time, whatever ran on it.
    thread_ms: f64,
    stylesheet_requests: usize,
    /// The elements whose moves made up the layout shift.
    shifted: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let host = reqwest::Url::parse(&args.url).context("--url")?;
    if !matches!(host.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!("--url must be a loopback address");
    }
    let mut driver = start_driver(&args)?;
    let outcome = run(&args).await;
    let _ = driver.kill();
    let _ = driver.wait();
    outcome
}

fn start_driver(args: &Args) -> Result<Child> {
    let child = Command::new(&args.chromedriver)
        .arg(format!("--port={}", args.driver_port))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", args.chromedriver))?;
    Ok(child)
}

async fn run(args: &Args) -> Result<()> {
    let driver_url = format!("http://127.0.0.1:{}", args.driver_port);
    let page = format!("{}/", args.url.trim_end_matches('/'));
    let mut with = Vec::new();
    let mut without = Vec::new();
    // One load of each in turn, so that a busy moment of the machine hits both alike; the
    // first pair warms the machine's caches up and is not counted.
    for round in 0..=args.runs {
        for widget in [true, false] {
            let sample = visit(&driver_url, &page, widget, args).await?;
            if args.verbose {
                println!("round {round} widget {widget}: {sample:?}");
            }
            if round > 0 {
                if widget { &mut with } else { &mut without }.push(sample);
            }
        }
    }
    report("with the widget", &with);
    report("without the widget", &without);
    let share = |f: fn(&Sample) -> f64| median(with.iter().map(f)) - median(without.iter().map(f));
    println!(
        "the widget's share (median with − median without): script {:.1} ms, tasks {:.1} ms, \
         main thread CPU {:.1} ms{}",
        share(|s| s.script_ms),
        share(|s| s.task_ms),
        share(|s| s.thread_ms),
        if args.thread_ticks {
            " (script and tasks in CPU time)"
        } else {
            ""
        }
    );
    Ok(())
}

/// One visit in a fresh browser: a visitor's first page view pays for a new renderer process
/// (V8, ICU for `Intl`, a first canvas), which later loads in the same browser would not show.
async fn visit(driver_url: &str, page: &str, widget: bool, args: &Args) -> Result<Sample> {
    let client = connect(driver_url, &args.chromium).await?;
    let session = client
        .session_id()
        .await?
        .context("chromedriver gave no session")?;
    let cdp = Cdp {
        http: reqwest::Client::new(),
        url: format!("{driver_url}/session/{session}/goog/cdp/execute"),
    };
    cdp.call("Network.enable", json!({})).await?;
    cdp.call("Network.setCacheDisabled", json!({ "cacheDisabled": true }))
        .await?;
    cdp.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": OBSERVER }),
    )
    .await?;
    let sample = load(&client, &cdp, page, widget, args).await;
    client.close().await?;
    sample
}

async fn connect(driver_url: &str, chromium: &str) -> Result<Client> {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900"
            ]
        }
    });
    let Value::Object(capabilities) = capabilities else {
        bail!("capabilities are an object");
    };
    // chromedriver needs a moment to listen.
    for _ in 0..50 {
        match ClientBuilder::rustls()?
            .capabilities(capabilities.clone())
            .connect(driver_url)
            .await
        {
            Ok(client) => return Ok(client),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    bail!("chromedriver did not answer at {driver_url}")
}

/// chromedriver's DevTools endpoint for the session.
struct Cdp {
    http: reqwest::Client,
    url: String,
}

impl Cdp {
    async fn call(&self, cmd: &str, params: Value) -> Result<Value> {
        let response: Value = self
            .http
            .post(&self.url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await?
            .json()
            .await?;
        if !response["value"]["error"].is_null() {
            bail!("{cmd} failed: {response}");
        }
        Ok(response["value"].clone())
    }

    /// The renderer's cumulative ScriptDuration, TaskDuration and ThreadTime, in milliseconds.
    async fn times(&self) -> Result<(f64, f64, f64)> {
        let metrics = self.call("Performance.getMetrics", json!({})).await?;
        let read = |name: &str| {
            metrics["metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["name"] == name)
                .and_then(|m| m["value"].as_f64())
                .unwrap_or(0.0)
                * 1000.0
        };
        Ok((
            read("ScriptDuration"),
            read("TaskDuration"),
            read("ThreadTime"),
        ))
    }
}

async fn load(client: &Client, cdp: &Cdp, page: &str, widget: bool, args: &Args) -> Result<Sample> {
    let blocked: Vec<&str> = if widget {
        vec![]
    } else {
        vec!["*chat-injector.js*"]
    };
    cdp.call("Network.setBlockedURLs", json!({ "urls": blocked }))
        .await?;
    client.goto("about:blank").await?;
    tokio::time::sleep(Duration::from_millis(args.browser_settle_ms)).await;
    let domain = if args.thread_ticks {
        "threadTicks"
    } else {
        "timeTicks"
    };
    cdp.call("Performance.enable", json!({ "timeDomain": domain }))
        .await?;
    let (script_before, task_before, thread_before) = cdp.times().await?;
    client.goto(page).await?;
    if widget {
        wait_ready(client).await?;
    }
    if args.self_check {
        client
            .execute(
                "setTimeout(function () { var t = performance.now(); while (performance.now() - t < 80); }, 0);",
                vec![],
            )
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let (script_after, task_after, thread_after) = cdp.times().await?;
    let observed = client
        .execute(
            "return { b: window.__bench, css: performance.getEntriesByType('resource')\
             .filter(function (e) { return /widget\\.css/.test(e.name); }).length };",
            vec![],
        )
        .await?;
    let long_tasks: Vec<f64> = observed["b"]["longTasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect();
    Ok(Sample {
        longest_task_ms: long_tasks.iter().copied().fold(0.0, f64::max),
        long_tasks: long_tasks.len(),
        layout_shift: observed["b"]["shift"].as_f64().unwrap_or(0.0),
        script_ms: (script_after - script_before).max(0.0),
        task_ms: (task_after - task_before).max(0.0),
        thread_ms: (thread_after - thread_before).max(0.0),
        stylesheet_requests: observed["css"].as_u64().unwrap_or(0) as usize,
        shifted: observed["b"]["shifted"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|node| node.as_str().map(str::to_owned))
            .collect(),
    })
}

/// Until the widget has emitted `ready` (its public API is installed then).
async fn wait_ready(client: &Client) -> Result<()> {
    for _ in 0..100 {
        let ready = client
            .execute(
                "var w = window.publicStatsWidget; return !!(w && w.internals);",
                vec![],
            )
            .await?;
        if ready == Value::Bool(true) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the widget did not become ready")
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut sorted: Vec<f64> = values.collect();
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn maximum(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, f64::max)
}

fn report(label: &str, samples: &[Sample]) {
    let line = |name: &str, f: fn(&Sample) -> f64, unit: &str| {
        println!(
            "  {name:<28} median {:>7.1}{unit}  max {:>7.1}{unit}",
            median(samples.iter().map(f)),
            maximum(samples.iter().map(f))
        );
    };
    println!("{label} ({} loads):", samples.len());
    line("longest long task", |s| s.longest_task_ms, " ms");
    line("long tasks (≥ 50 ms)", |s| s.long_tasks as f64, "   ");
    line("script (ScriptDuration)", |s| s.script_ms, " ms");
    line("tasks (TaskDuration)", |s| s.task_ms, " ms");
    line("main thread CPU (ThreadTime)", |s| s.thread_ms, " ms");
    line("layout shift (CLS)", |s| s.layout_shift, "   ");
    line(
        "widget.css requests",
        |s| s.stylesheet_requests as f64,
        "   ",
    );
    let mut shifted: Vec<&str> = samples
        .iter()
        .flat_map(|s| s.shifted.iter())
        .filter_map(|source| source.split(' ').next())
        .collect();
    shifted.sort_unstable();
    shifted.dedup();
    if !shifted.is_empty() {
        println!("  what shifted: {}", shifted.join(", "));
    }
}
