//! Web Messaging over a real socket: the deployment config, the guest WebSocket protocol,
//! the simulated agent and the `/__sim/webmessaging/…` control routes. The frames asserted here
//! are those of Genesys's transport SDK samples (genesys-messenger-transport-mobile-sdk:
//! `androidUnitTest/…/util/Response.kt`, `commonTest/…/SerializationTest.kt`).
//!
//! This file holds the guest's helpers and the conversation itself; files are in
//! `attachments.rs`, the bot's rich messages in `rich.rs`, the server's session events, switched
//! off deployments and custom attributes in `session_events.rs`.

mod attachments;
mod receipts;
mod rich;
mod session_events;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use genesys_sim::config::DEMO_DEPLOYMENT_ID;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use uuid::Uuid;

use crate::helpers::{SUPPORT, TestSim, assert_error, ok_json, spawn_sim};

/// How long a frame may take; generous, the simulator answers in milliseconds.
const WAIT: Duration = Duration::from_secs(3);

/// One guest socket.
struct Guest {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    token: String,
}

impl Guest {
    async fn connect(sim: &TestSim, token: &str) -> Guest {
        Guest::connect_to(sim, DEMO_DEPLOYMENT_ID, token).await
    }

    async fn connect_to(sim: &TestSim, deployment: Uuid, token: &str) -> Guest {
        let url = format!("{}/v1?deploymentId={deployment}", sim.sim.ws_base_url());
        let (ws, _) = connect_async(url).await.expect("socket opens");
        Guest {
            ws,
            token: token.to_owned(),
        }
    }

    /// Connects and configures a session; returns the guest and the SessionResponse.
    async fn configured(sim: &TestSim, token: &str) -> (Guest, Value) {
        Guest::configured_on(sim, DEMO_DEPLOYMENT_ID, token).await
    }

    async fn configured_on(sim: &TestSim, deployment: Uuid, token: &str) -> (Guest, Value) {
        let mut guest = Guest::connect_to(sim, deployment, token).await;
        let response = guest
            .request(json!({"action": "configureSession", "deploymentId": deployment}))
            .await;
        (guest, response)
    }

    async fn send(&mut self, mut request: Value) {
        if request.get("token").is_none() {
            request["token"] = json!(self.token);
        }
        self.send_raw(&request.to_string()).await;
    }

    async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("frame is sent");
    }

    /// Sends and returns the next frame.
    async fn request(&mut self, request: Value) -> Value {
        self.send(request).await;
        self.next().await
    }

    async fn text(&mut self, text: &str) {
        self.send(json!({"action": "onMessage", "message": {"type": "Text", "text": text}}))
            .await;
    }

    async fn event(&mut self, event: Value) {
        self.send(json!({"action": "onMessage", "message": {"type": "Event", "events": [event]}}))
            .await;
    }

    /// The next JSON frame (skipping pings and receipts, which `receipts.rs` checks), failing
    /// after [`WAIT`].
    async fn next(&mut self) -> Value {
        loop {
            let frame = self.next_frame().await;
            if !is_receipt(&frame) {
                return frame;
            }
        }
    }

    /// The next JSON frame, receipts included.
    async fn next_frame(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame arrives in time")
                .expect("socket is open")
                .expect("frame is read");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).expect("frame is JSON"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Asserts that nothing but receipts arrives for `quiet`.
    async fn silent_for(&mut self, quiet: Duration) {
        let until = tokio::time::Instant::now() + quiet;
        while let Ok(frame) = tokio::time::timeout_at(until, self.ws.next()).await {
            let receipt = matches!(&frame, Some(Ok(Message::Text(text)))
                if serde_json::from_str::<Value>(text).is_ok_and(|f| is_receipt(&f)));
            assert!(receipt, "expected silence, got {frame:?}");
        }
    }

    /// Expects the server to close the socket (a close frame, then the end of the stream).
    async fn expect_closed(&mut self) -> Option<u16> {
        let mut code = None;
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => panic!("socket still open"),
                Ok(None) | Ok(Some(Err(_))) => return code,
                Ok(Some(Ok(Message::Close(frame)))) => code = frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(other))) => panic!("expected the socket to close, got {other:?}"),
            }
        }
    }
}

fn is_receipt(frame: &Value) -> bool {
    frame["class"] == "StructuredMessage" && frame["body"]["type"] == "Receipt"
}

/// `{"type":"response","class":"string","code":N,"body":"…"}` and nothing else: no
/// `tracingId`, as in every error sample of the transport SDK.
fn assert_error_frame(frame: &Value, code: u64) {
    assert_eq!(frame["type"], "response", "{frame}");
    assert_eq!(frame["class"], "string", "{frame}");
    assert_eq!(frame["code"], code, "{frame}");
    assert!(
        frame["body"].as_str().is_some_and(|b| !b.is_empty()),
        "{frame}"
    );
    assert!(
        frame.get("tracingId").is_none(),
        "an error with a tracingId: {frame}"
    );
}

