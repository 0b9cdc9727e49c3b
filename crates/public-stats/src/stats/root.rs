//! The frames of the seed's `/` WebSocket: the live observations' `{"queueStats": …}` and, when
//! business hours are configured, the top-level `"hours"` map. One task follows both and makes
//! each frame once for every socket: on every visible change of the observations, and at each
//! instant a queue opens or closes.
//!
//! It is not the sockets (`push`) nor the frame's observations part (`live`).

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::live::{LiveStats, LiveView};
use crate::hours::keeper::{HoursKeeper, HoursSnapshot};
use crate::push::{Fanout, TextFrame};

/// The `/` frames and the sockets they go to. Cheap to clone.
#[derive(Clone)]
pub struct RootFrames {
    fanout: Arc<Fanout>,
    /// Keeps the channel open after the task has ended at shutdown, so a socket still waiting
    /// for its turn to close does not take the end of the frames for the end of the data.
    _open: Arc<watch::Sender<TextFrame>>,
}

impl RootFrames {
    /// Starts following `live` and `hours` (in `tasks`, until `shutdown`).
    pub fn start(
        live: &LiveStats,
        hours: &HoursKeeper,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        let mut live = live.subscribe();
        let mut hours = hours.subscribe();
        let first = frame(&live.borrow_and_update(), &hours.borrow_and_update());
        let (publish, frames) = watch::channel(first);
        let publish = Arc::new(publish);
        tasks.spawn(follow(live, hours, Arc::clone(&publish), shutdown));
        RootFrames {
            fanout: Fanout::follow(frames, |frame| Some(frame.clone())),
            _open: publish,
        }
    }

    pub fn fanout(&self) -> Arc<Fanout> {
        Arc::clone(&self.fanout)
    }
}

async fn follow(
    mut live: watch::Receiver<Arc<LiveView>>,
    mut hours: watch::Receiver<Arc<HoursSnapshot>>,
    publish: Arc<watch::Sender<TextFrame>>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = live.changed() => if changed.is_err() { break },
            changed = hours.changed() => if changed.is_err() { break },
        }
        let next = frame(&live.borrow_and_update(), &hours.borrow_and_update());
        publish.send_if_modified(|current| {
            let changed = *current != next;
            if changed {
                *current = next;
            }
            changed
        });
    }
}

fn frame(live: &LiveView, hours: &HoursSnapshot) -> TextFrame {
    TextFrame::new(&live.root_frame_with_hours(hours))
}
