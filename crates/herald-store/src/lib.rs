//! Herald's storage: the [`Store`] trait in domain words, its errors, and the two engines that
//! implement it — SQLite (the embedded default) and PostgreSQL (for several instances).
//!
//! Both engines run the same SQL (written once in [`sql`]) over the same schema, each with its own
//! migrations; queries are checked at run time by the shared contract suite in `tests/`, which
//! runs against both engines. Engine-specific work (claiming with `SKIP LOCKED`, change notices)
//! belongs in the engine modules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::access::Role;
use herald_core::audience::{IncidentTemplate, Subscriber, SubscriberMode, SubscriberState};
use herald_core::commands::{Command, CommandError, IncidentEvent};
use herald_core::datafile::{DataFile, DataFileError};
use herald_core::{Id, PageDocument, PageSettings, StatusChange};
use std::sync::Arc;

pub mod backup;
pub mod cluster;
pub mod delivery;
pub mod monitoring;
mod postgres;
mod sql;
mod sql_delivery;
mod sql_monitoring;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// What can go wrong in the store, in words callers can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("conflict: {what}")]
    Conflict { what: String },
    /// The input was refused before anything was written.
    #[error(transparent)]
    Invalid(#[from] DataFileError),
    /// A command was refused before anything was written.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database answers but refuses to write: its disk is full, it is read-only, or the
    /// disk failed the write. Nothing was changed.
    #[error("the database cannot take writes: {0}")]
    CannotWrite(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound { what: "row".into() },
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(ref db) if db.is_unique_violation() => StoreError::Conflict {
                what: db.message().to_string(),
            },
            sqlx::Error::Database(ref db) if connection_lost(db.as_ref()) => {
                StoreError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(ref db) => match write_refusal(db.as_ref()) {
                Some(why) => StoreError::CannotWrite(why.to_string()),
                None => StoreError::Other(e.to_string()),
            },
            other => StoreError::Other(other.to_string()),
        }
    }
}

/// A PostgreSQL error's SQLSTATE, or `None` for another engine's error.
fn sqlstate(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .map(|pg| pg.code().to_string())
}

/// Whether a PostgreSQL error says the connection or the server went away (class 08, and
/// class 57P: shut down, restarting, or the session ended by an administrator).
fn connection_lost(db: &dyn sqlx::error::DatabaseError) -> bool {
    sqlstate(db).is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
}

