//! `GET /api/stats/{queueId}`: the seed's contract, the EWT cache and staleness.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

pub const QUEUE_EWT: &str = "GET /api/v2/routing/queues/{queueId}/estimatedwaittime";
pub const MEDIA_EWT: &str =
    "GET /api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime";
pub const OBSERVATIONS_QUERY: &str = "POST /api/v2/analytics/queues/observations/query";
const MEDIA: [&str; 8] = [
    "voice",
    "screenshare",
    "chat",
    "callback",
    "cobrowse",
    "video",
    "message",
    "email",
];

/// Makes the simulator answer `route` with `status` (and optionally a delay) until cleared.
fn stats_path(queue: Uuid, query: &str) -> String {
    format!("/api/stats/{queue}?{query}")
}

/// Polls until `check` holds for the body of `path`, or panics after `within`.
async fn wait_for(
    app: &TestApp,
    path: &str,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (status, body) = app.get_json(path).await;
        if status == 200 && check(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never matched; last: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The queue state the tests set: one busy agent, three calls waiting (a stable, non-zero EWT).
fn busy_sales() -> Value {
    json!({"agents":{"idle":0,"busy":1},"waiting":{"voice":3}})
}

fn assert_seed_observations(observations: &Value) {
    let keys: BTreeSet<&str> = observations
        .as_object()
        .expect("observations is an object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected: BTreeSet<&str> = MEDIA.into_iter().collect();
    expected.extend(["availableAgents", "busyAgents"]);
    assert_eq!(keys, expected, "{observations}");
    assert!(observations["availableAgents"].is_u64());
    assert!(observations["busyAgents"].is_u64());
    for media in MEDIA {
        let counts = observations[media].as_object().expect("media object");
        assert_eq!(counts.len(), 2, "{media}: {counts:?}");
        assert!(
            counts["interacting"].is_u64() && counts["waiting"].is_u64(),
            "{media}"
        );
    }
}

#[tokio::test]
async fn the_seed_example_shape_field_for_field() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let response = app
        .get(&stats_path(DEMO_SALES_QUEUE, "key=ewt&key=observations"))
        .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "public, max-age=2");
    let body: Value = response.json().await.unwrap();
    let keys: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["ewt", "observations"]),
        "nothing extra: {body}"
    );
    assert!(body["ewt"].is_i64(), "{body}");
    assert!(body["ewt"].as_i64().unwrap() >= -1);
    assert_seed_observations(&body["observations"]);
}

#[tokio::test]
async fn keys_comma_separated_or_repeated_and_only_those_asked() {
    let app = spawn_app().await;
    app.wait_ready().await;
    for query in [
        "key=ewt,observations",
        "key=ewt&key=observations",
        "key=observations,ewt&_=1",
    ] {
        let (status, body) = app.get_json(&stats_path(DEMO_SALES_QUEUE, query)).await;
        assert_eq!(status, 200, "{query}");
        assert!(
            body.get("ewt").is_some() && body.get("observations").is_some(),
            "{query}: {body}"
        );
    }
    let (_, ewt_only) = app.get_json(&stats_path(DEMO_SALES_QUEUE, "key=ewt")).await;
    assert_eq!(ewt_only.as_object().unwrap().len(), 1, "{ewt_only}");
    let (_, observations_only) = app
        .get_json(&stats_path(DEMO_SALES_QUEUE, "key=observations"))
        .await;
    assert_eq!(
        observations_only.as_object().unwrap().len(),
        1,
        "{observations_only}"
    );
    assert_seed_observations(&observations_only["observations"]);
}

