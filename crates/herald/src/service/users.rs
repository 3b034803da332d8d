//! People who sign in: users, their sessions, and the audit entries a sign-in leaves. The
//! password check and its counters stay with the caller (they are per instance and answer
//! before any write); what is written lands here.

use super::access::{self, Actor, Caller};
use super::{Effect, Service, ServiceError, ServiceResult};
use chrono::{DateTime, Utc};
use herald_core::access::Role;
use herald_core::Id;
use herald_store::User;
use serde_json::json;

/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// What a user is made from.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub role: Role,
}

/// A session just opened: the cookie's token (stored only as a hash) and its CSRF token.
#[derive(Clone, Debug)]
pub struct OpenedSession {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Which lock a failed sign-in started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockScope {
    /// One address is locked out of one account.
    AccountFromAddress,
    /// One address is held back from every account.
    Address,
}

impl LockScope {
    fn as_str(self) -> &'static str {
        match self {
            LockScope::AccountFromAddress => "account_from_address",
            LockScope::Address => "address",
        }
    }
}

/// What the audit log keeps of a sign-in attempt; `address` is the client as it is counted.
#[derive(Clone, Debug)]
pub enum SignInEvent {
    SignedIn {
        user: Id,
        address: String,
    },
    /// A checked failure: `user` is the account when the email names one.
    Failed {
        user: Option<Id>,
        address: String,
    },
    Locked {
        scope: LockScope,
        address: String,
        until: DateTime<Utc>,
    },
}

/// The actor for what someone typed as their email: kept short and printable, since it may
/// come from anyone.
fn typed_actor(email: &str) -> Actor {
    let shown: String = email
        .chars()
        .take(254)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    Actor::User(shown)
}

