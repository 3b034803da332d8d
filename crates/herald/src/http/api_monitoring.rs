//! The native API for monitoring: monitors and their results, per-component automation, alert
//! integrations, team alert channels, system metrics and their data points, and the
//! scheduler's own figures. Every change tells the monitoring runtime to re-read its settings.

use crate::http::state::AppState;
use crate::http::auth::Caller;
use crate::http::api::id;
use crate::http::body::Query;
use crate::http::body::{parse, Body};
use crate::http::error::AppError;
use crate::http::openapi::{Failures, QueryFailures, ReadFailures};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use herald_core::monitor::{
    AlertChannel, ComponentAutomation, Integration, IntegrationKind, Metric, MetricPoint,
    MonitorSpec, ProbeSpec,
};
use herald_core::secret::{scrub_result, Redact};
use herald_core::Id;
use herald_store::monitoring::StoredMonitor;
use herald_store::WriteMeta;
use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) type Reply = Result<(StatusCode, Json<Value>), AppError>;

pub(crate) fn meta(state: &AppState, caller: &Caller) -> WriteMeta {
    WriteMeta {
        actor: caller.actor(),
        now: (state.clock)(),
    }
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field: Some(field.to_string()),
        message: message.into(),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Whether the caller sees secrets (probe headers, credentials, tokens, webhook URLs) in full:
/// writers do, since they edit them; viewers only look, and see them redacted.
pub(crate) fn reveals(caller: &Caller) -> bool {
    caller.role.can_write()
}

/// A monitor as the API shows it: its settings, where its state machine stands, its last
/// result, and for heartbeats the address to call. Unless `reveal`, its secrets are redacted,
/// the push address's token with them.
fn monitor_json(state: &AppState, m: &StoredMonitor, reveal: bool) -> Value {
    let live = state
        .monitoring
        .state(&m.spec.id)
        .unwrap_or_else(|| m.state.clone());
    let (spec, last_result) = if reveal {
        (m.spec.clone(), m.last_result.clone())
    } else {
        let secrets = m.spec.secrets();
        let last = m.last_result.as_ref().map(|r| scrub_result(r, &secrets));
        (m.spec.redacted(), last)
    };
    let mut v = to_value(&spec);
    v["state"] = to_value(&live);
    v["last_result"] = to_value(&last_result);
    v["created_at"] = to_value(&m.created_at);
    v["updated_at"] = to_value(&m.updated_at);
    if let ProbeSpec::Heartbeat { token, .. } = &spec.probe {
        v["push_url"] = Value::String(format!("{}/api/push/{token}", state.site.page_url()));
    }
    v
}

/// Reads a monitor body: the server picks the id on create and a heartbeat token when none is
/// given; the whole configuration is then checked as one.
pub(crate) async fn checked_spec(
    state: &AppState,
    mut body: Value,
    id: Id,
) -> Result<MonitorSpec, AppError> {
    let Value::Object(fields) = &mut body else {
        return Err(invalid("body", "must be a JSON object"));
    };
    fields.insert("id".into(), Value::String(id.to_string()));
    if let Some(Value::Object(probe)) = fields.get_mut("probe") {
        let heartbeat = probe.get("type").and_then(Value::as_str) == Some("heartbeat");
        let empty = probe
            .get("token")
            .and_then(Value::as_str)
            .is_none_or(|t| t.trim().is_empty());
        if heartbeat && empty {
            probe.insert("token".into(), Value::String(crate::http::auth::new_secret(12)));
        }
    }
    let spec: MonitorSpec = parse(body)?;
    spec.validate().map_err(|e| invalid(&e.field, e.message))?;
    if let ProbeSpec::Heartbeat { token, .. } = &spec.probe {
        if token.trim().len() < 8 {
            return Err(invalid("probe.token", "must be at least 8 characters"));
        }
    }
    if let Some(c) = &spec.component_id {
        let doc = state.store.load().await?;
        if doc.is_none_or(|d| d.component(c).is_none()) {
            return Err(invalid(
                "component_id",
                format!("no component has id `{c}`"),
            ));
        }
    }
    Ok(spec)
}

#[utoipa::path(get, path = "/monitors", summary = "Lists monitors with their state and last result",
    responses((status = 200, description = "Every monitor, oldest first", body = [Object]), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn list_monitors(State(s): State<AppState>, caller: Caller) -> Reply {
    let all = s.store.list_monitors().await?;
    let reveal = reveals(&caller);
    let list: Vec<Value> = all.iter().map(|m| monitor_json(&s, m, reveal)).collect();
    Ok((StatusCode::OK, Json(Value::Array(list))))
}

#[utoipa::path(post, path = "/monitors", summary = "Creates a monitor",
    request_body(content = Object, description = "A monitor: name, component_id, probe {type, …}, interval_seconds, timeout_ms, thresholds"),
    responses((status = 201, description = "The monitor", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn create_monitor(
    State(s): State<AppState>,
    caller: Caller,
    Body(body): Body<Value>,
) -> Reply {
    caller.require_write()?;
    let spec = checked_spec(&s, body, herald_store::random_id()).await?;
    s.store.save_monitor(&spec, &meta(&s, &caller)).await?;
    s.monitoring_changed();
    let stored = s.store.monitor(&spec.id).await?.ok_or(AppError::NotFound)?;
    Ok((
        StatusCode::CREATED,
        Json(monitor_json(&s, &stored, reveals(&caller))),
    ))
}

#[utoipa::path(get, path = "/monitors/{id}", summary = "One monitor",
    params(("id" = String, Path, description = "The monitor's id")),
    responses((status = 200, description = "The monitor", body = Object), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_monitor(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    let m = s
        .store
        .monitor(&id(&raw)?)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((StatusCode::OK, Json(monitor_json(&s, &m, reveals(&caller)))))
}

#[utoipa::path(put, path = "/monitors/{id}", summary = "Replaces a monitor's configuration (its state is kept)",
    params(("id" = String, Path, description = "The monitor's id")),
    request_body(content = Object, description = "The whole monitor, as on create"),
    responses((status = 200, description = "The monitor", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn replace_monitor(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<Value>,
) -> Reply {
    caller.require_write()?;
    let key = id(&raw)?;
    s.store.monitor(&key).await?.ok_or(AppError::NotFound)?;
    let spec = checked_spec(&s, body, key).await?;
    s.store.save_monitor(&spec, &meta(&s, &caller)).await?;
    s.monitoring_changed();
    let stored = s.store.monitor(&spec.id).await?.ok_or(AppError::NotFound)?;
    Ok((
        StatusCode::OK,
        Json(monitor_json(&s, &stored, reveals(&caller))),
    ))
}

#[utoipa::path(delete, path = "/monitors/{id}", summary = "Deletes a monitor and its results",
    params(("id" = String, Path, description = "The monitor's id")),
    responses((status = 200, description = "Deleted", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn delete_monitor(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_write()?;
    let key = id(&raw)?;
    s.store.delete_monitor(&key, &meta(&s, &caller)).await?;
    s.monitoring_changed();
    Ok((StatusCode::OK, Json(json!({"id": key, "deleted": true}))))
}

#[derive(Deserialize)]
pub struct ResultsQuery {
    hours: Option<i64>,
}

#[utoipa::path(get, path = "/monitors/{id}/results", summary = "Recent raw results of a monitor, newest first (at most 500)",
    params(("id" = String, Path, description = "The monitor's id"), ("hours" = Option<i64>, Query, description = "How far back, up to 48 (default 24)")),
    responses((status = 200, description = "Results", body = [Object]), QueryFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn monitor_results(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Reply {
    let key = id(&raw)?;
    let m = s.store.monitor(&key).await?.ok_or(AppError::NotFound)?;
    let hours = q.hours.unwrap_or(24).clamp(1, 48);
    let since = (s.clock)() - TimeDelta::hours(hours);
    let mut results = s.store.recent_results(&key, since, 500).await?;
    if !reveals(&caller) {
        // A failure's reason may quote the URL it failed on.
        let secrets = m.spec.secrets();
        results = results.iter().map(|r| scrub_result(r, &secrets)).collect();
    }
    Ok((StatusCode::OK, Json(to_value(&results))))
}

async fn known_component(s: &AppState, c: &Id) -> Result<(), AppError> {
    let doc = s.store.load().await?;
    if doc.is_some_and(|d| d.component(c).is_some()) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

#[utoipa::path(get, path = "/components/{id}/automation", summary = "How a component follows its monitors",
    params(("id" = String, Path, description = "The component's id")),
    responses((status = 200, description = "Rule and automatic incidents", body = Object), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_automation(
    State(s): State<AppState>,
    _caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    let c = id(&raw)?;
    known_component(&s, &c).await?;
    let found = s
        .store
        .list_automations()
        .await?
        .into_iter()
        .find(|a| a.component_id == c)
        .unwrap_or_else(|| ComponentAutomation::new(c));
    Ok((StatusCode::OK, Json(to_value(&found))))
}

#[utoipa::path(put, path = "/components/{id}/automation", summary = "Sets how a component follows its monitors",
    params(("id" = String, Path, description = "The component's id")),
    request_body(content = Object, description = "rule (any|all), incidents (off|draft|publish), title, body, quiet_period_seconds"),
    responses((status = 200, description = "The settings", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn put_automation(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(mut body): Body<Value>,
) -> Reply {
    caller.require_write()?;
    let c = id(&raw)?;
    known_component(&s, &c).await?;
    let Value::Object(fields) = &mut body else {
        return Err(invalid("body", "must be a JSON object"));
    };
    fields.insert("component_id".into(), Value::String(c.to_string()));
    let a: ComponentAutomation = parse(body)?;
    herald_core::text::line("title", &a.title)
        .and(herald_core::text::multiline("body", &a.body))?;
    if a.title.trim().is_empty() || a.title.chars().count() > 255 {
        return Err(invalid("title", "must be 1 to 255 characters"));
    }
    if a.quiet_period_seconds > 86_400 {
        return Err(invalid(
            "quiet_period_seconds",
            "must be at most a day (86400)",
        ));
    }
    s.store.save_automation(&a, &meta(&s, &caller)).await?;
    s.monitoring_changed();
    Ok((StatusCode::OK, Json(to_value(&a))))
}

#[utoipa::path(get, path = "/integrations", summary = "Lists alert integrations (tokens are never shown again)",
    responses((status = 200, description = "Integrations", body = [Object]), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn list_integrations(State(s): State<AppState>, _caller: Caller) -> Reply {
    let all = s.store.list_integrations().await?;
    let list: Vec<Value> = all
        .iter()
        .map(|i| {
            let mut v = to_value(i);
            v["url"] = Value::String(format!(
                "{}/api/integrations/{}",
                s.site.page_url(),
                i.kind.as_str()
            ));
            v
        })
        .collect();
    Ok((StatusCode::OK, Json(Value::Array(list))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationInput {
    kind: String,
    name: String,
    #[serde(default)]
    component_label: Option<String>,
    #[serde(default)]
    components: Option<std::collections::BTreeMap<String, Id>>,
    #[serde(default)]
    default_component: Option<Id>,
    #[serde(default)]
    severity_label: Option<String>,
    #[serde(default)]
    severities: Option<std::collections::BTreeMap<String, herald_core::ComponentStatus>>,
    #[serde(default)]
    default_status: Option<herald_core::ComponentStatus>,
}

#[utoipa::path(post, path = "/integrations", summary = "Adds an alert integration; its token is shown once",
    request_body(content = Object, description = "kind (alertmanager|grafana|sentry|generic), name, optional mapping"),
    responses((status = 201, description = "The integration with its token and URL", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn create_integration(
    State(s): State<AppState>,
    caller: Caller,
    Body(input): Body<IntegrationInput>,
) -> Reply {
    caller.require_write()?;
    let kind = IntegrationKind::parse(&input.kind).ok_or_else(|| {
        invalid(
            "kind",
            "must be one of alertmanager, grafana, sentry, generic",
        )
    })?;
    herald_core::text::line("name", &input.name)?;
    if input.name.trim().is_empty() || input.name.chars().count() > 255 {
        return Err(invalid("name", "must be 1 to 255 characters"));
    }
    let now = (s.clock)();
    let mut i = Integration::new(
        herald_store::random_id(),
        kind,
        input.name.trim().to_string(),
        now,
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
        i.severities = v.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect();
    }
    if let Some(v) = input.default_status {
        i.default_status = v;
    }
    let doc = s.store.load().await?;
    let exists = |c: &Id| doc.as_ref().is_some_and(|d| d.component(c).is_some());
    if let Some(c) = i.default_component.as_ref().filter(|c| !exists(c)) {
        return Err(invalid(
            "default_component",
            format!("no component has id `{c}`"),
        ));
    }
    if let Some((k, c)) = i.components.iter().find(|(_, c)| !exists(c)) {
        return Err(invalid(
            &format!("components.{k}"),
            format!("no component has id `{c}`"),
        ));
    }
    let token = crate::http::auth::new_secret(16);
    s.store
        .create_integration(&i, &crate::http::auth::secret_hash(&token), &meta(&s, &caller))
        .await?;
    let mut v = to_value(&i);
    v["token"] = Value::String(token.clone());
    v["url"] = Value::String(format!(
        "{}/api/integrations/{}?token={token}",
        s.site.page_url(),
        kind.as_str()
    ));
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(delete, path = "/integrations/{id}", summary = "Removes an alert integration",
    params(("id" = String, Path, description = "The integration's id")),
    responses((status = 200, description = "Deleted", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn delete_integration(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_write()?;
    let key = id(&raw)?;
    s.store.delete_integration(&key, &meta(&s, &caller)).await?;
    Ok((StatusCode::OK, Json(json!({"id": key, "deleted": true}))))
}

#[utoipa::path(get, path = "/alert-channels", summary = "Lists team alert channels",
    responses((status = 200, description = "Channels", body = [Object]), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn list_alert_channels(State(s): State<AppState>, caller: Caller) -> Reply {
    let mut all = s.store.list_alert_channels().await?;
    if !reveals(&caller) {
        all = all.iter().map(AlertChannel::redacted).collect();
    }
    Ok((StatusCode::OK, Json(to_value(&all))))
}

#[utoipa::path(post, path = "/alert-channels", summary = "Adds a team alert channel",
    request_body(content = Object, description = "name, kind (email|webhook|slack|discord|teams), target (address or URL), enabled"),
    responses((status = 201, description = "The channel", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn create_alert_channel(
    State(s): State<AppState>,
    caller: Caller,
    Body(mut body): Body<Value>,
) -> Reply {
    caller.require_write()?;
    if let Value::Object(fields) = &mut body {
        fields.insert(
            "id".into(),
            Value::String(herald_store::random_id().to_string()),
        );
    }
    let channel: AlertChannel = parse(body)?;
    channel
        .validate()
        .map_err(|e| invalid(&e.field, e.message))?;
    if channel.kind != herald_core::monitor::ChannelKind::Email {
        s.alerter
            .guard()
            .check(&channel.target)
            .await
            .map_err(|e| invalid("target", e.to_string()))?;
    }
    s.store
        .save_alert_channel(&channel, &meta(&s, &caller))
        .await?;
    Ok((StatusCode::CREATED, Json(to_value(&channel))))
}

#[utoipa::path(delete, path = "/alert-channels/{id}", summary = "Removes a team alert channel",
    params(("id" = String, Path, description = "The channel's id")),
    responses((status = 200, description = "Deleted", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn delete_alert_channel(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_write()?;
    let key = id(&raw)?;
    s.store
        .delete_alert_channel(&key, &meta(&s, &caller))
        .await?;
    Ok((StatusCode::OK, Json(json!({"id": key, "deleted": true}))))
}

#[utoipa::path(get, path = "/metrics", summary = "Lists system metrics",
    responses((status = 200, description = "Metrics, in page order", body = [Object]), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn list_metrics(State(s): State<AppState>, _caller: Caller) -> Reply {
    let all = s.store.list_metrics().await?;
    Ok((StatusCode::OK, Json(to_value(&all))))
}

fn check_metric(m: &Metric) -> Result<(), AppError> {
    herald_core::text::line("name", &m.name)
        .and(herald_core::text::line("suffix", &m.suffix))
        .and(herald_core::text::multiline_opt(
            "description",
            m.description.as_deref(),
        ))?;
    if m.name.trim().is_empty() || m.name.chars().count() > 255 {
        return Err(invalid("name", "must be 1 to 255 characters"));
    }
    if m.decimal_places > 6 {
        return Err(invalid("decimal_places", "must be at most 6"));
    }
    if let (Some(lo), Some(hi)) = (m.y_axis_min, m.y_axis_max) {
        if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
            return Err(invalid("y_axis_max", "must be above y_axis_min"));
        }
    }
    Ok(())
}

#[utoipa::path(post, path = "/metrics", summary = "Adds a system metric",
    request_body(content = Object, description = "name, suffix, y_axis_min, y_axis_max, decimal_places, description, monitor_id, display"),
    responses((status = 201, description = "The metric", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn create_metric(
    State(s): State<AppState>,
    caller: Caller,
    Body(mut body): Body<Value>,
) -> Reply {
    caller.require_write()?;
    if let Value::Object(fields) = &mut body {
        fields.insert(
            "id".into(),
            Value::String(herald_store::random_id().to_string()),
        );
    }
    let metric: Metric = parse(body)?;
    check_metric(&metric)?;
    if let Some(m) = &metric.monitor_id {
        if s.store.monitor(m).await?.is_none() {
            return Err(invalid("monitor_id", format!("no monitor has id `{m}`")));
        }
    }
    s.store.save_metric(&metric, &meta(&s, &caller)).await?;
    s.changed();
    Ok((StatusCode::CREATED, Json(to_value(&metric))))
}

#[utoipa::path(delete, path = "/metrics/{id}", summary = "Removes a metric and its data",
    params(("id" = String, Path, description = "The metric's id")),
    responses((status = 200, description = "Deleted", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn delete_metric(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    caller.require_write()?;
    let key = id(&raw)?;
    s.store.delete_metric(&key, &meta(&s, &caller)).await?;
    s.changed();
    Ok((StatusCode::OK, Json(json!({"id": key, "deleted": true}))))
}

/// Most data points accepted in one call.
pub const MAX_POINTS: usize = 3_000;

/// A timestamp as Unix seconds or RFC 3339 text.
fn instant(v: &Value, field: &str) -> Result<DateTime<Utc>, AppError> {
    let parsed = match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0) as i64)),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0) as i64))
            .or_else(|| s.parse::<DateTime<Utc>>().ok()),
        _ => None,
    };
    parsed.ok_or_else(|| invalid(field, "must be Unix seconds or an RFC 3339 time"))
}

fn value(v: &Value, field: &str) -> Result<f64, AppError> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    x.filter(|x| x.is_finite())
        .ok_or_else(|| invalid(field, "must be a finite number"))
}

/// Reads `{"data": {timestamp, value}}` or `{"data": [{…}, …]}` (Statuspage's shapes).
pub fn points(body: &Value) -> Result<Vec<MetricPoint>, AppError> {
    let data = body
        .get("data")
        .ok_or_else(|| invalid("data", "is missing"))?;
    let items: Vec<(&Value, String)> = match data {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (v, format!("data[{i}]")))
            .collect(),
        Value::Object(_) => vec![(data, "data".to_string())],
        _ => return Err(invalid("data", "must be an object or a list of objects")),
    };
    if items.is_empty() || items.len() > MAX_POINTS {
        return Err(invalid(
            "data",
            format!("must hold 1 to {MAX_POINTS} points"),
        ));
    }
    items
        .into_iter()
        .map(|(v, field)| {
            let ts = v
                .get("timestamp")
                .ok_or_else(|| invalid(&format!("{field}.timestamp"), "is missing"))?;
            let val = v
                .get("value")
                .ok_or_else(|| invalid(&format!("{field}.value"), "is missing"))?;
            Ok(MetricPoint {
                at: instant(ts, &format!("{field}.timestamp"))?,
                value: value(val, &format!("{field}.value"))?,
            })
        })
        .collect()
}

#[utoipa::path(post, path = "/metrics/{id}/data", summary = "Adds data points to a metric",
    params(("id" = String, Path, description = "The metric's id")),
    request_body(content = Object, description = "{\"data\": {\"timestamp\": unix seconds, \"value\": number}} or a list of such points"),
    responses((status = 201, description = "The points stored", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn add_metric_data(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Body(body): Body<Value>,
) -> Reply {
    caller.require_write()?;
    let key = id(&raw)?;
    let pts = points(&body)?;
    s.store.add_metric_points(&key, &pts).await?;
    let shown: Vec<Value> = pts
        .iter()
        .map(|p| json!({"timestamp": p.at.timestamp(), "value": p.value}))
        .collect();
    Ok((StatusCode::CREATED, Json(json!({"data": shown}))))
}

#[utoipa::path(get, path = "/monitoring/stats", summary = "Scheduler figures: probes run and how late they started",
    responses((status = 200, description = "Figures since the last reset", body = Object), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn monitoring_stats(State(s): State<AppState>, _caller: Caller) -> Reply {
    let (p50, p99, max, samples, probes) = s.monitoring.drift();
    Ok((
        StatusCode::OK,
        Json(json!({
            "monitors": s.monitoring.monitor_count(),
            "probes": probes,
            "drift_samples": samples,
            "drift_p50_ms": p50,
            "drift_p99_ms": p99,
            "drift_max_ms": max,
        })),
    ))
}

#[utoipa::path(delete, path = "/monitoring/stats", summary = "Forgets the drift samples (benchmarks measure after a warm-up)",
    responses((status = 200, description = "Reset", body = Object), Failures),
    security(("api_key" = []), ("session" = [])))]
pub async fn reset_monitoring_stats(State(s): State<AppState>, caller: Caller) -> Reply {
    caller.require_write()?;
    s.monitoring.reset_drift();
    Ok((StatusCode::OK, Json(json!({"reset": true}))))
}
