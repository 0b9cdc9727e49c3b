//! Sandbox mode: with no credentials configured, the Genesys Cloud simulator runs in-process
//! with its demo org, so `cargo run` shows everything working with no account.
//!
//! The service talks to the simulator over loopback HTTP exactly as it would to Genesys. What a
//! visitor's browser must reach of the simulator (the Web Messaging guest WebSocket and the
//! deployment's `config.json`) is mounted on the service's own port under [`BROWSER_PREFIX`].
//! It is not used when credentials are set.

use std::net::SocketAddr;

use axum::Router;
use genesys::{ClientConfig, ClientSecret, Environment};
use genesys_sim::config::{DEMO_EMERGENCY_GROUP, DEMO_SCHEDULE_GROUP, OrgSpec};
use genesys_sim::{RunningSim, SimConfig};
use uuid::Uuid;

/// Where the simulator's browser-facing endpoints live on the service's port.
pub const BROWSER_PREFIX: &str = "/sandbox/genesys";

/// What sandbox mode fills in when the settings leave it open: the demo org's queues, its Web
/// Messaging deployment and its business hours (schedule group and emergency group). Known before
/// the simulator starts, so settings are complete when they are built.
pub struct SandboxDefaults {
    pub monitored_queues: Vec<Uuid>,
    pub web_messaging_deployment_id: Uuid,
    /// `None` when the demo org is made without business hours.
    pub schedule_group: Option<Uuid>,
    pub emergency_group: Option<Uuid>,
}

impl SandboxDefaults {
    pub fn demo() -> Self {
        let org = OrgSpec::demo();
        let hours = org.business_hours;
        SandboxDefaults {
            monitored_queues: org.queues.iter().map(|queue| queue.id).collect(),
            web_messaging_deployment_id: org.deployment_id,
            schedule_group: hours.then_some(DEMO_SCHEDULE_GROUP),
            emergency_group: hours.then_some(DEMO_EMERGENCY_GROUP),
        }
    }
}

pub struct Sandbox {
    sim: RunningSim,
}

impl Sandbox {
    /// Starts the simulator's demo org on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let config = SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..SimConfig::demo()
        };
        Ok(Sandbox {
            sim: genesys_sim::spawn(config).await?,
        })
    }

    /// How the service's Genesys client reaches the simulator and logs in to it.
    pub fn client_config(&self) -> Result<ClientConfig, genesys::environment::EnvironmentError> {
        let org = self.sim.org();
        Ok(ClientConfig::new(
            Environment::base_url(&self.sim.base_url())?,
            org.client_id.clone(),
            ClientSecret::new(org.client_secret.clone()),
        ))
    }

    /// The simulator itself, for tests that change its state in-process.
    pub fn simulator(&self) -> &RunningSim {
        &self.sim
    }

    /// The Web Messaging guest endpoints, to be served under [`BROWSER_PREFIX`].
    pub fn browser_routes(&self) -> Router {
        Router::new().nest(BROWSER_PREFIX, self.sim.browser_router())
    }

    /// The start-up banner: this is sandbox mode, and how to connect a real org.
    pub fn banner(&self, listen: SocketAddr) -> String {
        format!(
            "\n  SANDBOX MODE — no PURECLOUD_CLIENT_ID/PURECLOUD_CLIENT_SECRET set, so a simulated\n  \
             Genesys Cloud org runs in-process ({sim}).\n\n  \
             Open http://localhost:{port}/ for the demo page.\n\n  \
             To connect a real org, set PURECLOUD_CLIENT_ID, PURECLOUD_CLIENT_SECRET,\n  \
             PURECLOUD_MONITORED_QUEUES and PURECLOUD_ENVIRONMENT (see --help).\n",
            sim = self.sim.base_url(),
            port = listen.port(),
        )
    }
}
