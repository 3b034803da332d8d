//! PostgreSQL: the engine for several Herald instances sharing one database.

use crate::StoreResult;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::time::Duration;

/// Herald's store on PostgreSQL.
pub struct PostgresStore {
    /// Writers take turns inside this process (and, on PostgreSQL, across processes).
    pub(crate) writer: tokio::sync::Mutex<()>,
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Write transactions are ordinary ones; the advisory lock orders them.
    pub(crate) const BEGIN_WRITE: &'static str = "BEGIN";
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

    /// Connects to the database a `postgres://` URL names.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let pool = Self::options().connect(url).await?;
        Ok(PostgresStore {
            pool,
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// A store whose connections are made on first use.
    pub fn open_lazy(url: &str) -> StoreResult<Self> {
        let pool = Self::options().connect_lazy(url)?;
        Ok(PostgresStore {
            pool,
            writer: tokio::sync::Mutex::new(()),
        })
    }

    fn options() -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
    }
}

crate::sql::store_impl!(
    PostgresStore,
    sqlx::Postgres,
    "postgres",
    Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"),
    Some("SELECT pg_advisory_xact_lock(7242)")
);

crate::sql_monitoring::monitoring_impl!(
    PostgresStore,
    sqlx::Postgres,
    Some("SELECT pg_advisory_xact_lock(7242)")
);

crate::sql_delivery::delivery_impl!(
    PostgresStore,
    sqlx::Postgres,
    " FOR UPDATE SKIP LOCKED",
    false
);
