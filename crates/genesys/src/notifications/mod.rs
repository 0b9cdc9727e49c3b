//! The Notifications API: REST management of channels and their subscriptions (`channels`), and
//! the self-healing stream of queue observations read from a channel's WebSocket (`stream`).

pub mod channels;
pub mod stream;
