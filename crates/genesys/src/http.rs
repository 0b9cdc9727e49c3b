//! The transport: the one place requests leave this crate. It adds credentials, spends the request
//! budget, caps response bodies, refuses redirects, honours 429 `Retry-After` per endpoint and
//! retries what is safe to retry. It counts every attempt by endpoint template and status.
//!
//! It knows nothing about what the endpoints mean; the capability modules build a [`Request`]
//! and decode the [`Reply`].
//!
//! The retry loop is written by hand rather than with `backon::Retryable` because one attempt can
//! end in four different ways that each need their own next step (re-authenticate once without
//! spending a retry, wait for the endpoint's Retry-After gate, back off, or stop); backon still
//! supplies the jittered, capped exponential delays.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use crate::auth::TokenSource;
use crate::budget::{Budget, Priority};
use crate::error::{Error, ErrorBody};
use crate::secret::{AccessToken, ClientSecret};

/// Genesys's .NET SDK default when a 429 carries no Retry-After (`retryAfterDefaultMs = 3000`).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(3);
/// The longest `Retry-After` honoured: a larger value is read as this (an hour is already far
/// longer than any Genesys rate-limit window).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How a client retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (1 = never retry). A re-authentication after a 401
    /// does not count.
    pub max_attempts: u32,
    /// First backoff delay; each next one doubles, with jitter.
    pub base_backoff: Duration,
    /// Cap of one backoff delay.
    pub max_backoff: Duration,
    /// Longest a call waits for an endpoint's 429 Retry-After; longer asks fail with
    /// [`Error::RateLimited`] at once.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        let retries = usize::try_from(self.max_attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        ExponentialBuilder::default()
            .with_min_delay(self.base_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(retries)
            .with_jitter()
            .build()
    }
}

/// Whether repeating a request after an unclear outcome (5xx, timeout, reset) is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Idempotency {
    /// GET/HEAD/PUT, and POSTs that only read (the observations query).
    Idempotent,
    /// Creates something (a callback): repeated only when Genesys cannot have acted on it (429,
    /// connection refused).
    NotIdempotent,
}

/// One endpoint, named by its path template so that logs and 429 gates never hold ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Route {
    pub method: Method,
    pub template: &'static str,
    pub idempotency: Idempotency,
}

impl Route {
    /// An endpoint that is safe to repeat after an unclear outcome.
    pub(crate) fn idempotent(method: Method, template: &'static str) -> Self {
        Route {
            method,
            template,
            idempotency: Idempotency::Idempotent,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

pub(crate) enum Payload {
    Empty,
    Json(Bytes),
    Form(&'static [(&'static str, &'static str)]),
}

pub(crate) struct Request {
    pub route: Route,
    pub url: Url,
    pub payload: Payload,
    pub priority: Priority,
}

impl Request {
    pub(crate) fn new(route: Route, url: Url, priority: Priority) -> Self {
        Request {
            route,
            url,
            payload: Payload::Empty,
            priority,
        }
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|_| Error::InvalidRequest("body is not serialisable"))?;
        self.payload = Payload::Json(Bytes::from(bytes));
        Ok(self)
    }
}

/// A complete answer: status and the (size-capped) body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    retry_after: Option<Duration>,
}

impl Reply {
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &'static str) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode { what, source })
    }
}

/// How a request is authorised.
pub(crate) enum Credentials<'a> {
    /// The token request itself.
    Basic {
        client_id: &'a str,
        secret: &'a ClientSecret,
    },
    /// Every API call: a cached token, and one unit of the request budget per attempt.
    Bearer {
        tokens: &'a TokenSource,
        budget: &'a Budget,
    },
}

/// What one attempt came to, before deciding what to do next.
enum Outcome {
    Reply(Reply),
    Failed(reqwest::Error),
}

/// The next step after an attempt.
#[derive(Debug, PartialEq)]
enum Verdict {
    Success,
    Unauthorized,
    RateLimited(Duration),
    Retryable,
    Fatal,
}

