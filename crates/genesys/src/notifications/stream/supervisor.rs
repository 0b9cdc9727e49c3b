//! The stream's task: a loop of connect (channel, socket, snapshot) → serve → decide → wait.
//!
//! Each turn runs one [`NextStep`] from `plan.rs` and ends with an [`Ended`]; the step after
//! it comes from `plan::next_step`, and whether to back off first from `NextStep::backs_off`. The loop holds the current
//! channel between turns so a reconnect can reuse it, and the old socket during a hand-over so the
//! new one opens before the old one closes. It is not where messages are read (`session.rs`) or
//! REST calls made (`upstream.rs`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::config::StreamConfig;
use super::plan::{self, Ended, NextStep};
use super::session::{self, Outlet, SessionEnd, Socket};
use super::upstream::{Lease, Upstream};
use super::{StreamEvent, StreamStatus};
use crate::Error;
use crate::analytics::QueueObservations;

/// Where the task's results go.
pub(crate) struct Outputs {
    pub(crate) events: mpsc::Sender<StreamEvent>,
    pub(crate) status: watch::Sender<StreamStatus>,
    pub(crate) skipped: Arc<AtomicU64>,
    pub(crate) shutdown: CancellationToken,
}

pub(crate) struct Supervisor {
    upstream: Upstream,
    config: StreamConfig,
    out: Outputs,
    backoff: Backoff,
}

/// The channel in use and when it must be replaced.
struct Current {
    lease: Lease,
    renew_at: Instant,
}

impl Current {
    fn new(lease: Lease, config: &StreamConfig) -> Self {
        let after = plan::renew_after(lease.lifetime, config.renew_fraction, config.renew_margin);
        Current {
            lease,
            renew_at: Instant::now() + after,
        }
    }
}

impl Supervisor {
    pub(crate) fn new(upstream: Upstream, config: StreamConfig, out: Outputs) -> Self {
        let backoff = Backoff::new(config.backoff.clone());
        Supervisor {
            upstream,
            config,
            out,
            backoff,
        }
    }

    /// Runs until cancelled, then reports [`StreamStatus::Stopped`] and closes the event channel.
    pub(crate) async fn run(mut self) {
        let shutdown = self.out.shutdown.clone();
        let mut channel: Option<Current> = None;
        let mut old: Option<Socket> = None;
        let mut step = NextStep::NewChannel;
        let mut delay = Duration::ZERO;
        loop {
            if !self.pause(delay).await {
                break;
            }
            // Not raced against the shutdown: a turn watches it itself, so that a socket being
            // served is closed with a close frame rather than dropped with the future.
            let end = self.turn(step, &mut channel, old.take()).await;
            if shutdown.is_cancelled() {
                old = end.socket;
                break;
            }
            if end.healthy {
                self.backoff.reset();
            }
            old = end.socket;
            if old.is_none() {
                self.set_status(StreamStatus::Disconnected);
            }
            metrics::counter!("genesys_client_notification_connections_ended_total",
                "reason" => end.ended.label())
            .increment(1);
            step = plan::next_step(end.ended);
            if step == NextStep::Stop {
                break;
            }
            delay = if step.backs_off() {
                self.backoff.next_delay()
            } else {
                Duration::ZERO
            };
            tracing::info!(ended = ?end.ended, next = ?step, ?delay, "notification connection ended");
        }
        if let Some(old) = old {
            session::close(old).await;
        }
        self.set_status(StreamStatus::Stopped);
    }

