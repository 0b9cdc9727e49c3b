//! Crash safety of accepted callbacks, against the real binary: the service is killed with
//! SIGKILL at random moments while it accepts and delivers callbacks, restarted on the same data
//! directory, and at the end what Genesys (the simulator, which outlives every kill) received is
//! counted against what visitors were told was accepted. Nothing accepted may be lost; the only
//! duplicates allowed come from the window between Genesys creating a callback and the service
//! recording it, and each carries its job id.
//!
//! `CRASH_CYCLES` (default 4) sets how many kills, `CRASH_POSTERS` (default 2) how many visitors
//! post at once. The long run in BENCHMARKS.md:
//! `CRASH_CYCLES=1000 CRASH_POSTERS=1 cargo test -p public-stats --test api crash -- --nocapture`
//! (one visitor, so that the callbacks stay within what the Genesys request budget delivers).

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use genesys_sim::SimConfig;
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use serde_json::{Value, json};

use crate::callbacks::tomorrow;
use crate::helpers::*;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// The real binary, configured for a real org (the simulator), limits out of the way.
fn start_service(sim_url: &str, port: u16, data_dir: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_public-stats"))
        .env_clear()
        .env("PURECLOUD_CLIENT_ID", DEMO_CLIENT_ID)
        .env("PURECLOUD_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        .env("PURECLOUD_BASE_URL", sim_url)
        .env("PURECLOUD_MONITORED_QUEUES", DEMO_SALES_QUEUE.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("ADMIN_BIND_ADDRESS", "127.0.0.1:0")
        .env("DATA_DIR", data_dir)
        .env("CALLBACK_PER_NUMBER_DAILY", "1000000")
        .env("CALLBACK_PER_ADDRESS_HOURLY", "1000000")
        .env("CALLBACK_PER_ADDRESS_DAILY", "1000000")
        .env("CALLBACK_NUMBERS_PER_ADDRESS_DAILY", "1000000")
        .env("CALLBACK_MAX_PENDING_PER_QUEUE", "1000000")
        .env("CALLBACK_DAILY_LIMIT", "1000000")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the service binary starts")
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the service did not come up");
}

/// Posts callbacks for numbers `next..` until the service dies; every 202's id goes to `accepted`.
async fn keep_posting(
    http: reqwest::Client,
    url: String,
    numbers: Arc<Mutex<u32>>,
    accepted: Arc<Mutex<HashSet<String>>>,
    pause: Duration,
) {
    loop {
        let number = {
            let mut next = numbers.lock().unwrap();
            *next += 1;
            *next
        };
        let body = json!({
            "queueId": DEMO_SALES_QUEUE,
            "callbackNumbers": [format!("+1317{:07}", 2_000_000 + number)],
            "callbackUserName": "Crash Test",
            "callbackScheduledTime": tomorrow(),
        });
        match http.post(&url).json(&body).send().await {
            Ok(response) if response.status() == 202 => {
                if let Ok(receipt) = response.json::<Value>().await
                    && let Some(id) = receipt["id"].as_str()
                {
                    accepted.lock().unwrap().insert(id.to_owned());
                }
                tokio::time::sleep(pause).await;
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                panic!("refused {status}: {text}");
            }
            // The kill.
            Err(_) => return,
        }
    }
}

/// outboxId → how many times Genesys created it.
async fn created_upstream(http: &reqwest::Client, sim_url: &str) -> HashMap<String, usize> {
    let log: Value = http
        .get(format!("{sim_url}/__sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut counts = HashMap::new();
    for body in log["callbacks"].as_array().into_iter().flatten() {
        if let Some(id) = body["data"]["outboxId"].as_str() {
            *counts.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test]
async fn kill_9_at_random_moments_loses_no_accepted_callback() {
    let setting = |name: &str, default: u32| -> u32 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let cycles = setting("CRASH_CYCLES", 4);
    let poster_count = setting("CRASH_POSTERS", 2);
    let sim = genesys_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let sim_url = sim.base_url();
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_string_lossy().into_owned();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let accepted = Arc::new(Mutex::new(HashSet::new()));
    let numbers = Arc::new(Mutex::new(0));
    for _ in 0..cycles {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut service = start_service(&sim_url, port, &data);
        wait_healthy(&http, &base).await;
        // Two visitors: enough to overlap requests, few enough that the relay (bound by the
        // Genesys request budget) keeps up.
        let posters: Vec<_> = (0..poster_count)
            .map(|_| {
                tokio::spawn(keep_posting(
                    http.clone(),
                    format!("{base}/api/callback"),
                    numbers.clone(),
                    accepted.clone(),
                    // A lone visitor pauses longer: the simulator's log keeps 1,000 callbacks.
                    Duration::from_millis(if poster_count > 1 { 40 } else { 200 }),
                ))
            })
            .collect();
        let lifetime = if poster_count > 1 { 50..1000 } else { 20..300 };
        tokio::time::sleep(Duration::from_millis(fastrand::u64(lifetime))).await;
        service.kill().expect("SIGKILL");
        let _ = service.wait();
        for poster in posters {
            let _ = poster.await;
        }
    }
    // A last start delivers whatever the kills left pending.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut service = start_service(&sim_url, port, &data);
    wait_healthy(&http, &base).await;
    let accepted = accepted.lock().unwrap().clone();
    // The relay delivers about 4 a second (the Genesys request budget).
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(60 + accepted.len() as u64 / 3);
    let created = loop {
        let created = created_upstream(&http, &sim_url).await;
        let all_in = accepted.iter().all(|id| created.contains_key(id));
        if all_in || tokio::time::Instant::now() > deadline {
            break created;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    service.kill().ok();
    let _ = service.wait();
    assert!(
        created.values().sum::<usize>() < genesys_sim::control::log::MAX_CALLBACKS,
        "the simulator's log of callbacks is full: the counts below would be wrong"
    );
    let lost: Vec<&String> = accepted
        .iter()
        .filter(|id| !created.contains_key(*id))
        .collect();
    let duplicates: usize = created.values().map(|n| n - 1).sum();
    let unknown: Vec<&String> = created
        .keys()
        .filter(|id| !accepted.contains(*id))
        .collect();
    println!(
        "crash run: {cycles} kills, {} accepted, {} created ({} distinct), {} lost, {duplicates} duplicates, \
         {} created whose 202 the kill swallowed",
        accepted.len(),
        created.values().sum::<usize>(),
        created.len(),
        lost.len(),
        unknown.len()
    );
    assert!(!accepted.is_empty(), "the run accepted callbacks");
    assert!(lost.is_empty(), "accepted but never created: {lost:?}");
    // Duplicates carry their job id by construction (they are counted by it); a kill between
    // sending and recording can cause at most one per kill.
    assert!(
        duplicates <= cycles as usize,
        "{duplicates} duplicates in {cycles} kills"
    );
}