pub(crate) struct Transport {
    http: reqwest::Client,
    max_body_bytes: usize,
    retry: RetryPolicy,
    gates: RateGates,
}

impl Transport {
    pub(crate) fn new(http: reqwest::Client, max_body_bytes: usize, retry: RetryPolicy) -> Self {
        Transport {
            http,
            max_body_bytes,
            retry,
            gates: RateGates::default(),
        }
    }

    /// Sends `request` until it succeeds, fails for good, or runs out of retries.
    #[tracing::instrument(name = "genesys_request", skip_all, fields(route = %request.route))]
    pub(crate) async fn execute(
        &self,
        request: &Request,
        credentials: Credentials<'_>,
    ) -> Result<Reply, Error> {
        let mut backoff = self.retry.backoff();
        let mut reauthenticated = false;
        loop {
            self.gates
                .wait_until_open(&request.route, self.retry.max_retry_after)
                .await?;
            let (outcome, token) = self.attempt(request, &credentials).await?;
            let verdict = judge(&outcome, request.route.idempotency);
            tracing::debug!(
                ?verdict,
                status = outcome_status(&outcome),
                "genesys attempt"
            );
            match verdict {
                Verdict::Success => return into_reply(outcome),
                Verdict::Unauthorized => match (&credentials, token) {
                    (Credentials::Bearer { tokens, .. }, Some(token)) if !reauthenticated => {
                        tokens.invalidate(&token);
                        reauthenticated = true;
                    }
                    _ => return Err(into_error(outcome)),
                },
                Verdict::RateLimited(wait) => {
                    self.gates.close_for(&request.route, wait);
                    if wait > self.retry.max_retry_after || backoff.next().is_none() {
                        return Err(Error::RateLimited { retry_after: wait });
                    }
                }
                Verdict::Retryable => match backoff.next() {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(into_error(outcome)),
                },
                Verdict::Fatal => return Err(into_error(outcome)),
            }
        }
    }

    /// One attempt. Errors returned here (budget, token) end the call; transport failures are
    /// returned as an [`Outcome`] for [`judge`] to weigh.
    async fn attempt(
        &self,
        request: &Request,
        credentials: &Credentials<'_>,
    ) -> Result<(Outcome, Option<AccessToken>), Error> {
        let mut builder = self
            .http
            .request(request.route.method.clone(), request.url.clone());
        let mut used_token = None;
        match credentials {
            Credentials::Basic { client_id, secret } => {
                builder = builder.basic_auth(client_id, Some(secret.expose_secret()));
            }
            Credentials::Bearer { tokens, budget } => {
                budget.acquire(request.priority).await?;
                let token = tokens.token(self).await?;
                builder = builder.bearer_auth(token.expose_secret());
                used_token = Some(token);
            }
        }
        builder = match &request.payload {
            Payload::Empty => builder,
            Payload::Json(bytes) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Payload::Form(fields) => builder.form(fields),
        };
        let started = Instant::now();
        let outcome = match builder.send().await {
            Ok(response) => self.read(response).await.map(Outcome::Reply),
            Err(error) => Ok(Outcome::Failed(error.without_url())),
        };
        record_attempt(&request.route, outcome.as_ref().ok(), started.elapsed());
        Ok((outcome?, used_token))
    }

    /// Reads the whole body, but never more than `max_body_bytes` of it.
    async fn read(&self, mut response: reqwest::Response) -> Result<Reply, Error> {
        let too_large = Error::BodyTooLarge {
            limit: self.max_body_bytes,
        };
        if declared_length(response.headers()).is_some_and(|length| length > self.max_body_bytes) {
            return Err(too_large);
        }
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > self.max_body_bytes => {
                    return Err(too_large);
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(error) if error.is_timeout() => return Err(Error::Timeout),
                Err(error) => return Err(Error::Transport(error.without_url())),
            }
        }
        Ok(Reply {
            status,
            body: body.freeze(),
            retry_after,
        })
    }
}