fn assert_inbound_text(frame: &Value, text: &str) {
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    assert_eq!(frame["code"], 200, "{frame}");
    let body = &frame["body"];
    assert_eq!(body["text"], text, "{frame}");
    assert_eq!(body["direction"], "Inbound", "{frame}");
    assert_eq!(body["type"], "Text", "{frame}");
    assert_eq!(body["originatingEntity"], "Human", "{frame}");
    assert!(
        body["id"].as_str().is_some_and(|id| id.len() == 32),
        "{frame}"
    );
    assert!(body["channel"]["messageId"].is_string(), "{frame}");
    assert!(
        body["channel"]["time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 24),
        "{frame}"
    );
}

fn assert_typing(frame: &Value) {
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    let body = &frame["body"];
    assert_eq!(body["direction"], "Outbound", "{frame}");
    assert_eq!(body["type"], "Event", "{frame}");
    assert_eq!(
        body["events"],
        json!([{"eventType": "Typing", "typing": {"type": "On", "duration": 5000}}]),
        "{frame}"
    );
}

/// Asserts an agent text from `agent`; returns its text.
fn agent_text(frame: &Value, agent: &str) -> String {
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    let body = &frame["body"];
    assert_eq!(body["direction"], "Outbound", "{frame}");
    assert_eq!(body["type"], "Text", "{frame}");
    assert_eq!(body["originatingEntity"], "Human", "{frame}");
    assert_eq!(body["channel"]["type"], "Private", "{frame}");
    assert_eq!(body["channel"]["from"]["nickname"], agent, "{frame}");
    body["text"].as_str().expect("agent text").to_owned()
}

/// The messaging queue with exactly one idle agent (the first, "Eva Novak"), moving.
async fn one_idle_agent(sim: &TestSim) {
    sim.set_queue_state(SUPPORT, &json!({"agents": {"idle": 1}}))
        .await;
    resume(sim).await;
}

/// The messaging queue with nobody to answer: guests' messages wait, and no agent talks.
async fn no_agent(sim: &TestSim) {
    sim.set_queue_state(SUPPORT, &json!({"agents": {"offQueue": 1}}))
        .await;
}

async fn resume(sim: &TestSim) {
    let response = sim
        .plain
        .post(sim.url(&format!("/__sim/queues/{SUPPORT}/resume")))
        .send()
        .await
        .expect("request is sent");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// A guest whose conversation has been greeted by "Eva Novak".
async fn greeted(sim: &TestSim, token: &str) -> Guest {
    one_idle_agent(sim).await;
    let (mut guest, _) = Guest::configured(sim, token).await;
    guest.text("hello").await;
    assert_inbound_text(&guest.next().await, "hello");
    assert_typing(&guest.next().await);
    agent_text(&guest.next().await, "Eva Novak");
    guest
}

async fn sessions(sim: &TestSim) -> Vec<Value> {
    let list = ok_json(
        sim.plain
            .get(sim.url("/__sim/webmessaging/sessions"))
            .send()
            .await
            .expect("request is sent"),
    )
    .await;
    list.as_array().expect("a list").clone()
}

async fn session(sim: &TestSim, token: &str) -> Value {
    sessions(sim)
        .await
        .into_iter()
        .find(|s| s["token"] == token)
        .expect("session is listed")
}

async fn disconnect(sim: &TestSim, token: &str) -> reqwest::Response {
    sim.plain
        .post(sim.url(&format!("/__sim/webmessaging/sessions/{token}/disconnect")))
        .send()
        .await
        .expect("request is sent")
}

fn token() -> String {
    Uuid::new_v4().to_string()
}

#[tokio::test]
async fn config_json_describes_the_deployment() {
    let sim = spawn_sim().await;
    let path = format!("/webdeployments/v1/deployments/{DEMO_DEPLOYMENT_ID}/config.json");
    let response = sim.plain.get(sim.url(&path)).send().await.expect("sent");
    let config = ok_json(response).await;
    let addr = sim.sim.addr();
    assert_eq!(config["id"], DEMO_DEPLOYMENT_ID.to_string());
    assert_eq!(config["apiEndpoint"], format!("http://{addr}"));
    assert_eq!(config["defaultLanguage"], "en-us");
    assert_eq!(config["status"], "Active");
    assert_eq!(config["auth"]["enabled"], false);
    assert_eq!(config["messenger"]["enabled"], true);
    let conversations = &config["messenger"]["apps"]["conversations"];
    assert_eq!(conversations["messagingEndpoint"], format!("ws://{addr}"));
    assert_eq!(
        conversations["conversationDisconnect"],
        json!({"enabled": true, "type": "ReadOnly"})
    );
    assert_eq!(conversations["conversationClear"]["enabled"], true);
    assert_eq!(conversations["showAgentTypingIndicator"], true);
    assert_eq!(conversations["showUserTypingIndicator"], true);
    for key in ["styles", "launcherButton", "fileUpload"] {
        assert!(config["messenger"][key].is_object(), "{key}: {config}");
    }
    assert!(config["journeyEvents"].is_object());
}

#[tokio::test]
async fn config_json_of_an_unknown_deployment_is_404() {
    let sim = spawn_sim().await;
    for id in [Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let path = format!("/webdeployments/v1/deployments/{id}/config.json");
        let response = sim.plain.get(sim.url(&path)).send().await.expect("sent");
        assert_error(response, 404, "not.found").await;
    }
}

/// The status a socket's upgrade is refused with.
async fn upgrade_refused(url: &str) -> u16 {
    match connect_async(url).await {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        other => panic!(
            "{url}: expected an HTTP refusal, got {:?}",
            other.map(|_| ())
        ),
    }
}

#[tokio::test]
async fn socket_without_a_known_deployment_is_refused_before_the_upgrade() {
    let sim = spawn_sim().await;
    let base = sim.sim.ws_base_url();
    let cases = [
        (format!("{base}/v1?deploymentId={}", Uuid::new_v4()), 404),
        (format!("{base}/v1"), 400),
    ];
    for (url, status) in cases {
        assert_eq!(upgrade_refused(&url).await, status, "{url}");
    }
}

#[tokio::test]
async fn configure_session_creates_then_resumes_with_history() {
    let sim = spawn_sim().await;
    one_idle_agent(&sim).await;
    let token = token();
    let (mut guest, response) = Guest::configured(&sim, &token).await;
    assert_eq!(response["type"], "response");
    assert_eq!(response["class"], "SessionResponse");
    assert_eq!(response["code"], 200);
    let body = &response["body"];
    assert_eq!(body["connected"], true);
    assert_eq!(body["newSession"], true);
    assert_eq!(body["readOnly"], false);
    assert_eq!(body["clearedExistingSession"], false);
    assert_eq!(body["maxCustomDataBytes"], 2048);
    assert!(body["durationSeconds"].as_u64().is_some_and(|s| s > 0));
    assert!(body["expirationDate"].as_i64().is_some_and(|e| e > 0));

    guest.text("first visit").await;
    assert_inbound_text(&guest.next().await, "first visit");
    assert_typing(&guest.next().await);
    agent_text(&guest.next().await, "Eva Novak");
    drop(guest);

    let (mut again, response) = Guest::configured(&sim, &token).await;
    assert_eq!(response["body"]["newSession"], false, "{response}");
    assert_eq!(response["body"]["readOnly"], false, "{response}");
    let listed = session(&sim, &token).await;
    assert_eq!(listed["agent"], "Eva Novak");
    assert_eq!(listed["connections"], 1);
    let texts: Vec<&str> = listed["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 2, "{listed}");
    assert_eq!(texts[0], "first visit");

    // The conversation continues on the new socket with the same agent.
    again.text("back again").await;
    assert_inbound_text(&again.next().await, "back again");
    assert_typing(&again.next().await);
    let reply = agent_text(&again.next().await, "Eva Novak");
    assert!(reply.contains("back again"), "{reply}");
}

#[tokio::test]
async fn text_is_echoed_inbound_with_the_tracing_id() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    let echo = guest
        .request(json!({
            "action": "onMessage",
            "tracingId": "trace-42",
            "message": {"type": "Text", "text": "Hello world!"},
        }))
        .await;
    assert_inbound_text(&echo, "Hello world!");
    assert_eq!(echo["tracingId"], "trace-42");
    // The envelope's tracingId is the only link to the request (`Response.onMessage`).
    assert!(echo["body"].get("metadata").is_none(), "{echo}");
}

#[tokio::test]
async fn agent_types_greets_and_replies_to_each_text() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    let started = std::time::Instant::now();
    guest.text("where is my order?").await;
    assert_inbound_text(&guest.next().await, "where is my order?");
    assert_typing(&guest.next().await);
    let reply = agent_text(&guest.next().await, "Eva Novak");
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "no typing delay"
    );
    assert!(reply.contains("where is my order?"), "{reply}");
    assert_eq!(session(&sim, &token).await["agent"], "Eva Novak");
}

