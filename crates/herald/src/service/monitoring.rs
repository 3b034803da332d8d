//! The monitoring writes: monitors, how components follow them, alert integrations, team alert
//! channels, system metrics and their data points. The admin UI and the API both call these,
//! with the same typed input; each method checks the caller's role, validates, writes, and
//! ends in [`Service::after`].
//!
//! Checks that need the network (whether a webhook target is allowed) are the caller's, before
//! it calls here: the target guard belongs to the delivery runtime.

use super::access::{new_secret, secret_hash};
use super::{Caller, Effect, Service, ServiceError, ServiceResult};
use herald_core::monitor::{
    AlertChannel, ComponentAutomation, Integration, IntegrationKind, Metric, MetricPoint,
    MonitorError, MonitorSpec, ProbeSpec,
};
use herald_core::{ComponentStatus, Id};
use herald_store::monitoring::StoredMonitor;
use herald_store::StoreError;
use std::collections::BTreeMap;

/// Most data points accepted in one call.
pub const MAX_POINTS: usize = 3_000;

/// Longest quiet period before an automatic incident resolves: a day.
pub const MAX_QUIET_SECONDS: u32 = 86_400;

/// A new alert integration: its kind and name, and whatever of the usual mapping the caller
/// wants different ([`Integration::new`] has the rest).
#[derive(Clone, Debug)]
pub struct NewIntegration {
    pub kind: IntegrationKind,
    pub name: String,
    pub component_label: Option<String>,
    pub components: Option<BTreeMap<String, Id>>,
    pub default_component: Option<Id>,
    pub severity_label: Option<String>,
    pub severities: Option<BTreeMap<String, ComponentStatus>>,
    pub default_status: Option<ComponentStatus>,
}

impl NewIntegration {
    /// An integration of `kind` named `name`, with the usual mapping.
    pub fn new(kind: IntegrationKind, name: impl Into<String>) -> Self {
        NewIntegration {
            kind,
            name: name.into(),
            component_label: None,
            components: None,
            default_component: None,
            severity_label: None,
            severities: None,
            default_status: None,
        }
    }
}

/// An integration just made, with its token: the only time the token is seen, since only its
/// hash is kept.
#[derive(Clone, Debug)]
pub struct CreatedIntegration {
    pub integration: Integration,
    pub token: String,
}

/// A refusal from a core check, with its field.
fn refused(e: MonitorError) -> ServiceError {
    ServiceError::invalid(&e.field, e.message)
}

/// A name of 1 to 255 characters on one line.
fn check_name(field: &str, name: &str) -> ServiceResult<()> {
    herald_core::text::line(field, name)?;
    if name.trim().is_empty() || name.chars().count() > 255 {
        return Err(ServiceError::invalid(field, "must be 1 to 255 characters"));
    }
    Ok(())
}

impl Service {
    /// Whether the page has a component with this id.
    async fn has_component(&self, id: &Id) -> ServiceResult<bool> {
        let doc = self.store.load().await?;
        Ok(doc.is_some_and(|d| d.component(id).is_some()))
    }

    /// Creates a monitor; it gets an id of its own (the one in `spec` is not used), and a
    /// heartbeat without a token gets one. Returns the stored monitor.
    pub async fn add_monitor(
        &self,
        caller: &Caller,
        spec: MonitorSpec,
    ) -> ServiceResult<StoredMonitor> {
        caller.require_write()?;
        let spec = MonitorSpec {
            id: herald_store::random_id(),
            ..spec
        };
        self.write_monitor(caller, spec).await
    }

    /// Replaces the configuration of monitor `id` (its state is kept); `NotFound` when there
    /// is none. A heartbeat sent without a token gets a new one.
    pub async fn replace_monitor(
        &self,
        caller: &Caller,
        id: &Id,
        spec: MonitorSpec,
    ) -> ServiceResult<StoredMonitor> {
        caller.require_write()?;
        if self.store.monitor(id).await?.is_none() {
            return Err(ServiceError::NotFound);
        }
        let spec = MonitorSpec {
            id: id.clone(),
            ..spec
        };
        self.write_monitor(caller, spec).await
    }

