//! The Web Messaging guest protocol on the wire: parsing the guest's requests
//! `{"action","token","tracingId"?,…}` and building the server's frames
//! `{"type":"response"|"message","class","code","body","tracingId"?}`.
//!
//! Pure functions over JSON: no sessions, no sockets, no model. Field names and error bodies copy
//! the samples of Genesys's own transport SDK tests, so a client that works here works there.

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::iso_millis;

/// Longest guest text accepted, in characters (Unicode scalar values). Genesys does not publish
/// the limit; 4,000 is our choice, in line with other Genesys messaging channels.
pub const MAX_TEXT_CHARS: usize = 4_000;
/// `maxCustomDataBytes` of the SessionResponse; larger `customAttributes` are refused with 4013.
pub const MAX_CUSTOM_DATA_BYTES: usize = 2_048;
/// `duration` of the agent's typing indicator, as in Genesys's samples.
pub const TYPING_DURATION_MS: u64 = 5_000;

/// A guest request as sent. Everything is optional so a missing field becomes error 4020
/// (MissingParameter) instead of a generic parse failure.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub action: Option<String>,
    pub token: Option<String>,
    pub tracing_id: Option<String>,
    pub deployment_id: Option<String>,
    pub start_new: Option<bool>,
    pub close_all_connections: Option<bool>,
    pub message: Option<Value>,
    pub channel: Option<Value>,
}

/// What a guest's `onMessage` carries.
#[derive(Debug, PartialEq)]
pub enum GuestMessage {
    Text(String),
    Events(Vec<GuestEvent>),
}

#[derive(Debug, PartialEq)]
pub enum GuestEvent {
    Typing,
    /// Presence `Join`: Messenger's auto-start.
    Join,
    /// Presence `Clear`: the guest ends and clears the conversation.
    Clear,
}

/// A request the server refuses; becomes a `response` frame.
#[derive(Debug, PartialEq)]
pub enum Failure {
    /// `class:"string"` with a Genesys error code (as in `ErrorCode.kt` of Genesys's Messenger
    /// Transport SDK).
    Error { code: u16, body: String },
    /// `class:"TooManyRequestsErrorMessage"`, code 429, errorCode 4029.
    RateLimited { retry_after: u64 },
}

impl Failure {
    fn error(code: u16, body: impl Into<String>) -> Self {
        Failure::Error {
            code,
            body: body.into(),
        }
    }

    /// 400 "Request failed.": unparseable JSON, unknown action or message type.
    pub fn request_failed() -> Self {
        Self::error(400, "Request failed.")
    }

    pub fn feature_unavailable(what: &str) -> Self {
        Self::error(4000, format!("{what} is not available for this deployment"))
    }

    pub fn session_not_found() -> Self {
        Self::error(4007, "session not found")
    }

    pub fn message_too_long() -> Self {
        Self::error(4011, "message too long")
    }

    pub fn custom_attributes_too_large() -> Self {
        Self::error(
            4013,
            format!(
                "Custom Attributes in channel metadata is larger than {MAX_CUSTOM_DATA_BYTES} bytes"
            ),
        )
    }

    pub fn missing(parameter: &str) -> Self {
        Self::error(4020, format!("Missing required parameter: {parameter}"))
    }

    /// Genesys's wording is unknown; clients (MTS) block sending in read-only state themselves.
    pub fn read_only() -> Self {
        Self::error(
            400,
            "The conversation is read-only; configure the session with startNew to start a new one",
        )
    }

    pub fn unknown_deployment() -> Self {
        Self::error(400, "Invalid deploymentId")
    }

    pub fn unexpected() -> Self {
        Self::error(5000, "Request failed.")
    }

    pub fn frame(&self, tracing_id: Option<&str>) -> String {
        match self {
            Failure::Error { code, body } => {
                envelope("response", "string", *code, json!(body), tracing_id)
            }
            Failure::RateLimited { retry_after } => envelope(
                "response",
                "TooManyRequestsErrorMessage",
                429,
                json!({
                    "retryAfter": retry_after,
                    "errorCode": 4029,
                    "errorMessage": "Message rate too high for this session",
                }),
                tracing_id,
            ),
        }
    }
}