#[tokio::test]
async fn greeting_names_the_agent_and_queue() {
    let sim = spawn_sim().await;
    one_idle_agent(&sim).await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    guest.text("hi").await;
    guest.next().await;
    assert_typing(&guest.next().await);
    let greeting = agent_text(&guest.next().await, "Eva Novak");
    assert!(
        greeting.contains("Eva Novak") && greeting.contains("Support"),
        "{greeting}"
    );
}

#[tokio::test]
async fn no_free_agent_means_no_greeting_until_one_is() {
    let sim = spawn_sim().await;
    // One agent, busy with another message; the queue moves, so freeing her dispatches.
    sim.set_queue_state(
        SUPPORT,
        &json!({"agents": {"busy": 1}, "interacting": {"message": 1}}),
    )
    .await;
    resume(&sim).await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    guest.text("anyone there?").await;
    assert_inbound_text(&guest.next().await, "anyone there?");
    guest.text("hello?").await;
    assert_inbound_text(&guest.next().await, "hello?");
    guest.silent_for(Duration::from_millis(400)).await;
    let waiting = session(&sim, &token).await;
    assert!(waiting["conversationId"].is_string(), "{waiting}");
    assert_eq!(waiting["agent"], Value::Null);

    let freed = sim.sim.state().update_model(|m| {
        let busy = m.queue_agents(SUPPORT).first().and_then(|a| a.conversation);
        busy.is_some_and(|conversation| m.end_conversation(conversation))
    });
    assert!(freed, "the busy agent's conversation ended");
    assert_typing(&guest.next().await);
    let greeting = agent_text(&guest.next().await, "Eva Novak");
    assert!(greeting.contains("hello?"), "{greeting}");
}

