//! `public-stats`: the service that holds the Genesys Cloud credentials and gives anonymous web
//! pages what they may see — live queue statistics, estimated wait times, a callback form and the
//! widget's files. It replaces "the seed", Genesys's old Node.js "Public Stats Service and chat
//! widget example", and keeps its API, settings and file paths so pages written for it still work.
//!
//! Code map: [`config`] (settings, read once) → [`startup`] (builds everything, binds, serves) →
//! [`state`] (what handlers share, one owner per part). Capabilities: [`queues`] (the public
//! allow-list), [`stats`] (live observations, the EWT cache and the per-queue feeds,
//! `GET /api/stats/{queueId}`), [`push`] (WebSockets), [`callbacks`] (`POST /api/callback`),
//! [`cors`] and [`origin`] (which pages may call it), [`security_headers`] (what browsers may do with
//! the answers), [`assets`] (the embedded widget files), [`health`],
//! [`telemetry`] (metrics, request ids, log format), [`openapi`] (the API's description).
//! [`serve`] is the port's accept loop: connection cap, timeouts, TLS, graceful shutdown.
//! [`sandbox`] runs the Genesys simulator in-process when no credentials are configured.
//! [`cluster`] is clustered mode: several instances sharing state through Redis (`REDIS_URL`).
//! [`hours`] evaluates Genesys business hours (open, closed, holiday, emergency; the next change
//! and the week's open periods), and its `keeper` keeps the configured groups fresh and says
//! when a queue opens or closes.
//!
//! It is not a Genesys client (that is the `genesys` crate) and holds no visitor data beyond a
//! request's lifetime.

pub mod assets;
pub mod callbacks;
pub mod client_address;
pub mod cluster;
pub mod config;
pub mod cors;
pub mod health;
pub mod hours;
pub mod openapi;
pub mod origin;
pub mod problem;
pub mod push;
pub mod queues;
pub mod sandbox;
pub mod security_headers;
pub mod serve;
pub mod startup;
pub mod state;
pub mod stats;
pub mod telemetry;