#[tokio::test]
async fn observations_follow_the_queue_with_no_upstream_call_per_request() {
    let app = spawn_app().await;
    app.wait_ready().await;
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":2,"busy":1},"waiting":{"voice":3}}),
    )
    .await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=observations");
    let body = wait_for(&app, &path, Duration::from_secs(4), |body| {
        let o = &body["observations"];
        o["availableAgents"] == 2 && o["busyAgents"] == 1 && o["voice"]["waiting"] == 3
    })
    .await;
    assert!(body.get("stale").is_none(), "{body}");
    let queries = app.upstream_count(OBSERVATIONS_QUERY).await;
    for _ in 0..20 {
        assert_eq!(app.get(&path).await.status(), 200);
    }
    assert_eq!(app.upstream_count(OBSERVATIONS_QUERY).await, queries);
    assert_eq!(
        app.upstream_count(QUEUE_EWT).await,
        0,
        "observations need no EWT"
    );
}

#[tokio::test]
async fn a_thousand_concurrent_cold_requests_make_one_upstream_call() {
    // A long TTL: on a busy machine the last of the thousand may arrive more than the default
    // 2 s after the answer was cached, and a refetch then would be right, not a lost coalescing.
    let app = spawn_app_with(&["--cache-seconds", "60"]).await;
    // The one upstream call stays in flight while all requests arrive.
    app.fault(json!({"route": QUEUE_EWT, "delayMs": 500, "times": 1}))
        .await;
    let path = stats_path(DEMO_BILLING_QUEUE, "key=ewt");
    let requests = (0..1_000).map(|_| async {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, 200);
        body["ewt"].as_i64().expect("ewt is a number")
    });
    let answers = futures_util::future::join_all(requests).await;
    assert_eq!(app.upstream_count(QUEUE_EWT).await, 1);
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "all share one answer"
    );
}

#[tokio::test]
async fn a_cached_ewt_is_reused_within_cache_seconds_and_refreshed_after() {
    let app = spawn_app_with(&["--cache-seconds", "1"]).await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=ewt");
    for _ in 0..3 {
        assert_eq!(app.get(&path).await.status(), 200);
    }
    assert_eq!(app.upstream_count(QUEUE_EWT).await, 1);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(app.get(&path).await.status(), 200);
    assert_eq!(app.upstream_count(QUEUE_EWT).await, 2);
}

#[tokio::test]
async fn every_media_type_of_a_queue_shares_one_queue_wide_call() {
    let app = spawn_app().await;
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":0,"busy":2},"waiting":{"voice":3,"chat":1}}),
    )
    .await;
    let ewt = |media: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app
                .get_json(&stats_path(
                    DEMO_SALES_QUEUE,
                    &format!("key=ewt&mediaType={media}"),
                ))
                .await;
            assert_eq!(status, 200, "{media}: {body}");
            assert!(body.get("stale").is_none(), "{media}: {body}");
            body["ewt"].as_i64().expect("a number")
        }
    };
    let voice = ewt("voice").await;
    assert!(voice > 0, "three calls wait for two busy agents: {voice}");
    assert_eq!(ewt("call").await, voice, "an alias of voice");
    assert_eq!(ewt("CALL").await, voice, "any case");
    let chat = ewt("chat").await;
    assert!(chat >= 0, "{chat}");
    for media in ["callback", "email", "message", "videoComm", "all"] {
        ewt(media).await;
    }
    assert_eq!(
        app.upstream_count(QUEUE_EWT).await,
        1,
        "one call for the queue and all its media types"
    );
    assert_eq!(app.upstream_count(MEDIA_EWT).await, 0);
}

#[tokio::test]
async fn a_genesys_that_answers_for_the_whole_queue_only_is_asked_per_media_type() {
    let app = spawn_app().await;
    let response = app
        .sim_control(
            reqwest::Method::PUT,
            "/__sim/ewt",
            Some(json!({"byMedia": false})),
        )
        .await;
    assert_eq!(response.status(), 204);
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":0,"busy":2},"waiting":{"voice":3}}),
    )
    .await;
    for media in ["voice", "call", "CALL", "chat"] {
        let (status, body) = app
            .get_json(&stats_path(
                DEMO_SALES_QUEUE,
                &format!("key=ewt&mediaType={media}"),
            ))
            .await;
        assert_eq!(status, 200, "{media}: {body}");
        assert!(body["ewt"].as_i64().unwrap() >= 0, "{media}: {body}");
    }
    assert_eq!(
        app.upstream_count(QUEUE_EWT).await,
        1,
        "once, to learn the answer's form"
    );
    assert_eq!(
        app.upstream_count(MEDIA_EWT).await,
        2,
        "voice (three spellings) and chat"
    );
    let (status, _) = app
        .get_json(&stats_path(DEMO_SALES_QUEUE, "key=ewt&mediaType=all"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.upstream_count(QUEUE_EWT).await,
        1,
        "all = the whole queue, already cached"
    );
}

