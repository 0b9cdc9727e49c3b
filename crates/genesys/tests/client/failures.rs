//! Every failure mode the transport handles, injected with the simulator's faults: 429 and its
//! Retry-After gate, 5xx retries (idempotent calls only), connection refused, timeouts, malformed
//! and oversized bodies, redirects and the client's own request budget.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Result;
use genesys::budget::Take;
use genesys::{BudgetConfig, CreateCallback, Error, Priority, RequestBudget, RetryPolicy};
use genesys_sim::config::{DEMO_BILLING_QUEUE, DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE};
use serde_json::json;
use tokio::time::Instant;

use crate::helpers::{
    CREATE_CALLBACK, EWT, MEDIA_EWT, OBSERVATIONS, QUEUES, Sim, closed_port, fast_config,
};

fn gap_ms(sim_log: &crate::helpers::RequestLog, route: &str) -> u64 {
    let entries = sim_log.entries_for(route);
    entries[entries.len() - 1].at_ms - entries[0].at_ms
}

#[tokio::test]
async fn a_429_is_retried_no_sooner_than_retry_after() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "status": 429, "retryAfter": 1, "times": 1}))
        .await?;
    sim.client().estimated_wait_time(DEMO_SALES_QUEUE).await?;
    let log = sim.requests().await?;
    assert_eq!(log.statuses_for(EWT), [Some(429), Some(200)]);
    assert!(
        gap_ms(&log, EWT) >= 1_000,
        "retried after {} ms",
        gap_ms(&log, EWT)
    );
    Ok(())
}

#[tokio::test]
async fn a_call_during_the_retry_after_window_waits_and_sends_nothing_early() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "status": 429, "retryAfter": 1, "times": 1}))
        .await?;
    // No retries: the first call gives up at once, the second meets the endpoint's gate.
    let client = sim.client_with(|config| config.retry.max_attempts = 1);
    let first = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(
        matches!(first, Error::RateLimited { retry_after } if retry_after == Duration::from_secs(1)),
        "{first:?}"
    );
    client.estimated_wait_time(DEMO_SUPPORT_QUEUE).await?;
    let log = sim.requests().await?;
    assert_eq!(log.statuses_for(EWT), [Some(429), Some(200)]);
    assert!(
        gap_ms(&log, EWT) >= 1_000,
        "second request after {} ms",
        gap_ms(&log, EWT)
    );
    Ok(())
}

#[tokio::test]
async fn a_retry_after_longer_than_the_call_may_wait_fails_fast_for_that_endpoint_only()
-> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "status": 429, "retryAfter": 30, "times": 1}))
        .await?;
    let client = sim.client();
    let started = Instant::now();
    for queue in [DEMO_SALES_QUEUE, DEMO_SUPPORT_QUEUE, DEMO_BILLING_QUEUE] {
        let error = client.estimated_wait_time(queue).await.unwrap_err();
        assert!(
            matches!(error, Error::RateLimited { retry_after } if retry_after > Duration::from_secs(25)),
            "{error:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(1), "failed fast");
    client
        .estimated_wait_time_for(DEMO_SALES_QUEUE, genesys::EwtMediaType::Call)
        .await?;
    let log = sim.requests().await?;
    assert_eq!(
        log.count(EWT),
        1,
        "nothing more was sent to the rate-limited endpoint"
    );
    assert_eq!(log.count(MEDIA_EWT), 1, "other endpoints are not gated");
    Ok(())
}

#[tokio::test]
async fn a_429_without_retry_after_waits_the_default_three_seconds() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "status": 429, "times": 1}))
        .await?;
    let client = sim.client_with(|config| config.retry.max_retry_after = Duration::from_secs(1));
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::RateLimited { retry_after } if retry_after == genesys::DEFAULT_RETRY_AFTER),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn server_errors_are_retried_for_reads() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "status": 503, "times": 2}))
        .await?;
    sim.fault(json!({"route": OBSERVATIONS, "status": 500, "times": 1}))
        .await?;
    let client = sim.client();
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    client.query_queue_observations(&[DEMO_SALES_QUEUE]).await?;
    let log = sim.requests().await?;
    assert_eq!(log.statuses_for(EWT), [Some(503), Some(503), Some(200)]);
    assert_eq!(log.statuses_for(OBSERVATIONS), [Some(500), Some(200)]);
    Ok(())
}

#[tokio::test]
async fn server_errors_stop_after_max_attempts_and_501_is_never_retried() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "status": 502})).await?;
    sim.fault(json!({"route": QUEUES, "status": 501})).await?;
    let client = sim.client();
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Api { status, .. } if status.as_u16() == 502),
        "{error:?}"
    );
    let error = client.list_queues().await.unwrap_err();
    assert!(
        matches!(&error, Error::Api { status, .. } if status.as_u16() == 501),
        "{error:?}"
    );
    let log = sim.requests().await?;
    assert_eq!((log.count(EWT), log.count(QUEUES)), (3, 1));
    Ok(())
}

