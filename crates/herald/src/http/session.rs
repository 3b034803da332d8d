//! Signing in and out: a password check held back by per-client counters, then an HttpOnly,
//! SameSite=Strict session cookie plus a CSRF token for writes. `POST /api/herald/v1/session`
//! and `POST /admin/login` both go through [`sign_in`].
//!
//! Failures are counted by client address, never by account alone, so nobody can lock an owner
//! out from somewhere else:
//! - per address and account ([`access::PAIR_RULE`]): five failures lock that address out of that
//!   account for 15 minutes; the owner signing in from another address is not affected;
//! - per address over all accounts, known or not ([`access::ADDRESS_RULE`]): ten failures hold the
//!   address back for a minute, doubling each time it earns another lock, up to an hour. A held
//!   back address is answered 429 without a password check; and no address has more than
//!   [`IN_FLIGHT`] checks running at once, so a burst cannot outrun the counters.
//!
//! There is deliberately no ceiling per account: any account-wide lock can be driven by a set of
//! addresses (or by one, through a proxy) and would lock the team out again. Guessing spread over
//! many addresses is bounded by five tries per address and account per lock and by the cost of
//! argon2. A lock that ran out starts a fresh count. IPv6 clients are counted by their /64.
//!
//! Wrong password, unknown account and an address locked out of an account get the same answer
//! (401, same body); only a held-back address gets 429. The counters are kept in memory, per
//! instance: instances sharing a database each count on their own, and a restart forgets them.
//!
//! The audit log records each sign-in and each checked failure (actor `user:EMAIL`, the outcome
//! and the client address), and one entry when a lock starts; attempts refused by a lock are not
//! written one by one, so a flood of them adds nothing to the log.

use crate::http::auth::{self, Caller, Credential, SESSION_COOKIE};
use crate::http::body::Body;
use crate::http::error::AppError;
use crate::http::limit::ClientIp;
use crate::http::openapi::{ErrorBody, SessionOpened};
use crate::http::state::AppState;
use crate::service::users::{LockScope, SignInEvent};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use herald_core::access::{self, LockRule, Strikes, Struck};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub use crate::service::users::SESSION_HOURS;
/// Password checks one address may have running at once; more are answered 429.
pub const IN_FLIGHT: u32 = 2;
/// Counters kept before idle ones are dropped.
const KEEP: usize = 50_000;

/// The longest email address there can be (RFC 5321: 254 characters in a path).
const MAX_EMAIL: usize = 254;

/// The body of `POST /api/herald/v1/session`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// A signed-in session: the cookie value and its CSRF token.
pub struct Opened {
    pub token: String,
    pub csrf_token: String,
    pub email: String,
    pub role: access::Role,
}

/// The in-memory sign-in counters of this instance.
#[derive(Default)]
pub struct Guard {
    inner: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    addresses: HashMap<String, (Strikes, u32)>,
    pairs: HashMap<(String, String), Strikes>,
}

/// Whether an attempt may go on to the password check.
enum Gate {
    /// Checked; the permit ends the check when dropped.
    Open,
    /// The address is held back.
    AddressLocked,
    /// The address is locked out of this account.
    PairLocked,
}

/// Locks a failure started, for the audit log.
#[derive(Default)]
struct Started {
    pair: Option<DateTime<Utc>>,
    address: Option<DateTime<Utc>>,
}

/// One running password check of an address; ends when dropped.
struct Permit<'a> {
    guard: &'a Guard,
    address: String,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some((_, running)) = self.guard.counters().addresses.get_mut(&self.address) {
            *running = running.saturating_sub(1);
        }
    }
}

