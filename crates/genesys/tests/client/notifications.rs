//! Notification channel management over REST (the WebSocket side is in `stream`).

use anyhow::Result;
use genesys::ChannelId;
use genesys_sim::config::{DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::Sim;

#[tokio::test]
async fn a_channel_is_created_subscribed_and_found() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client();
    let channel = client.create_channel().await?;
    assert!(channel.expires > OffsetDateTime::now_utc());
    assert!(
        channel
            .connect_uri
            .expose_secret()
            .starts_with("ws://127.0.0.1")
    );
    assert!(
        !format!("{channel:?}").contains(channel.id.expose()),
        "Debug hides the capability"
    );

    let topics = client
        .subscribe_queue_observations(&channel.id, &[DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE])
        .await?;
    let ids: Vec<&str> = topics.iter().map(|topic| topic.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            format!("v2.analytics.queues.{DEMO_SALES_QUEUE}.observations"),
            format!("v2.analytics.queues.{DEMO_SUPPORT_QUEUE}.observations")
        ]
    );
    assert!(
        topics.iter().all(|topic| !topic.is_rejected()),
        "{topics:?}"
    );

    assert!(client.channel_exists(&channel.id).await?);
    assert!(
        !client
            .channel_exists(&ChannelId::new("streaming-0-nope"))
            .await?
    );
    Ok(())
}

#[tokio::test]
async fn a_topic_for_an_unknown_queue_is_rejected_not_an_error() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client();
    let channel = client.create_channel().await?;
    let topics = client
        .subscribe_queue_observations(&channel.id, &[Uuid::new_v4()])
        .await;
    // Genesys either rejects the topic in the listing or refuses the request; both are typed.
    match topics {
        Ok(topics) => assert!(
            topics
                .iter()
                .all(|topic| topic.is_rejected() || topic.state.is_none()),
            "{topics:?}"
        ),
        Err(genesys::Error::Api { status, .. }) => assert!(status.is_client_error()),
        Err(other) => panic!("unexpected {other:?}"),
    }
    Ok(())
}
