//! Callbacks: `POST /api/v2/conversations/callbacks` to ask Genesys to call a visitor back, and
//! `GET /api/v2/conversations/callbacks/{id}` to see what became of it.
//!
//! It sends what it is given: choosing the queue and checking the number is the caller's job.
//! Phone numbers and names are personal data, so the `Debug` output of these types hides them.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::GenesysClient;
use crate::budget::Priority;
use crate::error::Error;
use crate::http::{Idempotency, Request, Route};

const CALLBACKS: &str = "/api/v2/conversations/callbacks";
const CALLBACK: &str = "/api/v2/conversations/callbacks/{conversationId}";

/// `CreateCallbackCommand`, the fields public-stats may set. Unset fields are not sent.
#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCallback {
    pub routing_data: RoutingData,
    pub callback_numbers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_user_name: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub callback_scheduled_time: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate_callback_numbers: Option<bool>,
    /// Appears as participant attributes in Genesys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
}

impl CreateCallback {
    /// A callback to `number` routed to `queue_id`, nothing else set.
    pub fn new(queue_id: Uuid, number: impl Into<String>) -> Self {
        CreateCallback {
            routing_data: RoutingData { queue_id },
            callback_numbers: vec![number.into()],
            callback_user_name: None,
            callback_scheduled_time: None,
            country_code: None,
            validate_callback_numbers: None,
            data: None,
        }
    }
}

impl fmt::Debug for CreateCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateCallback")
            .field("routing_data", &self.routing_data)
            .field(
                "callback_numbers",
                &format_args!("[{} redacted]", self.callback_numbers.len()),
            )
            .field(
                "callback_user_name",
                &self.callback_user_name.as_ref().map(|_| "[REDACTED]"),
            )
            .field("callback_scheduled_time", &self.callback_scheduled_time)
            .field("country_code", &self.country_code)
            .field("validate_callback_numbers", &self.validate_callback_numbers)
            .field(
                "data_keys",
                &self
                    .data
                    .as_ref()
                    .map(|data| data.keys().collect::<Vec<_>>()),
            )
            .finish()
    }
}

/// `RoutingData`, reduced to the queue: priority, skills and agents are not ours to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingData {
    pub queue_id: Uuid,
}

/// `CreateCallbackResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCallbackResponse {
    pub conversation: ConversationRef,
    #[serde(default)]
    pub callback_identifiers: Vec<CallbackIdentifier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRef {
    pub id: Uuid,
    pub self_uri: Option<String>,
}

/// `CallbackIdentifier`; `type` is `ACD`, `EXTERNAL` or `DIALER`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallbackIdentifier {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// `CallbackConversation`, the fields needed to follow a callback.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallbackConversation {
    pub id: Uuid,
    #[serde(default)]
    pub participants: Vec<CallbackParticipant>,
}

/// `CallbackMediaParticipant`, a subset.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackParticipant {
    pub purpose: Option<String>,
    /// `alerting`, `connected`, `disconnected`, …
    pub state: Option<String>,
    pub queue: Option<EntityRef>,
    pub callback_numbers: Option<Vec<String>>,
    pub callback_user_name: Option<String>,
}

impl fmt::Debug for CallbackParticipant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackParticipant")
            .field("purpose", &self.purpose)
            .field("state", &self.state)
            .field("queue", &self.queue)
            .field(
                "callback_numbers",
                &self
                    .callback_numbers
                    .as_ref()
                    .map(|numbers| format!("[{} redacted]", numbers.len())),
            )
            .field(
                "callback_user_name",
                &self.callback_user_name.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EntityRef {
    pub id: Uuid,
}

impl GenesysClient {
    /// Creates a callback. High priority: it may use the reserved budget. It is repeated only
    /// when Genesys cannot have created it (429, connection refused), never after a 5xx or a
    /// timeout, which could mean a second call to the visitor.
    pub async fn create_callback(
        &self,
        callback: &CreateCallback,
    ) -> Result<CreateCallbackResponse, Error> {
        let route = Route {
            method: Method::POST,
            template: CALLBACKS,
            idempotency: Idempotency::NotIdempotent,
        };
        let url = self.api_url(&["api", "v2", "conversations", "callbacks"])?;
        let request = Request::new(route, url, Priority::High).json(callback)?;
        self.send(request).await?.json("callback creation response")
    }

    /// `GET /api/v2/conversations/callbacks/{conversationId}`.
    pub async fn callback_conversation(
        &self,
        conversation_id: Uuid,
    ) -> Result<CallbackConversation, Error> {
        let route = Route::idempotent(Method::GET, CALLBACK);
        let id = conversation_id.to_string();
        let url = self.api_url(&["api", "v2", "conversations", "callbacks", &id])?;
        self.send(Request::new(route, url, Priority::Low))
            .await?
            .json("callback conversation")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: Uuid = uuid::uuid!("8897431f-99d9-4cfe-b098-d279c7776a49");

    #[test]
    fn serialises_only_the_fields_that_are_set() {
        let minimal = serde_json::to_value(CreateCallback::new(QUEUE, "+13172222222")).unwrap();
        assert_eq!(
            minimal,
            serde_json::json!({"routingData": {"queueId": QUEUE.to_string()}, "callbackNumbers": ["+13172222222"]})
        );
        let mut full = CreateCallback::new(QUEUE, "+13172222222");
        full.callback_user_name = Some("John Smith".into());
        full.callback_scheduled_time = Some(time::macros::datetime!(2026-11-25 10:30 UTC));
        full.country_code = Some("US".into());
        full.validate_callback_numbers = Some(true);
        full.data = Some(BTreeMap::from([("source".to_owned(), "widget".to_owned())]));
        let value = serde_json::to_value(&full).unwrap();
        assert_eq!(value["callbackUserName"], "John Smith");
        assert_eq!(value["callbackScheduledTime"], "2026-11-25T10:30:00Z");
        assert_eq!(
            (
                value["countryCode"].as_str(),
                value["validateCallbackNumbers"].as_bool()
            ),
            (Some("US"), Some(true))
        );
        assert_eq!(value["data"]["source"], "widget");
    }

    #[test]
    fn debug_hides_numbers_and_names() {
        let mut callback = CreateCallback::new(QUEUE, "+13172222222");
        callback.callback_user_name = Some("John Smith".into());
        let participant: CallbackParticipant =
            serde_json::from_str(r#"{"purpose":"customer","callbackNumbers":["+13172222222"],"callbackUserName":"John Smith"}"#).unwrap();
        let shown = format!("{callback:?} {participant:?}");
        assert!(
            !shown.contains("3172222222") && !shown.contains("John"),
            "{shown}"
        );
    }

    #[test]
    fn parses_the_documented_response() {
        let response: CreateCallbackResponse = serde_json::from_str(
            r#"{"conversation":{"id":"71af6666-6742-43a4-bdf2-b46460471cc6","selfUri":"/api/v2/conversations/71af6666-6742-43a4-bdf2-b46460471cc6"},
                "callbackIdentifiers":[{"type":"EXTERNAL","id":"4f27a813-32ce-470e-a0e8-9672123e324b"},{"type":"ACD","id":"b97adf09-7266-4844-a6a2-6f2495a6ab74"}]}"#,
        )
        .unwrap();
        assert_eq!(
            response.conversation.id,
            uuid::uuid!("71af6666-6742-43a4-bdf2-b46460471cc6")
        );
        assert_eq!(response.callback_identifiers[1].kind, "ACD");
    }
}
