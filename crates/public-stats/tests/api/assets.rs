use reqwest::header;

use crate::helpers::*;

#[tokio::test]
async fn the_seed_paths_are_served() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/scripts/chat-injector.js", "javascript"),
        ("/scripts/chat-widget.js", "javascript"),
        ("/style/widget.css", "text/css"),
        ("/img/logo.svg", "image/svg+xml"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.contains(kind), "{path}: {content_type}");
    }
}

#[tokio::test]
async fn files_have_strong_etags_and_revalidate_with_304() {
    let app = spawn_app().await;
    let response = app.get("/scripts/chat-injector.js").await;
    let etag = response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(etag.starts_with('"'), "a strong ETag, not W/: {etag}");
    let again = app
        .http
        .get(app.url("/scripts/chat-injector.js"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn text_files_are_served_compressed_when_asked() {
    let app = spawn_app().await;
    for encoding in ["br", "gzip"] {
        let response = app
            .http
            .get(app.url("/scripts/chat-widget.js"))
            .header(header::ACCEPT_ENCODING, encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok()),
            Some(encoding)
        );
    }
}

#[tokio::test]
async fn html_is_revalidated_and_scripts_are_cached_briefly() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
    let script = app.get("/scripts/chat-injector.js").await;
    assert_eq!(
        script.headers()[header::CACHE_CONTROL],
        "public, max-age=300"
    );
}

#[tokio::test]
async fn the_demo_page_is_configured_for_the_sandbox_org() {
    let app = spawn_app().await;
    let script = app
        .get("/scripts/demo-config.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        script.starts_with("window.pureCloudCustomChatConfig = "),
        "{script}"
    );
    assert!(script.contains(&DEMO_SALES_QUEUE.to_string()), "{script}");
    assert!(script.contains("/sandbox/genesys/v1"), "{script}");
}
