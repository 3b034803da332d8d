//! Who acts: the [`Actor`] recorded with every write, the authenticated [`Caller`] and its role
//! checks, and the credential primitives (argon2 password hashes, random secrets stored as
//! SHA-256 hashes).

use super::{Effect, Service, ServiceError, ServiceResult};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use herald_core::access::Role;
use herald_core::Id;
use herald_store::ApiKey;
use sha2::{Digest, Sha256};
use std::fmt;
use std::net::IpAddr;

/// Who made a change, as the audit log and incident history name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A person signed in to the admin UI (by email).
    User(String),
    /// A caller with an API key (by the key's name).
    Key(String),
    /// A subscriber managing their own subscription.
    Subscriber,
    /// Someone on the public page (subscribing), by client address.
    Public(IpAddr),
    /// Herald itself: `monitor`, `automation`, `schedule`, `cli`, `config`, …
    System(&'static str),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(email) => write!(f, "user:{email}"),
            Actor::Key(name) => write!(f, "key:{name}"),
            Actor::Subscriber => f.write_str("subscriber"),
            Actor::Public(ip) => write!(f, "public:{ip}"),
            Actor::System(what) => f.write_str(what),
        }
    }
}

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
        self.as_actor().to_string()
    }

    /// The caller as an [`Actor`].
    pub fn as_actor(&self) -> Actor {
        match &self.credential {
            Credential::ApiKey { name } => Actor::Key(name.clone()),
            Credential::Session { email, .. } => Actor::User(email.clone()),
        }
    }

    /// Refuses callers whose role may not change the page.
    pub fn require_write(&self) -> ServiceResult<()> {
        if self.role.can_write() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "the {} role cannot change the page",
                self.role.as_str()
            )))
        }
    }

    /// Refuses callers who may not manage users and keys.
    pub fn require_owner(&self) -> ServiceResult<()> {
        if self.role.can_administer() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only an owner can manage users and API keys".into(),
            ))
        }
    }
}

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

/// Longest API key name, in characters.
pub const MAX_KEY_NAME: usize = 100;

/// What an API key is made from.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub name: String,
    pub role: Role,
}

/// A key just made, with its secret: shown this once, stored only as a hash.
#[derive(Clone, Debug)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

impl Service {
    /// Makes an API key (owners only).
    pub async fn create_api_key(
        &self,
        caller: &Caller,
        input: NewApiKey,
    ) -> ServiceResult<IssuedKey> {
        caller.require_owner()?;
        herald_core::text::line("name", &input.name)?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > MAX_KEY_NAME {
            return Err(ServiceError::invalid(
                "name",
                format!("must be 1 to {MAX_KEY_NAME} characters"),
            ));
        }
        let secret = new_secret(20);
        let key = self
            .store
            .create_api_key(
                name,
                &secret_hash(&secret),
                input.role,
                &self.meta(&caller.as_actor()),
            )
            .await?;
        self.after(Effect::Nothing).await;
        Ok(IssuedKey { key, secret })
    }

    /// Revokes an API key (owners only); its next request is refused.
    pub async fn revoke_api_key(&self, caller: &Caller, id: &Id) -> ServiceResult<()> {
        caller.require_owner()?;
        self.store
            .revoke_api_key(id, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Nothing).await;
        Ok(())
    }
}
