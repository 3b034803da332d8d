//! What Herald keeps about monitoring: monitors and their last state, probe results (raw for
//! 48 hours, per-minute and per-day aggregates for a year), per-component automation and its
//! running state, alert integrations, team alert channels, and system metrics.

use crate::{StoreResult, WriteMeta};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::monitor::{
    AlertChannel, ComponentAutomation, Integration, Metric, MetricPoint, MonitorSpec, MonitorState,
    ProbeResult,
};
use herald_core::Id;

/// How long raw probe results are kept.
pub const RAW_RETENTION_HOURS: i64 = 48;
/// How long per-minute and per-day aggregates are kept.
pub const AGGREGATE_RETENTION_DAYS: i64 = 365;

/// A monitor as stored: its configuration and where its state machine stood.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMonitor {
    pub spec: MonitorSpec,
    pub state: MonitorState,
    /// The newest result recorded, if any.
    pub last_result: Option<ProbeResult>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One probe result and the monitor state after it, written together.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedResult {
    pub result: ProbeResult,
    pub state: MonitorState,
}

/// Aggregate granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Minute,
    Day,
}

/// Results of one monitor over one minute or one UTC day.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultAggregate {
    /// Start of the minute or day (UTC).
    pub start: DateTime<Utc>,
    pub up: i64,
    pub degraded: i64,
    pub down: i64,
    /// Sum and maximum of latencies of answered probes (up or degraded).
    pub latency_sum_ms: i64,
    pub latency_max_ms: i64,
}

impl ResultAggregate {
    /// Mean latency of answered probes, if any answered.
    pub fn mean_latency_ms(&self) -> Option<f64> {
        let answered = self.up + self.degraded;
        (answered > 0).then(|| self.latency_sum_ms as f64 / answered as f64)
    }
}

/// Monitoring storage; every [`crate::Store`] implements it.
#[async_trait]
pub trait MonitorStore: Send + Sync {
    /// Creates or replaces a monitor's configuration (its state is kept on replace). `Conflict`
    /// when a heartbeat token is already used by another monitor.
    async fn save_monitor(&self, spec: &MonitorSpec, meta: &WriteMeta) -> StoreResult<()>;

    /// Deletes a monitor with its results; `NotFound` when there is none.
    async fn delete_monitor(&self, id: &Id, meta: &WriteMeta) -> StoreResult<()>;

    /// Every monitor, oldest first.
    async fn list_monitors(&self) -> StoreResult<Vec<StoredMonitor>>;

    async fn monitor(&self, id: &Id) -> StoreResult<Option<StoredMonitor>>;

    /// Writes a batch of results in one transaction: raw rows, the minute and day aggregates, and
    /// each monitor's state (the last one given for a monitor wins). Results of monitors that no
    /// longer exist are skipped.
    async fn record_results(&self, batch: &[RecordedResult]) -> StoreResult<()>;

    /// Raw results of a monitor at or after `since`, newest first, at most `limit`.
    async fn recent_results(
        &self,
        monitor: &Id,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<ProbeResult>>;

    /// Aggregates of a monitor starting at or after `since`, oldest first.
    async fn result_aggregates(
        &self,
        monitor: &Id,
        resolution: Resolution,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<ResultAggregate>>;

    /// Drops raw results older than 48 hours and aggregates older than a year; returns the
    /// number of rows removed.
    async fn prune_results(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Creates or replaces how a component follows its monitors.
    async fn save_automation(
        &self,
        automation: &ComponentAutomation,
        meta: &WriteMeta,
    ) -> StoreResult<()>;

    /// Every component's automation settings (components without a row use the defaults).
    async fn list_automations(&self) -> StoreResult<Vec<ComponentAutomation>>;

    /// The automation runtime's own memory per component (open automatic incident, drafts…),
    /// as opaque JSON.
    async fn automation_states(&self) -> StoreResult<Vec<(Id, serde_json::Value)>>;

    async fn save_automation_state(
        &self,
        component: &Id,
        state: &serde_json::Value,
    ) -> StoreResult<()>;

    /// Adds an integration with the hash of its token.
    async fn create_integration(
        &self,
        integration: &Integration,
        token_hash: &str,
        meta: &WriteMeta,
    ) -> StoreResult<()>;

    /// Replaces an integration's mapping (its token stays).
    async fn update_integration(
        &self,
        integration: &Integration,
        meta: &WriteMeta,
    ) -> StoreResult<()>;

    async fn list_integrations(&self) -> StoreResult<Vec<Integration>>;

    async fn integration_by_token_hash(&self, token_hash: &str)
        -> StoreResult<Option<Integration>>;

    async fn delete_integration(&self, id: &Id, meta: &WriteMeta) -> StoreResult<()>;

    /// Creates or replaces a team alert channel.
    async fn save_alert_channel(&self, channel: &AlertChannel, meta: &WriteMeta)
        -> StoreResult<()>;

    async fn list_alert_channels(&self) -> StoreResult<Vec<AlertChannel>>;

    async fn delete_alert_channel(&self, id: &Id, meta: &WriteMeta) -> StoreResult<()>;

    /// Creates or replaces a metric.
    async fn save_metric(&self, metric: &Metric, meta: &WriteMeta) -> StoreResult<()>;

    async fn list_metrics(&self) -> StoreResult<Vec<Metric>>;

    /// Deletes a metric and its points; `NotFound` when there is none.
    async fn delete_metric(&self, id: &Id, meta: &WriteMeta) -> StoreResult<()>;

    /// Adds data points to a metric (a point at an instant already present replaces it);
    /// `NotFound` when the metric does not exist.
    async fn add_metric_points(&self, metric: &Id, points: &[MetricPoint]) -> StoreResult<()>;

    /// Points of a metric at or after `since`, oldest first.
    async fn metric_points(
        &self,
        metric: &Id,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<MetricPoint>>;
}
