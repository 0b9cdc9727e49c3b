//! Clustered mode's EWT cache with real parts: several service instances on one simulator (demo
//! credentials, as a real org) and one redis-server, visitors asking every instance for every
//! queue and media type at once. What reached the simulator shows at most one EWT call per
//! source — the queue, or a (queue, media type) when Genesys answers queues as a whole — per
//! CACHE_SECONDS, whatever the number of instances; instances that do not share (no REDIS_URL)
//! are the contrast.
//!
//! The figures are printed (`--nocapture`):
//! `cargo nextest run -p public-stats --test api cluster_ -- --nocapture`.

use std::collections::BTreeMap;
use std::time::Duration;

use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use genesys_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::stats::{MEDIA_EWT, QUEUE_EWT};

const CACHE_SECONDS: u64 = 1;
const RUN_FOR: Duration = Duration::from_secs(6);
/// Visitors per instance, each asking again as soon as answered (and a breath).
const VISITORS: usize = 4;
const QUEUES: [uuid::Uuid; 3] = [DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE];
const MEDIA: [Option<&str>; 7] = [
    None,
    Some("voice"),
    Some("chat"),
    Some("callback"),
    Some("email"),
    Some("message"),
    Some("video"),
];

/// One simulator ("Genesys"), one redis-server, and the instances started against them.
pub struct Rig {
    pub sim: RunningSim,
    pub redis: test_redis::RedisServer,
    pub http: reqwest::Client,
}

impl Rig {
    pub async fn start() -> Self {
        Rig {
            sim: genesys_sim::spawn(SimConfig::for_tests()).await.unwrap(),
            redis: test_redis::RedisServer::start(),
            http: reqwest::Client::new(),
        }
    }

    /// An instance with the org's credentials, sharing through Redis when `clustered`, with
    /// `extra` flags and the Genesys client adjusted by `adjust`.
    pub async fn instance(
        &self,
        clustered: bool,
        extra: &[&str],
        adjust: impl FnOnce(genesys::ClientConfig) -> genesys::ClientConfig,
    ) -> TestApp {
        let sim_url = self.sim.base_url();
        let redis_url = self.redis.url();
        let queues = QUEUES.map(|queue| queue.to_string()).join(",");
        let mut flags = vec![
            "--client-id",
            DEMO_CLIENT_ID,
            "--client-secret",
            DEMO_CLIENT_SECRET,
            "--base-url",
            &sim_url,
            "--monitored-queues",
            &queues,
        ];
        if clustered {
            flags.extend(["--redis-url", &redis_url]);
        }
        flags.extend_from_slice(extra);
        let app = spawn_app_tuned(&flags, adjust).await;
        wait_serving(&app).await;
        app
    }

    pub async fn instances(&self, count: usize, clustered: bool, extra: &[&str]) -> Vec<TestApp> {
        let mut apps = Vec::new();
        for _ in 0..count {
            apps.push(self.instance(clustered, extra, |client| client).await);
        }
        apps
    }

