//! The Web Messaging guest protocol on the wire: parsing the guest's requests
//! `{"action","token","tracingId"?,…}` and building the server's frames
//! `{"type":"response"|"message","class","code","body","tracingId"?}`.
//!
//! Pure functions over JSON: no sessions, no sockets, no model. Field names and error bodies copy
//! the samples of Genesys's own transport SDK tests, so a client that works here works there.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::iso_millis;

/// Longest guest text accepted, in characters (Unicode scalar values). Genesys does not publish
/// the limit; 4,000 is our choice, in line with other Genesys messaging channels.
pub const MAX_TEXT_CHARS: usize = 4_000;
/// `maxCustomDataBytes` of a SessionResponse unless the deployment says otherwise; larger
/// `customAttributes` are refused with 4013.
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
    /// `onAttachment`, `getAttachment`, `deleteAttachment`: the client-chosen id of the file.
    pub attachment_id: Option<String>,
    pub file_name: Option<String>,
    pub file_type: Option<String>,
    /// A number in the transport SDK; anything else is refused by the attachment checks.
    pub file_size: Option<Value>,
    /// `onAttachment`: refusals as `GenerateUrlError` frames rather than `string` errors.
    pub errors_as_json: Option<bool>,
}

/// What a guest's `onMessage` carries.
#[derive(Debug, PartialEq)]
pub enum GuestMessage {
    /// `type:"Text"`: a typed text, or a quick-reply answer (empty `text`, a `ButtonResponse`).
    Text(Said),
    /// `type:"Structured"`: a card's postback (`text` and a `ButtonResponse`).
    Structured(Said),
    Events(Vec<GuestEvent>),
}

/// The guest's words: the text and the `content` items as sent (`ButtonResponse`s, and
/// `Attachment`s that name an uploaded file by `attachment.id` until the session fills them in).
#[derive(Debug, PartialEq)]
pub struct Said {
    pub text: String,
    pub content: Vec<Value>,
}

