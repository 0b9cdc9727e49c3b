//! Which pages may call the API from another origin: public reads from anywhere, callbacks only
//! from the service's own pages and `ALLOWED_ORIGINS`.

use reqwest::header;
use serde_json::json;

use crate::helpers::*;
use crate::logs::capture_logs;

const CALLBACKS: &str = "POST /api/v2/conversations/callbacks";

/// A callback request for `+1317555010n`: each a different number, so none is a duplicate.
fn callback_body(n: u8) -> serde_json::Value {
    json!({ "queueId": DEMO_SALES_QUEUE, "callbackNumbers": [format!("+1317555010{n}")], "callbackUserName": "Ada" })
}

async fn post_callback(app: &TestApp, origin: Option<&str>, n: u8) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/api/callback"))
        .json(&callback_body(n));
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.send().await.expect("request sent")
}

#[tokio::test]
async fn public_statistics_may_be_read_from_any_origin_without_credentials() {
    let app = spawn_app().await;
    for path in [
        "/api/queues",
        &format!("/api/stats/{DEMO_SALES_QUEUE}?key=observations"),
    ] {
        let response = app
            .http
            .get(app.url(path))
            .header(header::ORIGIN, "https://any-site.example")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "*",
            "{path}"
        );
        assert!(
            response
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
                .is_none()
        );
    }
}

#[tokio::test]
async fn a_callback_preflight_is_answered_only_for_allowed_origins() {
    let app = spawn_app_with(&["--allowed-origins", "https://shop.example"]).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/callback"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "content-type, idempotency-key",
            )
            .send()
    };
    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example"
    );
    let headers = allowed.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("idempotency-key"), "{headers}");
    let other = preflight("https://shop.example.evil.test").await.unwrap();
    assert!(
        other
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

#[tokio::test]
async fn a_callback_from_a_foreign_page_is_refused_and_never_reaches_genesys() {
    let app = spawn_app_with(&["--allowed-origins", "https://shop.example"]).await;
    for origin in [
        "https://evil.example",
        "https://shop.example.evil.test",
        "null",
        "http://shop.example",
    ] {
        let response = post_callback(&app, Some(origin), 0).await;
        assert_eq!(response.status(), 403, "{origin}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
    assert_eq!(app.upstream_count(CALLBACKS).await, 0);
}

#[tokio::test]
async fn a_rebound_host_does_not_make_a_foreign_page_own() {
    // DNS rebinding: the attacker's name now resolves to the service, so the browser sends the
    // attacker's name as both Origin and Host.
    let app = spawn_app().await;
    let rebound = format!("attacker.example:{}", app.addr.port());
    let response = app
        .http
        .post(app.url("/api/callback"))
        .header(header::ORIGIN, format!("http://{rebound}"))
        .header(header::HOST, &rebound)
        .json(&callback_body(0))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(app.upstream_count(CALLBACKS).await, 0);
    // With ALLOWED_ORIGINS=* any page may send callbacks, as the seed allowed.
    let open = spawn_app_with(&["--allowed-origins", "*"]).await;
    let response = post_callback(&open, Some("https://any-site.example"), 1).await;
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn callbacks_from_allowed_pages_own_pages_and_non_browsers_go_through() {
    let app = spawn_app_with(&["--allowed-origins", "https://shop.example"]).await;
    let own = format!("http://{}", app.addr);
    for (n, origin) in [Some("https://shop.example"), Some(own.as_str()), None]
        .into_iter()
        .enumerate()
    {
        let response = post_callback(&app, origin, n as u8).await;
        assert_eq!(response.status(), 202, "{origin:?}");
        if origin == Some("https://shop.example") {
            // The page may read where to follow its request and when to retry.
            let exposed = response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            assert!(
                exposed.contains("location") && exposed.contains("retry-after"),
                "{exposed}"
            );
        }
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while app.upstream_count(CALLBACKS).await < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.upstream_count(CALLBACKS).await, 3);
}

#[tokio::test]
async fn a_refused_origin_is_logged_once_not_for_every_request() {
    let logs = capture_logs();
    let app = spawn_app_with(&["--allowed-origins", "https://shop.example"]).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/callback"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .send()
    };
    // Three visitors of a site that is not allowed (a preflight each, then one POST without
    // one), one of another such site, and the allowed site and the service's own page.
    for _ in 0..3 {
        preflight("https://old-site.example").await.unwrap();
    }
    post_callback(&app, Some("https://old-site.example"), 0).await;
    preflight("https://other.example").await.unwrap();
    preflight("https://shop.example").await.unwrap();
    let own = format!("http://{}", app.addr);
    post_callback(&app, Some(own.as_str()), 1).await;

    let text = logs.text();
    let refusals: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("refused a callback request"))
        .collect();
    let naming = |origin: &str| {
        refusals
            .iter()
            .filter(|line| line.contains(&format!("{origin:?}")))
            .count()
    };
    assert_eq!(naming("https://old-site.example"), 1, "{text}");
    assert_eq!(naming("https://other.example"), 1, "{text}");
    assert_eq!(refusals.len(), 2, "only refused origins are logged: {text}");
    assert!(
        refusals
            .iter()
            .all(|line| line.contains("ALLOWED_ORIGINS") && line.contains("WARN")),
        "the log says what to change: {refusals:?}"
    );
}
