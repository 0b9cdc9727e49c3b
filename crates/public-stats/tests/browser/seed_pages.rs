//! Pages written for the seed, unchanged but for where the injector comes from, on another
//! origin than the service (served by [`crate::seed_host`]): the seed's README example copied
//! exactly, and a page built like the seed's demo page; with and without jQuery, the retired web
//! chat's `pureCloudChatConfig` and a charset; each of the seed's own addresses left in place by
//! mistake; on a desktop and on a phone.
//!
//! Each test asserts what the visitor sees (the widget, live counts, no mojibake, no broken
//! image, the state that matches what works) and what the site's owner sees in the console:
//! exactly one clear message per mistake, and no connection retried without end.
//!
//! jQuery is the real 3.3.1 from npm (the version the seed loaded), not a stand-in: what could go
//! wrong with it on the page is its globals and its event handling meeting the widget's, and
//! only the real library has those.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;

use crate::axe::assert_no_violations_within;
use crate::browser::{Browser, Engine, Viewport};
use crate::helpers::{DEMO_SALES_QUEUE, TestApp, spawn_app, spawn_app_with};
use crate::seed_host::{Recorded, SeedPage, SeedPages};
use crate::widget::{HOST, Widget};

in_every_engine!(
    the_seeds_readme_example_works_from_another_origin,
    a_page_built_like_the_seeds_demo_works_from_another_origin,
    each_seed_address_left_in_place_gives_one_clear_message_and_no_endless_retries,
    a_callback_from_a_site_missing_from_allowed_origins_tells_the_owner_once,
);

const README: &str = "seed-readme.html";
const DEMO: &str = "seed-demo.html";

/// What the widget's owner messages say about each mistake: a phrase that only that message has.
const LOGO: &str = "header.logo \"/img/logo-genesys.svg\"";
const CONTRAST: &str = "chatWidget.color \"#F6F6F6\"";
const LEGACY_CHAT: &str = "pureCloudChatConfig configures the retired Genesys web chat";
const OPEN_CHAT: &str = "open(\"chat\") was called, but no chat is configured";
const QUEUE: &str =
    "queueId \"00000000-0000-0000-0000-000000000000\" is not a queue this service publishes";
const SCRIPT_HOST: &str = "scriptHost \"/\" points to";
const STATS_ADDRESS: &str = "statsWebsocketUri \"ws://127.0.0.1:";
const UNREACHABLE: &str = "the stats service does not answer at";
const ORIGIN: &str = "is most likely not in the service's ALLOWED_ORIGINS";
const SOCKET_ORIGIN: &str = "refused the live statistics socket: this page's origin";

/// Owner-facing words a visitor must never read in the widget.
const OWNER_WORDS: [&str; 7] = [
    "queueId",
    "No public queue",
    "no public queue",
    "ALLOWED_ORIGINS",
    "statsWebsocketUri",
    "scriptHost",
    "public-stats",
];

/// A loopback address nothing listens on: a wrong `statsWebsocketUri`. (Not the seed's literal
/// `ws://localhost:8080`: 8080 is also this service's default port, and another copy of it may
/// be running on the machine.)
fn closed_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

/// Opens `page` and waits for the widget (the first page of a browser with `goto`, later ones
/// with fresh storage).
async fn visit(browser: &Browser, pages: &SeedPages, app: &TestApp, page: &SeedPage, first: bool) {
    let url = pages.url(page, app.addr);
    if first {
        browser.goto(&url).await;
    } else {
        browser.goto_fresh(&url).await;
    }
    Widget::new(browser).wait_ready().await;
}

