//! One guest WebSocket: reads requests, answers them, and writes every outgoing frame through a
//! bounded queue drained by a writer task (so a slow browser never blocks the agent or the other
//! tabs of its session; see `Connection::offer`).
//!
//! It is not the session state: which conversation, agent and history a token has lives in
//! `session.rs`, so a reconnect with the same token picks it all up again.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::protocol::{self, Failure, GuestEvent, GuestMessage, Request};
use super::session::{Connection, Outgoing};
use crate::state::SimState;

/// Frames queued per socket before it counts as too slow and is closed.
const OUTGOING_CAPACITY: usize = 64;
/// `exp` of a `getJwt` token, from now.
const JWT_SECONDS: i64 = 3600;

/// Serves one upgraded socket until either side closes it or the simulator shuts down.
/// `deployment` is the socket's `?deploymentId=`, already known to serve.
pub async fn serve(state: SimState, socket: WebSocket, deployment: Uuid) {
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(OUTGOING_CAPACITY);
    let kill = state.shutdown.child_token();
    let writer = tokio::spawn(write_frames(sink, rx, kill.clone()));
    let mut guest = Guest {
        id: state.webmessaging.next_connection_id(),
        tx,
        kill: kill.clone(),
        token: None,
        deployment,
    };
    loop {
        let frame = tokio::select! {
            _ = kill.cancelled() => break,
            frame = stream.next() => frame,
        };
        match frame {
            Some(Ok(Message::Text(text))) => guest.handle(&state, text.as_str()).await,
            Some(Ok(Message::Binary(_))) => {
                guest.send(Failure::request_failed().frame()).await;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_)) | Err(_)) | None => break,
        }
    }
    if let Some(token) = &guest.token {
        state.webmessaging.detach(token, guest.id);
    }
    kill.cancel();
    drop(guest);
    let _ = writer.await;
}

