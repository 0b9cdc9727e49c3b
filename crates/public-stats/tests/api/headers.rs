//! The security headers: the demo page's Content-Security-Policy and friends, `nosniff` on every
//! answer, `no-store` on callback answers, and the widget's files embeddable from any site.

use reqwest::header::{self, HeaderMap};
use serde_json::json;

use crate::callbacks::{accepted, seed_body};
use crate::helpers::*;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// The directives of a policy, by name.
fn directives(policy: &str) -> Vec<(String, Vec<String>)> {
    policy
        .split(';')
        .filter_map(|directive| {
            let mut words = directive.split_whitespace().map(str::to_owned);
            Some((words.next()?, words.collect()))
        })
        .collect()
}

#[tokio::test]
async fn the_demo_page_has_a_strict_content_security_policy() {
    let app = spawn_app().await;
    for path in ["/", "/index.html"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        let policy = header(&headers, "content-security-policy");
        let directives = directives(policy);
        let sources = |name: &str| {
            directives
                .iter()
                .find(|(directive, _)| directive == name)
                .map(|(_, sources)| sources.clone())
                .unwrap_or_else(|| panic!("{path}: no {name} in {policy:?}"))
        };
        for (name, expected) in [
            ("default-src", vec!["'none'"]),
            ("script-src", vec!["'self'"]),
            ("style-src", vec!["'self'"]),
            ("object-src", vec!["'none'"]),
            ("base-uri", vec!["'none'"]),
            ("frame-ancestors", vec!["'none'"]),
        ] {
            assert_eq!(sources(name), expected, "{path}: {name} in {policy:?}");
        }
        let addr = app.addr;
        // In sandbox mode the chat's files live on the simulator's upload target.
        let files = app.sim().upload_base_url();
        assert_eq!(
            sources("connect-src"),
            vec![
                "'self'".to_owned(),
                format!("ws://{addr}"),
                format!("wss://{addr}"),
                files.clone()
            ],
            "{path}: the page's own WebSocket origins, for browsers before CSP Level 3, and the \
             file store"
        );
        assert_eq!(
            sources("img-src"),
            vec!["'self'".to_owned(), files],
            "{path}: pictures from the page and the chat's file store"
        );
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        assert_eq!(header(&headers, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "x-frame-options"), "DENY", "{path}");

        // The policy forbids inline code, so the page must have none.
        let html = response.text().await.unwrap();
        let lower = html.to_ascii_lowercase();
        for tag in lower.match_indices("<script").map(|(at, _)| &lower[at..]) {
            let open = &tag[..tag.find('>').unwrap()];
            assert!(open.contains(" src="), "{path}: an inline script: {open}");
            assert!(tag[open.len() + 1..].starts_with("</script>"), "{path}");
        }
        assert!(!lower.contains("<style"), "{path}: an inline stylesheet");
        assert!(
            !lower.contains(" style="),
            "{path}: an inline style attribute"
        );
        assert!(
            !lower.contains(" onclick="),
            "{path}: an inline event handler"
        );
    }
}

#[tokio::test]
async fn a_host_header_cannot_write_into_the_policy() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url("/"))
        .header(header::HOST, "evil.example; script-src *")
        .send()
        .await
        .unwrap();
    let policy = header(response.headers(), "content-security-policy").to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("evil"), "{policy}");
    assert!(!policy.contains('*'), "{policy}");
}

#[tokio::test]
async fn every_answer_says_nosniff() {
    let app = spawn_app().await;
    let stats = format!("/api/stats/{DEMO_SALES_QUEUE}?key=observations");
    let bad_query = format!("/api/stats/{DEMO_SALES_QUEUE}?key=nonsense");
    let unknown_queue = "/api/stats/00000000-0000-0000-0000-000000000000?key=ewt".to_owned();
    for path in [
        "/api/queues",
        stats.as_str(),
        bad_query.as_str(),
        unknown_queue.as_str(),
        "/healthz",
        "/no/such/path",
        "/scripts/chat-widget.js",
        "/scripts/demo-config.js",
    ] {
        let response = app.get(path).await;
        assert_eq!(
            header(response.headers(), "x-content-type-options"),
            "nosniff",
            "{path} ({})",
            response.status()
        );
    }
    let refused = app
        .http
        .post(app.url("/api/callback"))
        .json(&json!({ "queueId": DEMO_SALES_QUEUE }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        header(refused.headers(), "x-content-type-options"),
        "nosniff"
    );
    // API answers are data, never a page: no policy needed, and none is sent.
    assert!(
        app.get("/api/queues")
            .await
            .headers()
            .get("content-security-policy")
            .is_none()
    );
}

#[tokio::test]
async fn callback_answers_are_never_stored() {
    let app = spawn_app().await;
    let post = |body: serde_json::Value| app.http.post(app.url("/api/callback")).json(&body).send();
    let accepted_answer = post(seed_body()).await.unwrap();
    assert_eq!(accepted_answer.status(), 202);
    assert_eq!(
        header(accepted_answer.headers(), "cache-control"),
        "no-store"
    );
    let refused = post(json!({ "queueId": DEMO_SALES_QUEUE })).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(header(refused.headers(), "cache-control"), "no-store");

    let mut body = seed_body();
    body["callbackNumbers"] = json!(["+13172222299"]);
    let id = accepted(&app, &body).await;
    for (path, status) in [
        (format!("/api/callback/{id}"), 200),
        (
            "/api/callback/0123456789abcdef0123456789abcdef".to_owned(),
            404,
        ),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            header(response.headers(), "cache-control"),
            "no-store",
            "{path}"
        );
    }
    // Public statistics stay cacheable: the rule is for callbacks only.
    let stats = app
        .get(&format!("/api/stats/{DEMO_SALES_QUEUE}?key=observations"))
        .await;
    assert!(header(stats.headers(), "cache-control").starts_with("public"));
}

#[tokio::test]
async fn the_widgets_files_may_be_embedded_from_any_site() {
    let app = spawn_app().await;
    for path in [
        "/scripts/chat-injector.js",
        "/scripts/chat-widget.js",
        "/scripts/chat-callback.js",
        "/scripts/chat-messaging.js",
        "/scripts/i18n/fr.js",
        "/scripts/demo-config.js",
        "/style/widget.css",
        "/img/logo.svg",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(response.headers(), "cross-origin-resource-policy"),
            "cross-origin",
            "{path}"
        );
    }
}