/// Counts one attempt and its latency by endpoint (the path template, never the URL) and status
/// (`error` when no complete answer came back: connection failure, timeout, oversized body).
fn record_attempt(route: &Route, outcome: Option<&Outcome>, elapsed: Duration) {
    let status = match outcome {
        Some(Outcome::Reply(reply)) => reply.status.as_str().to_owned(),
        Some(Outcome::Failed(_)) | None => "error".to_owned(),
    };
    let method = method_label(&route.method);
    metrics::counter!("genesys_client_requests_total",
        "method" => method, "endpoint" => route.template, "status" => status)
    .increment(1);
    metrics::histogram!("genesys_client_request_duration_seconds",
        "method" => method, "endpoint" => route.template)
    .record(elapsed.as_secs_f64());
}

/// The methods this client sends, as static labels.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::HEAD => "HEAD",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

fn outcome_status(outcome: &Outcome) -> u16 {
    match outcome {
        Outcome::Reply(reply) => reply.status.as_u16(),
        Outcome::Failed(_) => 0,
    }
}

/// Decides what an attempt's outcome calls for. Genesys's SDKs retry 429, 5xx except 501 and
/// connection errors; 408 is the same "try again" answer from a proxy.
fn judge(outcome: &Outcome, idempotency: Idempotency) -> Verdict {
    let idempotent = idempotency == Idempotency::Idempotent;
    match outcome {
        Outcome::Reply(reply) => match reply.status {
            status if status.is_success() => Verdict::Success,
            StatusCode::UNAUTHORIZED => Verdict::Unauthorized,
            StatusCode::TOO_MANY_REQUESTS => {
                Verdict::RateLimited(reply.retry_after.unwrap_or(DEFAULT_RETRY_AFTER))
            }
            StatusCode::REQUEST_TIMEOUT if idempotent => Verdict::Retryable,
            StatusCode::NOT_IMPLEMENTED => Verdict::Fatal,
            status if status.is_server_error() && idempotent => Verdict::Retryable,
            _ => Verdict::Fatal,
        },
        // Nothing reached Genesys when the connection could not be made, so even a create is safe.
        Outcome::Failed(error) if error.is_connect() => Verdict::Retryable,
        Outcome::Failed(_) if idempotent => Verdict::Retryable,
        Outcome::Failed(_) => Verdict::Fatal,
    }
}

fn into_reply(outcome: Outcome) -> Result<Reply, Error> {
    match outcome {
        Outcome::Reply(reply) => Ok(reply),
        Outcome::Failed(error) => Err(transport_error(error)),
    }
}

fn into_error(outcome: Outcome) -> Error {
    match outcome {
        Outcome::Reply(reply) if reply.status.is_redirection() => Error::Redirect {
            status: reply.status,
        },
        Outcome::Reply(reply) => Error::Api {
            status: reply.status,
            body: ErrorBody::parse(&reply.body),
        },
        Outcome::Failed(error) => transport_error(error),
    }
}

