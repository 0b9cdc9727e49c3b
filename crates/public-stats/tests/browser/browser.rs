//! Real browsers driven over W3C WebDriver: Chromium (Chrome's engine, `chromedriver`), Firefox
//! ESR (`geckodriver`) and WebKit (Safari's engine: WebKitGTK's `WebKitWebDriver` driving its
//! `MiniBrowser` under a private `Xvfb`). Each test starts its own driver on a free port (so tests
//! stay independent under nextest's process-per-test model and in parallel under `cargo test`),
//! opens one session with the options this closed network needs, and saves screenshots of each
//! state under `target/browser-artifacts/<test>/`, next to the driver's log (`driver.log`).
//!
//! Nothing is skipped when a browser is missing: a test fails and says how to install it
//! (`scripts/test` does). Not here: what the widget looks like to a test ([`crate::widget`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const FIREFOX: &str = "/usr/bin/firefox-esr";
const WEBKITDRIVER: &str = "/usr/bin/WebKitWebDriver";
const XVFB: &str = "/usr/bin/Xvfb";

/// How long the `wait_*` helpers poll before failing the test. Generous for two shared cores
/// running two browsers, yet short enough that a broken widget fails fast.
pub const WAIT: Duration = Duration::from_secs(10);

/// The desktop viewport, in CSS pixels, in every engine.
const DESKTOP: (u32, u32) = (1280, 900);
/// The phone viewport, in CSS pixels: below the widget's 480 px full-screen breakpoint.
const PHONE: (u32, u32) = (375, 740);

/// A browser engine visitors use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Chrome, Edge and most Android browsers: Debian's headless `chromium` and `chromedriver`.
    Chromium,
    /// Firefox: Debian's `firefox-esr`, headless, with `geckodriver` from crates.io.
    Firefox,
    /// Safari and every browser on an iPhone: Debian's WebKitGTK `MiniBrowser` and
    /// `WebKitWebDriver` (`webkit2gtk-driver`), on a virtual X display.
    WebKit,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::WebKit => "webkit",
        }
    }
}

/// Declares, for each named test body (an `async fn(Engine)` in the calling module), a module of
/// the same name with one `#[tokio::test]` per engine: `journey::a_callback_…::webkit`. Separate
/// tests rather than a loop, so that a failure names its engine and one engine can be run alone
/// (`cargo test -p public-stats --test browser webkit`).
macro_rules! in_every_engine {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            use $crate::browser::Engine;

            #[tokio::test]
            async fn chromium() {
                $crate::browser::within_limit(Engine::Chromium, super::$test(Engine::Chromium)).await;
            }

            #[tokio::test]
            async fn firefox() {
                $crate::browser::within_limit(Engine::Firefox, super::$test(Engine::Firefox)).await;
            }

            #[tokio::test]
            async fn webkit() {
                $crate::browser::within_limit(Engine::WebKit, super::$test(Engine::WebKit)).await;
            }
        }
    )+};
}

/// How long one test may take in all. A WebDriver command has no timeout of its own, and a
/// browser that stops answering would otherwise hold `cargo test` forever (nextest ends a test
/// after 120 s, see `.config/nextest.toml`, but without closing its browser).
const TEST_LIMIT: Duration = Duration::from_secs(110);

/// Runs a test body, failing it if it takes longer than [`TEST_LIMIT`]; dropping the body on
/// the way out closes its browser.
pub async fn within_limit(engine: Engine, test: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("the test took longer than {TEST_LIMIT:?} in {engine:?}: a WebDriver command hung?");
    }
}

/// The browser window: desktop, or a phone-sized viewport.
#[derive(Clone, Copy, Debug)]
pub enum Viewport {
    /// 1280×900 CSS pixels.
    Desktop,
    /// 375×740 CSS pixels, below the widget's 480 px full-screen breakpoint. In Chromium also
    /// touch, a device pixel ratio of 2 and a mobile user agent (Chrome's "mobileEmulation"); the
    /// other drivers have no device emulation, so there it is the window's size alone, which is
    /// all the widget's layout looks at.
    Phone,
}

/// A child process in its own process group. Dropping it kills the group, which also ends what
/// it started (the browser a driver launched and the browser's helper processes), even when a
/// test panicked before closing its session.
struct Group(Child);

