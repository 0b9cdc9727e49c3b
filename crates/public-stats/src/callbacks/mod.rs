//! `POST /api/callback`: an anonymous visitor asks to be called back from a public queue, with
//! the seed's body (`queueId`, `callbackNumbers`, `callbackUserName`, `callbackScheduledTime`);
//! `GET /api/callback/{id}`: what became of it.
//!
//! Accept, then deliver: a request is [`request`]-parsed (HTTP → the visitor's input), checked
//! ([`validate`], with the phone rules of [`phone`], and held to the queue's business hours:
//! a time outside them is refused naming the next opening, a request while closed is booked for
//! that opening and the 202 says when), counted against the abuse [`limits`], and
//! stored with its delivery job and idempotency record in one step ([`store`], SQLite in
//! `DATA_DIR`; [`shared`], Redis, in clustered mode; both behind [`backend`]) before the visitor
//! hears `202 Accepted` with a receipt id. Only then does the [`relay`] hand it to Genesys,
//! retrying until it is created or too old. Nothing accepted is lost to a crash, an outage or a
//! restart; every refusal is a problem body made before anything is stored. Pages written for the
//! seed treat any 2xx as success, so 202 keeps them working.
//!
//! # Clustered mode: callbacks
//!
//! With `REDIS_URL`, every instance keeps callbacks in the same Redis ([`shared`]) instead of its
//! own file, so a deployment behind a load balancer behaves as one service:
//!
//! - **Limits hold for the deployment.** Per number, per address (hourly, daily, distinct
//!   numbers), pending per queue and the daily total are counted in Redis by the script that
//!   stores the request, atomically: a visitor who reaches three instances still gets one quota,
//!   and requests racing through several instances cannot all slip under a limit. The answers are
//!   today's: 202 with the same receipt, 409 with the pending request's id, 429 with
//!   `Retry-After`, 503 when a queue or the day is full.
//! - **An `Idempotency-Key` holds for the deployment.** A retry that reaches another instance gets
//!   the first answer (same receipt); two copies racing through two instances store one request.
//! - **Delivery survives the instance.** Any instance's relay takes due jobs from Redis by
//!   claiming them for a lease (`LEADER_LEASE_SECONDS`), renewed while the send is in flight.
//!   When the instance that accepted a request dies, the lease lapses and another instance
//!   delivers it: once, carrying the same `data.outboxId`, unless the dead instance had already
//!   sent it and died before recording it (the one duplicate any outbox can make). Leases are
//!   written in each instance's clock, so the instances' clocks must agree (NTP) to well within a
//!   third of the lease.
//! - **Redis unreachable: refuse, do not guess.** `POST /api/callback` answers 503 with
//!   `Retry-After` and a `callback-store-unavailable` problem, because a request that is not
//!   durably stored must not be acknowledged; the relay pauses and resumes by itself when Redis is
//!   back. Nothing panics and nothing is kept in memory meanwhile.
//! - **"Accepted" means "durably stored" only with a durable Redis**: AOF with
//!   `appendfsync always`, and `maxmemory-policy noeviction`. With `appendfsync everysec` a Redis
//!   crash can lose up to the last second of acceptances; with RDB snapshots only, everything since
//!   the last snapshot. `deploy/REDIS-DURABILITY.md` has the settings and the reasons.
//! - What an instance accepted alone, in its `DATA_DIR`, before it joined a cluster is still
//!   delivered by that instance (its receipts are not in Redis, so their status reads 404).
//!
//! Not here: CORS and `Origin` checks (router layers).

pub mod backend;
pub mod limits;
pub mod phone;
pub mod relay;
pub mod request;
pub mod shared;
pub mod store;
pub mod validate;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRef, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use time::OffsetDateTime;

pub use backend::CallbackBackend;
pub use limits::CallbackLimits;
pub use relay::{Relay, RelayWaker};
pub use request::CallbackRequest;
pub use shared::SharedStore;
pub use store::CallbackStore;
pub use validate::{CallbackRules, ValidCallback};

