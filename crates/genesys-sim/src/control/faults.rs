//! Fault injection: rules that make a route (or every non-control route) slow, failing, garbled
//! or silent, so tests can exercise a client's retries, timeouts and error handling.
//!
//! This file holds the rules and which request a rule applies to; the middleware in `mod.rs`
//! applies them. It is not a rate limiter: a 429 here is injected, never earned.

use std::time::Duration;

use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

/// `POST /__sim/faults` body. Everything but `route` is optional.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// `"METHOD /path/{template}"` exactly as the route is registered, or `"*"`.
    pub route: String,
    pub status: Option<u16>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub hang: bool,
    #[serde(default)]
    pub malformed: bool,
    /// How many matching requests the fault applies to; absent = until cleared.
    pub times: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultSpecError {
    #[error("route must be \"*\" or \"METHOD /path\", got {0:?}")]
    Route(String),
    #[error("status {0} is not an HTTP status code")]
    Status(u16),
    #[error("times must be at least 1")]
    Times,
}

/// What a matching request gets, decided once when it arrives.
#[derive(Clone, Debug)]
pub struct Effect {
    pub delay: Option<Duration>,
    pub hang: bool,
    /// `Some(status)` for a body that is not JSON.
    pub malformed: Option<StatusCode>,
    /// An error answer instead of the real one.
    pub status: Option<StatusCode>,
    pub retry_after: Option<u64>,
}

struct Fault {
    id: Uuid,
    route: String,
    effect: Effect,
    remaining: Option<u32>,
}

#[derive(Default)]
pub struct Faults {
    rules: Vec<Fault>,
}

impl FaultSpec {
    fn validate(self) -> Result<(String, Effect, Option<u32>), FaultSpecError> {
        let route = normalize_route(&self.route)
            .ok_or_else(|| FaultSpecError::Route(self.route.clone()))?;
        let status = self.status.map(parse_status).transpose()?;
        if self.times == Some(0) {
            return Err(FaultSpecError::Times);
        }
        let effect = Effect {
            delay: self
                .delay_ms
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis),
            hang: self.hang,
            malformed: self.malformed.then_some(status.unwrap_or(StatusCode::OK)),
            status,
            retry_after: self.retry_after,
        };
        Ok((route, effect, self.times))
    }
}

fn parse_status(code: u16) -> Result<StatusCode, FaultSpecError> {
    StatusCode::from_u16(code)
        .ok()
        .filter(|s| (100..600).contains(&s.as_u16()))
        .ok_or(FaultSpecError::Status(code))
}

/// `"get  /a/{b}"` → `"GET /a/{b}"`; `"*"` stays; anything else is rejected.
fn normalize_route(route: &str) -> Option<String> {
    let route = route.trim();
    if route == "*" {
        return Some(route.to_owned());
    }
    let (method, path) = route.split_once(char::is_whitespace)?;
    let path = path.trim();
    let valid_method = !method.is_empty() && method.chars().all(|c| c.is_ascii_alphabetic());
    (valid_method && path.starts_with('/'))
        .then(|| format!("{} {path}", method.to_ascii_uppercase()))
}

impl Faults {
    pub fn add(&mut self, spec: FaultSpec) -> Result<Uuid, FaultSpecError> {
        let (route, effect, remaining) = spec.validate()?;
        let id = Uuid::new_v4();
        self.rules.push(Fault {
            id,
            route,
            effect,
            remaining,
        });
        Ok(id)
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The effect for a request to `route`: the oldest rule that matches, used up by one.
    pub fn take(&mut self, route: &str) -> Option<Effect> {
        let index = self
            .rules
            .iter()
            .position(|f| f.route == "*" || f.route == route)?;
        let fault = &mut self.rules[index];
        let effect = fault.effect.clone();
        if let Some(remaining) = fault.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                tracing::debug!(id = %fault.id, "fault used up");
                self.rules.remove(index);
            }
        }
        Some(effect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(route: &str, times: Option<u32>) -> FaultSpec {
        FaultSpec {
            route: route.to_owned(),
            status: Some(503),
            retry_after: None,
            delay_ms: None,
            hang: false,
            malformed: false,
            times,
        }
    }

    #[test]
    fn routes_are_normalized_and_bad_ones_rejected() {
        assert_eq!(normalize_route("get /a/{b}").as_deref(), Some("GET /a/{b}"));
        assert_eq!(normalize_route("*").as_deref(), Some("*"));
        assert!(normalize_route("/a").is_none());
        assert!(normalize_route("GET a").is_none());
    }

    #[test]
    fn times_are_counted_down_and_the_rule_removed() {
        let mut faults = Faults::default();
        faults.add(spec("GET /x", Some(2))).expect("valid");
        assert!(faults.take("GET /x").is_some());
        assert!(faults.take("GET /y").is_none());
        assert!(faults.take("GET /x").is_some());
        assert!(faults.take("GET /x").is_none());
    }

    #[test]
    fn zero_times_and_bad_status_are_rejected() {
        let mut faults = Faults::default();
        assert!(matches!(
            faults.add(spec("*", Some(0))),
            Err(FaultSpecError::Times)
        ));
        let bad = FaultSpec {
            status: Some(42),
            ..spec("*", None)
        };
        assert!(matches!(faults.add(bad), Err(FaultSpecError::Status(42))));
    }
}
