//! Building and running the service: the one place that wires settings, the Genesys client (or
//! the sandbox simulator), the live statistics and the HTTP routes together.
//!
//! [`Application::build`] does everything that can fail because of configuration — resolving the
//! monitored queues and reading the business hours' groups against the org included — before it
//! binds the port, so a misconfigured service never starts listening. Tests use the same path with port 0.
//!
//! [`Application::run_until`] serves (the loop is `serve`) and shuts down in order: readiness
//! turns 503, the port stops accepting, connections finish their request in flight, WebSockets
//! and the notification stream close through the shutdown token, all within
//! `SHUTDOWN_DRAIN_SECONDS` plus a few seconds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use genesys::notifications::stream::StreamConfig;
use genesys::{ClientConfig, GenesysClient};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::callbacks::{
    CallbackBackend, CallbackDesk, CallbackStore, Relay, RelayWaker, SharedStore,
};
use crate::cluster::Cluster;
use crate::cluster::budget::SharedBudget;
use crate::config::{Serving, Settings, Upstream};
use crate::health::Readiness;
use crate::hours::keeper::{HoursKeeper, HoursLoadError};
use crate::origin::{OriginRules, OwnOrigin};
use crate::problem::ApiError;
use crate::queues::{PublicQueueInfo, PublicQueues};
use crate::sandbox::Sandbox;
use crate::serve::{ServeOptions, limits, tls};
use crate::state::{AppState, Inner};
use crate::stats::{EwtCache, LiveStats, QueueFeeds, RootFrames};
use crate::{
    assets, callbacks, cors, health, openapi, push, queues, security_headers, serve, stats,
    telemetry,
};

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
    #[error("TLS_CERT_FILE / TLS_KEY_FILE: {0}")]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// Names the setting (`PURECLOUD_SCHEDULE_GROUPS`, `PURECLOUD_EMERGENCY_GROUPS`).
    #[error(transparent)]
    Hours(#[from] HoursLoadError),
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
    /// `/metrics`, on `ADMIN_BIND_ADDRESS`.
    admin_listener: TcpListener,
    admin_router: Router,
    tls: Option<TlsAcceptor>,
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
        // First: what happens from here on (the org check, the stream connecting) is counted.
        let metrics = telemetry::metrics::handle();
        let shutdown = CancellationToken::new();
        // Stops what starts before the build is done if the build fails.
        let unbuilt = shutdown.clone().drop_guard();
        let tasks = TaskTracker::new();
        // Before the client: in clustered mode the client spends the budget kept in Redis.
        let cluster = match &settings.cluster {
            Some(cluster) => Some(Cluster::connect(cluster).await?),
            None => None,
        };
        let (sandbox, client_config) = upstream(&settings.upstream).await?;
        let mut client_config = adjust_client(client_config);
        if let Some(cluster) = &cluster
            && client_config.request_budget.is_none()
        {
            let budget = SharedBudget::start(
                cluster.clone(),
                client_config.budget,
                shutdown.clone(),
                &tasks,
            )
            .await;
            client_config.request_budget = Some(budget);
        }
        let ewt_calls_per_minute = ewt_share(&client_config);
        let client = GenesysClient::new(client_config).map_err(StartupError::Client)?;
        let queues = resolve_queues(&client, &settings.monitored_queues).await?;
        let hours = load_hours(&client, &settings).await?;
        let tls = settings
            .serving
            .tls
            .as_ref()
            .map(tls::acceptor)
            .transpose()?;
        let live = match &cluster {
            Some(cluster) => LiveStats::start_clustered(
                client.clone(),
                queues.ids(),
                StreamConfig::default(),
                cluster.clone(),
                shutdown.clone(),
                &tasks,
            ),
            None => LiveStats::start(client.clone(), queues.ids(), shutdown.clone(), &tasks),
        };
        let ewt = match &cluster {
            Some(cluster) => EwtCache::clustered(
                client.clone(),
                settings.ewt_cache_ttl,
                ewt_calls_per_minute,
                cluster.clone(),
            ),
            None => EwtCache::new(client.clone(), settings.ewt_cache_ttl, ewt_calls_per_minute),
        };
        hours.start(client.clone(), shutdown.clone(), &tasks);
        let root_frames = RootFrames::start(&live, &hours, shutdown.clone(), &tasks);
        let feeds = QueueFeeds::new(
            live.clone(),
            ewt.clone(),
            hours.clone(),
            shutdown.clone(),
            tasks.clone(),
        );
        let callbacks =
            start_callbacks(&settings, client, cluster.as_ref(), &shutdown, &tasks).await?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|error| StartupError::Bind(settings.listen, error))?;
        let admin_listener = TcpListener::bind(settings.admin_listen)
            .await
            .map_err(|error| StartupError::Bind(settings.admin_listen, error))?;
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
            hours,
            feeds,
            root_frames,
            callbacks,
            origins,
            sockets,
            sandbox: sandbox.map(Arc::new),
            cluster,
            shutdown,
            tasks,
            readiness: Readiness::default(),
        });
        let router = router(state.clone());
        let router = telemetry::instrument(router, state.settings.trusted_proxies.clone());
        telemetry::metrics::spawn_upkeep(metrics.clone(), state.shutdown.clone(), &state.tasks);
        unbuilt.disarm();
        Ok(Application {
            listener,
            router,
            state,
            admin_listener,
            admin_router: telemetry::metrics::admin_router(metrics),
            tls,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.listen)
    }

    /// Where `/metrics` is served (the port chosen when `ADMIN_BIND_ADDRESS` asked for port 0).
    pub fn local_admin_addr(&self) -> SocketAddr {
        self.admin_listener
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.admin_listen)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Whether the port speaks TLS (`TLS_CERT_FILE`).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `stop` is cancelled, then shuts down: readiness turns 503 and the port stops
    /// accepting at once; requests in flight finish, WebSockets are closed (1012) and the
    /// notification stream and callback relay stop, within `SHUTDOWN_DRAIN_SECONDS` + 5 s.
    pub async fn run_until(self, stop: CancellationToken) -> std::io::Result<()> {
        let state = self.state.clone();
        telemetry::metrics::serve_admin(self.admin_listener, self.admin_router, stop.clone());
        let serving = &state.settings.serving;
        let options = ServeOptions {
            max_connections: serving.max_connections,
            header_read_timeout: serving.header_read_timeout,
            tls: self.tls,
        };
        state.readiness.serving();
        let connections = serve::serve(self.listener, self.router, options, stop).await;
        state.readiness.stopping();
        let began = Instant::now();
        tracing::info!("shutting down: no new connections; finishing requests and closing sockets");
        // Connections finish their request in flight (hyper's graceful shutdown); upgraded ones
        // are no longer hyper's, and end with the tasks through the shutdown token.
        state.shutdown.cancel();
        state.tasks.close();
        let limit = state.settings.shutdown_drain + Serving::SHUTDOWN_GRACE;
        let drained = tokio::time::timeout(limit, async {
            tokio::join!(connections.finish(), state.tasks.wait());
        })
        .await;
        match drained {
            Ok(()) => tracing::info!(elapsed = ?began.elapsed(), "shut down cleanly"),
            Err(_) => tracing::warn!(
                ?limit,
                "shutdown deadline reached; the connections and tasks still open are dropped"
            ),
        }
        Ok(())
    }
}

