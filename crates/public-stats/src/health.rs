//! Liveness and readiness for orchestrators and load balancers.
//!
//! `/healthz` answers 200 while the process runs. `/readyz` means "can serve": 200 from the
//! moment the port serves until shutdown begins, 503 before and after. A Genesys outage does not
//! take an instance out — every replica would leave the load balancer together although each can
//! still serve the last known numbers, marked stale, and accept callbacks for later delivery. The
//! degradation is in the body instead: whether the notification stream is connected, since when
//! it is down, how old the data is.
//!
//! In clustered mode the body also says whether this instance is the leader (holds the Genesys
//! stream) and whether Redis is reachable, since when not. A Redis outage is a degradation too,
//! not a reason to leave the load balancer: every instance keeps serving its last known
//! numbers, marked stale, and keeps its WebSocket clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::cluster::Cluster;
use crate::stats::{Freshness, LiveStats};

/// Where the service is in its life, as `/readyz` reports it. Cheap to clone.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicU8>);

/// The phases, in order; never goes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Starting,
    Serving,
    Stopping,
}

impl Readiness {
    const STARTING: u8 = 0;
    const SERVING: u8 = 1;
    const STOPPING: u8 = 2;

    pub fn phase(&self) -> Phase {
        match self.0.load(Ordering::Acquire) {
            Self::STARTING => Phase::Starting,
            Self::SERVING => Phase::Serving,
            _ => Phase::Stopping,
        }
    }

    /// The port serves. Does nothing once stopping.
    pub fn serving(&self) {
        let _ = self.0.compare_exchange(
            Self::STARTING,
            Self::SERVING,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Shutdown has begun: load balancers should send nothing new.
    pub fn stopping(&self) {
        self.0.store(Self::STOPPING, Ordering::Release);
    }
}

pub fn router<S>() -> Router<S>
where
    LiveStats: FromRef<S>,
    Readiness: FromRef<S>,
    Option<Cluster>: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(ready))
}

/// The `/readyz` body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadyBody {
    ready: bool,
    phase: Phase,
    /// Serving, but from stale data (the notification stream is down), or, clustered, without
    /// Redis.
    degraded: bool,
    stream: StreamHealth,
    data: DataHealth,
    /// Clustered mode only: this instance holds the leader lease and the Genesys stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<bool>,
    /// Clustered mode only: the link to Redis.
    #[serde(skip_serializing_if = "Option::is_none")]
    redis: Option<RedisHealth>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RedisHealth {
    reachable: bool,
    /// Since when Redis has been out of reach (`null` while reachable).
    #[serde(with = "time::serde::rfc3339::option")]
    down_since: Option<OffsetDateTime>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamHealth {
    connected: bool,
    /// When the stream was last connected with current data (`null`: connected, or never yet).
    #[serde(with = "time::serde::rfc3339::option")]
    down_since: Option<OffsetDateTime>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataHealth {
    stale: bool,
    /// When the observations were last known current (`null`: never yet).
    #[serde(with = "time::serde::rfc3339::option")]
    as_of: Option<OffsetDateTime>,
    age_seconds: Option<u64>,
}

async fn ready(
    State(readiness): State<Readiness>,
    State(live): State<LiveStats>,
    State(cluster): State<Option<Cluster>>,
) -> (StatusCode, Json<ReadyBody>) {
    let phase = readiness.phase();
    let ready = phase == Phase::Serving;
    let view = live.view();
    let (stream, data) = match view.freshness() {
        Freshness::Fresh => (
            StreamHealth {
                connected: true,
                down_since: None,
            },
            DataHealth {
                stale: false,
                as_of: Some(OffsetDateTime::now_utc()),
                age_seconds: Some(0),
            },
        ),
        Freshness::Stale { as_of } => (
            StreamHealth {
                connected: false,
                down_since: as_of.map(|stamp| stamp.utc()),
            },
            DataHealth {
                stale: true,
                as_of: as_of.map(|stamp| stamp.utc()),
                age_seconds: as_of.map(|stamp| stamp.age_seconds()),
            },
        ),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let redis = cluster.map(|cluster| RedisHealth {
        reachable: cluster.is_reachable(),
        down_since: cluster.unreachable_since(),
    });
    let body = ReadyBody {
        ready,
        phase,
        degraded: !stream.connected || redis.as_ref().is_some_and(|redis| !redis.reachable),
        stream,
        data,
        leader: live.is_leader(),
        redis,
    };
    (status, Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_goes_forward_only() {
        let readiness = Readiness::default();
        assert_eq!(readiness.phase(), Phase::Starting);
        readiness.serving();
        assert_eq!(readiness.phase(), Phase::Serving);
        readiness.stopping();
        readiness.serving();
        assert_eq!(readiness.phase(), Phase::Stopping);
    }
}
