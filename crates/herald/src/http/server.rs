//! Herald's own accept loop, so that no client can hold sockets forever or crowd others out:
//! a time limit on each request head (also on kept-alive connections), an idle keep-alive
//! limit, caps on connections per client address and in total (excess connections are refused
//! at once, before any HTTP work), and the real client address handed to the handlers.

use crate::config::ServerConfig;
use crate::http::limit::{ClientIp, TrustedProxies};
use axum::extract::ConnectInfo;
use axum::Router;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tower::ServiceExt;

/// How the listener treats connections.
#[derive(Clone, Debug)]
pub struct Options {
    /// Peers whose forwarding headers name the client; they are also exempt from the
    /// per-client cap, since every client behind them shares their address.
    pub trusted_proxies: TrustedProxies,
    /// Time allowed for a whole request head, from the connection's start or from the first
    /// byte of each later request.
    pub header_timeout: Duration,
    /// Time a connection may sit with no request in flight and no byte received; also how long
    /// a response may wait on a client that reads nothing.
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options::from_config(&ServerConfig::default(), None)
    }
}

impl Options {
    /// The `[server]` settings, with the total cap kept within what `open_files` (the soft
    /// open-files limit, when known) leaves after a reserve for the database, probes and
    /// deliveries.
    pub fn from_config(config: &ServerConfig, open_files: Option<u64>) -> Options {
        let wanted = u64::from(config.max_connections());
        let total = match open_files {
            Some(limit) => wanted.min(connection_room(limit)),
            None => wanted,
        };
        let total = usize::try_from(total).unwrap_or(usize::MAX).max(1);
        let per_client = usize::try_from(config.max_connections_per_client())
            .unwrap_or(usize::MAX)
            .clamp(1, total);
        Options {
            trusted_proxies: TrustedProxies::new(config.trusted_proxies.iter().map(|r| r.0)),
            header_timeout: config.header_timeout(),
            idle_timeout: config.idle_timeout(),
            max_connections: total,
            max_connections_per_client: per_client,
        }
    }
}

/// Connections that fit under an open-files limit: a quarter of it (at least 64 files) is kept
/// for everything else the process opens.
pub fn connection_room(open_files: u64) -> u64 {
    let reserve = (open_files / 4).max(64);
    open_files.saturating_sub(reserve).max(1)
}

/// The open-files limits of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit before it was raised.
    pub was: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the open-files soft limit to the hard limit (thousands of clients each hold a
/// socket; the usual soft default is 1,024).
pub fn raise_open_files_limit() -> io::Result<OpenFiles> {
    #[cfg(unix)]
    {
        let (was, _) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
        let soft = rlimit::increase_nofile_limit(u64::MAX)?;
        let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
        Ok(OpenFiles { was, soft, hard })
    }
    #[cfg(not(unix))]
    {
        Err(io::Error::other(
            "open-files limits are not adjustable here",
        ))
    }
}

/// What a refused connection is told before it is closed.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
content-length: 20\r\nretry-after: 5\r\nconnection: close\r\n\r\ntoo many connections";

/// Shortest and longest pause after an accept error (out of file descriptors, say).
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(20), Duration::from_secs(1));

/// How long a stop waits for requests in flight before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Refusals are logged at most this often; the count in between goes with the next line.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(60);

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight
/// finish (for up to 30 s) and returns. Accept errors never end the loop.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let shared = Arc::new(Shared {
        router,
        options,
        open: Mutex::new(Open::default()),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut failing = Failing::default();
    let mut refusals = Refusals::default();
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                let pause = failing.note(&e);
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(pause) => continue,
                }
            }
        };
        failing.recovered();
        match shared.admit(peer.ip()) {
            Ok(slot) => {
                tokio::spawn(connection(
                    shared.clone(),
                    stream,
                    peer,
                    slot,
                    stop_rx.clone(),
                ));
            }
            Err(why) => {
                metrics::counter!("herald_http_connections_refused_total", "reason" => why.as_str())
                    .increment(1);
                refusals.note(why, peer.ip());
                // A fresh socket's send buffer is empty, so this never waits.
                let _ = stream.try_write(REFUSED);
            }
        }
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(stop_rx);
    if tokio::time::timeout(SHUTDOWN_GRACE, stop_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at shutdown were cut off");
    }
    Ok(())
}

