//! Liveness and readiness probes.

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_while_alive() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn readyz_follows_the_notification_stream() {
    use reqwest::Method;
    use serde_json::json;

    use crate::stats::{clear_faults, fault};

    let app = spawn_app().await;
    app.wait_ready().await;
    fault(
        &app,
        json!({"route": "GET /channels/{channelId}", "status": 503}),
    )
    .await;
    fault(
        &app,
        json!({"route": "POST /api/v2/notifications/channels", "status": 503}),
    )
    .await;
    app.sim_control(Method::POST, "/__sim/notifications/drop", None)
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    while app.get("/readyz").await.status() != 503 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never said 503"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    clear_faults(&app).await;
    app.wait_ready().await;
}
