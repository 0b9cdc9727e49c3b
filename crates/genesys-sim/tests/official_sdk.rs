//! Genesys's official JavaScript SDK (`purecloud-platform-client-v2`), unchanged, against the
//! simulator: login, queue paging, observations, both EWT calls, a notification channel with a
//! live event on its WebSocket, and a callback. The steps are in `sdk-check/check.mjs`.
//!
//! Needs Node.js and npm (the README's test command installs them when missing); the SDK is
//! installed from the npm registry at the version `sdk-check/package-lock.json` pins.

use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn official_javascript_sdk_works_against_the_simulator() {
    let sim = genesys_sim::spawn(genesys_sim::SimConfig::for_tests())
        .await
        .expect("simulator starts");
    let base_url = sim.base_url();
    let output = tokio::task::spawn_blocking(move || {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk-check");
        if !dir.join("node_modules").exists() {
            let install = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .expect("npm runs (install Node.js and npm: see the README)");
            assert!(
                install.status.success(),
                "npm ci failed: {}",
                String::from_utf8_lossy(&install.stderr)
            );
        }
        Command::new("node")
            .arg("check.mjs")
            .arg(&base_url)
            .current_dir(&dir)
            .output()
            .expect("node runs")
    })
    .await
    .expect("the check's thread finishes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the official SDK failed against the simulator:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("official SDK: all steps passed"),
        "{stdout}"
    );
}