/// Why a database error means "no writes possible now", when it does. SQLite codes are
/// extended result codes (the primary code is the low byte); PostgreSQL's are SQLSTATEs.
fn write_refusal(db: &dyn sqlx::error::DatabaseError) -> Option<&'static str> {
    if let Some(state) = sqlstate(db) {
        return match state.as_str() {
            "53100" => Some("the disk is full"),
            "25006" => Some("the database is read-only"),
            "58030" => Some("the disk failed a write"),
            "53200" => Some("the database server is out of memory"),
            _ => None,
        };
    }
    match db.code()?.parse::<i32>().ok()? & 0xff {
        13 => Some("the disk is full"),              // SQLITE_FULL
        8 => Some("the database file is read-only"), // SQLITE_READONLY
        10 => Some("the disk failed a write"),       // SQLITE_IOERR
        _ => None,
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(format!("migration failed: {e}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How an import went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Objects (page, groups, components, incidents, maintenances) written anew or changed.
    pub written: usize,
    /// Objects found exactly as the file describes them.
    pub unchanged: usize,
}

/// Knobs for [`Store::import`]; there are none yet, every import is one plain transaction.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {}

/// Who makes a change, and when.
#[derive(Clone, Debug)]
pub struct WriteMeta {
    /// `user:<email>`, `key:<name>`, `monitor:<id>`, `system`…
    pub actor: String,
    pub now: DateTime<Utc>,
}

/// What a committed command did.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The object created or acted on.
    pub subject: Option<Id>,
    /// The page after the change.
    pub doc: PageDocument,
    pub changes: Vec<StatusChange>,
    pub events: Vec<IncidentEvent>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// A person who can sign in to the admin side.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: Id,
    pub email: String,
    /// argon2 PHC string.
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// A signed-in browser.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// An API key (its secret is never stored, only its hash).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ApiKey {
    pub id: Id,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A fresh random public id.
pub fn random_id() -> Id {
    Id::from_bits(rand::random::<u64>())
}

/// Everything Herald keeps. One implementation per database engine.
#[async_trait]
pub trait Store:
    monitoring::MonitorStore
    + delivery::DeliveryStore
    + cluster::ClusterStore
    + backup::BackupStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;

    /// Brings the schema up to date.
    async fn migrate(&self) -> StoreResult<()>;

    /// Answers when the database does.
    async fn ping(&self) -> StoreResult<()>;

    /// Commits a small write (a 16 KiB row of this instance's, overwritten each time), to tell
    /// whether the database takes writes: a full disk or a read-only database answers
    /// [`StoreError::CannotWrite`] here while reads still work.
    async fn probe_writes(&self, instance: &str, now: DateTime<Utc>) -> StoreResult<()>;

    /// The whole page in one consistent read; `None` before a page was set up.
    async fn load(&self) -> StoreResult<Option<PageDocument>>;

    /// Writes the page a data file describes, in one transaction: objects in the file are created
    /// or brought in line with it, objects not in it are left alone, and a file that is invalid
    /// writes nothing. Importing the same file again changes nothing.
    async fn import(
        &self,
        file: DataFile,
        now: DateTime<Utc>,
        options: &ImportOptions,
    ) -> StoreResult<ImportReport>;

    /// Checks a domain command against the current page and, when it is accepted, commits its
    /// result in one transaction with the status history, incident events and an audit entry.
    async fn apply(&self, command: Command, meta: &WriteMeta) -> StoreResult<Applied>;

    /// The newest audit entries first.
    async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditEntry>>;

    /// Adds one audit entry that goes with no other write (sign-ins, their failures and
    /// lock-outs): `detail` is stored as the entry's `after`.
    async fn append_audit(
        &self,
        meta: &WriteMeta,
        action: &str,
        subject: Option<&Id>,
        detail: serde_json::Value,
    ) -> StoreResult<()>;

    /// What happened to an incident, oldest first.
    async fn incident_events(&self, incident: &Id) -> StoreResult<Vec<IncidentEvent>>;

    /// How many users exist.
    async fn count_users(&self) -> StoreResult<i64>;

    /// Creates a user; `Conflict` when the email is taken.
    async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        role: Role,
        meta: &WriteMeta,
    ) -> StoreResult<Id>;

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;

    async fn list_users(&self) -> StoreResult<Vec<User>>;

    async fn create_session(
        &self,
        token_hash: &str,
        user: &Id,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The live session with this token hash, if any.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Session>>;

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    async fn create_api_key(
        &self,
        name: &str,
        key_hash: &str,
        role: Role,
        meta: &WriteMeta,
    ) -> StoreResult<ApiKey>;

    /// The unrevoked key with this hash, marked as used at `now`.
    async fn api_key_by_hash(
        &self,
        key_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ApiKey>>;

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;

    async fn revoke_api_key(&self, id: &Id, meta: &WriteMeta) -> StoreResult<()>;

    /// Adds a subscriber; `Conflict` when the same address or endpoint is already subscribed.
    async fn create_subscriber(&self, subscriber: &Subscriber, meta: &WriteMeta)
        -> StoreResult<()>;

    /// Subscribers, oldest first, optionally of one state and one mode.
    async fn list_subscribers(
        &self,
        state: Option<SubscriberState>,
        mode: Option<SubscriberMode>,
    ) -> StoreResult<Vec<Subscriber>>;

    async fn subscriber(&self, id: &Id) -> StoreResult<Option<Subscriber>>;

    /// Moves a subscriber to `state` (confirm, unsubscribe, quarantine, reactivate).
    async fn set_subscriber_state(
        &self,
        id: &Id,
        state: SubscriberState,
        meta: &WriteMeta,
    ) -> StoreResult<Subscriber>;

    /// Replaces the components a subscriber follows (empty: the whole page).
    async fn set_subscriber_components(
        &self,
        id: &Id,
        components: &[Id],
        meta: &WriteMeta,
    ) -> StoreResult<Subscriber>;

    async fn create_template(
        &self,
        template: &IncidentTemplate,
        meta: &WriteMeta,
    ) -> StoreResult<()>;

    async fn list_templates(&self) -> StoreResult<Vec<IncidentTemplate>>;

    async fn delete_template(&self, id: &Id, meta: &WriteMeta) -> StoreResult<()>;

    /// Creates or replaces the page settings.
    async fn save_page_settings(
        &self,
        settings: &PageSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Every recorded status change of a component, oldest first.
    async fn status_history(&self, component: &Id) -> StoreResult<Vec<StatusChange>>;

    /// Every recorded status change of every component, oldest first.
    async fn all_status_changes(&self) -> StoreResult<Vec<StatusChange>>;
}

/// Like [`open`], without connecting yet: for a server that starts while its PostgreSQL is down
/// (SQLite is opened with [`open`]).
pub fn open_lazy(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open_lazy(url)?))
    } else {
        Err(StoreError::Other(format!(
            "`{}` cannot be opened while unavailable",
            redact_url(url)
        )))
    }
}

/// Opens the store a database URL names: `sqlite://path/to/file.db` or `postgres://…`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL `{}`: use sqlite://FILE or postgres://…",
            redact_url(url)
        )))
    }
}

/// A database URL with its password replaced, fit for logs and messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://herald:s3cret@db:5432/herald"),
            "postgres://herald:***@db:5432/herald"
        );
        assert_eq!(
            super::redact_url("sqlite://herald-data/herald.db"),
            "sqlite://herald-data/herald.db"
        );
    }
}