impl Service {
    /// Creates a user after checking the email and password; `Conflict` when the email is
    /// taken. For callers that are Herald itself (configuration, the command line).
    pub async fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        password: &str,
        role: Role,
    ) -> ServiceResult<Id> {
        let email = herald_core::audience::check_email(email)
            .map_err(|e| ServiceError::invalid("email", e.message))?;
        if password.chars().count() < access::MIN_PASSWORD {
            return Err(ServiceError::invalid(
                "password",
                format!("must be at least {} characters", access::MIN_PASSWORD),
            ));
        }
        let hash = access::hash_password(password)?;
        let id = self
            .store
            .create_user(&email, &hash, role, &self.meta(actor))
            .await?;
        self.after(Effect::Nothing).await;
        Ok(id)
    }

    /// Creates a user for an owner and answers with it as stored.
    pub async fn add_user(&self, caller: &Caller, input: NewUser) -> ServiceResult<User> {
        caller.require_owner()?;
        self.create_user(
            &caller.as_actor(),
            &input.email,
            &input.password,
            input.role,
        )
        .await?;
        let email = input.email.trim().to_ascii_lowercase();
        self.store
            .user_by_email(&email)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Opens a session for a user whose password was checked.
    pub async fn open_session(&self, user: &User) -> ServiceResult<OpenedSession> {
        let token = access::new_secret(32);
        let csrf_token = access::new_secret(16);
        let now = self.now();
        let expires_at = now + chrono::Duration::hours(SESSION_HOURS);
        self.store
            .create_session(
                &access::secret_hash(&token),
                &user.id,
                &csrf_token,
                now,
                expires_at,
            )
            .await?;
        self.after(Effect::Nothing).await;
        Ok(OpenedSession {
            token,
            csrf_token,
            expires_at,
        })
    }

    /// Ends the session with this cookie token (nothing happens when there is none).
    pub async fn close_session(&self, token: &str) -> ServiceResult<()> {
        self.store
            .delete_session(&access::secret_hash(token))
            .await?;
        self.after(Effect::Nothing).await;
        Ok(())
    }

    /// Writes one sign-in entry to the audit log, named after the email as it was typed.
    pub async fn record_sign_in(&self, typed_email: &str, event: SignInEvent) -> ServiceResult<()> {
        let (action, subject, detail) = match event {
            SignInEvent::SignedIn { user, address } => (
                "session.sign_in",
                Some(user),
                json!({"outcome": "signed_in", "address": address}),
            ),
            SignInEvent::Failed { user, address } => {
                let outcome = if user.is_some() {
                    "wrong_password"
                } else {
                    "unknown_account"
                };
                (
                    "session.sign_in_failed",
                    user,
                    json!({"outcome": outcome, "address": address}),
                )
            }
            SignInEvent::Locked {
                scope,
                address,
                until,
            } => (
                "session.lock",
                None,
                json!({"outcome": "locked", "scope": scope.as_str(), "address": address,
                    "until": herald_core::timefmt::api(until)}),
            ),
        };
        self.store
            .append_audit(
                &self.meta(&typed_actor(typed_email)),
                action,
                subject.as_ref(),
                detail,
            )
            .await?;
        self.after(Effect::Nothing).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::access::NewApiKey;
    use crate::service::testing::{caller, service};

    fn new_user(email: &str, password: &str) -> NewUser {
        NewUser {
            email: email.into(),
            password: password.into(),
            role: Role::Editor,
        }
    }

    #[tokio::test]
    async fn owners_add_users_once_with_a_real_password() {
        let (s, _dir) = service().await;
        let good = new_user(" Ann@Acme.test ", "long enough password");
        let refused = s.add_user(&caller(Role::Editor), good.clone()).await;
        assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
        let owner = caller(Role::Owner);
        let ann = s.add_user(&owner, good.clone()).await.expect("added");
        assert_eq!(
            (ann.email.as_str(), ann.role),
            ("ann@acme.test", Role::Editor)
        );
        assert!(access::verify_password(
            "long enough password",
            &ann.password_hash
        ));
        let dup = s.add_user(&owner, good).await;
        assert!(matches!(dup, Err(ServiceError::Conflict(_))), "{dup:?}");
        for (user, field) in [
            (new_user("b@acme.test", "short"), "password"),
            (new_user("not an address", "long enough password"), "email"),
        ] {
            let bad = s.add_user(&owner, user).await;
            assert!(
                matches!(&bad, Err(ServiceError::Invalid { field: Some(f), .. }) if f == field),
                "{bad:?}"
            );
        }
        let audit = s.store.audit_log(10).await.expect("audit");
        assert!(audit.iter().any(|e| e.actor == "key:test"), "{audit:?}");
    }

    #[tokio::test]
    async fn sessions_open_and_close_and_sign_ins_are_audited() {
        let (s, _dir) = service().await;
        let ann = s
            .add_user(
                &caller(Role::Owner),
                new_user("ann@acme.test", "long enough password"),
            )
            .await
            .expect("added");
        let opened = s.open_session(&ann).await.expect("opened");
        let hash = access::secret_hash(&opened.token);
        let live = s.store.session(&hash, s.now()).await.expect("read");
        assert_eq!(live.map(|l| l.csrf_token), Some(opened.csrf_token));
        s.close_session(&opened.token).await.expect("closed");
        assert!(s
            .store
            .session(&hash, s.now())
            .await
            .expect("read")
            .is_none());

        let event = SignInEvent::Failed {
            user: None,
            address: "192.0.2.9".into(),
        };
        s.record_sign_in("who\u{7}@acme.test", event)
            .await
            .expect("written");
        let event = SignInEvent::Locked {
            scope: LockScope::Address,
            address: "192.0.2.9".into(),
            until: s.now(),
        };
        s.record_sign_in("who@acme.test", event)
            .await
            .expect("written");
        let audit = s.store.audit_log(10).await.expect("audit");
        let failed = audit
            .iter()
            .find(|e| e.action == "session.sign_in_failed")
            .expect("the failure");
        assert_eq!(
            failed.actor, "user:who?@acme.test",
            "control characters are masked"
        );
        let after = failed.after.clone().expect("detail");
        assert_eq!(after["outcome"], "unknown_account");
        let lock = audit
            .iter()
            .find(|e| e.action == "session.lock")
            .expect("the lock");
        assert_eq!(lock.after.clone().expect("detail")["scope"], "address");
    }

    #[tokio::test]
    async fn api_keys_are_issued_and_revoked_by_owners() {
        let (s, _dir) = service().await;
        let key = |name: &str| NewApiKey {
            name: name.into(),
            role: Role::Viewer,
        };
        let refused = s.create_api_key(&caller(Role::Editor), key("ci")).await;
        assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
        let owner = caller(Role::Owner);
        let bad = s.create_api_key(&owner, key("   ")).await;
        assert!(
            matches!(&bad, Err(ServiceError::Invalid { field: Some(f), .. }) if f == "name"),
            "{bad:?}"
        );
        let issued = s.create_api_key(&owner, key(" ci ")).await.expect("issued");
        assert_eq!(issued.key.name, "ci");
        let hash = access::secret_hash(&issued.secret);
        let found = s.store.api_key_by_hash(&hash, s.now()).await.expect("read");
        assert_eq!(found.map(|k| k.id), Some(issued.key.id.clone()));
        s.revoke_api_key(&owner, &issued.key.id)
            .await
            .expect("revoked");
        let found = s.store.api_key_by_hash(&hash, s.now()).await.expect("read");
        assert!(found.is_none(), "a revoked key no longer opens anything");
    }
}