/// Errors that concern one connection only; the next accept is unaffected.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// A run of accept errors: logged once, with a growing pause between tries.
#[derive(Default)]
struct Failing {
    errors: u64,
    pause: Duration,
}

impl Failing {
    fn note(&mut self, e: &io::Error) -> Duration {
        if self.errors == 0 {
            tracing::warn!(error = %e, "cannot accept connections; pausing between tries");
            self.pause = ACCEPT_BACKOFF.0;
        } else {
            self.pause = (self.pause * 2).min(ACCEPT_BACKOFF.1);
        }
        self.errors += 1;
        self.pause
    }

    fn recovered(&mut self) {
        if self.errors > 0 {
            tracing::info!(errors = self.errors, "accepting connections again");
            self.errors = 0;
        }
    }
}

/// Logs refused connections at most once a minute.
#[derive(Default)]
struct Refusals {
    logged: Option<Instant>,
    unlogged: u64,
}

impl Refusals {
    fn note(&mut self, why: Refusal, peer: IpAddr) {
        let now = Instant::now();
        if self
            .logged
            .is_some_and(|t| now.duration_since(t) < REFUSAL_LOG_EVERY)
        {
            self.unlogged += 1;
            return;
        }
        tracing::warn!(
            reason = why.as_str(),
            %peer,
            refused_since_last_line = self.unlogged,
            "refusing connections over the cap"
        );
        self.logged = Some(now);
        self.unlogged = 0;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Total,
    PerClient,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::Total => "total",
            Refusal::PerClient => "per_client",
        }
    }
}

struct Shared {
    router: Router,
    options: Options,
    open: Mutex<Open>,
}

/// Connections open now, in all and per client address.
#[derive(Default)]
struct Open {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

impl Shared {
    fn open(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a connection slot for `peer`, or says which cap is full.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, Refusal> {
        let peer = peer.to_canonical();
        let key = (!self.options.trusted_proxies.contains(peer)).then(|| client_key(peer));
        let mut open = self.open();
        if open.total >= self.options.max_connections {
            return Err(Refusal::Total);
        }
        if let Some(key) = key {
            let n = open.per_client.get(&key).copied().unwrap_or(0);
            if n >= self.options.max_connections_per_client {
                return Err(Refusal::PerClient);
            }
            open.per_client.insert(key, n + 1);
        }
        open.total += 1;
        metrics::gauge!("herald_http_connections_open").increment(1.0);
        Ok(Slot {
            shared: self.clone(),
            key,
        })
    }
}

/// What connections are counted under: the address, or for IPv6 its /64 (one customer's
/// network, which hands its hosts any address in it).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// One open connection's place under the caps, given back when dropped.
struct Slot {
    shared: Arc<Shared>,
    key: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.shared.open();
        open.total = open.total.saturating_sub(1);
        if let Some(key) = self.key {
            if let Some(n) = open.per_client.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.per_client.remove(&key);
                }
            }
        }
        metrics::gauge!("herald_http_connections_open").decrement(1.0);
    }
}

