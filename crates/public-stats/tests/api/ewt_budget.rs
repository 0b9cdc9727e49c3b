//! One visitor cycling through every queue × media type as fast as it can cannot spend the
//! request budget for everyone: upstream EWT calls stay within what the cache period and the EWT
//! share of the budget allow, and answers stay fresh.
//!
//! The figures are printed (`--nocapture`) for the record:
//! `cargo test -p public-stats --test api ewt_budget -- --nocapture`.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::stats::{MEDIA_EWT, QUEUE_EWT};

/// Every spelling of a media type a visitor may send, and none.
const MEDIA: [Option<&str>; 10] = [
    None,
    Some("all"),
    Some("voice"),
    Some("call"),
    Some("chat"),
    Some("callback"),
    Some("email"),
    Some("message"),
    Some("video"),
    Some("videoComm"),
];
const QUEUES: [uuid::Uuid; 3] = [DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE];
const RUN_FOR: Duration = Duration::from_secs(10);
/// About 60 requests a second, as the visitor who emptied the budget before.
const EVERY: Duration = Duration::from_millis(16);

struct Figures {
    answers: usize,
    stale: usize,
    upstream: u64,
}

/// Cycles through every (queue, media type) for [`RUN_FOR`], one request every [`EVERY`].
async fn cycle(app: &TestApp) -> Figures {
    app.wait_ready().await;
    let cleared = app
        .sim_control(reqwest::Method::DELETE, "/__sim/requests", None)
        .await;
    assert_eq!(cleared.status(), 204);
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
    let mut ticks = tokio::time::interval(EVERY);
    let mut requests = Vec::new();
    for path in paths.iter().cycle() {
        ticks.tick().await;
        if started.elapsed() >= RUN_FOR {
            break;
        }
        let (http, url) = (app.http.clone(), app.url(path));
        requests.push(tokio::spawn(async move {
            let response = http.get(url).send().await.expect("request sent");
            assert_eq!(response.status(), 200);
            let body: serde_json::Value = response.json().await.expect("JSON");
            body["stale"] == true
        }));
    }
    let mut figures = Figures {
        answers: requests.len(),
        stale: 0,
        upstream: 0,
    };
    for request in requests {
        figures.stale += usize::from(request.await.expect("request task"));
    }
    figures.upstream = app.upstream_count(QUEUE_EWT).await + app.upstream_count(MEDIA_EWT).await;
    figures
}

fn report(form: &str, figures: &Figures) {
    println!(
        "{form}: {} upstream EWT calls, {} answers, {} stale in {RUN_FOR:?}",
        figures.upstream, figures.answers, figures.stale
    );
}

#[tokio::test]
async fn a_visitor_cycling_through_every_key_costs_one_call_per_queue_per_period() {
    let app = spawn_app().await;
    let figures = cycle(&app).await;
    report("per-media answers", &figures);
    assert!(figures.answers >= 400, "the load ran: {}", figures.answers);
    // 3 queues, each asked at most once every CACHE_SECONDS (2 s) over 10 s, plus the first.
    let allowed = 3 * (RUN_FOR.as_secs() / 2 + 1);
    assert!(
        figures.upstream <= allowed,
        "{} upstream calls, at most {allowed}",
        figures.upstream
    );
    assert!(
        figures.stale * 20 <= figures.answers,
        "{} of {} answers stale",
        figures.stale,
        figures.answers
    );
}

#[tokio::test]
async fn against_a_genesys_without_per_media_answers_the_calls_stay_within_the_ewt_share() {
    let app = spawn_app().await;
    let response = app
        .sim_control(
            reqwest::Method::PUT,
            "/__sim/ewt",
            Some(json!({"byMedia": false})),
        )
        .await;
    assert_eq!(response.status(), 204);
    let figures = cycle(&app).await;
    report("whole-queue answers", &figures);
    assert!(figures.answers >= 400, "the load ran: {}", figures.answers);
    // The EWT share is half the default budget (240 a minute): 120 a minute, in bursts of 6.
    let share = 6 + 120 * RUN_FOR.as_secs() / 60;
    assert!(
        figures.upstream <= share,
        "{} upstream calls, at most {share}",
        figures.upstream
    );
    // 21 sources (3 queues, each whole and in 6 media types) in demand stretch the period to
    // 21 × 60 / 120 = 10.5 s: each is asked about once in the run.
    assert!(
        figures.upstream <= 2 * 21,
        "{} upstream calls for 21 sources",
        figures.upstream
    );
    // Sources wait their turn for budget at first, then stay fresh.
    assert!(
        figures.stale * 2 < figures.answers,
        "{} of {} answers stale",
        figures.stale,
        figures.answers
    );
}
