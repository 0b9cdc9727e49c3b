//! The service's integration tests: one binary (link time matters on 2 cores), one module per
//! capability. Every test spawns the real service on port 0 in sandbox mode — the simulator is
//! its upstream — and talks to it over real HTTP and WebSocket (`hours` also reads the sandbox's
//! simulator with a client of its own).

// A panic is how a test fails; unwrap in helpers is as fine as in #[test] functions.
#![allow(clippy::unwrap_used)]

mod helpers;
mod logs;

mod assets;
mod callback_delivery;
mod callback_limits;
mod callbacks;
mod cluster_budget;
mod cluster_callbacks;
mod cluster_ewt;
mod cluster_live;
mod config;
mod connected;
mod cors;
mod crash;
mod deploy;
mod errors;
mod ewt_budget;
mod headers;
mod health;
mod hours;
mod hours_api;
mod observability;
mod openapi;
mod push;
mod push_limits;
mod queues;
mod serving;
mod shutdown;
mod stats;
mod tls;
