//! Backups and restores of everything Herald keeps.
//!
//! - **SQLite**: `VACUUM INTO` writes a consistent copy of the live database while Herald runs (an
//!   online backup; the copy is itself a SQLite database). Restoring attaches the copy and copies
//!   every table into the configured database in one transaction.
//! - **PostgreSQL**: a logical dump read in one repeatable-read transaction: a header line, then
//!   one JSON line per row (`{"table": …, "row": {…}}`), tables in the order they were created
//!   so a row never arrives before the row it refers to. Restoring inserts each row with
//!   `json_populate_record` in one transaction and moves the id sequences past the restored ids.
//!
//! A restore goes only into a database that holds no page yet (fresh, or just migrated), and
//! only from a backup made at the same schema version, so nothing is overwritten or guessed.
//! Leases and instance rows are runtime state and are left out.

use crate::{PostgresStore, SqliteStore, StoreError, StoreResult};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::Row;
use std::io::{BufRead, Write};
use std::path::Path;

/// Tables that hold runtime state, not data worth restoring.
const RUNTIME_TABLES: &[&str] = &["leases", "instances", "write_probe", "_sqlx_migrations"];

/// What a backup or restore moved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupReport {
    pub tables: usize,
    pub rows: u64,
}

/// Backup and restore; every [`crate::Store`] implements it.
#[async_trait]
pub trait BackupStore: Send + Sync {
    /// Writes a backup of the whole database to `path` (which must not exist yet).
    async fn backup(&self, path: &Path) -> StoreResult<BackupReport>;

    /// Fills this database, which must hold no page yet, from a backup at `path`.
    async fn restore(&self, path: &Path) -> StoreResult<BackupReport>;
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Other(format!("{}: {e}", path.display()))
}

fn refuse_existing(path: &Path) -> StoreResult<()> {
    if path.exists() {
        return Err(StoreError::Conflict {
            what: format!(
                "{} already exists; a backup never overwrites a file",
                path.display()
            ),
        });
    }
    Ok(())
}

/// The newest migration applied in `schema` (`""` for the main one, `"backup."` for an attached
/// SQLite backup).
async fn sqlite_version(conn: &mut sqlx::SqliteConnection, schema: &str) -> StoreResult<i64> {
    let sql = format!("SELECT COALESCE(MAX(version), 0) AS v FROM {schema}_sqlx_migrations");
    let row = sqlx::query(&sql).fetch_one(&mut *conn).await?;
    Ok(row.try_get("v")?)
}

async fn pg_version(conn: &mut sqlx::PgConnection) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("v")?)
}

#[async_trait]
impl BackupStore for SqliteStore {
    async fn backup(&self, path: &Path) -> StoreResult<BackupReport> {
        refuse_existing(path)?;
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Other(format!("{} is not UTF-8", path.display())))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        let mut conn = self.pool.acquire().await?;
        let tables = sqlite_tables(&mut conn, "main").await?;
        let mut rows = 0u64;
        for t in &tables {
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM \"{t}\""))
                .fetch_one(&mut *conn)
                .await?
                .try_get("n")?;
            rows += n as u64;
        }
        Ok(BackupReport {
            tables: tables.len(),
            rows,
        })
    }

    async fn restore(&self, path: &Path) -> StoreResult<BackupReport> {
        let source = path
            .to_str()
            .ok_or_else(|| StoreError::Other(format!("{} is not UTF-8", path.display())))?;
        if !path.exists() {
            return Err(StoreError::NotFound {
                what: format!("backup {}", path.display()),
            });
        }
        let _writer = self.writer.lock().await;
        let mut conn = self.pool.acquire().await?;
        sqlx::query("ATTACH DATABASE $1 AS backup")
            .bind(source)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                StoreError::Other(format!(
                    "{}: not a Herald SQLite backup ({e})",
                    path.display()
                ))
            })?;
        let result = async {
            let theirs = sqlite_version(&mut conn, "backup.").await.map_err(|_| {
                StoreError::Other(format!("{}: not a Herald SQLite backup", path.display()))
            })?;
            let ours = sqlite_version(&mut conn, "").await?;
            if theirs != ours {
                return Err(StoreError::Other(format!(
                    "{} was made at schema version {theirs}; this database is at {ours}",
                    path.display()
                )));
            }
            let pages: i64 = sqlx::query("SELECT COUNT(*) AS n FROM main.page")
                .fetch_one(&mut *conn)
                .await?
                .try_get("n")?;
            if pages > 0 {
                return Err(StoreError::Conflict {
                    what: "this database already holds a page; restore into an empty one".into(),
                });
            }
            let tables = sqlite_tables(&mut conn, "backup").await?;
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
            let copied = async {
                let mut rows = 0u64;
                for t in &tables {
                    let done = sqlx::query(&format!(
                        "INSERT INTO main.\"{t}\" SELECT * FROM backup.\"{t}\""
                    ))
                    .execute(&mut *conn)
                    .await?;
                    rows += done.rows_affected();
                }
                Ok::<_, StoreError>(rows)
            }
            .await;
            match copied {
                Ok(rows) => {
                    sqlx::query("COMMIT").execute(&mut *conn).await?;
                    Ok(BackupReport {
                        tables: tables.len(),
                        rows,
                    })
                }
                Err(e) => {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    Err(e)
                }
            }
        }
        .await;
        let _ = sqlx::query("DETACH DATABASE backup")
            .execute(&mut *conn)
            .await;
        result
    }
}

