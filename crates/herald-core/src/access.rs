//! Who may do what: roles, and the counters that hold back repeated failed sign-ins.

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

/// How many failures a [`Strikes`] counter takes, and how long the lock they earn lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockRule {
    /// Failures within `window` that start a lock.
    pub failures: u32,
    /// Failures further apart than this do not add up: the count starts again.
    pub window: Duration,
    /// The first lock.
    pub first_lock: Duration,
    /// Each further lock doubles, up to this.
    pub max_lock: Duration,
    /// After this long without a failure, the next lock is the first one again.
    pub forget: Duration,
}

/// One client address trying one account: five failures lock that address out of that account
/// for 15 minutes. The owner signing in from elsewhere is not affected.
pub const PAIR_RULE: LockRule = LockRule {
    failures: 5,
    window: Duration::minutes(15),
    first_lock: Duration::minutes(15),
    max_lock: Duration::minutes(15),
    forget: Duration::hours(24),
};

/// One client address over all accounts (known or not): ten failures hold the address back for a
/// minute, then two, four… up to an hour while it keeps failing.
pub const ADDRESS_RULE: LockRule = LockRule {
    failures: 10,
    window: Duration::minutes(15),
    first_lock: Duration::minutes(1),
    max_lock: Duration::minutes(60),
    forget: Duration::hours(24),
};

/// A failure counter with a lock that grows each time it is earned again. A lock that ran out
/// starts a fresh count: the first failure after it is the first of a new series, not a new lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strikes {
    /// Failures in the current series.
    pub failures: u32,
    /// When the current series started.
    pub since: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    /// Locks earned so far (the next one lasts longer).
    pub locks: u32,
    pub last_failure: Option<DateTime<Utc>>,
}

/// What a failure did to a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Struck {
    /// Counted; not locked yet.
    Counted,
    /// This failure started a lock until the given time.
    Locked(DateTime<Utc>),
}

impl Strikes {
    /// Whether the counter is locked at `now`.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        is_locked(self.locked_until, now)
    }

    /// Clears what has run out by `now`: an expired lock (with its count), a series older than
    /// the window, and the lock history after a quiet `forget` period.
    pub fn settle(&mut self, rule: &LockRule, now: DateTime<Utc>) {
        if self.locked_until.is_some_and(|t| now >= t) {
            self.locked_until = None;
            self.failures = 0;
            self.since = None;
        }
        if self.since.is_some_and(|t| now - t >= rule.window) && self.locked_until.is_none() {
            self.failures = 0;
            self.since = None;
        }
        if self.last_failure.is_some_and(|t| now - t >= rule.forget) {
            self.locks = 0;
        }
    }

    /// Counts one failure at `now` (call [`Strikes::settle`] first).
    pub fn fail(&mut self, rule: &LockRule, now: DateTime<Utc>) -> Struck {
        self.settle(rule, now);
        if self.failures == 0 {
            self.since = Some(now);
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some(now);
        if self.failures < rule.failures || self.is_locked(now) {
            return Struck::Counted;
        }
        let doubled = 1i32.checked_shl(self.locks.min(30)).unwrap_or(i32::MAX);
        let lock = (rule.first_lock * doubled).min(rule.max_lock);
        self.locks = self.locks.saturating_add(1);
        let until = now + lock;
        self.locked_until = Some(until);
        Struck::Locked(until)
    }

    /// Whether nothing is left worth keeping at `now` (the entry can be dropped).
    pub fn is_idle(&self, rule: &LockRule, now: DateTime<Utc>) -> bool {
        !self.is_locked(now) && self.last_failure.is_none_or(|t| now - t >= rule.forget)
    }
}

/// Whether something locked until `locked_until` is still locked at `now`.
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

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn the_fifth_failure_locks_a_pair_for_a_while() {
        let now = at("2026-01-01T00:00:00Z");
        let mut s = Strikes::default();
        for _ in 0..4 {
            assert_eq!(s.fail(&PAIR_RULE, now), Struck::Counted);
        }
        let until = now + Duration::minutes(15);
        assert_eq!(s.fail(&PAIR_RULE, now), Struck::Locked(until));
        assert!(s.is_locked(now + Duration::minutes(14)));
        assert!(!s.is_locked(until));
    }

    #[test]
    fn a_lock_that_ran_out_starts_a_fresh_count() {
        let now = at("2026-01-01T00:00:00Z");
        let mut s = Strikes::default();
        for _ in 0..5 {
            s.fail(&PAIR_RULE, now);
        }
        let later = now + Duration::minutes(16);
        // The first failure after the lock is the first of a new series, not a new lock.
        assert_eq!(s.fail(&PAIR_RULE, later), Struck::Counted);
        assert!(!s.is_locked(later));
        assert_eq!(s.failures, 1);
        for _ in 0..3 {
            assert_eq!(s.fail(&PAIR_RULE, later), Struck::Counted);
        }
        assert!(matches!(s.fail(&PAIR_RULE, later), Struck::Locked(_)));
    }

    #[test]
    fn address_locks_grow_while_it_keeps_failing_and_are_forgotten_later() {
        let mut now = at("2026-01-01T00:00:00Z");
        let mut s = Strikes::default();
        let mut locks = Vec::new();
        for _ in 0..8 {
            let mut got = None;
            for _ in 0..ADDRESS_RULE.failures {
                if let Struck::Locked(until) = s.fail(&ADDRESS_RULE, now) {
                    got = Some(until);
                }
            }
            let until = got.expect("locked");
            locks.push((until - now).num_minutes());
            now = until;
        }
        assert_eq!(locks, [1, 2, 4, 8, 16, 32, 60, 60]);
        let quiet = now + Duration::hours(25);
        for _ in 0..ADDRESS_RULE.failures {
            s.fail(&ADDRESS_RULE, quiet);
        }
        assert_eq!(s.locked_until, Some(quiet + Duration::minutes(1)));
    }

    #[test]
    fn failures_far_apart_do_not_add_up() {
        let mut now = at("2026-01-01T00:00:00Z");
        let mut s = Strikes::default();
        for _ in 0..20 {
            assert_eq!(s.fail(&PAIR_RULE, now), Struck::Counted);
            now += Duration::minutes(5);
        }
        assert!(!s.is_idle(&PAIR_RULE, now));
        assert!(s.is_idle(&PAIR_RULE, now + Duration::hours(24)));
    }
}