    /// Checks a monitor's whole configuration as one, then writes it.
    async fn write_monitor(
        &self,
        caller: &Caller,
        mut spec: MonitorSpec,
    ) -> ServiceResult<StoredMonitor> {
        if let ProbeSpec::Heartbeat { token, .. } = &mut spec.probe {
            if token.trim().is_empty() {
                *token = new_secret(12);
            }
        }
        spec.validate().map_err(refused)?;
        if let Some(c) = &spec.component_id {
            if !self.has_component(c).await? {
                return Err(ServiceError::invalid(
                    "component_id",
                    format!("no component has id `{c}`"),
                ));
            }
        }
        let meta = self.meta(&caller.as_actor());
        match self.store.save_monitor(&spec, &meta).await {
            // The one uniqueness rule on monitors is the heartbeat token's.
            Err(StoreError::Conflict { what }) => {
                return Err(ServiceError::invalid("probe.token", what))
            }
            done => done?,
        }
        self.after(Effect::Monitoring).await;
        self.store
            .monitor(&spec.id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Deletes a monitor and its results; `NotFound` when there is none.
    pub async fn remove_monitor(&self, caller: &Caller, id: &Id) -> ServiceResult<()> {
        caller.require_write()?;
        self.store
            .delete_monitor(id, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Monitoring).await;
        Ok(())
    }

    /// How a component follows its monitors: what is saved, or the defaults; `NotFound` when
    /// the page has no such component.
    pub async fn automation(&self, component: &Id) -> ServiceResult<ComponentAutomation> {
        if !self.has_component(component).await? {
            return Err(ServiceError::NotFound);
        }
        let saved = self
            .store
            .list_automations()
            .await?
            .into_iter()
            .find(|a| &a.component_id == component);
        Ok(saved.unwrap_or_else(|| ComponentAutomation::new(component.clone())))
    }

    /// Sets how a component follows its monitors; `NotFound` when the page has no such
    /// component.
    pub async fn set_automation(
        &self,
        caller: &Caller,
        automation: ComponentAutomation,
    ) -> ServiceResult<ComponentAutomation> {
        caller.require_write()?;
        if !self.has_component(&automation.component_id).await? {
            return Err(ServiceError::NotFound);
        }
        herald_core::text::line("title", &automation.title)
            .and(herald_core::text::multiline("body", &automation.body))?;
        if automation.title.trim().is_empty() || automation.title.chars().count() > 255 {
            return Err(ServiceError::invalid(
                "title",
                "must be 1 to 255 characters",
            ));
        }
        if automation.quiet_period_seconds > MAX_QUIET_SECONDS {
            return Err(ServiceError::invalid(
                "quiet_period_seconds",
                "must be at most a day (86400)",
            ));
        }
        self.store
            .save_automation(&automation, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Monitoring).await;
        Ok(automation)
    }

    /// Refuses an integration whose mapping names components the page does not have.
    async fn check_mapping(&self, i: &Integration) -> ServiceResult<()> {
        let doc = self.store.load().await?;
        let exists = |c: &Id| doc.as_ref().is_some_and(|d| d.component(c).is_some());
        if let Some(c) = i.default_component.as_ref().filter(|c| !exists(c)) {
            return Err(ServiceError::invalid(
                "default_component",
                format!("no component has id `{c}`"),
            ));
        }
        if let Some((k, c)) = i.components.iter().find(|(_, c)| !exists(c)) {
            return Err(ServiceError::invalid(
                &format!("components.{k}"),
                format!("no component has id `{c}`"),
            ));
        }
        Ok(())
    }

    /// Adds an alert integration with a new token; only the token's hash is kept.
    pub async fn add_integration(
        &self,
        caller: &Caller,
        input: NewIntegration,
    ) -> ServiceResult<CreatedIntegration> {
        caller.require_write()?;
        check_name("name", &input.name)?;
        let mut i = Integration::new(
            herald_store::random_id(),
            input.kind,
            input.name.trim().to_string(),
            self.now(),
        );
        if let Some(v) = input.component_label {
            i.component_label = v;
        }
        if let Some(v) = input.components {
            i.components = v;
        }
        i.default_component = input.default_component;
        if let Some(v) = input.severity_label {
            i.severity_label = v;
        }
        if let Some(v) = input.severities {
            // Severities are matched without regard to case.
            i.severities = v.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect();
        }
        if let Some(v) = input.default_status {
            i.default_status = v;
        }
        self.check_mapping(&i).await?;
        let token = new_secret(16);
        self.store
            .create_integration(&i, &secret_hash(&token), &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Monitoring).await;
        Ok(CreatedIntegration {
            integration: i,
            token,
        })
    }

    /// Replaces an integration's name and mapping (its token and creation time stay);
    /// `NotFound` when there is none.
    pub async fn change_integration(
        &self,
        caller: &Caller,
        integration: Integration,
    ) -> ServiceResult<Integration> {
        caller.require_write()?;
        check_name("name", &integration.name)?;
        let mut i = integration;
        i.name = i.name.trim().to_string();
        i.severities = std::mem::take(&mut i.severities)
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        self.check_mapping(&i).await?;
        self.store
            .update_integration(&i, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Monitoring).await;
        Ok(i)
    }

    /// Removes an alert integration; `NotFound` when there is none.
    pub async fn remove_integration(&self, caller: &Caller, id: &Id) -> ServiceResult<()> {
        caller.require_write()?;
        self.store
            .delete_integration(id, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Monitoring).await;
        Ok(())
    }

    /// Adds a team alert channel; it gets an id of its own. Whether a webhook target may be
    /// reached is for the caller to check first.
    pub async fn add_alert_channel(
        &self,
        caller: &Caller,
        channel: AlertChannel,
    ) -> ServiceResult<AlertChannel> {
        caller.require_write()?;
        let channel = AlertChannel {
            id: herald_store::random_id(),
            ..channel
        };
        channel.validate().map_err(refused)?;
        self.store
            .save_alert_channel(&channel, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Monitoring).await;
        Ok(channel)
    }

    /// Removes a team alert channel; `NotFound` when there is none.
    pub async fn remove_alert_channel(&self, caller: &Caller, id: &Id) -> ServiceResult<()> {
        caller.require_write()?;
        self.store
            .delete_alert_channel(id, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Monitoring).await;
        Ok(())
    }

    /// Adds a system metric; it gets an id of its own. The public page shows it when this
    /// returns.
    pub async fn add_metric(&self, caller: &Caller, metric: Metric) -> ServiceResult<Metric> {
        caller.require_write()?;
        let metric = Metric {
            id: herald_store::random_id(),
            ..metric
        };
        herald_core::text::line("name", &metric.name)
            .and(herald_core::text::line("suffix", &metric.suffix))
            .and(herald_core::text::multiline_opt(
                "description",
                metric.description.as_deref(),
            ))?;
        check_name("name", &metric.name)?;
        if metric.decimal_places > 6 {
            return Err(ServiceError::invalid("decimal_places", "must be at most 6"));
        }
        if let (Some(lo), Some(hi)) = (metric.y_axis_min, metric.y_axis_max) {
            if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
                return Err(ServiceError::invalid(
                    "y_axis_max",
                    "must be above y_axis_min",
                ));
            }
        }
        if let Some(m) = &metric.monitor_id {
            if self.store.monitor(m).await?.is_none() {
                return Err(ServiceError::invalid(
                    "monitor_id",
                    format!("no monitor has id `{m}`"),
                ));
            }
        }
        self.store
            .save_metric(&metric, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Page).await;
        Ok(metric)
    }

    /// Removes a metric and its data; `NotFound` when there is none. Gone from the public page
    /// when this returns.
    pub async fn remove_metric(&self, caller: &Caller, id: &Id) -> ServiceResult<()> {
        caller.require_write()?;
        self.store
            .delete_metric(id, &self.meta(&caller.as_actor()))
            .await?;
        self.after(Effect::Page).await;
        Ok(())
    }

    /// Adds data points to a metric (a point at an instant already present replaces it);
    /// `NotFound` when there is no such metric.
    pub async fn record_metric_points(
        &self,
        caller: &Caller,
        metric: &Id,
        points: &[MetricPoint],
    ) -> ServiceResult<()> {
        caller.require_write()?;
        if points.is_empty() || points.len() > MAX_POINTS {
            return Err(ServiceError::invalid(
                "data",
                format!("must hold 1 to {MAX_POINTS} points"),
            ));
        }
        if let Some(i) = points.iter().position(|p| !p.value.is_finite()) {
            return Err(ServiceError::invalid(
                &format!("data[{i}].value"),
                "must be a finite number",
            ));
        }
        self.store.add_metric_points(metric, points).await?;
        // Charts read points from the store (the snapshot holds none), so nobody needs telling.
        self.after(Effect::Nothing).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing::{caller, service};
    use herald_core::access::Role;
    use serde_json::json;
    use std::time::Duration;

    fn heartbeat(name: &str, token: &str) -> MonitorSpec {
        serde_json::from_value(json!({
            "id": "000000000000", "name": name, "interval_seconds": 60, "timeout_ms": 1000,
            "probe": {"type": "heartbeat", "token": token},
        }))
        .expect("spec")
    }

    fn field(e: ServiceError) -> Option<String> {
        match e {
            ServiceError::Invalid { field, .. } => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn monitors_are_checked_written_and_announced() {
        let (s, _dir) = service().await;
        let editor = caller(Role::Editor);
        let refused = s
            .add_monitor(&caller(Role::Viewer), heartbeat("cron", ""))
            .await;
        assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
        assert!(s.store.list_monitors().await.expect("list").is_empty());

        let made = s
            .add_monitor(&editor, heartbeat("cron", " "))
            .await
            .expect("made");
        assert_ne!(
            made.spec.id.as_str(),
            "000000000000",
            "the service picks the id"
        );
        let ProbeSpec::Heartbeat { token, .. } = &made.spec.probe else {
            panic!("a heartbeat: {:?}", made.spec.probe);
        };
        assert_eq!(token.len(), 24, "a token was picked");
        tokio::time::timeout(Duration::from_secs(5), s.signals.monitoring.notified())
            .await
            .expect("the monitoring runtime is told");

        let twin = s.add_monitor(&editor, heartbeat("twin", token)).await;
        assert_eq!(
            field(twin.expect_err("a used token")).as_deref(),
            Some("probe.token")
        );
        let stranger = herald_store::random_id();
        let missing = s
            .replace_monitor(&editor, &stranger, heartbeat("x", ""))
            .await;
        assert!(matches!(missing, Err(ServiceError::NotFound)));
        let bad = s.add_monitor(&editor, heartbeat("", "")).await;
        assert_eq!(field(bad.expect_err("no name")).as_deref(), Some("name"));

        s.remove_monitor(&editor, &made.spec.id)
            .await
            .expect("removed");
        assert!(s.store.list_monitors().await.expect("list").is_empty());
        let again = s.remove_monitor(&editor, &made.spec.id).await;
        assert!(matches!(again, Err(ServiceError::NotFound)));
    }

    #[tokio::test]
    async fn a_metric_is_on_the_public_page_when_the_call_returns() {
        let (s, _dir) = service().await;
        let editor = caller(Role::Editor);
        let home = |s: &Service| {
            let snapshot = s.site.snapshot.load_full();
            let entry = snapshot.get("/").expect("a home page").clone();
            String::from_utf8_lossy(&entry.identity).into_owned()
        };
        let metric: Metric =
            serde_json::from_value(json!({"id": "000000000000", "name": "Queue depth"}))
                .expect("metric");
        let made = s.add_metric(&editor, metric).await.expect("made");
        assert!(home(&s).contains(made.id.as_str()), "shown at once");

        let points = [MetricPoint {
            at: s.now(),
            value: 3.0,
        }];
        s.record_metric_points(&editor, &made.id, &points)
            .await
            .expect("recorded");
        let none = s.record_metric_points(&editor, &made.id, &[]).await;
        assert_eq!(field(none.expect_err("no points")).as_deref(), Some("data"));
        let stranger = herald_store::random_id();
        let unknown = s.record_metric_points(&editor, &stranger, &points).await;
        assert!(matches!(unknown, Err(ServiceError::NotFound)));

        s.remove_metric(&editor, &made.id).await.expect("removed");
        assert!(!home(&s).contains(made.id.as_str()), "gone at once");
    }
}
