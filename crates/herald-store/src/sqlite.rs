//! The embedded default: one SQLite file under the data directory, in WAL mode.

use crate::StoreResult;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

/// Herald's store on SQLite.
pub struct SqliteStore {
    /// Writers take turns inside this process (and, on PostgreSQL, across processes).
    pub(crate) writer: tokio::sync::Mutex<()>,
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Write transactions take SQLite's write lock when they begin: a transaction that read first
    /// and wrote later could otherwise fail with `SQLITE_BUSY_SNAPSHOT` when any other connection
    /// (an API key's last-used time, say) committed in between; waiting at `BEGIN` is retried by
    /// the busy timeout instead.
    pub(crate) const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

    /// Opens (creating if needed) the database file a `sqlite://` URL names, and its folder.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    crate::StoreError::Other(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            pool,
            writer: tokio::sync::Mutex::new(()),
        })
    }
}

crate::sql::store_impl!(
    SqliteStore,
    sqlx::Sqlite,
    "sqlite",
    None::<&str>,
    None::<&str>
);

crate::sql_monitoring::monitoring_impl!(SqliteStore, sqlx::Sqlite, None::<&str>);

crate::sql_delivery::delivery_impl!(SqliteStore, sqlx::Sqlite, "", true);
