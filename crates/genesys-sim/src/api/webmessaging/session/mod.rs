//! Guest sessions, keyed by the client-generated session token: the deployment, the conversation,
//! its agent, the history, the open sockets and when the session expires. A session outlives its
//! sockets, so a reconnect with the same token resumes it. Closing sockets (even `closeSession`)
//! never ends the conversation; only the guest's Presence `Clear`, the agent's disconnect and the
//! session's expiry do.
//!
//! Several sockets may share a session (Messenger open in several tabs): every unsolicited frame
//! goes to all of them, responses only to the requesting socket. Past [`MAX_CONNECTIONS`] the
//! oldest socket gets `ConnectionClosedEvent` and is closed, as Genesys does at its session limit.
//! A session lives `durationSeconds` after its last activity (configureSession, onMessage); then
//! its sockets get `SessionExpiredEvent` and its token is answered with 4006 from then on.
//!
//! A session also holds its files (`files.rs`: presigning, uploads, downloads, the agent's
//! files), so they go when the session does.
//!
//! Not the socket loop (`socket.rs`) nor the agent (`agent.rs`). Everything here is synchronous
//! except the expiry watcher. Lock order: the sessions lock, then the deployments lock or the
//! model (through `SimState::update_model`); nothing takes them the other way round.

mod files;

pub use files::AgentFile;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::agent::{self, Heard};
use super::attachments::Attachment;
use super::deployment::{DeploymentSettings, Deployments, SettingsPatch, Status};
use super::protocol::{self, CustomAttributes, Failure, Said, SessionState};
use crate::state::SimState;

/// Sockets one session may have open at once.
pub const MAX_CONNECTIONS: usize = 8;
/// Guest `onMessage` requests allowed per session per [`RATE_WINDOW`] (our choice: Genesys
/// says the limit exists, not its value).
pub const MAX_MESSAGES_PER_WINDOW: usize = 10;
pub const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Messages kept per session for the history API and `/__sim/`; older ones are dropped.
const MAX_HISTORY: usize = 1_000;
/// Guest texts queued for a busy agent; past that the agent does not answer every one of them.
const AGENT_INBOX: usize = 32;

/// What the socket's writer task sends.
#[derive(Debug)]
pub enum Outgoing {
    Frame(String),
    Close { code: u16, reason: &'static str },
}

/// One socket of a session, as the session sees it.
#[derive(Clone)]
pub struct Connection {
    pub id: u64,
    pub tx: mpsc::Sender<Outgoing>,
    /// Cancelling it closes the socket at once.
    pub kill: CancellationToken,
}

impl Connection {
    /// Queues without waiting. A socket whose bounded queue is full cannot keep up: it is closed
    /// rather than letting it hold everybody else up (returns false).
    fn offer(&self, out: Outgoing) -> bool {
        if self.tx.try_send(out).is_ok() {
            return true;
        }
        self.kill.cancel();
        false
    }
}

struct Conversation {
    id: Uuid,
    agent: Option<String>,
    to_agent: mpsc::Sender<Heard>,
    stop: CancellationToken,
}

struct Session {
    /// Creation order, for a stable listing; also tells an expiry watcher its own session.
    seq: u64,
    deployment: Uuid,
    conversation: Option<Conversation>,
    read_only: bool,
    history: VecDeque<Value>,
    connections: Vec<Connection>,
    recent: VecDeque<Instant>,
    /// What the guest's messages carried in `channel.metadata.customAttributes`, merged.
    custom_attributes: CustomAttributes,
    /// The guest's uploads and the agent's files, in the order they came.
    attachments: Vec<Attachment>,
    duration_seconds: u64,
    /// `expirationDate`: unix seconds.
    expires_at: i64,
    /// Ids of the guest's messages delivered but not yet read by the agent's side.
    unread: Vec<String>,
}

fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

impl Session {
    fn new(seq: u64, deployment: Uuid, duration_seconds: u64) -> Self {
        let mut session = Session {
            seq,
            deployment,
            conversation: None,
            read_only: false,
            history: VecDeque::new(),
            connections: Vec::new(),
            recent: VecDeque::new(),
            custom_attributes: CustomAttributes::new(),
            attachments: Vec::new(),
            duration_seconds,
            expires_at: 0,
            unread: Vec::new(),
        };
        session.touch();
        session
    }

    /// Activity: the session lives `durationSeconds` from now.
    fn touch(&mut self) {
        let duration = i64::try_from(self.duration_seconds).unwrap_or(i64::MAX);
        self.expires_at = now_unix().saturating_add(duration);
    }