/// Parses a text frame; the action and token must be present for every action.
pub fn parse_request(text: &str) -> Result<Request, Failure> {
    let request: Request = serde_json::from_str(text).map_err(|_| Failure::request_failed())?;
    if request.action.is_none() {
        return Err(Failure::missing("action"));
    }
    if request.token.as_deref().is_none_or(str::is_empty) {
        return Err(Failure::missing("token"));
    }
    Ok(request)
}

/// Validates an `onMessage` body: a Text with text, or an Event with known events.
pub fn parse_guest_message(message: Option<&Value>) -> Result<GuestMessage, Failure> {
    let message = message.ok_or_else(|| Failure::missing("message"))?;
    match message.get("type").and_then(Value::as_str) {
        None => Err(Failure::missing("message.type")),
        Some("Text") => parse_text(message),
        Some("Event") => parse_events(message),
        Some(_) => Err(Failure::request_failed()),
    }
}

fn parse_text(message: &Value) -> Result<GuestMessage, Failure> {
    let text = message
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Failure::missing("message.text"))?;
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Failure::message_too_long());
    }
    Ok(GuestMessage::Text(text.to_owned()))
}

fn parse_events(message: &Value) -> Result<GuestMessage, Failure> {
    let events = message
        .get("events")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| Failure::missing("message.events"))?;
    events
        .iter()
        .map(parse_event)
        .collect::<Result<_, _>>()
        .map(GuestMessage::Events)
}

fn parse_event(event: &Value) -> Result<GuestEvent, Failure> {
    match event.get("eventType").and_then(Value::as_str) {
        None => Err(Failure::missing("eventType")),
        Some("Typing") => Ok(GuestEvent::Typing),
        Some("Presence") => match event.pointer("/presence/type").and_then(Value::as_str) {
            None => Err(Failure::missing("presence.type")),
            Some("Join") => Ok(GuestEvent::Join),
            Some("Clear") => Ok(GuestEvent::Clear),
            Some(_) => Err(Failure::request_failed()),
        },
        Some(_) => Err(Failure::request_failed()),
    }
}

/// Refuses `channel.metadata.customAttributes` larger than [`MAX_CUSTOM_DATA_BYTES`] as
/// serialized JSON (Genesys counts bytes; the exact counting rule is not documented).
pub fn check_custom_attributes(channel: Option<&Value>) -> Result<(), Failure> {
    let size = channel
        .and_then(|c| c.pointer("/metadata/customAttributes"))
        .map_or(0, |attributes| attributes.to_string().len());
    if size > MAX_CUSTOM_DATA_BYTES {
        return Err(Failure::custom_attributes_too_large());
    }
    Ok(())
}

/// `{"type","class","code","body","tracingId"?}`: every server frame.
pub fn envelope(
    kind: &str,
    class: &str,
    code: u16,
    body: Value,
    tracing_id: Option<&str>,
) -> String {
    let mut frame = json!({ "type": kind, "class": class, "code": code, "body": body });
    if let (Some(id), Some(object)) = (tracing_id, frame.as_object_mut()) {
        object.insert("tracingId".to_owned(), json!(id));
    }
    frame.to_string()
}

/// An unsolicited `StructuredMessage` (`type:"message"`).
pub fn structured_message(body: &Value, tracing_id: Option<&str>) -> String {
    envelope(
        "message",
        "StructuredMessage",
        200,
        body.clone(),
        tracing_id,
    )
}

/// An empty-bodied event such as `SessionClearedEvent` or `ConnectionClosedEvent`.
pub fn empty_event(class: &str) -> String {
    envelope("message", class, 200, json!({}), None)
}

/// Genesys message ids are 32 hex digits.
fn message_id() -> String {
    Uuid::new_v4().simple().to_string()
}

fn channel(extra: Value) -> Value {
    let mut channel = json!({
        "time": iso_millis(OffsetDateTime::now_utc()),
        "messageId": message_id(),
    });
    if let (Some(channel), Value::Object(extra)) = (channel.as_object_mut(), extra) {
        channel.extend(extra);
    }
    channel
}

/// Metadata of the guest's own messages: Genesys reflects the tracingId as `customMessageId`.
fn inbound_metadata(tracing_id: Option<&str>) -> Option<Value> {
    tracing_id.map(|id| json!({ "customMessageId": id }))
}

fn with_metadata(mut body: Value, metadata: Option<Value>) -> Value {
    if let (Some(object), Some(metadata)) = (body.as_object_mut(), metadata) {
        object.insert("metadata".to_owned(), metadata);
    }
    body
}

