//! The files of guest sessions: `onAttachment` (checked, then presigned), the upload target's
//! uploads and downloads, `getAttachment`, `deleteAttachment`, the files a guest's message
//! carries, and the files the agent's side sends. A file belongs to one session and goes with it.
//!
//! Not the rules (`attachments/mod.rs`) nor the HTTP side of the upload target
//! (`attachments/target.rs`).

use axum::body::Bytes;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ControlError, Session, Sessions, Store};
use crate::api::webmessaging::attachments::target::CARD_IMAGE;
use crate::api::webmessaging::attachments::{
    self, Attachment, FileError, LinkQuery, LinkRefusal, Purpose, Sender, Stored,
};
use crate::api::webmessaging::protocol::{self, Failure, Request, Said};
use crate::config::DEMO_ORGANIZATION_ID;
use crate::state::SimState;

/// A file the agent's side sends (control route, or the simulated agent asked for one).
pub struct AgentFile {
    pub file_name: String,
    pub file_type: String,
    pub bytes: Bytes,
    /// The message's text, if any.
    pub text: Option<String>,
}

impl AgentFile {
    /// A small PNG image, so a chat window has something to preview.
    pub fn sample(text: Option<String>) -> Self {
        AgentFile {
            file_name: "sample.png".to_owned(),
            file_type: "image/png".to_owned(),
            bytes: Bytes::from_static(CARD_IMAGE),
            text,
        }
    }
}

/// A file as the upload target serves it.
pub struct Download {
    pub file_name: String,
    pub file_type: String,
    pub bytes: Bytes,
}

/// The session and position of the file stored under `key`, whichever session holds it.
fn by_key<'s>(store: &'s mut Store, key: &str) -> Option<(&'s mut Session, usize)> {
    store.sessions.values_mut().find_map(|session| {
        let index = session.attachments.iter().position(|a| a.key == key)?;
        Some((session, index))
    })
}

impl Session {
    /// A file of this session that has not been deleted.
    fn attachment(&mut self, id: &str) -> Result<&mut Attachment, Failure> {
        self.attachments
            .iter_mut()
            .find(|a| a.id == id && !matches!(a.stored, Stored::Deleted))
            .ok_or_else(|| Failure::attachment_not_found(id))
    }

    /// The agent's side sends `file` as an Outbound message; returns the body sent.
    fn send_agent_file(&mut self, base: &str, file: AgentFile, agent: Option<&str>) -> Value {
        let mut attachment = Attachment::from_agent(file.file_name, file.file_type, file.bytes);
        let content = attachment.content(base);
        self.attachments.push(attachment);
        let mut given =
            json!({ "type": "Text", "content": [content], "originatingEntity": "Human" });
        if let Some(text) = file.text {
            given["text"] = json!(text);
        }
        // `agent_message` takes any Text; the fallback only keeps the types honest.
        let body = protocol::agent_message(&given, agent).unwrap_or(given);
        self.touch();
        self.read_all();
        self.say(&body, None, true);
        body
    }
}

/// Replaces each `{"contentType":"Attachment","attachment":{"id"}}` of a guest's message with
/// the whole attachment (name, size, type, a download link) and marks the files sent. Only the
/// guest's own uploaded files qualify: 4009 for an unknown or deleted id, 4010 for one whose
/// upload has not succeeded. Nothing changes unless every file qualifies.
pub(super) fn fill_in_attachments(
    session: &mut Session,
    said: &mut Said,
    base: Option<&str>,
) -> Result<(), Failure> {
    let ids: Vec<(usize, String)> = said
        .content
        .iter()
        .enumerate()
        .filter(|(_, item)| item["contentType"] == "Attachment")
        .filter_map(|(at, item)| Some((at, item.pointer("/attachment/id")?.as_str()?.to_owned())))
        .collect();
    for (_, id) in &ids {
        let attachment = session.attachment(id)?;
        if attachment.sender != Sender::Guest {
            return Err(Failure::attachment_not_found(id));
        }
        if attachment.size().is_none() {
            return Err(Failure::attachment_not_uploaded(id));
        }
    }
    let Some(base) = base else {
        return if ids.is_empty() {
            Ok(())
        } else {
            Err(Failure::unexpected())
        };
    };
    for (at, id) in ids {
        let attachment = session.attachment(&id)?;
        attachment.sent = true;
        said.content[at] = attachment.content(base);
    }
    Ok(())
}