#[tokio::test]
async fn join_presence_starts_the_conversation() {
    let sim = spawn_sim().await;
    one_idle_agent(&sim).await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    guest
        .event(json!({"eventType": "Presence", "presence": {"type": "Join"}}))
        .await;
    let join = guest.next().await;
    assert_eq!(join["class"], "StructuredMessage", "{join}");
    assert_eq!(join["body"]["direction"], "Inbound", "{join}");
    assert_eq!(
        join["body"]["events"],
        json!([{"eventType": "Presence", "presence": {"type": "Join"}}])
    );
    assert_typing(&guest.next().await);
    agent_text(&guest.next().await, "Eva Novak");
}

#[tokio::test]
async fn guest_typing_is_accepted_silently() {
    let sim = spawn_sim().await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    guest
        .event(json!({"eventType": "Typing", "typing": {"type": "On"}}))
        .await;
    guest.silent_for(Duration::from_millis(300)).await;
    // Typing starts no conversation.
    assert_eq!(session(&sim, &token).await["conversationId"], Value::Null);
}

#[tokio::test]
async fn clear_ends_the_conversation_and_frees_the_agent() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    let conversation = session(&sim, &token).await["conversationId"].clone();
    let conversation: Uuid = serde_json::from_value(conversation).expect("conversation id");
    guest
        .event(json!({"eventType": "Presence", "presence": {"type": "Clear"}}))
        .await;
    let cleared = guest.next().await;
    assert_eq!(
        cleared,
        json!({"type": "message", "class": "SessionClearedEvent", "code": 200, "body": {}})
    );
    // Then the socket is closed, which the transport SDK reads as "conversation cleared".
    assert_eq!(
        guest.next().await,
        json!({"type": "message", "class": "ConnectionClosedEvent", "code": 200, "body": {}})
    );
    assert_eq!(guest.expect_closed().await, Some(1000));
    assert!(sim.sim.state().model().agent_of(conversation).is_none());
    let listed = session(&sim, &token).await;
    assert_eq!(listed["conversationId"], Value::Null, "{listed}");
    assert_eq!(listed["messages"], json!([]), "{listed}");
    assert_eq!(listed["readOnly"], false, "{listed}");
    assert_eq!(listed["connections"], 0, "{listed}");
}

#[tokio::test]
async fn close_session_closes_the_other_connections_and_answers_not_connected() {
    let sim = spawn_sim().await;
    no_agent(&sim).await;
    let token = token();
    let (mut first, _) = Guest::configured(&sim, &token).await;
    let (mut second, _) = Guest::configured(&sim, &token).await;
    // Both sockets of a session see its messages.
    first.text("from tab one").await;
    assert_inbound_text(&first.next().await, "from tab one");
    assert_inbound_text(&second.next().await, "from tab one");

    let answer = first
        .request(json!({"action": "closeSession", "closeAllConnections": true, "tracingId": "t"}))
        .await;
    assert_eq!(answer["class"], "SessionResponse", "{answer}");
    assert_eq!(answer["body"]["connected"], false, "{answer}");
    assert_eq!(answer["tracingId"], "t", "{answer}");
    assert_eq!(
        second.next().await,
        json!({"type": "message", "class": "ConnectionClosedEvent", "code": 200, "body": {}})
    );
    assert_eq!(second.expect_closed().await, Some(1000));
    let listed = session(&sim, &token).await;
    assert_eq!(listed["connections"], 0, "{listed}");
    // The asking socket stays open and may configure again.
    let resumed = first
        .request(json!({"action": "configureSession", "deploymentId": DEMO_DEPLOYMENT_ID}))
        .await;
    assert_eq!(resumed["body"]["connected"], true, "{resumed}");
    assert_eq!(resumed["body"]["newSession"], false, "{resumed}");
}

#[tokio::test]
async fn a_new_chat_after_a_read_only_one_follows_the_sdk_sequence() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    let (mut other_tab, _) = Guest::configured(&sim, &token).await;
    ok_json(disconnect(&sim, &token).await).await;
    for socket in [&mut guest, &mut other_tab] {
        assert_eq!(socket.next().await["body"]["metadata"]["readOnly"], "true");
    }
    // MessagingClientImpl.startNewChat: closeSession(closeAllConnections) → SessionResponse
    // connected:false, readOnly:true → configureSession(startNew:true).
    let closed = guest
        .request(json!({"action": "closeSession", "closeAllConnections": true}))
        .await;
    assert_eq!(closed["class"], "SessionResponse", "{closed}");
    assert_eq!(closed["body"]["connected"], false, "{closed}");
    assert_eq!(closed["body"]["readOnly"], true, "{closed}");
    assert_eq!(other_tab.next().await["class"], "ConnectionClosedEvent");
    let started = guest
        .request(json!({"action": "configureSession", "deploymentId": DEMO_DEPLOYMENT_ID, "startNew": true}))
        .await;
    assert_eq!(started["body"]["connected"], true, "{started}");
    assert_eq!(started["body"]["readOnly"], false, "{started}");
    assert_eq!(started["body"]["newSession"], true, "{started}");
    // Only an authenticated step-up clears other devices' sessions.
    assert_eq!(
        started["body"]["clearedExistingSession"], false,
        "{started}"
    );
    assert_eq!(session(&sim, &token).await["messages"], json!([]));
    guest.text("new question").await;
    assert_inbound_text(&guest.next().await, "new question");
    assert_typing(&guest.next().await);
    agent_text(&guest.next().await, "Eva Novak");
}

