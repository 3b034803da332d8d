//! Several Herald instances on one database: change notices between them and leases that give
//! each unit of work (the monitors of one component, say) to one instance at a time.
//!
//! On PostgreSQL notices travel by `LISTEN`/`NOTIFY` on the channel [`CHANNEL`] and leases live
//! in the `leases` table, handed out under an advisory lock. SQLite is one process's database:
//! there is nobody to tell, and every unit is this instance's.

use crate::sql::{from_ms_opt, ms};
use crate::{PostgresStore, SqliteStore, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::mpsc;

/// The notice channel on PostgreSQL.
pub const CHANNEL: &str = "herald_changes";

/// A change notice from some instance: who sent it and what changed. A notice with topic
/// [`RESYNC`] means notices may have been missed (the connection was lost): re-read everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeNotice {
    pub from: String,
    pub topic: String,
}

/// Topic of the notice sent to oneself after the notice connection came back.
pub const RESYNC: &str = "resync";

/// What an instance holds after a lease round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Leases {
    /// Every unit held, with, for a unit just taken over on purpose, when its previous holder had
    /// planned its next run.
    pub held: Vec<(String, Option<DateTime<Utc>>)>,
    /// Live instances, this one included.
    pub instances: usize,
}

/// Cluster coordination; every [`crate::Store`] implements it.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Whether other processes may share this database.
    fn shared(&self) -> bool;

    /// Tells every instance listening that `topic` changed.
    async fn announce(&self, from: &str, topic: &str) -> StoreResult<()>;

    /// Notices from all instances (this one's too); `None` where the database has no notices.
    async fn listen(&self) -> StoreResult<Option<mpsc::UnboundedReceiver<ChangeNotice>>>;

    /// One lease round for `instance` over `units`: says the instance is alive, renews what it
    /// holds, hands back what is above its fair share (recording `next_due` from `plans`), and
    /// takes free or expired units up to its share. Leases last `ttl`.
    async fn lease(
        &self,
        instance: &str,
        units: &[String],
        plans: &HashMap<String, DateTime<Utc>>,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Leases>;

    /// Gives up every lease of `instance` and its liveness row (a clean shutdown), so others take
    /// its units at once instead of after expiry.
    async fn leave(&self, instance: &str) -> StoreResult<()>;
}

#[async_trait]
impl ClusterStore for SqliteStore {
    fn shared(&self) -> bool {
        false
    }

    async fn announce(&self, _from: &str, _topic: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn listen(&self) -> StoreResult<Option<mpsc::UnboundedReceiver<ChangeNotice>>> {
        Ok(None)
    }

    async fn lease(
        &self,
        _instance: &str,
        units: &[String],
        _plans: &HashMap<String, DateTime<Utc>>,
        _now: DateTime<Utc>,
        _ttl: Duration,
    ) -> StoreResult<Leases> {
        Ok(Leases {
            held: units.iter().map(|u| (u.clone(), None)).collect(),
            instances: 1,
        })
    }

    async fn leave(&self, _instance: &str) -> StoreResult<()> {
        Ok(())
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl ClusterStore for PostgresStore {
    fn shared(&self) -> bool {
        true
    }

    async fn announce(&self, from: &str, topic: &str) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{from} {topic}"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn listen(&self) -> StoreResult<Option<mpsc::UnboundedReceiver<ChangeNotice>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => {
                        let (from, topic) = n.payload().split_once(' ').unwrap_or(("", ""));
                        let notice = ChangeNotice {
                            from: from.to_string(),
                            topic: topic.to_string(),
                        };
                        if tx.send(notice).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        // The connection dropped; the next call reconnects and listens again.
                        let resync = ChangeNotice {
                            from: String::new(),
                            topic: RESYNC.into(),
                        };
                        if tx.send(resync).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "change notices: reconnecting");
                        if tx.is_closed() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(rx))
    }

    async fn lease(
        &self,
        instance: &str,
        units: &[String],
        plans: &HashMap<String, DateTime<Utc>>,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> StoreResult<Leases> {
        let (now_ms, ttl_ms) = (ms(now), millis(ttl));
        let until = now_ms.saturating_add(ttl_ms);
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7243)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO instances (id, seen_at) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at",
        )
        .bind(instance)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM instances WHERE seen_at < $1")
            .bind(now_ms.saturating_sub(ttl_ms.saturating_mul(10)))
            .execute(&mut *tx)
            .await?;
        let live: i64 = sqlx::query("SELECT COUNT(*) AS n FROM instances WHERE seen_at >= $1")
            .bind(now_ms.saturating_sub(ttl_ms))
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let live = usize::try_from(live.max(1)).unwrap_or(1);
        let share = units.len().div_ceil(live);
        let wanted: HashSet<&str> = units.iter().map(String::as_str).collect();

        // Units that no longer exist are nobody's.
        let rows = sqlx::query("SELECT key, holder, expires_at, next_due FROM leases")
            .fetch_all(&mut *tx)
            .await?;
        let mut mine = Vec::new();
        let mut busy = HashSet::new();
        let mut hints = HashMap::new();
        let mut gone = Vec::new();
        for r in &rows {
            let key: String = r.try_get("key")?;
            let holder: String = r.try_get("holder")?;
            let expires: i64 = r.try_get("expires_at")?;
            if !wanted.contains(key.as_str()) {
                gone.push(key);
                continue;
            }
            if holder == instance {
                mine.push(key);
            } else if expires > now_ms {
                busy.insert(key);
            } else {
                hints.insert(key, from_ms_opt(r.try_get("next_due")?)?);
            }
        }
        if !gone.is_empty() {
            sqlx::query("DELETE FROM leases WHERE key = ANY($1)")
                .bind(&gone)
                .execute(&mut *tx)
                .await?;
        }
        mine.sort();
        // Above the fair share: hand the excess back, noting when each was next due.
        if mine.len() > share {
            for key in mine.split_off(share) {
                sqlx::query("UPDATE leases SET expires_at = $2, next_due = $3 WHERE key = $1")
                    .bind(&key)
                    .bind(now_ms)
                    .bind(plans.get(&key).map(|t| ms(*t)))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("UPDATE leases SET expires_at = $2 WHERE holder = $1 AND key = ANY($3)")
            .bind(instance)
            .bind(until)
            .bind(&mine)
            .execute(&mut *tx)
            .await?;
        let mut held: Vec<(String, Option<DateTime<Utc>>)> =
            mine.into_iter().map(|k| (k, None)).collect();
        let mine_now: HashSet<String> = held.iter().map(|(k, _)| k.clone()).collect();
        let mut free: Vec<&String> = units
            .iter()
            .filter(|u| !busy.contains(*u) && !mine_now.contains(*u))
            .collect();
        free.sort();
        for key in free.into_iter().take(share.saturating_sub(held.len())) {
            sqlx::query(
                "INSERT INTO leases (key, holder, expires_at, next_due) VALUES ($1, $2, $3, NULL)
                 ON CONFLICT (key) DO UPDATE
                 SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, next_due = NULL",
            )
            .bind(key)
            .bind(instance)
            .bind(until)
            .execute(&mut *tx)
            .await?;
            held.push((key.clone(), hints.get(key).copied().flatten()));
        }
        tx.commit().await?;
        Ok(Leases {
            held,
            instances: live,
        })
    }

    async fn leave(&self, instance: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7243)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM leases WHERE holder = $1")
            .bind(instance)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM instances WHERE id = $1")
            .bind(instance)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
