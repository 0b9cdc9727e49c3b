//! The write side of one push socket, shared by two writers: the fan-out (`fanout`), which
//! writes a new frame to every socket in one pass without waking their tasks, and the socket's
//! own task, through tungstenite (pongs, pings, closes) and when a frame could not be written at
//! once. Everything either writes goes through one queue here, so frames never interleave, and
//! only the newest frame waits behind a slow client: a bounded queue whatever the client does.
//!
//! It also gives tungstenite the connection to read and write ([`Wire`]). It is not what is
//! sent (`stats`), when (`fanout`) nor the socket's policy (`socket`).
//!
//! Written here because no crate shares one connection's writes between a broadcaster and the
//! connection's task: tokio's split halves each need `&mut` to write, and tungstenite keeps its
//! stream to itself.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, OpCode};

use super::frame::TextFrame;
use crate::serve::Counted;

/// Bounds what tungstenite may queue unsent (control frames, whose payloads are at most 125
/// bytes: a client gets a pong for each of its few pings a minute).
const MAX_CONTROL_QUEUE: usize = 64 * 1024;

/// One socket's writes.
pub struct Outlet {
    /// The TCP stream itself on plain HTTP, which the fan-out writes to directly; `None` under
    /// TLS, where only the socket's task holds the connection and writes for the fan-out.
    tcp: Option<Counted<TcpStream>>,
    queue: Mutex<Queue>,
    /// Wakes the socket's task when bytes wait for it to write (or the frames ended).
    wake: Notify,
}

#[derive(Default)]
struct Queue {
    /// Bytes accepted but not yet written, in order: the rest of a frame the kernel took only
    /// part of, and tungstenite's control frames.
    unsent: VecDeque<Bytes>,
    control_bytes: usize,
    /// The newest frame not yet started (with its place in the fan-out's sequence): it waits
    /// until `unsent` is empty, and a newer one replaces it.
    next: Option<(u64, TextFrame)>,
    /// The sequence number of the newest frame written or started.
    sent: u64,
    /// A close frame was queued: no frame may follow it.
    closed: bool,
    /// A write failed; the socket's task ends when it next writes.
    broken: bool,
}

