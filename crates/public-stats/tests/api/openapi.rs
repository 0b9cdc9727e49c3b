//! `/openapi.json`: OpenAPI 3.1, describing every route the code defines, and real answers that
//! match the schemas it gives them.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::callbacks::body_for;
use crate::helpers::*;

async fn description(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.expect("the description is JSON")
}

/// Files whose routes are not the public API: the embedded widget files, the sandbox's simulator
/// routes and the admin listener's (`/metrics`, not on the public port).
const NOT_THE_API: [&str; 3] = ["assets.rs", "sandbox.rs", "metrics.rs"];

/// Every path literal given to `.route(` in the service's source.
fn routes_in_the_code() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy();
            if !name.ends_with(".rs") || NOT_THE_API.contains(&name.as_ref()) {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (at, _) in source.match_indices(".route(") {
                let rest = source[at + ".route(".len()..].trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    let end = literal.find('"').unwrap();
                    found.insert(literal[..end].to_owned());
                } else {
                    // A path named by a constant of the same file: `const LIVE_PATH: &str = "…";`.
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let definition = format!("const {name}: &str = \"");
                    let at = source
                        .find(&definition)
                        .unwrap_or_else(|| panic!("{name}: a route path the scan cannot read"));
                    let literal = &source[at + definition.len()..];
                    found.insert(literal[..literal.find('"').unwrap()].to_owned());
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found
}

#[tokio::test]
async fn the_description_is_openapi_3_1_and_lists_every_route_in_the_code() {
    let app = spawn_app().await;
    let spec = description(&app).await;
    let version = spec["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    let described: BTreeSet<String> = spec["paths"].as_object().unwrap().keys().cloned().collect();
    let routed = routes_in_the_code();
    assert!(routed.len() >= 9, "the source scan found {routed:?}");
    assert_eq!(
        described, routed,
        "described (left) and routed (right) differ"
    );
    // Each error answer is a problem body.
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, answer) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') && path != "/readyz" {
                    assert_eq!(
                        answer["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

/// The schema the description gives `status` answers of `method path`, as a validator.
fn validator(spec: &Value, path: &str, method: &str, status: u16) -> jsonschema::Validator {
    // A JSON pointer in a URI fragment: `~` and `/` escaped, then the braces percent-encoded.
    let escaped = path
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D");
    let content = &spec["paths"][path][method]["responses"][status.to_string()]["content"];
    let media = content
        .as_object()
        .and_then(|types| types.keys().next())
        .unwrap_or_else(|| panic!("{method} {path} {status} is not described"))
        .replace('~', "~0")
        .replace('/', "~1");
    // The whole description as the root, so that `#/components/...` references resolve.
    let mut root = spec.clone();
    root["$ref"] = json!(format!(
        "#/paths/{escaped}/{method}/responses/{status}/content/{media}/schema"
    ));
    jsonschema::draft202012::new(&root).expect("a valid schema")
}

pub(crate) fn assert_matches(spec: &Value, path: &str, method: &str, status: u16, body: &Value) {
    let validator = validator(spec, path, method, status);
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:?}\n{body}"
    );
}

#[tokio::test]
async fn real_answers_match_their_schemas() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let spec = description(&app).await;
    let check = |path: &'static str, status: u16, body: Value| {
        assert_matches(&spec, path, "get", status, &body);
    };

    let (status, body) = app.get_json("/api/queues").await;
    assert_eq!(status, 200);
    check("/api/queues", 200, body);
    let (status, body) = app
        .get_json(&format!(
            "/api/stats/{DEMO_SALES_QUEUE}?key=ewt,observations"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(
        body["observations"].is_object() && body["ewt"].is_i64(),
        "{body}"
    );
    check("/api/stats/{queueId}", 200, body);
    let (status, body) = app
        .get_json(&format!("/api/stats/{DEMO_SALES_QUEUE}?key=sideways"))
        .await;
    assert_eq!(status, 400);
    check("/api/stats/{queueId}", 400, body);
    let (status, body) = app.get_json("/api/stats/not-a-queue?key=ewt").await;
    assert_eq!(status, 404);
    check("/api/stats/{queueId}", 404, body);
    let (status, body) = app
        .get_json(&format!("/api/stats/{DEMO_SALES_QUEUE}/live"))
        .await;
    assert_eq!(status, 426);
    check("/api/stats/{queueId}/live", 426, body);
    for probe in ["/healthz", "/readyz"] {
        let (status, body) = app.get_json(probe).await;
        assert_eq!(status, 200);
        check(probe, 200, body);
    }

    let post = |body: Value| app.http.post(app.url("/api/callback")).json(&body).send();
    let response = post(body_for(4720)).await.unwrap();
    assert_eq!(response.status(), 202);
    let receipt: Value = response.json().await.unwrap();
    assert_matches(&spec, "/api/callback", "post", 202, &receipt);
    let response = post(json!({ "queueId": DEMO_SALES_QUEUE, "surprise": 1 }))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_matches(
        &spec,
        "/api/callback",
        "post",
        400,
        &response.json().await.unwrap(),
    );
    let response = post(body_for(4720)).await.unwrap();
    assert_eq!(response.status(), 409, "the same number again");
    let pending: Value = response.json().await.unwrap();
    assert_eq!(pending["id"], receipt["id"]);
    assert_matches(&spec, "/api/callback", "post", 409, &pending);

    let id = receipt["id"].as_str().unwrap();
    let (status, body) = app.get_json(&format!("/api/callback/{id}")).await;
    assert_eq!(status, 200);
    check("/api/callback/{id}", 200, body);
    let (status, body) = app.get_json("/api/callback/0123").await;
    assert_eq!(status, 404);
    check("/api/callback/{id}", 404, body);

    // And a body that breaks the schema is caught: the check itself can fail.
    let validator = validator(&spec, "/api/queues", "get", 200);
    assert!(!validator.is_valid(&json!({ "queues": [{ "id": 7 }] })));
}
