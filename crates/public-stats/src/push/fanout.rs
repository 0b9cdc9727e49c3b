//! One source of frames and the sockets that receive it. On every change, the new frame is
//! written to each socket from here, in a few tasks spread over the runtime's threads, with one
//! non-blocking write per socket; the sockets' own tasks stay asleep unless their client is slow
//! (`outlet`). Waking ten thousand tasks to each write a few hundred bytes cost more than the
//! writes themselves.
//!
//! It is not what the frames say (`stats` makes them) nor a socket's policy (`socket`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use slab::Slab;
use tokio::sync::watch;

use super::frame::TextFrame;
use super::outlet::Outlet;

/// The members are kept in this many shards: a pass writes each shard from its own task (so the
/// runtime's threads share a pass), under that shard's lock and straight from the shard (no list
/// of the members copied first, which visited every socket once more); a socket that joins or
/// leaves waits at most for the writes of one shard.
const SHARDS: usize = 64;

/// The sockets following one source, and its latest frame.
pub struct Fanout {
    shards: [Mutex<Slab<Arc<Outlet>>>; SHARDS],
    /// Where the next member goes: members are dealt round the shards so they stay even.
    next_shard: AtomicUsize,
    /// The latest frame with its sequence number (which only grows), for sockets that join.
    latest: Mutex<Option<(u64, TextFrame)>>,
    ended: AtomicBool,
}

/// A socket's place in a fan-out; it leaves when this is dropped.
pub struct Member {
    fanout: Arc<Fanout>,
    shard: usize,
    key: usize,
}

impl Fanout {
    /// Follows `frames`: every frame that `frame_of` makes from a change, if it differs from the
    /// previous one, goes to every member. Ends when the channel closes.
    pub fn follow<T>(
        mut frames: watch::Receiver<T>,
        frame_of: fn(&T) -> Option<TextFrame>,
    ) -> Arc<Fanout>
    where
        T: Send + Sync + 'static,
    {
        let first = frame_of(&frames.borrow_and_update());
        let fanout = Arc::new(Fanout {
            shards: std::array::from_fn(|_| Mutex::default()),
            next_shard: AtomicUsize::new(0),
            latest: Mutex::new(first.map(|frame| (1, frame))),
            ended: AtomicBool::new(false),
        });
        tokio::spawn(write_changes(Arc::clone(&fanout), frames, frame_of));
        fanout
    }

    /// Adds a socket: it gets the latest frame at once, then every new one.
    pub fn join(self: &Arc<Self>, outlet: &Arc<Outlet>) -> Member {
        let shard = self.next_shard.fetch_add(1, Ordering::Relaxed) % SHARDS;
        let key = self.shard(shard).insert(Arc::clone(outlet));
        // After joining, so that a change made meanwhile reaches the socket one way or the
        // other (the outlet ignores whichever of the two is older).
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some((seq, frame)) = latest {
            outlet.offer(seq, &frame);
        }
        if self.has_ended() {
            outlet.wake();
        }
        Member {
            fanout: Arc::clone(self),
            shard,
            key,
        }
    }

    /// The source has closed: no frame will come.
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    fn shard(&self, index: usize) -> MutexGuard<'_, Slab<Arc<Outlet>>> {
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.fanout.shard(self.shard).try_remove(self.key);
    }
}

async fn write_changes<T>(
    fanout: Arc<Fanout>,
    mut frames: watch::Receiver<T>,
    frame_of: fn(&T) -> Option<TextFrame>,
) {
    while frames.changed().await.is_ok() {
        let Some(frame) = frame_of(&frames.borrow_and_update()) else {
            continue;
        };
        let seq = {
            let mut latest = fanout.latest.lock().unwrap_or_else(PoisonError::into_inner);
            if latest.as_ref().is_some_and(|(_, sent)| *sent == frame) {
                continue;
            }
            let seq = latest.as_ref().map_or(1, |(seq, _)| seq + 1);
            *latest = Some((seq, frame.clone()));
            seq
        };
        write_to_all(&fanout, seq, &frame);
    }
    fanout.ended.store(true, Ordering::Release);
    for shard in 0..SHARDS {
        for (_, outlet) in fanout.shard(shard).iter() {
            outlet.wake();
        }
    }
}

