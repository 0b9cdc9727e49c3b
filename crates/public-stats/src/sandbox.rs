//! Sandbox mode: with no credentials configured, the Genesys Cloud simulator runs in-process
//! with its demo org, so `cargo run` shows everything working with no account.
//!
//! The service talks to the simulator over loopback HTTP exactly as it would to Genesys. What a
//! visitor's browser must reach of the simulator (the Web Messaging guest WebSocket and the
//! deployment's `config.json`) is mounted on the service's own port under [`BROWSER_PREFIX`].
//! It is not used when credentials are set.

use std::net::SocketAddr;

use axum::Router;
use genesys::{ClientSecret, Environment};
use genesys_sim::{RunningSim, SimConfig};
use uuid::Uuid;

/// Where the simulator's browser-facing endpoints live on the service's port.
pub const BROWSER_PREFIX: &str = "/sandbox/genesys";

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

    pub fn environment(&self) -> Result<Environment, genesys::environment::EnvironmentError> {
        Environment::base_url(&self.sim.base_url())
    }

    pub fn client_id(&self) -> String {
        self.sim.state().config.org.client_id.clone()
    }

    pub fn client_secret(&self) -> ClientSecret {
        ClientSecret::new(self.sim.state().config.org.client_secret.clone())
    }

    pub fn queue_ids(&self) -> Vec<Uuid> {
        self.sim
            .state()
            .config
            .org
            .queues
            .iter()
            .map(|q| q.id)
            .collect()
    }

    pub fn deployment_id(&self) -> Uuid {
        self.sim.state().config.org.deployment_id
    }

    /// The simulator itself, for tests that change its state in-process.
    pub fn simulator(&self) -> &RunningSim {
        &self.sim
    }

    /// The Web Messaging guest endpoints, to be served under [`BROWSER_PREFIX`].
    pub fn browser_routes(&self) -> Router {
        Router::new().nest(
            BROWSER_PREFIX,
            genesys_sim::api::webmessaging::guest_router().with_state(self.sim.state().clone()),
        )
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