impl Group {
    fn spawn(command: &mut Command, what: &str) -> Group {
        let child = command
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {what}: {e}"));
        Group(child)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The negative pid names the whole process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private X display for the one browser that cannot run headless (WebKitGTK's MiniBrowser).
/// Always a new one, even when `DISPLAY` is set: a window on a developer's desktop would take
/// the keyboard focus the keyboard tests depend on, and the screen size would vary.
struct Xvfb {
    display: String,
    _server: Group,
}

impl Xvfb {
    fn start() -> Xvfb {
        require(XVFB, "xvfb");
        // `-displayfd 1`: Xvfb takes the first free display number itself (no race with other
        // tests starting theirs) and writes it to its standard output once it accepts clients.
        let mut server = Group::spawn(
            Command::new(XVFB)
                .args([
                    "-displayfd",
                    "1",
                    "-screen",
                    "0",
                    "1600x1200x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
            XVFB,
        );
        let stdout = server.0.stdout.take().expect("Xvfb's stdout is piped");
        let mut number = String::new();
        let _ = BufReader::new(stdout).read_line(&mut number);
        let number = number.trim();
        assert!(
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb did not report a display number (got {number:?})"
        );
        Xvfb {
            display: format!(":{number}"),
            _server: server,
        }
    }
}

/// A WebDriver server for one engine, and what must live as long as it.
struct Driver {
    port: u16,
    // Dropped in this order: the driver's group (and the browser in it), then the display.
    _process: Group,
    _display: Option<Xvfb>,
}

impl Driver {
    fn start(engine: Engine, home: &Path, log: &Path) -> Driver {
        match engine {
            Engine::Chromium => {
                require(CHROMIUM, "chromium");
                require(CHROMEDRIVER, "chromium-driver");
                // Port 0 lets chromedriver pick a free port and print it: no race with other tests.
                Driver::reporting_port(
                    Command::new(CHROMEDRIVER).args(["--port=0", "--log-level=WARNING"]),
                    log,
                    "started successfully on port ",
                )
            }
            Engine::Firefox => {
                require(FIREFOX, "firefox-esr");
                let geckodriver = geckodriver();
                Driver::reporting_port(
                    Command::new(&geckodriver).args(["--port", "0"]),
                    log,
                    "Listening on 127.0.0.1:",
                )
            }
            Engine::WebKit => {
                require(WEBKITDRIVER, "webkit2gtk-driver");
                minibrowser();
                let display = Xvfb::start();
                // WebKitWebDriver cannot report a port it picked, so take a free one and retry
                // with another in the rare case someone else takes it first.
                for _ in 0..5 {
                    let port = free_port();
                    let mut process = Group::spawn(
                        Command::new(WEBKITDRIVER)
                            .arg(format!("--port={port}"))
                            .env("DISPLAY", &display.display)
                            // No accessibility bus to wait for on a bare X display.
                            .env("NO_AT_BRIDGE", "1")
                            // A fresh profile: nothing kept from, or left for, another test
                            // (MiniBrowser keeps no website data under automation anyway). The
                            // cache stays shared: it holds GStreamer's registry of plugins,
                            // which takes seconds of CPU to build.
                            .env("XDG_DATA_HOME", home.join("data"))
                            .env("XDG_CONFIG_HOME", home.join("config"))
                            .stdout(log_file(log))
                            .stderr(log_file(log)),
                        WEBKITDRIVER,
                    );
                    if wait_listening(&mut process, port) {
                        return Driver {
                            port,
                            _process: process,
                            _display: Some(display),
                        };
                    }
                }
                panic!(
                    "{WEBKITDRIVER} did not start listening; see {}",
                    log.display()
                );
            }
        }
    }

    /// Starts a driver that picks its own port and prints it after `marker` on stdout. Tried a
    /// few times: chromedriver given port 0 takes a free IPv4 port and then binds the same
    /// number on IPv6, where another process may hold it ("Address already in use").
    fn reporting_port(command: &mut Command, log: &Path, marker: &str) -> Driver {
        let name = format!("{:?}", command.get_program());
        let mut attempt = 1;
        let (process, port, rest) = loop {
            let mut process =
                Group::spawn(command.stdout(Stdio::piped()).stderr(log_file(log)), &name);
            let stdout = process
                .0
                .stdout
                .take()
                .expect("the driver's stdout is piped");
            match read_port(stdout, marker) {
                Some((port, rest)) => break (process, port, rest),
                None if attempt < 3 => attempt += 1,
                None => panic!(
                    "the WebDriver server exited before reporting its port ({attempt} tries); see {}",
                    log.display()
                ),
            }
        };
        // Keep draining its stdout into the log so the driver never blocks on a full pipe.
        let mut file = log_file(log);
        std::thread::spawn(move || {
            for line in rest.lines().map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
            }
        });
        Driver {
            port,
            _process: process,
            _display: None,
        }
    }
}

/// The port the driver printed after `marker`; `None` when it exited first.
fn read_port(stdout: ChildStdout, marker: &str) -> Option<(u16, BufReader<ChildStdout>)> {
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if let Some(rest) = line.split(marker).nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let port = digits
                .parse()
                .unwrap_or_else(|_| panic!("no port in the driver's line {line:?}"));
            return Some((port, reader));
        }
    }
}

/// Waits until the driver accepts connections on `port`; false if it exited first.
fn wait_listening(process: &mut Group, port: u16) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return true;
        }
        if let Ok(Some(_)) = process.0.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr: SocketAddr| addr.port())
        .expect("a free loopback port")
}