impl Guard {
    /// The counters; they stay usable even if a holder panicked (each update is complete).
    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides whether an attempt is checked, and takes a permit when it is.
    fn enter(&self, address: &str, email: &str, now: DateTime<Utc>) -> (Gate, Option<Permit<'_>>) {
        let mut c = self.counters();
        c.prune(now);
        let (strikes, running) = c.addresses.entry(address.to_string()).or_default();
        strikes.settle(&access::ADDRESS_RULE, now);
        if strikes.is_locked(now) || *running >= IN_FLIGHT {
            return (Gate::AddressLocked, None);
        }
        *running += 1;
        let key = (email.to_string(), address.to_string());
        let pair_locked = c.pairs.get_mut(&key).is_some_and(|s| {
            s.settle(&access::PAIR_RULE, now);
            s.is_locked(now)
        });
        // Made once the counters are let go: dropping it takes them again.
        drop(c);
        let permit = Permit {
            guard: self,
            address: address.to_string(),
        };
        if pair_locked {
            (Gate::PairLocked, Some(permit))
        } else {
            (Gate::Open, Some(permit))
        }
    }

    /// Counts a failure for the address and the pair; says which locks it started.
    fn fail(&self, address: &str, email: &str, now: DateTime<Utc>) -> Started {
        let mut c = self.counters();
        let struck = |s: Struck| match s {
            Struck::Locked(until) => Some(until),
            Struck::Counted => None,
        };
        let pair = c
            .pairs
            .entry((email.to_string(), address.to_string()))
            .or_default();
        let pair = struck(pair.fail(&access::PAIR_RULE, now));
        let (strikes, _) = c.addresses.entry(address.to_string()).or_default();
        let address = struck(strikes.fail(&access::ADDRESS_RULE, now));
        Started { pair, address }
    }

    /// A right password clears the pair's count (not the address's: one good account must not
    /// buy an address more guesses at others).
    fn succeeded(&self, address: &str, email: &str) {
        self.counters()
            .pairs
            .remove(&(email.to_string(), address.to_string()));
    }
}

impl Counters {
    /// Drops counters with nothing left to remember once there are many of them.
    fn prune(&mut self, now: DateTime<Utc>) {
        let idle = |s: &Strikes, rule: &LockRule| s.is_idle(rule, now);
        if self.pairs.len() > KEEP {
            self.pairs.retain(|_, s| !idle(s, &access::PAIR_RULE));
        }
        if self.addresses.len() > KEEP {
            self.addresses
                .retain(|_, (s, running)| *running > 0 || !idle(s, &access::ADDRESS_RULE));
        }
    }
}

/// The address a client is counted by: IPv4 as it is (also when mapped into IPv6), IPv6 by its
/// /64, the block one subscriber usually holds.
pub fn counted_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

/// Writes one sign-in entry; a failure to write is logged (the answer does not change).
async fn record(state: &AppState, email: &str, event: SignInEvent) {
    if let Err(e) = state.record_sign_in(email, event).await {
        tracing::warn!(error = %e, "cannot write a sign-in to the audit log");
    }
}

/// Writes the lock entries a failure started.
async fn record_locks(state: &AppState, email: &str, address: &str, started: Started) {
    let locks = [
        (LockScope::AccountFromAddress, started.pair),
        (LockScope::Address, started.address),
    ];
    for (scope, until) in locks {
        if let Some(until) = until {
            let event = SignInEvent::Locked {
                scope,
                address: address.to_string(),
                until,
            };
            record(state, email, event).await;
        }
    }
}

