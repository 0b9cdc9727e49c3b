//! Headless Chromium driven over WebDriver: each test starts its own `chromedriver` (so tests
//! stay independent under nextest's process-per-test model and in parallel under `cargo test`),
//! opens one session with the flags this closed network needs, and saves screenshots of each
//! state under `target/browser-artifacts/<test>/`.
//!
//! Nothing is skipped when Chromium is missing: a test fails and says how to install it
//! (`scripts/test` does it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the `wait_*` helpers poll before failing the test. Generous for two shared cores
/// running two Chromiums, yet short enough that a broken widget fails fast.
pub const WAIT: Duration = Duration::from_secs(10);

/// The browser window: desktop, or a phone-sized viewport.
#[derive(Clone, Copy, Debug)]
pub enum Viewport {
    Desktop,
    /// 375×740 CSS pixels, touch and a mobile user agent (Chrome's "mobileEmulation"), below the
    /// widget's 480 px full-screen breakpoint.
    Phone,
}

/// A `chromedriver` process in its own process group. Dropping it kills the group, which also
/// ends any Chromium a panicking test left behind (Chromium stays in chromedriver's group).
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        use std::os::unix::process::CommandExt;
        for (binary, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: the browser tests need Debian's `{package}` package. \
                 Run scripts/test (it installs it), or `apt-get install chromium chromium-driver`."
            );
        }
        // Port 0 lets chromedriver pick a free port and print it: no race with other tests.
        let mut child = Command::new(CHROMEDRIVER)
            .args(["--port=0", "--log-level=WARNING"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {CHROMEDRIVER}: {e}"));
        let stdout = child.stdout.take().expect("chromedriver stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("chromedriver exited before reporting its port");
            };
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest
                    .trim_end_matches('.')
                    .parse()
                    .expect("chromedriver prints its port");
            }
        };
        // Keep draining its stdout so chromedriver never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The negative pid names the whole process group: chromedriver and its Chromiums.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One Chromium session. Call [`Browser::close`] at the end of a test; if the test panics first,
