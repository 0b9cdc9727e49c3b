//! What a simulator instance looks like: its org (queues, agents, credentials, deployment) and
//! its timing (token lifetime, heartbeats, time scale). [`SimConfig::demo`] is the org that
//! `genesys-sim` and the service's sandbox mode serve; [`SimConfig::for_tests`] is the same org
//! held still, so tests set exactly the state they assert on. Parsing flags is `main.rs`'s job.

use std::net::SocketAddr;
use std::time::Duration;

use uuid::{Uuid, uuid};

use crate::model::MediaType;

/// The demo org's OAuth client id (printed at start-up, documented in the README).
pub const DEMO_CLIENT_ID: &str = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e";
/// The demo org's OAuth client secret. It guards nothing real: the simulator listens on loopback.
pub const DEMO_CLIENT_SECRET: &str = "sandbox-secret";
/// The simulated organization's id (`GET /api/v2/organizations/me`, system messages).
pub const DEMO_ORGANIZATION_ID: Uuid = uuid!("7c3f9b2e-0d41-4a8e-b6c5-2f1e8d9a0b34");
/// The simulated organization's name.
pub const DEMO_ORGANIZATION_NAME: &str = "Genesys Cloud Simulator";
/// The demo org's Web Messaging deployment id.
pub const DEMO_DEPLOYMENT_ID: Uuid = uuid!("d3b07384-d113-4ec6-a7b1-5e7f0c8a9b10");
/// The demo queues' fixed ids.
pub const DEMO_SALES_QUEUE: Uuid = uuid!("1f6f4c71-6a3e-4c57-9d0e-6b7a2e1c0a01");
pub const DEMO_SUPPORT_QUEUE: Uuid = uuid!("2a7e5d82-7b4f-4d68-8e1f-7c8b3f2d1b02");
pub const DEMO_BILLING_QUEUE: Uuid = uuid!("3b8f6e93-8c5a-4e79-9f2a-8d9c4a3e2c03");
/// The demo org's Architect schedule group: the business hours of every demo queue (its
/// schedules are made at start, see `api/architect/demo.rs`).
pub const DEMO_SCHEDULE_GROUP: Uuid = uuid!("4c9a7fa4-9d6b-4f8a-8a3b-9eae5b4f3d04");
/// The demo schedule group's time zone.
pub const DEMO_TIME_ZONE: &str = "Europe/London";
/// Its schedules: open every day, a short weekly closed period, a short one-time holiday.
pub const DEMO_OPEN_SCHEDULE: Uuid = uuid!("5dab80b5-ae7c-4a9b-9b4c-afbf6c504e05");
pub const DEMO_CLOSED_SCHEDULE: Uuid = uuid!("6ebc91c6-bf8d-4bac-8c5d-b0c07d615f06");
pub const DEMO_HOLIDAY_SCHEDULE: Uuid = uuid!("7fcda2d7-c09e-4cbd-9d6e-c1d18e726007");
/// The demo org's emergency group (disabled).
pub const DEMO_EMERGENCY_GROUP: Uuid = uuid!("80deb3e8-d1af-4dce-8e7f-d2e29f837108");

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    pub org: OrgSpec,
    /// Seed of every random choice the model makes, for reproducible runs.
    pub seed: u64,
    /// Simulated seconds per real second (1.0 = real time; 60.0 = an hour a minute).
    pub time_scale: f64,
    /// Whether interactions arrive and agents change status on their own. Off in tests, which set
    /// the state they need through the control API.
    pub traffic: bool,
    /// `expires_in` of issued access tokens.
    pub token_ttl: Duration,
    /// Serve HTTPS and WSS (a certificate made at start, see `tls.rs`) instead of HTTP and WS.
    pub tls: bool,
    /// API requests one access token may make per minute before 429s (Genesys: 300); `None`
    /// lifts the limit.
    pub rate_limit_per_minute: Option<u32>,
    /// Interval of `channel.metadata` heartbeats on notification sockets (Genesys: 30 s).
    pub heartbeat_interval: Duration,
    /// Lifetime of a notification channel (Genesys: 24 h).
    pub channel_ttl: Duration,
    /// Minimum gap between two observation events for one queue (Genesys: 1 s).
    pub observation_min_interval: Duration,
    /// How often a 30-minute aggregate event is mixed into a queue's observations topic.
    pub aggregate_interval: Duration,
    /// How long the simulated chat agent "types" before each answer.
    pub agent_typing_delay: Duration,
}

