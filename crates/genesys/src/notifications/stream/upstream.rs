//! The REST side of the stream, through [`GenesysClient`]: open a channel (create + subscribe),
//! check one still exists, read the observations snapshot. Every call goes through the client's
//! current token, which it refreshes on a 401, so reconnects survive token expiry.
//!
//! It is a thin adapter: no retries or backoff here (the client retries what is safe; the
//! supervisor backs off between connections).

use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::analytics::QueueObservations;
use crate::notifications::channels::{ChannelId, ConnectUri};
use crate::{Error, GenesysClient};

/// The client and what the stream watches.
pub(crate) struct Upstream {
    client: GenesysClient,
    queues: Vec<Uuid>,
}

/// A subscribed channel. Its id and URI print redacted, so a lease may be logged.
#[derive(Debug)]
pub(crate) struct Lease {
    pub(crate) id: ChannelId,
    connect_uri: ConnectUri,
    /// From now until Genesys's `expires`.
    pub(crate) lifetime: Duration,
}

impl Lease {
    pub(crate) fn connect_uri(&self) -> &str {
        self.connect_uri.expose_secret()
    }
}

impl Upstream {
    pub(crate) fn new(client: GenesysClient, queues: Vec<Uuid>) -> Self {
        Upstream { client, queues }
    }

    /// Creates a channel and subscribes it to the queues' observation topics.
    ///
    /// Any failure, a 404 on subscribe included, leaves no channel behind: the next attempt
    /// creates a fresh one rather than retrying a channel that may be gone.
    pub(crate) async fn open_channel(&self) -> Result<Lease, Error> {
        let channel = self.client.create_channel().await?;
        let topics = self
            .client
            .subscribe_queue_observations(&channel.id, &self.queues)
            .await?;
        for topic in topics.iter().filter(|t| t.is_rejected()) {
            // Genesys keeps the channel; the queue just stays silent apart from snapshots.
            tracing::warn!(topic = %topic.id, reason = ?topic.rejection_reason, "subscription rejected");
        }
        let left = channel.expires - OffsetDateTime::now_utc();
        Ok(Lease {
            id: channel.id,
            connect_uri: channel.connect_uri,
            lifetime: Duration::try_from(left).unwrap_or(Duration::ZERO),
        })
    }

    /// How to open the channel's socket (TLS roots as the client's REST calls).
    pub(crate) fn websocket_connector(&self) -> Option<tokio_tungstenite::Connector> {
        self.client.websocket_connector()
    }

    /// HEAD on the channel: `false` on a 404.
    pub(crate) async fn channel_exists(&self, lease: &Lease) -> Result<bool, Error> {
        self.client.channel_exists(&lease.id).await
    }

    pub(crate) async fn snapshot(&self) -> Result<Vec<QueueObservations>, Error> {
        self.client.query_queue_observations(&self.queues).await
    }
}
