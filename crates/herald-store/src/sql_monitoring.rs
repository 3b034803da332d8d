//! PLACEHOLDER — replaced by the real SQL implementation of [`crate::monitoring::MonitorStore`].

macro_rules! monitoring_impl {
    ($store:ident) => {
        const _: () = {
            use crate::monitoring::*;
            use crate::{StoreError, StoreResult, WriteMeta};
            use chrono::{DateTime, Utc};
            use herald_core::monitor::*;
            use herald_core::Id;
            fn todo<T>() -> StoreResult<T> {
                Err(StoreError::Other("monitoring storage is not implemented yet".into()))
            }
            #[async_trait::async_trait]
            impl MonitorStore for $store {
                async fn save_monitor(&self, _: &MonitorSpec, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn delete_monitor(&self, _: &Id, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn list_monitors(&self) -> StoreResult<Vec<StoredMonitor>> { todo() }
                async fn monitor(&self, _: &Id) -> StoreResult<Option<StoredMonitor>> { todo() }
                async fn record_results(&self, _: &[RecordedResult]) -> StoreResult<()> { todo() }
                async fn recent_results(&self, _: &Id, _: DateTime<Utc>, _: i64) -> StoreResult<Vec<ProbeResult>> { todo() }
                async fn result_aggregates(&self, _: &Id, _: Resolution, _: DateTime<Utc>) -> StoreResult<Vec<ResultAggregate>> { todo() }
                async fn prune_results(&self, _: DateTime<Utc>) -> StoreResult<u64> { todo() }
                async fn save_automation(&self, _: &ComponentAutomation, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn list_automations(&self) -> StoreResult<Vec<ComponentAutomation>> { todo() }
                async fn automation_states(&self) -> StoreResult<Vec<(Id, serde_json::Value)>> { todo() }
                async fn save_automation_state(&self, _: &Id, _: &serde_json::Value) -> StoreResult<()> { todo() }
                async fn create_integration(&self, _: &Integration, _: &str, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn update_integration(&self, _: &Integration, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn list_integrations(&self) -> StoreResult<Vec<Integration>> { todo() }
                async fn integration_by_token_hash(&self, _: &str) -> StoreResult<Option<Integration>> { todo() }
                async fn delete_integration(&self, _: &Id, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn save_alert_channel(&self, _: &AlertChannel, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn list_alert_channels(&self) -> StoreResult<Vec<AlertChannel>> { todo() }
                async fn delete_alert_channel(&self, _: &Id, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn save_metric(&self, _: &Metric, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn list_metrics(&self) -> StoreResult<Vec<Metric>> { todo() }
                async fn delete_metric(&self, _: &Id, _: &WriteMeta) -> StoreResult<()> { todo() }
                async fn add_metric_points(&self, _: &Id, _: &[MetricPoint]) -> StoreResult<()> { todo() }
                async fn metric_points(&self, _: &Id, _: DateTime<Utc>) -> StoreResult<Vec<MetricPoint>> { todo() }
            }
        };
    };
}
pub(crate) use monitoring_impl;