/// Serves one connection until it ends, a time limit passes, or the server stops.
async fn connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    _slot: Slot,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service = Handler {
        shared: shared.clone(),
        peer,
        activity: activity.clone(),
    };
    let mut conn = pin!(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
    let mut timer = pin!(tokio::time::sleep(Duration::ZERO));
    let mut stopping = *stop.borrow_and_update();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        match activity.verdict(Instant::now(), &shared.options) {
            Verdict::Wait(until) => timer.as_mut().reset(until),
            Verdict::Close(why) => {
                metrics::counter!("herald_http_connections_closed_total", "reason" => why)
                    .increment(1);
                // Dropping the connection closes the socket.
                return;
            }
        }
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            () = timer.as_mut() => {}
            () = activity.changed.notified() => {}
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

enum Verdict {
    Wait(Instant),
    Close(&'static str),
}

/// What a connection has been doing, kept by its socket and its requests; times are
/// milliseconds since the connection opened, plus one (0: not set).
struct Activity {
    opened: Instant,
    in_flight: AtomicU32,
    /// When the head being read began; 0 while none is (idle, or a request in flight).
    head_since: AtomicU64,
    /// When the last request ended.
    idle_since: AtomicU64,
    /// Since when the response waits on a client that does not read.
    stalled_since: AtomicU64,
    /// Woken when a head begins, the one change that brings a time limit nearer.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicU32::new(0),
            // A new connection owes its first head from the start.
            head_since: AtomicU64::new(1),
            idle_since: AtomicU64::new(1),
            stalled_since: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn stamp(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    fn at(&self, stamp: u64) -> Instant {
        self.opened + Duration::from_millis(stamp.saturating_sub(1))
    }

    fn received(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self.head_since.load(Ordering::Acquire) == 0
        {
            self.head_since.store(self.stamp(), Ordering::Release);
            self.changed.notify_one();
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(0, Ordering::Release);
    }

    fn request_ended(&self) {
        self.idle_since.store(self.stamp(), Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    fn wrote(&self) {
        if self.stalled_since.load(Ordering::Relaxed) != 0 {
            self.stalled_since.store(0, Ordering::Relaxed);
        }
    }

    fn write_waits(&self) {
        if self.stalled_since.load(Ordering::Relaxed) == 0 {
            self.stalled_since.store(self.stamp(), Ordering::Relaxed);
        }
    }

    /// Whether the connection has outstayed its limits, else when to look again.
    fn verdict(&self, now: Instant, options: &Options) -> Verdict {
        let due = |at: Instant, why| {
            if now >= at {
                Verdict::Close(why)
            } else {
                Verdict::Wait(at)
            }
        };
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return match self.stalled_since.load(Ordering::Relaxed) {
                0 => Verdict::Wait(now + options.idle_timeout),
                since => due(self.at(since) + options.idle_timeout, "stalled_write"),
            };
        }
        match self.head_since.load(Ordering::Acquire) {
            0 => due(
                self.at(self.idle_since.load(Ordering::Acquire)) + options.idle_timeout,
                "idle_timeout",
            ),
            since => due(self.at(since) + options.header_timeout, "header_timeout"),
        }
    }
}

/// The socket, telling [`Activity`] when bytes come in and when writes wait.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received();
        }
        polled
    }
}

impl Tracked {
    fn note_write(&self, polled: &Poll<io::Result<usize>>) {
        match polled {
            Poll::Ready(Ok(n)) if *n > 0 => self.activity.wrote(),
            Poll::Pending => self.activity.write_waits(),
            _ => {}
        }
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.note_write(&polled);
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.note_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Hands each request to the router with the peer and the client address attached.
struct Handler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Handler {
    type Response = hyper::Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(self.activity.clone());
        let client = self
            .shared
            .options
            .trusted_proxies
            .client(self.peer.ip(), req.headers());
        req.extensions_mut().insert(ConnectInfo(self.peer));
        req.extensions_mut().insert(ClientIp(client));
        let router = self.shared.router.clone();
        Box::pin(async move {
            let response = match router.oneshot(req.map(axum::body::Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok(response.map(|inner| TrackedBody {
                inner,
                _in_flight: in_flight,
            }))
        })
    }
}

/// Counts a request as in flight from its head until its response is sent (or dropped).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.request_started();
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A response body that keeps its request in flight until it is sent.
struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProxyRange;

    fn options(per_client: usize, total: usize, trusted: &[&str]) -> Options {
        Options {
            trusted_proxies: TrustedProxies::new(
                trusted
                    .iter()
                    .map(|s| s.parse::<ProxyRange>().expect("range").0),
            ),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: total,
            max_connections_per_client: per_client,
        }
    }

    fn shared(options: Options) -> Arc<Shared> {
        Arc::new(Shared {
            router: Router::new(),
            options,
            open: Mutex::new(Open::default()),
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn caps_per_client_and_in_all() {
        let s = shared(options(2, 3, &["10.0.0.0/8"]));
        let a1 = s.admit(ip("192.0.2.1")).expect("first");
        let _a2 = s.admit(ip("192.0.2.1")).expect("second");
        assert_eq!(s.admit(ip("192.0.2.1")).err(), Some(Refusal::PerClient));
        // The IPv4-mapped form is the same client.
        assert_eq!(
            s.admit(ip("::ffff:192.0.2.1")).err(),
            Some(Refusal::PerClient)
        );
        let _b = s.admit(ip("192.0.2.2")).expect("another client");
        assert_eq!(s.admit(ip("192.0.2.3")).err(), Some(Refusal::Total));
        drop(a1);
        let _a3 = s.admit(ip("192.0.2.1")).expect("a slot came back");
        assert_eq!(s.open().total, 3);

        // Trusted proxies carry many clients: only the total cap applies to them.
        let s = shared(options(1, 3, &["10.0.0.0/8"]));
        let held: Vec<_> = (0..3)
            .map(|_| s.admit(ip("10.0.0.1")).expect("proxy"))
            .collect();
        assert_eq!(s.admit(ip("10.0.0.1")).err(), Some(Refusal::Total));
        drop(held);
        assert_eq!(s.open().total, 0);
        assert!(s.open().per_client.is_empty());
    }

    #[test]
    fn an_ipv6_network_counts_as_one_client() {
        let s = shared(options(1, 10, &[]));
        let _a = s.admit(ip("2001:db8:1:2::1")).expect("first");
        assert_eq!(
            s.admit(ip("2001:db8:1:2:ffff::9")).err(),
            Some(Refusal::PerClient)
        );
        let _b = s.admit(ip("2001:db8:1:3::1")).expect("another /64");
    }

    #[test]
    fn the_total_cap_fits_the_open_files_limit() {
        let c = ServerConfig::default();
        assert_eq!(Options::from_config(&c, None).max_connections, 10_000);
        assert_eq!(
            Options::from_config(&c, Some(1_048_576)).max_connections,
            10_000
        );
        let small = Options::from_config(&c, Some(1024));
        assert_eq!(small.max_connections, 768);
        assert_eq!(small.max_connections_per_client, 256);
        assert_eq!(Options::from_config(&c, Some(100)).max_connections, 36);
        let tiny = Options::from_config(&c, Some(10));
        assert_eq!(
            (tiny.max_connections, tiny.max_connections_per_client),
            (1, 1)
        );
    }

    #[test]
    fn accept_errors_back_off_without_giving_up() {
        let mut f = Failing::default();
        let e = io::Error::from_raw_os_error(24);
        let pauses: Vec<Duration> = (0..8).map(|_| f.note(&e)).collect();
        assert_eq!(pauses[0], ACCEPT_BACKOFF.0);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]), "{pauses:?}");
        assert_eq!(pauses[7], ACCEPT_BACKOFF.1);
        f.recovered();
        assert_eq!(f.note(&e), ACCEPT_BACKOFF.0, "a new run starts short again");
        assert!(!is_connection_error(&e));
        assert!(is_connection_error(
            &io::ErrorKind::ConnectionAborted.into()
        ));
    }

    #[test]
    fn time_limits_follow_what_the_connection_does() {
        let o = options(1, 1, &[]);
        let a = Activity::new();
        let t0 = a.opened;
        let secs = |n: u64| t0 + Duration::from_secs(n);
        // A stamp `n` seconds after the connection opened.
        let stamp = |n: u64| n * 1000 + 1;
        let closes_at = |a: &Activity, now: Instant| match a.verdict(now, &o) {
            Verdict::Close(why) => Some(why),
            Verdict::Wait(_) => None,
        };
        // A new connection owes a head within the header limit.
        assert_eq!(closes_at(&a, secs(9)), None);
        assert_eq!(closes_at(&a, secs(10)), Some("header_timeout"));
        // A request in flight is not timed by either limit.
        a.request_started();
        assert_eq!(closes_at(&a, secs(500)), None);
        a.request_ended();
        a.idle_since.store(stamp(20), Ordering::Release);
        // Kept alive: the idle limit runs from the end of the last request...
        assert_eq!(closes_at(&a, secs(79)), None);
        assert_eq!(closes_at(&a, secs(80)), Some("idle_timeout"));
        // ...until a byte of the next head comes, from when the header limit runs.
        a.received();
        assert_ne!(a.head_since.load(Ordering::Acquire), 0);
        a.head_since.store(stamp(25), Ordering::Release);
        a.received();
        assert_eq!(a.head_since.load(Ordering::Acquire), stamp(25), "kept");
        assert_eq!(closes_at(&a, secs(34)), None);
        assert_eq!(closes_at(&a, secs(35)), Some("header_timeout"));
        // A response waiting on a client that reads nothing is cut after the idle limit.
        a.request_started();
        assert_eq!(a.head_since.load(Ordering::Acquire), 0);
        a.received();
        assert_eq!(a.head_since.load(Ordering::Acquire), 0, "a body is no head");
        a.write_waits();
        a.stalled_since.store(stamp(25), Ordering::Relaxed);
        a.write_waits();
        assert_eq!(closes_at(&a, secs(84)), None);
        assert_eq!(closes_at(&a, secs(85)), Some("stalled_write"));
        a.wrote();
        assert_eq!(closes_at(&a, secs(500)), None);
    }
}
