//! Lean subscribers: WebSocket clients read by one thread over epoll (`mio`), for measuring the
//! fan-out with as little of the load generator in the figure as possible.
//!
//! On a machine of two cores the clients share the cores with the service, so every microsecond a
//! client spends on a frame delays the next socket the service writes to. A `tokio-tungstenite`
//! client per socket spends about half of its time in its own machinery (a task, wakers, a frame
//! object and UTF-8 check per message); here a frame costs one readiness event, one `read` and a
//! substring search. What a client must do is still done: the handshake's accept key is checked,
//! frames are parsed by their header, pings are answered with masked pongs, a close ends the
//! socket. It is not a general WebSocket client (no fragmentation, no extensions, server frames
//! only), which is why it is written here rather than taken from a crate: the crates that parse
//! frames are the per-message machinery this exists to avoid.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream as StdStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::Round;

/// The reading thread and how to stop it.
pub struct LeanReader {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl LeanReader {
    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        // A panic in the reader has already been printed; the counts it kept are what remains.
        let _ = self.thread.join();
    }
}

/// Why a handshake did not give a socket.
enum Handshake {
    Open(StdStream, Vec<u8>),
    /// The upgrade rate limit's 503: come back shortly.
    Refused,
}

/// Opens `count` subscribers on `/` of the `bases` in turn (retrying 503s like the tungstenite
/// clients) and starts the thread that reads them all.
pub fn hold(
    bases: &[String],
    count: usize,
    pushes: Arc<AtomicU64>,
    rounds: watch::Receiver<Option<Arc<Round>>>,
) -> Result<(LeanReader, u64)> {
    let addresses: Vec<String> = bases
        .iter()
        .map(|base| address_of(base))
        .collect::<Result<_>>()?;
    let poll = Poll::new()?;
    let mut sockets = HashMap::with_capacity(count);
    let mut refusals = 0u64;
    for index in 0..count {
        let address = &addresses[index % addresses.len()];
        let (stream, leftover) = loop {
            match handshake(address).with_context(|| format!("opening subscriber {index}"))? {
                Handshake::Open(stream, leftover) => break (stream, leftover),
                Handshake::Refused if refusals < 1_000_000 => {
                    refusals += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Handshake::Refused => bail!("the service keeps refusing upgrades"),
            }
        };
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(index), Interest::READABLE)?;
        sockets.insert(
            index,
            Subscriber {
                stream,
                pending: leftover,
            },
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let reader = Reader {
        poll,
        sockets,
        pushes,
        rounds,
        stop: stop.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("lean-subscribers".into())
        .spawn(move || reader.run())?;
    Ok((LeanReader { stop, thread }, refusals))
}

fn address_of(base: &str) -> Result<String> {
    let url = reqwest::Url::parse(base)?;
    let host = url.host_str().context("the URL has no host")?;
    let port = url.port_or_known_default().context("the URL has no port")?;
    Ok(format!("{host}:{port}"))
}

/// The client's side of the opening handshake (RFC 6455 §4.1), with the server's accept key
/// checked; bytes read past the response's headers (the first frame) are returned with it.
fn handshake(address: &str) -> Result<Handshake> {
    let mut stream = StdStream::connect(address)?;
    stream.set_nodelay(true)?;
    let key = generate_key();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )?;
    let mut received = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            bail!("the connection closed during the handshake");
        }
        received.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(length) = response.parse(&received)? else {
            continue;
        };
        return match response.code {
            Some(101) => {
                let accept = response
                    .headers
                    .iter()
                    .find(|header| header.name.eq_ignore_ascii_case("sec-websocket-accept"))
                    .map(|header| header.value)
                    .context("the upgrade has no Sec-WebSocket-Accept")?;
                if accept != derive_accept_key(key.as_bytes()).as_bytes() {
                    bail!("the upgrade's Sec-WebSocket-Accept does not match the key");
                }
                Ok(Handshake::Open(stream, received.split_off(length)))
            }
            Some(503) => Ok(Handshake::Refused),
            code => bail!("the upgrade was answered with {code:?}"),
        };
    }
}

struct Subscriber {
    stream: TcpStream,
    /// Bytes of a frame not complete yet (usually empty: a frame arrives in one read).
    pending: Vec<u8>,
}

struct Reader {
    poll: Poll,
    sockets: HashMap<usize, Subscriber>,
    pushes: Arc<AtomicU64>,
    rounds: watch::Receiver<Option<Arc<Round>>>,
    stop: Arc<AtomicBool>,
}