/// The estimated wait times' share of the request budget, in calls a minute: half, so visitors
/// asking for them, whatever they ask, leave the other half to the notification stream's
/// snapshots and to callbacks. In clustered mode both are shared by the instances.
fn ewt_share(client: &ClientConfig) -> u32 {
    client.budget.per_minute / 2
}

/// Opens the callback store and starts the relay that delivers what it holds (also what an
/// earlier run accepted and did not deliver). In clustered mode the store is Redis, shared with
/// the other instances; what this instance accepted in `DATA_DIR` before it is still delivered.
async fn start_callbacks(
    settings: &Settings,
    client: GenesysClient,
    cluster: Option<&Cluster>,
    shutdown: &CancellationToken,
    tasks: &TaskTracker,
) -> Result<CallbackDesk, StartupError> {
    crate::callbacks::phone::load_metadata();
    let store = match cluster {
        Some(cluster) => CallbackBackend::Shared(SharedStore::new(cluster.clone())),
        None => CallbackBackend::Local(CallbackStore::open(&settings.data_dir).await?),
    };
    let max_age = settings.callback_limits.pending_window;
    if cluster.is_some()
        && let Some(earlier) = CallbackStore::open_if_pending(&settings.data_dir).await?
    {
        let relay = Relay {
            store: CallbackBackend::Local(earlier),
            client: client.clone(),
            waker: RelayWaker::default(),
            max_age,
        };
        tasks.spawn(relay.run(shutdown.clone()));
    }
    let waker = RelayWaker::default();
    let relay = Relay {
        store: store.clone(),
        client,
        waker: waker.clone(),
        max_age,
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
    let lookup = find_queues_within_budget(client, monitored)
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

/// The configured schedule and emergency groups, read before the service binds: a group the org
/// does not have stops start-up with the setting named. The reads wait for the request budget as
/// the queue check does.
async fn load_hours(
    client: &GenesysClient,
    settings: &Settings,
) -> Result<HoursKeeper, StartupError> {
    if settings.hours.sources.is_empty() {
        return Ok(HoursKeeper::none());
    }
    Ok(HoursKeeper::load(client, &settings.hours, STARTUP_CHECK_PATIENCE).await?)
}

/// How long start-up waits for the request budget before giving up on a check.
const STARTUP_CHECK_PATIENCE: Duration = Duration::from_secs(60);

/// The queue check, waiting while the request budget is spent: in clustered mode the budget is
/// the deployment's, and an instance restarting while the others spend it (a burst of callback
/// deliveries) must wait its turn, not fail to start and be restarted in a loop.
async fn find_queues_within_budget(
    client: &GenesysClient,
    monitored: &[Uuid],
) -> Result<genesys::QueueLookup, genesys::Error> {
    let deadline = tokio::time::Instant::now() + STARTUP_CHECK_PATIENCE;
    genesys::budget::in_turn(deadline, || client.find_queues(monitored)).await
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
    let request_timeout = state.settings.serving.request_timeout;
    let sandbox_routes = state
        .sandbox
        .as_ref()
        .map(|sandbox| sandbox.browser_routes())
        .unwrap_or_default();
    let file_store = security_headers::FileStore::new(
        state
            .sandbox
            .as_ref()
            .map(|sandbox| sandbox.simulator().upload_base_url()),
    );
    let public_reads = Router::new()
        .merge(queues::router())
        .merge(stats::router(state.settings.ewt_cache_ttl))
        .layer(cors::public_reads());
    let origins = cors::OriginPolicy::new(state.origins.clone());
    let callbacks = callbacks::router()
        .layer(axum::middleware::map_response(security_headers::no_store))
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
        .merge(openapi::router())
        .merge(assets::router())
        .with_state(state)
        .layer(axum::middleware::map_response(
            method_not_allowed_as_problem,
        ))
        .merge(sandbox_routes)
        // WebSockets are untouched by the timeout: the handler answers the upgrade at once, and
        // the socket lives on in a task of its own.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(limits::enforce))
        .layer(axum::middleware::from_fn_with_state(
            file_store,
            security_headers::everywhere,
        ))
}
