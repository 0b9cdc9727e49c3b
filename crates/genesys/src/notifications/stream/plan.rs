//! The supervisor's decisions, as pure functions: what ended a connection leads to next, and when
//! a channel must be replaced before it expires.
//!
//! No I/O and no clock: the supervisor (`supervisor.rs`) feeds in what happened and carries out
//! the step returned here, so the reconnect policy is readable (and tested) in one place.

use std::time::Duration;

/// Why a connection (socket + channel) stopped serving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// No message at all for the silence timeout, and none during the grace after a ping.
    Silence,
    /// `v2.system.socket_closing`: Genesys closes this socket within about a minute.
    SocketClosing,
    /// The socket closed or failed, or could not be opened.
    Dropped,
    /// The channel reaches its renewal time (shortly before `expires`).
    ChannelExpiring,
    /// The channel no longer delivers: `v2.system.no_longer_subscribed` or a `"result":"404"`
    /// message. (A 404 on HEAD is handled where it happens: a new channel in the same attempt.)
    ChannelGone,
    /// Shutdown was requested or the stream's handle was dropped.
    Cancelled,
}

impl Ended {
    /// The reason as a metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Ended::Silence => "silence",
            Ended::SocketClosing => "socket_closing",
            Ended::Dropped => "dropped",
            Ended::ChannelExpiring => "channel_expiring",
            Ended::ChannelGone => "channel_gone",
            Ended::Cancelled => "cancelled",
        }
    }
}

/// What the supervisor does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NextStep {
    /// Stop the stream.
    Stop,
    /// Open a new socket on the same channel right away, and only then drop the old one.
    HandOver,
    /// Create and subscribe a new channel right away, connect it, and only then drop the old socket.
    Renew,
    /// After a backoff delay, check the channel still exists (HEAD) and reconnect to it.
    Reconnect,
    /// After a backoff delay, create and subscribe a new channel and connect to it.
    NewChannel,
}

/// The reconnect policy. Planned replacements (socket closing, channel expiring) happen at once and
/// keep the old socket until the new one is open; failures wait for the backoff, so a Genesys that
/// keeps failing is not hammered.
pub(crate) fn next_step(ended: Ended) -> NextStep {
    match ended {
        Ended::Cancelled => NextStep::Stop,
        Ended::SocketClosing => NextStep::HandOver,
        Ended::ChannelExpiring => NextStep::Renew,
        Ended::Silence | Ended::Dropped => NextStep::Reconnect,
        Ended::ChannelGone => NextStep::NewChannel,
    }
}

impl NextStep {
    /// Whether the backoff delay comes first: failures wait, planned replacements do not.
    pub(crate) fn backs_off(self) -> bool {
        matches!(self, NextStep::Reconnect | NextStep::NewChannel)
    }
}

/// The least time a channel is used before it is replaced, so a channel that looks already
/// expired (a skewed clock, a tiny lifetime) cannot start a tight create-and-replace loop.
pub(crate) const MIN_CHANNEL_USE: Duration = Duration::from_secs(1);

/// How long after its creation a channel with `lifetime` left is replaced: `fraction` of the
/// lifetime, but no later than `margin` before it expires when the lifetime allows that, and
/// never sooner than [`MIN_CHANNEL_USE`].
///
/// With Genesys's 24 h, 0.9 and 5 min this is 21.6 h; with a test's 2 s it is 1.8 s.
pub(crate) fn renew_after(lifetime: Duration, fraction: f64, margin: Duration) -> Duration {
    // `expires` is the upstream's; a channel "valid for centuries" is renewed daily anyway.
    let lifetime = lifetime.min(MAX_CHANNEL_LIFETIME);
    let by_fraction = lifetime.mul_f64(fraction.clamp(0.0, 1.0));
    let after = if lifetime > margin {
        by_fraction.min(lifetime - margin)
    } else {
        by_fraction
    };
    after.max(MIN_CHANNEL_USE)
}

/// Genesys channels live 24 h; anything longer is treated as 24 h.
const MAX_CHANNEL_LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_replacements_are_immediate_and_failures_back_off() {
        assert_eq!(next_step(Ended::Cancelled), NextStep::Stop);
        assert_eq!(next_step(Ended::SocketClosing), NextStep::HandOver);
        assert_eq!(next_step(Ended::ChannelExpiring), NextStep::Renew);
        assert_eq!(next_step(Ended::Silence), NextStep::Reconnect);
        assert_eq!(next_step(Ended::Dropped), NextStep::Reconnect);
        assert_eq!(next_step(Ended::ChannelGone), NextStep::NewChannel);
    }

    #[test]
    fn renewal_is_well_before_expiry_for_long_and_short_lifetimes() {
        let day = Duration::from_secs(24 * 3600);
        let five_min = Duration::from_secs(300);
        assert_eq!(renew_after(day, 0.9, five_min), day.mul_f64(0.9));
        assert_eq!(
            renew_after(Duration::from_secs(600), 0.9, five_min),
            Duration::from_secs(300)
        );
        assert_eq!(
            renew_after(Duration::from_secs(2), 0.9, five_min),
            Duration::from_millis(1800)
        );
        assert_eq!(renew_after(Duration::ZERO, 0.9, five_min), MIN_CHANNEL_USE);
        assert_eq!(renew_after(Duration::MAX, 0.9, five_min), day.mul_f64(0.9));
    }
}
