//! Building and running the service: the one place that wires settings, the Genesys client (or
//! the sandbox simulator), the live statistics and the HTTP routes together.
//!
//! [`Application::build`] does everything that can fail because of configuration — resolving the
//! monitored queues against the org included — before it binds the port, so a misconfigured
//! service never starts listening. Tests use the same path with port 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use genesys::{ClientConfig, GenesysClient};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::callbacks::{CallbackDesk, CallbackStore, Relay, RelayWaker};
use crate::config::{Settings, Upstream};
use crate::origin::{OriginRules, OwnOrigin};
use crate::problem::ApiError;
use crate::queues::{PublicQueueInfo, PublicQueues};
use crate::sandbox::Sandbox;
use crate::state::{AppState, Inner};
use crate::stats::{EwtCache, LiveStats, QueueFeeds};
use crate::{assets, callbacks, cors, health, push, queues, stats};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not start the sandbox simulator: {0}")]
    Sandbox(std::io::Error),
    #[error("could not set up the Genesys Cloud client: {0}")]
    Client(genesys::Error),
    #[error("could not list the org's queues to check PURECLOUD_MONITORED_QUEUES: {0}")]
    QueueLookup(genesys::Error),
    #[error("PURECLOUD_MONITORED_QUEUES names queues the org does not have: {}", list(.0))]
    UnknownQueues(Vec<Uuid>),
    #[error("could not open the callback store (DATA_DIR): {0}")]
    Store(#[from] crate::callbacks::store::StoreError),
    #[error("could not listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

fn list(ids: &[Uuid]) -> String {
    ids.iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A built service, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with(settings, |config| config).await
    }

    /// Like [`Application::build`], letting tests adjust the client's configuration (timeouts,
    /// budget) before it is created.
    pub async fn build_with(
        settings: Settings,
        adjust_client: impl FnOnce(ClientConfig) -> ClientConfig,
    ) -> Result<Self, StartupError> {
        let (sandbox, client_config) = upstream(&settings.upstream).await?;
        let client =
            GenesysClient::new(adjust_client(client_config)).map_err(StartupError::Client)?;
        let queues = resolve_queues(&client, &settings.monitored_queues).await?;
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let live = LiveStats::start(client.clone(), queues.ids(), shutdown.clone());
        let ewt = EwtCache::new(client.clone(), settings.ewt_cache_ttl);
        let feeds = QueueFeeds::new(live.clone(), ewt.clone(), shutdown.clone(), tasks.clone());
        let callbacks = start_callbacks(&settings, client, &shutdown, &tasks).await?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|error| StartupError::Bind(settings.listen, error))?;
        let own = OwnOrigin::new(
            settings.public_url.as_ref(),
            listener.local_addr().unwrap_or(settings.listen),
        );
        let origins = OriginRules::new(own, settings.allowed_origins.clone());
        let sockets = push::Admission::new(
            origins.clone(),
            settings.trusted_proxies.clone(),
            settings.socket_limits.clone(),
            shutdown.clone(),
        );
        let state = AppState::new(Inner {
            settings,
            queues,
            live,
            ewt,
            feeds,
            callbacks,
            origins,
            sockets,
            sandbox: sandbox.map(Arc::new),
            shutdown,
            tasks,
        });
        let router = router(state.clone());
        Ok(Application {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.listen)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` is cancelled, then closes WebSockets and waits for their tasks.
    pub async fn run_until(self, stop: CancellationToken) -> std::io::Result<()> {
        let state = self.state.clone();
        let signal = stop.clone();
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { signal.cancelled().await })
        .await;
        // axum's graceful shutdown does not end WebSocket tasks: cancel and wait for them.
        state.shutdown.cancel();
        state.tasks.close();
        // The sockets close spread over the drain window; a few seconds more for the rest.
        let deadline = state.settings.shutdown_drain + Duration::from_secs(5);
        if tokio::time::timeout(deadline, state.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket tasks did not finish within {deadline:?} of shutdown");
        }
        served
    }
}

/// Opens the callback store and starts the relay that delivers what it holds (also what an
/// earlier run accepted and did not deliver).
async fn start_callbacks(
    settings: &Settings,
    client: GenesysClient,
    shutdown: &CancellationToken,
    tasks: &TaskTracker,
) -> Result<CallbackDesk, StartupError> {
    crate::callbacks::phone::load_metadata();
    let store = CallbackStore::open(&settings.data_dir).await?;
    let waker = RelayWaker::default();
    let relay = Relay {
        store: store.clone(),
        client,
        waker: waker.clone(),
        max_age: settings.callback_limits.pending_window,
    };
    tasks.spawn(relay.run(shutdown.clone()));
    Ok(CallbackDesk::new(
        store,
        settings.callback_rules.clone(),
        settings.callback_limits.clone(),
        settings.trusted_proxies.clone(),
        waker,
    ))
}

/// Chooses the upstream: the sandbox simulator, or the configured org.
async fn upstream(upstream: &Upstream) -> Result<(Option<Sandbox>, ClientConfig), StartupError> {
    match upstream {
        Upstream::Genesys {
            environment,
            client_id,
            client_secret,
        } => Ok((
            None,
            ClientConfig::new(
                environment.clone(),
                client_id.clone(),
                client_secret.clone(),
            ),
        )),
        Upstream::Sandbox => {
            let sandbox = Sandbox::start().await.map_err(StartupError::Sandbox)?;
            let config = sandbox
                .client_config()
                .map_err(|e| StartupError::Sandbox(std::io::Error::other(e)))?;
            Ok((Some(sandbox), config))
        }
    }
}

/// The monitored queues with their names, or the list of those the org does not have.
async fn resolve_queues(
    client: &GenesysClient,
    monitored: &[Uuid],
) -> Result<PublicQueues, StartupError> {
    let lookup = client
        .find_queues(monitored)
        .await
        .map_err(StartupError::QueueLookup)?;
    if !lookup.missing.is_empty() {
        return Err(StartupError::UnknownQueues(lookup.missing));
    }
    Ok(PublicQueues::new(
        lookup
            .found
            .into_iter()
            .map(|queue| PublicQueueInfo {
                id: queue.id,
                name: queue.name,
            })
            .collect(),
    ))
}

/// axum answers a wrong method with an empty 405; visitors get a problem body like every other
/// error (keeping `Allow`). Done on the response, not with a router-wide fallback, so the CORS
/// layers still see preflight `OPTIONS` requests.
async fn method_not_allowed_as_problem(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut problem = ApiError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        problem.headers_mut().insert(header::ALLOW, allow);
    }
    problem
}

/// Every route the service answers, with the layers that apply to all of them.
fn router(state: AppState) -> Router {
    let sandbox_routes = state
        .sandbox
        .as_ref()
        .map(|sandbox| sandbox.browser_routes())
        .unwrap_or_default();
    let public_reads = Router::new()
        .merge(queues::router())
        .merge(stats::router(state.settings.ewt_cache_ttl))
        .layer(cors::public_reads());
    let origins = cors::OriginPolicy::new(state.origins.clone());
    let callbacks = callbacks::router()
        .layer(axum::middleware::from_fn_with_state(
            origins.clone(),
            cors::refuse_foreign_origin,
        ))
        .layer(cors::callbacks(state.origins.clone()))
        .layer(axum::middleware::from_fn_with_state(
            origins,
            cors::OriginPolicy::report_refused,
        ));
    Router::new()
        .merge(public_reads)
        .merge(push::router())
        .merge(callbacks)
        .merge(health::router())
        .merge(assets::router())
        .with_state(state)
        .layer(axum::middleware::map_response(
            method_not_allowed_as_problem,
        ))
        .merge(sandbox_routes)
}
