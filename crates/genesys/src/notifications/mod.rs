//! The Notifications API: REST management of channels and their subscriptions (`channels`).
//!
//! The WebSocket stream that reads a channel is not here yet; it will be `stream.rs`.

pub mod channels;
pub mod stream;