/// Drains the socket's queue into the socket. `Close` ends it after sending a close frame; so
/// does `kill` (shutdown, slow consumer, or the reader having stopped).
async fn write_frames(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    kill: CancellationToken,
) {
    loop {
        let out = tokio::select! {
            biased;
            _ = kill.cancelled() => Some(Outgoing::Close { code: 1001, reason: "Going away" }),
            out = rx.recv() => out,
        };
        match out {
            Some(Outgoing::Frame(text)) => {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            Some(Outgoing::Close { code, reason }) => {
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                let _ = sink.send(Message::Close(Some(frame))).await;
                break;
            }
            None => break,
        }
    }
    kill.cancel();
}

/// The socket's side of the conversation: which session token it configured, if any.
struct Guest {
    id: u64,
    tx: mpsc::Sender<Outgoing>,
    kill: CancellationToken,
    token: Option<String>,
    deployment: Uuid,
}

type Answer = Result<Vec<Outgoing>, Failure>;

impl Guest {
    async fn send(&self, frame: String) {
        // Our own queue: waiting here slows down only this guest's requests.
        let _ = self.tx.send(Outgoing::Frame(frame)).await;
    }

    async fn handle(&mut self, state: &SimState, text: &str) {
        let replies = match protocol::parse_request(text) {
            Ok(request) => self.dispatch(state, &request),
            Err(failure) => vec![Outgoing::Frame(failure.frame())],
        };
        for out in replies {
            if self.tx.send(out).await.is_err() {
                return;
            }
        }
    }

    fn dispatch(&mut self, state: &SimState, request: &Request) -> Vec<Outgoing> {
        let tracing_id = request.tracing_id.as_deref();
        let action = request.action.as_deref().unwrap_or_default();
        let answer = match action {
            "configureSession" => self.configure(state, request),
            "onMessage" => self.on_message(state, request),
            // A health check (MTS sends it every 30 s); it needs no session.
            "echo" => {
                let session = self
                    .token
                    .as_deref()
                    .and_then(|t| state.webmessaging.state_of(state, t));
                Ok(vec![Outgoing::Frame(protocol::echo_response(
                    request.message.as_ref(),
                    tracing_id,
                    session.as_ref(),
                ))])
            }
            "getJwt" => self.get_jwt(state, request),
            "closeSession" => self.close(state, request),
            "onAttachment" => self.on_attachment(state, request),
            "getAttachment" => self.get_attachment(state, request),
            "deleteAttachment" => self.delete_attachment(state, request),
            // No deployment of the simulator authenticates its guests.
            "configureAuthenticatedSession" => Err(Failure::feature_unavailable(action)),
            _ => Err(Failure::request_failed()),
        };
        answer.unwrap_or_else(|failure| vec![Outgoing::Frame(failure.frame())])
    }

    /// The request's token, which must be the one this socket configured.
    fn session_token<'r>(&self, request: &'r Request) -> Result<&'r str, Failure> {
        let token = request.token.as_deref().unwrap_or_default();
        if self.token.as_deref() == Some(token) {
            Ok(token)
        } else {
            Err(Failure::session_not_found())
        }
    }

    /// `configureSession`: the `deploymentId` must be the socket's.
    fn configure(&mut self, state: &SimState, request: &Request) -> Answer {
        let token = request.token.clone().unwrap_or_default();
        let deployment = request
            .deployment_id
            .as_deref()
            .ok_or_else(|| Failure::missing("deploymentId"))?;
        if Uuid::parse_str(deployment).ok() != Some(self.deployment) {
            return Err(Failure::unknown_deployment());
        }
        if let Some(previous) = self.token.take().filter(|t| *t != token) {
            state.webmessaging.detach(&previous, self.id);
        }
        let connection = Connection {
            id: self.id,
            tx: self.tx.clone(),
            kill: self.kill.clone(),
        };
        let start_new = request.start_new.unwrap_or(false);
        let session =
            state
                .webmessaging
                .configure(state, &token, self.deployment, connection, start_new)?;
        self.token = Some(token);
        let frame = protocol::session_response(&session, request.tracing_id.as_deref());
        Ok(vec![Outgoing::Frame(frame)])
    }

    fn on_message(&self, state: &SimState, request: &Request) -> Answer {
        let token = self.session_token(request)?;
        let sessions = &state.webmessaging;
        sessions.check_rate(token)?;
        let tracing_id = request.tracing_id.as_deref();
        let max_custom_data_bytes = sessions.max_custom_data_bytes(state, token);
        let (message, attributes) =
            protocol::parse_guest_message(request.message.as_ref(), max_custom_data_bytes)?;
        match message {
            GuestMessage::Text(said) => {
                sessions.guest_said(state, token, "Text", said, attributes, tracing_id)?;
            }
            GuestMessage::Structured(said) => {
                sessions.guest_said(state, token, "Structured", said, attributes, tracing_id)?;
            }
            GuestMessage::Events(events) => {
                for event in events {
                    match event {
                        GuestEvent::Typing => sessions.guest_typing(state, token)?,
                        GuestEvent::Join => {
                            sessions.guest_join(state, token, attributes.clone(), tracing_id)?;
                        }
                        GuestEvent::Clear => sessions.clear(state, token)?,
                    }
                }
            }
        }
        // The echo went to every socket of the session, this one included.
        Ok(Vec::new())
    }

    fn get_jwt(&self, state: &SimState, request: &Request) -> Answer {
        let token = self.session_token(request)?;
        let jwt = state.webmessaging.issue_jwt(token)?;
        let exp = OffsetDateTime::now_utc().unix_timestamp() + JWT_SECONDS;
        let frame = protocol::envelope(
            "response",
            "JwtResponse",
            200,
            json!({ "jwt": jwt, "exp": exp }),
            request.tracing_id.as_deref(),
        );
        Ok(vec![Outgoing::Frame(frame)])
    }

    /// `onAttachment`: the upload link, or why not (`GenerateUrlError` with `errorsAsJson`).
    fn on_attachment(&self, state: &SimState, request: &Request) -> Answer {
        let token = self.session_token(request)?;
        let frame = state.webmessaging.presign(state, token, request)?;
        Ok(vec![Outgoing::Frame(frame)])
    }

    /// `getAttachment`: a new download link for a file of the session.
    fn get_attachment(&self, state: &SimState, request: &Request) -> Answer {
        let token = self.session_token(request)?;
        let id = attachment_id(request)?;
        let tracing_id = request.tracing_id.as_deref();
        let frame = state.webmessaging.refresh_link(token, id, tracing_id)?;
        Ok(vec![Outgoing::Frame(frame)])
    }

    /// `deleteAttachment`: `AttachmentDeletedResponse`.
    fn delete_attachment(&self, state: &SimState, request: &Request) -> Answer {
        let token = self.session_token(request)?;
        let id = attachment_id(request)?;
        let frame = state.webmessaging.delete_attachment(token, id)?;
        Ok(vec![Outgoing::Frame(frame)])
    }

    /// `closeSession`: this socket leaves the session and gets `SessionResponse` with
    /// `connected:false`; with `closeAllConnections` the session's other sockets are closed.
    fn close(&mut self, state: &SimState, request: &Request) -> Answer {
        let token = self.session_token(request)?.to_owned();
        let close_all = request.close_all_connections == Some(true);
        let session = state
            .webmessaging
            .close_session(state, &token, self.id, close_all)?;
        self.token = None;
        let frame = protocol::session_response(&session, request.tracing_id.as_deref());
        Ok(vec![Outgoing::Frame(frame)])
    }
}

fn attachment_id(request: &Request) -> Result<&str, Failure> {
    request
        .attachment_id
        .as_deref()
        .ok_or_else(|| Failure::missing("attachmentId"))
}