/// The guest's text as Genesys echoes it back (Inbound).
pub fn inbound_text(text: &str, tracing_id: Option<&str>) -> Value {
    let body = json!({
        "text": text,
        "direction": "Inbound",
        "id": message_id(),
        "channel": channel(json!({})),
        "type": "Text",
        "originatingEntity": "Human",
    });
    with_metadata(body, inbound_metadata(tracing_id))
}

/// The guest's presence `Join` as Genesys echoes it back (MTS maps it to "conversation
/// auto-started").
pub fn inbound_join(tracing_id: Option<&str>) -> Value {
    let body = json!({
        "direction": "Inbound",
        "id": message_id(),
        "channel": channel(json!({})),
        "type": "Event",
        "events": [{ "eventType": "Presence", "presence": { "type": "Join" } }],
        "originatingEntity": "Human",
    });
    with_metadata(body, inbound_metadata(tracing_id))
}

/// The agent's typing indicator (Outbound Event).
pub fn agent_typing() -> Value {
    json!({
        "direction": "Outbound",
        "id": message_id(),
        "channel": channel(json!({})),
        "type": "Event",
        "metadata": { "correlationId": Uuid::new_v4().to_string() },
        "events": [{
            "eventType": "Typing",
            "typing": { "type": "On", "duration": TYPING_DURATION_MS },
        }],
    })
}

/// A text from the human agent `agent_name` (Outbound, `channel.from.nickname`).
pub fn agent_text(agent_name: &str, text: &str) -> Value {
    let first_name = agent_name.split_whitespace().next().unwrap_or(agent_name);
    json!({
        "direction": "Outbound",
        "id": message_id(),
        "channel": channel(json!({
            "type": "Private",
            "from": { "nickname": agent_name, "firstName": first_name },
        })),
        "type": "Text",
        "text": text,
        "metadata": { "correlationId": Uuid::new_v4().to_string() },
        "originatingEntity": "Human",
    })
}

/// The agent (or flow) ended the conversation; with the deployment's `conversationDisconnect`
/// type `ReadOnly`, Genesys flags it with `metadata.readOnly:"true"` (a string, as in MTS).
pub fn agent_disconnect() -> Value {
    json!({
        "direction": "Outbound",
        "id": message_id(),
        "channel": channel(json!({ "type": "Private" })),
        "type": "Event",
        "metadata": { "correlationId": Uuid::new_v4().to_string(), "readOnly": "true" },
        "events": [{ "eventType": "Presence", "presence": { "type": "Disconnect" } }],
        "originatingEntity": "Human",
    })
}

/// The `echo` action's answer: the message back as an Inbound Text, in a `response`.
pub fn echo_response(message: Option<&Value>, tracing_id: Option<&str>) -> String {
    let text = message
        .and_then(|m| m.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    envelope(
        "response",
        "StructuredMessage",
        200,
        inbound_text(text, tracing_id),
        tracing_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_is_4020() {
        let failure = parse_request(r#"{"action":"echo"}"#).err();
        assert!(matches!(failure, Some(Failure::Error { code: 4020, .. })));
    }

    #[test]
    fn garbage_is_request_failed() {
        assert_eq!(parse_request("nope").err(), Some(Failure::request_failed()));
    }

    #[test]
    fn events_parse() {
        let message = json!({"type":"Event","events":[
            {"eventType":"Typing","typing":{"type":"On"}},
            {"eventType":"Presence","presence":{"type":"Join"}},
        ]});
        assert_eq!(
            parse_guest_message(Some(&message)),
            Ok(GuestMessage::Events(vec![
                GuestEvent::Typing,
                GuestEvent::Join
            ]))
        );
    }

    #[test]
    fn timestamp_has_millis() {
        let at = time::macros::datetime!(2022-08-22 19:24:26.704123 UTC);
        assert_eq!(iso_millis(at), "2022-08-22T19:24:26.704Z");
    }

    #[test]
    fn tracing_id_is_optional() {
        let frame = envelope("message", "SessionClearedEvent", 200, json!({}), None);
        assert!(!frame.contains("tracingId"));
        let frame = envelope("response", "string", 400, json!("x"), Some("t1"));
        assert!(frame.contains(r#""tracingId":"t1""#));
    }
}