impl Sessions {
    /// Where the upload target listens (`http://host:port`); set once, when it starts.
    pub fn set_files_base(&self, base: String) {
        // A second call would be a second target for the same state; the first one stays.
        let _ = self.files_base.set(base);
    }

    pub fn files_base(&self) -> Option<&str> {
        self.files_base.get().map(String::as_str)
    }

    /// `onAttachment`: with file upload on and the file within the deployment's rules, a
    /// `PresignedUrlResponse` with the upload link; else the refusal (`GenerateUrlError` when
    /// asked for with `errorsAsJson`). Asking is activity: it extends the session.
    pub fn presign(
        &self,
        state: &SimState,
        token: &str,
        request: &Request,
    ) -> Result<String, Failure> {
        let errors_as_json = request.errors_as_json == Some(true);
        let asked_id = request.attachment_id.as_deref();
        let mut store = self.store();
        let session = store.session(token)?;
        let settings = self.settings_of(state, session);
        let Some(base) = self.files_base().filter(|_| settings.file_upload) else {
            return Err(FileError::uploads_off().refusal(asked_id, errors_as_json));
        };
        let file = attachments::file_request(request)?;
        attachments::check(&file, &settings)
            .map_err(|error| error.refusal(asked_id, errors_as_json))?;
        if session
            .attachments
            .iter()
            .any(|a| a.id == file.attachment_id)
        {
            return Err(Failure::request_failed());
        }
        let mut attachment = Attachment::from_guest(&file);
        let url = attachment.issue(Purpose::Upload, base);
        session.attachments.push(attachment);
        session.touch();
        let tagging = attachments::tagging(DEMO_ORGANIZATION_ID);
        Ok(attachments::presigned_upload(
            &file,
            &url,
            &tagging,
            request.tracing_id.as_deref(),
        ))
    }

