//! Guest sessions, keyed by the client-generated session token: the conversation, its agent, the
//! history and the open sockets. A session outlives its sockets, so a reconnect with the same
//! token resumes it. Closing sockets (even `closeSession`) never ends the conversation; only the
//! guest's Presence `Clear` or the agent's disconnect do.
//!
//! Several sockets may share a session (Messenger open in several tabs): every unsolicited frame
//! goes to all of them, responses only to the requesting socket. Past [`MAX_CONNECTIONS`] the
//! oldest socket gets `ConnectionClosedEvent` and is closed, as Genesys does at its session limit.
//!
//! Not the socket loop (`socket.rs`) nor the agent (`agent.rs`). Everything here is synchronous.
//! Lock order: the sessions lock, then the model (through `SimState::update_model`); nothing
//! takes them the other way round.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::agent;
use super::protocol::{self, Failure};
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
    to_agent: mpsc::Sender<String>,
    stop: CancellationToken,
}

struct Session {
    /// Creation order, for a stable listing.
    seq: u64,
    conversation: Option<Conversation>,
    read_only: bool,
    history: VecDeque<Value>,
    connections: Vec<Connection>,
    recent: VecDeque<Instant>,
}

impl Session {
    fn new(seq: u64) -> Self {
        Session {
            seq,
            conversation: None,
            read_only: false,
            history: VecDeque::new(),
            connections: Vec::new(),
            recent: VecDeque::new(),
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

    fn say(&mut self, body: &Value, tracing_id: Option<&str>, record: bool) {
        if record {
            self.record(body);
        }
        self.broadcast(&protocol::structured_message(body, tracing_id));
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
            "messages": self.history,
            "readOnly": self.read_only,
            "connections": self.connections.len(),
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

/// What `configureSession` found.
pub struct Configured {
    pub new_session: bool,
    pub read_only: bool,
    pub cleared_existing_session: bool,
}

/// Why the agent-side disconnect control route refused.
pub enum DisconnectError {
    UnknownSession,
    NoConversation,
}

/// Every guest session of the simulator (`SimState::webmessaging`).
#[derive(Default)]
pub struct Sessions {
    store: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    sessions: HashMap<String, Session>,
    /// JWTs from `getJwt` → session token, for the history API.
    jwts: HashMap<String, String>,
    next_seq: u64,
}

impl Store {
    fn session(&mut self, token: &str) -> Result<&mut Session, Failure> {
        self.sessions
            .get_mut(token)
            .ok_or_else(Failure::session_not_found)
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

    /// `configureSession`: creates or resumes the session and attaches the socket. `startNew`
    /// only matters on a read-only session: it clears it so the next message starts a new
    /// conversation (on an active one Genesys keeps the conversation going, and so do we).
    pub fn configure(&self, token: &str, connection: Connection, start_new: bool) -> Configured {
        let mut store = self.store();
        store.next_seq += 1;
        let seq = store.next_seq;
        let (session, new_session) = match store.sessions.entry(token.to_owned()) {
            Entry::Occupied(entry) => (entry.into_mut(), false),
            Entry::Vacant(entry) => (entry.insert(Session::new(seq)), true),
        };
        let cleared = start_new && session.read_only;
        if cleared {
            session.read_only = false;
            session.history.clear();
        }
        session.connections.retain(|c| c.id != connection.id);
        session.connections.push(connection);
        while session.connections.len() > MAX_CONNECTIONS {
            Session::close_connection(&session.connections.remove(0));
        }
        Configured {
            new_session,
            read_only: session.read_only,
            cleared_existing_session: cleared,
        }
    }

    /// The socket went away; the session and its conversation stay.
    pub fn detach(&self, token: &str, connection_id: u64) {
        if let Some(session) = self.store().sessions.get_mut(token) {
            session.connections.retain(|c| c.id != connection_id);
        }
    }

    /// `closeSession` with `closeAllConnections`: every socket gets `ConnectionClosedEvent` and
    /// is closed. The session itself survives, like a Messenger that may reconnect.
    pub fn close_all(&self, token: &str) {
        if let Some(session) = self.store().sessions.get_mut(token) {
            for connection in session.connections.drain(..) {
                Session::close_connection(&connection);
            }
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

    /// A guest text: echoed (Inbound) to every socket, kept, and passed to the agent; the first
    /// one starts the conversation.
    pub fn guest_text(
        &self,
        state: &SimState,
        token: &str,
        text: &str,
        tracing_id: Option<&str>,
    ) -> Result<(), Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        if session.read_only {
            return Err(Failure::read_only());
        }
        session.say(&protocol::inbound_text(text, tracing_id), tracing_id, true);
        let conversation = session.ensure_conversation(state, token)?;
        // Full inbox: the agent is far behind; the text stays in the history, unanswered.
        let _ = conversation.to_agent.try_send(text.to_owned());
        Ok(())
    }

    /// Presence `Join` (auto-start): starts the conversation if there is none, echoing the Join.
    pub fn guest_join(
        &self,
        state: &SimState,
        token: &str,
        tracing_id: Option<&str>,
    ) -> Result<(), Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        if session.read_only {
            return Err(Failure::read_only());
        }
        if session.conversation.is_none() {
            session.say(&protocol::inbound_join(tracing_id), tracing_id, true);
            session.ensure_conversation(state, token)?;
        }
        Ok(())
    }

    /// Presence `Clear`: ends the conversation, forgets the history, leaves the session fresh
    /// (not read-only) and tells every socket `SessionClearedEvent`.
    pub fn clear(&self, state: &SimState, token: &str) -> Result<(), Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        session.end_conversation(state);
        session.history.clear();
        session.read_only = false;
        session.broadcast(&protocol::empty_event("SessionClearedEvent"));
        Ok(())
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
    /// longer the session's, so a stopped agent never talks into a newer conversation.
    pub fn agent_says(&self, token: &str, conversation: Uuid, body: &Value, record: bool) -> bool {
        let mut store = self.store();
        let Some(session) = store.sessions.get_mut(token) else {
            return false;
        };
        if session.conversation.as_ref().map(|c| c.id) != Some(conversation) {
            return false;
        }
        session.say(body, None, record);
        true
    }

    /// The agent's side ends the conversation (control route, or the model ended it): Presence
    /// Disconnect with `readOnly:"true"`, and the session becomes read-only. With `expected`,
    /// only if that is still the session's conversation.
    pub fn disconnect(
        &self,
        state: &SimState,
        token: &str,
        expected: Option<Uuid>,
    ) -> Result<Value, DisconnectError> {
        let mut store = self.store();
        let session = store
            .sessions
            .get_mut(token)
            .ok_or(DisconnectError::UnknownSession)?;
        let current = session.conversation.as_ref().map(|c| c.id);
        if current.is_none() || (expected.is_some() && current != expected) {
            return Err(DisconnectError::NoConversation);
        }
        session.end_conversation(state);
        session.read_only = true;
        session.say(&protocol::agent_disconnect(), None, true);
        Ok(session.summary(token))
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
