//! The public allow-list: `GET /api/queues` and the default monitored queues.

use crate::helpers::*;

#[tokio::test]
async fn lists_the_monitored_queues_with_their_names() {
    let app = spawn_app_with(&[
        "--monitored-queues",
        &format!("{DEMO_SUPPORT_QUEUE},{DEMO_SALES_QUEUE}"),
    ])
    .await;
    let (status, body) = app.get_json("/api/queues").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({ "queues": [
            { "id": DEMO_SUPPORT_QUEUE, "name": "Support" },
            { "id": DEMO_SALES_QUEUE, "name": "Sales" },
        ]})
    );
}

#[tokio::test]
async fn sandbox_mode_monitors_every_demo_queue_by_default() {
    let app = spawn_app().await;
    let (_, body) = app.get_json("/api/queues").await;
    assert_eq!(body["queues"].as_array().map(Vec::len), Some(3));
}
