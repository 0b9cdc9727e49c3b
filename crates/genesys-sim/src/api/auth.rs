//! OAuth: the client-credentials grant at `POST /oauth/token`, the tokens it issued,
//! and the bearer check every Platform API call (`/api/v2/...`) goes through.
//!
//! It is not user login (no implicit/code grants, no scopes or permissions: every valid token may
//! call everything), and not the web messaging guest's JWT, which `webmessaging` checks itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use uuid::Uuid;

use crate::api::error::ApiError;
use crate::state::SimState;

/// Paths under `/api/v2/` that do not take a client-credentials token: the web messaging history
/// is called by the guest with the JWT of its session, which that module checks.
const BEARER_EXEMPT_PREFIXES: &[&str] = &["/api/v2/webmessaging/"];

/// Tokens issued by `POST /oauth/token`, with their expiry. Expired tokens are kept so that a
/// client using one gets `credentials.expired` rather than `bad.credentials`.
#[derive(Default)]
pub struct Tokens {
    issued: Mutex<HashMap<String, Instant>>,
}

/// What the bearer check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    Valid,
    Expired,
    Unknown,
}

impl Tokens {
    /// Issues a new opaque token valid for `ttl`.
    pub fn issue(&self, ttl: Duration) -> String {
        // Genesys tokens are opaque strings; two UUIDs keep them unguessable enough for loopback.
        let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        self.lock().insert(token.clone(), Instant::now() + ttl);
        token
    }

    pub fn check(&self, token: &str) -> TokenStatus {
        match self.lock().get(token) {
            Some(expiry) if *expiry > Instant::now() => TokenStatus::Valid,
            Some(_) => TokenStatus::Expired,
            None => TokenStatus::Unknown,
        }
    }

    /// Makes every token issued so far invalid (control API `POST /__sim/tokens/expire`).
    pub fn expire_all(&self) {
        let now = Instant::now();
        for expiry in self.lock().values_mut() {
            *expiry = now;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // The map stays consistent whatever panicked while holding it.
        self.issued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub fn router() -> Router<SimState> {
    Router::new().route("/oauth/token", post(token))
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    /// Lower-case as the OAuth spec writes it; Genesys does not document its casing,
    /// and the SDKs ignore the field.
    token_type: &'static str,
    expires_in: u64,
}

/// An OAuth-style error. The login host does not answer Genesys `ErrorBody`s and Genesys
/// documents no sample of its own, so this follows RFC 6749 §5.2 (`error`, `error_description`)
/// and also carries `description`, which Genesys's login service is commonly reported to send alongside.
#[derive(Debug, thiserror::Error)]
enum OAuthError {
    #[error("client authentication failed")]
    InvalidClient,
    #[error("grant_type is missing or not client_credentials")]
    UnsupportedGrantType,
    #[error("the request body is not a form")]
    InvalidRequest,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            OAuthError::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client"),
            OAuthError::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            OAuthError::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request"),
        };
        let description = self.to_string();
        let body = serde_json::json!({
            "error": error,
            "description": description,
            "error_description": description,
        });
        (status, Json(body)).into_response()
    }
}

async fn token(
    State(state): State<SimState>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Result<Json<TokenResponse>, OAuthError> {
    let org = &state.config.org;
    let (id, secret) = basic_credentials(&headers).ok_or(OAuthError::InvalidClient)?;
    if id != org.client_id || secret != org.client_secret {
        return Err(OAuthError::InvalidClient);
    }
    let Form(form) = form.map_err(|_| OAuthError::InvalidRequest)?;
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(OAuthError::UnsupportedGrantType);
    }
    let ttl = state.config.token_ttl;
    Ok(Json(TokenResponse {
        access_token: state.auth.issue(ttl),
        token_type: "bearer",
        expires_in: ttl.as_secs(),
    }))
}

/// `Authorization: Basic base64(id:secret)` → (id, secret).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = strip_scheme(value, "basic")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The credentials after `scheme ` (scheme compared case-insensitively, as HTTP says).
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest.trim())
}

/// Middleware: every `/api/v2/...` request needs a live bearer token, and counts against that
/// token's request limit (`rate_limit.rs`); other paths pass.
pub async fn require_bearer(
    State(state): State<SimState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let exempt = BEARER_EXEMPT_PREFIXES.iter().any(|p| path.starts_with(p));
    if !path.starts_with("/api/v2/") || exempt {
        return next.run(request).await;
    }
    let admitted = bearer_token(&state, request.headers()).and_then(|token| {
        state
            .rate_limit
            .admit(token)
            .map_err(ApiError::too_many_requests)
    });
    match admitted {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// The request's bearer token if it is live; Genesys's 401 for a missing, unknown or expired one.
pub fn bearer_token<'h>(state: &SimState, headers: &'h HeaderMap) -> Result<&'h str, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| strip_scheme(v, "bearer"))
        .filter(|t| !t.is_empty())
        .ok_or_else(ApiError::authentication_required)?;
    match state.auth.check(token) {
        TokenStatus::Valid => Ok(token),
        TokenStatus::Expired => Err(ApiError::credentials_expired()),
        TokenStatus::Unknown => Err(ApiError::bad_credentials()),
    }
}
