//! The upload target: the simulator's stand-in for the storage bucket behind Genesys's presigned
//! URLs, served on a port of its own (as the real bucket is another host than the API).
//!
//! - `PUT /uploads/{key}/{fileName}?X-Amz-…` with the `x-amz-tagging` header the
//!   `PresignedUrlResponse` named → 200; the guest's socket then gets `UploadSuccessEvent` or
//!   `UploadFailureEvent`. A wrong or tampered link, or a missing header → 403
//!   `SignatureDoesNotMatch`; an expired one → 403 `AccessDenied` (a bucket's XML error bodies).
//! - `GET /downloads/{key}/{fileName}?X-Amz-…` → the file. A wrong link → 403; an expired one →
//!   404 `resource.not.found`, as the transport SDK's refresh diagram has it
//!   (`refresh_attachment.puml`), after which the client asks for a new one with `getAttachment`.
//! - `GET /samples/card.png`: a public image the simulated bot's cards show.
//!
//! Every answer allows any origin, and `OPTIONS` answers preflights, so a browser page can `PUT`
//! and `fetch` here as it would with the real bucket. Not the rules of what may be uploaded
//! (`attachments/mod.rs`) nor the sessions (`session/files.rs`).

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, CACHE_CONTROL, CONTENT_DISPOSITION,
    CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;

use super::{LinkQuery, LinkRefusal};
use crate::api::error::ApiError;
use crate::api::webmessaging::deployment::MAX_FILE_SIZE_KB_LIMIT;
use crate::state::SimState;

/// The image of the bot's cards (48×48, two colours).
pub const CARD_IMAGE: &[u8] = include_bytes!("card.png");
/// Bytes an upload may send at all, whatever the deployment: over the largest limit a deployment
/// may have (so that an upload just over its own limit is still read and judged), bounded so a
/// runaway client cannot stream forever.
const MAX_UPLOAD_BODY: u64 = MAX_FILE_SIZE_KB_LIMIT * 1_000 * 2;

pub fn router(state: SimState) -> Router {
    Router::new()
        .route(
            "/uploads/{key}/{name}",
            axum::routing::put(upload).options(preflight),
        )
        .route("/downloads/{key}/{name}", get(download).options(preflight))
        .route("/samples/card.png", get(card_image))
        .fallback(no_such_key)
        .layer(from_fn(allow_any_origin))
        .with_state(state)
}

/// A bucket's XML error body.
fn bucket_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(CONTENT_TYPE, "application/xml")], body).into_response()
}

fn refused(refusal: &LinkRefusal) -> Response {
    match refusal {
        LinkRefusal::Wrong => bucket_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
        LinkRefusal::Expired => {
            bucket_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
        }
        LinkRefusal::NoFile => no_such_key_response(),
    }
}

fn no_such_key_response() -> Response {
    bucket_error(
        StatusCode::NOT_FOUND,
        "NoSuchKey",
        "The specified key does not exist.",
    )
}

async fn no_such_key() -> Response {
    no_such_key_response()
}

/// `PUT`: the link and its header are checked before a byte is read; then the body is read (at
/// most [`MAX_UPLOAD_BODY`]) and judged, and the guest is told the outcome over its socket.
async fn upload(
    State(state): State<SimState>,
    Path((key, _name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let tagging = headers
        .get("x-amz-tagging")
        .and_then(|value| value.to_str().ok());
    let sessions = &state.webmessaging;
    let max_bytes =
        match sessions.authorize_upload(&state, &key, &LinkQuery::from_query(&query), tagging) {
            Ok(max_bytes) => max_bytes,
            Err(refusal) => return refused(&refusal),
        };
    let (size, bytes) = match read_body(body, max_bytes).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    sessions.finish_upload(&state, &key, size, bytes);
    StatusCode::OK.into_response()
}

/// The whole body, counted, and its first bytes up to one past the deployment's largest file
/// (`max_bytes`): a larger file is refused whole, so the rest would only be thrown away.
async fn read_body(body: Body, max_bytes: u64) -> Result<(u64, Bytes), Response> {
    let keep = usize::try_from(max_bytes.saturating_add(1)).unwrap_or(usize::MAX);
    let mut stream = body.into_data_stream();
    let mut size: u64 = 0;
    let mut kept = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            bucket_error(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "The request body terminated unexpectedly",
            )
        })?;
        size = size.saturating_add(chunk.len() as u64);
        if size > MAX_UPLOAD_BODY {
            return Err(bucket_error(
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            ));
        }
        let room = keep.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok((size, Bytes::from(kept)))
}

async fn download(
    State(state): State<SimState>,
    Path((key, _name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let file = match state
        .webmessaging
        .download(&key, &LinkQuery::from_query(&query))
    {
        Ok(file) => file,
        Err(LinkRefusal::Expired) => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "resource.not.found",
                "The download link has expired",
            )
            .into_response();
        }
        Err(refusal) => return refused(&refusal),
    };
    let content_type = HeaderValue::from_str(&file.file_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&format!(
        "{}; filename=\"{}\"",
        disposition(&file.file_type),
        ascii_name(&file.file_name)
    ))
    .unwrap_or(HeaderValue::from_static("attachment"));
    let headers = [
        (CONTENT_TYPE, content_type),
        (CONTENT_DISPOSITION, disposition),
        // Uploaded content is someone else's: never sniffed into something runnable.
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
    ];
    (headers, file.bytes).into_response()
}

/// Shown in the browser only when it cannot run anything there (images but SVG, PDF, plain
/// text); anything else, an HTML page for one, is saved rather than opened on this origin.
fn disposition(file_type: &str) -> &'static str {
    let shown = (file_type.starts_with("image/") && file_type != "image/svg+xml")
        || matches!(file_type, "application/pdf" | "text/plain");
    if shown { "inline" } else { "attachment" }
}

/// A file name safe inside a quoted header parameter.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

async fn card_image() -> Response {
    (
        [
            (CONTENT_TYPE, "image/png"),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        CARD_IMAGE,
    )
        .into_response()
}

/// A CORS preflight: `PUT`/`GET` with whatever headers the page asks to send.
async fn preflight(headers: HeaderMap) -> Response {
    let requested = headers
        .get(ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static("content-type, x-amz-tagging"));
    (
        StatusCode::NO_CONTENT,
        [
            (
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, PUT"),
            ),
            (ACCESS_CONTROL_ALLOW_HEADERS, requested),
            (ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600")),
        ],
    )
        .into_response()
}

/// Like a bucket whose CORS rules allow every origin: links are the only credential.
async fn allow_any_origin(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}