#[tokio::test]
async fn callback_creation_is_not_retried_after_a_server_error() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": CREATE_CALLBACK, "status": 503, "times": 1}))
        .await?;
    let error = sim
        .client()
        .create_callback(&CreateCallback::new(DEMO_SALES_QUEUE, "+15550001111"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Api { status, .. } if status.as_u16() == 503),
        "{error:?}"
    );
    assert_eq!(sim.count(CREATE_CALLBACK).await?, 1);
    Ok(())
}

#[tokio::test]
async fn callback_creation_is_retried_after_a_429() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": CREATE_CALLBACK, "status": 429, "retryAfter": 1, "times": 1}))
        .await?;
    sim.client()
        .create_callback(&CreateCallback::new(DEMO_SALES_QUEUE, "+15550001111"))
        .await?;
    let log = sim.requests().await?;
    assert_eq!(log.statuses_for(CREATE_CALLBACK), [Some(429), Some(200)]);
    assert_eq!(log.callbacks.len(), 1, "exactly one callback created");
    Ok(())
}

#[tokio::test]
async fn callback_creation_is_retried_when_the_connection_was_refused() -> Result<()> {
    // A first simulator hands out a token, then goes away: the callback POST itself meets a closed
    // port, where nothing can have been sent, so repeating it is safe.
    let first = Sim::start().await?;
    let port = first.sim.addr().port();
    let mut config = fast_config(&first.sim.base_url());
    config.retry = RetryPolicy {
        max_attempts: 8,
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(1),
    };
    let client = genesys::GenesysClient::new(config)?;
    client.access_token().await?;
    first.sim.shutdown().await;
    let creation = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .create_callback(&CreateCallback::new(DEMO_SALES_QUEUE, "+15550002222"))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = Sim::start_with(|config| config.listen = ([127, 0, 0, 1], port).into()).await?;
    let created = creation.await?;
    assert!(created.is_ok(), "{created:?}");
    let log = second.requests().await?;
    // The second simulator does not know the first one's token: 401, re-authentication, created.
    assert_eq!(log.statuses_for(CREATE_CALLBACK), [Some(401), Some(200)]);
    assert_eq!(log.callbacks.len(), 1);
    Ok(())
}

#[tokio::test]
async fn connection_refused_is_a_connect_error_after_the_retries() -> Result<()> {
    let port = closed_port()?;
    let client = genesys::GenesysClient::new(fast_config(&format!("http://127.0.0.1:{port}")))?;
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect(_)), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn a_hung_read_times_out_and_is_retried() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "hang": true, "times": 1}))
        .await?;
    let client = sim.client_with(|config| config.request_timeout = Duration::from_millis(300));
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    assert_eq!(sim.requests().await?.statuses_for(EWT), [None, Some(200)]);
    Ok(())
}

#[tokio::test]
async fn a_slow_read_times_out_with_a_typed_error_once_retries_are_spent() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "delayMs": 1_500})).await?;
    let client = sim.client_with(|config| {
        config.request_timeout = Duration::from_millis(300);
        config.retry.max_attempts = 2;
    });
    let started = Instant::now();
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1_400),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(sim.count(EWT).await?, 2);
    Ok(())
}

#[tokio::test]
async fn a_hung_callback_creation_times_out_and_is_not_repeated() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": CREATE_CALLBACK, "hang": true}))
        .await?;
    let client = sim.client_with(|config| config.request_timeout = Duration::from_millis(300));
    let error = client
        .create_callback(&CreateCallback::new(DEMO_SALES_QUEUE, "+15550003333"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout), "{error:?}");
    assert_eq!(sim.count(CREATE_CALLBACK).await?, 1);
    Ok(())
}

#[tokio::test]
async fn a_malformed_body_is_a_decode_error_not_a_panic() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": OBSERVATIONS, "malformed": true, "times": 1}))
        .await?;
    sim.fault(json!({"route": EWT, "malformed": true, "status": 500, "times": 1}))
        .await?;
    let client = sim.client();
    let error = client
        .query_queue_observations(&[DEMO_SALES_QUEUE])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    // A garbled error body is still a typed error (here retried away: 500 on a read).
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    sim.fault(json!({"route": EWT, "malformed": true, "status": 404, "times": 1}))
        .await?;
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Api { status, body: None } if status.as_u16() == 404),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client_with(|config| config.max_body_bytes = 64);
    let error = client.list_queues().await.unwrap_err();
    assert!(
        matches!(error, Error::BodyTooLarge { limit: 64 }),
        "{error:?}"
    );
    let roomy = sim.client();
    assert_eq!(
        roomy.list_queues().await?.len(),
        3,
        "the same listing fits a normal cap"
    );
    Ok(())
}

