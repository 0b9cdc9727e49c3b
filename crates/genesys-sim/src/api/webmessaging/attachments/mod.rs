//! File attachments of guest sessions: what a guest may upload (checked against the deployment
//! before any URL is handed out), the record of each file, the presigned-looking links to upload
//! and download it, and the frames that tell the guest how it went (`PresignedUrlResponse`,
//! `UploadSuccessEvent`, `UploadFailureEvent`, `GenerateUrlError` via `Failure`,
//! `AttachmentDeletedResponse`). Shapes follow Genesys's transport SDK
//! (`shyrka/receive/*.kt`, the `Response.kt` samples, `SerializationTest`).
//!
//! Not the HTTP server that takes and serves the bytes (`target.rs`), nor which session holds
//! which file (`session/files.rs`). Links are not signed with a key: each carries a random
//! signature the simulator remembers, which is all it takes to refuse a wrong, tampered or
//! expired link.

pub mod target;

use std::collections::HashMap;

use axum::body::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::deployment::DeploymentSettings;
use super::protocol::{Failure, Request, envelope};
use crate::api::iso_millis;

/// How long an upload link works. Genesys does not say; ten minutes is ours.
pub const UPLOAD_LINK_SECONDS: i64 = 600;
/// How long a download link works: the transport SDK's refresh diagram
/// (`transport/uml/scp/refresh_attachment.puml`) has a link fail "10+ minutes" after it came.
pub const DOWNLOAD_LINK_SECONDS: i64 = 600;
/// Longest file name accepted (4005 beyond). Genesys's limit is not published; ours.
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// Longest client-chosen attachment id (the transport SDK sends a UUID).
const MAX_ATTACHMENT_ID_CHARS: usize = 128;
/// Links remembered per attachment and purpose; older ones stop working.
const MAX_LINKS: usize = 16;
/// An upload containing the EICAR anti-virus test string fails the "scan" (4003), so tests can
/// produce a content failure with a harmless file.
const EICAR_MARKER: &[u8] = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE";

/// A refusal with one of the file error codes of the transport SDK's `ErrorCode.kt`.
#[derive(Debug, PartialEq)]
pub struct FileError {
    pub code: u16,
    pub message: String,
}

impl FileError {
    fn new(code: u16, message: impl Into<String>) -> Self {
        FileError {
            code,
            message: message.into(),
        }
    }

    /// 4000 FeatureUnavailable: the deployment takes no uploads.
    pub fn uploads_off() -> Self {
        Self::new(4000, "File upload is not enabled for this deployment")
    }

    /// How an `onAttachment` refusal reaches the guest: a `GenerateUrlError` when the request
    /// asked for `errorsAsJson` (the transport SDK always does), else a `string` error.
    pub fn refusal(self, attachment_id: Option<&str>, errors_as_json: bool) -> Failure {
        match (attachment_id, errors_as_json) {
            (Some(id), true) => Failure::GenerateUrl {
                attachment_id: id.to_owned(),
                code: self.code,
                message: self.message,
            },
            _ => Failure::Error {
                code: self.code,
                body: self.message,
            },
        }
    }
}

/// What an `onAttachment` asks for (`OnAttachmentRequest.kt`).
#[derive(Debug)]
pub struct FileRequest {
    pub attachment_id: String,
    pub file_name: String,
    pub file_type: String,
    pub file_size: Option<u64>,
}

/// The fields of an `onAttachment`: 4020 for a missing one, 400 for a `fileSize` that is not a
/// whole number.
pub fn file_request(request: &Request) -> Result<FileRequest, Failure> {
    let field =
        |value: &Option<String>, name: &str| value.clone().ok_or_else(|| Failure::missing(name));
    let attachment_id = field(&request.attachment_id, "attachmentId")?;
    if attachment_id.is_empty() || attachment_id.chars().count() > MAX_ATTACHMENT_ID_CHARS {
        return Err(Failure::request_failed());
    }
    let file_size = match &request.file_size {
        None | Some(Value::Null) => None,
        Some(size) => Some(size.as_u64().ok_or_else(Failure::request_failed)?),
    };
    Ok(FileRequest {
        attachment_id,
        file_name: field(&request.file_name, "fileName")?,
        file_type: field(&request.file_type, "fileType")?,
        file_size,
    })
}

