//! Genesys's official SDKs, unchanged, against the simulator.
//!
//! * JavaScript (`purecloud-platform-client-v2`): login, queue paging, the single queue and its
//!   members, observations, both EWT calls, tokens/me and organizations/me, a notification channel
//!   with a live event on its WebSocket, and a callback. Steps in `sdk-check/check.mjs`; needs
//!   Node.js and npm (the README's test command installs them when missing); the SDK comes from
//!   the npm registry at the version `sdk-check/package-lock.json` pins.
//! * Python (`PureCloudPlatformClientV2`): every endpoint the simulator serves, each answer's raw
//!   JSON compared with the SDK model's fields at every level. Steps in
//!   `sdk-check-python/check.py`; needs `python3 -m venv`; the SDK comes from PyPI at the versions
//!   `sdk-check-python/requirements.txt` pins, into a virtual environment under `target/` that
//!   is reused while the requirements stay the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

async fn run_against_sim(check: impl FnOnce(String) -> Output + Send + 'static) -> Output {
    let sim = genesys_sim::spawn(genesys_sim::SimConfig::for_tests())
        .await
        .expect("simulator starts");
    let base_url = sim.base_url();
    tokio::task::spawn_blocking(move || check(base_url))
        .await
        .expect("the check's thread finishes")
}

fn assert_passed(output: &Output, sdk: &str, last_line: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the official {sdk} SDK failed against the simulator:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(last_line), "{stdout}\n{stderr}");
    // The steps, for `--nocapture`.
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn official_javascript_sdk_works_against_the_simulator() {
    let output = run_against_sim(|base_url| {
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
    .await;
    assert_passed(&output, "JavaScript", "official SDK: all steps passed");
}

#[tokio::test(flavor = "multi_thread")]
async fn official_python_sdk_works_against_the_simulator() {
    let output = run_against_sim(|base_url| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk-check-python");
        let python = python_with_requirements(&dir.join("requirements.txt"));
        Command::new(python)
            .arg("check.py")
            .arg(&base_url)
            .current_dir(&dir)
            .output()
            .expect("the virtual environment's python runs")
    })
    .await;
    assert_passed(&output, "Python", "official Python SDK: all steps passed");
}

/// The python of a virtual environment under `target/` holding exactly `requirements`: made
/// (and the pinned packages installed from PyPI) when missing or when the requirements changed.
fn python_with_requirements(requirements: &Path) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-sdk-venv");
    let python = venv.join("bin").join("python");
    let wanted = std::fs::read_to_string(requirements).expect("requirements.txt is readable");
    // Written last, so a half-finished install is never taken for a finished one.
    let installed = venv.join("installed-requirements.txt");
    if python.exists() && std::fs::read_to_string(&installed).ok().as_deref() == Some(&wanted) {
        return python;
    }
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv));
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(requirements));
    std::fs::write(&installed, wanted).expect("the venv is writable");
    python
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?} could not start: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
