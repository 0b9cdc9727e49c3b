//! The observations query against states set in the simulator.

use anyhow::Result;
use genesys::RoutingStatus;
use genesys_sim::config::{DEMO_BILLING_QUEUE, DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE};
use serde_json::json;

use crate::helpers::{OBSERVATIONS, Sim};

#[tokio::test]
async fn observations_reflect_the_state_of_each_queue() -> Result<()> {
    let sim = Sim::start().await?;
    sim.set_queue_state(
        DEMO_SALES_QUEUE,
        json!({"agents": {"idle": 2, "busy": 1, "offQueue": 1}, "waiting": {"voice": 3, "callback": 1}, "interacting": {"voice": 1}}),
    )
    .await?;
    sim.set_queue_state(DEMO_SUPPORT_QUEUE, json!({"agents": {"idle": 0, "busy": 4}, "waiting": {"message": 2}, "interacting": {"message": 4}}))
        .await?;
    let observed = sim
        .client()
        .query_queue_observations(&[DEMO_SUPPORT_QUEUE, DEMO_SALES_QUEUE])
        .await?;
    assert_eq!(
        sim.count(OBSERVATIONS).await?,
        1,
        "one query for both queues"
    );
    let [support, sales] = observed.as_slice() else {
        panic!("{observed:?}")
    };
    assert_eq!(
        (support.queue_id, sales.queue_id),
        (DEMO_SUPPORT_QUEUE, DEMO_SALES_QUEUE),
        "in the order asked"
    );

    assert_eq!((sales.available_agents(), sales.busy_agents()), (2, 1));
    assert_eq!(sales.routing_status(RoutingStatus::OffQueue), 1);
    assert_eq!(sales.off_queue_users(), 1);
    assert_eq!(sales.on_queue_users(), 3);
    assert_eq!(sales.waiting(Some("voice")), 3);
    assert_eq!(sales.waiting(Some("callback")), 1);
    assert_eq!(sales.waiting(None), 4);
    assert_eq!(sales.interacting(Some("voice")), 1);

    assert_eq!((support.available_agents(), support.busy_agents()), (0, 4));
    assert_eq!(
        (
            support.waiting(Some("message")),
            support.interacting(Some("message"))
        ),
        (2, 4)
    );
    assert_eq!(support.waiting(Some("voice")), 0);
    Ok(())
}

#[tokio::test]
async fn a_queue_without_rows_reads_as_zero_and_no_queues_send_nothing() -> Result<()> {
    let sim = Sim::start().await?;
    sim.set_queue_state(DEMO_BILLING_QUEUE, json!({})).await?;
    let client = sim.client();
    let observed = client
        .query_queue_observations(&[DEMO_BILLING_QUEUE])
        .await?;
    assert_eq!(
        (observed[0].available_agents(), observed[0].waiting(None)),
        (0, 0)
    );
    assert!(client.query_queue_observations(&[]).await?.is_empty());
    assert_eq!(sim.count(OBSERVATIONS).await?, 1);
    Ok(())
}

#[tokio::test]
async fn waiting_conversations_come_longest_waiting_first() -> Result<()> {
    let sim = Sim::start().await?;
    sim.set_queue_state(
        DEMO_SALES_QUEUE,
        json!({"agents": {"offQueue": 1}, "waiting": {"voice": 2}}),
    )
    .await?;
    // With nobody on queue the estimate is the longest wait so far: once it is a second, the
    // simulated clock has moved on and the callback queues strictly later than the calls.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while sim.client().estimated_wait_time(DEMO_SALES_QUEUE).await? < Some(1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the clock never moved"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let callback = sim
        .client()
        .create_callback(&genesys::CreateCallback::new(
            DEMO_SALES_QUEUE,
            "+13175550123",
        ))
        .await?;
    let waiting = sim.client().waiting_conversations(DEMO_SALES_QUEUE).await?;
    let media: Vec<&str> = waiting.iter().map(|w| w.media_type.as_str()).collect();
    assert_eq!(media, ["voice", "voice", "callback"], "{waiting:?}");
    assert_eq!(waiting[2].conversation_id, callback.conversation.id);
    assert!(waiting[0].since <= waiting[1].since && waiting[1].since < waiting[2].since);
    Ok(())
}