/// User tables of an attached SQLite schema, in creation order.
async fn sqlite_tables(
    conn: &mut sqlx::SqliteConnection,
    schema: &str,
) -> StoreResult<Vec<String>> {
    let sql = format!(
        "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    );
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    let mut out = Vec::new();
    for r in rows {
        let name: String = r.try_get("name")?;
        if !RUNTIME_TABLES.contains(&name.as_str()) {
            out.push(name);
        }
    }
    Ok(out)
}

fn to_line<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(format!("backup line: {e}")))
}

/// The first line of a PostgreSQL dump.
#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    herald_backup: u32,
    engine: String,
    schema_version: i64,
    tables: Vec<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    table: String,
    row: serde_json::Value,
}

async fn pg_tables(conn: &mut sqlx::PgConnection) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY c.oid",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let name: String = r.try_get("name")?;
        if !RUNTIME_TABLES.contains(&name.as_str()) {
            out.push(name);
        }
    }
    Ok(out)
}

#[async_trait]
impl BackupStore for PostgresStore {
    async fn backup(&self, path: &Path) -> StoreResult<BackupReport> {
        refuse_existing(path)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let tables = pg_tables(&mut tx).await?;
        let header = Header {
            herald_backup: 1,
            engine: "postgres".into(),
            schema_version: pg_version(&mut tx).await?,
            tables: tables.clone(),
        };
        let temp = path.with_extension("partial");
        let file = std::fs::File::create(&temp).map_err(|e| io(&temp, e))?;
        let mut out = std::io::BufWriter::new(file);
        writeln!(out, "{}", to_line(&header)?).map_err(|e| io(&temp, e))?;
        let mut rows = 0u64;
        for t in &tables {
            let sql = format!("SELECT row_to_json(t)::text AS j FROM \"{t}\" t");
            let mut stream = sqlx::query(&sql).fetch(&mut *tx);
            while let Some(r) = stream.try_next().await? {
                let text: String = r.try_get("j")?;
                let row: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| StoreError::Other(format!("row of {t}: {e}")))?;
                let line = Line {
                    table: t.clone(),
                    row,
                };
                writeln!(out, "{}", to_line(&line)?).map_err(|e| io(&temp, e))?;
                rows += 1;
            }
        }
        tx.commit().await?;
        out.flush().map_err(|e| io(&temp, e))?;
        drop(out);
        std::fs::rename(&temp, path).map_err(|e| io(path, e))?;
        Ok(BackupReport {
            tables: tables.len(),
            rows,
        })
    }

    async fn restore(&self, path: &Path) -> StoreResult<BackupReport> {
        let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
        let mut lines = std::io::BufReader::new(file).lines();
        let first = lines
            .next()
            .transpose()
            .map_err(|e| io(path, e))?
            .unwrap_or_default();
        let header: Header = serde_json::from_str(&first).map_err(|e| {
            StoreError::Other(format!(
                "{}:1: not a Herald PostgreSQL backup ({e})",
                path.display()
            ))
        })?;
        let _writer = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7242)")
            .execute(&mut *tx)
            .await?;
        let ours = pg_version(&mut tx).await?;
        if header.schema_version != ours {
            return Err(StoreError::Other(format!(
                "{} was made at schema version {}; this database is at {ours}",
                path.display(),
                header.schema_version
            )));
        }
        let pages: i64 = sqlx::query("SELECT COUNT(*) AS n FROM page")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if pages > 0 {
            return Err(StoreError::Conflict {
                what: "this database already holds a page; restore into an empty one".into(),
            });
        }
        let known = pg_tables(&mut tx).await?;
        let mut rows = 0u64;
        for (n, line) in lines.enumerate() {
            let line = line.map_err(|e| io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let at = n + 2;
            let parsed: Line = serde_json::from_str(&line)
                .map_err(|e| StoreError::Other(format!("{}:{at}: {e}", path.display())))?;
            if !known.contains(&parsed.table) {
                return Err(StoreError::Other(format!(
                    "{}:{at}: unknown table `{}`",
                    path.display(),
                    parsed.table
                )));
            }
            let t = &parsed.table;
            sqlx::query(&format!(
                "INSERT INTO \"{t}\" SELECT * FROM json_populate_record(NULL::\"{t}\", $1::json)"
            ))
            .bind(parsed.row.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Other(format!("{}:{at}: {e}", path.display())))?;
            rows += 1;
        }
        // Ids handed out after the restore continue past the restored ones.
        let serials = sqlx::query(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
        )
        .fetch_all(&mut *tx)
        .await?;
        for r in serials {
            let (t, c): (String, String) = (r.try_get("t")?, r.try_get("c")?);
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('\"{t}\"', '{c}'), \
                 GREATEST(COALESCE((SELECT MAX(\"{c}\") FROM \"{t}\"), 0), 1))"
            ))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(BackupReport {
            tables: header.tables.len(),
            rows,
        })
    }
}