/// Checks the password and opens a session. Wrong password, unknown account and a locked
/// address-and-account pair all answer [`AppError::Unauthorized`]; a held-back address
/// [`AppError::TooManyRequests`].
pub async fn sign_in(
    state: &AppState,
    ip: ClientIp,
    email: &str,
    password: &str,
) -> Result<Opened, AppError> {
    let email = email.trim().to_ascii_lowercase();
    let address = counted_address(ip.0);
    let now = (state.clock)();
    let guard = &state.login_limit;
    let (gate, _permit) = guard.enter(&address, &email, now);
    match gate {
        Gate::AddressLocked => return Err(AppError::TooManyRequests),
        Gate::PairLocked => {
            // As slow as a real check, and it still counts against the address.
            let _ = auth::verify_password(password, decoy_hash());
            let started = guard.fail(&address, &email, now);
            record_locks(state, &email, &address, started).await;
            return Err(AppError::Unauthorized);
        }
        Gate::Open => {}
    }
    if email.len() > MAX_EMAIL {
        // No account has such an address: counted against the sender, but neither kept as a
        // counter key nor written to the audit log, so long junk costs Herald no memory.
        let _ = auth::verify_password(password, decoy_hash());
        let started = guard.fail(&address, "", now);
        record_locks(state, "", &address, started).await;
        return Err(AppError::Unauthorized);
    }
    let user = state.store.user_by_email(&email).await?;
    let matched = match &user {
        Some(u) => auth::verify_password(password, &u.password_hash),
        None => {
            // Spend the same effort as a real check, so timing does not reveal unknown emails.
            let _ = auth::verify_password(password, decoy_hash());
            false
        }
    };
    let user = match user {
        Some(u) if matched => u,
        other => {
            let started = guard.fail(&address, &email, now);
            let event = SignInEvent::Failed {
                user: other.map(|u| u.id),
                address: address.clone(),
            };
            record(state, &email, event).await;
            record_locks(state, &email, &address, started).await;
            return Err(AppError::Unauthorized);
        }
    };
    guard.succeeded(&address, &email);
    let session = state.open_session(&user).await?;
    let event = SignInEvent::SignedIn {
        user: user.id.clone(),
        address,
    };
    record(state, &email, event).await;
    Ok(Opened {
        token: session.token,
        csrf_token: session.csrf_token,
        email: user.email,
        role: user.role,
    })
}

/// A real hash of nothing in particular, checked against when the email is unknown.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| auth::hash_password("no such user here").unwrap_or_default())
}

/// `; Secure` when the request came over TLS, for the cookies Herald sets.
pub fn secure_suffix(headers: &HeaderMap) -> &'static str {
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        == Some("https");
    if tls {
        "; Secure"
    } else {
        ""
    }
}

/// The `Set-Cookie` value for a session; `Secure` when the request came over TLS.
pub fn cookie(token: &str, headers: &HeaderMap) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_HOURS * 3600,
        secure_suffix(headers)
    )
}

/// `POST /api/herald/v1/session`.
#[utoipa::path(
    post,
    path = "/session",
    operation_id = "create_session",
    summary = "Signs in with email and password",
    request_body = Login,
    responses(
        (status = 201, description = "Signed in; the session cookie is in `Set-Cookie`", body = SessionOpened),
        (status = 401, description = "Not signed in: wrong email or password, or this address is locked out of the account after repeated failures (one answer for all)", body = ErrorBody),
        (status = 422, description = "The body is invalid", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins from this address; wait and try again", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Body(login): Body<Login>,
) -> Result<Response, AppError> {
    let opened = sign_in(&state, ip, &login.email, &login.password).await?;
    let mut res = (
        StatusCode::CREATED,
        Json(json!({"email": opened.email, "role": opened.role.as_str(), "csrf_token": opened.csrf_token})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie(&opened.token, &headers)) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// `DELETE /api/herald/v1/session`.
#[utoipa::path(
    delete,
    path = "/session",
    operation_id = "delete_session",
    summary = "Signs out, ending the session",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, description = "No valid API key or session", body = ErrorBody),
        (status = 403, description = "A session write without its CSRF token", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let (Credential::Session { .. }, Some(token)) =
        (&caller.credential, auth::session_token(&headers))
    {
        state.close_session(&token).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("herald_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_by_ipv4_or_ipv6_64() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(counted_address(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(counted_address(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            counted_address(ip("2001:db8:1:2:aaaa::1")),
            counted_address(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(counted_address(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_ne!(
            counted_address(ip("2001:db8:1:2::1")),
            counted_address(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn an_address_runs_a_bounded_number_of_checks_at_once() {
        let guard = Guard::default();
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("time");
        let (a, first) = guard.enter("192.0.2.1", "a@x.test", now);
        let (b, second) = guard.enter("192.0.2.1", "b@x.test", now);
        assert!(matches!((a, b), (Gate::Open, Gate::Open)));
        let (c, none) = guard.enter("192.0.2.1", "c@x.test", now);
        assert!(matches!(c, Gate::AddressLocked) && none.is_none());
        assert!(matches!(
            guard.enter("192.0.2.2", "a@x.test", now).0,
            Gate::Open
        ));
        drop((first, second));
        assert!(matches!(
            guard.enter("192.0.2.1", "c@x.test", now).0,
            Gate::Open
        ));
    }
}
