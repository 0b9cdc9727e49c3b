//! The client over TLS, as it always talks to Genesys: REST over HTTPS (HTTP/2 chosen by ALPN)
//! and the notification WebSocket over WSS, against a simulator serving a certificate made for
//! the run, trusted through `ClientConfig::extra_root_certificates`, never by turning
//! verification off.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use genesys::notifications::stream::{StreamConfig, StreamEvent, spawn_observation_stream};
use genesys::{Error, RootCertificate};
use genesys_sim::config::DEMO_SALES_QUEUE;
use serde_json::json;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use crate::helpers::{QUEUES, Sim};

async fn tls_sim() -> Result<Sim> {
    let sim = Sim::start_with(|config| {
        config.tls = true;
        config.observation_min_interval = Duration::from_millis(20);
    })
    .await?;
    assert!(sim.sim.base_url().starts_with("https://"));
    Ok(sim)
}

fn trusted(sim: &Sim) -> Result<Vec<RootCertificate>> {
    let ca = sim.sim.ca_pem().context("a TLS simulator has a CA")?;
    Ok(RootCertificate::from_pem(ca)?)
}

#[tokio::test]
async fn rest_calls_go_over_https_with_http2_by_alpn() -> Result<()> {
    let sim = tls_sim().await?;
    let roots = trusted(&sim)?;
    let client = sim.client_with(|config| config.extra_root_certificates = roots);
    let queues = client.list_queues().await?;
    assert_eq!(queues.len(), 3);
    client.estimated_wait_time(DEMO_SALES_QUEUE).await?;
    let log = sim.requests().await?;
    let versions: Vec<&str> = log
        .entries
        .iter()
        .map(|entry| entry.http_version.as_str())
        .collect();
    assert!(
        !versions.is_empty() && versions.iter().all(|v| *v == "HTTP/2.0"),
        "{versions:?}"
    );
    assert_eq!(log.count(QUEUES), 1);
    Ok(())
}

#[tokio::test]
async fn a_certificate_nobody_trusts_is_refused() -> Result<()> {
    let sim = tls_sim().await?;
    let client = sim.client_with(|config| config.retry.max_attempts = 1);
    let error = client.list_queues().await.unwrap_err();
    assert!(
        matches!(error, Error::Connect(_) | Error::Transport(_)),
        "{error:?}"
    );
    assert_eq!(
        sim.requests().await?.entries.len(),
        0,
        "nothing reached the simulator"
    );
    Ok(())
}

#[tokio::test]
async fn the_notification_stream_runs_over_wss() -> Result<()> {
    let sim = tls_sim().await?;
    let roots = trusted(&sim)?;
    let client = sim.client_with(|config| config.extra_root_certificates = roots);
    let mut stream = spawn_observation_stream(
        client,
        vec![DEMO_SALES_QUEUE],
        StreamConfig::default(),
        CancellationToken::new(),
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut snapshot = false;
    let mut changed = false;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = timeout(left, stream.next())
            .await
            .context("no stream event in time")?
            .context("the stream ended")?;
        match event {
            StreamEvent::Snapshot(_) if !snapshot => {
                snapshot = true;
                sim.set_queue_state(
                    DEMO_SALES_QUEUE,
                    json!({"agents": {"idle": 1}, "waiting": {"voice": 4}}),
                )
                .await?;
            }
            StreamEvent::Update(update)
                if snapshot
                    && update.media_type.as_deref() == Some("voice")
                    && update
                        .metrics
                        .iter()
                        .any(|m| m.metric == "oWaiting" && m.count == 4) =>
            {
                changed = true;
                break;
            }
            _ => {}
        }
    }
    if !changed {
        bail!("no update over wss (snapshot seen: {snapshot})");
    }
    let log = sim.requests().await?;
    let upgrade = log
        .entries_for("GET /channels/{channelId}")
        .first()
        .map(|entry| (entry.status, entry.http_version.clone()));
    assert_eq!(upgrade, Some((Some(101), "HTTP/1.1".to_owned())));
    Ok(())
}