use crate::client_address::TrustedProxies;
use crate::hours::keeper::HoursKeeper;
use crate::problem::ApiError;
use crate::queues::PublicQueues;
use backend::{BackendError, NotStored, Stored};
use store::{IdempotencyRecord, IdempotentReplay, NewCallback, Receipt, Status};

/// Where callback requests are accepted: the store (this instance's, or the deployment's in
/// clustered mode), the rules and limits they are held to, and the relay's doorbell. Cheap to
/// clone.
#[derive(Clone)]
pub struct CallbackDesk(Arc<DeskParts>);

pub struct DeskParts {
    pub store: CallbackBackend,
    pub rules: CallbackRules,
    pub limits: CallbackLimits,
    pub proxies: TrustedProxies,
    pub relay: RelayWaker,
    /// `Idempotency-Key`s whose first request is being stored right now.
    in_flight: Mutex<HashSet<String>>,
}

impl CallbackDesk {
    pub fn new(
        store: CallbackBackend,
        rules: CallbackRules,
        limits: CallbackLimits,
        proxies: TrustedProxies,
        relay: RelayWaker,
    ) -> Self {
        CallbackDesk(Arc::new(DeskParts {
            store,
            rules,
            limits,
            proxies,
            relay,
            in_flight: Mutex::default(),
        }))
    }

    /// Marks `key` as being stored until the guard drops; `None` when it already is.
    fn claim(&self, key: &str) -> Option<KeyClaim<'_>> {
        let mut keys = self
            .0
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        keys.insert(key.to_owned()).then(|| KeyClaim {
            desk: self,
            key: key.to_owned(),
        })
    }
}

struct KeyClaim<'a> {
    desk: &'a CallbackDesk,
    key: String,
}

impl Drop for KeyClaim<'_> {
    fn drop(&mut self) {
        let mut keys = self
            .desk
            .0
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        keys.remove(&self.key);
    }
}

pub fn router<S>() -> Router<S>
where
    PublicQueues: FromRef<S>,
    CallbackDesk: FromRef<S>,
    HoursKeeper: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/api/callback", post(create_counted))
        .route("/api/callback/{id}", get(status))
}

/// The receipt a visitor gets: the request's id and state, nothing personal beyond the last two
/// digits of the number.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReceiptBody<'a> {
    /// 32 hex digits; `GET /api/callback/{id}` follows it.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: &'a str,
    #[schema(value_type = String, pattern = "^(pending|created|failed)$")]
    status: &'static str,
    /// The last digits of the number (empty for an answer to a form a bot filled in).
    number_ending: &'a str,
    /// When the callback will be placed (RFC 3339), in the answer that accepts a request made
    /// without a time while the queue was closed: its next opening.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    callback_scheduled_time: Option<String>,
}

/// [`create`], with its refusals counted by problem type (acceptances, replays and honeypot
/// decoys are counted where they happen).
async fn create_counted(
    queues: State<PublicQueues>,
    desk: State<CallbackDesk>,
    hours: State<HoursKeeper>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let answer = create(queues, desk, hours, peer, headers, body).await;
    if let Err(refusal) = &answer {
        request_counted("refused", refusal.kind());
    }
    answer
}

/// Counts one `POST /api/callback` by outcome (`accepted`, `replayed`, `decoy`, `refused`) and,
/// for refusals, the problem type.
fn request_counted(outcome: &'static str, reason: &'static str) {
    metrics::counter!("public_stats_callback_requests_total",
        "outcome" => outcome, "reason" => reason)
    .increment(1);
}