impl Reader {
    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut buffer = vec![0u8; 64 * 1024];
        // Frames that arrived with the handshake.
        let waiting: Vec<usize> = self.sockets.keys().copied().collect();
        for index in waiting {
            self.take_frames(index);
        }
        while !self.stop.load(Ordering::Relaxed) {
            if self
                .poll
                .poll(&mut events, Some(Duration::from_millis(100)))
                .is_err()
            {
                continue;
            }
            for event in &events {
                self.read(event.token().0, &mut buffer);
            }
        }
    }

    /// Reads everything the socket has (epoll is edge-triggered), then handles whole frames.
    /// A read that does not fill the buffer has taken all there was: what arrives later raises
    /// a new edge, so the read that would only say `WouldBlock` is saved (as tokio does).
    fn read(&mut self, index: usize, buffer: &mut [u8]) {
        let Some(subscriber) = self.sockets.get_mut(&index) else {
            return;
        };
        loop {
            match subscriber.stream.read(buffer) {
                Ok(0) => {
                    self.sockets.remove(&index);
                    return;
                }
                Ok(read) => {
                    subscriber.pending.extend_from_slice(&buffer[..read]);
                    if read < buffer.len() {
                        break;
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.sockets.remove(&index);
                    return;
                }
            }
        }
        self.take_frames(index);
    }

    fn take_frames(&mut self, index: usize) {
        let Some(subscriber) = self.sockets.get_mut(&index) else {
            return;
        };
        let mut consumed = 0;
        let mut closed = false;
        while let Some(frame) = Frame::parse(&subscriber.pending[consumed..]) {
            let payload = &subscriber.pending[consumed + frame.header..consumed + frame.end];
            match frame.opcode {
                OPCODE_TEXT | OPCODE_CONTINUATION => {
                    self.pushes.fetch_add(1, Ordering::Relaxed);
                    note_seen(&self.rounds, index, payload);
                }
                OPCODE_PING => {
                    // Best effort: a pong lost here is the service's no-pong close, which the
                    // counts would show.
                    let _ = subscriber.stream.write_all(&pong(payload));
                }
                OPCODE_CLOSE => closed = true,
                _ => {}
            }
            consumed += frame.end;
        }
        subscriber.pending.drain(..consumed);
        if closed {
            self.sockets.remove(&index);
        }
    }
}

/// Records when subscriber `index` first held the round's change.
fn note_seen(rounds: &watch::Receiver<Option<Arc<Round>>>, index: usize, payload: &[u8]) {
    let current = rounds.borrow().clone();
    if let Some(round) = current
        && memchr::memmem::find(payload, round.marker.as_bytes()).is_some()
    {
        let nanos = u64::try_from(round.started.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1;
        let _ = round.seen[index].compare_exchange(0, nanos, Ordering::Relaxed, Ordering::Relaxed);
    }
}

const OPCODE_CONTINUATION: u8 = 0x0;
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_CLOSE: u8 = 0x8;
const OPCODE_PING: u8 = 0x9;
const OPCODE_PONG: u8 = 0xA;

/// Where a complete server frame's parts are in a buffer.
#[derive(Debug, PartialEq, Eq)]
struct Frame {
    opcode: u8,
    /// Length of the header: the payload starts here.
    header: usize,
    /// Where the frame ends.
    end: usize,
}

impl Frame {
    /// `None` until the buffer holds a whole frame. Server frames are never masked.
    fn parse(bytes: &[u8]) -> Option<Frame> {
        let (&first, &second) = (bytes.first()?, bytes.get(1)?);
        let (length, header) = match second & 0x7F {
            126 => (
                u64::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
                4,
            ),
            127 => (u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?), 10),
            short => (u64::from(short), 2),
        };
        let end = header + usize::try_from(length).ok()?;
        (bytes.len() >= end).then_some(Frame {
            opcode: first & 0x0F,
            header,
            end,
        })
    }
}

/// A client's pong: final, masked (RFC 6455 §5.3), echoing the ping's payload (≤ 125 bytes).
fn pong(payload: &[u8]) -> Vec<u8> {
    let payload = &payload[..payload.len().min(125)];
    let mask = fastrand::u32(..).to_be_bytes();
    let mut frame = Vec::with_capacity(6 + payload.len());
    frame.push(0x80 | OPCODE_PONG);
    frame.push(0x80 | payload.len() as u8);
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key),
    );
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_found_only_when_whole() {
        let mut short = vec![0x81, 3];
        short.extend_from_slice(b"abc");
        assert_eq!(
            Frame::parse(&short),
            Some(Frame {
                opcode: OPCODE_TEXT,
                header: 2,
                end: 5
            })
        );
        assert_eq!(Frame::parse(&short[..4]), None);
        let mut medium = vec![0x81, 126, 0x01, 0x00];
        medium.extend(std::iter::repeat_n(b'x', 256));
        assert_eq!(Frame::parse(&medium).map(|frame| frame.end), Some(260));
        assert_eq!(Frame::parse(&medium[..259]), None);
        let mut long = vec![0x89, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        long.extend(std::iter::repeat_n(0u8, 65_536));
        assert_eq!(
            Frame::parse(&long),
            Some(Frame {
                opcode: OPCODE_PING,
                header: 10,
                end: 65_546
            })
        );
    }

    #[test]
    fn a_pong_is_masked_and_unmasks_to_the_ping_payload() {
        let frame = pong(b"hello");
        assert_eq!(frame[0], 0x8A);
        assert_eq!(frame[1], 0x80 | 5);
        let mask = &frame[2..6];
        let unmasked: Vec<u8> = frame[6..]
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key)
            .collect();
        assert_eq!(unmasked, b"hello");
    }
}