    pub async fn sim_control(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.sim.base_url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    /// The simulator's request log (`/__sim/requests`).
    pub async fn requests(&self) -> Value {
        self.http
            .get(format!("{}/__sim/requests", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Until `/readyz` says the instance serves.
pub async fn wait_serving(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if app.get("/readyz").await.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the instance never became ready");
}

/// EWT calls per source (the concrete path: a queue, or a queue and a media type), each as
/// the milliseconds at which it reached the simulator.
fn ewt_calls(log: &Value) -> BTreeMap<String, Vec<u64>> {
    let mut calls: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for entry in log["entries"].as_array().unwrap() {
        if entry["route"] == QUEUE_EWT || entry["route"] == MEDIA_EWT {
            calls
                .entry(entry["path"].as_str().unwrap().to_owned())
                .or_default()
                .push(entry["atMs"].as_u64().unwrap());
        }
    }
    for times in calls.values_mut() {
        times.sort_unstable();
    }
    calls
}

/// Calls of one source that came within CACHE_SECONDS of the one before.
fn too_close(calls: &BTreeMap<String, Vec<u64>>) -> Vec<(String, u64)> {
    calls
        .iter()
        .flat_map(|(path, times)| {
            times
                .windows(2)
                .filter(|pair| pair[1] - pair[0] < CACHE_SECONDS * 1000)
                .map(move |pair| (path.clone(), pair[1] - pair[0]))
        })
        .collect()
}

struct Figures {
    answers: usize,
    stale: usize,
    calls: BTreeMap<String, Vec<u64>>,
}

impl Figures {
    fn upstream(&self) -> usize {
        self.calls.values().map(Vec::len).sum()
    }

    fn report(&self, form: &str) {
        println!(
            "{form}: {} upstream EWT calls for {} sources, {} answers ({} stale) in {RUN_FOR:?}, \
             CACHE_SECONDS={CACHE_SECONDS}",
            self.upstream(),
            self.calls.len(),
            self.answers,
            self.stale,
        );
    }
}

/// [`VISITORS`] visitors per instance cycle through every queue × media type for [`RUN_FOR`].
async fn stats_load(rig: &Rig, apps: &[TestApp]) -> Figures {
    rig.sim_control(reqwest::Method::DELETE, "/__sim/requests", None)
        .await;
    let paths: Vec<String> = QUEUES
        .iter()
        .flat_map(|queue| {
            MEDIA.iter().map(move |media| match media {
                None => format!("/api/stats/{queue}?key=ewt"),
                Some(media) => format!("/api/stats/{queue}?key=ewt&mediaType={media}"),
            })
        })
        .collect();
    let started = tokio::time::Instant::now();
    let mut visitors = tokio::task::JoinSet::new();
    for (instance, app) in apps.iter().enumerate() {
        for visitor in 0..VISITORS {
            let (http, urls) = (
                app.http.clone(),
                paths.iter().map(|path| app.url(path)).collect::<Vec<_>>(),
            );
            let offset = instance * VISITORS + visitor;
            visitors.spawn(async move {
                let (mut answers, mut stale) = (0, 0);
                for url in urls.iter().cycle().skip(offset) {
                    if started.elapsed() >= RUN_FOR {
                        break;
                    }
                    let response = http.get(url).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    let body: Value = response.json().await.unwrap();
                    answers += 1;
                    stale += usize::from(body["stale"] == true);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (answers, stale)
            });
        }
    }
    let (mut answers, mut stale) = (0, 0);
    while let Some(done) = visitors.join_next().await {
        let (a, s) = done.unwrap();
        answers += a;
        stale += s;
    }
    Figures {
        answers,
        stale,
        calls: ewt_calls(&rig.requests().await),
    }
}

fn assert_once_per_period(figures: &Figures) {
    let close = too_close(&figures.calls);
    assert!(
        close.is_empty(),
        "calls of one source within CACHE_SECONDS: {close:?}"
    );
    assert!(
        figures.answers >= 300,
        "the load ran: {} answers",
        figures.answers
    );
    // One call per queue, then one per period: the cache is refreshed, not frozen.
    assert!(
        figures.upstream() >= QUEUES.len() * 2,
        "{} calls",
        figures.upstream()
    );
}

#[tokio::test]
async fn one_clustered_instance_asks_once_per_queue_per_period() {
    let rig = Rig::start().await;
    let apps = rig
        .instances(1, true, &["--cache-seconds", &CACHE_SECONDS.to_string()])
        .await;
    let figures = stats_load(&rig, &apps).await;
    figures.report("1 clustered instance");
    assert_once_per_period(&figures);
}

#[tokio::test]
async fn three_clustered_instances_ask_no_more_than_one() {
    let rig = Rig::start().await;
    let apps = rig
        .instances(3, true, &["--cache-seconds", &CACHE_SECONDS.to_string()])
        .await;
    let figures = stats_load(&rig, &apps).await;
    figures.report("3 clustered instances");
    assert_once_per_period(&figures);
    // 3 queues, each at most once a second over the run, plus the first.
    let bound = QUEUES.len() * (RUN_FOR.as_secs() / CACHE_SECONDS + 1) as usize;
    assert!(
        figures.upstream() <= bound,
        "{} calls, at most {bound}",
        figures.upstream()
    );
    assert!(
        figures.stale * 20 <= figures.answers,
        "{} of {} answers stale",
        figures.stale,
        figures.answers
    );
    let stored = rig
        .redis
        .cli(&["GET", &format!("public-stats:ewt:{DEMO_SALES_QUEUE}")]);
    assert!(stored.contains("\"answered\":true"), "{stored}");
}

#[tokio::test]
async fn three_clustered_instances_against_whole_queue_answers_ask_once_per_media_type() {
    let rig = Rig::start().await;
    rig.sim_control(
        reqwest::Method::PUT,
        "/__sim/ewt",
        Some(json!({"byMedia": false})),
    )
    .await;
    let apps = rig
        .instances(3, true, &["--cache-seconds", &CACHE_SECONDS.to_string()])
        .await;
    let figures = stats_load(&rig, &apps).await;
    figures.report("3 clustered instances, whole-queue answers");
    let close = too_close(&figures.calls);
    assert!(close.is_empty(), "calls within CACHE_SECONDS: {close:?}");
    // 3 queues, each whole and in 6 media types: 21 sources, each asked.
    assert!(
        figures
            .calls
            .keys()
            .any(|path| path.contains("/mediatypes/")),
        "{:?}",
        figures.calls.keys()
    );
    assert!(figures.calls.len() <= 21, "{:?}", figures.calls.keys());
    // The EWT share (half of 240 a minute, in bursts of 6), for all three together: 21
    // sources in demand stretch the period past the run, so each is asked about once.
    let share = 6 + 120 * RUN_FOR.as_secs() as usize / 60;
    assert!(
        figures.upstream() <= share,
        "{} calls, the shared share allows {share}",
        figures.upstream()
    );
}

#[tokio::test]
async fn three_instances_that_do_not_share_ask_three_times_as_often() {
    // The contrast: the same load on instances without REDIS_URL.
    let rig = Rig::start().await;
    let apps = rig
        .instances(3, false, &["--cache-seconds", &CACHE_SECONDS.to_string()])
        .await;
    let figures = stats_load(&rig, &apps).await;
    figures.report("3 instances, not clustered");
    assert!(
        !too_close(&figures.calls).is_empty(),
        "each instance asks for itself, so some calls come within a period"
    );
}

#[tokio::test]
async fn with_redis_gone_each_instance_asks_for_itself_and_answers_stay_current() {
    let mut rig = Rig::start().await;
    let apps = rig
        .instances(2, true, &["--cache-seconds", &CACHE_SECONDS.to_string()])
        .await;
    let path = format!("/api/stats/{DEMO_SALES_QUEUE}?key=ewt");
    for app in &apps {
        assert_eq!(app.get(&path).await.status(), 200);
    }
    rig.redis.kill();
    let figures = stats_load(&rig, &apps).await;
    figures.report("2 clustered instances, Redis gone");
    assert!(
        figures.answers >= 200,
        "the load ran: {} answers",
        figures.answers
    );
    assert!(
        figures.stale * 4 <= figures.answers,
        "{} of {} answers stale",
        figures.stale,
        figures.answers
    );
    // Each on its own: at most one call per source per period per instance.
    let bound = apps.len() * QUEUES.len() * (RUN_FOR.as_secs() / CACHE_SECONDS + 1) as usize;
    assert!(
        (QUEUES.len()..=bound).contains(&figures.upstream()),
        "{} calls, at most {bound}",
        figures.upstream()
    );
}
