//! axe-core (from npm, installed by `scripts/test` with `npm ci` in `tests/browser/axe/`) run in
//! the page over WebDriver. axe walks open shadow roots itself, so running it on the document
//! covers the widget whatever its isolation.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::browser::Browser;

fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser/axe/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}): run `npm ci` in crates/public-stats/tests/browser/axe \
                 (scripts/test does)",
                path.display()
            )
        })
    })
}

/// Runs axe-core on the whole page in its current state and fails the test, listing every
/// violation with the offending nodes, unless there are none. `state` names the widget's state
/// in the failure message and the screenshot.
pub async fn assert_no_violations(browser: &Browser, state: &str) {
    assert_no_violations_in(browser, None, state).await;
}

/// [`assert_no_violations`] for the element `selector` and what is inside it, e.g. the widget on
/// a page whose own markup is not this project's.
pub async fn assert_no_violations_within(browser: &Browser, selector: &str, state: &str) {
    assert_no_violations_in(browser, Some(selector), state).await;
}

async fn assert_no_violations_in(browser: &Browser, selector: Option<&str>, state: &str) {
    let loaded = browser
        .js(
            &format!(
                "if (!window.axe) {{ {} }} return typeof window.axe;",
                axe_source()
            ),
            vec![],
        )
        .await;
    assert_eq!(
        loaded,
        json!("object"),
        "axe-core did not load into the page"
    );
    let result = browser
        .js_async(
            r#"
            const done = arguments[arguments.length - 1];
            const context = arguments[0] ? document.querySelector(arguments[0]) : document;
            // No CSSOM preload: it appends an inline <style>, which the demo page's
            // Content-Security-Policy refuses (a violation the test would then blame on the
            // page). Only css-orientation-lock reads the CSSOM.
            axe.run(context, { resultTypes: ['violations'], preload: false })
              .then(r => done({ violations: r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => ({ target: n.target, html: n.html, why: n.failureSummary })),
              })) }))
              .catch(e => done({ error: String(e) }));
            "#,
            vec![json!(selector)],
        )
        .await;
    assert_eq!(result["error"], Value::Null, "axe-core failed to run");
    let violations = result["violations"].as_array().cloned().unwrap_or_default();
    if !violations.is_empty() {
        let shot = browser.screenshot(&format!("axe-{state}")).await;
        let report: Vec<String> = violations
            .iter()
            .map(|v| {
                let nodes: Vec<String> = v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|n| format!("      {} {}\n        {}", n["target"], n["html"], n["why"]))
                    .collect();
                format!(
                    "  {} ({}): {}\n{}",
                    v["id"],
                    v["impact"],
                    v["help"],
                    nodes.join("\n")
                )
            })
            .collect();
        panic!(
            "axe-core found {} violation(s) in state '{state}' (screenshot {}):\n{}",
            violations.len(),
            shot.display(),
            report.join("\n")
        );
    }
}