#[derive(Clone, Debug)]
pub struct OrgSpec {
    pub client_id: String,
    pub client_secret: String,
    pub deployment_id: Uuid,
    /// The queue web messaging conversations of the deployment are routed to.
    pub messaging_queue: Uuid,
    pub queues: Vec<QueueSpec>,
    /// Whether the org has the demo's Architect objects (schedule group, its schedules and the
    /// emergency group, with the `DEMO_*` ids); `false` starts with none.
    pub business_hours: bool,
}

#[derive(Clone, Debug)]
pub struct QueueSpec {
    pub id: Uuid,
    pub name: String,
    pub agents: Vec<String>,
    /// Mean arrivals per simulated hour, per media type (only when `traffic` is on).
    pub arrivals_per_hour: Vec<(MediaType, f64)>,
    /// Mean handle time in simulated seconds, per media type.
    pub handle_seconds: Vec<(MediaType, f64)>,
}

impl SimConfig {
    /// The demo org with live traffic, listening on `127.0.0.1:9090`.
    pub fn demo() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            org: OrgSpec::demo(),
            seed: 2024,
            time_scale: 1.0,
            traffic: true,
            token_ttl: Duration::from_secs(86_399),
            rate_limit_per_minute: Some(crate::api::rate_limit::GENESYS_PER_MINUTE),
            tls: false,
            heartbeat_interval: Duration::from_secs(30),
            channel_ttl: Duration::from_secs(24 * 3600),
            observation_min_interval: Duration::from_secs(1),
            aggregate_interval: Duration::from_secs(30),
            agent_typing_delay: Duration::from_millis(1500),
        }
    }

    /// The demo org held still on a free port: no traffic, so the state is what a test sets.
    pub fn for_tests() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            traffic: false,
            seed: 1,
            agent_typing_delay: Duration::from_millis(50),
            ..SimConfig::demo()
        }
    }
}

impl OrgSpec {
    pub fn demo() -> Self {
        use MediaType::*;
        let queue = |id, name: &str, agents: &[&str], scale: f64| QueueSpec {
            id,
            name: name.to_owned(),
            agents: agents.iter().map(|a| (*a).to_owned()).collect(),
            arrivals_per_hour: vec![
                (Voice, 60.0 * scale),
                (Callback, 10.0 * scale),
                (Message, 20.0 * scale),
                (Email, 6.0 * scale),
            ],
            handle_seconds: vec![
                (Voice, 240.0),
                (Callback, 300.0),
                (Message, 360.0),
                (Email, 600.0),
                (Chat, 300.0),
            ],
        };
        OrgSpec {
            client_id: DEMO_CLIENT_ID.to_owned(),
            client_secret: DEMO_CLIENT_SECRET.to_owned(),
            deployment_id: DEMO_DEPLOYMENT_ID,
            messaging_queue: DEMO_SUPPORT_QUEUE,
            business_hours: true,
            queues: vec![
                queue(
                    DEMO_SALES_QUEUE,
                    "Sales",
                    &["Ana Lima", "Ben Okafor", "Chloé Martin", "Dev Patel"],
                    1.0,
                ),
                queue(
                    DEMO_SUPPORT_QUEUE,
                    "Support",
                    &[
                        "Eva Novak",
                        "Farid Haddad",
                        "Grace Kim",
                        "Hugo Silva",
                        "Ines Costa",
                    ],
                    1.5,
                ),
                queue(
                    DEMO_BILLING_QUEUE,
                    "Billing",
                    &["Jon Berg", "Kai Tanaka"],
                    0.5,
                ),
            ],
        }
    }
}