/// Offers the frame to every member, each shard from its own task.
fn write_to_all(fanout: &Arc<Fanout>, seq: u64, frame: &TextFrame) {
    for shard in 0..SHARDS {
        if fanout.shard(shard).is_empty() {
            continue;
        }
        let fanout = Arc::clone(fanout);
        let frame = frame.clone();
        tokio::spawn(async move {
            for (_, outlet) in fanout.shard(shard).iter() {
                outlet.offer(seq, &frame);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::push::outlet::tests::{connected, read_frames};

    fn texts(frames: Vec<(tungstenite::protocol::frame::coding::OpCode, Vec<u8>)>) -> Vec<String> {
        frames
            .into_iter()
            .map(|(_, payload)| String::from_utf8(payload).unwrap())
            .collect()
    }

    /// Lets the fan-out's tasks run.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn members_get_the_latest_frame_on_joining_then_each_new_one_once_until_they_leave() {
        let (publish, frames) = watch::channel(TextFrame::new("first"));
        let fanout = Fanout::follow(frames, |frame| Some(frame.clone()));
        let mut sockets = Vec::new();
        for _ in 0..(SHARDS + 3) {
            sockets.push(connected().await);
        }
        let members: Vec<Member> = sockets
            .iter()
            .map(|(wire, _)| fanout.join(wire.outlet()))
            .collect();
        publish.send_replace(TextFrame::new("second"));
        settle().await;
        // The same frame again is no change.
        publish.send_replace(TextFrame::new("second"));
        settle().await;
        drop(members);
        publish.send_replace(TextFrame::new("after leaving"));
        settle().await;
        for (wire, client) in sockets {
            drop(wire);
            assert_eq!(texts(read_frames(client).await), ["first", "second"]);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_socket_that_joins_after_changes_gets_only_the_latest_and_nothing_before_the_first() {
        let (publish, frames) = watch::channel(None::<TextFrame>);
        let fanout = Fanout::follow(frames, Clone::clone);
        let (early, early_client) = connected().await;
        let early_member = fanout.join(early.outlet());
        publish.send_replace(Some(TextFrame::new("one")));
        settle().await;
        publish.send_replace(Some(TextFrame::new("two")));
        settle().await;
        let (late, late_client) = connected().await;
        let late_member = fanout.join(late.outlet());
        drop((early_member, late_member, early, late));
        assert_eq!(texts(read_frames(early_client).await), ["one", "two"]);
        assert_eq!(texts(read_frames(late_client).await), ["two"]);
    }

    #[tokio::test]
    async fn members_are_dealt_evenly_round_the_shards_whatever_the_count() {
        let (_publish, frames) = watch::channel(TextFrame::new("frame"));
        let fanout = Fanout::follow(frames, |frame| Some(frame.clone()));
        // Where a long-lived fan-out's count wraps.
        fanout.next_shard.store(usize::MAX - 2, Ordering::Relaxed);
        let mut sockets = Vec::new();
        for _ in 0..SHARDS {
            sockets.push(connected().await);
        }
        let _members: Vec<Member> = sockets
            .iter()
            .map(|(wire, _)| fanout.join(wire.outlet()))
            .collect();
        let sizes: Vec<usize> = (0..SHARDS).map(|shard| fanout.shard(shard).len()).collect();
        assert!(sizes.iter().all(|size| *size <= 2), "{sizes:?}");
        assert!(
            sizes.iter().filter(|size| **size >= 1).count() >= SHARDS - 3,
            "{sizes:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn when_the_source_closes_every_member_is_woken_and_told() {
        let (publish, frames) = watch::channel(TextFrame::new("only"));
        let fanout = Fanout::follow(frames, |frame| Some(frame.clone()));
        let (wire, _client) = connected().await;
        let outlet = Arc::clone(wire.outlet());
        let _member = fanout.join(&outlet);
        // The frame went out at once: nothing for the socket's task to do.
        assert!(
            tokio::time::timeout(Duration::from_millis(100), outlet.woken())
                .await
                .is_err()
        );
        assert!(!fanout.has_ended());
        drop(publish);
        tokio::time::timeout(Duration::from_secs(5), outlet.woken())
            .await
            .unwrap();
        assert!(fanout.has_ended());
        let (late, _late_client) = connected().await;
        let _late_member = fanout.join(late.outlet());
        tokio::time::timeout(Duration::from_secs(5), late.outlet().woken())
            .await
            .unwrap();
    }
}