/// Checks that the page is the variant asked for: its charset, jQuery, the settings as a
/// global binding that is not a property of `window` (`const`/`let`). Such bindings are read by
/// a script added to the page: Firefox's WebDriver runs scripts in a sandbox that sees `window`'s
/// properties but not the page's top-level `const`s.
async fn assert_is_the_variant(browser: &Browser, page: &SeedPage) {
    let facts = browser
        .js(
            "const probe = document.createElement('script'); \
             probe.textContent = 'document.documentElement.dataset.declared = JSON.stringify(\
             [typeof pureCloudCustomChatConfig, typeof pureCloudChatConfig]);'; \
             document.head.appendChild(probe); probe.remove(); \
             const [declared, legacy] = JSON.parse(document.documentElement.dataset.declared); \
             delete document.documentElement.dataset.declared; \
             return { charset: document.characterSet, jquery: window.jQuery ? jQuery.fn.jquery : null, \
             onWindow: 'pureCloudCustomChatConfig' in window, declared, legacy, \
             viewport: !!document.querySelector('meta[name=viewport]') };",
            vec![],
        )
        .await;
    let expected = json!({
        "charset": if page.charset { "UTF-8" } else { "windows-1252" },
        "jquery": if page.jquery { json!("3.3.1") } else { json!(null) },
        "onWindow": false,
        "declared": "object",
        "legacy": if page.legacy_chat { "object" } else { "undefined" },
        "viewport": false,
    });
    assert_eq!(facts, expected, "the page is not the variant {page:?}");
}

/// The widget's strings read as written: its files were decoded as UTF-8 whatever the page's
/// encoding; nothing in the widget shows the marks of UTF-8 read as windows-1252.
async fn assert_no_mojibake(w: &Widget<'_>) {
    let decoded = w
        .eval(
            "const t = window.publicStatsWidget.internals.localized; \
             return [t('checking'), t('reconnecting'), t('connecting'), root.textContent];",
        )
        .await;
    assert_eq!(
        decoded[0], "Checking availability…",
        "the widget's script was misread"
    );
    assert_eq!(decoded[1], "Connection lost. Reconnecting…");
    assert_eq!(decoded[2], "Connecting…");
    let text = decoded[3].as_str().unwrap_or_default();
    for mark in ["Ã", "â€", "Â"] {
        assert!(
            !text.contains(mark),
            "mojibake ({mark}) in the widget: {text}"
        );
    }
}

/// No broken image in the widget: each loaded with a size (a failed logo is replaced or removed).
async fn assert_no_broken_image(w: &Widget<'_>) {
    let images = w
        .wait(
            "every image of the widget to load",
            "(() => { const imgs = [...root.querySelectorAll('img')]; \
             const state = imgs.map(i => [i.src, i.complete, i.naturalWidth]); \
             return imgs.every(i => i.complete && i.naturalWidth > 0) ? state : { pending: state }; })()",
        )
        .await;
    for image in images.as_array().into_iter().flatten() {
        assert!(
            image[0]
                .as_str()
                .is_some_and(|src| src.ends_with("/img/logo.svg")),
            "an image other than the built-in logo: {image}"
        );
    }
}

/// The widget's visible text holds no owner-facing words.
async fn assert_visitor_text_is_for_visitors(w: &Widget<'_>) {
    let text = w
        .eval("return root.getElementById('psw').innerText;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for word in OWNER_WORDS {
        assert!(
            !text.contains(word),
            "the visitor reads owner-facing text ({word}): {text}"
        );
    }
}

