//! Liveness and readiness probes.

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_while_alive() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn readyz_follows_the_notification_stream() {
    let app = spawn_app().await;
    app.wait_ready().await;
    app.take_down_notification_stream().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    while app.get("/readyz").await.status() != 503 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never said 503"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.clear_faults().await;
    app.wait_ready().await;
}