    fn state(
        &self,
        connected: bool,
        new_session: bool,
        settings: &DeploymentSettings,
    ) -> SessionState {
        SessionState {
            connected,
            new_session,
            read_only: self.read_only,
            duration_seconds: self.duration_seconds,
            expiration_date: self.expires_at,
            max_custom_data_bytes: settings.max_custom_data_bytes,
            upload_limits: settings.upload_limits(),
        }
    }

    /// A new start on the same token (Clear, `startNew` after read-only): no history, no custom
    /// attributes, no files.
    fn forget_conversation(&mut self) {
        self.history.clear();
        self.custom_attributes.clear();
        self.attachments.clear();
        self.unread.clear();
        self.read_only = false;
    }

    /// Closes every socket: `ConnectionClosedEvent`, then a close frame.
    fn close_all(&mut self) {
        for connection in self.connections.drain(..) {
            Session::close_connection(&connection);
        }
    }

    fn record(&mut self, body: &Value) {
        self.history.push_back(body.clone());
        if self.history.len() > MAX_HISTORY {
            self.history.pop_front();
        }
    }

    fn broadcast(&mut self, frame: &str) {
        self.connections
            .retain(|c| c.offer(Outgoing::Frame(frame.to_owned())));
    }

    /// The guest's message `body` reached the server: a `Delivered` receipt, and it waits to be
    /// read.
    fn delivered(&mut self, body: &Value) {
        let Some(id) = body.get("id").and_then(Value::as_str) else {
            return;
        };
        self.broadcast(&protocol::structured_message(
            &protocol::receipt(id, "Delivered"),
            None,
        ));
        self.unread.push(id.to_owned());
    }

    /// The agent's side has read everything the guest wrote: a `Read` receipt for each message
    /// not read yet.
    fn read_all(&mut self) {
        for id in std::mem::take(&mut self.unread) {
            self.broadcast(&protocol::structured_message(
                &protocol::receipt(&id, "Read"),
                None,
            ));
        }
    }

    fn say(&mut self, body: &Value, tracing_id: Option<&str>, record: bool) {
        if record {
            self.record(body);
        }
        self.broadcast(&protocol::structured_message(body, tracing_id));
    }

    /// After a Clear: the conversation ends, history, attributes and files go, and every socket
    /// gets `SessionClearedEvent`, then `ConnectionClosedEvent` and is closed (the transport SDK
    /// reads that close as "conversation cleared").
    fn cleared(&mut self, state: &SimState) {
        self.end_conversation(state);
        self.forget_conversation();
        self.broadcast(&protocol::empty_event("SessionClearedEvent"));
        self.close_all();
    }

    fn close_connection(connection: &Connection) {
        for out in connection_closed() {
            connection.offer(out);
        }
    }

    /// Ends the model conversation, if any, and stops its agent.
    fn end_conversation(&mut self, state: &SimState) -> Option<Uuid> {
        let conversation = self.conversation.take()?;
        conversation.stop.cancel();
        state.update_model(|m| m.end_conversation(conversation.id));
        Some(conversation.id)
    }

    /// The current conversation, started (queued in the messaging queue, with its agent task)
    /// if there is none.
    fn ensure_conversation(
        &mut self,
        state: &SimState,
        token: &str,
    ) -> Result<&Conversation, Failure> {
        if self.conversation.is_none() {
            self.conversation = Some(start_conversation(state, token)?);
        }
        self.conversation.as_ref().ok_or_else(Failure::unexpected)
    }

