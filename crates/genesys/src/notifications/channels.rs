//! Notification channels over REST: create one, replace its subscriptions, check it still exists.
//!
//! A channel's `connectUri` (and so its id) is a bearer capability: whoever has it can read the
//! channel without a token. [`ConnectUri`] and [`ChannelId`] therefore never print in full.
//! Connecting to the WebSocket is not done here.

use std::fmt;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::GenesysClient;
use crate::budget::Priority;
use crate::error::Error;
use crate::http::{Request, Route};

const CHANNELS: &str = "/api/v2/notifications/channels";
const CHANNEL: &str = "/api/v2/notifications/channels/{channelId}";
const SUBSCRIPTIONS: &str = "/api/v2/notifications/channels/{channelId}/subscriptions";

/// The observations topic of one queue.
pub fn queue_observations_topic(queue_id: Uuid) -> String {
    format!("v2.analytics.queues.{queue_id}.observations")
}

/// A channel id. `Debug` shows only its first characters.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelId(String);

impl ChannelId {
    pub fn new(id: impl Into<String>) -> Self {
        ChannelId(id.into())
    }

    /// The id itself, for a request path.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(12).collect();
        write!(f, "ChannelId({shown}…[REDACTED])")
    }
}

/// The WebSocket URI of a channel. `Debug`/`Display` keep scheme and host, redact the rest.
#[derive(Clone)]
pub struct ConnectUri(SecretString);

impl ConnectUri {
    pub fn new(uri: impl Into<String>) -> Self {
        ConnectUri(SecretString::from(uri.into()))
    }

    /// The full URI, for the one place that connects to it.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    fn redacted(&self) -> String {
        match Url::parse(self.expose_secret()) {
            Ok(url) => {
                let port = url
                    .port()
                    .map(|port| format!(":{port}"))
                    .unwrap_or_default();
                format!(
                    "{}://{}{port}/[REDACTED]",
                    url.scheme(),
                    url.host_str().unwrap_or("")
                )
            }
            Err(_) => "[REDACTED]".to_owned(),
        }
    }
}

impl fmt::Debug for ConnectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectUri({})", self.redacted())
    }
}

impl fmt::Display for ConnectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A notification channel.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: ChannelId,
    pub connect_uri: ConnectUri,
    pub expires: OffsetDateTime,
}

/// The `Channel` model; the fields are optional in the model but a channel without them is
/// useless, so they are required here.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelBody {
    id: String,
    connect_uri: String,
    #[serde(with = "time::serde::rfc3339")]
    expires: OffsetDateTime,
}

/// `ChannelTopic`: a subscription and whether Genesys accepted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTopic {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
}

impl ChannelTopic {
    /// A topic to subscribe to.
    pub fn new(id: impl Into<String>) -> Self {
        ChannelTopic {
            id: id.into(),
            state: None,
            rejection_reason: None,
        }
    }

    /// Genesys said `Rejected` (e.g. missing permission or unknown queue).
    pub fn is_rejected(&self) -> bool {
        self.state
            .as_deref()
            .is_some_and(|state| state.eq_ignore_ascii_case("Rejected"))
    }
}

/// Genesys documents `ChannelTopicEntityListing`; a bare list is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum TopicList {
    Listing {
        #[serde(default)]
        entities: Vec<ChannelTopic>,
    },
    Bare(Vec<ChannelTopic>),
}

impl GenesysClient {
    /// `POST /api/v2/notifications/channels`.
    pub async fn create_channel(&self) -> Result<Channel, Error> {
        let url = self.api_url(&["api", "v2", "notifications", "channels"])?;
        // Creating a channel twice only leaves an unused one, which Genesys evicts first.
        let route = Route::idempotent(Method::POST, CHANNELS);
        let body: ChannelBody = self
            .send(Request::new(route, url, Priority::Normal))
            .await?
            .json("channel")?;
        Ok(Channel {
            id: ChannelId(body.id),
            connect_uri: ConnectUri::new(body.connect_uri),
            expires: body.expires,
        })
    }

