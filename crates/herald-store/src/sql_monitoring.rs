//! The SQL of [`crate::monitoring::MonitorStore`], written once and instantiated for both engines
//! like [`crate::sql`]. Configuration rows hold the domain types as JSON text; results are
//! plain columns so aggregates can be summed in SQL.

use crate::monitoring::ResultAggregate;
use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use herald_core::monitor::ProbeOutcome;

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(format!("cannot encode: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Other(format!("stored JSON is unreadable: {e}")))
}

/// A probe outcome as its three columns of `monitor_results` hold it.
pub(crate) struct OutcomeColumns {
    /// 0 up, 1 degraded, 2 down.
    pub code: i16,
    pub latency_ms: Option<i64>,
    pub reason: Option<String>,
}

impl OutcomeColumns {
    pub(crate) fn of(o: &ProbeOutcome) -> Self {
        let lat = |ms: u64| Some(i64::try_from(ms).unwrap_or(i64::MAX));
        let (code, latency_ms, reason) = match o {
            ProbeOutcome::Up { latency_ms } => (0, lat(*latency_ms), None),
            ProbeOutcome::Degraded { latency_ms, reason } => {
                (1, lat(*latency_ms), Some(reason.clone()))
            }
            ProbeOutcome::Down { reason } => (2, None, Some(reason.clone())),
        };
        OutcomeColumns {
            code,
            latency_ms,
            reason,
        }
    }

    pub(crate) fn outcome(self) -> ProbeOutcome {
        let ms = u64::try_from(self.latency_ms.unwrap_or(0)).unwrap_or(0);
        match self.code {
            0 => ProbeOutcome::Up { latency_ms: ms },
            1 => ProbeOutcome::Degraded {
                latency_ms: ms,
                reason: self.reason.unwrap_or_default(),
            },
            _ => ProbeOutcome::Down {
                reason: self.reason.unwrap_or_default(),
            },
        }
    }
}

/// Start of the minute and of the UTC day holding `at`, in milliseconds.
pub(crate) fn minute_and_day(at: DateTime<Utc>) -> (i64, i64) {
    let t = at.timestamp_millis();
    (t - t.rem_euclid(60_000), t - t.rem_euclid(86_400_000))
}

/// Sums of one bucket while a batch is folded.
#[derive(Default, Clone, Copy)]
pub(crate) struct Sums {
    pub up: i64,
    pub degraded: i64,
    pub down: i64,
    pub latency_sum: i64,
    pub latency_max: i64,
}

impl Sums {
    pub fn add(&mut self, code: i16, latency: Option<i64>) {
        match code {
            0 => self.up += 1,
            1 => self.degraded += 1,
            _ => self.down += 1,
        }
        if code != 2 {
            let l = latency.unwrap_or(0);
            self.latency_sum = self.latency_sum.saturating_add(l);
            self.latency_max = self.latency_max.max(l);
        }
    }
}

pub(crate) fn aggregate_from(
    start: i64,
    up: i64,
    degraded: i64,
    down: i64,
    sum: i64,
    max: i64,
) -> StoreResult<ResultAggregate> {
    Ok(ResultAggregate {
        start: crate::sql::from_ms(start)?,
        up,
        degraded,
        down,
        latency_sum_ms: sum,
        latency_max_ms: max,
    })
}

/// The monitoring parts of a data file, written by an import in its transaction.
#[derive(Clone, Debug, Default)]
pub(crate) struct MonitoringSections {
    pub monitors: Vec<herald_core::monitor::MonitorSpec>,
    pub automation: Vec<herald_core::monitor::ComponentAutomation>,
    pub metrics: Vec<herald_core::monitor::Metric>,
    pub alert_channels: Vec<herald_core::monitor::AlertChannel>,
}

impl MonitoringSections {
    pub fn of(file: &herald_core::datafile::DataFile) -> Self {
        MonitoringSections {
            monitors: file.monitors.clone(),
            automation: file.automation.clone(),
            metrics: file.metrics.clone(),
            alert_channels: file.alert_channels.clone(),
        }
    }
}

macro_rules! monitoring_impl {
    ($store:ident, $db:ty, $write_lock:expr) => {
        const _: () = {
            use crate::monitoring::*;
            use crate::sql::{from_ms, id, ms};
            use crate::sql_monitoring::*;
            use crate::{StoreError, StoreResult, WriteMeta};
            use chrono::{DateTime, Utc};
            use herald_core::monitor::*;
            use herald_core::Id;
            use sqlx::Row;
            use std::collections::{BTreeMap, HashMap, HashSet};

            type Conn = <$db as sqlx::Database>::Connection;

            async fn audit(
                c: &mut Conn,
                meta: &WriteMeta,
                action: &str,
                subject: &Id,
                after: Option<serde_json::Value>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, subject_id, before, after) VALUES ($1, $2, $3, $4, NULL, $5)",
                )
                .bind(ms(meta.now))
                .bind(&meta.actor)
                .bind(action)
                .bind(subject.as_str())
                .bind(after.map(|v| v.to_string()))
                .execute(&mut *c)
                .await?;
                Ok(())
            }

            fn monitor_from_row(r: &<$db as sqlx::Database>::Row) -> StoreResult<StoredMonitor> {
                let last: Option<String> = r.try_get("last_result")?;
                Ok(StoredMonitor {
                    spec: from_json(r.try_get::<&str, _>("spec")?)?,
                    state: from_json(r.try_get::<&str, _>("state")?)?,
                    last_result: last.as_deref().map(from_json).transpose()?,
                    created_at: from_ms(r.try_get("created_at")?)?,
                    updated_at: from_ms(r.try_get("updated_at")?)?,
                })
            }

            fn json_value<T: serde::Serialize>(v: &T) -> Option<serde_json::Value> {
                serde_json::to_value(v).ok()
            }

            /// Creates or updates one settings row; true when something changed.
            async fn upsert_settings(c: &mut Conn, table: &str, key: &Id, settings: String) -> StoreResult<bool> {
                let key_column = if table == "component_automation" { "component_id" } else { "id" };
                let old: Option<String> = sqlx::query_scalar(&format!("SELECT settings FROM {table} WHERE {key_column} = $1"))
                    .bind(key.as_str())
                    .fetch_optional(&mut *c)
                    .await?;
                if old.as_deref() == Some(settings.as_str()) {
                    return Ok(false);
                }
                let sql = if table == "metrics" {
                    "INSERT INTO metrics (id, position, settings) VALUES ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM metrics), $2) \
                     ON CONFLICT (id) DO UPDATE SET settings = excluded.settings".to_string()
                } else {
                    format!("INSERT INTO {table} ({key_column}, settings) VALUES ($1, $2) \
                             ON CONFLICT ({key_column}) DO UPDATE SET settings = excluded.settings")
                };
                sqlx::query(&sql).bind(key.as_str()).bind(settings).execute(&mut *c).await?;
                Ok(true)
            }

            impl $store {
                /// Writes the monitoring sections of an imported data file inside the import's
                /// transaction: (written, unchanged).
                pub(crate) async fn import_monitoring(c: &mut Conn, s: &MonitoringSections, now: DateTime<Utc>) -> StoreResult<(usize, usize)> {
                    let (mut written, mut unchanged) = (0, 0);
                    let mut count = |changed: bool| if changed { written += 1 } else { unchanged += 1 };
                    for spec in &s.monitors {
                        let text = to_json(spec)?;
                        let old: Option<String> = sqlx::query_scalar("SELECT spec FROM monitors WHERE id = $1")
                            .bind(spec.id.as_str())
                            .fetch_optional(&mut *c)
                            .await?;
                        if old.as_deref() == Some(text.as_str()) {
                            count(false);
                            continue;
                        }
                        let token = match &spec.probe {
                            ProbeSpec::Heartbeat { token, .. } => Some(token.clone()),
                            _ => None,
                        };
                        sqlx::query(
                            "INSERT INTO monitors (id, name, component_id, heartbeat_token, spec, state, last_result, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7) \
                             ON CONFLICT (id) DO UPDATE SET name = excluded.name, component_id = excluded.component_id, \
                             heartbeat_token = excluded.heartbeat_token, spec = excluded.spec, updated_at = excluded.updated_at",
                        )
                        .bind(spec.id.as_str())
                        .bind(&spec.name)
                        .bind(spec.component_id.as_ref().map(|x| x.as_str().to_string()))
                        .bind(token)
                        .bind(text)
                        .bind(to_json(&MonitorState::default())?)
                        .bind(ms(now))
                        .execute(&mut *c)
                        .await?;
                        count(true);
                    }
                    for a in &s.automation {
                        count(upsert_settings(c, "component_automation", &a.component_id, to_json(a)?).await?);
                    }
                    for m in &s.metrics {
                        count(upsert_settings(c, "metrics", &m.id, to_json(m)?).await?);
                    }
                    for ch in &s.alert_channels {
                        count(upsert_settings(c, "alert_channels", &ch.id, to_json(ch)?).await?);
                    }
                    Ok((written, unchanged))
                }

                async fn begin_write(&self) -> StoreResult<(tokio::sync::MutexGuard<'_, ()>, sqlx::Transaction<'_, $db>)> {
                    let guard = self.writer.lock().await;
                    let mut tx = self.pool.begin_with($store::BEGIN_WRITE).await?;
                    if let Some(sql) = $write_lock {
                        sqlx::query(sql).execute(&mut *tx).await?;
                    }
                    Ok((guard, tx))
                }

                #[allow(clippy::too_many_arguments)]
                async fn save_settings(
                    &self,
                    table: &str,
                    key_column: &str,
                    key: &Id,
                    settings: String,
                    meta: &WriteMeta,
                    action: &str,
                    after: Option<serde_json::Value>,
                ) -> StoreResult<()> {
                    let (_g, mut tx) = self.begin_write().await?;
                    sqlx::query(&format!(
                        "INSERT INTO {table} ({key_column}, settings) VALUES ($1, $2) \
                         ON CONFLICT ({key_column}) DO UPDATE SET settings = excluded.settings"
                    ))
                    .bind(key.as_str())
                    .bind(settings)
                    .execute(&mut *tx)
                    .await?;
                    audit(&mut tx, meta, action, key, after).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn delete_row(
                    &self,
                    statements: &[&str],
                    key: &Id,
                    what: &str,
                    meta: &WriteMeta,
                    action: &str,
                ) -> StoreResult<()> {
                    let (_g, mut tx) = self.begin_write().await?;
                    let mut found = false;
                    for (i, sql) in statements.iter().enumerate() {
                        let done = sqlx::query(sql).bind(key.as_str()).execute(&mut *tx).await?;
                        // The last statement removes the object itself.
                        if i + 1 == statements.len() {
                            found = done.rows_affected() > 0;
                        }
                    }
                    if !found {
                        return Err(StoreError::NotFound { what: format!("{what} {key}") });
                    }
                    audit(&mut tx, meta, action, key, None).await?;
                    tx.commit().await?;
                    Ok(())
                }
            }

            #[async_trait::async_trait]
            impl MonitorStore for $store {
                async fn save_monitor(&self, spec: &MonitorSpec, meta: &WriteMeta) -> StoreResult<()> {
                    let (_g, mut tx) = self.begin_write().await?;
                    let token = match &spec.probe {
                        ProbeSpec::Heartbeat { token, .. } => Some(token.clone()),
                        _ => None,
                    };
                    if let Some(t) = &token {
                        let taken = sqlx::query("SELECT id FROM monitors WHERE heartbeat_token = $1 AND id <> $2")
                            .bind(t)
                            .bind(spec.id.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                        if taken.is_some() {
                            return Err(StoreError::Conflict {
                                what: "another monitor already uses this heartbeat token".into(),
                            });
                        }
                    }
                    sqlx::query(
                        "INSERT INTO monitors (id, name, component_id, heartbeat_token, spec, state, last_result, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7) \
                         ON CONFLICT (id) DO UPDATE SET name = excluded.name, component_id = excluded.component_id, \
                         heartbeat_token = excluded.heartbeat_token, spec = excluded.spec, updated_at = excluded.updated_at",
                    )
                    .bind(spec.id.as_str())
                    .bind(&spec.name)
                    .bind(spec.component_id.as_ref().map(|c| c.as_str().to_string()))
                    .bind(token)
                    .bind(to_json(spec)?)
                    .bind(to_json(&MonitorState::default())?)
                    .bind(ms(meta.now))
                    .execute(&mut *tx)
                    .await?;
                    // The audit log is read by every role: headers, tokens and credentials go in redacted.
                    let shown = json_value(&herald_core::secret::Redact::redacted(spec));
                    audit(&mut tx, meta, "monitor.save", &spec.id, shown).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn delete_monitor(&self, key: &Id, meta: &WriteMeta) -> StoreResult<()> {
                    self.delete_row(
                        &[
                            "DELETE FROM monitor_results WHERE monitor_id = $1",
                            "DELETE FROM monitor_minutes WHERE monitor_id = $1",
                            "DELETE FROM monitor_days WHERE monitor_id = $1",
                            "DELETE FROM monitors WHERE id = $1",
                        ],
                        key,
                        "monitor",
                        meta,
                        "monitor.delete",
                    )
                    .await
                }

                async fn list_monitors(&self) -> StoreResult<Vec<StoredMonitor>> {
                    let rows = sqlx::query("SELECT * FROM monitors ORDER BY created_at, id")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(monitor_from_row).collect()
                }

                async fn monitor(&self, key: &Id) -> StoreResult<Option<StoredMonitor>> {
                    let row = sqlx::query("SELECT * FROM monitors WHERE id = $1")
                        .bind(key.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    row.as_ref().map(monitor_from_row).transpose()
                }

                async fn record_results(&self, batch: &[RecordedResult]) -> StoreResult<()> {
                    if batch.is_empty() {
                        return Ok(());
                    }
                    // The last result and state of each monitor, and the sums per bucket.
                    let mut last: HashMap<&Id, &RecordedResult> = HashMap::new();
                    for r in batch {
                        last.insert(&r.result.monitor_id, r);
                    }
                    let (_g, mut tx) = self.begin_write().await?;
                    let mut known: HashSet<&Id> = HashSet::new();
                    for (monitor, r) in &last {
                        let done = sqlx::query("UPDATE monitors SET state = $1, last_result = $2 WHERE id = $3")
                            .bind(to_json(&r.state)?)
                            .bind(to_json(&r.result)?)
                            .bind(monitor.as_str())
                            .execute(&mut *tx)
                            .await?;
                        if done.rows_affected() > 0 {
                            known.insert(monitor);
                        }
                    }
                    let mut minutes: BTreeMap<(&Id, i64), Sums> = BTreeMap::new();
                    let mut days: BTreeMap<(&Id, i64), Sums> = BTreeMap::new();
                    for r in batch.iter().filter(|r| known.contains(&r.result.monitor_id)) {
                        let OutcomeColumns { code, latency_ms: latency, reason } = OutcomeColumns::of(&r.result.outcome);
                        sqlx::query("INSERT INTO monitor_results (monitor_id, at, outcome, latency_ms, reason) VALUES ($1, $2, $3, $4, $5)")
                            .bind(r.result.monitor_id.as_str())
                            .bind(ms(r.result.at))
                            .bind(code)
                            .bind(latency)
                            .bind(reason)
                            .execute(&mut *tx)
                            .await?;
                        let (minute, day) = minute_and_day(r.result.at);
                        minutes.entry((&r.result.monitor_id, minute)).or_default().add(code, latency);
                        days.entry((&r.result.monitor_id, day)).or_default().add(code, latency);
                    }
                    for (table, sums) in [("monitor_minutes", &minutes), ("monitor_days", &days)] {
                        let sql = format!(
                            "INSERT INTO {table} (monitor_id, start, up, degraded, down, latency_sum_ms, latency_max_ms) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) \
                             ON CONFLICT (monitor_id, start) DO UPDATE SET up = {table}.up + excluded.up, \
                             degraded = {table}.degraded + excluded.degraded, down = {table}.down + excluded.down, \
                             latency_sum_ms = {table}.latency_sum_ms + excluded.latency_sum_ms, \
                             latency_max_ms = CASE WHEN {table}.latency_max_ms > excluded.latency_max_ms \
                             THEN {table}.latency_max_ms ELSE excluded.latency_max_ms END"
                        );
                        for ((monitor, start), s) in sums {
                            sqlx::query(&sql)
                                .bind(monitor.as_str())
                                .bind(*start)
                                .bind(s.up)
                                .bind(s.degraded)
                                .bind(s.down)
                                .bind(s.latency_sum)
                                .bind(s.latency_max)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn recent_results(&self, monitor: &Id, since: DateTime<Utc>, limit: i64) -> StoreResult<Vec<ProbeResult>> {
                    let rows = sqlx::query(
                        "SELECT at, outcome, latency_ms, reason FROM monitor_results \
                         WHERE monitor_id = $1 AND at >= $2 ORDER BY at DESC LIMIT $3",
                    )
                    .bind(monitor.as_str())
                    .bind(ms(since))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(ProbeResult {
                                monitor_id: monitor.clone(),
                                at: from_ms(r.try_get("at")?)?,
                                outcome: OutcomeColumns {
                                    code: r.try_get("outcome")?,
                                    latency_ms: r.try_get("latency_ms")?,
                                    reason: r.try_get("reason")?,
                                }
                                .outcome(),
                            })
                        })
                        .collect()
                }

                async fn result_aggregates(&self, monitor: &Id, resolution: Resolution, since: DateTime<Utc>) -> StoreResult<Vec<ResultAggregate>> {
                    let table = match resolution {
                        Resolution::Minute => "monitor_minutes",
                        Resolution::Day => "monitor_days",
                    };
                    let rows = sqlx::query(&format!(
                        "SELECT start, up, degraded, down, latency_sum_ms, latency_max_ms FROM {table} \
                         WHERE monitor_id = $1 AND start >= $2 ORDER BY start"
                    ))
                    .bind(monitor.as_str())
                    .bind(ms(since))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            aggregate_from(
                                r.try_get("start")?,
                                r.try_get("up")?,
                                r.try_get("degraded")?,
                                r.try_get("down")?,
                                r.try_get("latency_sum_ms")?,
                                r.try_get("latency_max_ms")?,
                            )
                        })
                        .collect()
                }

                async fn prune_results(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                    let raw = ms(now - chrono::TimeDelta::hours(RAW_RETENTION_HOURS));
                    let year = ms(now - chrono::TimeDelta::days(AGGREGATE_RETENTION_DAYS));
                    let (_g, mut tx) = self.begin_write().await?;
                    let mut removed = 0;
                    for (sql, before) in [
                        ("DELETE FROM monitor_results WHERE at < $1", raw),
                        ("DELETE FROM monitor_minutes WHERE start < $1", year),
                        ("DELETE FROM monitor_days WHERE start < $1", year),
                    ] {
                        removed += sqlx::query(sql).bind(before).execute(&mut *tx).await?.rows_affected();
                    }
                    tx.commit().await?;
                    Ok(removed)
                }

                async fn save_automation(&self, a: &ComponentAutomation, meta: &WriteMeta) -> StoreResult<()> {
                    self.save_settings("component_automation", "component_id", &a.component_id, to_json(a)?, meta, "automation.save", json_value(a)).await
                }

                async fn list_automations(&self) -> StoreResult<Vec<ComponentAutomation>> {
                    let rows = sqlx::query("SELECT settings FROM component_automation ORDER BY component_id")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|r| from_json(r.try_get::<&str, _>("settings")?)).collect()
                }

                async fn automation_states(&self) -> StoreResult<Vec<(Id, serde_json::Value)>> {
                    let rows = sqlx::query("SELECT component_id, state FROM automation_state ORDER BY component_id")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((id(r.try_get("component_id")?)?, from_json(r.try_get::<&str, _>("state")?)?)))
                        .collect()
                }

                async fn save_automation_state(&self, component: &Id, state: &serde_json::Value) -> StoreResult<()> {
                    let (_g, mut tx) = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO automation_state (component_id, state) VALUES ($1, $2) \
                         ON CONFLICT (component_id) DO UPDATE SET state = excluded.state",
                    )
                    .bind(component.as_str())
                    .bind(state.to_string())
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn create_integration(&self, i: &Integration, token_hash: &str, meta: &WriteMeta) -> StoreResult<()> {
                    let (_g, mut tx) = self.begin_write().await?;
                    sqlx::query("INSERT INTO integrations (id, kind, settings, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(i.id.as_str())
                        .bind(i.kind.as_str())
                        .bind(to_json(i)?)
                        .bind(token_hash)
                        .bind(ms(i.created_at))
                        .execute(&mut *tx)
                        .await?;
                    audit(&mut tx, meta, "integration.create", &i.id, json_value(i)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn update_integration(&self, i: &Integration, meta: &WriteMeta) -> StoreResult<()> {
                    let (_g, mut tx) = self.begin_write().await?;
                    let done = sqlx::query("UPDATE integrations SET kind = $1, settings = $2 WHERE id = $3")
                        .bind(i.kind.as_str())
                        .bind(to_json(i)?)
                        .bind(i.id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound { what: format!("integration {}", i.id) });
                    }
                    audit(&mut tx, meta, "integration.update", &i.id, json_value(i)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn list_integrations(&self) -> StoreResult<Vec<Integration>> {
                    let rows = sqlx::query("SELECT settings FROM integrations ORDER BY created_at, id")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|r| from_json(r.try_get::<&str, _>("settings")?)).collect()
                }

                async fn integration_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<Integration>> {
                    let row = sqlx::query("SELECT settings FROM integrations WHERE token_hash = $1")
                        .bind(token_hash)
                        .fetch_optional(&self.pool)
                        .await?;
                    row.map(|r| from_json(r.try_get::<&str, _>("settings")?)).transpose()
                }

                async fn delete_integration(&self, key: &Id, meta: &WriteMeta) -> StoreResult<()> {
                    self.delete_row(&["DELETE FROM integrations WHERE id = $1"], key, "integration", meta, "integration.delete").await
                }

                async fn save_alert_channel(&self, c: &AlertChannel, meta: &WriteMeta) -> StoreResult<()> {
                    // Webhook URLs carry secrets in their path: the audit entry shows scheme and host only.
                    let shown = json_value(&herald_core::secret::Redact::redacted(c));
                    self.save_settings("alert_channels", "id", &c.id, to_json(c)?, meta, "alert_channel.save", shown).await
                }

                async fn list_alert_channels(&self) -> StoreResult<Vec<AlertChannel>> {
                    let rows = sqlx::query("SELECT settings FROM alert_channels ORDER BY id")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|r| from_json(r.try_get::<&str, _>("settings")?)).collect()
                }

                async fn delete_alert_channel(&self, key: &Id, meta: &WriteMeta) -> StoreResult<()> {
                    self.delete_row(&["DELETE FROM alert_channels WHERE id = $1"], key, "alert channel", meta, "alert_channel.delete").await
                }

                async fn save_metric(&self, m: &Metric, meta: &WriteMeta) -> StoreResult<()> {
                    let (_g, mut tx) = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO metrics (id, position, settings) \
                         VALUES ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM metrics), $2) \
                         ON CONFLICT (id) DO UPDATE SET settings = excluded.settings",
                    )
                    .bind(m.id.as_str())
                    .bind(to_json(m)?)
                    .execute(&mut *tx)
                    .await?;
                    audit(&mut tx, meta, "metric.save", &m.id, json_value(m)).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn list_metrics(&self) -> StoreResult<Vec<Metric>> {
                    let rows = sqlx::query("SELECT settings FROM metrics ORDER BY position, id")
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter().map(|r| from_json(r.try_get::<&str, _>("settings")?)).collect()
                }

                async fn delete_metric(&self, key: &Id, meta: &WriteMeta) -> StoreResult<()> {
                    self.delete_row(
                        &["DELETE FROM metric_points WHERE metric_id = $1", "DELETE FROM metrics WHERE id = $1"],
                        key,
                        "metric",
                        meta,
                        "metric.delete",
                    )
                    .await
                }

                async fn add_metric_points(&self, metric: &Id, points: &[MetricPoint]) -> StoreResult<()> {
                    let (_g, mut tx) = self.begin_write().await?;
                    let exists = sqlx::query("SELECT id FROM metrics WHERE id = $1")
                        .bind(metric.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    if exists.is_none() {
                        return Err(StoreError::NotFound { what: format!("metric {metric}") });
                    }
                    for p in points {
                        sqlx::query(
                            "INSERT INTO metric_points (metric_id, at, value) VALUES ($1, $2, $3) \
                             ON CONFLICT (metric_id, at) DO UPDATE SET value = excluded.value",
                        )
                        .bind(metric.as_str())
                        .bind(ms(p.at))
                        .bind(p.value)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn metric_points(&self, metric: &Id, since: DateTime<Utc>) -> StoreResult<Vec<MetricPoint>> {
                    let rows = sqlx::query("SELECT at, value FROM metric_points WHERE metric_id = $1 AND at >= $2 ORDER BY at")
                        .bind(metric.as_str())
                        .bind(ms(since))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| Ok(MetricPoint { at: from_ms(r.try_get("at")?)?, value: r.try_get("value")? }))
                        .collect()
                }
            }
        };
    };
}
pub(crate) use monitoring_impl;