    fn summary(&self, token: &str) -> Value {
        json!({
            "token": token,
            "conversationId": self.conversation.as_ref().map(|c| c.id),
            "agent": self.conversation.as_ref().and_then(|c| c.agent.clone()),
            "deploymentId": self.deployment,
            "messages": self.history,
            "readOnly": self.read_only,
            "connections": self.connections.len(),
            "customAttributes": self.custom_attributes,
            "attachments": self.attachments.iter().map(Attachment::summary).collect::<Vec<_>>(),
            "expirationDate": self.expires_at,
        })
    }
}

/// What a socket the server closes gets: `ConnectionClosedEvent`, then a normal close frame.
pub fn connection_closed() -> [Outgoing; 2] {
    [
        Outgoing::Frame(protocol::empty_event("ConnectionClosedEvent")),
        Outgoing::Close {
            code: 1000,
            reason: "Connection closed",
        },
    ]
}

fn start_conversation(state: &SimState, token: &str) -> Result<Conversation, Failure> {
    // Subscribe first: an idle agent takes the conversation inside `start_message_conversation`.
    let events = state.subscribe_events();
    let queue = state.config.org.messaging_queue;
    let id = state
        .update_model(|m| m.start_message_conversation(queue))
        .ok_or_else(Failure::unexpected)?;
    let (to_agent, from_guest) = mpsc::channel(AGENT_INBOX);
    let stop = state.shutdown.child_token();
    agent::spawn(agent::Agent {
        state: state.clone(),
        token: token.to_owned(),
        conversation: id,
        events,
        from_guest,
        stop: stop.clone(),
    });
    Ok(Conversation {
        id,
        agent: None,
        to_agent,
        stop,
    })
}

/// Why a control route about one session refused.
pub enum ControlError {
    UnknownSession,
    NoConversation,
    /// The agent's message is not a Text or Structured message.
    BadMessage,
    /// The session has no attachment with that id.
    UnknownAttachment,
    /// The agent's file cannot be sent (its content is not base64, too big, no upload target).
    BadFile(&'static str),
}

/// A token whose session is gone: what a later request with it is answered.
enum Gone {
    /// 4006: it expired (or `/__sim/…/expire`).
    Expired,
    /// 4007: the server no longer knows it (`/__sim/…/forget`).
    NotFound,
}

/// Every guest session of the simulator (`SimState::webmessaging`), and the deployments.
#[derive(Default)]
pub struct Sessions {
    store: Mutex<Store>,
    deployments: Deployments,
    /// `http://host:port` of the upload target, once it listens.
    files_base: OnceLock<String>,
}

#[derive(Default)]
struct Store {
    sessions: HashMap<String, Session>,
    /// JWTs from `getJwt` → session token, for the history API.
    jwts: HashMap<String, String>,
    gone: HashMap<String, Gone>,
    next_seq: u64,
}

impl Store {
    fn session(&mut self, token: &str) -> Result<&mut Session, Failure> {
        match (self.sessions.get_mut(token), self.gone.get(token)) {
            (Some(session), _) => Ok(session),
            (None, Some(Gone::Expired)) => Err(Failure::session_expired()),
            (None, _) => Err(Failure::session_not_found()),
        }
    }

    /// Removes the session for good, ending its conversation; later requests get `gone`.
    fn remove(&mut self, state: &SimState, token: &str, gone: Gone) -> Option<Session> {
        let mut session = self.sessions.remove(token)?;
        session.end_conversation(state);
        self.jwts.retain(|_, owner| owner != token);
        self.gone.insert(token.to_owned(), gone);
        Some(session)
    }
}

impl Sessions {
    fn store(&self) -> MutexGuard<'_, Store> {
        // Plain records: a panic mid-update leaves nothing worth refusing to serve.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn next_connection_id(&self) -> u64 {
        let mut store = self.store();
        store.next_seq += 1;
        store.next_seq
    }

    /// The settings of deployment `id`, if the simulator serves it.
    pub fn deployment(&self, state: &SimState, id: Uuid) -> Option<DeploymentSettings> {
        self.deployments.get(state.config.org.deployment_id, id)
    }

    /// Changes (or creates) deployment `id`; sessions see the change at once. Switched off
    /// (`Inactive`), its open sockets are closed (1008) and new ones refused before the upgrade.
    pub fn patch_deployment(&self, id: Uuid, patch: SettingsPatch) -> DeploymentSettings {
        let mut store = self.store();
        let settings = self.deployments.patch(id, patch);
        if settings.status == Status::Inactive {
            let sessions = store.sessions.values_mut();
            for session in sessions.filter(|s| s.deployment == id) {
                for connection in session.connections.drain(..) {
                    connection.offer(Outgoing::Close {
                        code: 1008,
                        reason: "Deployment is not active",
                    });
                }
            }
        }
        settings
    }

    /// The settings of the deployment the session `token` belongs to.
    fn settings_of(&self, state: &SimState, session: &Session) -> DeploymentSettings {
        self.deployment(state, session.deployment)
            .unwrap_or_default()
    }