    /// `getAttachment`: a new download link for an uploaded file of the session (the guest's or
    /// the agent's), as a `PresignedUrlResponse` without headers. 4009 unknown or deleted, 4010
    /// not uploaded.
    pub fn refresh_link(
        &self,
        token: &str,
        id: &str,
        tracing_id: Option<&str>,
    ) -> Result<String, Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        let attachment = session.attachment(id)?;
        if attachment.size().is_none() {
            return Err(Failure::attachment_not_uploaded(id));
        }
        let base = self.files_base().ok_or_else(Failure::unexpected)?;
        let url = attachment.issue(Purpose::Download, base);
        Ok(attachments::refreshed_download(
            attachment, &url, tracing_id,
        ))
    }

    /// `deleteAttachment`: the file is gone (its links answer 404 from now on); 4009 for an
    /// unknown or already deleted id.
    pub fn delete_attachment(&self, token: &str, id: &str) -> Result<String, Failure> {
        let mut store = self.store();
        let session = store.session(token)?;
        session.attachment(id)?.stored = Stored::Deleted;
        Ok(attachments::attachment_deleted(id))
    }

    /// The upload target's check before it reads a body: a working upload link of a file still
    /// waiting for its bytes, with the `x-amz-tagging` header it was presigned with. Answers the
    /// largest file the session's deployment takes, in bytes.
    pub fn authorize_upload(
        &self,
        state: &SimState,
        key: &str,
        query: &LinkQuery<'_>,
        tagging: Option<&str>,
    ) -> Result<u64, LinkRefusal> {
        let mut store = self.store();
        let (session, index) = by_key(&mut store, key).ok_or(LinkRefusal::Wrong)?;
        let attachment = &session.attachments[index];
        attachment.check(Purpose::Upload, query)?;
        if tagging != Some(attachments::tagging(DEMO_ORGANIZATION_ID).as_str()) {
            return Err(LinkRefusal::Wrong);
        }
        match attachment.stored {
            Stored::Waiting => Ok(self.settings_of(state, session).max_file_bytes()),
            // One upload per link's file: afterwards the link is spent.
            Stored::Uploaded(_) | Stored::Failed | Stored::Deleted => Err(LinkRefusal::Expired),
        }
    }

    /// The upload's bytes arrived (`size` in all, `bytes` at least all of them when within the
    /// largest limit): judged against the deployment, stored or refused, and the session's
    /// sockets told (`UploadSuccessEvent` with a download link, or `UploadFailureEvent`).
    pub fn finish_upload(&self, state: &SimState, key: &str, size: u64, bytes: Bytes) {
        let Some(base) = self.files_base() else {
            return;
        };
        let mut store = self.store();
        // Deleted (or its session gone) while the bytes were on their way: nobody to tell.
        let Some((session, index)) = by_key(&mut store, key) else {
            return;
        };
        let settings = self.settings_of(state, session);
        let attachment = &mut session.attachments[index];
        if !matches!(attachment.stored, Stored::Waiting) {
            return;
        }
        let frame = match attachments::judge_upload(size, &bytes, &settings) {
            Ok(()) => {
                attachment.stored = Stored::Uploaded(bytes);
                let url = attachment.issue(Purpose::Download, base);
                attachments::upload_success(&attachment.id, &url)
            }
            Err(error) => {
                attachment.stored = Stored::Failed;
                attachments::upload_failure(&attachment.id, &error)
            }
        };
        session.broadcast(&frame);
    }

    /// The file behind a download link: 403 material for a wrong link, 404 for an expired one
    /// or a file that is not there.
    pub fn download(&self, key: &str, query: &LinkQuery<'_>) -> Result<Download, LinkRefusal> {
        let mut store = self.store();
        let (session, index) = by_key(&mut store, key).ok_or(LinkRefusal::Wrong)?;
        let attachment = &session.attachments[index];
        attachment.check(Purpose::Download, query)?;
        match &attachment.stored {
            Stored::Uploaded(bytes) => Ok(Download {
                file_name: attachment.file_name.clone(),
                file_type: attachment.file_type.clone(),
                bytes: bytes.clone(),
            }),
            Stored::Waiting | Stored::Failed | Stored::Deleted => Err(LinkRefusal::NoFile),
        }
    }

    /// Every link issued for the session's file `id` stops working now (control route), so a
    /// test can reach the expired-link paths without waiting ten minutes.
    pub fn expire_links(&self, token: &str, id: &str) -> Result<(), ControlError> {
        let mut store = self.store();
        let session = store
            .sessions
            .get_mut(token)
            .ok_or(ControlError::UnknownSession)?;
        let attachment = session
            .attachment(id)
            .map_err(|_| ControlError::UnknownAttachment)?;
        attachment.expire_links();
        Ok(())
    }

    /// The agent's side sends a file (control route), whatever the conversation; returns the
    /// message as sent.
    pub fn agent_sends_file(&self, token: &str, file: AgentFile) -> Result<Value, ControlError> {
        let base = self
            .files_base()
            .ok_or(ControlError::BadFile("the upload target is not running"))?;
        let mut store = self.store();
        let session = store
            .sessions
            .get_mut(token)
            .ok_or(ControlError::UnknownSession)?;
        let agent = session.conversation.as_ref().and_then(|c| c.agent.clone());
        Ok(session.send_agent_file(base, file, agent.as_deref()))
    }

    /// The simulated agent of `conversation` sends a file; false once that conversation is no
    /// longer the session's.
    pub fn agent_file(
        &self,
        token: &str,
        conversation: Uuid,
        agent: &str,
        file: AgentFile,
    ) -> bool {
        let Some(base) = self.files_base() else {
            return false;
        };
        let mut store = self.store();
        let Some(session) = store.sessions.get_mut(token) else {
            return false;
        };
        if session.conversation.as_ref().map(|c| c.id) != Some(conversation) {
            return false;
        }
        session.send_agent_file(base, file, Some(agent));
        true
    }
}
