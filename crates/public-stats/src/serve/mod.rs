//! The public port's serving loop: accepts connections, caps how many are open, optionally
//! speaks TLS, serves each with hyper (HTTP/1.1 with upgrades, so WebSockets work), and on
//! shutdown stops accepting and lets every connection finish the request it is in.
//!
//! It replaces `axum::serve`, which has no header-read timer, no connection cap and no TLS.
//! Connections are served by hyper's HTTP/1 connection directly, not hyper-util's `auto` one:
//! that one first waits for the bytes that tell HTTP/1 from HTTP/2 with no timer at all, so a
//! client that connects and sends nothing would be held for ever. Graceful shutdown is therefore
//! done here too (hyper-util's helper is sealed to the `auto` connection types). The per-request parts (head limits, request timeout) are layers in `limits`; the certificate
//! reload is `tls`. It is not where WebSockets end at shutdown: they are handed off by hyper on
//! upgrade and end through the shutdown token (`push`).

pub mod limits;
pub mod tls;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Layer;

use crate::problem::ApiError;

/// hyper's own limits, the outer wall behind `limits`' (which are well inside them): a head that
/// does not fit this buffer is answered by hyper with a bare 431. Also bounds what one connection
/// can make the service hold before a request is complete.
const HYPER_MAX_BUF: usize = 64 * 1024;
/// More headers than `limits::MAX_HEADERS`, so that the problem body answers the usual excess.
const HYPER_MAX_HEADERS: usize = 2 * limits::MAX_HEADERS;
/// How long an over-the-cap connection may take to be told so (its TLS handshake and request
/// head included) before it is just closed.
const REFUSAL_TIME: Duration = Duration::from_secs(3);
/// Refusals being answered at once; beyond this a connection over the cap is closed unanswered,
/// so that a flood cannot make the refusals themselves a second, unbounded set of connections.
const MAX_REFUSALS: usize = 256;
/// What over-the-cap clients are told to wait.
const REFUSAL_RETRY_AFTER: Duration = Duration::from_secs(5);

/// How the loop serves.
pub struct ServeOptions {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub tls: Option<TlsAcceptor>,
}

/// The connections still open once the port stops accepting.
pub struct Draining {
    connections: TaskTracker,
    finish: CancellationToken,
}

impl Draining {
    /// Tells every connection to finish the request it is in (idle ones close at once), and
    /// waits until they have. Upgraded connections are not waited for: they are WebSockets now.
    pub async fn finish(self) {
        self.finish.cancel();
        self.connections.close();
        self.connections.wait().await;
    }
}

/// Serves `app` on `listener` until `stop` is cancelled, then stops accepting (the listener is
/// closed) and returns the open connections, to be drained.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    stop: CancellationToken,
) -> Draining {
    let connections = TaskTracker::new();
    let finish = CancellationToken::new();
    let open = Arc::new(Semaphore::new(options.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let builder = Arc::new(builder(options.header_read_timeout));
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
        };
        // Latency matters more than packet count for small JSON answers and push frames.
        let _ = tcp.set_nodelay(true);
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            refuse(tcp, options.tls.clone(), &refusals);
            continue;
        };
        let connection = Connection {
            app: app.clone(),
            peer,
            builder: Arc::clone(&builder),
            finish: finish.clone(),
            tls: options.tls.clone(),
            handshake_timeout: options.header_read_timeout,
        };
        connections.spawn(connection.serve(Counted::new(tcp, permit)));
    }
    Draining {
        connections,
        finish,
    }
}

fn builder(header_read_timeout: Duration) -> http1::Builder {
    // HTTP/1.1 only: hyper's header-read timer and head limits are HTTP/1 features, WebSocket
    // handshakes need it, and nothing in front of this service needs cleartext HTTP/2. The timer
    // runs from the first read, so a client that sends nothing is closed after it too, and after
    // each response it bounds how long a kept-alive connection may idle.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(HYPER_MAX_BUF)
        .max_headers(HYPER_MAX_HEADERS);
    builder
}

/// Errors from `accept` are about one connection (it went away) or about the process (out of
/// file descriptors); in the latter case trying again at once would spin.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "could not accept a connection; pausing accepts for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection, with what it needs to be served.
struct Connection {
    app: Router,
    peer: SocketAddr,
    builder: Arc<http1::Builder>,
    finish: CancellationToken,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
}

