//! The service's configuration: read once at start-up from flags and environment variables
//! (the seed's names kept), checked, and turned into typed [`Settings`].
//!
//! Every setting is both an environment variable and a flag, and `--help` describes them all.
//! Checks that need the org (does a monitored queue exist?) happen in `startup`, still before the
//! service binds its port. This module reads no files and contacts nothing.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use axum::http::HeaderValue;
use clap::Parser;
use genesys::{ClientSecret, Environment};
use uuid::Uuid;

use crate::callbacks::phone::{self, NumberRules};
use crate::callbacks::{CallbackLimits, CallbackRules};
use crate::client_address::TrustedProxies;
use crate::cluster::{ClusterSettings, RedisUrl};
use crate::hours::keeper::{HoursSettings, HoursSource};
use crate::origin::AllowedOrigins;
use crate::push::SocketLimits;
use crate::sandbox::SandboxDefaults;
use crate::telemetry::logs::LogFormat;
use phonenumber::country::Id as Region;

/// Command-line flags and environment variables, as the user wrote them.
#[derive(Parser, Clone, Debug)]
#[command(
    name = "public-stats",
    version,
    about = "Live Genesys Cloud queue statistics, chat and callbacks for anonymous web visitors.",
    long_about = "Live Genesys Cloud queue statistics, chat and callbacks for anonymous web \
                  visitors, without exposing the org's credentials.\n\nWith no \
                  PURECLOUD_CLIENT_ID/PURECLOUD_CLIENT_SECRET it runs in sandbox mode: a \
                  simulated Genesys Cloud org runs in-process and everything works locally."
)]
pub struct Args {
    /// OAuth client-credentials client ID. Without it (and the secret) the service runs in sandbox mode.
    #[arg(long, env = "PURECLOUD_CLIENT_ID")]
    pub client_id: Option<String>,

    /// OAuth client-credentials client secret.
    #[arg(long, env = "PURECLOUD_CLIENT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub client_secret: Option<ClientSecret>,

    /// Comma-separated IDs of the queues visitors may see. In sandbox mode: the demo org's queues.
    #[arg(long, env = "PURECLOUD_MONITORED_QUEUES", value_delimiter = ',', value_parser = parse_queue_id)]
    pub monitored_queues: Vec<Uuid>,

    /// Genesys Cloud region (`us_east_1`, `eu_west_1`, …) or environment host (`mypurecloud.ie`).
    #[arg(long, env = "PURECLOUD_ENVIRONMENT", default_value = "mypurecloud.com")]
    pub environment: String,

    /// Explicit API and login base URL (e.g. an external `genesys-sim` at http://127.0.0.1:9090); overrides the environment.
    #[arg(long, env = "PURECLOUD_BASE_URL")]
    pub base_url: Option<String>,

    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address to listen on.
    #[arg(long, env = "BIND_ADDRESS", default_value = "0.0.0.0")]
    pub bind_address: IpAddr,

    /// Seconds to keep an estimated wait time before asking Genesys again.
    #[arg(long, env = "CACHE_SECONDS", default_value_t = 2)]
    pub cache_seconds: u64,

    /// Comma-separated origins (e.g. https://www.example.com) of other sites whose pages may create callbacks and open the live-statistics WebSockets; `*` allows any site. The service's own pages always may.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_allowed_origin)]
    pub allowed_origins: Vec<AllowedOrigin>,

    /// Web Messaging deployment ID for the widget's chat (sandbox mode: the demo deployment).
    #[arg(long, env = "WEB_MESSAGING_DEPLOYMENT_ID")]
    pub web_messaging_deployment_id: Option<Uuid>,

    /// Directory for the callback store (a SQLite file); created at start.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Comma-separated CIDR blocks of your own reverse proxies; only they may set Forwarded / X-Forwarded-For.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// ISO region (e.g. GB) in which callback numbers without a country code are read.
    #[arg(long, env = "CALLBACK_DEFAULT_REGION", value_parser = parse_region)]
    pub callback_default_region: Option<Region>,

    /// Comma-separated ISO regions whose numbers may be called back (default: any).
    #[arg(long, env = "CALLBACK_ALLOWED_COUNTRIES", value_delimiter = ',', value_parser = parse_region)]
    pub callback_allowed_countries: Vec<Region>,

    /// Comma-separated numbers never to call back (e.g. the contact centre's own lines).
    #[arg(long, env = "CALLBACK_BLOCKED_NUMBERS", value_delimiter = ',')]
    pub callback_blocked_numbers: Vec<String>,

    /// How many days ahead a callback may be scheduled.
    #[arg(long, env = "CALLBACK_MAX_SCHEDULE_DAYS", default_value_t = 14)]
    pub callback_max_schedule_days: u16,

    /// Give up delivering a callback this long after it was accepted (e.g. 2h, 90m).
    #[arg(long, env = "CALLBACK_MAX_AGE", default_value = "2h", value_parser = parse_duration)]
    pub callback_max_age: Duration,

    /// Callback requests naming one number, per 24 hours.
    #[arg(long, env = "CALLBACK_PER_NUMBER_DAILY", default_value_t = 3)]
    pub callback_per_number_daily: u32,

    /// Callback requests from one client address per hour.
    #[arg(long, env = "CALLBACK_PER_ADDRESS_HOURLY", default_value_t = 5)]
    pub callback_per_address_hourly: u32,

