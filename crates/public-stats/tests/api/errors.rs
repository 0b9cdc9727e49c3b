//! Every error a visitor can get is an `application/problem+json` body, not an empty or plain-text
//! answer: unknown paths, wrong methods, WebSocket endpoints opened without a handshake, and
//! field errors that name the field (RFC 9457 `invalid-params`).

use reqwest::{Method, header};
use serde_json::{Value, json};

use crate::helpers::*;

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "status {status}"
    );
    (status, response.json().await.expect("a JSON problem body"))
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/api/nothing",
        "/scripts/missing.js",
        "/README.md",
        // The simulator's control routes stay off the service's port in sandbox mode: they would
        // list every chat session's token.
        "/sandbox/genesys/__sim/webmessaging/sessions",
        "/sandbox/genesys/__sim/org",
    ] {
        let (status, body) = problem(app.get(path).await).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["status"], 404);
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::POST, format!("/api/stats/{DEMO_SALES_QUEUE}")),
        (Method::POST, "/api/queues".to_owned()),
        (Method::DELETE, "/api/callback".to_owned()),
    ] {
        let response = app
            .http
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        let (status, _) = problem(response).await;
        assert_eq!(status, 405, "{method} {path}");
    }
}

#[tokio::test]
async fn a_websocket_endpoint_without_a_handshake_is_a_426_problem() {
    let app = spawn_app().await;
    let live = app
        .get(&format!("/api/stats/{DEMO_SALES_QUEUE}/live"))
        .await;
    let (status, body) = problem(live).await;
    assert_eq!(status, 426);
    assert!(
        body["detail"].as_str().unwrap().contains("WebSocket"),
        "{body}"
    );
    // A handshake missing its key on `/` is refused the same way (a plain GET gets the page).
    let broken = app
        .http
        .get(app.url("/"))
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "upgrade")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(broken).await.0, 426);
}

#[tokio::test]
async fn a_field_error_names_the_field_in_invalid_params() {
    let app = spawn_app().await;
    for (body, field) in [
        (
            json!({ "queueId": DEMO_SALES_QUEUE, "callbackNumbers": [""] }),
            "callbackNumbers",
        ),
        (
            json!({ "queueId": DEMO_SALES_QUEUE, "callbackNumbers": ["+13175550100"], "callbackUserName": "<b>" }),
            "callbackUserName",
        ),
        (
            json!({ "queueId": DEMO_SALES_QUEUE, "callbackNumbers": ["+13175550100"], "callbackScheduledTime": "tomorrow" }),
            "callbackScheduledTime",
        ),
    ] {
        let response = app
            .http
            .post(app.url("/api/callback"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!(status, 400);
        assert_eq!(problem["invalid-params"][0]["name"], field, "{problem}");
        assert_eq!(problem["invalid-params"][0]["reason"], problem["detail"]);
    }
}

#[tokio::test]
async fn a_visitors_input_comes_back_only_as_a_short_quoted_excerpt() {
    let app = spawn_app().await;
    // 6 KB of a recognisable pattern, with a quote and a line break to try to break out (URLs
    // over 8 KiB are refused before any handler reads them).
    let long = format!("ab\"c\n{}", "0123456789".repeat(600));
    let encoded: String = url::form_urlencoded::byte_serialize(long.as_bytes()).collect();
    let sales = DEMO_SALES_QUEUE;
    let cases = [
        (
            app.get(&format!("/api/stats/{sales}?key={encoded}")).await,
            true,
        ),
        (
            app.get(&format!("/api/stats/{sales}?key=ewt&mediaType={encoded}"))
                .await,
            true,
        ),
        // Without a handshake the live endpoint says so before reading the query; and a queue
        // ID is never echoed at all.
        (
            app.get(&format!("/api/stats/{sales}/live?mediaType={encoded}"))
                .await,
            false,
        ),
        (
            app.get(&format!("/api/stats/{}?key=ewt", "q".repeat(6_000)))
                .await,
            false,
        ),
        (
            app.http
                .post(app.url("/api/callback"))
                .json(&json!({ "queueId": "q".repeat(3_000) }))
                .send()
                .await
                .unwrap(),
            false,
        ),
    ];
    for (index, (response, quoted)) in cases.into_iter().enumerate() {
        let (status, body) = problem(response).await;
        assert!((400..500).contains(&status), "case {index}: {status}");
        let detail = body["detail"].as_str().unwrap();
        let text = body.to_string();
        assert!(
            !text.contains(&"0123456789".repeat(5)),
            "case {index}: {text}"
        );
        assert!(!text.contains(&"q".repeat(41)), "case {index}: {text}");
        if quoted {
            // The first 40 characters, escaped inside quotes, then an ellipsis.
            assert!(
                detail.contains(r#""ab\"c\n01234567890123456789012345678901234"…"#),
                "case {index}: {detail}"
            );
        }
    }
    // A field name a visitor made up is quoted and cut the same way.
    let mut body = json!({ "queueId": sales, "callbackNumbers": ["+13172222222"] });
    body[format!("x{}", "y".repeat(3_000))] = json!(1);
    let response = app
        .http
        .post(app.url("/api/callback"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, problem_body) = problem(response).await;
    assert_eq!(status, 400);
    let detail = problem_body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("\"x{}\"…", "y".repeat(39))),
        "{detail}"
    );
    assert!(!detail.contains(&"y".repeat(40)), "{detail}");
}
