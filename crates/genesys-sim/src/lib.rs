//! `genesys-sim`: a simulator of the part of the Genesys Cloud Platform API that public-stats uses.
//!
//! It is two things at once: the upstream of every test in this workspace, and the engine of the
//! service's sandbox mode. It serves, over real HTTP and WebSocket, the same paths, field names,
//! status codes and error bodies as Genesys Cloud, backed by a small contact-centre model
//! ([`model`]) whose queues, agents and interactions move over time. A control API under `/__sim/` lets tests set state, inject faults and read what
//! reached "Genesys".
//!
//! With `SimConfig::tls` it serves HTTPS and WSS only, as Genesys does, with a certificate made at
//! start ([`RunningSim::ca_pem`] is what a client trusts).
//!
//! It is not a client: it shares no types with the `genesys` crate, so a wrong field name on either
//! side fails a test instead of passing on both.

pub mod api;
pub mod config;
pub mod control;
pub mod model;
pub mod state;
pub mod tls;

pub use config::SimConfig;
pub use state::SimState;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A simulator serving on a real socket. Dropping it stops the server and the model's clock.
pub struct RunningSim {
    addr: SocketAddr,
    /// Where Web Messaging uploads and downloads go (the storage behind presigned links).
    upload_addr: SocketAddr,
    /// The CA certificate (PEM) to trust, when serving TLS.
    ca_pem: Option<String>,
    state: SimState,
    shutdown: CancellationToken,
    servers: Vec<JoinHandle<()>>,
}

impl RunningSim {
    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS): the API and login base URL for a client.
    pub fn base_url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS) of the upload target: where Web Messaging
    /// guests `PUT` their files and download files from, a port of its own like the storage
    /// behind Genesys's presigned links.
    pub fn upload_base_url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.upload_addr)
    }

    /// `ws://127.0.0.1:PORT` (`wss://` with TLS): the base of the WebSocket endpoints.
    pub fn ws_base_url(&self) -> String {
        format!("{}://{}", self.state.ws_scheme(), self.addr)
    }

    /// With TLS: the PEM of the certificate authority that signed the simulator's certificate,
    /// for a client to trust. `None` when serving plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
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
        for server in self.servers.drain(..) {
            let _ = server.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// How long open connections get to finish when a TLS simulator stops.
const TLS_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Binds `config.listen` (port 0 picks a free port) and, on the same address, a free port for
/// the Web Messaging upload target; starts the model's clock and serves both (over TLS when
/// `config.tls`).
pub async fn spawn(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let uploads = TcpListener::bind(SocketAddr::new(config.listen.ip(), 0)).await?;
    let upload_addr = uploads.local_addr()?;
    let certificate = if config.tls {
        Some(tls::SimCertificate::generate().map_err(std::io::Error::other)?)
    } else {
        None
    };
    let shutdown = CancellationToken::new();
    let state = SimState::new(config, addr, shutdown.clone());
    let scheme = if certificate.is_some() {
        "https"
    } else {
        "http"
    };
    state
        .webmessaging
        .set_files_base(format!("{scheme}://{upload_addr}"));
    state.start_clock();
    let ca_pem = certificate.as_ref().map(|c| c.ca_pem().to_owned());
    let servers = vec![
        serve(
            listener,
            api::router(state.clone()),
            certificate.as_ref(),
            &shutdown,
        )?,
        serve(
            uploads,
            api::webmessaging::upload_target_router(state.clone()),
            certificate.as_ref(),
            &shutdown,
        )?,
    ];
    Ok(RunningSim {
        addr,
        upload_addr,
        ca_pem,
        state,
        shutdown,
        servers,
    })
}

/// Serves `app` on `listener` until `shutdown`, over TLS with `certificate`.
fn serve(
    listener: TcpListener,
    app: Router,
    certificate: Option<&tls::SimCertificate>,
    shutdown: &CancellationToken,
) -> std::io::Result<JoinHandle<()>> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let stop = shutdown.clone();
    let Some(certificate) = certificate else {
        return Ok(tokio::spawn(async move {
            let serve = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await });
            if let Err(error) = serve.await {
                tracing::error!(%error, "simulator server stopped");
            }
        }));
    };
    let rustls = axum_server::tls_rustls::RustlsConfig::from_config(certificate.server_config());
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener.into_std()?, rustls)?.handle(handle.clone());
    Ok(tokio::spawn(async move {
        tokio::spawn(async move {
            stop.cancelled().await;
            handle.graceful_shutdown(Some(TLS_SHUTDOWN_GRACE));
        });
        if let Err(error) = server.serve(app).await {
            tracing::error!(%error, "simulator server stopped");
        }
    }))
}