    /// Callback requests from one client address per 24 hours.
    #[arg(long, env = "CALLBACK_PER_ADDRESS_DAILY", default_value_t = 20)]
    pub callback_per_address_daily: u32,

    /// Distinct numbers one client address may ask callbacks for per 24 hours.
    #[arg(long, env = "CALLBACK_NUMBERS_PER_ADDRESS_DAILY", default_value_t = 3)]
    pub callback_numbers_per_address_daily: u32,

    /// Callback requests waiting for delivery to one queue; more are refused with 503.
    #[arg(long, env = "CALLBACK_MAX_PENDING_PER_QUEUE", default_value_t = 200)]
    pub callback_max_pending_per_queue: u32,

    /// Callback requests the whole service accepts per 24 hours; more are refused with 503.
    #[arg(long, env = "CALLBACK_DAILY_LIMIT", default_value_t = 1000)]
    pub callback_daily_limit: u32,

    // Observability.
    /// Address and port of the admin listener, which serves Prometheus metrics at /metrics; keep it off the public network.
    #[arg(long, env = "ADMIN_BIND_ADDRESS", default_value = "127.0.0.1:9464")]
    pub admin_bind_address: SocketAddr,

    /// Log output: text for people, json for one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    // Serving: connections, timeouts, TLS, shutdown.
    /// Most connections open at once (HTTP and WebSocket together); a connection beyond it gets a 503 and is closed.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// How long a client may take to send a request's headers (e.g. 10s); the connection is closed after it.
    #[arg(long, env = "HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// Longest an ordinary request (not a WebSocket) may take, body included (e.g. 30s); 408 after it.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// PEM certificate chain for HTTPS on the public port (with TLS_KEY_FILE); re-read when it changes.
    #[arg(long, env = "TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,

    /// PEM private key for TLS_CERT_FILE; re-read when it changes.
    #[arg(long, env = "TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,

    /// Seconds over which WebSockets are closed at shutdown; in-flight requests get this long plus 5 s.
    #[arg(long, env = "SHUTDOWN_DRAIN_SECONDS", default_value_t = 10)]
    pub shutdown_drain_seconds: u64,

    // ---- The push WebSockets and the service's own origin ----
    /// The address visitors reach the service at (e.g. https://stats.example.com, behind a reverse proxy): pages from its origin are the service's own. Unset: only pages from a loopback (or the bound) address at the listening port are.
    #[arg(long, env = "PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<url::Url>,

    /// Live-statistics WebSockets one client address may hold open (an office behind one NAT shares an address).
    #[arg(long, env = "WS_MAX_PER_ADDRESS", default_value_t = 20)]
    pub ws_max_per_address: u32,

    /// Live-statistics WebSockets the whole service holds open; more are refused with 503.
    #[arg(long, env = "WS_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub ws_max_connections: u32,

    /// WebSocket upgrades accepted per second (steady rate), so a reconnect herd after a restart is spread out.
    #[arg(long, env = "WS_UPGRADES_PER_SECOND", default_value_t = 1000)]
    pub ws_upgrades_per_second: u32,

    /// WebSocket upgrades accepted at once above the steady rate.
    #[arg(long, env = "WS_UPGRADE_BURST", default_value_t = 200)]
    pub ws_upgrade_burst: u32,

    // ---- Clustered mode ----
    /// Redis (e.g. redis://127.0.0.1:6379/0, rediss:// for TLS) shared by several instances: one Genesys connection, one request budget, one callback store for all. Unset: this instance alone, nothing else to run.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, value_parser = RedisUrl::parse)]
    pub redis_url: Option<RedisUrl>,

    // ---- Business hours ----
    /// Architect schedule group whose hours the monitored queues keep: one ID for every queue, or comma-separated queueId=groupId pairs (a queue left out is always open). Unset: no business hours (sandbox mode: the demo org's group).
    #[arg(long, env = "PURECLOUD_SCHEDULE_GROUPS", value_parser = parse_schedule_groups)]
    pub schedule_groups: Option<GroupAssignment>,

    /// Architect emergency group that closes the queues while it is enabled: one ID for every queue with business hours, or comma-separated queueId=groupId pairs. Unset: none (sandbox mode: the demo org's group).
    #[arg(long, env = "PURECLOUD_EMERGENCY_GROUPS", value_parser = parse_emergency_groups)]
    pub emergency_groups: Option<GroupAssignment>,

    /// Seconds between two readings of the schedule and emergency groups; each costs one request per group and schedule, at low priority.
    #[arg(long, env = "HOURS_REFRESH_SECONDS", default_value_t = 60)]
    pub hours_refresh_seconds: u64,

    /// With REDIS_URL: seconds a lease lasts unrenewed: the leader's (the longest a dead leader keeps another instance from taking over its Genesys connection) and an instance's claim on a callback it is sending.
    #[arg(long, env = "LEADER_LEASE_SECONDS", default_value_t = 10)]
    pub leader_lease_seconds: u64,
}

/// `PURECLOUD_SCHEDULE_GROUPS` or `PURECLOUD_EMERGENCY_GROUPS` as written: one group for every
/// queue, or a group per queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupAssignment {
    /// Empty: as good as unset.
    Nothing,
    All(Uuid),
    /// `(queue, group)` pairs, in the order written.
    PerQueue(Vec<(Uuid, Uuid)>),
}