async fn create(
    State(queues): State<PublicQueues>,
    State(desk): State<CallbackDesk>,
    State(hours): State<HoursKeeper>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let (request, digest) = CallbackRequest::read(&headers, body).await?;
    let now = OffsetDateTime::now_utc();
    if request.is_from_a_bot() {
        // What a person would get: a 400 for invalid input, else an ordinary-looking 202.
        let callback = valid(request, &queues, &desk.0.rules, &hours, now)?;
        return Ok(decoy(booked(&callback)));
    }
    if let Some(key) = &key
        && let Some(replay) = replay(&desk, key, &digest, now).await?
    {
        return Ok(replay);
    }
    // First sight of this key: hold it while storing, so a concurrent twin gets 409 instead of
    // becoming a second callback, then look again in case a twin finished in between.
    let _claim = match &key {
        Some(key) => Some(desk.claim(key).ok_or(ApiError::IdempotencyKeyInUse)?),
        None => None,
    };
    if let Some(key) = &key
        && let Some(replay) = replay(&desk, key, &digest, now).await?
    {
        return Ok(replay);
    }
    let callback = valid(request, &queues, &desk.0.rules, &hours, now)?;
    store(&desk, &callback, peer, &headers, key, digest, now).await
}

/// The time the service chose for the callback, which the 202 must tell.
fn booked(callback: &ValidCallback) -> Option<OffsetDateTime> {
    callback
        .booked_for_opening
        .then_some(callback.scheduled_time)
        .flatten()
}

/// Every check of the request, the queue's business hours last (they need the queue).
fn valid(
    request: CallbackRequest,
    queues: &PublicQueues,
    rules: &CallbackRules,
    hours: &HoursKeeper,
    now: OffsetDateTime,
) -> Result<ValidCallback, ApiError> {
    let callback = ValidCallback::new(request, queues, rules, now)?;
    let status = hours.status(callback.queue, now, ValidCallback::hours_horizon(rules));
    callback.within_hours(status.as_ref(), rules, now)
}

/// The answer an earlier request with `key` got, if there was one with the same body; 422 if
/// the body differs.
async fn replay(
    desk: &CallbackDesk,
    key: &str,
    digest: &str,
    now: OffsetDateTime,
) -> Result<Option<Response>, ApiError> {
    match desk.0.store.idempotent(key, now).await.map_err(storage)? {
        Some(earlier) => replayed(&earlier, digest).map(Some),
        None => Ok(None),
    }
}

/// The earlier request's answer when the body is the same; 422 when it differs.
fn replayed(earlier: &IdempotentReplay, digest: &str) -> Result<Response, ApiError> {
    if earlier.body_digest != digest {
        return Err(ApiError::IdempotencyKeyReused);
    }
    request_counted("replayed", "none");
    Ok(accepted(&earlier.receipt, None))
}

/// Stores the request and answers 202 with its receipt (or, when another instance stored the
/// same `Idempotency-Key` first, with that one's answer).
async fn store(
    desk: &CallbackDesk,
    callback: &ValidCallback,
    peer: SocketAddr,
    headers: &HeaderMap,
    key: Option<String>,
    body_digest: String,
    now: OffsetDateTime,
) -> Result<Response, ApiError> {
    let new = NewCallback {
        queue: callback.queue,
        numbers: callback.numbers.clone(),
        user_name: callback.user_name.clone(),
        scheduled_time: callback.scheduled_time,
        country_code: callback.country_code.clone(),
        client_address: desk.0.proxies.client_address(peer, headers).to_string(),
    };
    let record = key.map(|key| IdempotencyRecord {
        key,
        body_digest: body_digest.clone(),
    });
    let stored = desk
        .0
        .store
        .accept(&new, &desk.0.limits, record.as_ref(), now)
        .await
        .map_err(|error| match error {
            NotStored::Refused(refusal) => ApiError::from(refusal),
            NotStored::Unavailable(error) => storage(error),
        })?;
    let id = match stored {
        Stored::New(id) => id,
        Stored::Earlier(earlier) => return replayed(&earlier, &body_digest),
    };
    tracing::info!(%id, queue = %callback.queue, number = %callback.number_hint(),
        "callback request accepted");
    request_counted("accepted", "none");
    desk.0.relay.wake();
    let receipt = Receipt {
        id,
        status: Status::Pending,
        number_hint: phone::last_two_digits(&new.numbers[0]),
    };
    Ok(accepted(&receipt, booked(callback)))
}