/// Waits until the widget has logged at least `needles.len()` messages, gives it a second more,
/// then checks that each needle is in exactly one message and that there are no others.
async fn assert_owner_messages(browser: &Browser, needles: &[&str]) -> Recorded {
    browser
        .wait_js(
            &format!("{} owner messages in the console", needles.len()),
            &format!(
                "(window.__seedConsole || []).filter(m => m.text.startsWith('public-stats widget:')).length >= {}",
                needles.len()
            ),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let recorded = Recorded::read(browser).await;
    let messages = recorded.widget_messages();
    for needle in needles {
        let matching = messages.iter().filter(|m| m.contains(needle)).count();
        assert_eq!(
            matching, 1,
            "expected one message with {needle:?}, got {matching}: {messages:#?}"
        );
    }
    assert_eq!(
        messages.len(),
        needles.len(),
        "other messages than expected: {messages:#?}"
    );
    // axe-core warns that it cannot read the widget's stylesheet, which is on another origin
    // (the service's) than the page: that is the test's tool, not the page.
    let other: Vec<_> = recorded
        .console
        .iter()
        .filter(|(_, text)| {
            !text.starts_with("public-stats widget:")
                && !text.starts_with("Couldn't load preload assets")
        })
        .collect();
    assert!(
        other.is_empty(),
        "other console output or uncaught errors: {other:?}"
    );
    recorded
}

/// The attempts (WebSockets, fetches) to `prefix` have stopped: at most `at_most` so far, and
/// none more over the next 3 s.
async fn assert_attempts_stop(browser: &Browser, prefix: &str, at_most: usize) {
    let before = Recorded::read(browser).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = Recorded::read(browser).await;
    let (n, m) = (before.attempts_to(prefix), after.attempts_to(prefix));
    assert!(
        n <= at_most && m == n,
        "attempts to {prefix} do not stop: {n}, then {m} 3 s later (at most {at_most}): {:#?}",
        after.attempts
    );
}

/// Fills in and sends the callback form; waits for the outcome text.
async fn request_callback(w: &Widget<'_>) {
    w.click("#psw-tile-callback").await;
    w.wait_visible("#psw-first").await;
    w.type_into("#psw-first", "Ada").await;
    w.type_into("#psw-last", "Lovelace").await;
    w.type_into("#psw-phone", "+44 20 7946 0018").await;
    w.click("#psw-callback-submit").await;
}

async fn the_seeds_readme_example_works_from_another_origin(engine: Engine) {
    let pages = SeedPages::start().await;
    let app = spawn_app_with(&["--allowed-origins", &pages.origin()]).await;
    app.set_queue(DEMO_SALES_QUEUE, json!({ "agents": { "idle": 3 } }))
        .await;
    let browser = Browser::launch_in(engine, "seed-readme", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    // Every pair of (charset, jQuery, pureCloudChatConfig) values, in four pages.
    let variants = [
        (false, false, false),
        (false, true, true),
        (true, false, true),
        (true, true, false),
    ];
    for (i, (charset, jquery, legacy_chat)) in variants.into_iter().enumerate() {
        let page = SeedPage {
            charset,
            jquery,
            legacy_chat,
            ..SeedPage::migrated(README, app.addr, DEMO_SALES_QUEUE)
        };
        visit(&browser, &pages, &app, &page, i == 0).await;
        assert_is_the_variant(&browser, &page).await;
        assert_no_mojibake(&w).await;
        assert_eq!(w.text("#psw-title").await, "Click here to chat");
        if i == 0 {
            browser.screenshot("collapsed").await;
            assert_no_violations_within(&browser, HOST, "seed README page, collapsed").await;
        }

        // Open: the seed's activeText in the header, the live count, no chat (no Web Messaging
        // deployment), the callback.
        w.open().await;
        w.wait_text("#psw-agents", "3 agents available").await;
        assert_eq!(w.text("#psw-title").await, "Chatting with PureCloud");
        assert!(
            !w.is_visible("#psw-tile-chat").await,
            "a chat tile without a chat"
        );
        assert!(w.is_visible("#psw-tile-callback").await, "no callback tile");
        assert_no_broken_image(&w).await;
        assert_no_mojibake(&w).await;
        assert_visitor_text_is_for_visitors(&w).await;
        // The text is written on the background in a colour that reads (the example's
        // #F6F6F6 has 3.0:1 on #4498B4; axe checks the rest).
        assert_eq!(w.style("#psw-title", "color").await, "rgb(0, 0, 0)");
        if i == 0 {
            app.set_queue(DEMO_SALES_QUEUE, json!({ "agents": { "idle": 1 } }))
                .await;
            w.wait_text("#psw-agents", "1 agent available").await;
            browser.screenshot("opened-live").await;
            assert_no_violations_within(&browser, HOST, "seed README page, opened").await;
            app.set_queue(DEMO_SALES_QUEUE, json!({ "agents": { "idle": 3 } }))
                .await;
        }
        let mut expected = vec![LOGO, CONTRAST];
        if legacy_chat {
            expected.push(LEGACY_CHAT);
        }
        if i == 1 {
            // The callback goes through, across origins (this page's origin is allowed).
            request_callback(&w).await;
            w.wait_text("#psw-callback-done-text", "Thank you").await;
            assert_eq!(w.events("callback").await.len(), 1);
            browser.screenshot("callback-sent").await;
        }
        if i == 3 {
            // The page asks for the chat, which is not configured: the chooser, and one message.
            w.click("#psw-header").await;
            w.wait_hidden("#psw-panel").await;
            browser
                .js("window.publicStatsWidget.open('chat');", vec![])
                .await;
            w.wait_visible("#psw-tile-callback").await;
            expected.push(OPEN_CHAT);
        }
        let recorded = assert_owner_messages(&browser, &expected).await;
        assert!(
            recorded.attempts_to("ws://") == 1,
            "one live socket: {:?}",
            recorded.attempts
        );
    }
    browser.close().await;
}

async fn a_page_built_like_the_seeds_demo_works_from_another_origin(engine: Engine) {
    let pages = SeedPages::start().await;
    let app = spawn_app_with(&["--allowed-origins", &pages.origin()]).await;
    app.set_queue(DEMO_SALES_QUEUE, json!({ "agents": { "idle": 2 } }))
        .await;
    let browser = Browser::launch_in(engine, "seed-demo", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    for (i, (charset, jquery, legacy_chat)) in [(false, true, true), (true, false, false)]
        .into_iter()
        .enumerate()
    {
        let page = SeedPage {
            charset,
            jquery,
            legacy_chat,
            ..SeedPage::migrated(DEMO, app.addr, DEMO_SALES_QUEUE)
        };
        visit(&browser, &pages, &app, &page, i == 0).await;
        assert_is_the_variant(&browser, &page).await;
        assert_no_mojibake(&w).await;
        w.open().await;
        w.wait_text("#psw-agents", "2 agents available").await;
        // No header.activeText on this page: the chooser's own title.
        assert_eq!(w.text("#psw-title").await, "Choose a channel");
        assert_no_broken_image(&w).await;
        assert_visitor_text_is_for_visitors(&w).await;
        if i == 0 {
            browser.screenshot("opened").await;
            assert_no_violations_within(&browser, HOST, "seed demo page, opened").await;
            // Asking for the chat adds no second message about the chat.
            browser
                .js("window.publicStatsWidget.open('chat');", vec![])
                .await;
        }
        let expected: &[&str] = if legacy_chat {
            &[LOGO, LEGACY_CHAT]
        } else {
            &[LOGO]
        };
        assert_owner_messages(&browser, expected).await;
    }
    browser.close().await;
}

async fn each_seed_address_left_in_place_gives_one_clear_message_and_no_endless_retries(
    engine: Engine,
) {
    let pages = SeedPages::start().await;
    let app = spawn_app_with(&["--allowed-origins", &pages.origin()]).await;
    app.set_queue(DEMO_SALES_QUEUE, json!({ "agents": { "idle": 3 } }))
        .await;
    let browser = Browser::launch_in(engine, "seed-mistakes", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let migrated = SeedPage::migrated(README, app.addr, DEMO_SALES_QUEUE);
    let wrong = format!("ws://{}", closed_address());

    // The example's all-zero queueId: availability unknown, no callback (it would be refused),
    // no endless retries of the socket the service refuses.
    let page = SeedPage {
        queue: None,
        ..migrated.clone()
    };
    visit(&browser, &pages, &app, &page, true).await;
    w.open().await;
    w.wait_text("#psw-agents", "Live availability is not known right now.")
        .await;
    w.wait_hidden("#psw-tile-callback").await;
    w.wait_text("#psw-no-channel", "You cannot contact us here right now.")
        .await;
    assert_visitor_text_is_for_visitors(&w).await;
    browser.screenshot("unknown-queue").await;
    assert_no_violations_within(&browser, HOST, "seed page, unknown queue").await;
    assert_owner_messages(&browser, &[LOGO, CONTRAST, QUEUE]).await;
    assert_attempts_stop(&browser, &format!("ws://{}", app.addr), 2).await;

    // A wrong statsWebsocketUri: the service is found where the widget came from; live counts
    // and callbacks work.
    let page = SeedPage {
        stats_address: Some(wrong.clone()),
        ..migrated.clone()
    };
    visit(&browser, &pages, &app, &page, false).await;
    w.open().await;
    w.wait_text("#psw-agents", "3 agents available").await;
    app.set_queue(DEMO_SALES_QUEUE, json!({ "agents": { "idle": 2 } }))
        .await;
    w.wait_text("#psw-agents", "2 agents available").await;
    request_callback(&w).await;
    w.wait_text("#psw-callback-done-text", "Thank you").await;
    let recorded = assert_owner_messages(&browser, &[LOGO, CONTRAST, STATS_ADDRESS]).await;
    let message = recorded
        .widget_messages()
        .into_iter()
        .find(|m| m.contains(STATS_ADDRESS))
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(&wrong) && message.contains(&format!("ws://{}/", app.addr)),
        "the message names neither the wrong address nor the right one: {message}"
    );
    assert_attempts_stop(&browser, &wrong, 2).await;
    app.set_queue(DEMO_SALES_QUEUE, json!({ "agents": { "idle": 3 } }))
        .await;

    // scriptHost '/' on this page's site: the widget comes from the injector's own folder.
    let page = SeedPage {
        script_host_fixed: false,
        ..migrated.clone()
    };
    visit(&browser, &pages, &app, &page, false).await;
    w.open().await;
    w.wait_text("#psw-agents", "3 agents available").await;
    assert_no_broken_image(&w).await;
    let recorded = assert_owner_messages(&browser, &[SCRIPT_HOST, LOGO, CONTRAST]).await;
    assert!(
        recorded
            .widget_messages()
            .iter()
            .any(|m| m.contains(&format!("Set scriptHost to \"http://{}/\"", app.addr))),
        "the message does not say what scriptHost should be: {:#?}",
        recorded.widget_messages()
    );

    // All of the seed's addresses left (its ws://localhost:8080 played by a closed port): one
    // message for each.
    let page = SeedPage {
        script_host_fixed: false,
        stats_address: Some(wrong.clone()),
        queue: None,
        ..migrated.clone()
    };
    visit(&browser, &pages, &app, &page, false).await;
    w.open().await;
    w.wait_text("#psw-agents", "Live availability is not known right now.")
        .await;
    w.wait_hidden("#psw-tile-callback").await;
    assert_visitor_text_is_for_visitors(&w).await;
    assert_owner_messages(
        &browser,
        &[SCRIPT_HOST, LOGO, CONTRAST, STATS_ADDRESS, QUEUE],
    )
    .await;
    assert_attempts_stop(&browser, &wrong, 2).await;

    // Nothing answers (an explicit serviceUrl, wrong too, leaves nowhere else to look): one
    // message, then a few attempts with backoff, not a stream of them.
    let closed = format!("http://{}/", closed_address());
    let page = SeedPage {
        stats_address: Some(wrong.clone()),
        extra: Some(json!({ "serviceUrl": closed })),
        ..migrated.clone()
    };
    visit(&browser, &pages, &app, &page, false).await;
    w.open().await;
    w.wait_text("#psw-agents", "Live availability is not known right now.")
        .await;
    w.wait_hidden("#psw-tile-callback").await;
    w.wait_visible("#psw-no-channel").await;
    browser.screenshot("unreachable").await;
    assert_owner_messages(&browser, &[LOGO, CONTRAST, UNREACHABLE]).await;
    assert_attempts_stop(&browser, &wrong, 2).await;
    assert_attempts_stop(&browser, &closed, 1).await;
    browser.close().await;
}

async fn a_callback_from_a_site_missing_from_allowed_origins_tells_the_owner_once(engine: Engine) {
    let pages = SeedPages::start().await;
    // ALLOWED_ORIGINS not set: the page's origin may read statistics, not open the live socket
    // or send callbacks.
    let app = spawn_app().await;
    let browser = Browser::launch_in(engine, "seed-origin", Viewport::Desktop).await;
    let w = Widget::new(&browser);
    let page = SeedPage::migrated(README, app.addr, DEMO_SALES_QUEUE);
    visit(&browser, &pages, &app, &page, true).await;
    w.open().await;
    w.wait_text("#psw-agents", "available").await;
    request_callback(&w).await;
    w.wait_text("#psw-callback-error", "could not be sent")
        .await;
    // Again: the visitor is told again, the owner not.
    w.click("#psw-callback-submit").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.wait_text("#psw-callback-error", "could not be sent")
        .await;
    assert_visitor_text_is_for_visitors(&w).await;
    browser.screenshot("refused-origin").await;
    assert_no_violations_within(&browser, HOST, "seed page, callback refused").await;
    // The live socket is refused too (before the upgrade): the owner is told that once as well,
    // and the counts above came by polling.
    let recorded = assert_owner_messages(&browser, &[LOGO, CONTRAST, ORIGIN, SOCKET_ORIGIN]).await;
    for needle in [ORIGIN, SOCKET_ORIGIN] {
        let message = recorded
            .widget_messages()
            .into_iter()
            .find(|m| m.contains(needle))
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains(&format!("ALLOWED_ORIGINS={}", pages.origin())),
            "the message does not name this page's origin: {message}"
        );
    }
    assert_eq!(
        recorded
            .attempts
            .iter()
            .filter(|a| a.starts_with("fetch POST"))
            .count(),
        2,
        "the visitor sent twice: {:?}",
        recorded.attempts
    );
    browser.close().await;
}

/// The widget's box in screen pixels (CSS pixels times the page's zoom on the phone's screen).
async fn screen_rect(w: &Widget<'_>, selector: &str) -> [f64; 4] {
    let v = w
        .eval(&format!(
            "const r = $({}).getBoundingClientRect(); const s = visualViewport.scale; \
             const top = visualViewport.offsetTop, left = visualViewport.offsetLeft; \
             return [(r.x - left) * s, (r.y - top) * s, r.width * s, r.height * s];",
            json!(selector)
        ))
        .await;
    let n = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
    [n(0), n(1), n(2), n(3)]
}

/// Chromium only, and the reason is the browser drivers, not the widget: only chromedriver can
/// emulate a phone, whose browser lays out a page without a viewport tag 980 px wide and zooms it
/// out to fit the screen. geckodriver and WebKitWebDriver can only make the window small, which
/// gives the page a narrow layout instead, the case `mobile.rs` checks in every engine.
#[tokio::test]
async fn on_a_phone_a_seed_page_without_a_viewport_tag_gets_a_full_size_widget() {
    let pages = SeedPages::start().await;
    let app = spawn_app_with(&["--allowed-origins", &pages.origin()]).await;
    app.set_queue(DEMO_SALES_QUEUE, json!({ "agents": { "idle": 3 } }))
        .await;
    let browser = Browser::launch("seed-phone", Viewport::Phone).await;
    let w = Widget::new(&browser);
    let wrong = format!("ws://{}", closed_address());
    // Each of the seed's addresses left in place: the queue on the demo page, scriptHost and
    // statsWebsocketUri on the README page.
    for (i, page) in [
        SeedPage {
            charset: false,
            jquery: true,
            ..SeedPage::migrated(README, app.addr, DEMO_SALES_QUEUE)
        },
        SeedPage {
            legacy_chat: true,
            queue: None,
            ..SeedPage::migrated(DEMO, app.addr, DEMO_SALES_QUEUE)
        },
        SeedPage {
            script_host_fixed: false,
            stats_address: Some(wrong.clone()),
            ..SeedPage::migrated(README, app.addr, DEMO_SALES_QUEUE)
        },
    ]
    .iter()
    .enumerate()
    {
        visit(&browser, &pages, &app, page, i == 0).await;
        let layout = browser.viewport().await;
        let screen = browser
            .js("return [screen.width, screen.height];", vec![])
            .await;
        let (screen_width, screen_height) = (
            screen[0].as_f64().unwrap_or(f64::NAN),
            screen[1].as_f64().unwrap_or(f64::NAN),
        );
        assert!(
            screen_width < 480.0 && layout[0] > 900.0,
            "not a phone showing a page laid out wider than its {screen_width} px screen (no \
             viewport tag): the layout viewport is {layout:?}"
        );
        assert_no_mojibake(&w).await;

        // Collapsed: a bar as on any phone page, on screen, big enough to tap.
        let [x, y, width, height] = screen_rect(&w, "#psw-header").await;
        assert!(
            height >= 44.0 && width >= 200.0,
            "the collapsed header is {width}×{height} px on the screen: too small to read or tap"
        );
        assert!(
            x >= 0.0 && x + width <= screen_width + 0.5 && y + height <= screen_height + 0.5,
            "the collapsed header is off the {screen_width}×{screen_height} screen: {x},{y} {width}×{height}"
        );
        browser.screenshot(&format!("collapsed-{i}")).await;

        // Open: it fills the screen and its text is as large as on a phone page.
        w.open().await;
        let [rx, ry, rw, rh] = screen_rect(&w, "#psw").await;
        assert!(
            rx.abs() < 1.0
                && ry.abs() < 1.0
                && (rw - screen_width).abs() < 1.5
                && (rh - screen_height).abs() < 1.5,
            "the open widget does not fill the screen: {rx},{ry} {rw}×{rh}"
        );
        let [_, _, _, line] = screen_rect(&w, "#psw-agents").await;
        assert!(
            line >= 18.0,
            "the availability line is {line} px high on the screen: too small to read"
        );
        if i == 0 {
            w.wait_text("#psw-agents", "3 agents available").await;
            browser.screenshot("opened").await;
            assert_no_violations_within(&browser, HOST, "seed page on a phone, opened").await;
            // The callback form is usable: on screen, and it sends.
            request_callback(&w).await;
            w.wait_text("#psw-callback-done-text", "Thank you").await;
            let [fx, fy, fw, fh] = screen_rect(&w, "#psw-callback-close").await;
            assert!(
                fx >= 0.0
                    && fx + fw <= screen_width + 0.5
                    && fy >= 0.0
                    && fy + fh <= screen_height + 0.5,
                "the Close button is off screen: {fx},{fy} {fw}×{fh}"
            );
            browser.screenshot("callback-sent").await;
            assert_owner_messages(&browser, &[LOGO, CONTRAST]).await;
        } else if i == 1 {
            w.wait_text("#psw-agents", "Live availability is not known right now.")
                .await;
            w.wait_visible("#psw-no-channel").await;
            browser.screenshot("opened-unknown-queue").await;
            assert_no_violations_within(&browser, HOST, "seed demo page on a phone, unknown queue")
                .await;
            assert_owner_messages(&browser, &[LOGO, LEGACY_CHAT, QUEUE]).await;
        } else {
            w.wait_text("#psw-agents", "3 agents available").await;
            w.wait_visible("#psw-tile-callback").await;
            browser.screenshot("opened-seed-addresses").await;
            assert_owner_messages(&browser, &[SCRIPT_HOST, STATS_ADDRESS, LOGO, CONTRAST]).await;
            assert_attempts_stop(&browser, &wrong, 2).await;
        }
    }
    browser.close().await;
}