impl GroupAssignment {
    /// The group of `queue`, if it has one.
    fn group_of(&self, queue: Uuid) -> Option<Uuid> {
        match self {
            GroupAssignment::Nothing => None,
            GroupAssignment::All(group) => Some(*group),
            GroupAssignment::PerQueue(pairs) => pairs
                .iter()
                .find(|(named, _)| *named == queue)
                .map(|(_, group)| *group),
        }
    }

    fn queues(&self) -> Vec<Uuid> {
        match self {
            GroupAssignment::PerQueue(pairs) => pairs.iter().map(|(queue, _)| *queue).collect(),
            GroupAssignment::Nothing | GroupAssignment::All(_) => Vec::new(),
        }
    }
}

/// One entry of `ALLOWED_ORIGINS`.
#[derive(Clone, Debug)]
pub enum AllowedOrigin {
    Any,
    Exactly(HeaderValue),
}

/// Validated configuration the rest of the service works from.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub upstream: Upstream,
    /// Never empty: in sandbox mode, unless set, the demo org's queues.
    pub monitored_queues: Vec<Uuid>,
    pub ewt_cache_ttl: Duration,
    /// In sandbox mode, unless set, the demo org's deployment.
    pub web_messaging_deployment_id: Option<Uuid>,
    /// Origins, besides the service's own, whose pages may create callbacks and open WebSockets.
    pub allowed_origins: AllowedOrigins,
    /// Where the callback store lives.
    pub data_dir: PathBuf,
    pub trusted_proxies: TrustedProxies,
    pub callback_rules: CallbackRules,
    pub callback_limits: CallbackLimits,
    /// Where `/metrics` is served.
    pub admin_listen: SocketAddr,
    pub log_format: LogFormat,
    /// `PUBLIC_URL`: where visitors reach the service; its origin is the service's own.
    pub public_url: Option<url::Url>,
    pub socket_limits: SocketLimits,
    pub serving: Serving,
    /// How long shutdown spreads the WebSockets' closes over; in-flight requests get this long
    /// plus [`Serving::SHUTDOWN_GRACE`].
    pub shutdown_drain: Duration,
    /// `REDIS_URL` set: clustered mode.
    pub cluster: Option<ClusterSettings>,
    /// Which queues keep business hours, from which groups; empty sources: none do.
    pub hours: HoursSettings,
}

/// How the public port serves: limits, timeouts, TLS.
#[derive(Clone, Debug)]
pub struct Serving {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub tls: Option<TlsFiles>,
}

impl Serving {
    /// What shutdown allows beyond the drain: the last close frames to flush, the notification
    /// socket to close, the callback relay's send in flight to finish.
    pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
}

/// Where the certificate chain and its key are; both are re-read when they change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where Genesys Cloud is.
// Built once at start-up, so the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Upstream {
    /// No credentials: run the simulator in-process with its demo org.
    Sandbox,
    /// A real org (or an external simulator given by base URL).
    Genesys {
        environment: Environment,
        client_id: String,
        client_secret: ClientSecret,
    },
}

/// A setting that cannot work, named so the user can fix it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "PURECLOUD_CLIENT_SECRET is set but PURECLOUD_CLIENT_ID is not: set both, or neither for sandbox mode"
    )]
    SecretWithoutId,
    #[error(
        "PURECLOUD_CLIENT_ID is set but PURECLOUD_CLIENT_SECRET is not: set both, or neither for sandbox mode"
    )]
    IdWithoutSecret,
    #[error("PURECLOUD_MONITORED_QUEUES is empty: list the IDs of the queues visitors may see")]
    NoQueues,
    #[error("PURECLOUD_ENVIRONMENT {0:?} is neither a known region nor an environment host: {1}")]
    Environment(String, String),
    #[error("PURECLOUD_BASE_URL is not usable: {0}")]
    BaseUrl(String),
    #[error("CACHE_SECONDS must be between 1 and 3600, not {0}")]
    CacheSeconds(u64),
    #[error(
        "CALLBACK_BLOCKED_NUMBERS: {0:?} is not a valid phone number (write it with its country code, or set CALLBACK_DEFAULT_REGION)"
    )]
    BlockedNumber(String),
    #[error("CALLBACK_MAX_SCHEDULE_DAYS must be between 1 and 365, not {0}")]
    ScheduleDays(u16),
    #[error("{0} must be at least 1 (a limit of 0 would refuse every callback)")]
    ZeroLimit(&'static str),
    #[error("TLS_CERT_FILE is set but TLS_KEY_FILE is not: set both for HTTPS, or neither")]
    CertWithoutKey,
    #[error("TLS_KEY_FILE is set but TLS_CERT_FILE is not: set both for HTTPS, or neither")]
    KeyWithoutCert,
    #[error("MAX_CONNECTIONS must be between 1 and 1000000, not {0}")]
    MaxConnections(usize),
    #[error("{0} must be between 1s and 1h")]
    Timeout(&'static str),
    #[error(
        "SHUTDOWN_DRAIN_SECONDS must be at most 20, not {0}: shutdown takes it plus 5 s, and \
         orchestrators kill after 30 s by default"
    )]
    ShutdownDrain(u64),
    #[error("{0} must be at least 1 (a limit of 0 would refuse every WebSocket)")]
    ZeroSocketLimit(&'static str),
    #[error("LEADER_LEASE_SECONDS must be between 2 and 300, not {0}")]
    LeaderLease(u64),
    #[error("HOURS_REFRESH_SECONDS must be between 1 and 86400, not {0}")]
    HoursRefresh(u64),
    #[error("{setting} names queue {queue}, which is not in PURECLOUD_MONITORED_QUEUES")]
    HoursQueueNotMonitored { setting: &'static str, queue: Uuid },
    #[error(
        "PURECLOUD_EMERGENCY_GROUPS names queue {0}, which has no schedule group in \
         PURECLOUD_SCHEDULE_GROUPS: an emergency group closes a queue's business hours, so give \
         the queue a schedule group too"
    )]
    EmergencyWithoutSchedule(Uuid),
    #[error(
        "REDIS_URL is set in sandbox mode, where each instance simulates an org of its own: set \
         PURECLOUD_CLIENT_ID and PURECLOUD_CLIENT_SECRET for clustered mode, or unset REDIS_URL"
    )]
    ClusterWithoutOrg,
}

