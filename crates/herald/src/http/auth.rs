//! Credentials: argon2 password hashes, random session tokens and API keys (stored as SHA-256
//! hashes), and the [`Caller`] every write handler asks for — from an API key
//! (`Authorization: OAuth KEY`, `Bearer KEY`, the bare key, or `?api_key=`) or a session cookie.
//!
//! [`require_role`] runs in front of the APIs: an unsafe request is authenticated and its role
//! checked before a byte of its body is read, and the [`Caller`] it found is handed on to the
//! handler's extractor instead of being looked up again.

use crate::http::error::AppError;
use crate::http::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "herald_session";
/// Header carrying the CSRF token on session-authenticated writes from scripts.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub use crate::service::access::{
    hash_password, new_secret, secret_hash, verify_password, Caller, Credential, MIN_PASSWORD,
};

/// The API key in a request, if any, in every form Statuspage clients send it.
fn api_key(parts: &Parts) -> Option<String> {
    if let Some(value) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        let key = value
            .strip_prefix("OAuth ")
            .or_else(|| value.strip_prefix("Bearer "))
            .or_else(|| value.strip_prefix("Token "))
            .unwrap_or(value);
        return Some(key.trim().to_string());
    }
    parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("api_key=").map(|k| k.to_string()))
    })
}

/// The value of the cookie `name` in a request's headers, if any.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(|t| t.to_string())
        })
}

/// The session token from the cookie header, if any.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

/// Whether a method may change something (and so needs a writer, and a CSRF token on sessions).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Finds who is calling: an API key, or a live session (whose unsafe requests must carry the
/// session's CSRF token).
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, AppError> {
    let now = (state.clock)();
    if let Some(key) = api_key(parts) {
        let found = state.store.api_key_by_hash(&secret_hash(&key), now).await?;
        return match found {
            Some(k) => Ok(Caller {
                role: k.role,
                credential: Credential::ApiKey { name: k.name },
            }),
            None => Err(AppError::Unauthorized),
        };
    }
    if let Some(token) = session_token(&parts.headers) {
        if let Some(s) = state.store.session(&secret_hash(&token), now).await? {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if is_unsafe(&parts.method) && sent != Some(s.csrf_token.as_str()) {
                return Err(AppError::Forbidden("missing or wrong CSRF token".into()));
            }
            return Ok(Caller {
                role: s.user.role,
                credential: Credential::Session {
                    email: s.user.email,
                    csrf_token: s.csrf_token,
                },
            });
        }
    }
    Err(AppError::Unauthorized)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(found) = parts.extensions.get::<Caller>() {
            return Ok(found.clone());
        }
        let refused = parts
            .extensions
            .get::<Refused>()
            .and_then(|r| r.0.lock().ok().and_then(|mut e| e.take()));
        if let Some(e) = refused {
            return Err(e);
        }
        authenticate(parts, state).await
    }
}

/// The role an unsafe request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    /// Nothing: anyone may try (signing in).
    Nobody,
    /// Any signed-in caller (signing out).
    Anyone,
    Writer,
    Owner,
}

/// What an unsafe request to `path` needs; `None` outside the authenticated APIs.
fn needs(method: &Method, path: &str) -> Option<Needs> {
    if let Some(rest) = path.strip_prefix("/api/herald/v1") {
        let rest = rest.trim_end_matches('/');
        return Some(match rest {
            "/session" if *method == Method::POST => Needs::Nobody,
            "/session" => Needs::Anyone,
            _ if rest == "/users"
                || rest == "/api-keys"
                || rest.starts_with("/users/")
                || rest.starts_with("/api-keys/") =>
            {
                Needs::Owner
            }
            _ => Needs::Writer,
        });
    }
    if path == "/v1" || path.starts_with("/v1/") {
        return Some(Needs::Writer);
    }
    None
}

/// A refusal [`require_role`] decided on, waiting for the route to be known.
#[derive(Clone)]
struct Refused(std::sync::Arc<std::sync::Mutex<Option<AppError>>>);

/// In front of everything (outside the body limit): an unsafe request to the native API or the
/// Statuspage v1 API is authenticated, and its role checked against what the route does (401
/// without credentials, 403 for a viewer, or an editor on owner-only routes), before any of its
/// body is read. A refused request's body is dropped unread and the refusal is answered by the
/// handler's [`Caller`] extractor once the route matched (so an unknown method still gets 405);
/// an allowed caller rides on in the request's extensions for that extractor instead.
pub async fn require_role(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_unsafe(req.method()) {
        return next.run(req).await;
    }
    let Some(needed) = needs(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    if needed == Needs::Nobody {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let verdict = authenticate(&parts, &state).await.and_then(|caller| {
        match needed {
            Needs::Nobody | Needs::Anyone => Ok(()),
            Needs::Writer => caller.require_write().map_err(AppError::from),
            Needs::Owner => caller.require_owner().map_err(AppError::from),
        }
        .map(|()| caller)
    });
    match verdict {
        Ok(caller) => {
            parts.extensions.insert(caller);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => {
            drop(body);
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.remove(header::TRANSFER_ENCODING);
            parts
                .extensions
                .insert(Refused(std::sync::Arc::new(std::sync::Mutex::new(Some(e)))));
            next.run(Request::from_parts(parts, axum::body::Body::empty()))
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn unsafe_api_routes_need_the_right_role() {
        let (post, delete, get) = (Method::POST, Method::DELETE, Method::GET);
        assert_eq!(needs(&post, "/api/herald/v1/session"), Some(Needs::Nobody));
        assert_eq!(
            needs(&delete, "/api/herald/v1/session"),
            Some(Needs::Anyone)
        );
        assert_eq!(
            needs(&post, "/api/herald/v1/incidents"),
            Some(Needs::Writer)
        );
        assert_eq!(needs(&post, "/api/herald/v1/api-keys"), Some(Needs::Owner));
        assert_eq!(
            needs(&delete, "/api/herald/v1/api-keys/abc"),
            Some(Needs::Owner)
        );
        assert_eq!(needs(&post, "/api/herald/v1/users"), Some(Needs::Owner));
        assert_eq!(needs(&post, "/v1/pages/x/incidents"), Some(Needs::Writer));
        assert_eq!(needs(&post, "/subscribe"), None);
        assert_eq!(needs(&post, "/admin/login"), None);
        assert_eq!(needs(&post, "/v1x"), None);
        assert!(!is_unsafe(&get));
    }

    #[test]
    fn cookies_are_found_by_their_whole_name() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            header::COOKIE,
            "herald_session_x=1; herald_session=abc; other=2"
                .parse()
                .expect("header"),
        );
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
        assert_eq!(cookie_value(&h, "other").as_deref(), Some("2"));
        assert_eq!(cookie_value(&h, "missing"), None);
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_secret(20);
        assert_eq!(a.len(), 40);
        assert_ne!(a, new_secret(20));
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), a);
    }
}
