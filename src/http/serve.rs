//! The accept loop: axum's router on hyper's HTTP/1.1 connections, with the
//! limits a service facing the internet needs. `axum::serve` has no timers,
//! so a client that trickles a request head one byte at a time, or opens
//! connections and says nothing, would hold them for ever.
//!
//! Each connection is in one of three phases, watched by a timer of its own:
//! - *head*: from accept, or from the first byte of the next request, until
//!   the request reaches the router — bounded by the header-read timeout,
//!   and, until the connection's very first byte, by the shorter first-byte
//!   timeout (a connection that says nothing holds a slot for little time);
//! - *in flight*: the router is working — bounded by the request timeout (a
//!   middleware, so the client gets an answer);
//! - *idle*: between an answer and the next request's first byte — bounded
//!   by the idle timeout, after which the connection is closed gracefully.
//!
//! Besides the cap on all connections, each client address may hold only so
//! many at once; one past that is closed at accept, so a single client
//! cannot take every slot.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use super::address_slots::AddressSlots;

/// Timeouts and caps of the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    /// A connection that has sent no byte at all is closed after this.
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// How long open requests may take once shutdown has begun.
    pub shutdown_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting (the listener is closed, so new connections are refused) and
/// lets open connections finish their current request, for at most the
/// shutdown timeout.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let address_slots = AddressSlots::new(limits.max_connections_per_address);
    let (stop_connections, stopping) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: new clients wait in the kernel's backlog.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(address_slot) = address_slots.take(peer.ip()) else {
            // Dropping the stream closes it; the slot goes back at once.
            tracing::debug!(%peer, "connection refused: this address holds its maximum");
            continue;
        };
        let router = router.clone();
        let stopping = stopping.clone();
        connections.spawn(async move {
            serve_connection(stream, peer, router, limits, stopping).await;
            drop((slot, address_slot));
        });
        // Reap finished connections so the set does not grow with history.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let open = connections.len();
    tracing::info!(
        open,
        "shutting down: no new connections, finishing requests in flight"
    );
    let _ = stop_connections.send(true);
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            cut = connections.len(),
            "shutdown timeout reached; cutting the connections still open"
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(WatchedStream {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service_activity = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        service_activity.request_started();
        request.extensions_mut().insert(ConnectInfo(peer));
        let answer = router.clone().oneshot(request.map(Body::new));
        let activity = Arc::clone(&service_activity);
        async move {
            let response = answer.await;
            activity.request_finished();
            Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);

    let mut ticks = tokio::time::interval(watch_interval(limits));
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%err, "connection ended with an error");
                }
                return;
            }
            _ = ticks.tick() => match activity.verdict(limits) {
                Verdict::Fine => {}
                Verdict::HeadTooSlow => {
                    tracing::debug!(%peer, "request head too slow; connection closed");
                    return;
                }
                Verdict::Idle if !closing => {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                Verdict::Idle => {}
            },
            changed = stopping.changed(), if !closing => {
                if changed.is_err() || *stopping.borrow() {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// How often a connection's timer looks at its phase: fine enough that a
/// timeout fires within a quarter of its length.
fn watch_interval(limits: ConnectionLimits) -> Duration {
    let shortest = limits
        .header_read_timeout
        .min(limits.first_byte_timeout)
        .min(limits.idle_timeout);
    (shortest / 4).max(Duration::from_millis(10))
}

const PHASE_HEAD: u8 = 0;
const PHASE_IN_FLIGHT: u8 = 1;
const PHASE_IDLE: u8 = 2;

/// A connection's phase and when it began, shared by the stream, the service
/// and the connection's timer.
struct Activity {
    origin: Instant,
    phase: AtomicU8,
    phase_since_ms: AtomicU64,
    /// Whether any byte has arrived on the connection yet.
    spoken: AtomicBool,
}

enum Verdict {
    Fine,
    HeadTooSlow,
    Idle,
}

impl Activity {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            phase: AtomicU8::new(PHASE_HEAD),
            phase_since_ms: AtomicU64::new(0),
            spoken: AtomicBool::new(false),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn enter(&self, phase: u8) {
        self.phase_since_ms
            .store(self.elapsed_ms(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    fn bytes_received(&self) {
        self.spoken.store(true, Ordering::Relaxed);
        if self
            .phase
            .compare_exchange(PHASE_IDLE, PHASE_HEAD, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.phase_since_ms
                .store(self.elapsed_ms(), Ordering::Relaxed);
        }
    }

    fn request_started(&self) {
        self.enter(PHASE_IN_FLIGHT);
    }

    fn request_finished(&self) {
        self.enter(PHASE_IDLE);
    }

    fn verdict(&self, limits: ConnectionLimits) -> Verdict {
        let phase = self.phase.load(Ordering::Acquire);
        let in_phase = Duration::from_millis(
            self.elapsed_ms()
                .saturating_sub(self.phase_since_ms.load(Ordering::Relaxed)),
        );
        match phase {
            PHASE_HEAD if in_phase >= limits.header_read_timeout => Verdict::HeadTooSlow,
            PHASE_HEAD
                if in_phase >= limits.first_byte_timeout
                    && !self.spoken.load(Ordering::Relaxed) =>
            {
                Verdict::HeadTooSlow
            }
            PHASE_IDLE if in_phase >= limits.idle_timeout => Verdict::Idle,
            _ => Verdict::Fine,
        }
    }
}

/// The TCP stream, telling [`Activity`] when a new request's bytes arrive.
struct WatchedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_received();
        }
        polled
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