fn parse_allowed_origin(value: &str) -> Result<AllowedOrigin, String> {
    if value.trim() == "*" {
        return Ok(AllowedOrigin::Any);
    }
    parse_origin(value).map(AllowedOrigin::Exactly)
}

fn parse_public_url(value: &str) -> Result<url::Url, String> {
    let value = value.trim();
    url::Url::parse(value)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
        .ok_or_else(|| {
            format!("{value:?} is not an http(s) address like https://stats.example.com")
        })
}

/// An origin exactly as browsers send it: scheme and host (and port), no path, no trailing slash.
fn parse_origin(value: &str) -> Result<HeaderValue, String> {
    let value = value.trim();
    let url = url::Url::parse(value)
        .map_err(|_| format!("{value:?} is not an origin like https://www.example.com"))?;
    let origin = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || origin != value {
        return Err(format!(
            "{value:?} is not an origin like https://www.example.com (no path, no trailing slash)"
        ));
    }
    HeaderValue::from_str(&origin).map_err(|_| format!("{value:?} is not a valid origin"))
}

fn parse_network(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{value:?} is not an address or CIDR block like 10.0.0.0/8"))
}

fn parse_region(value: &str) -> Result<Region, String> {
    phone::region(value)
        .ok_or_else(|| format!("{value:?} is not a two-letter ISO 3166 region like GB or US"))
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value.trim())
        .map_err(|_| format!("{value:?} is not a duration like 2h or 90m"))
}

fn parse_secret(value: &str) -> Result<ClientSecret, String> {
    Ok(ClientSecret::new(value))
}

fn parse_schedule_groups(value: &str) -> Result<GroupAssignment, String> {
    parse_group_assignment(value, "schedule group")
}

fn parse_emergency_groups(value: &str) -> Result<GroupAssignment, String> {
    parse_group_assignment(value, "emergency group")
}

/// `groupId`, or `queueId=groupId,queueId=groupId…`; empty is as good as unset.
fn parse_group_assignment(value: &str, what: &str) -> Result<GroupAssignment, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(GroupAssignment::Nothing);
    }
    let id = |text: &str, what: &str| {
        Uuid::parse_str(text.trim()).map_err(|_| {
            format!(
                "{:?} is not a {what} ID (a UUID like 00000000-0000-0000-0000-000000000000)",
                text.trim()
            )
        })
    };
    if !value.contains('=') {
        return id(value, what).map(GroupAssignment::All);
    }
    let mut pairs: Vec<(Uuid, Uuid)> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (queue, group) = entry.split_once('=').ok_or_else(|| {
            format!("{entry:?} is not a queueId={what} ID pair (write one ID for every queue, or pairs only)")
        })?;
        let queue = id(queue, "queue")?;
        if pairs.iter().any(|(named, _)| *named == queue) {
            return Err(format!("queue {queue} is given more than once"));
        }
        pairs.push((queue, id(group, what)?));
    }
    Ok(GroupAssignment::PerQueue(pairs))
}

fn parse_queue_id(value: &str) -> Result<Uuid, String> {
    Uuid::parse_str(value.trim()).map_err(|_| {
        format!("{value:?} is not a queue ID (a UUID like 00000000-0000-0000-0000-000000000000)")
    })
}

