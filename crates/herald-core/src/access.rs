//! Who may do what: roles, and the lock-out rule for repeated failed logins.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A person's or an API key's role on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users and API keys.
    Owner,
    /// Incidents, components, maintenance, postmortems.
    Editor,
    /// Reads the admin side; changes nothing.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    /// May change the page (incidents, components, maintenance…).
    pub fn can_write(self) -> bool {
        matches!(self, Role::Owner | Role::Editor)
    }

    /// May manage users and API keys.
    pub fn can_administer(self) -> bool {
        self == Role::Owner
    }
}

/// Failed logins in a row that lock an account.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MINUTES: i64 = 15;

/// After a failed login: the new failure count and, once it reaches the limit, the time until
/// which the account is locked.
pub fn after_failed_login(failed_before: i32, now: DateTime<Utc>) -> (i32, Option<DateTime<Utc>>) {
    let failed = failed_before.saturating_add(1);
    let locked = (failed >= MAX_FAILED_LOGINS).then(|| now + Duration::minutes(LOCKOUT_MINUTES));
    (failed, locked)
}

/// Whether an account locked until `locked_until` is still locked at `now`.
pub fn is_locked(locked_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    locked_until.is_some_and(|t| now < t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert!(Role::Owner.can_write() && Role::Owner.can_administer());
        assert!(Role::Editor.can_write() && !Role::Editor.can_administer());
        assert!(!Role::Viewer.can_write());
        assert_eq!(Role::parse("editor"), Some(Role::Editor));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn the_fifth_failure_locks_for_a_while() {
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("time");
        let mut failed = 0;
        for _ in 0..4 {
            let (f, locked) = after_failed_login(failed, now);
            assert!(locked.is_none());
            failed = f;
        }
        let (_, locked) = after_failed_login(failed, now);
        assert!(is_locked(locked, now + Duration::minutes(14)));
        assert!(!is_locked(locked, now + Duration::minutes(15)));
    }
}
