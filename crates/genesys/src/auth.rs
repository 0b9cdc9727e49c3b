//! OAuth client-credentials tokens: fetched from `POST {login}/oauth/token`, cached, refreshed
//! shortly before they expire by a single caller while the others wait, and dropped when the API
//! answers 401 to them. A refresh that fails while the current token is still valid keeps that
//! token in use and is tried again a little later, so a login outage is felt only once the token
//! has really expired.
//!
//! It does not retry the API call after a 401; the transport does, once.

use std::sync::RwLock;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use crate::budget::Priority;
use crate::error::Error;
use crate::http::{Credentials, Payload, Request, Route, Transport};
use crate::secret::{AccessToken, ClientSecret};

const TOKEN_ROUTE: &str = "/oauth/token";
/// Refresh this long before expiry at most; short-lived tokens refresh at 90 % of their life.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// After a failed refresh, how long the still-valid token is used before the next attempt: every
/// call retrying at once would queue them all behind a login that is down.
const RETRY_FAILED_REFRESH_AFTER: Duration = Duration::from_secs(5);

pub(crate) struct TokenSource {
    client_id: String,
    secret: ClientSecret,
    token_url: Url,
    current: RwLock<Option<CachedToken>>,
    /// Held by the one caller that fetches a token; the others wait on it, then reuse its token.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct CachedToken {
    token: AccessToken,
    refresh_at: Instant,
    /// When Genesys stops accepting it.
    expires_at: Instant,
}

/// The token response; only the fields the client needs. No `Debug`: it holds the token.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

impl TokenSource {
    pub(crate) fn new(client_id: String, secret: ClientSecret, token_url: Url) -> Self {
        TokenSource {
            client_id,
            secret,
            token_url,
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// A token that is not due for refresh, fetching one if needed (one fetch at a time).
    pub(crate) async fn token(&self, transport: &Transport) -> Result<AccessToken, Error> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _refreshing = self.refreshing.lock().await;
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let cached = match self.fetch(transport).await {
            Ok(cached) => cached,
            Err(error) => return self.still_valid_after(error),
        };
        let token = cached.token.clone();
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(cached);
        Ok(token)
    }

    /// After a failed refresh: the current token while it has not expired (tried again
    /// [`RETRY_FAILED_REFRESH_AFTER`] later), else the error.
    fn still_valid_after(&self, error: Error) -> Result<AccessToken, Error> {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        match current.as_mut() {
            Some(cached) if now < cached.expires_at => {
                cached.refresh_at = (now + RETRY_FAILED_REFRESH_AFTER).min(cached.expires_at);
                tracing::warn!(%error, valid_for_secs = (cached.expires_at - now).as_secs(),
                    "could not refresh the Genesys access token; using the current one while it is valid");
                Ok(cached.token.clone())
            }
            _ => Err(error),
        }
    }

    /// Forgets `rejected` if it is still the current token. A token fetched meanwhile by another
    /// caller stays: dropping it would make every 401 in flight cause one more fetch.
    pub(crate) fn invalidate(&self, rejected: &AccessToken) {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if current
            .as_ref()
            .is_some_and(|cached| cached.token.same_as(rejected))
        {
            *current = None;
        }
    }

    fn fresh(&self) -> Option<AccessToken> {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        current
            .as_ref()
            .filter(|cached| Instant::now() < cached.refresh_at)
            .map(|cached| cached.token.clone())
    }

    #[tracing::instrument(name = "genesys_token", skip_all)]
    async fn fetch(&self, transport: &Transport) -> Result<CachedToken, Error> {
        let route = Route::idempotent(Method::POST, TOKEN_ROUTE);
        let mut request = Request::new(route, self.token_url.clone(), Priority::High);
        request.payload = Payload::Form(&[("grant_type", "client_credentials")]);
        let credentials = Credentials::Basic {
            client_id: &self.client_id,
            secret: &self.secret,
        };
        let requested_at = Instant::now();
        // Boxed: the transport calls back into `token()` for bearer calls, so the futures nest.
        let reply = Box::pin(transport.execute(&request, credentials))
            .await
            .map_err(refused_credentials)?;
        let response: TokenResponse = reply.json("token response")?;
        tracing::debug!(
            expires_in = response.expires_in,
            "fetched a Genesys access token"
        );
        let lifetime = token_lifetime(response.expires_in);
        Ok(CachedToken {
            token: AccessToken::new(response.access_token),
            refresh_at: requested_at + refresh_after(lifetime),
            // Counted from the request, not the answer: the token may be older than it looks.
            expires_at: requested_at + lifetime,
        })
    }
}

/// 400/401/403 from the token endpoint mean the credentials (or the grant) were refused.
fn refused_credentials(error: Error) -> Error {
    match error {
        Error::Api { status, .. }
            if matches!(
                status,
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) =>
        {
            Error::Auth { status }
        }
        other => other,
    }
}

const MAX_TOKEN_LIFETIME_SECS: u64 = 48 * 3600;

/// The token's lifetime as the upstream states it, capped at Genesys's maximum (48 h) so that an
/// absurd `expires_in` cannot overflow the clock.
fn token_lifetime(expires_in: u64) -> Duration {
    Duration::from_secs(expires_in.min(MAX_TOKEN_LIFETIME_SECS))
}

/// When to refresh a token that lives `lifetime`: `lifetime − min(60 s, 10 %)`.
fn refresh_after(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(MAX_REFRESH_MARGIN.min(lifetime / 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_a_minute_early_or_at_ninety_percent_for_short_tokens() {
        assert_eq!(
            refresh_after(Duration::from_secs(86_399)),
            Duration::from_secs(86_339)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(300)),
            Duration::from_secs(270)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(2)),
            Duration::from_millis(1_800)
        );
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
        // An absurd lifetime from the upstream is capped, never an overflow.
        assert_eq!(token_lifetime(u64::MAX), Duration::from_secs(48 * 3600));
        let _ = std::time::Instant::now() + refresh_after(token_lifetime(u64::MAX));
    }
}
