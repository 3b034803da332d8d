//! Public GETs: a lookup in the in-memory snapshot, never the database. Strong ETags answer
//! `If-None-Match` with 304; bodies go out precompressed when the client accepts brotli or gzip.

use crate::http::state::AppState;
use crate::render::Entry;
use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// Liveness: the process answers. Never touches the database.
#[utoipa::path(
    get,
    path = "/healthz",
    responses((status = 200, description = "The process answers", body = String, content_type = "text/plain"))
)]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers too.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "The database answers", body = String, content_type = "text/plain"),
        (status = 503, description = "The database is unavailable or refuses writes (full disk, read-only)", body = String, content_type = "text/plain"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(e) = state.store.ping().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}\n"),
        )
            .into_response();
    }
    match state.writable().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

/// Watches write requests for [`crate::http::error::WriteRefused`]: a refusal makes `/readyz`
/// not ready until a later write succeeds.
pub async fn track_writes(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let res = next.run(req).await;
    if writes {
        if let Some(refused) = res.extensions().get::<crate::http::error::WriteRefused>() {
            state.note_write(Some(refused.0.clone()));
        } else if res.status().is_success() || res.status().is_redirection() {
            state.note_write(None);
        }
    }
    res
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

fn accepted(headers: &HeaderMap) -> (bool, bool) {
    let Some(value) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return (false, false);
    };
    let (mut br, mut gz) = (false, false);
    for item in value.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            let p = p.trim();
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match token {
            "br" => br = true,
            "gzip" | "x-gzip" => gz = true,
            "*" => {
                br = true;
                gz = true;
            }
            _ => {}
        }
    }
    (br, gz)
}

fn pick(entry: &Entry, headers: &HeaderMap) -> Encoding {
    let (br, gz) = accepted(headers);
    if br && entry.brotli.is_some() {
        Encoding::Brotli
    } else if gz && entry.gzip.is_some() {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t == etag || t.strip_prefix("W/") == Some(etag)
        })
}

/// Finds the entry for a path: exact, or the v2 API without its `.json` suffix, or a page
/// asked for with a trailing slash.
fn lookup<'a>(
    snapshot: &'a crate::render::Snapshot,
    path: &str,
) -> Option<&'a std::sync::Arc<Entry>> {
    snapshot.get(path).or_else(|| {
        if path.starts_with("/api/v2/") && !path.ends_with(".json") {
            snapshot.get(&format!("{path}.json"))
        } else if path.len() > 1 && path.ends_with('/') {
            snapshot.get(path.trim_end_matches('/'))
        } else {
            None
        }
    })
}

/// What the public read path needs of the state: three pointers, cheap to clone per request.
#[derive(Clone)]
pub struct ReadState {
    snapshot: std::sync::Arc<arc_swap::ArcSwap<crate::render::Snapshot>>,
    stale: std::sync::Arc<std::sync::atomic::AtomicBool>,
    https: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl axum::extract::FromRef<AppState> for ReadState {
    fn from_ref(state: &AppState) -> Self {
        ReadState {
            snapshot: state.site.snapshot.clone(),
            stale: state.site.stale.clone(),
            https: state.site.https.clone(),
        }
    }
}

/// Serves any public path from the snapshot.
pub async fn snapshot(
    State(state): State<ReadState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let tls = crate::http::security::behind_tls(&headers, &state.https);
    let mut response = from_snapshot(&state, method, uri, headers);
    crate::http::security::apply(&mut response, false, tls);
    response
}

/// The snapshot's answer for a path, without the security headers (the caller adds them).
pub(crate) fn from_snapshot(
    state: &ReadState,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let snap = state.snapshot.load();
    let Some(entry) = lookup(&snap, uri.path()) else {
        return not_found(&snap);
    };
    let mut response = if matches_etag(&headers, &entry.etag) {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
    } else {
        let encoding = pick(entry, &headers);
        let (body, coding) = match encoding {
            Encoding::Brotli => (entry.brotli.clone().unwrap_or_default(), Some("br")),
            Encoding::Gzip => (entry.gzip.clone().unwrap_or_default(), Some("gzip")),
            Encoding::Identity => (entry.identity.clone(), None),
        };
        let mut b = Response::builder()
            .status(StatusCode::OK)
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static(entry.content_type),
            )
            .header(header::CONTENT_LENGTH, body.len());
        if let Some(c) = coding {
            b = b.header(header::CONTENT_ENCODING, HeaderValue::from_static(c));
        }
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(body)
        };
        b.body(body)
    }
    .unwrap_or_else(|_| Response::new(Body::empty()));
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&entry.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, cache_policy(uri.path()));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if state.stale.load(std::sync::atomic::Ordering::Relaxed) {
        h.insert("x-herald-stale", HeaderValue::from_static("true"));
    }
    response
}

/// Assets change only with a new release; everything else must show a change at once, so
/// browsers revalidate it every time (a cheap 304 with the ETag).
fn cache_policy(path: &str) -> HeaderValue {
    if path.starts_with("/assets/") {
        HeaderValue::from_static("public, max-age=300")
    } else {
        HeaderValue::from_static("public, no-cache")
    }
}

fn not_found(snap: &crate::render::Snapshot) -> Response {
    match snap.get("/404.html") {
        Some(page) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, page.content_type)],
            page.identity.clone(),
        )
            .into_response(),
        None => crate::http::error::AppError::NotFound.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn encodings_are_negotiated() {
        assert_eq!(
            accepted(&headers(&[("accept-encoding", "gzip, deflate, br")])),
            (true, true)
        );
        assert_eq!(
            accepted(&headers(&[("accept-encoding", "gzip;q=1.0, br;q=0")])),
            (false, true)
        );
        assert_eq!(accepted(&headers(&[])), (false, false));
    }

    #[test]
    fn etags_match_lists_and_weak_forms() {
        let e = "\"abc-1\"";
        assert!(matches_etag(
            &headers(&[("if-none-match", "\"x\", \"abc-1\"")]),
            e
        ));
        assert!(matches_etag(
            &headers(&[("if-none-match", "W/\"abc-1\"")]),
            e
        ));
        assert!(!matches_etag(
            &headers(&[("if-none-match", "\"abc-2\"")]),
            e
        ));
    }
}
