//! `genesys`: a typed client for the slice of the Genesys Cloud Platform API that public-stats
//! uses: OAuth client credentials, routing queues and estimated wait times, queue observations,
//! notification channels, callback creation, and the Architect objects that say when the contact
//! centre is open (schedule groups, schedules, emergency groups).
//!
//! Code map: `http` (the transport), `auth` (tokens), `budget` (request budget and priorities);
//! one module per capability — `routing`, `analytics`, `notifications`, `callbacks`, `architect`
//! — with `paging` what their listings share; `environment`, `secret`, `tls` and `error` are
//! what every call needs.
//!
//! Every request goes through one transport (`http.rs`) that owns the hard parts: token caching
//! and single-flight refresh, a request budget below Genesys's per-token limit (this process's
//! own bucket, or one the application keeps elsewhere for several processes: [`RequestBudget`]),
//! 429 Retry-After gates, retries only where repeating is safe, timeouts, a body size cap and no
//! redirects.
//!
//! The self-healing notification WebSocket stream (`notifications::stream`) is written on top of
//! the client's public calls, not inside the transport. The crate caches no statistics, and it
//! never decides what a visitor may see: upstream error text is kept for callers, who must not
//! forward it.
//!
//! It reports `genesys_client_*` metrics (attempts and latency by endpoint template, budget
//! tokens, notification connection state) through the `metrics` facade; they are recorded only
//! if the application installs a recorder.

pub mod analytics;
pub mod architect;
mod auth;
pub mod budget;
pub mod callbacks;
pub mod environment;
pub mod error;
mod http;
pub mod notifications;
mod paging;
pub mod routing;
pub mod secret;
pub mod tls;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use analytics::{MetricUpdate, QueueObservations, RoutingStatus, WaitingConversation};
pub use architect::{
    ArchitectError, ArchitectKind, EmergencyGroup, Schedule, ScheduleGroup,
    ScheduleGroupWithSchedules,
};
pub use budget::{BudgetConfig, LocalBudget, Priority, RequestBudget};
pub use callbacks::{CallbackConversation, CreateCallback, CreateCallbackResponse};
pub use environment::Environment;
pub use error::{Error, ErrorBody};
pub use http::{DEFAULT_RETRY_AFTER, RetryPolicy};
pub use notifications::channels::{Channel, ChannelId, ChannelTopic, ConnectUri};
pub use routing::{
    EstimatedWaitTimePredictions, EwtMediaType, PredictionResult, Queue, QueueLookup,
};
pub use secret::{AccessToken, ClientSecret};
pub use tls::RootCertificate;

use auth::TokenSource;
use budget::Budget;
use http::{Credentials, Reply, Request, Transport};

/// Everything a [`GenesysClient`] needs. `Debug` is safe to log: the secret prints `[REDACTED]`.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub environment: Environment,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Whole-request deadline, body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Larger response bodies fail with [`Error::BodyTooLarge`].
    pub max_body_bytes: usize,
    /// Size of the request budget, and how long a high-priority call may wait for it.
    pub budget: BudgetConfig,
    /// Where the budget is kept: `None` for a bucket of this client's own, sized by `budget`;
    /// another [`RequestBudget`] when several processes share one OAuth client's allowance.
    pub request_budget: Option<Arc<dyn RequestBudget>>,
    pub retry: RetryPolicy,
    /// Certificate authorities trusted besides the platform's (REST) and Mozilla's (WebSocket)
    /// roots. Empty in production; a simulator serving TLS needs its own CA here.
    pub extra_root_certificates: Vec<RootCertificate>,
}

impl ClientConfig {
    /// Production defaults: 10 s requests, 5 s connects, 1 MiB bodies, 240 requests/minute.
    pub fn new(
        environment: Environment,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> Self {
        ClientConfig {
            environment,
            client_id: client_id.into(),
            client_secret,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
            budget: BudgetConfig::default(),
            request_budget: None,
            retry: RetryPolicy::default(),
            extra_root_certificates: Vec::new(),
        }
    }
}

/// A Genesys Cloud client. Cheap to clone; clones share the token, budget and 429 gates.
#[derive(Clone)]
pub struct GenesysClient {
    inner: Arc<Inner>,
}

struct Inner {
    environment: Environment,
    /// How the notification WebSocket makes its TLS connection (`None`: tokio-tungstenite's own).
    websocket_connector: Option<tokio_tungstenite::Connector>,
    transport: Transport,
    tokens: TokenSource,
    budget: Budget,
}

impl GenesysClient {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let token_url = join(config.environment.login_base(), &["oauth", "token"])?;
        let mut builder = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("public-stats-genesys/", env!("CARGO_PKG_VERSION")));
        if config.environment.is_explicit_base() {
            // A local simulator must never be reached through a system proxy.
            builder = builder.no_proxy();
        }
        if !config.extra_root_certificates.is_empty() {
            builder = builder.tls_certs_merge(tls::for_reqwest(&config.extra_root_certificates)?);
        }
        let http = builder.build().map_err(Error::Transport)?;
        let websocket_connector = tls::websocket_connector(&config.extra_root_certificates)?;
        Ok(GenesysClient {
            inner: Arc::new(Inner {
                transport: Transport::new(http, config.max_body_bytes, config.retry),
                tokens: TokenSource::new(config.client_id, config.client_secret, token_url),
                budget: Budget::new(config.budget, config.request_budget),
                environment: config.environment,
                websocket_connector,
            }),
        })
    }

    pub fn environment(&self) -> &Environment {
        &self.inner.environment
    }

    /// The TLS connector for notification WebSockets, trusting the same extra roots as REST.
    pub(crate) fn websocket_connector(&self) -> Option<tokio_tungstenite::Connector> {
        self.inner.websocket_connector.clone()
    }

    /// The current access token, fetched or refreshed if needed. For the notification stream and
    /// anything else that must authenticate outside this client.
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        self.inner.tokens.token(&self.inner.transport).await
    }

    pub(crate) async fn send(&self, request: Request) -> Result<Reply, Error> {
        let credentials = Credentials::Bearer {
            tokens: &self.inner.tokens,
            budget: &self.inner.budget,
        };
        self.inner.transport.execute(&request, credentials).await
    }

    /// An API URL from path segments; each segment is percent-encoded, so an id can never
    /// change the path it is put in.
    pub(crate) fn api_url(&self, segments: &[&str]) -> Result<Url, Error> {
        join(self.inner.environment.api_base(), segments)
    }
}

fn join(base: &Url, segments: &[&str]) -> Result<Url, Error> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| Error::InvalidRequest("base URL cannot take a path"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

impl fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenesysClient")
            .field("environment", &self.inner.environment)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded_so_ids_cannot_escape() {
        let base = Url::parse("http://127.0.0.1:9/prefix/").unwrap();
        let url = join(
            &base,
            &["api", "v2", "notifications", "channels", "../../x?y#z"],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/api/v2/notifications/channels/..%2F..%2Fx%3Fy%23z"
        );
    }
}