/// `message.channel.metadata.customAttributes`, a string map.
pub type CustomAttributes = BTreeMap<String, String>;

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
    /// `class:"GenerateUrlError"`: an `onAttachment` with `errorsAsJson` refused before any
    /// upload (file type, size or name), with the file-error code (4000–4005).
    GenerateUrl {
        attachment_id: String,
        code: u16,
        message: String,
    },
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

    pub fn session_expired() -> Self {
        Self::error(4006, "session expired")
    }

    /// A guest Typing event on a deployment with `showUserTypingIndicator` off; the wording of
    /// `Response.typingIndicatorForbidden` in Genesys's transport SDK tests.
    pub fn typing_forbidden() -> Self {
        Self::error(403, "Turn on the Feature Toggle or fix the configuration.")
    }

    /// Presence `Clear` on a deployment with `conversationClear` off; the wording of
    /// `Response.clearConversationForbidden` (the SDK recognises it by "Conversation Clear").
    pub fn clear_forbidden() -> Self {
        Self::error(403, "Presence events Conversation Clear are not supported")
    }

    /// `configureSession` on a deployment whose `status` is `Inactive`. Genesys's exact answer
    /// is not shown by its SDKs (Messenger does not connect to an inactive deployment); a 403
    /// is ours.
    pub fn deployment_inactive() -> Self {
        Self::error(403, "The deployment is not active")
    }

    pub fn message_too_long() -> Self {
        Self::error(4011, "message too long")
    }

    /// The wording of `Response.customAttributeSizeTooLarge`, with the deployment's limit.
    pub fn custom_attributes_too_large(max_bytes: usize) -> Self {
        Self::error(
            4013,
            format!("Custom Attributes in channel metadata is larger than {max_bytes} bytes"),
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

    /// 4009: no attachment of this session has that id (never presigned, or deleted).
    pub fn attachment_not_found(id: &str) -> Self {
        Self::error(4009, format!("Attachment {id} not found"))
    }

    /// 4010: the attachment exists but its upload has not succeeded (yet).
    pub fn attachment_not_uploaded(id: &str) -> Self {
        Self::error(
            4010,
            format!("Attachment {id} has not been successfully uploaded"),
        )
    }

    /// The error frame. No `tracingId`: none of the error samples of Genesys's transport SDK has
    /// one, and the SDK pins an error on its oldest unconfirmed message instead.
    pub fn frame(&self) -> String {
        match self {
            Failure::Error { code, body } => {
                envelope("response", "string", *code, json!(body), None)
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
                None,
            ),
            Failure::GenerateUrl {
                attachment_id,
                code,
                message,
            } => envelope(
                "message",
                "GenerateUrlError",
                200,
                json!({
                    "attachmentId": attachment_id,
                    "errorCode": code,
                    "errorMessage": message,
                }),
                None,
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

/// Validates an `onMessage` body: a Text with text or a button answer, a Structured postback,
/// or an Event with known events; and the custom attributes of its channel.
pub fn parse_guest_message(
    message: Option<&Value>,
    max_custom_data_bytes: usize,
) -> Result<(GuestMessage, CustomAttributes), Failure> {
    let message = message.ok_or_else(|| Failure::missing("message"))?;
    let parsed = match message.get("type").and_then(Value::as_str) {
        None => return Err(Failure::missing("message.type")),
        Some("Text") => GuestMessage::Text(parse_said(message, false)?),
        Some("Structured") => GuestMessage::Structured(parse_said(message, true)?),
        Some("Event") => parse_events(message)?,
        Some(_) => return Err(Failure::request_failed()),
    };
    let attributes = custom_attributes(message, max_custom_data_bytes)?;
    Ok((parsed, attributes))
}

/// A Text needs words, a button answer or a file; a Structured message (a card postback) needs a
/// button answer.
fn parse_said(message: &Value, needs_button: bool) -> Result<Said, Failure> {
    let text = match message.get("text") {
        None | Some(Value::Null) => "",
        Some(Value::String(text)) => text.as_str(),
        Some(_) => return Err(Failure::request_failed()),
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Failure::message_too_long());
    }
    let content = match message.get("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(parse_content).collect::<Result<_, _>>()?,
        Some(_) => return Err(Failure::request_failed()),
    };
    if content.is_empty() && (needs_button || text.trim().is_empty()) {
        return Err(Failure::missing(if needs_button {
            "message.content"
        } else {
            "message.text"
        }));
    }
    Ok(Said {
        text: text.to_owned(),
        content,
    })
}

/// One `content` item: a `ButtonResponse` with `text`, `payload` and `type`, as Genesys's
/// transport SDK sends for quick replies (`QuickReply`), card buttons (`Button`) and time slots
/// (`DatePicker`); or an `Attachment` naming an uploaded file by `attachment.id` only
/// (`SerializationTest`, `when OnMessageRequest then encodes`), which the session checks.
fn parse_content(item: &Value) -> Result<Value, Failure> {
    match item.get("contentType").and_then(Value::as_str) {
        None => Err(Failure::missing("content.contentType")),
        Some("ButtonResponse") => {
            let button = item
                .get("buttonResponse")
                .ok_or_else(|| Failure::missing("content.buttonResponse"))?;
            for field in ["text", "payload", "type"] {
                if !button.get(field).is_some_and(Value::is_string) {
                    return Err(Failure::missing(&format!("buttonResponse.{field}")));
                }
            }
            Ok(json!({ "contentType": "ButtonResponse", "buttonResponse": button }))
        }
        Some("Attachment") => {
            let id = item
                .pointer("/attachment/id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| Failure::missing("attachment.id"))?;
            Ok(json!({ "contentType": "Attachment", "attachment": { "id": id } }))
        }
        Some(_) => Err(Failure::request_failed()),
    }
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

/// `message.channel.metadata.customAttributes`: string values only; refused with 4013 when the
/// UTF-8 bytes of its keys and values add up to more than `max_bytes` (how the transport SDK's
/// `CustomAttributesStoreImpl` measures them against `maxCustomDataBytes`).
fn custom_attributes(message: &Value, max_bytes: usize) -> Result<CustomAttributes, Failure> {
    let Some(attributes) = message.pointer("/channel/metadata/customAttributes") else {
        return Ok(CustomAttributes::new());
    };
    let attributes: CustomAttributes =
        serde_json::from_value(attributes.clone()).map_err(|_| Failure::request_failed())?;
    let size: usize = attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > max_bytes {
        return Err(Failure::custom_attributes_too_large(max_bytes));
    }
    Ok(attributes)
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

/// The guest's text or button answer as Genesys echoes it back (Inbound). The echo is matched to
/// what was sent by the envelope's `tracingId`, as in `Response.onMessage` of the transport SDK.
pub fn inbound(kind: &str, said: &Said) -> Value {
    let mut body = json!({
        "text": said.text,
        "direction": "Inbound",
        "id": message_id(),
        "channel": channel(json!({})),
        "type": kind,
        "originatingEntity": "Human",
    });
    if let (false, Some(object)) = (said.content.is_empty(), body.as_object_mut()) {
        object.insert("content".to_owned(), json!(said.content));
    }
    body
}

/// A receipt for the guest's message `message_id`: `Delivered` once Genesys has it, `Read` once
/// the agent's side has read it. The shape of the Platform API's `WebMessagingMessage`: type
/// `Receipt`, a `status`, and the `id` of the message it is about ("message receipts will have
/// the same ID as the message they reference"). The transport SDK does not decode receipts, so
/// they are sent only where that model describes them and never kept in the history.
pub fn receipt(message_id: &str, status: &str) -> Value {
    json!({
        "id": message_id,
        "channel": channel(json!({})),
        "type": "Receipt",
        "status": status,
        "direction": "Outbound",
    })
}

/// The guest's presence `Join` as Genesys echoes it back (MTS maps it to "conversation
/// auto-started").
pub fn inbound_join() -> Value {
    json!({
        "direction": "Inbound",
        "id": message_id(),
        "channel": channel(json!({})),
        "type": "Event",
        "events": [{ "eventType": "Presence", "presence": { "type": "Join" } }],
        "originatingEntity": "Human",
    })
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

/// The agent (or flow) ended the conversation. With the deployment's `conversationDisconnect`
/// type `ReadOnly`, Genesys flags it `metadata.readOnly:"true"` (a string); without the flag the
/// guest may keep writing (`MessagingClientConversationDisconnectTest` of the transport SDK).
pub fn agent_disconnect(read_only: bool) -> Value {
    let mut metadata = json!({ "correlationId": Uuid::new_v4().to_string() });
    if let (true, Some(object)) = (read_only, metadata.as_object_mut()) {
        object.insert("readOnly".to_owned(), json!("true"));
    }
    json!({
        "direction": "Outbound",
        "id": message_id(),
        "channel": channel(json!({ "type": "Private" })),
        "type": "Event",
        "metadata": metadata,
        "events": [{ "eventType": "Presence", "presence": { "type": "Disconnect" } }],
        "originatingEntity": "Human",
    })
}

/// A message the agent's side sends as given (control route): `type`, `text`, `content`,
/// `originatingEntity` from `given`; id, time and direction filled in like any Outbound message.
/// The agent's channel; a given `time` (RFC 3339) replaces "now", so that a test can send several
/// messages within one millisecond, as Genesys does, without depending on the clock.
fn agent_channel(given: &Value, from: Value) -> Value {
    let mut extra = json!({ "type": "Private", "from": from });
    if let Some(time) = given.get("time").and_then(Value::as_str) {
        extra["time"] = json!(time);
    }
    extra
}

pub fn agent_message(given: &Value, agent_name: Option<&str>) -> Option<Value> {
    let kind = given.get("type").and_then(Value::as_str)?;
    if !matches!(kind, "Text" | "Structured") {
        return None;
    }
    let mut from = json!({});
    if let Some(name) = agent_name {
        from = json!({ "nickname": name });
    }
    let mut body = json!({
        "direction": "Outbound",
        "id": message_id(),
        "channel": channel(agent_channel(given, from)),
        "type": kind,
        "text": given.get("text").and_then(Value::as_str).unwrap_or_default(),
        "content": given.get("content").filter(|c| c.is_array()).cloned().unwrap_or(json!([])),
        "metadata": { "correlationId": Uuid::new_v4().to_string() },
        "originatingEntity": given.get("originatingEntity").and_then(Value::as_str).unwrap_or("Bot"),
    });
    if given.get("text").is_none()
        && let Some(object) = body.as_object_mut()
    {
        object.remove("text");
    }
    Some(body)
}

/// `SessionResponse`: the answer to `configureSession` (`connected:true`) and to `closeSession`
/// (`connected:false`, after which the transport SDK configures again with `startNew`).
pub struct SessionState {
    pub connected: bool,
    pub new_session: bool,
    pub read_only: bool,
    pub duration_seconds: u64,
    pub expiration_date: i64,
    pub max_custom_data_bytes: usize,
    /// `allowedMedia` and `blockedExtensions`, when the deployment takes uploads.
    pub upload_limits: Option<(Value, Value)>,
}

pub fn session_response(session: &SessionState, tracing_id: Option<&str>) -> String {
    let mut body = json!({
        "connected": session.connected,
        "newSession": session.new_session,
        "readOnly": session.read_only,
        "maxCustomDataBytes": session.max_custom_data_bytes,
        // Only a step-up to an authenticated session clears other devices' sessions; guests never.
        "clearedExistingSession": false,
        "durationSeconds": session.duration_seconds,
        "expirationDate": session.expiration_date,
    });
    if let (Some((media, blocked)), Some(object)) = (&session.upload_limits, body.as_object_mut()) {
        object.insert("allowedMedia".to_owned(), media.clone());
        object.insert("blockedExtensions".to_owned(), blocked.clone());
    }
    envelope("response", "SessionResponse", 200, body, tracing_id)
}

/// The session ran out. `type:"response"` although unsolicited, as in both samples of Genesys's
/// transport SDK (`Response.sessionExpiredEvent`, `SerializationTest`).
pub fn session_expired_event() -> String {
    envelope("response", "SessionExpiredEvent", 200, json!({}), None)
}

/// The `echo` action's answer: the message back as an Inbound Text, in a `response`, with the
/// session's `durationSeconds` and `expirationDate` as metadata strings
/// (`Response.healthCheckResponseWithSessionDuration`). An echo is no activity: it does not
/// extend the session.
pub fn echo_response(
    message: Option<&Value>,
    tracing_id: Option<&str>,
    session: Option<&SessionState>,
) -> String {
    let text = message
        .and_then(|m| m.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut body =
        json!({ "text": text, "type": "Text", "direction": "Inbound", "id": message_id() });
    if let (Some(session), Some(object)) = (session, body.as_object_mut()) {
        object.insert(
            "metadata".to_owned(),
            json!({
                "durationSeconds": session.duration_seconds.to_string(),
                "expirationDate": session.expiration_date.to_string(),
            }),
        );
    }
    envelope("response", "StructuredMessage", 200, body, tracing_id)
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
            parse_guest_message(Some(&message), MAX_CUSTOM_DATA_BYTES).map(|(m, _)| m),
            Ok(GuestMessage::Events(vec![
                GuestEvent::Typing,
                GuestEvent::Join
            ]))
        );
    }

    #[test]
    fn a_quick_reply_answer_is_an_empty_text_with_a_button_response() {
        let message = json!({"type": "Text", "text": "", "content": [{"contentType": "ButtonResponse",
            "buttonResponse": {"text": "Yes", "payload": "yes", "type": "QuickReply"}}]});
        let Ok((GuestMessage::Text(said), _)) = parse_guest_message(Some(&message), 10) else {
            panic!("a quick-reply answer is refused");
        };
        assert_eq!(said.text, "");
        assert_eq!(said.content[0]["buttonResponse"]["text"], "Yes");
    }

    #[test]
    fn custom_attributes_count_utf8_bytes_of_keys_and_values() {
        // "ké" is 3 bytes, "v" 1: 4 in all.
        let message = json!({"type": "Text", "text": "hi",
            "channel": {"metadata": {"customAttributes": {"ké": "v"}}}});
        assert!(parse_guest_message(Some(&message), 4).is_ok());
        assert_eq!(
            parse_guest_message(Some(&message), 3).err(),
            Some(Failure::custom_attributes_too_large(3))
        );
        let numbers = json!({"type": "Text", "text": "hi",
            "channel": {"metadata": {"customAttributes": {"n": 1}}}});
        assert_eq!(
            parse_guest_message(Some(&numbers), 100).err(),
            Some(Failure::request_failed())
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
