//! Clustered mode's request budget against the simulator's own limit: 300 requests a minute,
//! counted here for the OAuth client as a whole (every instance's token together, the allowance
//! the instances share). Three instances are pushed hard — visitors posting callbacks faster
//! than they can be delivered, and asking for estimates — for longer than three separate
//! budgets (240 a minute and a burst of 20 each) take to pass 300. Sharing one budget in Redis,
//! they get no 429; each on its own budget (no REDIS_URL), they do.
//!
//! The figures are printed (`--nocapture`):
//! `cargo nextest run -p public-stats --test api cluster_budget -- --nocapture`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::callbacks::tomorrow;
use crate::cluster_ewt::Rig;
use crate::helpers::*;

/// Three separate budgets spend 3 × (20 + 4 a second): past 300 after 20 s, well past it by
/// the end; one shared budget spends 20 + 4 a second: about half of 300.
const RUN_FOR: Duration = Duration::from_secs(30);
const GENESYS_PER_MINUTE: u64 = 300;
/// The default budget: 240 a minute, in bursts of 20.
const BURST: u64 = 20;
const PER_SECOND: u64 = 4;

/// Callback limits out of the way: the load is meant to reach the budget, not them.
const OPEN_LIMITS: [&str; 12] = [
    "--callback-per-number-daily",
    "1000000",
    "--callback-per-address-hourly",
    "1000000",
    "--callback-per-address-daily",
    "1000000",
    "--callback-numbers-per-address-daily",
    "1000000",
    "--callback-max-pending-per-queue",
    "1000000",
    "--callback-daily-limit",
    "1000000",
];

struct Figures {
    accepted: usize,
    created: usize,
    /// Requests that counted against the limit (`/api/v2/…`), and those answered 429.
    api_requests: usize,
    refused: usize,
    /// From the first to the last of them.
    span: Duration,
}

impl Figures {
    fn report(&self, form: &str) {
        println!(
            "{form}: {} API requests in {:.1} s, {} answered 429; {} callbacks accepted, {} created",
            self.api_requests,
            self.span.as_secs_f64(),
            self.refused,
            self.accepted,
            self.created,
        );
    }
}

/// Every instance: a visitor posting a callback every 50 ms, and one asking for an estimate.
async fn push_hard(rig: &Rig, apps: &[TestApp]) -> Figures {
    let started = tokio::time::Instant::now();
    let mut load = tokio::task::JoinSet::new();
    for (instance, app) in apps.iter().enumerate() {
        let (http, url) = (app.http.clone(), app.url("/api/callback"));
        load.spawn(async move {
            let mut accepted = 0;
            for n in 0.. {
                if started.elapsed() >= RUN_FOR {
                    break;
                }
                let body = json!({
                    "queueId": DEMO_SALES_QUEUE,
                    "callbackNumbers": [format!("+1317{:07}", 2_000_000 + instance * 100_000 + n)],
                    "callbackUserName": "Budget Test",
                    "callbackScheduledTime": tomorrow(),
                });
                let response = http.post(&url).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
                accepted += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            accepted
        });
        let (http, url) = (
            app.http.clone(),
            app.url(&format!("/api/stats/{DEMO_SUPPORT_QUEUE}?key=ewt")),
        );
        load.spawn(async move {
            while started.elapsed() < RUN_FOR {
                assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            0
        });
    }
    let mut accepted = 0;
    while let Some(done) = load.join_next().await {
        accepted += done.unwrap();
    }
    let log = rig.requests().await;
    let api: Vec<&Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["path"].as_str().unwrap().starts_with("/api/v2/"))
        .collect();
    let at = |entry: &Value| entry["atMs"].as_u64().unwrap();
    let first = api.iter().map(|entry| at(entry)).min().unwrap_or(0);
    let last = api.iter().map(|entry| at(entry)).max().unwrap_or(0);
    Figures {
        accepted,
        created: api
            .iter()
            .filter(|entry| {
                entry["route"] == "POST /api/v2/conversations/callbacks" && entry["status"] == 200
            })
            .count(),
        api_requests: api.len(),
        refused: api.iter().filter(|entry| entry["status"] == 429).count(),
        span: Duration::from_millis(last - first),
    }
}

async fn limit_the_client_as_a_whole(rig: &Rig) {
    rig.sim_control(
        reqwest::Method::PUT,
        "/__sim/rate-limit",
        Some(json!({"perMinute": GENESYS_PER_MINUTE, "perClient": true})),
    )
    .await;
}

#[tokio::test]
async fn three_clustered_instances_pushed_hard_together_get_no_429() {
    let rig = Rig::start().await;
    limit_the_client_as_a_whole(&rig).await;
    let apps = rig.instances(3, true, &OPEN_LIMITS).await;
    let figures = push_hard(&rig, &apps).await;
    figures.report("3 clustered instances");
    assert_eq!(figures.refused, 0, "no 429 from Genesys");
    assert!(
        figures.accepted > figures.created,
        "the visitors asked for more than the budget delivers: {} accepted, {} created",
        figures.accepted,
        figures.created
    );
    let allowed = one_budget(&figures);
    assert!(
        figures.api_requests as u64 <= allowed,
        "{} requests in {:?}, one budget allows {allowed}",
        figures.api_requests,
        figures.span
    );
}

#[tokio::test]
async fn three_instances_each_on_its_own_budget_pass_the_limit_under_the_same_load() {
    // The contrast: without REDIS_URL each instance spends a whole budget of its own.
    let rig = Rig::start().await;
    limit_the_client_as_a_whole(&rig).await;
    let apps = rig.instances(3, false, &OPEN_LIMITS).await;
    let figures = push_hard(&rig, &apps).await;
    figures.report("3 instances, not clustered");
    assert!(
        figures.api_requests as u64 > one_budget(&figures),
        "{} requests in {:?}: no more than one budget",
        figures.api_requests,
        figures.span
    );
    assert!(
        figures.refused > 0,
        "{} requests, none refused: the load did not reach the limit",
        figures.api_requests
    );
}

/// What one bucket gives over the time the requests took: its burst plus its rate (and one
/// for the request on its way when the span was measured).
fn one_budget(figures: &Figures) -> u64 {
    BURST + PER_SECOND * figures.span.as_secs() + PER_SECOND + 1
}