    /// `configureSession`: creates or resumes the session and attaches the socket. `startNew`
    /// only matters on a read-only session: it starts a new session on the same token (empty, so
    /// the next message starts a new conversation); on an active one Genesys keeps the
    /// conversation going, and so do we. A token whose session expired or was lost is refused
    /// (4006 / 4007): the guest must configure a new token.
    pub fn configure(
        &self,
        state: &SimState,
        token: &str,
        deployment: Uuid,
        connection: Connection,
        start_new: bool,
    ) -> Result<SessionState, Failure> {
        let settings = self
            .deployment(state, deployment)
            .ok_or_else(Failure::unknown_deployment)?;
        if settings.status == Status::Inactive {
            return Err(Failure::deployment_inactive());
        }
        let mut store = self.store();
        match store.gone.get(token) {
            Some(Gone::Expired) => return Err(Failure::session_expired()),
            Some(Gone::NotFound) => return Err(Failure::session_not_found()),
            None => {}
        }
        store.next_seq += 1;
        let seq = store.next_seq;
        let (session, mut new_session) = match store.sessions.entry(token.to_owned()) {
            Entry::Occupied(entry) => (entry.into_mut(), false),
            Entry::Vacant(entry) => {
                let session = Session::new(seq, deployment, settings.session_duration_seconds);
                tokio::spawn(watch_expiry(state.clone(), token.to_owned(), seq));
                (entry.insert(session), true)
            }
        };
        if start_new && session.read_only {
            session.forget_conversation();
            new_session = true;
        }
        session.duration_seconds = settings.session_duration_seconds;
        session.touch();
        session.connections.retain(|c| c.id != connection.id);
        session.connections.push(connection);
        while session.connections.len() > MAX_CONNECTIONS {
            Session::close_connection(&session.connections.remove(0));
        }
        Ok(session.state(true, new_session, &settings))
    }

    /// The socket went away; the session and its conversation stay.
    pub fn detach(&self, token: &str, connection_id: u64) {
        if let Some(session) = self.store().sessions.get_mut(token) {
            session.connections.retain(|c| c.id != connection_id);
        }
    }

    /// `closeSession`: the requesting socket leaves the session (it stays open, to configure
    /// again); with `closeAllConnections` every other socket of the session gets
    /// `ConnectionClosedEvent` and is closed. The answer is a `SessionResponse` with
    /// `connected:false`, as the transport SDK's `startNewChat` expects before it configures the
    /// session again with `startNew`.
    pub fn close_session(
        &self,
        state: &SimState,
        token: &str,
        connection_id: u64,
        close_all: bool,
    ) -> Result<SessionState, Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        session.connections.retain(|c| c.id != connection_id);
        if close_all {
            session.close_all();
        }
        let settings = self.settings_of(state, session);
        Ok(session.state(false, false, &settings))
    }

    /// The session's state for an echo's metadata; `None` for an unknown token.
    pub fn state_of(&self, state: &SimState, token: &str) -> Option<SessionState> {
        let store = self.store();
        let session = store.sessions.get(token)?;
        Some(session.state(true, false, &self.settings_of(state, session)))
    }

    /// The deployment's `maxCustomDataBytes` for the session `token` (the default for a token
    /// without a session, which is refused anyway).
    pub fn max_custom_data_bytes(&self, state: &SimState, token: &str) -> usize {
        let store = self.store();
        match store.sessions.get(token) {
            Some(session) => self.settings_of(state, session).max_custom_data_bytes,
            None => protocol::MAX_CUSTOM_DATA_BYTES,
        }
    }