#[tokio::test]
async fn each_bad_input_gets_its_problem_and_no_upstream_call() {
    let app = spawn_app().await;
    let sales = DEMO_SALES_QUEUE;
    let cases = [
        (format!("/api/stats/{sales}"), 400, "key"),
        (stats_path(sales, "key="), 400, "key"),
        (stats_path(sales, "key=ewt,agents"), 400, "\"agents\""),
        (stats_path(sales, "key=ewt&mediaType=fax"), 400, "\"fax\""),
        (stats_path(Uuid::new_v4(), "key=ewt"), 404, "queue"),
        ("/api/stats/not-a-uuid?key=ewt".to_string(), 404, "queue"),
        (
            "/api/stats/..%2F..%2Foauth%2Ftoken?key=ewt".to_string(),
            404,
            "queue",
        ),
    ];
    for (path, status, mentions) in cases {
        let response = app.get(&path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], status, "{path}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(mentions), "{path}: {problem}");
    }
    assert_eq!(app.upstream_count(QUEUE_EWT).await, 0);
    assert_eq!(app.upstream_count(MEDIA_EWT).await, 0);
}

#[tokio::test]
async fn an_upstream_failure_serves_the_last_good_ewt_marked_stale() {
    let app = spawn_app_with(&["--cache-seconds", "1"]).await;
    app.set_queue(DEMO_SALES_QUEUE, busy_sales()).await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=ewt");
    let (_, fresh) = app.get_json(&path).await;
    let good = fresh["ewt"].as_i64().unwrap();
    assert!(good > 0, "a real estimate to remember: {fresh}");
    assert!(fresh.get("stale").is_none(), "{fresh}");
    app.fault(json!({"route": QUEUE_EWT, "status": 503})).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let response = app.get(&path).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let stale: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(stale["ewt"], good, "{stale}");
    assert_eq!(stale["stale"], true, "{stale}");
    assert!(stale["ewtAgeSeconds"].as_u64().unwrap() >= 1, "{stale}");
    assert!(
        !text.contains("service.unavailable") && !text.contains("Genesys"),
        "{text}"
    );
    assert!(app.upstream_count(QUEUE_EWT).await >= 2, "it did ask again");
}

#[tokio::test]
async fn with_no_good_value_ever_the_ewt_is_unknown_and_stale() {
    let app = spawn_app().await;
    app.fault(json!({"route": QUEUE_EWT, "status": 503})).await;
    let (status, body) = app
        .get_json(&stats_path(DEMO_SALES_QUEUE, "key=ewt&mediaType=chat"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"ewt": -1, "stale": true}));
}

#[tokio::test]
async fn observations_are_marked_stale_while_the_stream_is_down() {
    let app = spawn_app().await;
    app.wait_ready().await;
    app.take_down_notification_stream().await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=observations");
    let body = wait_for(&app, &path, Duration::from_secs(3), |b| b["stale"] == true).await;
    assert!(body["observationsAgeSeconds"].is_u64(), "{body}");
    assert_seed_observations(&body["observations"]);
    app.clear_faults().await;
    wait_for(&app, &path, Duration::from_secs(4), |b| {
        b.get("stale").is_none()
    })
    .await;
}

