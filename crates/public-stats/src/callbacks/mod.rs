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
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

pub use request::CallbackRequest;
pub use submit::CallbackSubmitter;
pub use validate::ValidCallback;

use crate::problem::ApiError;
use crate::queues::PublicQueues;

pub fn router<S>() -> Router<S>
where
    PublicQueues: FromRef<S>,
    CallbackSubmitter: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/api/callback", post(create))
}

async fn create(
    State(queues): State<PublicQueues>,
    State(submitter): State<CallbackSubmitter>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let request = CallbackRequest::read(&headers, body).await?;
    let callback = ValidCallback::new(request, &queues)?;
    submitter.submit(&callback).await?;
    // 204 and no body, as the seed answered: pages written for it expect exactly that.
    Ok(StatusCode::NO_CONTENT)
}