    /// Waits `delay` unless cancelled first; `false` when cancelled.
    async fn pause(&self, delay: Duration) -> bool {
        if delay.is_zero() {
            return !self.out.shutdown.is_cancelled();
        }
        tokio::select! {
            biased;
            () = self.out.shutdown.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }

    /// One connection: open it per `step`, drop the socket it replaces, load and yield a
    /// snapshot, then serve until it ends.
    async fn turn(
        &self,
        step: NextStep,
        channel: &mut Option<Current>,
        old: Option<Socket>,
    ) -> SessionEnd {
        // Cancelled while connecting, what is half-open is dropped; once serving, the session
        // closes its socket itself.
        let prepared = tokio::select! {
            biased;
            () = self.out.shutdown.cancelled() => return failed(Ended::Cancelled),
            prepared = self.prepare(step, channel, old) => prepared,
        };
        let (socket, renew_at, snapshot) = match prepared {
            Ok(prepared) => prepared,
            Err(ended) => return failed(ended),
        };
        self.set_status(StreamStatus::Connected);
        let outlet = self.outlet();
        if let Err(ended) = session::deliver(StreamEvent::Snapshot(snapshot), &outlet).await {
            session::close(socket).await;
            return failed(ended);
        }
        session::serve(socket, &self.config, renew_at, outlet).await
    }

    /// A socket open per `step` (the one it replaces closed) and the snapshot read after it.
    async fn prepare(
        &self,
        step: NextStep,
        channel: &mut Option<Current>,
        old: Option<Socket>,
    ) -> Result<(Socket, Instant, Vec<QueueObservations>), Ended> {
        let (socket, renew_at) = self.open(step, channel).await?;
        if let Some(old) = old {
            session::close(old).await;
        }
        match self.upstream.snapshot().await {
            Ok(snapshot) => Ok((socket, renew_at, snapshot)),
            Err(error) => {
                tracing::warn!(%error, "could not read the observations snapshot");
                session::close(socket).await;
                Err(Ended::Dropped)
            }
        }
    }

    /// The channel `step` calls for and a socket open on it.
    async fn open(
        &self,
        step: NextStep,
        channel: &mut Option<Current>,
    ) -> Result<(Socket, Instant), Ended> {
        let current = self.channel_for(step, channel).await?;
        match session::connect(
            current.lease.connect_uri(),
            &self.config,
            self.upstream.websocket_connector(),
        )
        .await
        {
            Ok(socket) => Ok((socket, current.renew_at)),
            Err(error) => {
                tracing::warn!(%error, channel = ?current.lease.id, "notification socket did not open");
                Err(Ended::Dropped)
            }
        }
    }

    /// The current channel if it may serve `step`, else a new, subscribed one.
    async fn channel_for<'c>(
        &self,
        step: NextStep,
        channel: &'c mut Option<Current>,
    ) -> Result<&'c Current, Ended> {
        if !self.still_usable(step, channel.as_ref()).await? {
            *channel = None;
        }
        Ok(match channel {
            Some(current) => current,
            None => {
                let lease = self.upstream.open_channel().await.map_err(ended_by)?;
                tracing::info!(channel = ?lease.id, "notification channel created and subscribed");
                channel.insert(Current::new(lease, &self.config))
            }
        })
    }

    /// Whether `current` may serve `step`: it is not being replaced, not due for renewal, and
    /// after a failure Genesys still knows it (HEAD; a 404 is `false`, not an error).
    async fn still_usable(&self, step: NextStep, current: Option<&Current>) -> Result<bool, Ended> {
        let Some(current) = current else {
            return Ok(false);
        };
        let replacing = matches!(step, NextStep::Renew | NextStep::NewChannel);
        if replacing || current.renew_at <= Instant::now() {
            return Ok(false);
        }
        if step != NextStep::Reconnect {
            return Ok(true);
        }
        let exists = self
            .upstream
            .channel_exists(&current.lease)
            .await
            .map_err(ended_by)?;
        if !exists {
            tracing::info!(channel = ?current.lease.id, "notification channel is gone");
        }
        Ok(exists)
    }

    fn outlet(&self) -> Outlet<'_> {
        Outlet {
            events: &self.out.events,
            shutdown: &self.out.shutdown,
            skipped: &self.out.skipped,
        }
    }

    fn set_status(&self, status: StreamStatus) {
        let connected = if status == StreamStatus::Connected {
            1.0
        } else {
            0.0
        };
        metrics::gauge!("genesys_client_notification_connected").set(connected);
        self.out.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }
}

fn failed(ended: Ended) -> SessionEnd {
    SessionEnd {
        ended,
        healthy: false,
        socket: None,
    }
}

/// A failed REST call: retried after the backoff (a 404 from HEAD is not an error but `false`).
fn ended_by(error: Error) -> Ended {
    tracing::warn!(%error, "notification channel request failed");
    Ended::Dropped
}