    /// `PUT /api/v2/notifications/channels/{id}/subscriptions`: replaces the channel's topics.
    pub async fn replace_subscriptions(
        &self,
        channel: &ChannelId,
        topics: &[ChannelTopic],
    ) -> Result<Vec<ChannelTopic>, Error> {
        let url = self.api_url(&[
            "api",
            "v2",
            "notifications",
            "channels",
            channel.expose(),
            "subscriptions",
        ])?;
        let request = Request::new(
            Route::idempotent(Method::PUT, SUBSCRIPTIONS),
            url,
            Priority::Normal,
        )
        .json(&topics)?;
        let listing: TopicList = self.send(request).await?.json("channel topics")?;
        Ok(match listing {
            TopicList::Listing { entities } => entities,
            TopicList::Bare(topics) => topics,
        })
    }

    /// Subscribes the channel to the observations topics of `queues` (replacing its topics).
    pub async fn subscribe_queue_observations(
        &self,
        channel: &ChannelId,
        queues: &[Uuid],
    ) -> Result<Vec<ChannelTopic>, Error> {
        let topics: Vec<ChannelTopic> = queues
            .iter()
            .map(|queue| ChannelTopic::new(queue_observations_topic(*queue)))
            .collect();
        self.replace_subscriptions(channel, &topics).await
    }

    /// `HEAD /api/v2/notifications/channels/{id}`: 200 → true, 404 → false.
    pub async fn channel_exists(&self, channel: &ChannelId) -> Result<bool, Error> {
        let url = self.api_url(&["api", "v2", "notifications", "channels", channel.expose()])?;
        match self
            .send(Request::new(
                Route::idempotent(Method::HEAD, CHANNEL),
                url,
                Priority::Normal,
            ))
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::Api {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str =
        "wss://streaming.mypurecloud.com/channels/streaming-0-fmtdmf8cdis7jh14udg5p89t6z";

    #[test]
    fn connect_uri_and_channel_id_never_print_the_capability() {
        let channel = Channel {
            id: ChannelId::new("streaming-0-fmtdmf8cdis7jh14udg5p89t6z"),
            connect_uri: ConnectUri::new(URI),
            expires: OffsetDateTime::UNIX_EPOCH,
        };
        let shown = format!("{channel:?} {}", channel.connect_uri);
        assert!(!shown.contains("fmtdmf8cdis7jh14udg5p89t6z"), "{shown}");
        assert!(
            shown.contains("wss://streaming.mypurecloud.com/[REDACTED]"),
            "{shown}"
        );
        assert_eq!(channel.connect_uri.expose_secret(), URI);
        assert_eq!(
            format!("{:?}", ConnectUri::new("not a uri")),
            "ConnectUri([REDACTED])"
        );
    }

    #[test]
    fn parses_the_documented_channel_and_both_topic_list_shapes() {
        let body: ChannelBody = serde_json::from_str(&format!(
            r#"{{"connectUri":"{URI}","id":"streaming-0-x","expires":"2020-08-12T12:41:54.707Z"}}"#
        ))
        .unwrap();
        assert_eq!(body.expires.year(), 2020);
        let listing: TopicList =
            serde_json::from_str(r#"{"entities":[{"id":"t","state":"Permitted"}]}"#).unwrap();
        let bare: TopicList =
            serde_json::from_str(r#"[{"id":"t","state":"Rejected","rejectionReason":"no"}]"#)
                .unwrap();
        assert!(
            matches!(listing, TopicList::Listing { entities } if entities[0].state.as_deref() == Some("Permitted"))
        );
        assert!(matches!(bare, TopicList::Bare(topics) if topics[0].is_rejected()));
    }

    #[test]
    fn subscription_body_is_a_list_of_topic_ids() {
        let queue = uuid::uuid!("1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01");
        let body =
            serde_json::to_string(&[ChannelTopic::new(queue_observations_topic(queue))]).unwrap();
        assert_eq!(
            body,
            r#"[{"id":"v2.analytics.queues.1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01.observations"}]"#
        );
    }
}
