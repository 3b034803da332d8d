//! The native API for monitoring: monitors and their results, per-component automation, alert
//! integrations, team alert channels, system metrics and their data points, and the
//! scheduler's own figures. Every change is a call to the service (`service::monitoring`), the
//! same call the admin UI makes; here bodies are read and answers shaped.

use crate::http::api::id;
use crate::http::auth::Caller;
use crate::http::body::Query;
use crate::http::body::{parse, Body};
use crate::http::error::AppError;
use crate::http::openapi::{Failures, QueryFailures, ReadFailures};
use crate::http::state::AppState;
use crate::service::monitoring::{CreatedIntegration, NewIntegration};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use herald_core::monitor::{
    AlertChannel, ChannelKind, ComponentAutomation, IntegrationKind, Metric, MetricPoint,
    MonitorSpec, ProbeSpec,
};
use herald_core::secret::{scrub_result, Redact};
use herald_core::Id;
use herald_store::monitoring::StoredMonitor;
use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) type Reply = Result<(StatusCode, Json<Value>), AppError>;

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

/// Reads a monitor body as the core's type. The service gives a new monitor its id and a
/// heartbeat without a token a new one; here the body is only completed so that it reads.
fn monitor_spec(mut body: Value) -> Result<MonitorSpec, AppError> {
    let Value::Object(fields) = &mut body else {
        return Err(invalid("body", "must be a JSON object"));
    };
    fields.insert("id".into(), Value::String(UNSAVED.to_string()));
    if let Some(Value::Object(probe)) = fields.get_mut("probe") {
        let heartbeat = probe.get("type").and_then(Value::as_str) == Some("heartbeat");
        let empty = probe
            .get("token")
            .and_then(Value::as_str)
            .is_none_or(|t| t.trim().is_empty());
        if heartbeat && empty {
            probe.insert("token".into(), Value::String(String::new()));
        }
    }
    parse(body)
}

/// The id a body is completed with before it is read; the service replaces it.
const UNSAVED: &str = "000000000000";

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
    // Refused before the body is read as a monitor.
    caller.require_write()?;
    let stored = s.service.add_monitor(&caller, monitor_spec(body)?).await?;
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
    // An unknown monitor is not found whatever the body says.
    s.store.monitor(&key).await?.ok_or(AppError::NotFound)?;
    let stored = s
        .service
        .replace_monitor(&caller, &key, monitor_spec(body)?)
        .await?;
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
    s.service.remove_monitor(&caller, &key).await?;
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

#[utoipa::path(get, path = "/components/{id}/automation", summary = "How a component follows its monitors",
    params(("id" = String, Path, description = "The component's id")),
    responses((status = 200, description = "Rule and automatic incidents", body = Object), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn get_automation(
    State(s): State<AppState>,
    _caller: Caller,
    Path(raw): Path<String>,
) -> Reply {
    let found = s.service.automation(&id(&raw)?).await?;
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
    // An unknown component is not found whatever the body says.
    s.service.automation(&c).await?;
    let Value::Object(fields) = &mut body else {
        return Err(invalid("body", "must be a JSON object"));
    };
    fields.insert("component_id".into(), Value::String(c.to_string()));
    let a: ComponentAutomation = parse(body)?;
    let saved = s.service.set_automation(&caller, a).await?;
    Ok((StatusCode::OK, Json(to_value(&saved))))
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
    let new = NewIntegration {
        component_label: input.component_label,
        components: input.components,
        default_component: input.default_component,
        severity_label: input.severity_label,
        severities: input.severities,
        default_status: input.default_status,
        ..NewIntegration::new(kind, input.name)
    };
    let CreatedIntegration { integration, token } = s.service.add_integration(&caller, new).await?;
    let mut v = to_value(&integration);
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
    s.service.remove_integration(&caller, &key).await?;
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

/// Whether a channel's webhook may be posted to, by the target guard; an email channel, or one
/// the service will refuse anyway (so its own message is the one shown), is not looked at.
pub(crate) async fn reachable(s: &AppState, channel: &AlertChannel) -> Result<(), String> {
    if channel.kind == ChannelKind::Email || channel.validate().is_err() {
        return Ok(());
    }
    s.alerter
        .guard()
        .check(&channel.target)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
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
        fields.insert("id".into(), Value::String(UNSAVED.to_string()));
    }
    let channel: AlertChannel = parse(body)?;
    if let Err(why) = reachable(&s, &channel).await {
        return Err(invalid("target", why));
    }
    let saved = s.service.add_alert_channel(&caller, channel).await?;
    Ok((StatusCode::CREATED, Json(to_value(&saved))))
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
    s.service.remove_alert_channel(&caller, &key).await?;
    Ok((StatusCode::OK, Json(json!({"id": key, "deleted": true}))))
}

#[utoipa::path(get, path = "/metrics", summary = "Lists system metrics",
    responses((status = 200, description = "Metrics, in page order", body = [Object]), ReadFailures),
    security(("api_key" = []), ("session" = [])))]
pub async fn list_metrics(State(s): State<AppState>, _caller: Caller) -> Reply {
    let all = s.store.list_metrics().await?;
    Ok((StatusCode::OK, Json(to_value(&all))))
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
        fields.insert("id".into(), Value::String(UNSAVED.to_string()));
    }
    let metric: Metric = parse(body)?;
    let saved = s.service.add_metric(&caller, metric).await?;
    Ok((StatusCode::CREATED, Json(to_value(&saved))))
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
    s.service.remove_metric(&caller, &key).await?;
    Ok((StatusCode::OK, Json(json!({"id": key, "deleted": true}))))
}

pub use crate::service::monitoring::MAX_POINTS;

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
    s.service.record_metric_points(&caller, &key, &pts).await?;
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