#[tokio::test]
async fn disconnect_route_refuses_unknown_or_idle_sessions() {
    let sim = spawn_sim().await;
    assert_error(disconnect(&sim, "nobody").await, 404, "not.found").await;
    let token = token();
    let _guest = Guest::configured(&sim, &token).await;
    assert_eq!(
        disconnect(&sim, &token).await.status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn echo_answers_with_the_message_and_tracing_id() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    let echo = guest
        .request(json!({
            "action": "echo",
            "tracingId": "SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=",
            "message": {"text": "ping", "type": "Text"},
        }))
        .await;
    assert_eq!(echo["type"], "response", "{echo}");
    assert_eq!(echo["class"], "StructuredMessage", "{echo}");
    assert_eq!(echo["code"], 200, "{echo}");
    assert_eq!(echo["body"]["text"], "ping", "{echo}");
    assert_eq!(echo["body"]["type"], "Text", "{echo}");
    assert_eq!(echo["tracingId"], "SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=", "{echo}");
}

#[tokio::test]
async fn get_jwt_opens_the_history_api() {
    let sim = spawn_sim().await;
    no_agent(&sim).await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    guest.text("one").await;
    guest.next().await;
    guest.text("two").await;
    guest.next().await;
    let jwt = guest
        .request(json!({"action": "getJwt", "tracingId": "j"}))
        .await;
    assert_eq!(jwt["type"], "response", "{jwt}");
    assert_eq!(jwt["class"], "JwtResponse", "{jwt}");
    assert_eq!(jwt["tracingId"], "j", "{jwt}");
    assert!(jwt["body"]["exp"].as_i64().is_some_and(|e| e > 0), "{jwt}");
    let jwt = jwt["body"]["jwt"].as_str().expect("jwt");

    let history = ok_json(
        sim.plain
            .get(sim.url("/api/v2/webmessaging/messages?pageSize=1"))
            .bearer_auth(jwt)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(history["total"], 2, "{history}");
    assert_eq!(history["pageSize"], 1, "{history}");
    assert_eq!(history["pageCount"], 2, "{history}");
    assert_eq!(history["entities"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        history["entities"][0]["text"], "two",
        "newest first: {history}"
    );

    let refused = sim
        .plain
        .get(sim.url("/api/v2/webmessaging/messages"))
        .bearer_auth("forged")
        .send()
        .await
        .expect("sent");
    assert_error(refused, 401, "bad.credentials").await;
}

#[tokio::test]
async fn on_message_before_configure_session_is_4007() {
    let sim = spawn_sim().await;
    let mut guest = Guest::connect(&sim, &token()).await;
    guest.text("hello").await;
    assert_error_frame(&guest.next().await, 4007);
    let jwt = guest.request(json!({"action": "getJwt"})).await;
    assert_error_frame(&jwt, 4007);
}

#[tokio::test]
async fn text_over_4000_characters_is_4011() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    guest.text(&"é".repeat(4001)).await;
    assert_error_frame(&guest.next().await, 4011);
    let longest = "é".repeat(4000);
    guest.text(&longest).await;
    assert_inbound_text(&guest.next().await, &longest);
}

#[tokio::test]
async fn missing_fields_are_4020() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    let requests = [
        json!({"action": "onMessage"}),
        json!({"action": "onMessage", "message": {"type": "Text"}}),
        json!({"action": "onMessage", "message": {"text": "no type"}}),
        json!({"action": "onMessage", "message": {"type": "Event"}}),
        json!({"action": "configureSession"}),
        json!({"token": "t"}),
    ];
    for request in requests {
        let response = guest.request(request.clone()).await;
        assert_error_frame(&response, 4020);
    }
    guest.send_raw(r#"{"action":"echo"}"#).await;
    assert_error_frame(&guest.next().await, 4020);
}

#[tokio::test]
async fn custom_attributes_travel_in_the_message_channel_and_count_utf8_bytes() {
    let sim = spawn_sim().await;
    no_agent(&sim).await;
    let token = token();
    let (mut guest, _) = Guest::configured(&sim, &token).await;
    // Where the transport SDK puts them (`SerializationTest`, OnMessageRequest).
    let message = |attributes: Value| {
        json!({
            "action": "onMessage",
            "message": {"type": "Text", "text": "with attributes",
                "channel": {"metadata": {"customAttributes": attributes}}},
        })
    };
    // 2,049 bytes of keys and values: "é" is 2 bytes.
    let too_big = json!({"k": "x".repeat(2046), "é": ""});
    assert_error_frame(&guest.request(message(too_big)).await, 4013);
    let fits = json!({"k": "x".repeat(2045), "é": ""});
    assert_inbound_text(&guest.request(message(fits)).await, "with attributes");
    let listed = session(&sim, &token).await;
    assert_eq!(listed["customAttributes"]["é"], "", "{listed}");
    // Not strings: refused.
    assert_error_frame(&guest.request(message(json!({"n": 1}))).await, 400);
}

#[tokio::test]
async fn more_than_ten_messages_a_second_is_429() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    for _ in 0..10 {
        guest
            .event(json!({"eventType": "Typing", "typing": {"type": "On"}}))
            .await;
    }
    let limited = guest
        .request(json!({"action": "onMessage", "tracingId": "r", "message": {"type": "Text", "text": "one too many"}}))
        .await;
    assert_eq!(limited["type"], "response", "{limited}");
    assert_eq!(limited["class"], "TooManyRequestsErrorMessage", "{limited}");
    assert_eq!(limited["code"], 429, "{limited}");
    assert_eq!(limited["body"]["errorCode"], 4029, "{limited}");
    assert!(
        limited["body"]["retryAfter"]
            .as_u64()
            .is_some_and(|s| s >= 1)
    );
    assert_eq!(
        limited["body"]["errorMessage"],
        "Message rate too high for this session"
    );
    assert!(limited.get("tracingId").is_none(), "{limited}");
}

#[tokio::test]
async fn garbage_unknown_actions_and_uploads_when_off_are_refused() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    guest.send_raw("not json").await;
    let garbage = guest.next().await;
    assert_error_frame(&garbage, 400);
    assert_eq!(garbage["body"], "Request failed.");
    assert_error_frame(&guest.request(json!({"action": "dance"})).await, 400);
    let upload = guest
        .request(json!({"action": "onAttachment", "fileName": "a.png"}))
        .await;
    assert_error_frame(&upload, 4000);
    let wrong = guest
        .request(json!({"action": "configureSession", "deploymentId": Uuid::new_v4()}))
        .await;
    assert_error_frame(&wrong, 400);
}

