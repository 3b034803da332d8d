//! The SQL of [`crate::delivery::DeliveryStore`], written once for both engines like
//! [`crate::sql`]. `$skip_locked` is what claiming appends to its inner select: PostgreSQL's
//! `FOR UPDATE SKIP LOCKED`, so several instances claim different rows; nothing on SQLite,
//! where a write is already exclusive. `$serialise` makes writers take the store's writer
//! mutex first (SQLite), so deliverers queue in-process instead of sleeping on a busy database.

use crate::{StoreError, StoreResult};
use herald_core::notify::Notice;

/// A random hexadecimal secret of `bytes` bytes.
pub(crate) fn random_secret(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

pub(crate) fn notice_json(n: &Notice) -> StoreResult<String> {
    serde_json::to_string(n).map_err(|e| StoreError::Other(format!("cannot encode notice: {e}")))
}

/// Rows per multi-row insert when expanding a notification (two parameters each).
pub(crate) const EXPAND_CHUNK: usize = 400;

macro_rules! delivery_impl {
    ($store:ident, $db:ty, $skip_locked:literal, $serialise:literal) => {
        mod delivery_impl {
            use super::$store;
            use crate::delivery::{
                Claimed, DeliveryCounts, DeliveryId, DeliveryRecord, DeliveryState, DeliveryStore, Notification, Outcome,
            };
            use crate::sql::{from_ms, from_ms_opt, id, ms, wire};
            use crate::sql_delivery::{notice_json, random_secret, EXPAND_CHUNK};
            use crate::{StoreError, StoreResult};
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use herald_core::notify::{Notice, NoticeKind};
            use herald_core::Id;
            use sqlx::Row;
            use std::time::Duration;

            fn notification_from_row(r: &<$db as sqlx::Database>::Row) -> StoreResult<Notification> {
                let notice: String = r.try_get("notice")?;
                let rendered: Option<String> = r.try_get("rendered")?;
                Ok(Notification {
                    id: id(r.try_get("id")?)?,
                    notice: serde_json::from_str::<Notice>(&notice)
                        .map_err(|e| StoreError::Other(format!("stored notice is unreadable: {e}")))?,
                    rendered: rendered
                        .map(|t| serde_json::from_str(&t))
                        .transpose()
                        .map_err(|e| StoreError::Other(format!("stored message is unreadable: {e}")))?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                    expanded_at: from_ms_opt(r.try_get("expanded_at")?)?,
                })
            }

            fn delivery_id(v: &str) -> StoreResult<DeliveryId> {
                DeliveryId::parse(v).map_err(|e| StoreError::Other(e.to_string()))
            }

            #[async_trait]
            impl DeliveryStore for $store {
                async fn enqueue_notice(&self, nid: &Id, notice: &Notice, now: DateTime<Utc>) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "INSERT INTO notifications (id, kind, subject_id, notice, created_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(nid.as_str())
                    .bind(notice.kind.as_str())
                    .bind(notice.subject_id.as_str())
                    .bind(notice_json(notice)?)
                    .bind(ms(now))
                    .execute(&self.pool)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn waiting_notifications(&self, limit: i64) -> StoreResult<Vec<Notification>> {
                    let rows = sqlx::query(
                        "SELECT * FROM notifications WHERE expanded_at IS NULL ORDER BY created_at, id LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(notification_from_row).collect()
                }

                async fn notification(&self, nid: &Id) -> StoreResult<Option<Notification>> {
                    let row = sqlx::query("SELECT * FROM notifications WHERE id = $1")
                        .bind(nid.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(notification_from_row).transpose()
                }

                async fn expand_notification(
                    &self,
                    nid: &Id,
                    rendered: &serde_json::Value,
                    subscribers: &[Id],
                    now: DateTime<Utc>,
                ) -> StoreResult<usize> {
                    // SQLite has one writer: queue here rather than in its busy handler.
                    let _turn = if $serialise { Some(self.writer.lock().await) } else { None };
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let open = sqlx::query(
                        "UPDATE notifications SET rendered = $1, expanded_at = $2 WHERE id = $3 AND expanded_at IS NULL",
                    )
                    .bind(rendered.to_string())
                    .bind(ms(now))
                    .bind(nid.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if open.rows_affected() == 0 {
                        // Another worker expanded it first.
                        return Ok(0);
                    }
                    let mut added = 0;
                    for chunk in subscribers.chunks(EXPAND_CHUNK) {
                        let mut sql = String::from(
                            "INSERT INTO deliveries (id, subscriber_id, notification_id, state, attempts, next_at, \
                             lease_until, created_at) VALUES ",
                        );
                        for i in 0..chunk.len() {
                            if i > 0 {
                                sql.push(',');
                            }
                            sql.push_str(&format!("(${}, ${}, $1, 'pending', 0, $2, 0, $2)", 3 + 2 * i, 4 + 2 * i));
                        }
                        sql.push_str(" ON CONFLICT (id) DO NOTHING");
                        let mut q = sqlx::query(&sql).bind(nid.as_str()).bind(ms(now));
                        for s in chunk {
                            q = q.bind(DeliveryId::new(nid.clone(), s.clone()).to_string()).bind(s.as_str());
                        }
                        added += q.execute(&mut *tx).await?.rows_affected() as usize;
                    }
                    tx.commit().await?;
                    Ok(added)
                }

                async fn claim_deliveries(&self, now: DateTime<Utc>, lease: Duration, limit: i64) -> StoreResult<Vec<Claimed>> {
                    // SQLite has one writer: queue here rather than in its busy handler.
                    let _turn = if $serialise { Some(self.writer.lock().await) } else { None };
                    let token = random_secret(12);
                    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 4);
                    let claimed = sqlx::query(concat!(
                        "UPDATE deliveries SET lease_until = $1, attempts = attempts + 1, claim = $2 WHERE id IN \
                         (SELECT id FROM deliveries WHERE state = 'pending' AND next_at <= $3 AND lease_until <= $3 \
                         ORDER BY next_at LIMIT $4",
                        $skip_locked,
                        ")"
                    ))
                    .bind(ms(now) + lease_ms)
                    .bind(&token)
                    .bind(ms(now))
                    .bind(limit)
                    .execute(&self.pool)
                    .await?;
                    if claimed.rows_affected() == 0 {
                        return Ok(Vec::new());
                    }
                    let rows = sqlx::query(
                        "SELECT d.id AS delivery_id, d.attempts, s.* \
                         FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.claim = $1",
                    )
                    .bind(&token)
                    .fetch_all(&self.pool)
                    .await?;
                    let mut out = Vec::with_capacity(rows.len());
                    for r in &rows {
                        out.push(Claimed {
                            id: delivery_id(r.try_get("delivery_id")?)?,
                            subscriber: super::store_impl::subscriber_from_row(r)?,
                            secret: r.try_get("secret")?,
                            attempts: r.try_get("attempts")?,
                        });
                    }
                    Ok(out)
                }

                async fn finish_deliveries(
                    &self,
                    results: &[(DeliveryId, Outcome)],
                    now: DateTime<Utc>,
                    failures_to_quarantine: i32,
                ) -> StoreResult<Vec<Id>> {
                    // SQLite has one writer: queue here rather than in its busy handler.
                    let _turn = if $serialise { Some(self.writer.lock().await) } else { None };
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let mut sent: Vec<&DeliveryId> = Vec::new();
                    let mut quarantined = Vec::new();
                    for (did, outcome) in results {
                        let subscriber = did.subscriber.as_str();
                        match outcome {
                            Outcome::Sent => sent.push(did),
                            Outcome::Retry { at, error } => {
                                sqlx::query(
                                    "UPDATE deliveries SET next_at = $1, lease_until = 0, claim = NULL, last_error = $2 \
                                     WHERE id = $3 AND state = 'pending'",
                                )
                                .bind(ms(*at))
                                .bind(error)
                                .bind(did.to_string())
                                .execute(&mut *tx)
                                .await?;
                            }
                            Outcome::Dead { error } => {
                                sqlx::query(
                                    "UPDATE deliveries SET state = 'dead', done_at = $1, lease_until = 0, claim = NULL, \
                                     last_error = $2 WHERE id = $3 AND state = 'pending'",
                                )
                                .bind(ms(now))
                                .bind(error)
                                .bind(did.to_string())
                                .execute(&mut *tx)
                                .await?;
                                let row = sqlx::query(
                                    "UPDATE subscribers SET failures = failures + 1 WHERE id = $1 RETURNING failures, state",
                                )
                                .bind(subscriber)
                                .fetch_optional(&mut *tx)
                                .await?;
                                if let Some(row) = row {
                                    let failures: i32 = row.try_get("failures")?;
                                    let state: String = row.try_get("state")?;
                                    if failures >= failures_to_quarantine && state == "active" {
                                        sqlx::query("UPDATE subscribers SET state = 'quarantined', updated_at = $1 WHERE id = $2")
                                            .bind(ms(now))
                                            .bind(subscriber)
                                            .execute(&mut *tx)
                                            .await?;
                                        quarantined.push(did.subscriber.clone());
                                    }
                                }
                            }
                            Outcome::Dropped { reason } => {
                                sqlx::query(
                                    "UPDATE deliveries SET state = 'dropped', done_at = $1, lease_until = 0, claim = NULL, \
                                     last_error = $2 WHERE id = $3 AND state = 'pending'",
                                )
                                .bind(ms(now))
                                .bind(reason)
                                .bind(did.to_string())
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    }
                    for chunk in sent.chunks(500) {
                        let mut sql = String::from(
                            "UPDATE deliveries SET state = 'sent', done_at = $1, lease_until = 0, claim = NULL, \
                             last_error = NULL WHERE state = 'pending' AND id IN (",
                        );
                        for i in 0..chunk.len() {
                            if i > 0 {
                                sql.push(',');
                            }
                            sql.push_str(&format!("${}", i + 2));
                        }
                        sql.push(')');
                        let mut q = sqlx::query(&sql).bind(ms(now));
                        for d in chunk {
                            q = q.bind(d.to_string());
                        }
                        q.execute(&mut *tx).await?;
                    }
                    // A success clears a subscriber's run of failures.
                    let mut ok_subscribers: Vec<&str> = sent.iter().map(|d| d.subscriber.as_str()).collect();
                    ok_subscribers.sort_unstable();
                    ok_subscribers.dedup();
                    for chunk in ok_subscribers.chunks(500) {
                        let mut sql = String::from("UPDATE subscribers SET failures = 0 WHERE failures > 0 AND id IN (");
                        for i in 0..chunk.len() {
                            if i > 0 {
                                sql.push(',');
                            }
                            sql.push_str(&format!("${}", i + 1));
                        }
                        sql.push(')');
                        let mut q = sqlx::query(&sql);
                        for s in chunk {
                            q = q.bind(*s);
                        }
                        q.execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(quarantined)
                }

                async fn list_deliveries(
                    &self,
                    state: Option<DeliveryState>,
                    subscriber: Option<&Id>,
                    limit: i64,
                ) -> StoreResult<Vec<DeliveryRecord>> {
                    let rows = sqlx::query(
                        "SELECT d.*, n.kind FROM deliveries d JOIN notifications n ON n.id = d.notification_id \
                         WHERE ($1 = '' OR d.state = $1) AND ($2 = '' OR d.subscriber_id = $2) \
                         ORDER BY d.created_at DESC, d.id LIMIT $3",
                    )
                    .bind(state.map(DeliveryState::as_str).unwrap_or(""))
                    .bind(subscriber.map(|s| s.as_str()).unwrap_or(""))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(DeliveryRecord {
                                id: delivery_id(r.try_get("id")?)?,
                                notification_id: id(r.try_get("notification_id")?)?,
                                subscriber_id: id(r.try_get("subscriber_id")?)?,
                                state: wire(DeliveryState::parse, r.try_get("state")?)?,
                                attempts: r.try_get("attempts")?,
                                last_error: r.try_get("last_error")?,
                                created_at: from_ms(r.try_get("created_at")?)?,
                                next_at: from_ms(r.try_get("next_at")?)?,
                                done_at: from_ms_opt(r.try_get("done_at")?)?,
                                kind: wire(NoticeKind::parse, r.try_get("kind")?)?,
                            })
                        })
                        .collect()
                }

                async fn delivery_counts(&self) -> StoreResult<DeliveryCounts> {
                    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
                        .fetch_all(&self.pool)
                        .await?;
                    let mut c = DeliveryCounts::default();
                    for r in &rows {
                        let state: String = r.try_get("state")?;
                        let n: i64 = r.try_get("n")?;
                        match DeliveryState::parse(&state) {
                            Some(DeliveryState::Pending) => c.pending = n,
                            Some(DeliveryState::Sent) => c.sent = n,
                            Some(DeliveryState::Dead) => c.dead = n,
                            Some(DeliveryState::Dropped) | None => c.dropped += n,
                        }
                    }
                    Ok(c)
                }

                async fn retry_delivery(&self, did: &DeliveryId, now: DateTime<Utc>) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE deliveries SET state = 'pending', attempts = 0, next_at = $1, lease_until = 0, \
                         claim = NULL, done_at = NULL WHERE id = $2 AND state = 'dead'",
                    )
                    .bind(ms(now))
                    .bind(did.to_string())
                    .execute(&self.pool)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { what: format!("dead delivery {did}") });
                    }
                    Ok(())
                }

                async fn signing_key(&self, name: &str) -> StoreResult<String> {
                    sqlx::query(
                        "INSERT INTO signing_keys (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(random_secret(32))
                    .bind(ms(Utc::now()))
                    .execute(&self.pool)
                    .await?;
                    let row = sqlx::query("SELECT secret FROM signing_keys WHERE name = $1")
                        .bind(name)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(row.try_get("secret")?)
                }

                async fn import_subscribers(&self, subscribers: &[herald_core::audience::Subscriber]) -> StoreResult<usize> {
                    // SQLite has one writer: queue here rather than in its busy handler.
                    let _turn = if $serialise { Some(self.writer.lock().await) } else { None };
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    let mut added = 0;
                    for chunk in subscribers.chunks(200) {
                        let mut sql = String::from(
                            "INSERT INTO subscribers (id, mode, email, endpoint, component_ids, incident_id, state, \
                             created_at, updated_at, secret) VALUES ",
                        );
                        for i in 0..chunk.len() {
                            if i > 0 {
                                sql.push(',');
                            }
                            let b = i * 10;
                            sql.push('(');
                            for k in 1..=10 {
                                if k > 1 {
                                    sql.push(',');
                                }
                                sql.push_str(&format!("${}", b + k));
                            }
                            sql.push(')');
                        }
                        sql.push_str(" ON CONFLICT (id) DO NOTHING");
                        let mut q = sqlx::query(&sql);
                        for sub in chunk {
                            q = q
                                .bind(sub.id.as_str())
                                .bind(sub.mode.as_str())
                                .bind(&sub.email)
                                .bind(&sub.endpoint)
                                .bind(serde_json::to_string(&sub.component_ids).unwrap_or_else(|_| "[]".into()))
                                .bind(sub.incident_id.as_ref().map(|i| i.as_str().to_string()))
                                .bind(sub.state.as_str())
                                .bind(ms(sub.created_at))
                                .bind(ms(sub.updated_at))
                                .bind(random_secret(24));
                        }
                        added += q.execute(&mut *tx).await?.rows_affected() as usize;
                    }
                    tx.commit().await?;
                    Ok(added)
                }

                async fn subscriber_secret(&self, sid: &Id) -> StoreResult<Option<String>> {
                    let row = sqlx::query("SELECT secret FROM subscribers WHERE id = $1")
                        .bind(sid.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(match row {
                        Some(r) => r.try_get("secret")?,
                        None => None,
                    })
                }
            }
        }
    };
}

pub(crate) use delivery_impl;