/// dropping it kills the browser.
pub struct Browser {
    pub client: Client,
    artifacts: PathBuf,
    shots: AtomicUsize,
    // Dropped after the client: the profile directory must outlive Chromium.
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A fresh Chromium (empty profile) for the test `name`; screenshots go to
    /// `target/browser-artifacts/<name>/`.
    pub async fn launch(name: &str, viewport: Viewport) -> Browser {
        let driver = Driver::start();
        let profile = tempfile::tempdir().expect("a temporary Chromium profile directory");
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                // Without these Chromium keeps trying Google's hosts, which this network refuses.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                format!("--user-data-dir={}", profile.path().display()),
                "--window-size=1280,900",
            ],
        });
        if let Viewport::Phone = viewport {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 375, "height": 740, "pixelRatio": 2.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                              (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36",
            });
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("could not open a Chromium session: {e}"));
        let artifacts = artifacts_dir().join(name);
        // Old screenshots of this test would be mistaken for this run's.
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).expect("artifacts directory");
        Browser {
            client,
            artifacts,
            shots: AtomicUsize::new(0),
            driver,
            _profile: profile,
        }
    }

    /// Ends the session (Chromium exits), then chromedriver.
    pub async fn close(self) {
        let Browser { client, driver, .. } = self;
        let _ = client.close().await;
        drop(driver);
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("navigating to {url}: {e}"));
    }

    /// Forgets what the widget kept in this origin's storage (the open view, the chat session),
    /// then navigates: the next page starts as on a first visit.
    pub async fn goto_fresh(&self, url: &str) {
        self.js("sessionStorage.clear(); localStorage.clear();", vec![])
            .await;
        self.goto(url).await;
    }

    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
    }

    /// Saves a PNG of the viewport as `NN-<state>.png` and returns its path.
    pub async fn screenshot(&self, state: &str) -> PathBuf {
        let n = self.shots.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.artifacts.join(format!("{n:02}-{state}.png"));
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// Runs `body` as a function body in the page (`arguments[0..]` = `args`) and returns its
    /// value.
    pub async fn js(&self, body: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(body, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n--- script ---\n{body}"))
    }

    /// Like [`Browser::js`], for a body that ends by calling `arguments[arguments.length - 1]`.
    pub async fn js_async(&self, body: &str, args: Vec<Value>) -> Value {
        self.client
            .execute_async(body, args)
            .await
            .unwrap_or_else(|e| panic!("async script failed: {e}\n--- script ---\n{body}"))
    }

    /// Polls the JS expression `expr` until it is truthy; fails with `what` and its last value.
    /// An object with a `pending` key counts as not yet (it carries what to show on a timeout).
    pub async fn wait_js(&self, what: &str, expr: &str) -> Value {
        self.wait_js_for(what, expr, WAIT).await
    }

    /// [`Browser::wait_js`] with its own timeout, for what involves the simulator's clock.
    pub async fn wait_js_for(&self, what: &str, expr: &str, timeout: Duration) -> Value {
        let body = format!("return ({expr});");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let value = self.client.execute(&body, vec![]).await;
            match value {
                Ok(v) if truthy(&v) => return v,
                other => {
                    if tokio::time::Instant::now() >= deadline {
                        let shot = self.screenshot(&format!("timeout-{}", slug(what))).await;
                        panic!(
                            "timed out after {timeout:?} waiting for {what}\n  expression: {expr}\n  \
                             last value: {other:?}\n  screenshot: {}",
                            shot.display()
                        );
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The layout viewport's size in CSS pixels: `[innerWidth, innerHeight]`.
    pub async fn viewport(&self) -> [f64; 2] {
        let v = self.js("return [innerWidth, innerHeight];", vec![]).await;
        [
            v[0].as_f64().unwrap_or(f64::NAN),
            v[1].as_f64().unwrap_or(f64::NAN),
        ]
    }

    /// Presses and releases `key` wherever the focus is, as a keyboard user would.
    pub async fn press(&self, key: Key) {
        self.press_char(key.into()).await;
    }

    pub async fn press_char(&self, key: char) {
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(actions)
            .await
            .expect("key press");
    }

    /// Types `text` into whatever has the focus.
    pub async fn type_text(&self, text: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for c in text.chars() {
            actions = actions
                .then(KeyAction::Down { value: c })
                .then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(actions).await.expect("typing");
    }

    /// The browser's console messages at level SEVERE since the last call (chromedriver's log
    /// endpoint; CSP violations and uncaught exceptions land here).
    pub async fn console_errors(&self) -> Vec<String> {
        let response = self
            .driver_post("se/log", json!({ "type": "browser" }))
            .await;
        response["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            // Chromium asks every origin for a favicon on its own; no page here declares one.
            .filter(|message| !message.contains("/favicon.ico "))
            .collect()
    }
}

impl Browser {
    /// Runs a Chrome DevTools Protocol command (chromedriver's `goog/cdp/execute`), e.g.
    /// `Emulation.setEmulatedMedia`; fails the test if Chromium refuses it.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let response = self
            .driver_post("goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .await;
        assert!(
            response["value"]["error"].is_null(),
            "the DevTools command {cmd} failed: {response}"
        );
        response["value"].clone()
    }

    /// POSTs to one of chromedriver's own endpoints of this session (`/session/{id}/{path}`).
    async fn driver_post(&self, path: &str, body: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("an open session");
        let url = format!(
            "http://127.0.0.1:{}/session/{session}/{path}",
            self.driver.port
        );
        reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("chromedriver {path} request: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("chromedriver {path} answer is not JSON: {e}"))
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => !o.contains_key("pending"),
        Value::Array(_) => true,
    }
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect()
}

/// `target/browser-artifacts`, honouring `CARGO_TARGET_DIR`.
pub fn artifacts_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // A relative CARGO_TARGET_DIR is relative to where cargo ran, not to this test's directory.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| workspace.join(dir))
        .unwrap_or_else(|| workspace.join("target"));
    target.join("browser-artifacts")
}