#[tokio::test]
async fn frames_over_64_kib_close_the_socket() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    guest.text(&"x".repeat(70 * 1024)).await;
    guest.expect_closed().await;
}

async fn set_deployment(sim: &TestSim, id: Uuid, settings: Value) -> Value {
    let response = sim
        .plain
        .put(sim.url(&format!("/__sim/webmessaging/deployments/{id}")))
        .json(&settings)
        .send()
        .await
        .expect("request is sent");
    ok_json(response).await
}

async fn config_json(sim: &TestSim, id: Uuid) -> Value {
    let path = format!("/webdeployments/v1/deployments/{id}/config.json");
    ok_json(sim.plain.get(sim.url(&path)).send().await.expect("sent")).await
}

async fn control_post(sim: &TestSim, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = sim.plain.post(sim.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request is sent")
}

#[tokio::test]
async fn deployments_serve_each_setting_on_and_off() {
    let sim = spawn_sim().await;
    let other = Uuid::new_v4();
    set_deployment(
        &sim,
        other,
        json!({
            "showUserTypingIndicator": false, "showAgentTypingIndicator": false,
            "conversationClear": false,
            "conversationDisconnect": {"enabled": true, "type": "Send"},
            "autoStart": true, "fileUpload": true, "status": "Inactive",
        }),
    )
    .await;
    let off = config_json(&sim, other).await;
    let on = config_json(&sim, DEMO_DEPLOYMENT_ID).await;
    let path = "/messenger/apps/conversations";
    for (config, flag) in [(&on, true), (&off, false)] {
        let conversations = config.pointer(path).expect("conversations");
        assert_eq!(conversations["showUserTypingIndicator"], flag, "{config}");
        assert_eq!(conversations["showAgentTypingIndicator"], flag, "{config}");
        assert_eq!(
            conversations["conversationClear"]["enabled"], flag,
            "{config}"
        );
        assert_eq!(conversations["autoStart"]["enabled"], !flag, "{config}");
        assert_eq!(
            config["messenger"]["fileUpload"]["modes"]
                .as_array()
                .map(Vec::is_empty),
            Some(flag),
            "{config}"
        );
        assert_eq!(config["status"], if flag { "Active" } else { "Inactive" });
    }
    assert_eq!(
        off.pointer(path).map(|c| &c["conversationDisconnect"]),
        Some(&json!({"enabled": true, "type": "Send"}))
    );
    assert_eq!(off["id"], other.to_string());
    // An inactive deployment is refused before the upgrade (the transport SDK's
    // `WebsocketAccessDenied`).
    let url = format!("{}/v1?deploymentId={other}", sim.sim.ws_base_url());
    assert_eq!(upgrade_refused(&url).await, 403);
    // Unknown settings are a 400.
    let bad = sim
        .plain
        .put(sim.url(&format!("/__sim/webmessaging/deployments/{other}")))
        .json(&json!({"typing": false}))
        .send()
        .await
        .expect("sent");
    assert_error(bad, 400, "bad.request").await;
}

#[tokio::test]
async fn typing_on_a_deployment_without_the_user_typing_indicator_is_403() {
    let sim = spawn_sim().await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    let typing = json!({"eventType": "Typing", "typing": {"type": "On"}});
    guest.event(typing.clone()).await;
    guest.silent_for(Duration::from_millis(200)).await;
    set_deployment(
        &sim,
        DEMO_DEPLOYMENT_ID,
        json!({"showUserTypingIndicator": false}),
    )
    .await;
    guest.event(typing).await;
    let refused = guest.next().await;
    assert_error_frame(&refused, 403);
    // `Response.typingIndicatorForbidden`.
    assert_eq!(
        refused["body"],
        "Turn on the Feature Toggle or fix the configuration."
    );
}

#[tokio::test]
async fn clear_on_a_deployment_without_conversation_clear_is_403() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    set_deployment(
        &sim,
        DEMO_DEPLOYMENT_ID,
        json!({"conversationClear": false}),
    )
    .await;
    guest
        .event(json!({"eventType": "Presence", "presence": {"type": "Clear"}}))
        .await;
    let refused = guest.next().await;
    assert_error_frame(&refused, 403);
    // The transport SDK recognises a refused Clear by "Conversation Clear" in the body.
    assert!(
        refused["body"]
            .as_str()
            .is_some_and(|b| b.contains("Conversation Clear")),
        "{refused}"
    );
    assert!(session(&sim, &token).await["conversationId"].is_string());
}