fn log_file(path: &Path) -> File {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn require(binary: &str, package: &str) {
    assert!(
        Path::new(binary).exists(),
        "{binary} is missing: the browser tests need Debian's `{package}` package. \
         Run scripts/test (it installs it), or `apt-get install {package}`."
    );
}

/// `geckodriver` from `PATH` or cargo's bin directory (`cargo install geckodriver` puts it there,
/// and cargo does not always have that directory on the `PATH` it gives tests).
fn geckodriver() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    std::env::split_paths(&path)
        .chain(cargo_home.map(|home| home.join("bin")))
        .map(|dir| dir.join("geckodriver"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "geckodriver is missing: the Firefox tests need it. Run scripts/test (it installs \
                 it), or `cargo install geckodriver --locked`."
            )
        })
}

/// WebKitGTK's MiniBrowser: not on `PATH`, it lives in the library's multiarch directory.
fn minibrowser() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|dir| {
            ["webkit2gtk-4.1", "webkit2gtk-4.0"].map(|api| dir.path().join(api).join("MiniBrowser"))
        })
        .find(|candidate| candidate.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "WebKitGTK's MiniBrowser is missing (/usr/lib/<arch>/webkit2gtk-4.1/MiniBrowser): it \
             comes with `webkit2gtk-driver`'s `libwebkit2gtk-4.1-0`. Run scripts/test (it \
             installs it), or `apt-get install webkit2gtk-driver`."
        )
    })
}

/// Firefox preferences for a closed network. The proxy is the guarantee: every request that is
/// not for loopback (which Firefox never proxies) goes to a closed loopback port and fails at
/// once. The rest stop Firefox's background services from trying at all, so its log stays
/// about the page.
fn firefox_prefs() -> Value {
    json!({
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": 9,
        "network.proxy.share_proxy_settings": true,
        "network.proxy.no_proxies_on": "",
        "network.captive-portal-service.enabled": false,
        "network.connectivity-service.enabled": false,
        "nimbus.rollouts.enabled": false,
        "network.dns.disablePrefetch": true,
        "network.prefetch-next": false,
        "network.http.speculative-parallel-limit": 0,
        "network.trr.mode": 5,
        "app.normandy.enabled": false,
        "app.shield.optoutstudies.enabled": false,
        "messaging-system.rsexperimentloader.enabled": false,
        "services.settings.server": "http://127.0.0.1:9/",
        "browser.safebrowsing.malware.enabled": false,
        "browser.safebrowsing.phishing.enabled": false,
        "browser.safebrowsing.downloads.enabled": false,
        "browser.safebrowsing.provider.google4.updateURL": "",
        "browser.region.network.url": "",
        "browser.region.update.enabled": false,
        "browser.search.update": false,
        "extensions.update.enabled": false,
        "extensions.getAddons.cache.enabled": false,
        "extensions.systemAddon.update.enabled": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "datareporting.healthreport.uploadEnabled": false,
        "toolkit.telemetry.enabled": false,
        "dom.push.connection.enabled": false,
        "browser.newtabpage.enabled": false,
        "browser.startup.page": 0,
        // Lets the profile's userChrome.css lift the window's minimum width (see below).
        "toolkit.legacyUserProfileCustomizations.stylesheets": true,
    })
}

