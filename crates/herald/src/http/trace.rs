//! Request tracing. Every request carries an id: the caller's `x-request-id` when it is
//! well-formed (at most [`MAX_LEN`] characters of `A-Z a-z 0-9 - _ . :`), a fresh random one
//! otherwise. It goes back in the `x-request-id` response header and in every JSON error body,
//! so a user's report can be matched with the server's log.
//!
//! Two layers, both in [`crate::http::router`]:
//! - [`RequestIds`] over the whole router, the public read path included: it picks the id,
//!   makes it [`current`] for the request's task and puts it on the response. Nothing else, so
//!   the read path stays a lookup and a handful of headers.
//! - [`Spans`] around each route (an `info` span named `request` with the method, the matched
//!   route, the id, and the status and latency once it ends) and around the public read path
//!   (the same span at `debug`, so it costs nothing unless asked for). Errors are logged inside
//!   that span with their whole source chain; the client only sees the id.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use futures_util::future::{BoxFuture, Either, FutureExt, Map};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::Instrument;

/// The request and response header that carries the id.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a caller; longer ones are replaced.
pub const MAX_LEN: usize = 64;

/// One request's id: plain ASCII, safe to log and to put in a header as it is. Held inline, so
/// handing it around costs no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId {
    len: u8,
    text: [u8; MAX_LEN],
}

impl RequestId {
    /// The caller's id, when it is short and plain enough to log and echo.
    pub fn given(value: &HeaderValue) -> Option<RequestId> {
        let bytes = value.as_bytes();
        let plain = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':');
        if bytes.is_empty() || bytes.len() > MAX_LEN || !bytes.iter().all(plain) {
            return None;
        }
        let mut text = [0u8; MAX_LEN];
        text[..bytes.len()].copy_from_slice(bytes);
        Some(RequestId {
            len: bytes.len() as u8,
            text,
        })
    }

    /// A fresh id: 128 random bits as 32 hex digits.
    pub fn generate() -> RequestId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bits: u128 = rand::random();
        let mut text = [0u8; MAX_LEN];
        for (i, c) in text[..32].iter_mut().enumerate() {
            *c = HEX[((bits >> (124 - 4 * i)) & 0xf) as usize];
        }
        RequestId { len: 32, text }
    }

    /// The id of `request`: its own when well-formed, else a fresh one.
    pub fn of<B>(request: &axum::http::Request<B>) -> RequestId {
        request
            .headers()
            .get(&HEADER)
            .and_then(RequestId::given)
            .unwrap_or_else(RequestId::generate)
    }

    pub fn as_str(&self) -> &str {
        // Only plain ASCII is ever stored.
        std::str::from_utf8(&self.text[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequestId({:?})", self.as_str())
    }
}

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request being handled on this task, if any; error responses carry it.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(|id| *id).ok()
}

/// Gives every request its [`RequestId`] (see the module's documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIds<S>;

    fn layer(&self, inner: S) -> RequestIds<S> {
        RequestIds { inner }
    }
}

#[derive(Clone, Debug)]
pub struct RequestIds<S> {
    inner: S,
}

/// The inner answer with the id put on it, all polled with the id [`current`]: no box, no
/// allocation but the header's own.
type Tagged<F, E> = TaskLocalFuture<RequestId, Map<F, Tag<E>>>;

/// [`tag`] as a plain function pointer, so the future's type can be named.
type Tag<E> = fn(Result<Response, E>) -> Result<Response, E>;

impl<S> Service<Request> for RequestIds<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Tagged<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let id = RequestId::of(&req);
        let inner = CURRENT.sync_scope(id, || self.inner.call(req));
        let tag: Tag<S::Error> = tag;
        CURRENT.scope(id, inner.map(tag))
    }
}

/// Puts the current id on a response (run inside the id's scope).
fn tag<E>(answered: Result<Response, E>) -> Result<Response, E> {
    answered.map(|mut response| {
        if let Some(value) = current().and_then(|id| HeaderValue::from_str(id.as_str()).ok()) {
            response.headers_mut().insert(HEADER, value);
        }
        response
    })
}

/// Runs each request inside a `request` span (see the module's documentation).
#[derive(Clone, Copy, Debug)]
pub struct SpanLayer {
    public: bool,
}

impl SpanLayer {
    /// For routed requests: an `info` span named by the matched route.
    pub fn routes() -> SpanLayer {
        SpanLayer { public: false }
    }

    /// For the public read path: a `debug` span named by the path, off unless asked for.
    pub fn public() -> SpanLayer {
        SpanLayer { public: true }
    }
}

impl<S> Layer<S> for SpanLayer {
    type Service = Spans<S>;

    fn layer(&self, inner: S) -> Spans<S> {
        Spans {
            inner,
            public: self.public,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Spans<S> {
    inner: S,
    public: bool,
}

impl<S> Service<Request> for Spans<S>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    /// Without a subscriber that wants the span, the inner future as it is.
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let span = if self.public {
            tracing::debug_span!(
                "request",
                method = %req.method(),
                route = %req.uri().path(),
                request_id = tracing::field::Empty,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            )
        } else {
            let route = match req.extensions().get::<MatchedPath>() {
                Some(matched) => matched.as_str(),
                None => req.uri().path(),
            };
            tracing::info_span!(
                "request",
                method = %req.method(),
                route = %route,
                request_id = tracing::field::Empty,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            )
        };
        if span.is_disabled() {
            return Either::Left(self.inner.call(req));
        }
        if let Some(id) = current() {
            span.record("request_id", tracing::field::display(id));
        }
        let started = Instant::now();
        let answered = span.in_scope(|| self.inner.call(req));
        Either::Right(Box::pin(async move {
            let result = answered.instrument(span.clone()).await;
            if let Ok(response) = &result {
                let status = response.status().as_u16();
                span.record("status", status);
                span.record("latency_ms", started.elapsed().as_micros() as f64 / 1000.0);
                span.in_scope(|| {
                    if status >= 500 {
                        tracing::warn!("request failed");
                    } else {
                        tracing::debug!("request answered");
                    }
                });
            }
            result
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_short_ids_are_taken() {
        for ok in ["abc", "0f2c-11ee.be56:0242_ac12", &"a".repeat(MAX_LEN)] {
            let id = RequestId::given(&HeaderValue::from_str(ok).expect("value"));
            assert_eq!(id.as_ref().map(RequestId::as_str), Some(ok));
        }
        for bad in [
            "",
            "a b",
            "<script>",
            "id\"x",
            "a/b",
            &"a".repeat(MAX_LEN + 1),
        ] {
            let value = HeaderValue::from_str(bad).expect("value");
            assert_eq!(RequestId::given(&value), None, "{bad:?}");
        }
        let raw = HeaderValue::from_bytes(b"caf\xc3\xa9").expect("value");
        assert_eq!(RequestId::given(&raw), None);
    }

    #[test]
    fn fresh_ids_are_hex_and_differ() {
        let (a, b) = (RequestId::generate(), RequestId::generate());
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        let header = HeaderValue::from_str(a.as_str()).expect("header");
        assert_eq!(RequestId::given(&header), Some(a));
        assert_ne!(a, b);
    }
}
