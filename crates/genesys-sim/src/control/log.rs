//! The request log: what reached "Genesys", for tests to assert on (`GET /__sim/requests`).
//!
//! It records every request to a non-control route (WebSocket upgrades included, as `101`) when
//! it arrives, and its status when answered; a request that never got an answer (a `hang` fault,
//! a client that gave up) keeps `status: null`. It is not an access log for humans: `tracing`
//! does that.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

/// Entries and callback bodies kept at most; older ones are dropped so a long-running sandbox does
/// not grow without bound. Counts are never dropped (they are bounded by the number of routes).
/// Callback bodies are few and small (under 1 KiB), and a crash-safety run counts every one of
/// thousands, so they are kept longer.
const MAX_ENTRIES: usize = 10_000;
pub const MAX_CALLBACKS: usize = 20_000;

pub struct RequestLog {
    started: Instant,
    /// Incremented on every entry; lets a late status find its entry after older ones were dropped.
    next_seq: u64,
    counts: BTreeMap<String, u64>,
    entries: VecDeque<Entry>,
    callbacks: VecDeque<Value>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(skip)]
    seq: u64,
    /// `METHOD /path/{template}`, the key of `counts` and of fault routes.
    pub route: String,
    pub method: String,
    /// The concrete path (no query string).
    pub path: String,
    /// `HTTP/1.1` or `HTTP/2.0`: which protocol the client's connection speaks (over TLS, chosen
    /// by ALPN).
    pub http_version: String,
    pub status: Option<u16>,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
}

#[derive(Serialize)]
pub struct LogView<'a> {
    counts: &'a BTreeMap<String, u64>,
    entries: &'a VecDeque<Entry>,
    callbacks: &'a VecDeque<Value>,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog {
            started: Instant::now(),
            next_seq: 0,
            counts: BTreeMap::new(),
            entries: VecDeque::new(),
            callbacks: VecDeque::new(),
        }
    }
}

impl RequestLog {
    /// Records an arriving request; returns the handle to give its status later.
    pub fn record(&mut self, route: &str, method: &str, path: &str, http_version: &str) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        *self.counts.entry(route.to_owned()).or_insert(0) += 1;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry {
            seq,
            route: route.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            http_version: http_version.to_owned(),
            status: None,
            at_ms: self.started.elapsed().as_millis() as u64,
        });
        seq
    }

    pub fn set_status(&mut self, seq: u64, status: u16) {
        // Newest first: the entry is almost always at the end.
        if let Some(entry) = self.entries.iter_mut().rev().find(|e| e.seq == seq) {
            entry.status = Some(status);
        }
    }

    /// Keeps the raw body of a `POST /api/v2/conversations/callbacks`.
    pub fn record_callback(&mut self, body: Value) {
        if self.callbacks.len() >= MAX_CALLBACKS {
            self.callbacks.pop_front();
        }
        self.callbacks.push_back(body);
    }

    /// Forgets everything recorded (the clock of `atMs` keeps running from the simulator's start).
    pub fn reset(&mut self) {
        self.counts.clear();
        self.entries.clear();
        self.callbacks.clear();
    }

    pub fn view(&self) -> LogView<'_> {
        LogView {
            counts: &self.counts,
            entries: &self.entries,
            callbacks: &self.callbacks,
        }
    }
}
