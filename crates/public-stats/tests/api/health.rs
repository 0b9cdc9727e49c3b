//! Liveness and readiness probes. Readiness means "can serve": a Genesys outage shows in the
//! body, not as a 503 that would take every replica out of the load balancer together.

use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_while_alive() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn readyz_says_serving_with_a_connected_stream_and_current_data() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["phase"], "serving");
    assert_eq!(body["degraded"], false, "{body}");
    assert_eq!(body["stream"]["downSince"], serde_json::Value::Null);
    assert_eq!(body["data"]["stale"], false);
    assert_eq!(body["data"]["ageSeconds"], 0);
}

#[tokio::test]
async fn readyz_stays_200_while_the_stream_is_down_and_says_degraded() {
    let app = spawn_app().await;
    app.wait_ready().await;
    app.take_down_notification_stream().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let body = loop {
        let (status, body) = app.get_json("/readyz").await;
        assert_eq!(
            status, 200,
            "an outage upstream must not take the instance out: {body}"
        );
        if body["degraded"] == true {
            break body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never said degraded: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(body["ready"], true);
    assert_eq!(body["stream"]["connected"], false, "{body}");
    assert!(body["stream"]["downSince"].is_string(), "{body}");
    assert_eq!(body["data"]["stale"], true, "{body}");
    assert_eq!(body["data"]["asOf"], body["stream"]["downSince"]);
    assert!(body["data"]["ageSeconds"].is_u64(), "{body}");
    // The numbers are still served, marked stale.
    let (status, stats) = app
        .get_json(&format!("/api/stats/{DEMO_SALES_QUEUE}?key=observations"))
        .await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["stale"], true, "{stats}");
    app.clear_faults().await;
    app.wait_ready().await;
    let (_, body) = app.get_json("/readyz").await;
    assert_eq!(body["degraded"], false, "{body}");
}

#[tokio::test]
async fn readyz_turns_503_when_shutdown_begins() {
    let app = spawn_app().await;
    app.wait_ready().await;
    // A connection opened before the stop: the listener closes, this one finishes its request.
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match client.get(app.url("/readyz")).send().await {
            Ok(response) if response.status() == 503 => {
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["phase"], "stopping", "{body}");
                break;
            }
            // The listener is closed and the kept-alive connection too: nothing new gets in.
            Err(_) => break,
            Ok(response) => assert!(
                tokio::time::Instant::now() < deadline,
                "still {} after the stop",
                response.status()
            ),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        app.state.readiness.phase(),
        public_stats::health::Phase::Stopping
    );
}