/// Firefox's own window will not get narrower than 500 px (its toolbar's minimum), too wide for a
/// phone: the fresh profile's userChrome.css lifts that minimum.
const FIREFOX_USER_CHROME: &str = ":root { --window-min-width: 0px !important; }\n";

/// One browser session. Call [`Browser::close`] at the end of a test; if the test panics first,
/// dropping it kills the browser.
pub struct Browser {
    pub client: Client,
    pub engine: Engine,
    artifacts: PathBuf,
    shots: AtomicUsize,
    // Dropped after the client: the driver, then the profile directory the browser used.
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A fresh Chromium for the test `name`; screenshots go to `target/browser-artifacts/<name>/`.
    /// For tests that run in Chromium only (see the module docs of `main.rs`).
    pub async fn launch(name: &str, viewport: Viewport) -> Browser {
        Browser::start(Engine::Chromium, name, viewport).await
    }

    /// A fresh browser of `engine` (empty profile) for the test `name`; screenshots go to
    /// `target/browser-artifacts/<name>-<engine>/`.
    pub async fn launch_in(engine: Engine, name: &str, viewport: Viewport) -> Browser {
        Browser::start(engine, &format!("{name}-{}", engine.name()), viewport).await
    }

    async fn start(engine: Engine, artifacts_name: &str, viewport: Viewport) -> Browser {
        let artifacts = artifacts_dir().join(artifacts_name);
        // Old screenshots of this test would be mistaken for this run's.
        let _ = std::fs::remove_dir_all(&artifacts);
        std::fs::create_dir_all(&artifacts).expect("artifacts directory");
        let profile = tempfile::tempdir().expect("a temporary browser profile directory");
        let driver = Driver::start(engine, profile.path(), &artifacts.join("driver.log"));
        let size = match viewport {
            Viewport::Desktop => DESKTOP,
            Viewport::Phone => PHONE,
        };
        let capabilities = match engine {
            Engine::Chromium => chromium_capabilities(profile.path(), viewport, size),
            Engine::Firefox => {
                let chrome = profile.path().join("chrome");
                std::fs::create_dir_all(&chrome).expect("the profile's chrome directory");
                std::fs::write(chrome.join("userChrome.css"), FIREFOX_USER_CHROME)
                    .expect("userChrome.css");
                let mut prefs = firefox_prefs();
                if let Viewport::Phone = viewport {
                    // A phone's scrollbars float over the page; a desktop's take 12 px of it.
                    prefs["ui.useOverlayScrollbars"] = json!(1);
                }
                json!({
                    "browserName": "firefox",
                    "moz:firefoxOptions": {
                        "binary": FIREFOX,
                        "args": ["-headless", "-profile", profile.path()],
                        "prefs": prefs,
                    },
                })
            }
            Engine::WebKit => json!({
                "webkitgtk:browserOptions": {
                    "binary": minibrowser(),
                    // Full screen hides MiniBrowser's toolbar, whose minimum width would keep
                    // the window wider than a phone; the window is sized below.
                    "args": ["--automation", "--full-screen"],
                    // As Safari's, on a phone and by default on a Mac.
                    "useOverlayScrollbars": true,
                },
            }),
        };
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are a JSON object")
        };
        let client = ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("could not open a {engine:?} session: {e}"));
        let browser = Browser {
            client,
            engine,
            artifacts,
            shots: AtomicUsize::new(0),
            driver,
            _profile: profile,
        };
        if engine != Engine::Chromium {
            browser.size_viewport(size).await;
        }
        browser
    }

    /// Sizes the window so that the page's viewport is `width`×`height` CSS pixels, whatever the
    /// browser's own toolbars take.
    async fn size_viewport(&self, (width, height): (u32, u32)) {
        let mut window = (width, height);
        for _ in 0..3 {
            self.client
                .set_window_size(window.0, window.1)
                .await
                .unwrap_or_else(|e| panic!("sizing the {:?} window: {e}", self.engine));
            let [inner_width, inner_height] = self.viewport().await;
            let (inner_width, inner_height) = (inner_width as i64, inner_height as i64);
            if (inner_width, inner_height) == (i64::from(width), i64::from(height)) {
                return;
            }
            window = (
                (i64::from(window.0) + i64::from(width) - inner_width).max(1) as u32,
                (i64::from(window.1) + i64::from(height) - inner_height).max(1) as u32,
            );
        }
        let [inner_width, inner_height] = self.viewport().await;
        panic!(
            "the {:?} viewport is {inner_width}×{inner_height}, not {width}×{height}",
            self.engine
        );
    }

    /// Ends the session (the browser exits), then the driver.
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
        if self.engine == Engine::WebKit {
            // WebKit's driver copies the last frame drawn, which can be older than the page's
            // state: let two frames be drawn first.
            let _ = self
                .client
                .execute_async(
                    "const done = arguments[0]; \
                     requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                    vec![],
                )
                .await;
        }
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
                            "timed out after {timeout:?} waiting for {what} in {:?}\n  expression: \
                             {expr}\n  last value: {other:?}\n  screenshot: {}",
                            self.engine,
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

    /// Shift+Tab: the focus one step back.
    pub async fn shift_tab(&self) {
        let (shift, tab) = (char::from(Key::Shift), char::from(Key::Tab));
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: shift })
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab })
            .then(KeyAction::Up { value: shift });
        self.client
            .perform_actions(actions)
            .await
            .expect("Shift+Tab");
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

    /// The page's errors since the last call: `console.error` calls, uncaught exceptions,
    /// unhandled rejections, elements that failed to load and Content-Security-Policy violations,
    /// as recorded from the page's first script on by the probe the test page server
    /// ([`crate::host`]) puts first in every page (`pages/watch.js`); the same in every engine.
    /// Chromium adds what only its log sees: failed network requests (from its log, `se/log`),
    /// and there a page without the probe is judged by that log alone.
    pub async fn console_errors(&self) -> Vec<String> {
        let probed = self
            .js(
                "const p = window.__testProbe; return p && p.console ? p.console.splice(0) : null;",
                vec![],
            )
            .await;
        let has_probe = !probed.is_null();
        let mut errors: Vec<String> = probed
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e.as_str().unwrap_or_default().to_owned())
            .collect();
        if self.engine != Engine::Chromium {
            assert!(
                has_probe,
                "console_errors() in {:?} needs a page served by the test page server \
                 (crate::host), which puts the error probe first in the page",
                self.engine
            );
            return errors;
        }
        let response = self
            .driver_post("se/log", json!({ "type": "browser" }))
            .await;
        errors.extend(
            response["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|entry| entry["level"] == "SEVERE")
                .filter(|entry| !has_probe || entry["source"] == "network")
                .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
                // Chromium asks every origin for a favicon on its own; no page here declares one.
                .filter(|message| !message.contains("/favicon.ico ")),
        );
        errors
    }
}