/// `GET /api/callback/{id}`.
async fn status(
    State(desk): State<CallbackDesk>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // Receipts are 32 hex digits; anything else cannot exist, and is not worth a query.
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let receipt = desk.0.store.receipt(&id).await.map_err(storage)?;
    let receipt = receipt.ok_or(ApiError::NotFound)?;
    let mut response = Json(receipt_body(&receipt, None)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn receipt_body(receipt: &Receipt, scheduled: Option<OffsetDateTime>) -> ReceiptBody<'_> {
    ReceiptBody {
        id: &receipt.id,
        status: receipt.status.as_str(),
        number_ending: &receipt.number_hint,
        callback_scheduled_time: scheduled.map(crate::hours::format_with_offset),
    }
}

/// 202 with the receipt (and the time the service booked the callback for, when it chose one),
/// and where to follow it. A replay's answer does not repeat the time: the store keeps receipts
/// without it.
fn accepted(receipt: &Receipt, scheduled: Option<OffsetDateTime>) -> Response {
    let mut response =
        (StatusCode::ACCEPTED, Json(receipt_body(receipt, scheduled))).into_response();
    if let Ok(location) = HeaderValue::try_from(format!("/api/callback/{}", receipt.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// What a bot that filled the honeypot gets: the same shape as a real acceptance, with an id
/// that leads nowhere. Nothing is stored and nothing reaches Genesys.
fn decoy(scheduled: Option<OffsetDateTime>) -> Response {
    tracing::info!("callback request with the honeypot filled in; answered as accepted, dropped");
    request_counted("decoy", "none");
    let receipt = Receipt {
        id: uuid::Uuid::new_v4().simple().to_string(),
        status: Status::Pending,
        number_hint: String::new(),
    };
    accepted(&receipt, scheduled)
}

/// `Idempotency-Key`: absent, or 1 to 255 visible ASCII characters (a UUID is typical).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(|key| key.trim().trim_matches('"'))
        .filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(ApiError::IdempotencyKeyInvalid)?;
    Ok(Some(key.to_owned()))
}

/// The store failed: the request was not accepted, and the visitor may try again. The shared
/// store says when (Redis is typically back within seconds: a restart, a failover).
fn storage(error: BackendError) -> ApiError {
    tracing::error!(%error, "callback store unavailable");
    match error {
        BackendError::Local(_) => ApiError::UpstreamUnavailable,
        BackendError::Shared(_) => ApiError::CallbackStoreUnavailable {
            retry_after: SHARED_STORE_RETRY_AFTER,
        },
    }
}

/// What a visitor is told to wait when the shared store (Redis) does not answer.
const SHARED_STORE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_being_stored_cannot_be_claimed_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = CallbackStore::open(dir.path()).await.unwrap();
        let desk = CallbackDesk::new(
            CallbackBackend::Local(store),
            CallbackRules::default(),
            CallbackLimits::default(),
            TrustedProxies::default(),
            RelayWaker::default(),
        );
        let first = desk.claim("k");
        assert!(first.is_some());
        assert!(desk.claim("k").is_none(), "a concurrent twin is refused");
        assert!(desk.claim("other").is_some());
        drop(first);
        assert!(
            desk.claim("k").is_some(),
            "released when the first is stored"
        );
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_up_to_255() {
        let key = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("idempotency-key", HeaderValue::from_str(value).unwrap());
            idempotency_key(&headers)
        };
        assert_eq!(key("abc-123").ok().flatten().as_deref(), Some("abc-123"));
        assert_eq!(key("\"quoted\"").ok().flatten().as_deref(), Some("quoted"));
        assert!(key(&"k".repeat(255)).is_ok());
        assert!(key(&"k".repeat(256)).is_err());
        assert!(key("two words").is_err());
        assert!(key("").is_err());
        assert!(matches!(idempotency_key(&HeaderMap::new()), Ok(None)));
    }
}
