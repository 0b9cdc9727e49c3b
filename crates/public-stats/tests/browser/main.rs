//! The widget in real browsers — Chromium, Firefox and WebKit, the engines of Chrome, Firefox and
//! Safari (every browser on an iPhone) — driven over W3C WebDriver (fantoccini), against the real
//! service in sandbox mode with its simulator. One binary; each test starts its own driver and
//! browser ([`browser`]), its own service ([`helpers::spawn_app`], shared with the api tests) and,
//! for pages other than the service's own, its own host page server ([`host`], which also puts
//! the error probe into every page). Screenshots of each state go to
//! `target/browser-artifacts/<test>/`.
//!
//! Which tests run in which engine: the visitor's journeys ([`journey`], [`keyboard`], [`mobile`]),
//! the callback form against the service's answers ([`callback`]: also the CORS preflight of its
//! `Idempotency-Key`, and a honeypot that must stay out of every engine's tab order and
//! accessibility tree) and what depends on the engine more than on the widget's logic — the host pages' strict CSP,
//! hostile CSS and right-to-left layout ([`host_pages`]), the console errors of a broken
//! configuration, which prove the error probe in each engine, and the business hours' four states
//! as the header and chooser show them ([`hours`]) — run in all three, one test per
//! engine (`…::chromium`, `…::firefox`, `…::webkit`; see `in_every_engine!`). The rest checks
//! the widget's own logic, which no engine changes, and runs in Chromium only; so does what only
//! Chromium can do over WebDriver (emulating `prefers-reduced-motion`).
//!
//! Run with `cargo test -p public-stats --test browser` (one engine: add `-- webkit`); needs
//! `chromium`, `chromium-driver`, `firefox-esr`, `webkit2gtk-driver` and `xvfb` (Debian), the
//! `geckodriver` crate, and `npm ci` in `tests/browser/axe/` (scripts/test installs all of them).

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
mod chat_files;
mod chat_rich;
mod chat_session;
mod host_pages;
mod hours;
mod invitation;
mod journey;
mod keyboard;
mod languages;
mod load;
mod loader;
mod mobile;
mod seed_pages;
mod settings;
mod stats;
