//! `genesys-sim`: a simulator of the part of the Genesys Cloud Platform API that public-stats uses.
//!
//! It is two things at once: the upstream of every test in this workspace, and the engine of the
//! service's sandbox mode. It serves, over real HTTP and WebSocket, the same paths, field names,
//! status codes and error bodies as Genesys Cloud, backed by a small contact-centre model
//! ([`model`]) whose queues, agents and interactions move over time. A control API under `/__sim/` lets tests set state, inject faults and read what
//! reached "Genesys".
//!
//! It is not a client: it shares no types with the `genesys` crate, so a wrong field name on either
//! side fails a test instead of passing on both.

pub mod api;
pub mod config;
pub mod control;
pub mod model;
pub mod state;

pub use config::SimConfig;
pub use state::SimState;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A simulator serving on a real socket. Dropping it stops the server and the model's clock.
pub struct RunningSim {
    addr: SocketAddr,
    state: SimState,
    shutdown: CancellationToken,
    server: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the API and login base URL for a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT`: the base of the WebSocket endpoints.
    pub fn ws_base_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The simulator's shared state, for in-process control (tests may also use `/__sim/` over HTTP).
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// The simulated org: its OAuth client, queues and Web Messaging deployment.
    pub fn org(&self) -> &config::OrgSpec {
        &self.state.config.org
    }

    /// What a visitor's browser must reach (the Web Messaging deployment config, guest WebSocket
    /// and history), for an embedding service to serve on its own port. Never the control
    /// routes: they would hand out every guest's session token.
    pub fn browser_router(&self) -> axum::Router {
        api::webmessaging::guest_router().with_state(self.state.clone())
    }

    /// Stops serving and waits for the server task to finish.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Binds `config.listen` (port 0 picks a free port), starts the model's clock and serves the API.
pub async fn spawn(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let state = SimState::new(config, addr, shutdown.clone());
    state.start_clock();
    let app = api::router(state.clone());
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(error) = serve.await {
            tracing::error!(%error, "simulator server stopped");
        }
    });
    Ok(RunningSim {
        addr,
        state,
        shutdown,
        server: Some(server),
    })
}