impl Connection {
    async fn serve(self, tcp: Counted<TcpStream>) {
        let received = Arc::clone(&tcp.received);
        match self.tls.clone() {
            None => self.serve_io(tcp, received).await,
            Some(acceptor) => {
                // The header-read timer starts after the handshake; a handshake left hanging is
                // the same attack one layer down, so it gets the same time.
                match tokio::time::timeout(self.handshake_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => self.serve_io(stream, received).await,
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "TLS handshake failed");
                        metrics::counter!("public_stats_tls_handshake_failures_total", "reason" => "error").increment(1);
                    }
                    Err(_) => {
                        metrics::counter!("public_stats_tls_handshake_failures_total", "reason" => "timeout").increment(1);
                    }
                }
            }
        }
    }

    /// `received`: whether the client has sent anything yet.
    async fn serve_io<I>(self, io: I, received: Arc<AtomicBool>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // What `into_make_service_with_connect_info` gives handlers under `axum::serve`.
        let app = Layer::layer(&axum::Extension(ConnectInfo(self.peer)), self.app.clone());
        let connection = self
            .builder
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(app))
            .with_upgrades();
        tokio::pin!(connection);
        let served = tokio::select! {
            served = connection.as_mut() => served,
            () = self.finish.cancelled() => {
                // A connection that never sent a byte has no request to finish: browsers open
                // such spare connections ahead of need, and each would hold shutdown until the
                // header-read timeout.
                if !received.load(Ordering::Relaxed) {
                    return;
                }
                // Finishes the request in flight, then closes; closes an idle one at once.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = served {
            // Clients vanishing mid-request and header timeouts land here; nothing to act on.
            tracing::debug!(%error, "connection ended with an error");
        }
    }
}

/// Answers a connection over `MAX_CONNECTIONS` with a 503 problem (and `Retry-After`), then
/// closes it. The request head is read first: closing a socket with unread data makes the kernel
/// reset it, and the client would see a reset rather than the answer.
fn refuse(tcp: TcpStream, tls: Option<TlsAcceptor>, refusals: &Arc<Semaphore>) {
    let Ok(slot) = Arc::clone(refusals).try_acquire_owned() else {
        metrics::counter!("public_stats_http_connections_refused_total", "reason" => "refusals-full")
            .increment(1);
        return;
    };
    metrics::counter!("public_stats_http_connections_refused_total", "reason" => "max-connections")
        .increment(1);
    tokio::spawn(async move {
        let _slot = slot;
        let answer = async move {
            match tls {
                None => answer_refusal(tcp).await,
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        answer_refusal(stream).await;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(REFUSAL_TIME, answer).await;
    });
}

async fn answer_refusal<I>(io: I)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(|_request| async {
        Ok::<_, Infallible>(
            ApiError::TooManyConnections {
                retry_after: REFUSAL_RETRY_AFTER,
            }
            .into_response(),
        )
    });
    let mut http = http1::Builder::new();
    http.keep_alive(false)
        .timer(TokioTimer::new())
        .header_read_timeout(REFUSAL_TIME)
        .max_buf_size(HYPER_MAX_BUF);
    let _ = http.serve_connection(TokioIo::new(io), service).await;
}

/// A socket that holds its place under `MAX_CONNECTIONS` (and in the open-connections gauge) for
/// as long as it exists. hyper hands the socket to the WebSocket on upgrade, so the place must
/// travel with the socket itself, not with the connection task, which ends at the upgrade.
/// It also notes whether the client has sent anything (see `Connection::serve_io`). Written here
/// because no crate attaches a guard to an I/O object.
pub(crate) struct Counted<T> {
    inner: T,
    _permit: OwnedSemaphorePermit,
    received: Arc<AtomicBool>,
}

impl<T> Counted<T> {
    pub(crate) fn new(inner: T, permit: OwnedSemaphorePermit) -> Self {
        metrics::gauge!("public_stats_http_connections_open").increment(1.0);
        Counted {
            inner,
            _permit: permit,
            received: Arc::default(),
        }
    }

    /// The socket itself, for writes shared between tasks (`push::outlet`).
    pub(crate) fn get_ref(&self) -> &T {
        &self.inner
    }
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        metrics::gauge!("public_stats_http_connections_open").decrement(1.0);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.received.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
