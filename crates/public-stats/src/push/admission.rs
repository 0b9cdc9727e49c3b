//! Who may open a push WebSocket, decided before the upgrade so a refusal is a plain HTTP answer
//! with a problem body: pages from the service's own origin or `ALLOWED_ORIGINS` (a request
//! without `Origin` is not from a browser page and is let through, still counted), at most
//! `WS_MAX_PER_ADDRESS` sockets per client address (429), `WS_MAX_CONNECTIONS` in all and
//! `WS_UPGRADES_PER_SECOND` new ones (503 with `Retry-After`).
//!
//! An admitted socket holds a [`Slot`] until its task ends; dropping it frees the place. This is
//! not where sockets are served (`socket`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, header};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use crate::client_address::TrustedProxies;
use crate::origin::OriginRules;
use crate::problem::ApiError;

/// The `WS_…` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketLimits {
    pub per_address: u32,
    pub total: u32,
    pub upgrades_per_second: u32,
    pub upgrade_burst: u32,
}

/// A full service suggests retrying between these many seconds from now: sockets are long-lived,
/// so places free up slowly, and spreading the retries keeps them from arriving together.
const FULL_RETRY_SECONDS: std::ops::RangeInclusive<u64> = 10..=60;

/// The admission gate. Cheap to clone.
#[derive(Clone)]
pub struct Admission(Arc<Gate>);

struct Gate {
    origins: OriginRules,
    proxies: TrustedProxies,
    limits: SocketLimits,
    upgrades: DefaultDirectRateLimiter,
    open: Mutex<Open>,
    shutdown: CancellationToken,
}

#[derive(Default)]
struct Open {
    total: u32,
    per_address: HashMap<IpAddr, u32>,
}

/// Why an upgrade was refused; the label of `public_stats_websocket_upgrades_refused_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Origin,
    PerAddress,
    Capacity,
    Rate,
    Shutdown,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::Origin => "origin",
            Refusal::PerAddress => "per_address",
            Refusal::Capacity => "capacity",
            Refusal::Rate => "rate",
            Refusal::Shutdown => "shutdown",
        }
    }
}

/// One admitted socket's place, freed when dropped.
pub struct Slot {
    gate: Arc<Gate>,
    address: IpAddr,
    path: &'static str,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.gate.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_address.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_address.remove(&self.address);
            }
        }
        drop(open);
        metrics::gauge!("public_stats_websockets_open", "path" => self.path).decrement(1.0);
    }
}

impl Admission {
    pub fn new(
        origins: OriginRules,
        proxies: TrustedProxies,
        limits: SocketLimits,
        shutdown: CancellationToken,
    ) -> Self {
        let quota = Quota::per_second(
            NonZeroU32::new(limits.upgrades_per_second).unwrap_or(NonZeroU32::MIN),
        )
        .allow_burst(NonZeroU32::new(limits.upgrade_burst).unwrap_or(NonZeroU32::MIN));
        Admission(Arc::new(Gate {
            origins,
            proxies,
            limits,
            upgrades: RateLimiter::direct(quota),
            open: Mutex::default(),
            shutdown,
        }))
    }

    /// The page's `Origin`, if any, is the service's own or allowed. Checked before anything
    /// else, also for requests that turn out not to be WebSocket handshakes, so that a page can
    /// learn with a plain `fetch` why its socket was refused.
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        match headers.get(header::ORIGIN) {
            Some(origin) if !self.0.origins.admits(origin) => {
                Err(refused(Refusal::Origin, ApiError::ForeignOrigin))
            }
            _ => Ok(()),
        }
    }

    /// A place for one more socket on `path` from the client behind `peer`, or why not.
    pub fn admit(
        &self,
        peer: SocketAddr,
        headers: &HeaderMap,
        path: &'static str,
    ) -> Result<Slot, ApiError> {
        let gate = &self.0;
        if gate.shutdown.is_cancelled() {
            return Err(refused(
                Refusal::Shutdown,
                ApiError::SocketsUnavailable {
                    retry_after: Duration::from_secs(fastrand::u64(FULL_RETRY_SECONDS)),
                },
            ));
        }
        self.check_origin(headers)?;
        let address = gate.proxies.client_address(peer, headers);
        let mut open = gate.lock();
        if open.total >= gate.limits.total {
            return Err(refused(
                Refusal::Capacity,
                ApiError::SocketsUnavailable {
                    retry_after: Duration::from_secs(fastrand::u64(FULL_RETRY_SECONDS)),
                },
            ));
        }
        let from_address = open.per_address.get(&address).copied().unwrap_or(0);
        if from_address >= gate.limits.per_address {
            return Err(refused(
                Refusal::PerAddress,
                ApiError::TooManySockets(gate.limits.per_address),
            ));
        }
        if let Err(not_until) = gate.upgrades.check() {
            return Err(refused(
                Refusal::Rate,
                ApiError::SocketsUnavailable {
                    retry_after: self
                        .herd_retry(not_until.wait_time_from(DefaultClock::default().now())),
                },
            ));
        }
        open.total += 1;
        *open.per_address.entry(address).or_insert(0) += 1;
        drop(open);
        metrics::gauge!("public_stats_websockets_open", "path" => path).increment(1.0);
        Ok(Slot {
            gate: gate.clone(),
            address,
            path,
        })
    }

    /// When a client refused by the rate limit should come back: not all at the next free token
    /// (they would be refused again together) but spread over the time the steady rate needs to
    /// admit a full house — ten seconds with the defaults.
    fn herd_retry(&self, next_token: Duration) -> Duration {
        let limits = &self.0.limits;
        let full_house = u64::from(limits.total / limits.upgrades_per_second.max(1)).max(1);
        next_token + Duration::from_secs(fastrand::u64(1..=full_house))
    }

    /// Sockets open now (for tests and logs).
    pub fn open(&self) -> u32 {
        self.0.lock().total
    }
}

