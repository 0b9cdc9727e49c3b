//! OAuth client credentials against the simulator: one token request for many concurrent calls,
//! refresh before expiry, one re-authentication after a 401, refused credentials, and no secret
//! in any log line.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use futures_util::future::join_all;
use genesys::{ClientSecret, Error};
use genesys_sim::config::{DEMO_CLIENT_SECRET, DEMO_SALES_QUEUE};
use tokio::time::Instant;

use crate::helpers::{EWT, Sim, TOKEN};

#[tokio::test]
async fn a_hundred_concurrent_calls_share_one_token_request() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client();
    let calls = (0..100).map(|_| {
        let client = client.clone();
        async move { client.estimated_wait_time(DEMO_SALES_QUEUE).await }
    });
    let results = join_all(calls).await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    let log = sim.requests().await?;
    assert_eq!(log.count(TOKEN), 1, "single-flight token fetch");
    assert_eq!(log.count(EWT), 100);
    Ok(())
}

#[tokio::test]
async fn a_hundred_concurrent_calls_on_a_revoked_token_share_one_new_token() -> Result<()> {
    // The harder case: a cached token that the upstream no longer accepts. All 100 calls get a
    // 401 at about the same time; exactly one of them may fetch the replacement.
    let sim = Sim::start().await?;
    let client = sim.client();
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    sim.expire_tokens().await?;
    let calls = (0..100).map(|_| {
        let client = client.clone();
        async move { client.estimated_wait_time(DEMO_SALES_QUEUE).await }
    });
    let results = join_all(calls).await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    let log = sim.requests().await?;
    assert_eq!(log.count(TOKEN), 2, "the first token, then one replacement");
    Ok(())
}

#[tokio::test]
async fn the_token_is_refreshed_before_it_expires() -> Result<()> {
    let sim = Sim::start_with(|config| config.token_ttl = Duration::from_secs(2)).await?;
    let client = sim.client();
    let started = Instant::now();
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    // Refresh is due at 90 % of 2 s; the old token would still be accepted until 2 s.
    tokio::time::sleep_until(started + Duration::from_millis(1_900)).await;
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    let log = sim.requests().await?;
    assert_eq!(
        log.count(TOKEN),
        2,
        "a fresh token was fetched before the old one expired"
    );
    assert_eq!(
        log.statuses_for(EWT),
        [Some(200), Some(200)],
        "no call was sent with an expired token"
    );
    Ok(())
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_current_token_while_it_is_valid() -> Result<()> {
    let sim = Sim::start_with(|config| config.token_ttl = Duration::from_secs(4)).await?;
    let client = sim.client();
    let started = Instant::now();
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    sim.fault(serde_json::json!({"route": TOKEN, "status": 503}))
        .await?;
    // Refresh is due at 3.6 s; the token is valid until 4 s.
    tokio::time::sleep_until(started + Duration::from_millis(3_650)).await;
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    let log = sim.requests().await?;
    let refreshes = log.statuses_for(TOKEN);
    assert!(
        refreshes.len() >= 2 && refreshes[1..].iter().all(|s| *s == Some(503)),
        "the refresh was tried and failed: {refreshes:?}"
    );
    assert_eq!(
        log.statuses_for(EWT),
        [Some(200), Some(200), Some(200)],
        "calls went on with the still-valid token"
    );
    let tried = log.count(TOKEN);
    assert!(
        Instant::now() < started + Duration::from_secs(4),
        "the test ran too slowly to show anything"
    );

    // Once it has expired, the refresh failure is the caller's error and nothing is sent with it.
    tokio::time::sleep_until(started + Duration::from_millis(4_200)).await;
    let expired = client.estimated_wait_time(DEMO_SALES_QUEUE).await;
    assert!(expired.is_err(), "{expired:?}");
    let log = sim.requests().await?;
    assert!(
        log.count(TOKEN) > tried,
        "a refresh was tried again after expiry"
    );
    assert_eq!(log.count(EWT), 3, "nothing was sent with the expired token");
    Ok(())
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once_with_a_new_one() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client();
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    sim.expire_tokens().await?;
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    let log = sim.requests().await?;
    assert_eq!(log.count(TOKEN), 2);
    assert_eq!(log.statuses_for(EWT), [Some(200), Some(401), Some(200)]);
    Ok(())
}

#[tokio::test]
async fn a_second_401_is_returned_not_retried_again() -> Result<()> {
    let sim = Sim::start().await?;
    sim.fault(serde_json::json!({"route": EWT, "status": 401}))
        .await?;
    let error = sim
        .client()
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Api { status, .. } if status.as_u16() == 401),
        "{error:?}"
    );
    let log = sim.requests().await?;
    assert_eq!(
        (log.count(EWT), log.count(TOKEN)),
        (2, 2),
        "one re-authentication, then give up"
    );
    Ok(())
}

#[tokio::test]
async fn refused_credentials_are_an_auth_error_and_nothing_else_is_sent() -> Result<()> {
    let sim = Sim::start().await?;
    let client = sim.client_with(|config| config.client_secret = ClientSecret::new("wrong"));
    let error = client
        .estimated_wait_time(DEMO_SALES_QUEUE)
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::Auth { .. }), "{error:?}");
    let log = sim.requests().await?;
    assert_eq!((log.count(TOKEN), log.count(EWT)), (1, 0));
    Ok(())
}

/// A `Write` sink shared with the test, for a thread-local tracing subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The calls whose logs are checked: token fetch, a 401 and re-authentication, a callback with a
/// phone number, a channel.
async fn log_worthy_calls(sim: &Sim) -> Result<(genesys::AccessToken, genesys::ChannelId)> {
    let client = sim.client();
    let token = client.access_token().await?;
    sim.expire_tokens().await?;
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    let callback = genesys::CreateCallback::new(DEMO_SALES_QUEUE, "+15557654321");
    client.create_callback(&callback).await?;
    let channel = client.create_channel().await?;
    Ok((token, channel.id))
}

#[tokio::test]
async fn trace_logs_never_contain_the_secret_the_token_or_a_phone_number() -> Result<()> {
    let sim = Sim::start().await?;
    // Warm-up: registers every callsite of the flow, so that rebuilding the interest cache below
    // covers them even if another test's thread registered them before this subscriber existed.
    log_worthy_calls(&sim).await?;
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    // The test runtime is single-threaded, so a thread-local default sees every task's events.
    crate::helpers::keep_log_interest_per_thread();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    let (token, channel) = log_worthy_calls(&sim).await?;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone())?;
    assert!(
        logs.contains("genesys_request"),
        "the client's own events were captured: {logs}"
    );
    for sentinel in [
        DEMO_CLIENT_SECRET,
        token.expose_secret(),
        "5557654321",
        channel.expose(),
    ] {
        assert!(
            !logs.contains(sentinel),
            "{sentinel:?} leaked into the logs"
        );
    }
    assert_eq!(format!("{token:?}"), "[REDACTED]");
    Ok(())
}
