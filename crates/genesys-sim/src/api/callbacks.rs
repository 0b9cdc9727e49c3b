//! Callbacks: `POST /api/v2/conversations/callbacks` (`CreateCallbackCommand` →
//! `CreateCallbackResponse`) puts a waiting callback into a queue of the model, and
//! `GET /api/v2/conversations/callbacks/{conversationId}` describes it as a `CallbackConversation`.
//! Every JSON body posted is kept, raw, for the control API (`GET /__sim/requests`).
//!
//! It is not rescheduling/disconnecting (`PATCH`), agent-owned or dialer callbacks: the fields for
//! those are accepted and ignored.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::api::error::{ApiError, GenesysJson, parse_uuid};
use crate::api::iso_millis;
use crate::model::{CallbackRecord, CallbackSpec, InteractionState};
use crate::state::SimState;

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/api/v2/conversations/callbacks", post(create))
        .route(
            "/api/v2/conversations/callbacks/{conversationId}",
            get(fetch),
        )
}

/// `CreateCallbackCommand`; required fields are optional here so a missing one gets a 400 that
/// names it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateCallbackCommand {
    queue_id: Option<String>,
    routing_data: Option<RoutingData>,
    callback_numbers: Option<Vec<String>>,
    callback_user_name: Option<String>,
    callback_scheduled_time: Option<String>,
    #[allow(dead_code)] // Accepted as Genesys does; nothing simulated depends on it.
    country_code: Option<String>,
    #[serde(default)]
    validate_callback_numbers: bool,
    /// Typed so that a non-string value is rejected, as the model (`{[key]: string}`) requires.
    data: Option<BTreeMap<String, String>>,
    #[allow(dead_code)]
    script_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoutingData {
    queue_id: Option<String>,
}

async fn create(
    State(state): State<SimState>,
    GenesysJson(raw): GenesysJson<Value>,
) -> Result<Json<Value>, ApiError> {
    state.control.log().record_callback(raw.clone());
    let command: CreateCallbackCommand =
        serde_json::from_value(raw).map_err(ApiError::invalid_body)?;
    let (queue, spec) = validate(command)?;
    // An unknown queue in the body is a bad request, not a missing resource: the URL names none.
    let created = state
        .update_model(|m| m.create_callback(queue, spec))
        .ok_or_else(|| ApiError::bad_request(format!("Queue {queue} does not exist")))?;
    let id = created.conversation_id;
    Ok(Json(json!({
        "conversation": {"id": id, "selfUri": format!("/api/v2/conversations/{id}")},
        "callbackIdentifiers": [
            {"type": "EXTERNAL", "id": created.external_id},
            {"type": "ACD", "id": created.acd_id},
        ],
    })))
}

fn validate(command: CreateCallbackCommand) -> Result<(Uuid, CallbackSpec), ApiError> {
    let queue = command
        .queue_id
        .or_else(|| command.routing_data.and_then(|r| r.queue_id))
        .ok_or_else(|| {
            ApiError::bad_request("Either queueId or routingData.queueId is required")
        })?;
    let queue = parse_uuid("queueId", &queue)?;
    let numbers = command
        .callback_numbers
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("callbackNumbers is required and must not be empty")
        })?;
    if let Some(bad) = numbers.iter().find(|n| n.trim().is_empty()) {
        return Err(ApiError::bad_request(format!(
            "callbackNumbers contains an empty number {bad:?}"
        )));
    }
    if command.validate_callback_numbers
        && let Some(bad) = numbers.iter().find(|n| !looks_like_phone_number(n))
    {
        return Err(ApiError::bad_request(format!(
            "Invalid callback number '{bad}'"
        )));
    }
    let scheduled_time = command
        .callback_scheduled_time
        .map(|time| {
            OffsetDateTime::parse(&time, &Rfc3339).map_err(|_| {
                ApiError::bad_request(format!(
                    "callbackScheduledTime '{time}' is not an ISO-8601 date-time (yyyy-MM-ddTHH:mm:ss.SSSZ)"
                ))
            })
        })
        .transpose()?;
    let spec = CallbackSpec {
        numbers,
        user_name: command.callback_user_name,
        scheduled_time,
        attributes: command.data.unwrap_or_default(),
    };
    Ok((queue, spec))
}

/// An optional `+`, then 7 to 15 digits (E.164's maximum) with the usual separators.
fn looks_like_phone_number(number: &str) -> bool {
    let number = number.trim();
    let rest = number.strip_prefix('+').unwrap_or(number);
    let separators_ok = rest
        .chars()
        .all(|c| c.is_ascii_digit() || " -.()".contains(c));
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    separators_ok && (7..=15).contains(&digits)
}

async fn fetch(
    State(state): State<SimState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_uuid("conversationId", &id)?;
    let record = state
        .model()
        .callback(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Callback conversation {id} not found")))?;
    Ok(Json(conversation_json(&record)))
}

/// `CallbackConversation`: the customer, the ACD (queue) participant and, once one took it, the
/// agent. States follow a queued callback's life: the ACD participant is `connected` while it
/// waits and `disconnected` once an agent has it; everything is `disconnected` when it ended.
fn conversation_json(record: &CallbackRecord) -> Value {
    let ended = record.state == InteractionState::Ended;
    let waiting = record.state == InteractionState::Waiting;
    let queue = json!({"id": record.queue_id, "selfUri": format!("/api/v2/routing/queues/{}", record.queue_id)});
    let spec = &record.spec;
    // Every participant carries the queue and the callback's details; `extra` adds its own fields.
    let participant = |id: Uuid, purpose: &str, connected: bool, extra: Value| {
        let mut participant = json!({
            "id": id,
            "purpose": purpose,
            "state": if connected { "connected" } else { "disconnected" },
            "queue": queue,
            "callbackNumbers": spec.numbers,
            "callbackUserName": spec.user_name,
            // Genesys answers its own date-time form, whatever form was sent.
            "callbackScheduledTime": spec.scheduled_time.map(iso_millis),
        });
        if let (Value::Object(fields), Value::Object(extra)) = (&mut participant, extra) {
            fields.extend(extra);
        }
        participant
    };
    let mut participants = vec![
        participant(
            record.customer_participant,
            "customer",
            !ended,
            json!({"name": spec.user_name, "attributes": spec.attributes}),
        ),
        participant(record.acd_participant, "acd", waiting, json!({})),
    ];
    if let Some((agent_id, agent_name)) = &record.agent {
        // Stable without storing it: the agent participant id derives from the ACD one.
        let id = Uuid::from_u128(record.acd_participant.as_u128() ^ agent_id.as_u128());
        let user = json!({"id": agent_id, "selfUri": format!("/api/v2/users/{agent_id}")});
        participants.push(participant(
            id,
            "agent",
            !ended,
            json!({"name": agent_name, "user": user}),
        ));
    }
    json!({
        "id": record.conversation_id,
        "participants": participants,
        "otherMediaUris": [],
        "selfUri": format!("/api/v2/conversations/callbacks/{}", record.conversation_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_checked_loosely() {
        assert!(looks_like_phone_number("+13172222222"));
        assert!(looks_like_phone_number("+44 (0)20 7946-0958"));
        assert!(!looks_like_phone_number("call me"));
        assert!(!looks_like_phone_number("123"));
        assert!(!looks_like_phone_number("+1234567890123456"));
    }
}