    /// Counts one `onMessage`; past the limit answers with the seconds until the window frees.
    pub fn check_rate(&self, token: &str) -> Result<(), Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        let now = Instant::now();
        while session
            .recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= RATE_WINDOW)
        {
            session.recent.pop_front();
        }
        if session.recent.len() >= MAX_MESSAGES_PER_WINDOW {
            let oldest = session.recent.front().copied().unwrap_or(now);
            let wait = RATE_WINDOW.saturating_sub(now.duration_since(oldest));
            return Err(Failure::RateLimited {
                retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        session.recent.push_back(now);
        Ok(())
    }

    /// A guest's text, quick-reply or date-picker answer (`kind` Text) or card postback (`kind`
    /// Structured), possibly with uploaded files: echoed (Inbound, with the request's
    /// `tracingId`, each file with its name, size, type and a download link) to every socket,
    /// kept, and passed to the agent; the first one starts the conversation.
    pub fn guest_said(
        &self,
        state: &SimState,
        token: &str,
        kind: &str,
        mut said: Said,
        attributes: CustomAttributes,
        tracing_id: Option<&str>,
    ) -> Result<(), Failure> {
        let base = self.files_base().map(str::to_owned);
        let mut store = self.store();
        let session = store.session(token)?;
        if session.read_only {
            return Err(Failure::read_only());
        }
        files::fill_in_attachments(session, &mut said, base.as_deref())?;
        session.custom_attributes.extend(attributes);
        session.touch();
        let echo = protocol::inbound(kind, &said);
        session.say(&echo, tracing_id, true);
        session.delivered(&echo);
        let conversation = session.ensure_conversation(state, token)?;
        // Full inbox: the agent is far behind; the text stays in the history, unanswered.
        let _ = conversation.to_agent.try_send(Heard::from_said(&said));
        Ok(())
    }

    /// Presence `Join` (auto-start): starts the conversation if there is none, echoing the Join.
    pub fn guest_join(
        &self,
        state: &SimState,
        token: &str,
        attributes: CustomAttributes,
        tracing_id: Option<&str>,
    ) -> Result<(), Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        if session.read_only {
            return Err(Failure::read_only());
        }
        session.custom_attributes.extend(attributes);
        session.touch();
        if session.conversation.is_none() {
            session.say(&protocol::inbound_join(), tracing_id, true);
            session.ensure_conversation(state, token)?;
        }
        Ok(())
    }

    /// The guest is typing: nobody shows it to the simulated agent, but a deployment with
    /// `showUserTypingIndicator` off refuses it with 403, as Genesys does.
    pub fn guest_typing(&self, state: &SimState, token: &str) -> Result<(), Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        if !self.settings_of(state, session).show_user_typing_indicator {
            return Err(Failure::typing_forbidden());
        }
        session.touch();
        Ok(())
    }

    /// Presence `Clear`: ends the conversation and forgets the history; every socket gets
    /// `SessionClearedEvent`, then `ConnectionClosedEvent` and is closed (the transport SDK reads
    /// that close as "conversation cleared"). 403 when the deployment's `conversationClear` is off.
    pub fn clear(&self, state: &SimState, token: &str) -> Result<(), Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        if !self.settings_of(state, session).conversation_clear {
            return Err(Failure::clear_forbidden());
        }
        session.cleared(state);
        Ok(())
    }

    /// The conversation is cleared from the server's side (control route), whatever the
    /// deployment's `conversationClear`: what the guest sees is the same as after its own Clear.
    /// False for an unknown token.
    pub fn clear_from_server(&self, state: &SimState, token: &str) -> bool {
        let mut store = self.store();
        let Some(session) = store.sessions.get_mut(token) else {
            return false;
        };
        session.cleared(state);
        true
    }

    /// Every socket of the session gets `ConnectionClosedEvent` and is closed, as when the
    /// session's connection limit is passed; the session stays. False for an unknown token.
    pub fn close_connections(&self, token: &str) -> bool {
        let mut store = self.store();
        let Some(session) = store.sessions.get_mut(token) else {
            return false;
        };
        session.close_all();
        true
    }

    /// The agent's side reads what the guest wrote (control route): `Read` receipts for the
    /// messages not read yet. False for an unknown token.
    pub fn read_by_agent(&self, token: &str) -> bool {
        let mut store = self.store();
        let Some(session) = store.sessions.get_mut(token) else {
            return false;
        };
        session.read_all();
        true
    }

    /// The agent took `conversation`; false if the session has moved on.
    pub fn agent_assigned(&self, token: &str, conversation: Uuid, agent: &str) -> bool {
        let mut store = self.store();
        let current = store
            .sessions
            .get_mut(token)
            .and_then(|s| s.conversation.as_mut())
            .filter(|c| c.id == conversation);
        match current {
            Some(c) => {
                c.agent = Some(agent.to_owned());
                true
            }
            None => false,
        }
    }

    /// The agent of `conversation` sends `body` (Outbound); false if that conversation is no
    /// longer the session's, so a stopped agent never talks into a newer conversation. A kept
    /// message (not a typing indicator) is activity: it extends the session.
    pub fn agent_says(&self, token: &str, conversation: Uuid, body: &Value, record: bool) -> bool {
        let mut store = self.store();
        let Some(session) = store.sessions.get_mut(token) else {
            return false;
        };
        if session.conversation.as_ref().map(|c| c.id) != Some(conversation) {
            return false;
        }
        if record {
            session.touch();
        }
        // The agent answers (or starts typing) only after reading what the guest wrote.
        session.read_all();
        session.say(body, None, record);
        true
    }

    /// The agent's side sends `given` (a Text or Structured message with attachments, cards or
    /// quick replies) into the session (control route); returns the body as sent.
    pub fn agent_sends(&self, token: &str, given: &Value) -> Result<Value, ControlError> {
        let mut store = self.store();
        let session = store
            .sessions
            .get_mut(token)
            .ok_or(ControlError::UnknownSession)?;
        let agent = session.conversation.as_ref().and_then(|c| c.agent.clone());
        let body =
            protocol::agent_message(given, agent.as_deref()).ok_or(ControlError::BadMessage)?;
        session.touch();
        session.read_all();
        session.say(&body, None, true);
        Ok(body)
    }

    /// The agent's side ends the conversation (control route, or the model ended it). What the
    /// guest sees follows the deployment's `conversationDisconnect`: Presence `Disconnect` with
    /// `readOnly:"true"` (the session becomes read-only), without it (the guest may write on and
    /// so start a new conversation), or nothing when the setting is off. With `expected`, only if
    /// that is still the session's conversation.
    pub fn disconnect(
        &self,
        state: &SimState,
        token: &str,
        expected: Option<Uuid>,
    ) -> Result<Value, ControlError> {
        let mut store = self.store();
        let session = store
            .sessions
            .get_mut(token)
            .ok_or(ControlError::UnknownSession)?;
        let current = session.conversation.as_ref().map(|c| c.id);
        if current.is_none() || (expected.is_some() && current != expected) {
            return Err(ControlError::NoConversation);
        }
        let read_only = self.settings_of(state, session).disconnect_read_only();
        session.end_conversation(state);
        if let Some(read_only) = read_only {
            session.read_only = read_only;
            session.say(&protocol::agent_disconnect(read_only), None, true);
        }
        Ok(session.summary(token))
    }

    /// The session expires now: its conversation ends, every socket gets `SessionExpiredEvent`,
    /// and the token is answered with 4006 from then on. False for an unknown token.
    pub fn expire(&self, state: &SimState, token: &str) -> bool {
        let mut store = self.store();
        let Some(mut session) = store.remove(state, token, Gone::Expired) else {
            return false;
        };
        session.broadcast(&protocol::session_expired_event());
        true
    }

    /// The server loses the session without telling anyone (as after a long absence): the token
    /// is answered with 4007 from then on. False for an unknown token.
    pub fn forget(&self, state: &SimState, token: &str) -> bool {
        self.store().remove(state, token, Gone::NotFound).is_some()
    }

    /// When the session `seq` of `token` expires; `None` once it is gone or replaced.
    fn expires_at(&self, token: &str, seq: u64) -> Option<i64> {
        self.store()
            .sessions
            .get(token)
            .filter(|session| session.seq == seq)
            .map(|session| session.expires_at)
    }

    /// `/__sim/webmessaging/sessions`: every session, oldest first.
    pub fn summaries(&self) -> Vec<Value> {
        let store = self.store();
        let mut sessions: Vec<(&String, &Session)> = store.sessions.iter().collect();
        sessions.sort_by_key(|(_, s)| s.seq);
        sessions
            .into_iter()
            .map(|(token, session)| session.summary(token))
            .collect()
    }

    /// `getJwt`: an opaque token for the history API, bound to the session.
    pub fn issue_jwt(&self, token: &str) -> Result<String, Failure> {
        let mut store = self.store();
        store.session(token)?;
        let jwt = format!("sim-webmessaging-jwt.{}", Uuid::new_v4().simple());
        store.jwts.insert(jwt.clone(), token.to_owned());
        Ok(jwt)
    }

    /// The history of the session a JWT belongs to, oldest first.
    pub fn history_for_jwt(&self, jwt: &str) -> Option<Vec<Value>> {
        let store = self.store();
        let token = store.jwts.get(jwt)?;
        let session = store.sessions.get(token)?;
        Some(session.history.iter().cloned().collect())
    }
}

/// Expires the session `seq` of `token` once its `expirationDate` has passed with no activity
/// meanwhile; activity moves the date, so it sleeps again until the new one.
async fn watch_expiry(state: SimState, token: String, seq: u64) {
    while let Some(expires_at) = state.webmessaging.expires_at(&token, seq) {
        let now = OffsetDateTime::now_utc();
        let left = OffsetDateTime::from_unix_timestamp(expires_at)
            .map(|at| at - now)
            .unwrap_or(time::Duration::ZERO);
        let Ok(left) = Duration::try_from(left) else {
            // Negative: the date has passed.
            state.webmessaging.expire(&state, &token);
            return;
        };
        if left.is_zero() {
            state.webmessaging.expire(&state, &token);
            return;
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(left) => {}
        }
    }
}