impl Outlet {
    fn new(tcp: Option<Counted<TcpStream>>) -> Outlet {
        Outlet {
            tcp,
            queue: Mutex::default(),
            wake: Notify::new(),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `frame` (number `seq` of its fan-out) now if nothing waits and the kernel takes it;
    /// otherwise leaves it as the next frame and wakes the socket's task to write it. Older
    /// frames than one already sent or waiting are ignored, so a socket never goes back.
    pub fn offer(&self, seq: u64, frame: &TextFrame) {
        let mut queue = self.queue();
        if queue.closed
            || seq <= queue.sent
            || queue.next.as_ref().is_some_and(|(next, _)| *next >= seq)
        {
            return;
        }
        let idle = queue.unsent.is_empty() && queue.next.is_none() && !queue.broken;
        // A plain non-blocking `send` on the socket, not tokio's `try_write`, which first reads
        // the socket's readiness from the runtime's own record of it: one more cold cache line
        // per socket in every pass. A `WouldBlock` here leaves that record as it is, and the
        // socket's task then writes through tokio, which learns of it there.
        match self.tcp.as_ref().filter(|_| idle) {
            Some(tcp) => match socket2::SockRef::from(tcp.get_ref()).send(frame.wire()) {
                Ok(written) if written == frame.wire().len() => {
                    queue.sent = seq;
                    return;
                }
                Ok(written) => {
                    queue.sent = seq;
                    queue.unsent.push_back(frame.bytes().slice(written..));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    queue.next = Some((seq, frame.clone()));
                }
                Err(_) => queue.broken = true,
            },
            None => queue.next = Some((seq, frame.clone())),
        }
        drop(queue);
        self.wake.notify_one();
    }

    /// Whether the socket's task has something to write (or the frames ended): resolves at once
    /// if it was woken since it last looked.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Wakes the socket's task (the frames ended).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Accepts tungstenite's bytes (whole control frames) behind whatever waits.
    fn accept_control(&self, bytes: &[u8]) -> io::Result<()> {
        let mut queue = self.queue();
        if queue.control_bytes + bytes.len() > MAX_CONTROL_QUEUE {
            return Err(io::Error::other("too many control frames unsent"));
        }
        if carries_close(bytes) {
            queue.closed = true;
            queue.next = None;
        }
        queue.control_bytes += bytes.len();
        queue.unsent.push_back(Bytes::copy_from_slice(bytes));
        Ok(())
    }

    /// Writes what waits, then the next frame, with `write`; ready when nothing is left.
    fn poll_drain(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<()>> {
        let mut queue = self.queue();
        loop {
            if queue.broken {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
            if let Some(front) = queue.unsent.front_mut() {
                let written = match ready!(write(cx, front)) {
                    Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                    other => other,
                };
                let written = match written {
                    Ok(written) => written,
                    Err(error) => {
                        queue.broken = true;
                        return Poll::Ready(Err(error));
                    }
                };
                front.advance(written);
                if front.is_empty() {
                    queue.unsent.pop_front();
                    if queue.unsent.is_empty() {
                        queue.control_bytes = 0;
                    }
                }
            } else if let Some((seq, frame)) = queue.next.take() {
                queue.sent = seq;
                queue.unsent.push_back(frame.bytes());
            } else {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

/// Whether `bytes` (whole frames written by tungstenite, a server's: unmasked) hold a close frame.
fn carries_close(mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let mut cursor = io::Cursor::new(bytes);
        let Ok(Some((header, length))) = FrameHeader::parse(&mut cursor) else {
            return false;
        };
        if header.opcode == OpCode::Control(Control::Close) {
            return true;
        }
        let end = usize::try_from(cursor.position() + length).unwrap_or(usize::MAX);
        bytes = bytes.get(end..).unwrap_or_default();
    }
    false
}

/// The connection as tungstenite sees it: reads go to the connection, writes to the outlet's
/// queue and from there to the connection.
pub struct Wire {
    outlet: std::sync::Arc<Outlet>,
    /// hyper's `Upgraded` under TLS; on plain HTTP the stream is the outlet's.
    tls: Option<TokioIo<Upgraded>>,
}

impl Wire {
    /// The plain TCP stream, shared with the fan-out.
    pub fn plain(tcp: Counted<TcpStream>) -> Wire {
        Wire {
            outlet: std::sync::Arc::new(Outlet::new(Some(tcp))),
            tls: None,
        }
    }

    /// A connection only this socket's task can write (TLS).
    pub fn upgraded(io: TokioIo<Upgraded>) -> Wire {
        Wire {
            outlet: std::sync::Arc::new(Outlet::new(None)),
            tls: Some(io),
        }
    }

    pub fn outlet(&self) -> &std::sync::Arc<Outlet> {
        &self.outlet
    }

    /// Writes everything queued; ready when nothing is left, an error when the connection broke.
    pub fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Wire { outlet, tls } = self;
        match (tls, &outlet.tcp) {
            (Some(tls), _) => {
                outlet.poll_drain(cx, |cx, bytes| Pin::new(&mut *tls).poll_write(cx, bytes))
            }
            (None, Some(tcp)) => {
                outlet.poll_drain(cx, |cx, bytes| poll_write_tcp(tcp.get_ref(), cx, bytes))
            }
            (None, None) => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

fn poll_write_tcp(tcp: &TcpStream, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
    loop {
        ready!(tcp.poll_write_ready(cx))?;
        match tcp.try_write(bytes) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            written => return Poll::Ready(written),
        }
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(tls) = self.tls.as_mut() {
            return Pin::new(tls).poll_read(cx, buf);
        }
        let Some(tcp) = self.outlet.tcp.as_ref() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        let tcp = tcp.get_ref();
        loop {
            ready!(tcp.poll_read_ready(cx))?;
            match tcp.try_read(buf.initialize_unfilled()) {
                Ok(read) => {
                    buf.advance(read);
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for Wire {
    /// Takes all of `bytes` (tungstenite writes whole frames, so the queue holds whole frames)
    /// and starts writing them; [`Wire::poll_drain`] finishes.
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.outlet.accept_control(bytes)?;
        if let Poll::Ready(Err(error)) = self.poll_drain(cx) {
            return Poll::Ready(Err(error));
        }
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        match self.tls.as_mut() {
            Some(tls) => Pin::new(tls).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        match self.tls.as_mut() {
            Some(tls) => Pin::new(tls).poll_shutdown(cx),
            // The stream closes when its last holder (this socket or a fan-out pass) lets go.
            None => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::future::poll_fn;
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::Semaphore;
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::Data;

    use super::*;

    /// A server side over a real loopback connection, and its client.
    pub(in crate::push) async fn connected() -> (Wire, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let permit = Arc::new(Semaphore::new(1)).acquire_owned().await.unwrap();
        (Wire::plain(Counted::new(server, permit)), client)
    }

    /// Frames far larger than what the kernel buffers on loopback, so the first one is cut.
    fn big_frame(number: u64) -> TextFrame {
        let digit = char::from(b'0' + (number % 10) as u8);
        TextFrame::new(&format!("{number:02}{}", digit.to_string().repeat(4 << 20)))
    }

    /// Everything the client receives until the server closes, as (opcode, payload) frames,
    /// failing on a frame cut short or interleaved with another.
    pub(in crate::push) async fn read_frames(client: TcpStream) -> Vec<(OpCode, Vec<u8>)> {
        read_frames_after(&[], client).await
    }

    /// [`read_frames`] of what the client already read (`start`) and what it reads next.
    async fn read_frames_after(start: &[u8], mut client: TcpStream) -> Vec<(OpCode, Vec<u8>)> {
        let mut bytes = start.to_vec();
        client.read_to_end(&mut bytes).await.unwrap();
        let mut frames = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let mut cursor = io::Cursor::new(rest);
            let (header, length) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
            let start = cursor.position() as usize;
            let end = start + length as usize;
            assert!(end <= rest.len(), "a frame cut short");
            frames.push((header.opcode, rest[start..end].to_vec()));
            rest = &rest[end..];
        }
        frames
    }

    fn number_of(payload: &[u8]) -> u64 {
        let number: u64 = std::str::from_utf8(&payload[..2]).unwrap().parse().unwrap();
        let digit = b'0' + (number % 10) as u8;
        assert!(
            payload[2..].iter().all(|b| *b == digit),
            "frame {number} mixed with another"
        );
        number
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_gets_its_frame_finished_then_only_the_latest() {
        let (mut wire, client) = connected().await;
        let outlet = Arc::clone(wire.outlet());
        for number in 1..=10 {
            outlet.offer(number, &big_frame(number));
        }
        {
            let queue = outlet.queue();
            let waiting: usize = queue.unsent.iter().map(Bytes::len).sum();
            assert!(
                waiting < big_frame(1).wire().len(),
                "more than one frame's rest held"
            );
            assert_eq!(queue.next.as_ref().map(|(seq, _)| *seq), Some(10));
        }
        let reader = tokio::spawn(read_frames(client));
        poll_fn(|cx| wire.poll_drain(cx)).await.unwrap();
        drop(outlet);
        drop(wire);
        let numbers: Vec<u64> = reader
            .await
            .unwrap()
            .iter()
            .map(|(_, p)| number_of(p))
            .collect();
        assert_eq!(numbers.first(), Some(&1));
        assert_eq!(numbers.last(), Some(&10));
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert!(numbers.len() < 4, "frames between were queued: {numbers:?}");
    }

    #[tokio::test]
    async fn a_control_frame_waits_behind_a_frame_cut_short_and_nothing_follows_a_close() {
        let (mut wire, client) = connected().await;
        let outlet = Arc::clone(wire.outlet());
        outlet.offer(1, &big_frame(1));
        let mut pong = Vec::new();
        Frame::pong(b"p".to_vec()).format(&mut pong).unwrap();
        wire.write_all(&pong).await.unwrap();
        outlet.offer(2, &big_frame(2));
        let mut close = Vec::new();
        Frame::close(None).format(&mut close).unwrap();
        let reader = tokio::spawn(read_frames(client));
        wire.write_all(&close).await.unwrap();
        outlet.offer(3, &big_frame(3));
        wire.flush().await.unwrap();
        drop(outlet);
        drop(wire);
        let frames = reader.await.unwrap();
        let kinds: Vec<OpCode> = frames.iter().map(|(kind, _)| *kind).collect();
        let text = OpCode::Data(Data::Text);
        assert_eq!(
            kinds,
            [
                text,
                OpCode::Control(Control::Pong),
                OpCode::Control(Control::Close)
            ],
            "frame 2 was replaced by the close, and frame 3 came after it"
        );
        assert_eq!(number_of(&frames[0].1), 1);
        assert_eq!(frames[1].1, b"p");
    }

    #[tokio::test]
    async fn an_older_frame_than_one_sent_is_not_sent() {
        let (mut wire, client) = connected().await;
        let outlet = Arc::clone(wire.outlet());
        let small = |n: u64| TextFrame::new(&format!("{n:02}"));
        outlet.offer(2, &small(2));
        outlet.offer(1, &small(1));
        outlet.offer(2, &small(2));
        outlet.offer(3, &small(3));
        poll_fn(|cx| wire.poll_drain(cx)).await.unwrap();
        drop(outlet);
        drop(wire);
        let numbers: Vec<u64> = read_frames(client)
            .await
            .iter()
            .map(|(_, p)| number_of(p))
            .collect();
        assert_eq!(numbers, [2, 3]);
    }

    #[tokio::test]
    async fn a_frame_offered_while_the_rest_of_another_waits_is_not_written_into_it() {
        let (mut wire, mut client) = connected().await;
        let outlet = Arc::clone(wire.outlet());
        outlet.offer(1, &big_frame(1));
        // The client reads a little: the kernel has room again, but the rest of frame 1 waits.
        let mut first = vec![0; 256 * 1024];
        client.read_exact(&mut first).await.unwrap();
        outlet.offer(2, &big_frame(2));
        let reader = tokio::spawn(async move {
            let frames = read_frames_after(&first, client).await;
            frames
                .iter()
                .map(|(_, payload)| number_of(payload))
                .collect::<Vec<_>>()
        });
        poll_fn(|cx| wire.poll_drain(cx)).await.unwrap();
        drop(outlet);
        drop(wire);
        assert_eq!(reader.await.unwrap(), [1, 2]);
    }

    #[tokio::test]
    async fn a_frame_the_kernel_has_no_room_for_waits_for_the_sockets_task() {
        let (mut wire, mut client) = connected().await;
        let outlet = Arc::clone(wire.outlet());
        // Fill the connection to the brim with bytes that are not the outlet's.
        let tcp = socket2::SockRef::from(outlet.tcp.as_ref().unwrap().get_ref());
        let filler = vec![0; 1 << 20];
        let mut filled = 0;
        loop {
            match tcp.send(&filler) {
                Ok(sent) => filled += sent,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => panic!("{error}"),
            }
        }
        outlet.offer(1, &TextFrame::new("01"));
        let reader = tokio::spawn(async move {
            let mut skipped = vec![0; filled];
            client.read_exact(&mut skipped).await.unwrap();
            let frames = read_frames(client).await;
            frames.iter().map(|(_, p)| number_of(p)).collect::<Vec<_>>()
        });
        poll_fn(|cx| wire.poll_drain(cx)).await.unwrap();
        drop(outlet);
        drop(wire);
        assert_eq!(reader.await.unwrap(), [1]);
    }

    #[tokio::test]
    async fn control_frames_queue_behind_a_stuck_frame_only_up_to_their_bound() {
        let (mut wire, _client) = connected().await;
        wire.outlet().offer(1, &big_frame(1));
        let mut pong = Vec::new();
        Frame::pong(vec![0; 125]).format(&mut pong).unwrap();
        let fits = MAX_CONTROL_QUEUE / pong.len();
        for _ in 0..fits {
            wire.write_all(&pong).await.unwrap();
        }
        let refused = wire.write_all(&pong).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::Other);
        assert!(fits > 500, "room for a client's pings: {fits}");
    }

    #[test]
    fn a_close_frame_is_found_among_the_frames_written_together() {
        let mut bytes = Vec::new();
        Frame::pong(vec![7; 125]).format(&mut bytes).unwrap();
        assert!(!carries_close(&bytes));
        Frame::close(None).format(&mut bytes).unwrap();
        assert!(carries_close(&bytes));
        assert!(!carries_close(&[]));
    }
}
