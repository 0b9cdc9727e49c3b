//! A simulator per test, a client tuned for fast tests, and typed access to the simulator's
//! `/__sim/` control API (state, faults, request log, token expiry).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use genesys::{BudgetConfig, ClientConfig, ClientSecret, Environment, GenesysClient, RetryPolicy};
use genesys_sim::config::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use genesys_sim::{RunningSim, SimConfig};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

pub const TOKEN: &str = "POST /oauth/token";
pub const QUEUES: &str = "GET /api/v2/routing/queues";
pub const EWT: &str = "GET /api/v2/routing/queues/{queueId}/estimatedwaittime";
pub const MEDIA_EWT: &str =
    "GET /api/v2/routing/queues/{queueId}/mediatypes/{mediaType}/estimatedwaittime";
pub const OBSERVATIONS: &str = "POST /api/v2/analytics/queues/observations/query";
pub const CREATE_CALLBACK: &str = "POST /api/v2/conversations/callbacks";

/// A running simulator and a plain HTTP client for its control API.
pub struct Sim {
    pub sim: RunningSim,
    control: reqwest::Client,
}

#[derive(Debug, Deserialize)]
pub struct RequestLog {
    pub counts: BTreeMap<String, u64>,
    pub entries: Vec<Entry>,
    pub callbacks: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub route: String,
    pub http_version: String,
    pub status: Option<u16>,
    pub at_ms: u64,
}

impl RequestLog {
    pub fn count(&self, route: &str) -> u64 {
        self.counts.get(route).copied().unwrap_or(0)
    }

    pub fn entries_for(&self, route: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|entry| entry.route == route)
            .collect()
    }

    pub fn statuses_for(&self, route: &str) -> Vec<Option<u16>> {
        self.entries_for(route)
            .iter()
            .map(|entry| entry.status)
            .collect()
    }
}

impl Sim {
    pub async fn start() -> Result<Self> {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut SimConfig)) -> Result<Self> {
        let mut config = SimConfig::for_tests();
        tweak(&mut config);
        let sim = genesys_sim::spawn(config)
            .await
            .context("spawning the simulator")?;
        let mut control = reqwest::Client::builder();
        if let Some(ca) = sim.ca_pem() {
            // A simulator serving TLS serves its control API over TLS too.
            control = control.tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes())?]);
        }
        Ok(Sim {
            sim,
            control: control.build()?,
        })
    }

    /// A client with [`fast_config`].
    pub fn client(&self) -> GenesysClient {
        self.client_with(|_| {})
    }

    pub fn client_with(&self, tweak: impl FnOnce(&mut ClientConfig)) -> GenesysClient {
        let mut config = fast_config(&self.sim.base_url());
        tweak(&mut config);
        GenesysClient::new(config).expect("a client for the simulator")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// `POST /__sim/faults`.
    pub async fn fault(&self, spec: Value) -> Result<()> {
        let response = self
            .control
            .post(self.url("/__sim/faults"))
            .json(&spec)
            .send()
            .await?;
        ensure!(
            response.status() == 201,
            "fault {spec} refused: {}",
            response.text().await?
        );
        Ok(())
    }

    /// `PUT /__sim/queues/{id}/state`.
    pub async fn set_queue_state(&self, queue: Uuid, state: Value) -> Result<()> {
        let response = self
            .control
            .put(self.url(&format!("/__sim/queues/{queue}/state")))
            .json(&state)
            .send()
            .await?;
        ensure!(
            response.status() == 204,
            "state {state} refused: {}",
            response.text().await?
        );
        Ok(())
    }

    pub async fn requests(&self) -> Result<RequestLog> {
        let response = self
            .control
            .get(self.url("/__sim/requests"))
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json().await?)
    }

    pub async fn count(&self, route: &str) -> Result<u64> {
        Ok(self.requests().await?.count(route))
    }

    pub async fn expire_tokens(&self) -> Result<()> {
        self.control
            .post(self.url("/__sim/tokens/expire"))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

/// Short timeouts and backoffs so every failure test stays well under a few seconds, and a budget
/// large enough not to interfere unless a test shrinks it.
pub fn fast_config(base_url: &str) -> ClientConfig {
    let environment = Environment::base_url(base_url).expect("the simulator's base URL");
    let mut config = ClientConfig::new(
        environment,
        DEMO_CLIENT_ID,
        ClientSecret::new(DEMO_CLIENT_SECRET),
    );
    config.request_timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(1);
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(3),
    };
    config.budget = BudgetConfig {
        per_minute: 60_000,
        burst: 1_000,
        high_priority_reserve: 10,
        normal_priority_reserve: 0,
        high_priority_max_wait: Duration::from_millis(200),
    };
    config
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

static SECOND_DISPATCH: std::sync::LazyLock<tracing::Dispatch> = std::sync::LazyLock::new(|| {
    tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default())
});

/// Call before installing a thread-local subscriber that captures logs. tracing-core treats a
/// lone scoped dispatcher as "just one" and then works out a new callsite's interest from the
/// registering thread's default: another test's thread, with no subscriber, caches "never" for
/// everyone. A second live dispatcher makes it ask every one, on every thread.
pub fn keep_log_interest_per_thread() {
    std::sync::LazyLock::force(&SECOND_DISPATCH);
}