/// Checks a file against the deployment before a URL is handed out: its name (4004, 4005), its
/// extension against `blockedExtensions` and its type against the allowed types (4001), its
/// declared size against `maxFileSizeKB` (4002).
pub fn check(request: &FileRequest, settings: &DeploymentSettings) -> Result<(), FileError> {
    let name = request.file_name.as_str();
    if name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(FileError::new(
            4005,
            format!("File name is longer than {MAX_FILE_NAME_CHARS} characters"),
        ));
    }
    let bad_char = |c: char| c.is_control() || c == '/' || c == '\\';
    if name.trim().is_empty() || matches!(name, "." | "..") || name.chars().any(bad_char) {
        return Err(FileError::new(4004, "File name is invalid"));
    }
    if let Some(extension) = extension(name)
        && settings.blocked_extensions.contains(&extension)
    {
        return Err(FileError::new(
            4001,
            format!("Files with the extension {extension} are not allowed"),
        ));
    }
    let file_type = essence(&request.file_type);
    if !settings
        .allowed_file_types
        .iter()
        .any(|allowed| type_matches(allowed, &file_type))
    {
        return Err(FileError::new(
            4001,
            format!("File type {file_type} is not allowed"),
        ));
    }
    match request.file_size {
        Some(0) => Err(FileError::new(4002, "File size must be at least 1 byte")),
        Some(size) if size > settings.max_file_bytes() => Err(too_big(settings)),
        _ => Ok(()),
    }
}

fn too_big(settings: &DeploymentSettings) -> FileError {
    FileError::new(
        4002,
        format!(
            "File size is over the limit of {} KB",
            settings.max_file_size_kb
        ),
    )
}

/// `.ext` of a file name, lower case; none without a dot.
fn extension(name: &str) -> Option<String> {
    let (_, extension) = name.rsplit_once('.')?;
    Some(format!(".{}", extension.to_ascii_lowercase()))
}

/// `type/subtype` without parameters, lower case.
fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `*/*` takes anything, `image/*` any image, anything else itself.
fn type_matches(allowed: &str, file_type: &str) -> bool {
    match allowed.strip_suffix("/*") {
        Some("*") => true,
        Some(kind) => file_type
            .split_once('/')
            .is_some_and(|(file_kind, _)| file_kind == kind),
        None => allowed == file_type,
    }
}

/// What the "storage" makes of uploaded bytes: larger than the deployment allows (discovered
/// only now when the guest declared less, or nothing) → 4002; empty, or the EICAR test string →
/// 4003 FileContentInvalid, standing in for Genesys's content scan.
pub fn judge_upload(
    size: u64,
    bytes: &[u8],
    settings: &DeploymentSettings,
) -> Result<(), FileError> {
    if size > settings.max_file_bytes() {
        return Err(too_big(settings));
    }
    let infected = bytes
        .windows(EICAR_MARKER.len())
        .any(|window| window == EICAR_MARKER);
    if size == 0 || infected {
        return Err(FileError::new(4003, "File content is invalid"));
    }
    Ok(())
}

/// Who put the file into the conversation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sender {
    Guest,
    Agent,
}

/// Where a file is in its life.
#[derive(Clone, Debug)]
pub enum Stored {
    /// Presigned, not uploaded (yet).
    Waiting,
    Uploaded(Bytes),
    /// The upload was refused (size, content): nothing to download or send.
    Failed,
    /// `deleteAttachment`: kept only so its links answer "no such file" and its id stays taken.
    Deleted,
}

/// Which kind of link: uploads are `PUT`s, downloads `GET`s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Purpose {
    Upload,
    Download,
}

/// Why a link does not work.
#[derive(Debug, PartialEq)]
pub enum LinkRefusal {
    /// Unknown signature, or a query that is not what was issued (tampered).
    Wrong,
    Expired,
    /// The link is fine, the file is not there (deleted, failed, not uploaded yet).
    NoFile,
}

/// The query of a presigned link as the client sent it.
pub struct LinkQuery<'q> {
    signature: Option<&'q str>,
    date: Option<&'q str>,
    expires: Option<&'q str>,
}

impl<'q> LinkQuery<'q> {
    pub fn from_query(query: &'q HashMap<String, String>) -> Self {
        LinkQuery {
            signature: query.get("X-Amz-Signature").map(String::as_str),
            date: query.get("X-Amz-Date").map(String::as_str),
            expires: query.get("X-Amz-Expires").map(String::as_str),
        }
    }
}

/// One issued link: what its query says, and when it stops working (which a test may bring
/// forward).
#[derive(Clone, Debug)]
struct Link {
    signature: String,
    date: String,
    lifetime: i64,
    expires_at: i64,
}