impl Browser {
    /// Every line of Chromium's own console log since the last look (`se/log`), unfiltered:
    /// what [`Browser::console_errors`] leaves out too (the request for `/favicon.ico`).
    pub async fn chromium_log(&self) -> Vec<String> {
        let response = self
            .driver_post("se/log", json!({ "type": "browser" }))
            .await;
        response["value"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails the test, listing them, if the page has logged errors since the last look (see
    /// [`Browser::console_errors`]).
    pub async fn assert_no_console_errors(&self, when: &str) {
        let errors = self.console_errors().await;
        assert!(
            errors.is_empty(),
            "{:?} logged errors {when}: {errors:#?}",
            self.engine
        );
    }
}

fn chromium_capabilities(profile: &Path, viewport: Viewport, (width, height): (u32, u32)) -> Value {
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
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
        ],
    });
    if let Viewport::Phone = viewport {
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true },
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36",
        });
    }
    json!({ "browserName": "chrome", "goog:chromeOptions": options })
}

/// What only Chromium can do.
impl Browser {
    /// Runs a Chrome DevTools Protocol command (chromedriver's `goog/cdp/execute`), e.g.
    /// `Emulation.setEmulatedMedia`; fails the test if Chromium refuses it. Chromium only: the
    /// other engines have no such protocol over WebDriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        assert_eq!(
            self.engine,
            Engine::Chromium,
            "the DevTools protocol is Chromium's"
        );
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