#[tokio::test]
async fn when_the_last_idle_agent_gets_busy_available_agents_drops_to_zero() {
    // Genesys leaves zero-count qualifiers out of a notification: the update that makes the last
    // idle agent busy lists only INTERACTING, and IDLE must then read 0, not its old value.
    let app = spawn_app().await;
    app.wait_ready().await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=observations");
    app.set_queue(DEMO_SALES_QUEUE, json!({"agents":{"idle":1,"busy":3}}))
        .await;
    wait_for(&app, &path, Duration::from_secs(4), |body| {
        body["observations"]["availableAgents"] == 1
    })
    .await;
    // Not a fresh snapshot: the change must arrive as a live update.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.set_queue(DEMO_SALES_QUEUE, json!({"agents":{"busy":4}}))
        .await;
    wait_for(&app, &path, Duration::from_secs(4), |body| {
        let o = &body["observations"];
        o["availableAgents"] == 0 && o["busyAgents"] == 4
    })
    .await;
}

#[tokio::test]
async fn extra_query_parameters_share_the_cached_ewt() {
    // The cache is keyed by what is asked (queue, media type), not by the URL: cache-busting
    // parameters neither reach Genesys nor add entries.
    let app = spawn_app().await;
    app.wait_ready().await;
    app.set_queue(DEMO_SALES_QUEUE, busy_sales()).await;
    for n in 0..50 {
        let path = stats_path(DEMO_SALES_QUEUE, &format!("key=ewt&_={n}&utm_source=x{n}"));
        assert_eq!(app.get(&path).await.status(), 200);
    }
    assert_eq!(app.upstream_count(QUEUE_EWT).await, 1);
}

