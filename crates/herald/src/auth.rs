//! Credentials: argon2 password hashes, random session tokens and API keys (stored as SHA-256
//! hashes), and the [`Caller`] every write handler asks for — from an API key
//! (`Authorization: OAuth KEY`, `Bearer KEY`, the bare key, or `?api_key=`) or a session cookie.

use crate::app::AppState;
use crate::http::error::AppError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use herald_core::access::Role;
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "herald_session";
/// Header carrying the CSRF token on session-authenticated writes from scripts.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An argon2id hash of a password, as a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// Whether `password` matches the stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random secret of `bytes` bytes, hex-encoded.
pub fn new_secret(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(raw)
}

/// SHA-256 of a high-entropy secret, hex-encoded: how tokens and keys are stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// How a caller proved who they are.
#[derive(Clone, Debug)]
pub enum Credential {
    ApiKey { name: String },
    Session { email: String, csrf_token: String },
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub role: Role,
    pub credential: Credential,
}

impl Caller {
    /// The actor recorded in the audit log.
    pub fn actor(&self) -> String {
        match &self.credential {
            Credential::ApiKey { name } => format!("key:{name}"),
            Credential::Session { email, .. } => format!("user:{email}"),
        }
    }

    /// Refuses callers whose role may not change the page.
    pub fn require_write(&self) -> Result<(), AppError> {
        if self.role.can_write() {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "the {} role cannot change the page",
                self.role.as_str()
            )))
        }
    }

    /// Refuses callers who may not manage users and keys.
    pub fn require_owner(&self) -> Result<(), AppError> {
        if self.role.can_administer() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only an owner can manage users and API keys".into(),
            ))
        }
    }
}

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

/// The session token from the cookie header, if any.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{SESSION_COOKIE}="))
                .map(|t| t.to_string())
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
                let unsafe_method =
                    !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if unsafe_method && sent != Some(s.csrf_token.as_str()) {
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
    fn secrets_are_random_and_hashed() {
        let a = new_secret(20);
        assert_eq!(a.len(), 40);
        assert_ne!(a, new_secret(20));
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), a);
    }
}
