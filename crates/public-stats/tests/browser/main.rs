//! The widget in a real browser: headless Debian Chromium over WebDriver
//! (fantoccini + chromedriver), against the real service in sandbox mode with its simulator.
//! One binary; each test starts its own chromedriver and Chromium ([`browser`]), its own service
//! ([`helpers::spawn_app`], shared with the api tests) and, for pages other than the demo page,
//! its own host page server ([`host`]). Screenshots of each state go to
//! `target/browser-artifacts/<test>/`.
//!
//! Run with `cargo test -p public-stats --test browser`; needs `chromium`, `chromium-driver` and
//! `npm ci` in `tests/browser/axe/` (scripts/test installs all three).

// Shared with the api tests; this binary uses only some of its re-exports.
#[allow(unused_imports)]
#[path = "../api/helpers.rs"]
mod helpers;

mod axe;
#[macro_use]
mod browser;
mod host;
mod seed_host;
mod widget;

mod callback;
mod chat;
mod host_pages;
mod journey;
mod keyboard;
mod languages;
mod loader;
mod mobile;
mod seed_pages;
mod settings;
mod stats;