#[tokio::test]
async fn a_spent_ewt_share_stretches_the_period_and_sends_nothing_upstream() {
    // A tiny budget that does not refill within the test: its EWT share (half of one call a
    // minute, so one) is spent by the first EWT. No business hours: reading them at start-up
    // would take tokens this budget does not have.
    let flags = ["--cache-seconds", "1", "--schedule-groups", ""];
    let app = spawn_app_tuned(&flags, |mut client| {
        client.budget.per_minute = 1;
        client.budget.burst = 8;
        client.budget.high_priority_reserve = 0;
        client.budget.normal_priority_reserve = 0;
        client
    })
    .await;
    app.wait_ready().await;
    app.set_queue(DEMO_SALES_QUEUE, busy_sales()).await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=ewt");
    let (_, good) = app.get_json(&path).await;
    let good_ewt = good["ewt"].as_i64().unwrap();
    assert!(good_ewt > 0 && good.get("stale").is_none(), "{good}");
    let before = app.upstream_count(QUEUE_EWT).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // One call a minute: the answer serves a minute, not CACHE_SECONDS.
    let (status, again) = app.get_json(&path).await;
    assert_eq!(status, 200);
    assert_eq!(again, good, "served as current for the stretched period");
    // Another queue: nothing is known and nothing may be asked: unknown, marked stale.
    let (status, cold) = app
        .get_json(&stats_path(DEMO_BILLING_QUEUE, "key=ewt"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(cold, json!({"ewt": -1, "stale": true}));
    assert_eq!(
        app.upstream_count(QUEUE_EWT).await,
        before,
        "a spent share sends nothing upstream"
    );
}

#[tokio::test]
async fn when_every_agent_goes_off_queue_available_agents_drops_to_zero() {
    // With nobody on queue no routing-status qualifier has members; the count must still reach 0.
    let app = spawn_app().await;
    app.wait_ready().await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=observations");
    app.set_queue(DEMO_SALES_QUEUE, json!({"agents":{"idle":3}}))
        .await;
    wait_for(&app, &path, Duration::from_secs(4), |body| {
        body["observations"]["availableAgents"] == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.set_queue(DEMO_SALES_QUEUE, json!({"agents":{"offQueue":3}}))
        .await;
    wait_for(&app, &path, Duration::from_secs(4), |body| {
        let o = &body["observations"];
        o["availableAgents"] == 0 && o["busyAgents"] == 0
    })
    .await;
}

#[tokio::test]
async fn a_count_read_in_the_snapshot_that_drops_to_zero_reads_zero() {
    // The service learns "1 callback waiting" from the snapshot it reads on connecting, never
    // from an event; Genesys's next event must still carry the callback row at 0, and the
    // service must show it.
    let app = spawn_app().await;
    app.wait_ready().await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=observations");
    app.set_queue(
        DEMO_SALES_QUEUE,
        json!({"agents":{"idle":1},"waiting":{"callback":1}}),
    )
    .await;
    wait_for(&app, &path, Duration::from_secs(4), |body| {
        body["observations"]["callback"]["waiting"] == 1
    })
    .await;
    // A new socket: the 1 is now only in the snapshot the service reads on reconnecting.
    let sockets_before = sockets_accepted(&app).await;
    app.sim_control(reqwest::Method::POST, "/__sim/notifications/drop", None)
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sockets_accepted(&app).await <= sockets_before {
        assert!(tokio::time::Instant::now() < deadline, "never reconnected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.wait_ready().await;
    app.set_queue(DEMO_SALES_QUEUE, json!({"agents":{"idle":1}}))
        .await;
    wait_for(&app, &path, Duration::from_secs(4), |body| {
        body["observations"]["callback"]["waiting"] == 0
    })
    .await;
}

/// How many notification sockets the simulator has accepted, over all channels.
async fn sockets_accepted(app: &TestApp) -> u64 {
    let channels: Value = app
        .sim_control(reqwest::Method::GET, "/__sim/notifications/channels", None)
        .await
        .json()
        .await
        .expect("channels are JSON");
    channels
        .as_array()
        .map(|all| all.iter().filter_map(|c| c["connections"].as_u64()).sum())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_slow_genesys_keeps_no_visitor_waiting_and_its_answer_serves_the_next() {
    // The client would wait 6 s for Genesys; a visitor waits at most about 2.
    let app = spawn_app_tuned(&["--cache-seconds", "1"], |mut client| {
        client.request_timeout = Duration::from_secs(6);
        client
    })
    .await;
    app.set_queue(DEMO_SALES_QUEUE, busy_sales()).await;
    let path = stats_path(DEMO_SALES_QUEUE, "key=ewt");
    let timed = |path: String| {
        let app = &app;
        async move {
            let started = tokio::time::Instant::now();
            let (status, body) = app.get_json(&path).await;
            assert_eq!(status, 200, "{body}");
            (started.elapsed(), body)
        }
    };

    // Cold: nothing known yet, so "unknown", marked stale, after about 2 s.
    app.fault(json!({"route": QUEUE_EWT, "delayMs": 3_500, "times": 1}))
        .await;
    let (waited, cold) = timed(path.clone()).await;
    assert!(
        waited >= Duration::from_millis(1_900) && waited < Duration::from_millis(2_800),
        "{waited:?}"
    );
    assert_eq!(cold, json!({"ewt": -1, "stale": true}));
    // The call went on in the background; its answer serves the next visitor, fresh.
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    let (waited, fresh) = timed(path.clone()).await;
    assert!(waited < Duration::from_millis(500), "{waited:?}");
    let good = fresh["ewt"].as_i64().unwrap();
    assert!(good > 0 && fresh.get("stale").is_none(), "{fresh}");
    assert_eq!(
        app.upstream_count(QUEUE_EWT).await,
        1,
        "the slow call was not repeated"
    );

    // Warm: the refresh is slow, so the last good value, marked stale, after about 2 s.
    app.fault(json!({"route": QUEUE_EWT, "delayMs": 3_500, "times": 1}))
        .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (waited, stale) = timed(path.clone()).await;
    assert!(waited < Duration::from_millis(2_800), "{waited:?}");
    assert_eq!(stale["ewt"], good, "{stale}");
    assert_eq!(stale["stale"], true, "{stale}");
    assert!(stale["ewtAgeSeconds"].as_u64().is_some(), "{stale}");
    // The next visitor waits for the same call (it ends within their 2 s) instead of another.
    let (waited, again) = timed(path.clone()).await;
    assert!(waited < Duration::from_millis(2_800), "{waited:?}");
    assert!(again["ewt"].as_i64().unwrap() > 0, "{again}");
    assert_eq!(app.upstream_count(QUEUE_EWT).await, 2, "single-flight");
}
