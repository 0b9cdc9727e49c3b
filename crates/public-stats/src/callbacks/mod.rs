//! `POST /api/callback`: an anonymous visitor asks to be called back from a public queue, with
//! the seed's body (`queueId`, `callbackNumbers`, `callbackUserName`, `callbackScheduledTime`)
//! and the seed's answer (204 No Content).
//!
//! A small pipeline, one module per stage, so the parts still to come slot in between them:
//! [`request`] (HTTP → the visitor's input, strictly parsed) → [`validate`] (→ a
//! [`ValidCallback`] on a public queue) → *phone-number validation and abuse limits (later)* →
//! [`submit`] (today a direct Genesys call; later an outbox write). Every refusal is a problem
//! body made before anything is sent upstream.
//!
//! Not here: CORS and `Origin` checks (router layers), rate limiting, durability.

pub mod request;
pub mod submit;
pub mod validate;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

pub use request::CallbackRequest;
pub use validate::ValidCallback;

use crate::problem::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/callback", post(create))
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let request = CallbackRequest::read(&headers, body).await?;
    let callback = ValidCallback::new(request, &state.queues)?;
    submit::submit(&state.client, &callback).await?;
    // 204 and no body, as the seed answered: pages written for it expect exactly that.
    Ok(StatusCode::NO_CONTENT)
}
