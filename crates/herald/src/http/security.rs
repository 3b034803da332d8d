//! Security headers on every answer.
//!
//! - `Content-Security-Policy`: scripts, styles, fonts and frames only from Herald itself, no
//!   inline script or style anywhere (the templates have none), images also from `data:` and
//!   any web address (a configured logo lives elsewhere). Admin pages add `frame-ancestors
//!   'none'`; public pages may be embedded, as status widgets are.
//! - `X-Content-Type-Options: nosniff`, a `Referrer-Policy`, and `X-Frame-Options: DENY` on admin
//!   pages for browsers without `frame-ancestors`.
//! - `Strict-Transport-Security` when the request came over TLS through a proxy
//!   (`X-Forwarded-Proto: https`) or the page's address is `https://`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const CSP_PUBLIC: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: https: http:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'";
const CSP_ADMIN: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: https: http:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The middleware for every route but the public read path: `page_https` says whether the
/// page's address is `https://` (kept by the snapshot refresher).
pub async fn headers(
    State(page_https): State<Arc<AtomicBool>>,
    req: Request,
    next: Next,
) -> Response {
    let admin = req.uri().path().starts_with("/admin");
    let tls = behind_tls(req.headers(), &page_https);
    let mut response = next.run(req).await;
    apply(&mut response, admin, tls);
    response
}

/// Whether the request came over TLS (through a proxy) or the page lives at `https://`.
pub fn behind_tls(request: &axum::http::HeaderMap, page_https: &AtomicBool) -> bool {
    page_https.load(Ordering::Relaxed)
        || request
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// Sets the security headers on `response` and counts it.
pub fn apply(response: &mut Response, admin: bool, tls: bool) {
    let class = match response.status().as_u16() {
        100..=399 => "ok",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("herald_http_requests_total", "class" => class).increment(1);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if admin { CSP_ADMIN } else { CSP_PUBLIC }),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if admin {
            "same-origin"
        } else {
            "strict-origin-when-cross-origin"
        }),
    );
    if admin {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}
