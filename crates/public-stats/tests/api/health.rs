use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_while_alive() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
}