impl Args {
    /// Cross-field checks; turns what the user wrote into [`Settings`].
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        if !(1..=3600).contains(&self.cache_seconds) {
            return Err(ConfigError::CacheSeconds(self.cache_seconds));
        }
        let callback_rules = self.callback_rules()?;
        let callback_limits = self.callback_limits()?;
        let serving = self.serving()?;
        if self.shutdown_drain_seconds > 20 {
            return Err(ConfigError::ShutdownDrain(self.shutdown_drain_seconds));
        }
        let socket_limits = self.socket_limits()?;
        if !(1..=86_400).contains(&self.hours_refresh_seconds) {
            return Err(ConfigError::HoursRefresh(self.hours_refresh_seconds));
        }
        if !(2..=300).contains(&self.leader_lease_seconds) {
            return Err(ConfigError::LeaderLease(self.leader_lease_seconds));
        }
        // An empty variable is as good as unset (`PURECLOUD_CLIENT_ID=` in a .env file).
        let client_id = self.client_id.filter(|id| !id.trim().is_empty());
        let client_secret = self
            .client_secret
            .filter(|secret| !secret.expose_secret().is_empty());
        let upstream = match (client_id, client_secret) {
            (None, None) => Upstream::Sandbox,
            (None, Some(_)) => return Err(ConfigError::SecretWithoutId),
            (Some(_), None) => return Err(ConfigError::IdWithoutSecret),
            (Some(client_id), Some(client_secret)) => {
                if self.monitored_queues.is_empty() {
                    return Err(ConfigError::NoQueues);
                }
                let environment = match &self.base_url {
                    Some(url) => Environment::base_url(url)
                        .map_err(|error| ConfigError::BaseUrl(error.to_string()))?,
                    None => Environment::parse(&self.environment).map_err(|error| {
                        ConfigError::Environment(self.environment.clone(), error.to_string())
                    })?,
                };
                Upstream::Genesys {
                    environment,
                    client_id,
                    client_secret,
                }
            }
        };
        if self.redis_url.is_some() && matches!(upstream, Upstream::Sandbox) {
            return Err(ConfigError::ClusterWithoutOrg);
        }
        let cluster = self.redis_url.map(|url| ClusterSettings {
            url,
            lease: Duration::from_secs(self.leader_lease_seconds),
        });
        let mut monitored_queues = dedup(self.monitored_queues);
        let mut web_messaging_deployment_id = self.web_messaging_deployment_id;
        let mut schedule_groups = self.schedule_groups;
        let mut emergency_groups = self.emergency_groups;
        if matches!(upstream, Upstream::Sandbox) {
            let demo = SandboxDefaults::demo();
            if monitored_queues.is_empty() {
                monitored_queues = demo.monitored_queues;
            }
            web_messaging_deployment_id.get_or_insert(demo.web_messaging_deployment_id);
            if let Some(group) = demo.schedule_group {
                schedule_groups.get_or_insert(GroupAssignment::All(group));
            }
            if let Some(group) = demo.emergency_group {
                emergency_groups.get_or_insert(GroupAssignment::All(group));
            }
        }
        let hours = hours_settings(
            &monitored_queues,
            &schedule_groups.unwrap_or(GroupAssignment::Nothing),
            &emergency_groups.unwrap_or(GroupAssignment::Nothing),
            Duration::from_secs(self.hours_refresh_seconds),
        )?;
        Ok(Settings {
            listen: SocketAddr::new(self.bind_address, self.port),
            upstream,
            monitored_queues,
            ewt_cache_ttl: Duration::from_secs(self.cache_seconds),
            web_messaging_deployment_id,
            allowed_origins: allowed_origins(&self.allowed_origins),
            data_dir: self.data_dir,
            trusted_proxies: TrustedProxies::new(self.trusted_proxies),
            callback_rules,
            callback_limits,
            admin_listen: self.admin_bind_address,
            log_format: self.log_format,
            serving,
            public_url: self.public_url,
            socket_limits,
            shutdown_drain: Duration::from_secs(self.shutdown_drain_seconds),
            cluster,
            hours,
        })
    }

    fn serving(&self) -> Result<Serving, ConfigError> {
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err(ConfigError::MaxConnections(self.max_connections));
        }
        let sensible = Duration::from_secs(1)..=Duration::from_secs(3600);
        for (name, value) in [
            ("HEADER_READ_TIMEOUT", self.header_read_timeout),
            ("REQUEST_TIMEOUT", self.request_timeout),
        ] {
            if !sensible.contains(&value) {
                return Err(ConfigError::Timeout(name));
            }
        }
        // An empty variable is as good as unset, as for the credentials.
        let given = |path: &Option<PathBuf>| path.clone().filter(|p| !p.as_os_str().is_empty());
        let tls = match (given(&self.tls_cert_file), given(&self.tls_key_file)) {
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::CertWithoutKey),
            (None, Some(_)) => return Err(ConfigError::KeyWithoutCert),
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        };
        Ok(Serving {
            max_connections: self.max_connections,
            header_read_timeout: self.header_read_timeout,
            request_timeout: self.request_timeout,
            tls,
        })
    }

    fn socket_limits(&self) -> Result<SocketLimits, ConfigError> {
        for (name, value) in [
            ("WS_MAX_PER_ADDRESS", self.ws_max_per_address),
            ("WS_MAX_CONNECTIONS", self.ws_max_connections),
            ("WS_UPGRADES_PER_SECOND", self.ws_upgrades_per_second),
            ("WS_UPGRADE_BURST", self.ws_upgrade_burst),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroSocketLimit(name));
            }
        }
        Ok(SocketLimits {
            per_address: self.ws_max_per_address,
            total: self.ws_max_connections,
            upgrades_per_second: self.ws_upgrades_per_second,
            upgrade_burst: self.ws_upgrade_burst,
        })
    }

    fn callback_rules(&self) -> Result<CallbackRules, ConfigError> {
        if !(1..=365).contains(&self.callback_max_schedule_days) {
            return Err(ConfigError::ScheduleDays(self.callback_max_schedule_days));
        }
        let blocked = self
            .callback_blocked_numbers
            .iter()
            .filter(|raw| !raw.trim().is_empty())
            .map(|raw| {
                phone::parse(raw, self.callback_default_region)
                    .map(|number| number.format().mode(phonenumber::Mode::E164).to_string())
                    .map_err(|_| ConfigError::BlockedNumber(raw.trim().to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(CallbackRules {
            numbers: NumberRules {
                default_region: self.callback_default_region,
                allowed_countries: self.callback_allowed_countries.clone(),
                blocked,
            },
            max_schedule_ahead: time::Duration::days(i64::from(self.callback_max_schedule_days)),
        })
    }

    fn callback_limits(&self) -> Result<CallbackLimits, ConfigError> {
        for (name, value) in [
            ("CALLBACK_PER_NUMBER_DAILY", self.callback_per_number_daily),
            (
                "CALLBACK_PER_ADDRESS_HOURLY",
                self.callback_per_address_hourly,
            ),
            (
                "CALLBACK_PER_ADDRESS_DAILY",
                self.callback_per_address_daily,
            ),
            (
                "CALLBACK_NUMBERS_PER_ADDRESS_DAILY",
                self.callback_numbers_per_address_daily,
            ),
            (
                "CALLBACK_MAX_PENDING_PER_QUEUE",
                self.callback_max_pending_per_queue,
            ),
            ("CALLBACK_DAILY_LIMIT", self.callback_daily_limit),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroLimit(name));
            }
        }
        Ok(CallbackLimits {
            per_number_daily: self.callback_per_number_daily,
            per_address_hourly: self.callback_per_address_hourly,
            per_address_daily: self.callback_per_address_daily,
            numbers_per_address_daily: self.callback_numbers_per_address_daily,
            max_pending_per_queue: self.callback_max_pending_per_queue,
            daily_limit: self.callback_daily_limit,
            pending_window: self.callback_max_age,
        })
    }
}

/// Each monitored queue's groups, in the queues' order. A pair naming a queue that is not
/// monitored is refused: it is a typo more often than not, and would silently do nothing.
fn hours_settings(
    monitored: &[Uuid],
    schedule: &GroupAssignment,
    emergency: &GroupAssignment,
    refresh: Duration,
) -> Result<HoursSettings, ConfigError> {
    for (setting, assignment) in [
        ("PURECLOUD_SCHEDULE_GROUPS", schedule),
        ("PURECLOUD_EMERGENCY_GROUPS", emergency),
    ] {
        if let Some(queue) = assignment
            .queues()
            .into_iter()
            .find(|queue| !monitored.contains(queue))
        {
            return Err(ConfigError::HoursQueueNotMonitored { setting, queue });
        }
    }
    if let GroupAssignment::PerQueue(pairs) = emergency
        && let Some((queue, _)) = pairs
            .iter()
            .find(|(queue, _)| schedule.group_of(*queue).is_none())
    {
        return Err(ConfigError::EmergencyWithoutSchedule(*queue));
    }
    let sources = monitored
        .iter()
        .filter_map(|queue| {
            let schedule_group = schedule.group_of(*queue)?;
            Some((
                *queue,
                HoursSource {
                    schedule_group,
                    emergency_group: emergency.group_of(*queue),
                },
            ))
        })
        .collect();
    Ok(HoursSettings { sources, refresh })
}

/// `*` anywhere in the list allows every origin.
fn allowed_origins(entries: &[AllowedOrigin]) -> AllowedOrigins {
    let mut only = Vec::new();
    for entry in entries {
        match entry {
            AllowedOrigin::Any => return AllowedOrigins::Any,
            AllowedOrigin::Exactly(origin) => only.push(origin.clone()),
        }
    }
    AllowedOrigins::Only(only)
}

fn dedup(mut queues: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = std::collections::HashSet::new();
    queues.retain(|id| seen.insert(*id));
    queues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, String> {
        let mut argv = vec!["public-stats"];
        argv.extend_from_slice(args);
        Args::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .into_settings()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn no_credentials_means_sandbox_on_port_8080_with_a_two_second_cache() {
        let settings = parse(&[]).unwrap();
        assert!(matches!(settings.upstream, Upstream::Sandbox));
        assert_eq!(settings.listen.port(), 8080);
        assert_eq!(settings.ewt_cache_ttl, Duration::from_secs(2));
    }

    #[test]
    fn sandbox_mode_monitors_the_demo_queues_and_chats_on_the_demo_deployment() {
        let demo = SandboxDefaults::demo();
        let settings = parse(&[]).unwrap();
        assert_eq!(settings.monitored_queues, demo.monitored_queues);
        assert!(!settings.monitored_queues.is_empty());
        assert_eq!(
            settings.web_messaging_deployment_id,
            Some(demo.web_messaging_deployment_id)
        );
        let chosen = "2a7e5d82-7b4f-4d68-8e1f-7c8b3f2d1b02";
        let settings = parse(&["--monitored-queues", chosen]).unwrap();
        assert_eq!(
            settings.monitored_queues,
            [Uuid::parse_str(chosen).unwrap()]
        );
    }

    #[test]
    fn a_secret_without_an_id_is_refused_by_name() {
        let error = parse(&["--client-secret", "s"]).unwrap_err();
        assert!(error.contains("PURECLOUD_CLIENT_ID"), "{error}");
    }

    #[test]
    fn an_empty_client_id_counts_as_missing() {
        let error = parse(&["--client-id", "", "--client-secret", "s"]).unwrap_err();
        assert!(error.contains("PURECLOUD_CLIENT_ID is not"), "{error}");
    }

    #[test]
    fn cache_seconds_must_be_sensible() {
        for bad in ["0", "3601"] {
            let error = parse(&["--cache-seconds", bad]).unwrap_err();
            assert!(error.contains("CACHE_SECONDS"), "{bad}: {error}");
        }
        assert!(parse(&["--cache-seconds", "3600"]).is_ok());
    }

    #[test]
    fn credentials_need_queues() {
        let error = parse(&["--client-id", "i", "--client-secret", "s"]).unwrap_err();
        assert!(error.contains("PURECLOUD_MONITORED_QUEUES"), "{error}");
    }

    #[test]
    fn a_malformed_queue_id_is_refused_with_the_value() {
        let error = parse(&[
            "--monitored-queues",
            "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01,sales",
        ])
        .unwrap_err();
        assert!(error.contains("\"sales\" is not a queue ID"), "{error}");
        assert!(error.contains("monitored-queues"), "{error}");
    }

    #[test]
    fn a_bad_port_is_refused() {
        let error = parse(&["--port", "70000"]).unwrap_err();
        assert!(error.contains("--port"), "{error}");
    }

    #[test]
    fn comma_separated_queues_are_parsed_and_deduplicated() {
        let a = "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01";
        let b = "2a7e5d82-7b4f-4d68-8e1f-7c8b3f2d1b02";
        let settings = parse(&[
            "--client-id",
            "i",
            "--client-secret",
            "s",
            "--monitored-queues",
            &format!("{a},{b},{a}"),
        ])
        .unwrap();
        assert_eq!(settings.monitored_queues.len(), 2);
        assert!(matches!(settings.upstream, Upstream::Genesys { .. }));
    }

    #[test]
    fn an_unknown_environment_is_refused_by_name() {
        let error = parse(&[
            "--client-id",
            "i",
            "--client-secret",
            "s",
            "--monitored-queues",
            "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01",
            "--environment",
            "not a host!",
        ])
        .unwrap_err();
        assert!(error.contains("PURECLOUD_ENVIRONMENT"), "{error}");
    }

    #[test]
    fn allowed_origins_must_be_bare_origins() {
        let settings = parse(&[
            "--allowed-origins",
            "https://www.example.com,http://localhost:3000",
        ])
        .unwrap();
        assert!(
            matches!(&settings.allowed_origins, AllowedOrigins::Only(list) if list.len() == 2),
            "{:?}",
            settings.allowed_origins
        );
        let star = parse(&["--allowed-origins", "https://www.example.com,*"]).unwrap();
        assert_eq!(star.allowed_origins, AllowedOrigins::Any);
        for bad in [
            "https://www.example.com/",
            "https://www.example.com/page",
            "www.example.com",
            "ftp://x.test",
        ] {
            let error = parse(&["--allowed-origins", bad]).unwrap_err();
            assert!(error.contains("allowed-origins"), "{bad}: {error}");
        }
    }

    #[test]
    fn callback_settings_are_read_and_checked_by_name() {
        let settings = parse(&[
            "--callback-default-region",
            "gb",
            "--callback-allowed-countries",
            "GB,IE",
            "--callback-blocked-numbers",
            "020 7946 0018,+1 317 222 2222",
            "--trusted-proxies",
            "10.0.0.0/8,192.0.2.1",
            "--callback-max-age",
            "90m",
        ])
        .unwrap();
        assert_eq!(
            settings.callback_rules.numbers.blocked,
            ["+442079460018", "+13172222222"]
        );
        assert_eq!(settings.callback_rules.numbers.allowed_countries.len(), 2);
        assert_eq!(
            settings.callback_limits.pending_window,
            Duration::from_secs(90 * 60)
        );
        assert_eq!(
            settings.callback_limits,
            CallbackLimits {
                pending_window: Duration::from_secs(90 * 60),
                ..CallbackLimits::default()
            }
        );
        for (flags, named) in [
            (
                &["--callback-blocked-numbers", "112"][..],
                "CALLBACK_BLOCKED_NUMBERS",
            ),
            (&["--callback-daily-limit", "0"][..], "CALLBACK_DAILY_LIMIT"),
            (
                &["--callback-max-schedule-days", "0"][..],
                "CALLBACK_MAX_SCHEDULE_DAYS",
            ),
            (
                &["--callback-default-region", "GBR"][..],
                "callback-default-region",
            ),
            (&["--trusted-proxies", "10.0.0.0/33"][..], "trusted-proxies"),
            (&["--callback-max-age", "soon"][..], "callback-max-age"),
        ] {
            let error = parse(flags).unwrap_err();
            assert!(error.contains(named), "{flags:?}: {error}");
        }
    }

    #[test]
    fn serving_settings_are_read_and_checked_by_name() {
        let settings = parse(&[]).unwrap();
        assert_eq!(settings.serving.max_connections, 10_000);
        assert_eq!(
            settings.serving.header_read_timeout,
            Duration::from_secs(10)
        );
        assert_eq!(settings.serving.tls, None);
        assert_eq!(settings.shutdown_drain, Duration::from_secs(10));
        let settings = parse(&[
            "--tls-cert-file",
            "/etc/tls/cert.pem",
            "--tls-key-file",
            "/etc/tls/key.pem",
            "--request-timeout",
            "5s",
        ])
        .unwrap();
        assert_eq!(
            settings.serving.tls,
            Some(TlsFiles {
                cert: "/etc/tls/cert.pem".into(),
                key: "/etc/tls/key.pem".into()
            })
        );
        assert_eq!(settings.serving.request_timeout, Duration::from_secs(5));
        for (flags, named) in [
            (&["--tls-cert-file", "c.pem"][..], "TLS_KEY_FILE"),
            (&["--tls-key-file", "k.pem"][..], "TLS_CERT_FILE"),
            (&["--max-connections", "0"][..], "MAX_CONNECTIONS"),
            (&["--header-read-timeout", "0s"][..], "HEADER_READ_TIMEOUT"),
            (&["--request-timeout", "2h"][..], "REQUEST_TIMEOUT"),
            (
                &["--shutdown-drain-seconds", "60"][..],
                "SHUTDOWN_DRAIN_SECONDS",
            ),
        ] {
            let error = parse(flags).unwrap_err();
            assert!(error.contains(named), "{flags:?}: {error}");
        }
    }

    #[test]
    fn socket_settings_are_read_and_checked_by_name() {
        let settings = parse(&[]).unwrap();
        assert_eq!(settings.socket_limits.per_address, 20);
        assert_eq!(settings.shutdown_drain, Duration::from_secs(10));
        assert!(settings.public_url.is_none());
        let settings = parse(&[
            "--public-url",
            "https://stats.example.com/",
            "--ws-max-connections",
            "5",
            "--shutdown-drain-seconds",
            "0",
        ])
        .unwrap();
        assert_eq!(settings.socket_limits.total, 5);
        assert_eq!(settings.shutdown_drain, Duration::ZERO);
        for (flags, named) in [
            (&["--ws-max-per-address", "0"][..], "WS_MAX_PER_ADDRESS"),
            (&["--ws-upgrade-burst", "0"][..], "WS_UPGRADE_BURST"),
            (
                &["--shutdown-drain-seconds", "301"][..],
                "SHUTDOWN_DRAIN_SECONDS",
            ),
            (&["--public-url", "stats.example.com"][..], "public-url"),
        ] {
            let error = parse(flags).unwrap_err();
            assert!(error.contains(named), "{flags:?}: {error}");
        }
    }

    #[test]
    fn sandbox_mode_gives_every_demo_queue_the_demo_hours() {
        let demo = SandboxDefaults::demo();
        let settings = parse(&[]).unwrap();
        assert_eq!(settings.hours.refresh, Duration::from_secs(60));
        assert_eq!(settings.hours.sources.len(), demo.monitored_queues.len());
        for ((queue, source), expected) in settings.hours.sources.iter().zip(&demo.monitored_queues)
        {
            assert_eq!(queue, expected);
            assert_eq!(Some(source.schedule_group), demo.schedule_group);
            assert_eq!(source.emergency_group, demo.emergency_group);
        }
        let none = parse(&["--schedule-groups", ""]).unwrap();
        assert!(none.hours.sources.is_empty(), "empty turns them off");
    }

    #[test]
    fn groups_are_one_for_all_or_per_queue_and_checked_by_name() {
        let (a, b) = (
            "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01",
            "2a7e5d82-7b4f-4d68-8e1f-7c8b3f2d1b02",
        );
        let (group, emergency) = (
            "4c9a7fa4-9d6b-4f8a-8a3b-9eae5b4f3d04",
            "80deb3e8-d1af-4dce-8e7f-d2e29f837108",
        );
        let real = |extra: &[&str]| {
            let mut flags = vec![
                "--client-id",
                "i",
                "--client-secret",
                "s",
                "--monitored-queues",
                "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01,2a7e5d82-7b4f-4d68-8e1f-7c8b3f2d1b02",
            ];
            flags.extend_from_slice(extra);
            parse(&flags)
        };
        assert!(real(&[]).unwrap().hours.sources.is_empty(), "unset: none");
        let all = real(&["--schedule-groups", group]).unwrap();
        assert_eq!(all.hours.sources.len(), 2);
        let pairs = format!("{b}={group}");
        let one = real(&[
            "--schedule-groups",
            &pairs,
            "--emergency-groups",
            emergency,
            "--hours-refresh-seconds",
            "300",
        ])
        .unwrap();
        assert_eq!(one.hours.refresh, Duration::from_secs(300));
        assert_eq!(
            one.hours.sources,
            [(
                Uuid::parse_str(b).unwrap(),
                HoursSource {
                    schedule_group: Uuid::parse_str(group).unwrap(),
                    emergency_group: Some(Uuid::parse_str(emergency).unwrap()),
                }
            )]
        );
        let stranger = format!("00000000-0000-4000-8000-000000000001={group}");
        let emergency_alone = format!("{a}={emergency}");
        for (flags, named) in [
            (vec!["--schedule-groups", "tuesdays"], "schedule-groups"),
            (
                vec!["--schedule-groups", &stranger],
                "PURECLOUD_SCHEDULE_GROUPS",
            ),
            (
                vec![
                    "--schedule-groups",
                    &pairs,
                    "--emergency-groups",
                    &emergency_alone,
                ],
                "PURECLOUD_EMERGENCY_GROUPS",
            ),
            (
                vec!["--hours-refresh-seconds", "0"],
                "HOURS_REFRESH_SECONDS",
            ),
        ] {
            let error = real(&flags).unwrap_err();
            assert!(error.contains(named), "{flags:?}: {error}");
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let settings = parse(&[
            "--client-id",
            "i",
            "--client-secret",
            "TOP-SECRET-SENTINEL",
            "--monitored-queues",
            "1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01",
        ])
        .unwrap();
        assert!(!format!("{settings:?}").contains("TOP-SECRET-SENTINEL"));
    }
}
