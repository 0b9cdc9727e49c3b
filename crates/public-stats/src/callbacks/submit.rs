//! Stage 3 of `POST /api/callback`: hand a [`ValidCallback`] to Genesys. Today that is one direct
//! `create_callback` call; when durability lands, this is the step that writes to the outbox
//! instead, and a worker does the call.
//!
//! It decides what the upstream payload contains (built here, field by field, from the validated
//! value only, so a visitor can never set a field we did not mean to send) and what a visitor hears when Genesys fails: a fixed problem, never
//! Genesys's text. Logs say the error's kind and status and at most two digits of the number.

use std::collections::BTreeMap;
use std::time::Duration;

use genesys::callbacks::RoutingData;
use genesys::{CreateCallback, GenesysClient};

use super::validate::ValidCallback;
use crate::problem::ApiError;

/// Set on every callback we create; Genesys shows `data` to the agent as participant attributes,
/// so they can tell a website callback from others. (The outbox id will join it.)
pub const SOURCE: (&str, &str) = ("source", "public-stats");

/// What to tell a visitor when our own request budget is spent: it refills within seconds.
const BUDGET_RETRY_AFTER: Duration = genesys::DEFAULT_RETRY_AFTER;

/// Hands validated callbacks to Genesys. The one way a callback leaves the service: a durable
/// queue in front of Genesys would stand behind this same type. Cheap to clone.
#[derive(Clone)]
pub struct CallbackSubmitter {
    client: GenesysClient,
}

impl CallbackSubmitter {
    pub fn new(client: GenesysClient) -> Self {
        CallbackSubmitter { client }
    }

    /// Creates the callback upstream; `Ok` means the visitor may be told it worked.
    pub async fn submit(&self, callback: &ValidCallback) -> Result<(), ApiError> {
        submit(&self.client, callback).await
    }
}

async fn submit(client: &GenesysClient, callback: &ValidCallback) -> Result<(), ApiError> {
    match client.create_callback(&upstream_command(callback)).await {
        Ok(created) => {
            tracing::info!(
                queue = %callback.queue,
                conversation = %created.conversation.id,
                number = %callback.number_hint(),
                "callback created"
            );
            Ok(())
        }
        Err(error) => answer_failure(&error, callback),
    }
}

/// The exact `CreateCallbackCommand` sent: the allow-listed queue and the visitor's validated
/// values, nothing a visitor could choose beyond them (no priority, agents, skills, script).
pub fn upstream_command(callback: &ValidCallback) -> CreateCallback {
    CreateCallback {
        routing_data: RoutingData {
            queue_id: callback.queue,
        },
        callback_numbers: callback.numbers.clone(),
        callback_user_name: callback.user_name.clone(),
        callback_scheduled_time: callback.scheduled_time,
        // Both come with phone validation, from the parsed number; sending them now would make
        // Genesys reject formats that pages written for the seed (the Node.js sample) accept.
        country_code: None,
        validate_callback_numbers: None,
        data: Some(BTreeMap::from([(SOURCE.0.to_owned(), SOURCE.1.to_owned())])),
    }
}

/// Logs a failure (kind and status only: `genesys::Error`'s `Display` carries no upstream text)
/// and chooses the visitor's answer.
fn answer_failure(error: &genesys::Error, callback: &ValidCallback) -> Result<(), ApiError> {
    tracing::warn!(
        queue = %callback.queue,
        number = %callback.number_hint(),
        status = ?error.status().map(|s| s.as_u16()),
        %error,
        "callback creation failed"
    );
    match visitor_error(error) {
        Some(answer) => Err(answer),
        None => Ok(()),
    }
}

/// `None` means "tell the visitor it worked".
fn visitor_error(error: &genesys::Error) -> Option<ApiError> {
    match error {
        genesys::Error::RateLimited { retry_after } => Some(ApiError::UpstreamBusy {
            retry_after: *retry_after,
        }),
        genesys::Error::BudgetExhausted => Some(ApiError::UpstreamBusy {
            retry_after: BUDGET_RETRY_AFTER,
        }),
        // Genesys answered 2xx, so the callback exists; only its response body was odd. Asking
        // the visitor to retry would get them called twice.
        genesys::Error::Decode { .. } => None,
        // Everything else (4xx, 5xx, timeout, transport, auth) looks the same from outside.
        // A timeout may have created the callback; the outbox will settle that ambiguity.
        _ => Some(ApiError::UpstreamUnavailable),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn the_payload_holds_only_server_chosen_and_validated_fields() {
        let queue = Uuid::new_v4();
        let callback = ValidCallback {
            queue,
            numbers: vec!["+13172222222".into()],
            user_name: Some("John Smith".into()),
            scheduled_time: Some(time::macros::datetime!(2026-11-25 10:30 UTC)),
        };
        assert_eq!(
            serde_json::to_value(upstream_command(&callback)).unwrap(),
            json!({
                "routingData": {"queueId": queue},
                "callbackNumbers": ["+13172222222"],
                "callbackUserName": "John Smith",
                "callbackScheduledTime": "2026-11-25T10:30:00Z",
                "data": {"source": "public-stats"},
            })
        );
    }

    #[test]
    fn upstream_failures_become_fixed_problems() {
        let body = genesys::ErrorBody::parse(br#"{"message":"bad number +13172222222"}"#);
        let api = genesys::Error::Api {
            status: StatusCode::BAD_REQUEST,
            body,
        };
        let answer = visitor_error(&api)
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(answer, ApiError::UpstreamUnavailable.to_string());
        let limited = genesys::Error::RateLimited {
            retry_after: Duration::from_secs(7),
        };
        assert!(matches!(
            visitor_error(&limited),
            Some(ApiError::UpstreamBusy { retry_after }) if retry_after == Duration::from_secs(7)
        ));
        assert!(matches!(
            visitor_error(&genesys::Error::BudgetExhausted),
            Some(ApiError::UpstreamBusy { .. })
        ));
        assert!(matches!(
            visitor_error(&genesys::Error::Timeout),
            Some(ApiError::UpstreamUnavailable)
        ));
    }
}