impl Gate {
    /// The counts stay right even if a holder panicked: each change is one step.
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn refused(reason: Refusal, error: ApiError) -> ApiError {
    metrics::counter!("public_stats_websocket_upgrades_refused_total", "reason" => reason.label())
        .increment(1);
    error
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::origin::{AllowedOrigins, OwnOrigin};

    fn gate(limits: SocketLimits) -> Admission {
        let own = OwnOrigin::new(None, "127.0.0.1:8080".parse().unwrap());
        Admission::new(
            OriginRules::new(own, AllowedOrigins::default()),
            TrustedProxies::default(),
            limits,
            CancellationToken::new(),
        )
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 50_000)
    }

    #[test]
    fn places_are_counted_per_address_and_freed_on_drop() {
        let gate = gate(SocketLimits {
            per_address: 2,
            total: 3,
            upgrades_per_second: 100,
            upgrade_burst: 100,
        });
        let none = HeaderMap::new();
        let a1 = gate.admit(peer("192.0.2.1"), &none, "/").unwrap();
        let _a2 = gate.admit(peer("192.0.2.1"), &none, "/").unwrap();
        assert!(matches!(
            gate.admit(peer("192.0.2.1"), &none, "/"),
            Err(ApiError::TooManySockets(2))
        ));
        let _b = gate.admit(peer("192.0.2.2"), &none, "/").unwrap();
        assert!(matches!(
            gate.admit(peer("192.0.2.3"), &none, "/"),
            Err(ApiError::SocketsUnavailable { .. })
        ));
        drop(a1);
        assert_eq!(gate.open(), 2);
        assert!(gate.admit(peer("192.0.2.1"), &none, "/").is_ok());
    }

    #[test]
    fn a_foreign_origin_is_refused_and_no_origin_is_not() {
        let gate = gate(SocketLimits {
            per_address: 5,
            total: 5,
            upgrades_per_second: 100,
            upgrade_burst: 100,
        });
        let mut foreign = HeaderMap::new();
        foreign.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.test"),
        );
        assert!(matches!(
            gate.admit(peer("192.0.2.1"), &foreign, "/"),
            Err(ApiError::ForeignOrigin)
        ));
        let mut own = HeaderMap::new();
        own.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8080"),
        );
        assert!(gate.admit(peer("192.0.2.1"), &own, "/").is_ok());
        assert!(
            gate.admit(peer("192.0.2.1"), &HeaderMap::new(), "/")
                .is_ok()
        );
    }

    #[test]
    fn upgrades_beyond_the_burst_wait_for_the_rate() {
        let gate = gate(SocketLimits {
            per_address: 100,
            total: 100,
            upgrades_per_second: 1,
            upgrade_burst: 3,
        });
        let none = HeaderMap::new();
        let held: Vec<Slot> = (0..3)
            .map(|_| gate.admit(peer("192.0.2.1"), &none, "/").unwrap())
            .collect();
        match gate.admit(peer("192.0.2.1"), &none, "/") {
            Err(ApiError::SocketsUnavailable { retry_after }) => {
                assert!(retry_after >= Duration::from_secs(1), "{retry_after:?}");
            }
            other => panic!("expected the rate limit, got {:?}", other.map(|_| ())),
        }
        assert_eq!(held.len(), 3);
    }
}