impl Link {
    fn new(lifetime: i64, now: OffsetDateTime) -> Self {
        Link {
            signature: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
            date: amz_date(now),
            lifetime,
            expires_at: now.unix_timestamp().saturating_add(lifetime),
        }
    }

    /// The query of the link; an upload is signed with its tagging header too.
    fn query(&self, purpose: Purpose) -> String {
        let signed_headers = match purpose {
            Purpose::Upload => "host%3Bx-amz-tagging",
            Purpose::Download => "host",
        };
        format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={}&X-Amz-Expires={}&X-Amz-SignedHeaders={signed_headers}&X-Amz-Signature={}",
            self.date, self.lifetime, self.signature
        )
    }
}

/// `20240131T235959Z`, the form of `X-Amz-Date`.
fn amz_date(at: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// One file of a session.
#[derive(Debug)]
pub struct Attachment {
    /// The id the guest chose (`onAttachment`), or ours for the agent's files.
    pub id: String,
    /// The file's name in storage paths: random, so ids chosen by different guests never meet.
    pub key: String,
    pub file_name: String,
    pub file_type: String,
    pub stored: Stored,
    pub sender: Sender,
    /// Whether a message has carried it.
    pub sent: bool,
    uploads: Vec<Link>,
    downloads: Vec<Link>,
}

impl Attachment {
    fn new(
        id: String,
        file_name: String,
        file_type: String,
        sender: Sender,
        stored: Stored,
    ) -> Self {
        Attachment {
            id,
            key: Uuid::new_v4().simple().to_string(),
            file_name,
            file_type,
            stored,
            sender,
            sent: false,
            uploads: Vec::new(),
            downloads: Vec::new(),
        }
    }

    pub fn from_guest(request: &FileRequest) -> Self {
        let file_type = essence(&request.file_type);
        let name = request.file_name.clone();
        Attachment::new(
            request.attachment_id.clone(),
            name,
            file_type,
            Sender::Guest,
            Stored::Waiting,
        )
    }

    /// A file the agent's side sends, already in storage.
    pub fn from_agent(file_name: String, file_type: String, bytes: Bytes) -> Self {
        let id = Uuid::new_v4().to_string();
        Attachment::new(
            id,
            file_name,
            essence(&file_type),
            Sender::Agent,
            Stored::Uploaded(bytes),
        )
    }

    pub fn size(&self) -> Option<usize> {
        match &self.stored {
            Stored::Uploaded(bytes) => Some(bytes.len()),
            Stored::Waiting | Stored::Failed | Stored::Deleted => None,
        }
    }

    /// A new link of `purpose` under `base` (the upload target's `http://host:port`).
    pub fn issue(&mut self, purpose: Purpose, base: &str) -> String {
        let now = OffsetDateTime::now_utc();
        let (links, lifetime, path) = match purpose {
            Purpose::Upload => (&mut self.uploads, UPLOAD_LINK_SECONDS, "uploads"),
            Purpose::Download => (&mut self.downloads, DOWNLOAD_LINK_SECONDS, "downloads"),
        };
        let now_unix = now.unix_timestamp();
        links.retain(|link| link.expires_at > now_unix);
        if links.len() >= MAX_LINKS {
            links.remove(0);
        }
        let link = Link::new(lifetime, now);
        let url = format!(
            "{base}/{path}/{}/{}?{}",
            self.key,
            path_segment(&self.file_name),
            link.query(purpose)
        );
        links.push(link);
        url
    }

    /// Whether `query` is a link of `purpose` issued for this file and still working.
    pub fn check(&self, purpose: Purpose, query: &LinkQuery<'_>) -> Result<(), LinkRefusal> {
        let links = match purpose {
            Purpose::Upload => &self.uploads,
            Purpose::Download => &self.downloads,
        };
        let link = links
            .iter()
            .find(|link| Some(link.signature.as_str()) == query.signature)
            .ok_or(LinkRefusal::Wrong)?;
        let lifetime = link.lifetime.to_string();
        if query.date != Some(link.date.as_str()) || query.expires != Some(lifetime.as_str()) {
            return Err(LinkRefusal::Wrong);
        }
        if OffsetDateTime::now_utc().unix_timestamp() >= link.expires_at {
            return Err(LinkRefusal::Expired);
        }
        Ok(())
    }

    /// Every link issued so far stops working now (but is still recognised as expired).
    pub fn expire_links(&mut self) {
        let past = OffsetDateTime::now_utc().unix_timestamp() - 1;
        for link in self.uploads.iter_mut().chain(self.downloads.iter_mut()) {
            link.expires_at = past;
        }
    }

    /// The `content` item of a message carrying this (uploaded) file, with a fresh download
    /// link: the fields of the transport SDK's `AttachmentContent.Attachment`, as in
    /// `Response.onMessageWithAttachment`.
    pub fn content(&mut self, base: &str) -> Value {
        let url = self.issue(Purpose::Download, base);
        json!({
            "contentType": "Attachment",
            "attachment": {
                "id": self.id,
                "url": url,
                "filename": self.file_name,
                "fileSize": self.size().unwrap_or_default(),
                "mediaType": media_type(&self.file_type),
                "mime": self.file_type,
            },
        })
    }

    /// `/__sim/webmessaging/sessions` entry.
    pub fn summary(&self) -> Value {
        let state = match self.stored {
            Stored::Waiting => "Presigned",
            Stored::Uploaded(_) => "Uploaded",
            Stored::Failed => "Failed",
            Stored::Deleted => "Deleted",
        };
        json!({
            "attachmentId": self.id,
            "fileName": self.file_name,
            "fileType": self.file_type,
            "fileSize": self.size(),
            "state": state,
            "sent": self.sent,
            "from": match self.sender { Sender::Guest => "Guest", Sender::Agent => "Agent" },
        })
    }
}

/// `mediaType` of an attachment: Genesys's message media types, by MIME type.
fn media_type(mime: &str) -> &'static str {
    match mime.split_once('/').map(|(kind, _)| kind) {
        Some("image") => "Image",
        Some("video") => "Video",
        Some("audio") => "Audio",
        _ => "File",
    }
}

