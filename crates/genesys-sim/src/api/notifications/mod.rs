//! The Genesys Cloud Notifications API: channels and their topic subscriptions over
//! REST, the channel WebSocket with heartbeats and queue observation events, and the `/__sim/`
//! routes that break sockets on purpose.
//!
//! It is not a general notification service: the only topic it knows is
//! `v2.analytics.queues.{queueId}.observations`, fed by the contact-centre model's queue changes,
//! plus the `channel.metadata` and `v2.system.*` messages every socket gets.
//!
//! Files: `registry.rs` (channels, limits, expiry), `rest.rs` (REST), `socket.rs` (WebSocket),
//! `messages.rs` (every frame's JSON), `control.rs` (`/__sim/` routes).

mod control;
mod messages;
mod registry;
mod rest;
mod socket;

use axum::Router;
use axum::routing::{get, head, post};

use crate::state::SimState;

pub use registry::{Channels, MAX_CHANNELS, MAX_TOPICS};

pub fn router() -> Router<SimState> {
    let channel = "/api/v2/notifications/channels";
    Router::new()
        .route(channel, post(rest::create).get(rest::list))
        .route(&format!("{channel}/{{channelId}}"), head(rest::head))
        .route(
            &format!("{channel}/{{channelId}}/subscriptions"),
            get(rest::subscriptions)
                .post(rest::add)
                .put(rest::replace)
                .delete(rest::remove_all),
        )
        .route("/channels/{channelId}", get(socket::connect))
        .route("/__sim/notifications/drop", post(control::drop_sockets))
        .route(
            "/__sim/notifications/socket-closing",
            post(control::socket_closing),
        )
        .route("/__sim/notifications/silence", post(control::silence))
        .route(
            "/__sim/notifications/no-longer-subscribed",
            post(control::no_longer_subscribed),
        )
        .route("/__sim/channels/expire", post(control::expire_channels))
        .route("/__sim/notifications/channels", get(control::channels))
}