fn transport_error(error: reqwest::Error) -> Error {
    if error.is_connect() {
        Error::Connect(error)
    } else if error.is_timeout() {
        Error::Timeout
    } else {
        Error::Transport(error)
    }
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Per-endpoint "not before" instants set by 429s: nothing is sent to a closed endpoint.
#[derive(Debug, Default)]
struct RateGates {
    not_before: Mutex<HashMap<Route, Instant>>,
}

impl RateGates {
    fn close_for(&self, route: &Route, wait: Duration) {
        // The upstream chooses `wait`; an absurd Retry-After must not overflow the clock.
        let until = Instant::now() + wait.min(MAX_RETRY_AFTER);
        let mut gates = self
            .not_before
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = gates.entry(route.clone()).or_insert(until);
        *entry = (*entry).max(until);
    }

    fn remaining(&self, route: &Route) -> Option<Duration> {
        let gates = self
            .not_before
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let until = *gates.get(route)?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Waits for the endpoint's gate to open if that takes at most `max_wait`, else fails fast.
    async fn wait_until_open(&self, route: &Route, max_wait: Duration) -> Result<(), Error> {
        // Loop: another caller's 429 may push the gate further while this one sleeps.
        while let Some(remaining) = self.remaining(route) {
            if remaining > max_wait {
                return Err(Error::RateLimited {
                    retry_after: remaining,
                });
            }
            tokio::time::sleep(remaining).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, retry_after: Option<Duration>) -> Outcome {
        Outcome::Reply(Reply {
            status: StatusCode::from_u16(status).unwrap(),
            body: Bytes::new(),
            retry_after,
        })
    }

    fn route() -> Route {
        Route {
            method: Method::GET,
            template: "/api/v2/x",
            idempotency: Idempotency::Idempotent,
        }
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        let parsed = parse_retry_after(&in_a_minute).unwrap();
        assert!(
            parsed > Duration::from_secs(57) && parsed <= Duration::from_secs(60),
            "{parsed:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn statuses_are_judged_as_genesys_sdks_do() {
        use Idempotency::*;
        assert_eq!(judge(&reply(200, None), NotIdempotent), Verdict::Success);
        assert_eq!(judge(&reply(204, None), Idempotent), Verdict::Success);
        assert_eq!(judge(&reply(401, None), Idempotent), Verdict::Unauthorized);
        assert_eq!(
            judge(&reply(429, None), NotIdempotent),
            Verdict::RateLimited(DEFAULT_RETRY_AFTER)
        );
        let asked = Duration::from_secs(7);
        assert_eq!(
            judge(&reply(429, Some(asked)), Idempotent),
            Verdict::RateLimited(asked)
        );
        for status in [408, 500, 502, 503, 504] {
            assert_eq!(
                judge(&reply(status, None), Idempotent),
                Verdict::Retryable,
                "{status}"
            );
            assert_eq!(
                judge(&reply(status, None), NotIdempotent),
                Verdict::Fatal,
                "{status}"
            );
        }
        for status in [301, 302, 400, 403, 404, 409, 501] {
            assert_eq!(
                judge(&reply(status, None), Idempotent),
                Verdict::Fatal,
                "{status}"
            );
        }
    }

    #[test]
    fn a_redirect_becomes_a_redirect_error() {
        assert!(
            matches!(into_error(reply(302, None)), Error::Redirect { status } if status.as_u16() == 302)
        );
        assert!(matches!(
            into_error(reply(404, None)),
            Error::Api { body: None, .. }
        ));
    }

    #[test]
    fn backoff_gives_max_attempts_minus_one_capped_delays() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
            max_retry_after: Duration::from_secs(1),
        };
        let delays: Vec<Duration> = policy.backoff().collect();
        assert_eq!(delays.len(), 3);
        // Jitter adds up to one more delay on top of the capped one.
        assert!(
            delays
                .iter()
                .all(|d| *d >= Duration::from_millis(100) && *d <= Duration::from_millis(500)),
            "{delays:?}"
        );
        let never = RetryPolicy {
            max_attempts: 1,
            ..policy
        };
        assert_eq!(never.backoff().count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_gate_waits_or_fails_fast() {
        let gates = RateGates::default();
        gates.close_for(&route(), Duration::from_secs(2));
        let started = Instant::now();
        let error = gates
            .wait_until_open(&route(), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::RateLimited { retry_after } if retry_after == Duration::from_secs(2))
        );
        assert_eq!(started.elapsed(), Duration::ZERO);
        gates
            .wait_until_open(&route(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        let other = Route {
            template: "/api/v2/y",
            ..route()
        };
        gates.close_for(&route(), Duration::from_secs(9));
        gates.wait_until_open(&other, Duration::ZERO).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_gate_is_never_shortened() {
        let gates = RateGates::default();
        gates.close_for(&route(), Duration::from_secs(5));
        gates.close_for(&route(), Duration::from_secs(1));
        assert_eq!(gates.remaining(&route()), Some(Duration::from_secs(5)));
    }
}
