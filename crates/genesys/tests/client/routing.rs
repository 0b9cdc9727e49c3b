//! Queues and estimated wait times against the simulator's demo org (Sales, Support, Billing).

use anyhow::Result;
use genesys::routing::QueueListing;
use genesys::{Error, EwtMediaType};
use genesys_sim::config::{DEMO_BILLING_QUEUE, DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{EWT, MEDIA_EWT, QUEUES, Sim};

#[tokio::test]
async fn listing_follows_every_page() -> Result<()> {
    let sim = Sim::start().await?;
    let listing = QueueListing {
        page_size: 1,
        ..QueueListing::default()
    };
    let queues = sim.client().list_queues_with(&listing).await?;
    let mut ids: Vec<Uuid> = queues.iter().map(|queue| queue.id).collect();
    ids.sort();
    let mut expected = vec![DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE];
    expected.sort();
    assert_eq!(ids, expected);
    assert!(queues.iter().any(|queue| queue.name == "Support"));
    assert_eq!(sim.count(QUEUES).await?, 3, "one request per page");
    Ok(())
}

#[tokio::test]
async fn listing_filters_by_name() -> Result<()> {
    let sim = Sim::start().await?;
    let listing = QueueListing {
        name: Some("Sup*".into()),
        ..QueueListing::default()
    };
    let queues = sim.client().list_queues_with(&listing).await?;
    assert_eq!(
        queues.iter().map(|queue| queue.id).collect::<Vec<_>>(),
        [DEMO_SUPPORT_QUEUE]
    );
    Ok(())
}

#[tokio::test]
async fn queues_are_found_in_the_order_asked_and_missing_ones_reported() -> Result<()> {
    let sim = Sim::start().await?;
    let unknown = Uuid::new_v4();
    let lookup = sim
        .client()
        .find_queues(&[DEMO_BILLING_QUEUE, unknown, DEMO_SALES_QUEUE])
        .await?;
    let found: Vec<Uuid> = lookup.found.iter().map(|queue| queue.id).collect();
    assert_eq!(found, [DEMO_BILLING_QUEUE, DEMO_SALES_QUEUE]);
    assert!(lookup.found.iter().all(|queue| !queue.name.is_empty()));
    assert_eq!(lookup.missing, [unknown]);
    Ok(())
}

#[tokio::test]
async fn ewt_is_known_with_agents_and_unknown_with_nobody_on_queue() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client();
    sim.set_queue_state(
        DEMO_SALES_QUEUE,
        json!({"agents": {"idle": 0, "busy": 1}, "waiting": {"voice": 3}}),
    )
    .await?;
    sim.set_queue_state(DEMO_BILLING_QUEUE, json!({"agents": {"offQueue": 2}}))
        .await?;
    let known = client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    assert!(known.is_some_and(|seconds| seconds > 0), "{known:?}");
    assert_eq!(client.estimated_wait_time(DEMO_BILLING_QUEUE).await?, None);
    assert_eq!(
        client
            .estimated_wait_time_for(DEMO_BILLING_QUEUE, EwtMediaType::Call)
            .await?,
        None
    );
    Ok(())
}

#[tokio::test]
async fn every_ewt_media_type_is_a_path_the_api_accepts() -> Result<()> {
    let sim = Sim::start().await?;
    sim.set_queue_state(
        DEMO_SALES_QUEUE,
        json!({"agents": {"idle": 1}, "waiting": {"voice": 1}}),
    )
    .await?;
    let client = sim.client();
    for media in EwtMediaType::EVERY {
        let result = client
            .estimated_wait_time_for(DEMO_SALES_QUEUE, media)
            .await;
        assert!(result.is_ok(), "{media}: {result:?}");
    }
    assert_eq!(sim.count(MEDIA_EWT).await?, 7);
    Ok(())
}

#[tokio::test]
async fn an_unknown_queue_is_a_typed_404_with_genesys_error_body() -> Result<()> {
    let sim = Sim::start().await?;
    let error = sim
        .client()
        .estimated_wait_time(Uuid::new_v4())
        .await
        .unwrap_err();
    match error {
        Error::Api { status, body } => {
            assert_eq!(status.as_u16(), 404);
            let body = body.expect("the simulator sends an ErrorBody");
            assert_eq!(
                (body.code.as_deref(), body.status),
                (Some("not.found"), Some(404))
            );
        }
        other => panic!("expected Api 404, got {other:?}"),
    }
    assert_eq!(sim.count(EWT).await?, 1, "a 404 is not retried");
    Ok(())
}
