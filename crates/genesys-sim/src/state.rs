//! The simulator's shared state: configuration, the contact-centre model and each API's own state.
//!
//! Each API module owns the type it keeps here; this file only ties them together so handlers get
//! one cheap-to-clone [`SimState`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::api::{architect, auth, notifications, rate_limit, webmessaging};
use crate::config::SimConfig;
use crate::control;
use crate::model::{Model, ModelEvent};

/// Cheap to clone; every handler gets one.
#[derive(Clone)]
pub struct SimState(Arc<Inner>);

pub struct Inner {
    pub config: SimConfig,
    /// Where the simulator listens; used to build `connectUri`s.
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    model: Mutex<Model>,
    events: broadcast::Sender<ModelEvent>,
    pub auth: auth::Tokens,
    pub rate_limit: rate_limit::RateLimit,
    pub control: control::Control,
    pub notifications: notifications::Channels,
    pub webmessaging: webmessaging::Sessions,
    pub architect: architect::Architect,
}

impl std::ops::Deref for SimState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl SimState {
    pub fn new(config: SimConfig, addr: SocketAddr, shutdown: CancellationToken) -> Self {
        let (events, _) = broadcast::channel(1024);
        let model = Model::new(&config);
        SimState(Arc::new(Inner {
            addr,
            shutdown,
            model: Mutex::new(model),
            events,
            auth: auth::Tokens::default(),
            rate_limit: rate_limit::RateLimit::new(config.rate_limit_per_minute),
            control: control::Control::default(),
            notifications: notifications::Channels::default(),
            webmessaging: webmessaging::Sessions::default(),
            architect: architect::Architect::new(&config, time::OffsetDateTime::now_utc()),
            config,
        }))
    }

    /// `wss` when the simulator serves TLS, else `ws`.
    pub fn ws_scheme(&self) -> &'static str {
        if self.config.tls { "wss" } else { "ws" }
    }

    /// Locks the model. Never hold the guard across an `.await`.
    pub fn model(&self) -> MutexGuard<'_, Model> {
        // A panic while holding the lock leaves the model usable: it has no invariants that a
        // half-finished tick could break badly enough to matter for a simulator.
        self.model
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `change` on the model and publishes the events it produced.
    pub fn update_model<R>(&self, change: impl FnOnce(&mut Model) -> R) -> R {
        let (result, events) = {
            let mut model = self.model();
            let result = change(&mut model);
            (result, model.take_events())
        };
        for event in events {
            // No receivers is fine: nobody is listening yet.
            let _ = self.events.send(event);
        }
        result
    }

    /// Model events (queue changes, agent assignments) as they happen.
    pub fn subscribe_events(&self) -> broadcast::Receiver<ModelEvent> {
        self.events.subscribe()
    }

    /// Starts the tasks that advance the model's clock and open or close the queues that follow
    /// their business hours, until shutdown.
    pub fn start_clock(&self) {
        let state = self.clone();
        let tick = Duration::from_millis(100);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = state.shutdown.cancelled() => break,
                    _ = interval.tick() => state.update_model(|model| model.advance(tick)),
                }
            }
        });
        let state = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(control::hours::CHECK_EVERY);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = state.shutdown.cancelled() => break,
                    _ = interval.tick() => control::hours::check(&state),
                }
            }
        });
    }
}
