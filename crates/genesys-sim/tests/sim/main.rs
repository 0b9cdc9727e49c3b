//! The simulator over real HTTP: one test binary, one module per API area. Keep this file a list
//! of `mod` lines; shared set-up lives in `helpers.rs`.

mod helpers;

mod analytics;
mod architect;
mod auth;
mod callbacks;
mod control;
mod faults;
mod follow_hours;
mod notifications;
mod organization;
mod rate_limit;
mod request_log;
mod routing;
mod tls;
mod webmessaging;