/// A file name as one URL path segment: unreserved characters as they are, every other byte
/// percent-encoded.
fn path_segment(name: &str) -> String {
    let mut segment = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

/// The `x-amz-tagging` header an upload must carry, as in the transport SDK's samples (the
/// storage refuses an upload without the headers it was presigned with).
pub fn tagging(organization: Uuid) -> String {
    format!("organizationId={organization}&originPlatform=PureCloud&role=webmessaging-guest")
}

/// The answer to `onAttachment`: where to `PUT` the file and the headers to send with it. The
/// headers are never empty here: the transport SDK reads a `PresignedUrlResponse` with no
/// headers and a `fileSize` as a refreshed download link (`isRefreshUrl`).
pub fn presigned_upload(
    request: &FileRequest,
    url: &str,
    tagging: &str,
    tracing_id: Option<&str>,
) -> String {
    let mut body = json!({
        "attachmentId": request.attachment_id,
        "headers": { "x-amz-tagging": tagging },
        "url": url,
        "fileName": request.file_name,
        "fileType": essence(&request.file_type),
    });
    if let (Some(size), Some(object)) = (request.file_size, body.as_object_mut()) {
        object.insert("fileSize".to_owned(), json!(size));
    }
    envelope("response", "PresignedUrlResponse", 200, body, tracing_id)
}

/// The answer to `getAttachment`: a new download link, with empty `headers` and the file's
/// size, name and type (`Response.presignedUrlResponse(headers = "", fileSize = 1)`).
pub fn refreshed_download(attachment: &Attachment, url: &str, tracing_id: Option<&str>) -> String {
    let body = json!({
        "attachmentId": attachment.id,
        "headers": {},
        "url": url,
        "fileName": attachment.file_name,
        "fileSize": attachment.size().unwrap_or_default(),
        "fileType": attachment.file_type,
    });
    envelope("response", "PresignedUrlResponse", 200, body, tracing_id)
}

/// The upload was stored: `Response.uploadSuccessEvent`.
pub fn upload_success(attachment_id: &str, download_url: &str) -> String {
    let body = json!({
        "attachmentId": attachment_id,
        "downloadUrl": download_url,
        "timestamp": iso_millis(OffsetDateTime::now_utc()),
    });
    envelope("message", "UploadSuccessEvent", 200, body, None)
}

/// The upload was refused after the fact: `Response.uploadFailureEvent`.
pub fn upload_failure(attachment_id: &str, error: &FileError) -> String {
    let body = json!({
        "attachmentId": attachment_id,
        "errorCode": error.code,
        "errorMessage": error.message,
        "timestamp": iso_millis(OffsetDateTime::now_utc()),
    });
    envelope("message", "UploadFailureEvent", 200, body, None)
}

/// `deleteAttachment` done: `Response.attachmentDeleted` (a `message`, as in the sample).
pub fn attachment_deleted(attachment_id: &str) -> String {
    envelope(
        "message",
        "AttachmentDeletedResponse",
        200,
        json!({ "attachmentId": attachment_id }),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, mime: &str, size: Option<u64>) -> FileRequest {
        FileRequest {
            attachment_id: "a".to_owned(),
            file_name: name.to_owned(),
            file_type: mime.to_owned(),
            file_size: size,
        }
    }

    fn code(result: Result<(), FileError>) -> Option<u16> {
        result.err().map(|error| error.code)
    }

    #[test]
    fn checks_name_extension_type_and_size() {
        let settings = DeploymentSettings {
            max_file_size_kb: 2,
            ..DeploymentSettings::default()
        };
        let check = |r: FileRequest| code(check(&r, &settings));
        assert_eq!(check(request("a.png", "image/png", Some(2_000))), None);
        assert_eq!(
            check(request("a.png", "image/png", Some(2_001))),
            Some(4002)
        );
        assert_eq!(check(request("a.png", "image/png", Some(0))), Some(4002));
        assert_eq!(check(request("a.PNG.EXE", "image/png", None)), Some(4001));
        assert_eq!(check(request("a.zip", "application/zip", None)), Some(4001));
        assert_eq!(check(request("../a.png", "image/png", None)), Some(4004));
        assert_eq!(check(request(" ", "image/png", None)), Some(4004));
        let long = format!("{}.png", "x".repeat(MAX_FILE_NAME_CHARS));
        assert_eq!(check(request(&long, "image/png", None)), Some(4005));
        assert_eq!(check(request("a.png", "Image/PNG; q=1", None)), None);
    }

    #[test]
    fn wildcards_match_kinds() {
        assert!(type_matches("*/*", "application/zip"));
        assert!(type_matches("image/*", "image/webp"));
        assert!(!type_matches("image/*", "video/mp4"));
        assert!(!type_matches("image/png", "image/jpeg"));
    }

    #[test]
    fn uploads_over_the_limit_empty_or_infected_fail() {
        let settings = DeploymentSettings {
            max_file_size_kb: 1,
            ..DeploymentSettings::default()
        };
        let judge = |bytes: &[u8]| code(judge_upload(bytes.len() as u64, bytes, &settings));
        assert_eq!(judge(&[1; 1_000]), None);
        assert_eq!(judge(&[1; 1_001]), Some(4002));
        assert_eq!(judge(&[]), Some(4003));
        let mut infected = b"X5O!P%@AP ".to_vec();
        infected.extend_from_slice(EICAR_MARKER);
        assert_eq!(judge(&infected), Some(4003));
    }

    #[test]
    fn links_work_until_expired_and_only_as_issued() {
        let mut attachment = Attachment::from_agent(
            "a b.png".into(),
            "image/png".into(),
            Bytes::from_static(b"x"),
        );
        let url = attachment.issue(Purpose::Download, "http://h");
        assert!(
            url.starts_with(&format!("http://h/downloads/{}/a%20b.png?", attachment.key)),
            "{url}"
        );
        let query: HashMap<String, String> = url
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            attachment.check(Purpose::Download, &LinkQuery::from_query(&query)),
            Ok(())
        );
        assert_eq!(
            attachment.check(Purpose::Upload, &LinkQuery::from_query(&query)),
            Err(LinkRefusal::Wrong)
        );
        let mut tampered = query.clone();
        tampered.insert("X-Amz-Expires".into(), "999999".into());
        assert_eq!(
            attachment.check(Purpose::Download, &LinkQuery::from_query(&tampered)),
            Err(LinkRefusal::Wrong)
        );
        attachment.expire_links();
        assert_eq!(
            attachment.check(Purpose::Download, &LinkQuery::from_query(&query)),
            Err(LinkRefusal::Expired)
        );
    }

    #[test]
    fn refusals_are_json_only_when_asked() {
        let json = FileError::uploads_off().refusal(Some("a"), true);
        assert!(json.frame().contains(r#""class":"GenerateUrlError""#));
        let plain = FileError::uploads_off().refusal(Some("a"), false);
        assert!(plain.frame().contains(r#""class":"string""#));
        assert!(plain.frame().contains(r#""code":4000"#));
    }
}
