//! The `observations[]` of an observation row whose metric is named in `detailMetrics`: one
//! `ObservationValue` per waiting (`oWaiting`) or handled (`oInteracting`) conversation of that
//! queue and media type, oldest first, as Genesys lists them. Clients build "longest waiting" and
//! "position in queue" from these.
//!
//! Who the customers are is made up from the conversation id (a stable name and a fictional
//! number), except for callbacks, whose name and number are the ones the callback was created
//! with.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::api::iso_millis;
use crate::model::{Interaction, InteractionState, MediaType, Model};

/// Names for simulated customers, picked by conversation id.
const CUSTOMER_NAMES: [&str; 8] = [
    "Alex Moreau",
    "Bea Schmidt",
    "Carlos Ruiz",
    "Dana Whitfield",
    "Emeka Obi",
    "Fatima Zahra",
    "Gus Lindqvist",
    "Hana Sato",
];
/// The number customers call (`addressTo`, `dnis`) and the address email goes to.
const QUEUE_NUMBER: &str = "+13175550100";

/// The observations of `metric` (`oWaiting` or `oInteracting`) for one queue and media type.
pub fn observations(model: &Model, queue: Uuid, media: MediaType, metric: &str) -> Vec<Value> {
    let mut wanted: Vec<(f64, Value)> = model
        .queue_interactions(queue)
        .into_iter()
        .filter(|i| i.media == media)
        .filter_map(|i| match (metric, &i.state) {
            ("oWaiting", InteractionState::Waiting) => {
                Some((i.queued_at, observation(model, i, i.queued_at, None)))
            }
            ("oInteracting", InteractionState::Interacting { agent, since, .. }) => {
                // Interactions a test set up without a busy agent to hold them have no user.
                let user = (!agent.is_nil()).then_some(*agent);
                Some((*since, observation(model, i, *since, user)))
            }
            _ => None,
        })
        .collect();
    // Sorted by timestamp, ascending; arrival order breaks ties.
    wanted.sort_by(|a, b| a.0.total_cmp(&b.0));
    wanted.into_iter().map(|(_, value)| value).collect()
}

fn observation(model: &Model, interaction: &Interaction, since: f64, user: Option<Uuid>) -> Value {
    let id = interaction.conversation_id;
    let callback = model.callback(id);
    let name = callback
        .and_then(|c| c.spec.user_name.clone())
        .unwrap_or_else(|| customer_name(id).to_owned());
    let mut value = Map::new();
    let mut put = |key: &str, v: Value| {
        value.insert(key.to_owned(), v);
    };
    put("observationDate", json!(iso_millis(model.date_of(since))));
    put("conversationId", json!(id));
    // One session per conversation: the customer's.
    put(
        "sessionId",
        json!(Uuid::from_u128(id.as_u128().rotate_left(64))),
    );
    put("requestedRoutingSkillIds", json!([]));
    put("routingPriority", json!(0));
    put("participantName", json!(name));
    put("direction", json!("inbound"));
    put("requestedRoutings", json!(["Standard"]));
    if let Some(user) = user {
        put("userId", json!(user));
        put("usedRouting", json!("Standard"));
    }
    let number = callback
        .and_then(|c| c.spec.numbers.first().cloned())
        .unwrap_or_else(|| customer_number(id));
    match interaction.media {
        MediaType::Voice => {
            let (from, to) = (format!("tel:{number}"), format!("tel:{QUEUE_NUMBER}"));
            put("addressFrom", json!(from));
            put("addressTo", json!(to));
            put("ani", json!(from));
            put("dnis", json!(to));
        }
        MediaType::Callback => {
            put("addressTo", json!(format!("tel:{number}")));
        }
        MediaType::Email => {
            let handle = name.to_lowercase().replace(' ', ".");
            put("addressFrom", json!(format!("{handle}@example.net")));
            put("addressTo", json!("support@example.com"));
        }
        // Chat, messaging (a web messaging guest has no address until it identifies itself)…
        _ => {}
    }
    Value::Object(value)
}

fn customer_name(conversation: Uuid) -> &'static str {
    let index = (conversation.as_u128() % CUSTOMER_NAMES.len() as u128) as usize;
    CUSTOMER_NAMES[index]
}

/// A number in the 555-01XX range, which is reserved for fiction.
fn customer_number(conversation: Uuid) -> String {
    format!("+1317555{:04}", 100 + conversation.as_u128() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_customers_are_stable_per_conversation() {
        let id = Uuid::from_u128(12345);
        assert_eq!(customer_name(id), customer_name(id));
        assert_eq!(customer_number(id), "+13175550145");
    }
}
