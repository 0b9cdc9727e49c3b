//! The `genesys` client against the simulator over real HTTP, as one test binary (one link on a
//! 2-core machine). `helpers` starts a simulator per test and reads its control API.

mod analytics;
mod architect;
mod auth;
mod callbacks;
mod failures;
mod helpers;
mod notifications;
mod routing;
mod stream;
mod tls;