#[tokio::test]
async fn a_redirect_is_an_error_and_is_not_followed() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "status": 302, "times": 1}))
        .await?;
    let error = sim
        .client()
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Redirect { status } if status.as_u16() == 302),
        "{error:?}"
    );
    assert_eq!(sim.count(EWT).await?, 1, "the Location was not requested");
    Ok(())
}

#[tokio::test]
async fn an_exhausted_budget_fails_statistics_fast_but_lets_a_callback_through() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client_with(|config| {
        config.budget = BudgetConfig {
            per_minute: 1,
            burst: 3,
            high_priority_reserve: 1,
            normal_priority_reserve: 0,
            high_priority_max_wait: Duration::from_millis(100),
        }
    });
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    let started = Instant::now();
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BudgetExhausted), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "low priority does not queue"
    );
    client
        .create_callback(&CreateCallback::new(DEMO_SALES_QUEUE, "+15550004444"))
        .await?;
    let error = client
        .create_callback(&CreateCallback::new(DEMO_SALES_QUEUE, "+15550005555"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::BudgetExhausted),
        "high priority waits only a bounded time: {error:?}"
    );
    let log = sim.requests().await?;
    assert_eq!((log.count(EWT), log.callbacks.len()), (2, 1));
    let _ = Priority::High;
    Ok(())
}

#[tokio::test]
async fn an_absurd_retry_after_is_an_error_not_a_panic() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(json!({"route": EWT, "status": 429, "retryAfter": u64::MAX, "times": 1}))
        .await?;
    let client = sim.client_with(|config| config.retry.max_attempts = 1);
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    // The endpoint stays closed (for at most an hour), and other endpoints are unaffected.
    assert!(client.estimated_wait_time(DEMO_SALES_QUEUE).await.is_err());
    assert!(client.list_queues().await.is_ok());
    Ok(())
}

#[tokio::test]
async fn a_budget_above_genesyss_limit_meets_its_429_and_stops_sending() -> Result<()> {
    // The simulator enforces Genesys's 300 requests a minute per token. A client whose own
    // budget allows more (this test's) gets the 429, whose Retry-After (the rest of the minute)
    // is longer than a call may wait: it fails fast and sends nothing more to that endpoint.
    let sim = Sim::start().await?;
    let client = sim.client();
    for _ in 0..300 {
        client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    }
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::RateLimited { retry_after } if retry_after > Duration::from_secs(30)),
        "{error:?}"
    );
    assert!(client.estimated_wait_time(DEMO_SALES_QUEUE).await.is_err());
    let log = sim.requests().await?;
    assert_eq!(
        log.statuses_for(EWT)
            .iter()
            .filter(|s| **s == Some(429))
            .count(),
        1,
        "one 429, then the client held back"
    );
    assert_eq!(log.count(EWT), 301);
    Ok(())
}

#[test]
fn the_default_budget_stays_below_genesyss_limit_in_any_minute() {
    // At most a full bucket plus a minute of refill can go out within any minute.
    let budget = BudgetConfig::default();
    assert!(budget.burst + budget.per_minute < genesys_sim::api::rate_limit::GENESYS_PER_MINUTE);
}

/// A budget kept outside the client: lets `allowed` requests through, then refuses.
#[derive(Debug)]
struct Allowance {
    left: Mutex<u32>,
    asked: Mutex<Vec<Priority>>,
}

impl RequestBudget for Allowance {
    fn try_take(&self, priority: Priority) -> Take<'_> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(priority);
        let mut left = self.left.lock().unwrap_or_else(PoisonError::into_inner);
        let answer = if *left > 0 {
            *left -= 1;
            Ok(())
        } else {
            Err(Duration::from_secs(60))
        };
        Box::pin(std::future::ready(answer))
    }
}

#[tokio::test]
async fn a_budget_supplied_by_the_application_decides_what_goes_out() -> Result<()> {
    let sim = Sim::start().await?;
    let allowance = Arc::new(Allowance {
        left: Mutex::new(2),
        asked: Mutex::new(Vec::new()),
    });
    let shared: Arc<dyn RequestBudget> = allowance.clone();
    let client = sim.client_with(|config| config.request_budget = Some(shared));
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    client.estimated_wait_time(DEMO_SUPPORT_QUEUE).await?;
    let error = client
        .estimated_wait_time(DEMO_BILLING_QUEUE)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BudgetExhausted), "{error:?}");
    let error = client
        .create_callback(&CreateCallback::new(DEMO_SALES_QUEUE, "+15550006666"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::BudgetExhausted),
        "a wait beyond the bound is not waited for: {error:?}"
    );
    assert_eq!(
        *allowance.asked.lock().unwrap(),
        [Priority::Low, Priority::Low, Priority::Low, Priority::High]
    );
    let log = sim.requests().await?;
    assert_eq!((log.count(EWT), log.callbacks.len()), (2, 0));
    Ok(())
}
