//! Callback creation and lookup against the simulator.

use std::collections::BTreeMap;

use anyhow::Result;
use genesys::CreateCallback;
use genesys_sim::config::DEMO_SALES_QUEUE;
use serde_json::json;

use crate::helpers::Sim;

#[tokio::test]
async fn a_created_callback_sends_only_the_set_fields_and_can_be_looked_up() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client();
    let mut callback = CreateCallback::new(DEMO_SALES_QUEUE, "+15551230000");
    callback.callback_user_name = Some("Ana Visitor".into());
    callback.validate_callback_numbers = Some(true);
    callback.data = Some(BTreeMap::from([("source".to_owned(), "widget".to_owned())]));
    let created = client.create_callback(&callback).await?;
    assert!(!created.callback_identifiers.is_empty());

    let log = sim.requests().await?;
    let expected = json!({
        "routingData": {"queueId": DEMO_SALES_QUEUE.to_string()},
        "callbackNumbers": ["+15551230000"],
        "callbackUserName": "Ana Visitor",
        "validateCallbackNumbers": true,
        "data": {"source": "widget"},
    });
    assert_eq!(log.callbacks, [expected]);

    let conversation = client
        .callback_conversation(created.conversation.id)
        .await?;
    assert_eq!(conversation.id, created.conversation.id);
    let customer = conversation
        .participants
        .iter()
        .find(|participant| participant.callback_numbers.is_some())
        .expect("a participant with the callback number");
    assert_eq!(
        customer.callback_numbers.as_deref(),
        Some(&["+15551230000".to_owned()][..])
    );
    assert!(
        conversation
            .participants
            .iter()
            .any(|p| p.queue.as_ref().is_some_and(|q| q.id == DEMO_SALES_QUEUE)),
        "{conversation:?}"
    );
    Ok(())
}