#[tokio::test]
async fn an_agent_disconnect_is_read_only_only_when_the_deployment_says_so() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    set_deployment(
        &sim,
        DEMO_DEPLOYMENT_ID,
        json!({"conversationDisconnect": {"enabled": true, "type": "Send"}}),
    )
    .await;
    let listed = ok_json(disconnect(&sim, &token).await).await;
    assert_eq!(listed["readOnly"], false, "{listed}");
    let event = guest.next().await;
    assert_eq!(
        event["body"]["events"],
        json!([{"eventType": "Presence", "presence": {"type": "Disconnect"}}])
    );
    assert!(
        event["body"]["metadata"].get("readOnly").is_none(),
        "{event}"
    );
    // The guest writes on, which starts a new conversation.
    guest.text("one more thing").await;
    assert_inbound_text(&guest.next().await, "one more thing");
    assert_typing(&guest.next().await);
    agent_text(&guest.next().await, "Eva Novak");

    // With conversationDisconnect off the guest is told nothing.
    set_deployment(
        &sim,
        DEMO_DEPLOYMENT_ID,
        json!({"conversationDisconnect": {"enabled": false, "type": "ReadOnly"}}),
    )
    .await;
    let listed = ok_json(disconnect(&sim, &token).await).await;
    assert_eq!(listed["readOnly"], false, "{listed}");
    assert_eq!(listed["conversationId"], Value::Null, "{listed}");
    guest.silent_for(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn an_expired_or_lost_session_is_4006_or_4007_until_a_new_token() {
    let sim = spawn_sim().await;
    let expired = token();
    let (mut guest, _) = Guest::configured(&sim, &expired).await;
    let response = control_post(
        &sim,
        &format!("/__sim/webmessaging/sessions/{expired}/expire"),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // `Response.sessionExpiredEvent`: type "response", although unsolicited.
    assert_eq!(
        guest.next().await,
        json!({"type": "response", "class": "SessionExpiredEvent", "code": 200, "body": {}})
    );
    guest.text("still there?").await;
    assert_error_frame(&guest.next().await, 4006);
    let (_, again) = Guest::configured(&sim, &expired).await;
    assert_error_frame(&again, 4006);

    let lost = token();
    let (mut guest, _) = Guest::configured(&sim, &lost).await;
    let response = control_post(
        &sim,
        &format!("/__sim/webmessaging/sessions/{lost}/forget"),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    guest.silent_for(Duration::from_millis(200)).await;
    let (_, again) = Guest::configured(&sim, &lost).await;
    assert_error_frame(&again, 4007);

    // A new token works at once.
    let (_, fresh) = Guest::configured(&sim, &token()).await;
    assert_eq!(fresh["body"]["newSession"], true, "{fresh}");
    let unknown = control_post(&sim, "/__sim/webmessaging/sessions/nobody/expire", None).await;
    assert_error(unknown, 404, "not.found").await;
}

#[tokio::test]
async fn a_session_expires_after_its_duration_without_activity() {
    let sim = spawn_sim().await;
    set_deployment(
        &sim,
        DEMO_DEPLOYMENT_ID,
        json!({"sessionDurationSeconds": 2}),
    )
    .await;
    let (mut guest, response) = Guest::configured(&sim, &token()).await;
    let body = &response["body"];
    assert_eq!(body["durationSeconds"], 2, "{response}");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expires = body["expirationDate"].as_i64().expect("expirationDate");
    assert!((now + 1..=now + 3).contains(&expires), "{response}");
    // The echo tells the same, as metadata strings (`healthCheckResponseWithSessionDuration`).
    let echo = guest
        .request(
            json!({"action": "echo", "tracingId": "SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=",
            "message": {"type": "Text", "text": "ping"}}),
        )
        .await;
    assert_eq!(echo["body"]["metadata"]["durationSeconds"], "2", "{echo}");
    assert_eq!(
        echo["body"]["metadata"]["expirationDate"],
        expires.to_string(),
        "{echo}"
    );
    let expired = tokio::time::timeout(Duration::from_secs(5), guest.ws.next())
        .await
        .expect("the session expires in time")
        .expect("socket is open")
        .expect("frame is read");
    let expired: Value = serde_json::from_str(expired.to_text().expect("text")).expect("JSON");
    assert_eq!(expired["class"], "SessionExpiredEvent", "{expired}");
}

#[tokio::test]
async fn quick_reply_answers_and_card_postbacks_are_accepted() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    // MessageStore.prepareMessageWith: a Text with no text and a ButtonResponse.
    let quick_reply = json!({"contentType": "ButtonResponse",
        "buttonResponse": {"text": "Yes please", "payload": "yes", "type": "QuickReply"}});
    let echo = guest
        .request(json!({"action": "onMessage", "tracingId": "qr",
            "message": {"type": "Text", "text": "", "content": [quick_reply]}}))
        .await;
    assert_eq!(echo["tracingId"], "qr", "{echo}");
    assert_eq!(echo["body"]["type"], "Text", "{echo}");
    assert_eq!(echo["body"]["content"], json!([quick_reply]), "{echo}");
    assert_typing(&guest.next().await);
    let reply = agent_text(&guest.next().await, "Eva Novak");
    assert!(reply.contains("Yes please"), "{reply}");
    // MessageStore.preparePostbackMessage: a Structured message.
    let postback = json!({"contentType": "ButtonResponse",
        "buttonResponse": {"text": "Pick this", "payload": "card-1", "type": "Button"}});
    let echo = guest
        .request(json!({"action": "onMessage", "tracingId": "pb",
            "message": {"type": "Structured", "text": "Pick this", "content": [postback]}}))
        .await;
    assert_eq!(echo["body"]["type"], "Structured", "{echo}");
    assert_eq!(echo["tracingId"], "pb", "{echo}");
    assert_typing(&guest.next().await);
    let reply = agent_text(&guest.next().await, "Eva Novak");
    assert!(reply.contains("Pick this"), "{reply}");
    // A Structured message without a button answer is incomplete.
    let incomplete = guest
        .request(json!({"action": "onMessage", "message": {"type": "Structured", "text": "x"}}))
        .await;
    assert_error_frame(&incomplete, 4020);
}

#[tokio::test]
async fn the_agents_side_can_send_attachments_cards_and_quick_replies() {
    let sim = spawn_sim().await;
    let token = token();
    let mut guest = greeted(&sim, &token).await;
    // `Response.onMessageWithQuickReplies`, without its ids and times.
    let given = json!({"type": "Structured", "text": "Hi", "originatingEntity": "Bot",
        "content": [{"contentType": "QuickReply", "quickReply": {"text": "text_a", "payload": "payload_a"}}]});
    let response = control_post(
        &sim,
        &format!("/__sim/webmessaging/sessions/{token}/messages"),
        Some(given.clone()),
    )
    .await;
    let sent = ok_json(response).await;
    let frame = guest.next().await;
    assert_eq!(frame["type"], "message", "{frame}");
    assert_eq!(frame["class"], "StructuredMessage", "{frame}");
    let body = &frame["body"];
    assert_eq!(body, &sent);
    assert_eq!(body["direction"], "Outbound", "{frame}");
    assert_eq!(body["type"], "Structured", "{frame}");
    assert_eq!(body["content"], given["content"], "{frame}");
    assert_eq!(body["originatingEntity"], "Bot", "{frame}");
    assert!(body["channel"]["time"].is_string(), "{frame}");
    let refused = control_post(
        &sim,
        &format!("/__sim/webmessaging/sessions/{token}/messages"),
        Some(json!({"type": "Event"})),
    )
    .await;
    assert_error(refused, 400, "bad.request").await;
}

#[tokio::test]
async fn history_takes_a_bearer_in_any_case_and_pages_25_newest_first() {
    let sim = spawn_sim().await;
    no_agent(&sim).await;
    let (mut guest, _) = Guest::configured(&sim, &token()).await;
    for n in 0..30 {
        if n % 9 == 8 {
            // Stay under the rate limit.
            tokio::time::sleep(Duration::from_millis(1_100)).await;
        }
        guest.text(&format!("message {n}")).await;
        guest.next().await;
    }
    let jwt = guest.request(json!({"action": "getJwt"})).await;
    let jwt = jwt["body"]["jwt"].as_str().expect("jwt").to_owned();
    // The transport SDK sends `bearer` (WebMessagingApi.headerAuthorizationBearer).
    let page = ok_json(
        sim.plain
            .get(sim.url("/api/v2/webmessaging/messages?pageNumber=1"))
            .header("Authorization", format!("bearer {jwt}"))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(page["pageSize"], 25, "{page}");
    assert_eq!(page["total"], 30, "{page}");
    assert_eq!(page["pageCount"], 2, "{page}");
    assert_eq!(page["entities"].as_array().map(Vec::len), Some(25));
    assert_eq!(page["entities"][0]["text"], "message 29", "{page}");
    let second = ok_json(
        sim.plain
            .get(sim.url("/api/v2/webmessaging/messages?pageNumber=2"))
            .header("Authorization", format!("BEARER {jwt}"))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(second["entities"].as_array().map(Vec::len), Some(5));
    assert_eq!(second["entities"][4]["text"], "message 0", "{second}");
}
