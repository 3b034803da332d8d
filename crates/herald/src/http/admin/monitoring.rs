//! Monitoring in the admin UI: monitors (a form for every probe kind, a page per monitor with
//! its recent results), how each component follows its monitors, and on the alerting page the
//! integrations (token shown once), team alert channels and system metrics.

use super::{
    invalid, load, page_with_status, parse_id, shown, zone, Admin, AdminError, Fields, FormState,
    Reply,
};
use crate::http::state::AppState;
use crate::http::api_monitoring::{checked_spec, reveals};
use crate::http::error::AppError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use chrono::TimeDelta;
use herald_core::monitor::{
    AlertChannel, AutoIncidentMode, ChannelKind, ComponentAutomation, ComponentRule, Integration,
    IntegrationKind, Metric, MonitorSpec, ProbeOutcome, ProbeSpec,
};
use herald_core::secret::{scrub, Redact};
use herald_core::Id;
use herald_store::WriteMeta;
use serde::Serialize;
use serde_json::{Map, Value};

/// The monitoring routes, under `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/monitors", get(monitors).post(create_monitor))
        .route("/monitors/{id}", get(monitor_page).post(update_monitor))
        .route("/monitors/{id}/delete", post(delete_monitor))
        .route("/automation/{component}", post(save_automation))
        .route("/alerting", get(alerting))
        .route("/alerting/integrations", post(create_integration))
        .route(
            "/alerting/integrations/{id}/delete",
            post(delete_integration),
        )
        .route("/alerting/channels", post(create_channel))
        .route("/alerting/channels/{id}/delete", post(delete_channel))
        .route("/alerting/metrics", post(create_metric))
        .route("/alerting/metrics/{id}/delete", post(delete_metric))
}

const KINDS: &[&str] = &[
    "http",
    "tcp",
    "dns",
    "tls_expiry",
    "heartbeat",
    "postgres",
    "mysql",
];

fn meta(state: &AppState, admin: &Admin) -> WriteMeta {
    WriteMeta {
        actor: admin.caller().actor(),
        now: (state.clock)(),
    }
}

#[derive(Serialize)]
struct Option_ {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct MonitorRow {
    id: String,
    name: String,
    kind: &'static str,
    target: String,
    component: Option<String>,
    status: String,
    last: String,
    enabled: bool,
}

#[derive(Serialize)]
struct AutomationRow {
    component_id: String,
    component: String,
    rule: &'static str,
    incidents: &'static str,
    quiet_period_seconds: u32,
}

#[derive(Serialize)]
struct MonitorsView {
    monitors: Vec<MonitorRow>,
    components: Vec<Option_>,
    kinds: &'static [&'static str],
    automation: Vec<AutomationRow>,
    form: FormState,
}

fn kind(p: &ProbeSpec) -> &'static str {
    match p {
        ProbeSpec::Http { .. } => "http",
        ProbeSpec::Tcp { .. } => "tcp",
        ProbeSpec::Dns { .. } => "dns",
        ProbeSpec::TlsExpiry { .. } => "tls_expiry",
        ProbeSpec::Heartbeat { .. } => "heartbeat",
        ProbeSpec::Postgres { .. } => "postgres",
        ProbeSpec::Mysql { .. } => "mysql",
    }
}

/// What a monitor watches, in a few words, with its credentials redacted (the list is read by
/// every role).
fn target(p: &ProbeSpec) -> String {
    let p = &p.redacted();
    match p {
        ProbeSpec::Http { method, url, .. } => format!("{method} {url}"),
        ProbeSpec::Tcp { host, port } => format!("{host}:{port}"),
        ProbeSpec::Dns {
            name, record_type, ..
        } => format!("{record_type} {name}"),
        ProbeSpec::TlsExpiry { host, port, .. } => format!("{host}:{port}"),
        ProbeSpec::Heartbeat { .. } => "push".into(),
        ProbeSpec::Postgres { url, .. } | ProbeSpec::Mysql { url, .. } => url.clone(),
    }
}

fn outcome_words(o: &ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Up { latency_ms } => format!("up, {latency_ms} ms"),
        ProbeOutcome::Degraded { latency_ms, reason } => {
            format!("degraded, {latency_ms} ms: {reason}")
        }
        ProbeOutcome::Down { reason } => format!("down: {reason}"),
    }
}

fn status_word(state: &AppState, id: &Id, stored: &herald_core::monitor::MonitorState) -> String {
    let s = state.monitoring.state(id).unwrap_or_else(|| stored.clone());
    format!("{:?}", s.public_status).to_lowercase()
}

fn monitor_defaults() -> FormState {
    FormState::new([
        ("kind", "http".into()),
        ("interval_seconds", "60".into()),
        ("timeout_ms", "10000".into()),
        ("failures_to_down", "3".into()),
        ("successes_to_up", "2".into()),
        ("flap_window_seconds", "300".into()),
        ("method", "GET".into()),
        ("record_type", "A".into()),
        ("tls_port", "443".into()),
        ("warn_days", "14".into()),
        ("query", "SELECT 1".into()),
        ("verify_tls", "on".into()),
        ("follow_redirects", "on".into()),
        ("enabled", "on".into()),
    ])
}

async fn monitors_page(
    state: &AppState,
    admin: &Admin,
    form: FormState,
    status: StatusCode,
) -> Reply {
    let doc = load(state).await?;
    let tz = zone(&doc);
    let stored = state.store.list_monitors().await?;
    let name_of = |c: &Id| doc.component(c).map(|c| c.name.clone());
    let reveal = reveals(&admin.caller());
    // A failure's reason may quote the URL it failed on.
    let words = |m: &herald_store::monitoring::StoredMonitor, o: &ProbeOutcome| {
        let w = outcome_words(o);
        if reveal {
            w
        } else {
            scrub(&w, &m.spec.secrets())
        }
    };
    let monitors = stored
        .iter()
        .map(|m| MonitorRow {
            id: m.spec.id.to_string(),
            name: m.spec.name.clone(),
            kind: kind(&m.spec.probe),
            target: target(&m.spec.probe),
            component: m.spec.component_id.as_ref().and_then(name_of),
            status: status_word(state, &m.spec.id, &m.state),
            last: m
                .last_result
                .as_ref()
                .map(|r| format!("{} ({})", words(m, &r.outcome), shown(r.at, tz)))
                .unwrap_or_else(|| "no result yet".into()),
            enabled: m.spec.enabled,
        })
        .collect();
    let saved = state.store.list_automations().await?;
    let automation = doc
        .components
        .iter()
        .map(|c| {
            let a = saved
                .iter()
                .find(|a| a.component_id == c.id)
                .cloned()
                .unwrap_or_else(|| ComponentAutomation::new(c.id.clone()));
            AutomationRow {
                component_id: c.id.to_string(),
                component: c.name.clone(),
                rule: match a.rule {
                    ComponentRule::Any => "any",
                    ComponentRule::All => "all",
                },
                incidents: a.incidents.as_str(),
                quiet_period_seconds: a.quiet_period_seconds,
            }
        })
        .collect();
    let components = doc
        .components
        .iter()
        .map(|c| Option_ {
            value: c.id.to_string(),
            label: c.name.clone(),
        })
        .collect();
    let view = MonitorsView {
        monitors,
        components,
        kinds: KINDS,
        automation,
        form,
    };
    page_with_status(admin, "monitors", "Monitors", "monitors.html", view, status)
}

async fn monitors(State(state): State<AppState>, admin: Admin) -> Reply {
    monitors_page(&state, &admin, monitor_defaults(), StatusCode::OK).await
}

/// A form field as JSON: a number when it reads as one (so a wrong type is reported by field).
fn number(form: &Fields, name: &str) -> Option<Value> {
    let v = form.get(name).trim();
    if v.is_empty() {
        return None;
    }
    Some(match v.parse::<i64>() {
        Ok(n) => Value::from(n),
        Err(_) => Value::String(v.to_string()),
    })
}

fn text(form: &Fields, name: &str) -> Option<Value> {
    let v = form.get(name).trim();
    (!v.is_empty()).then(|| Value::String(v.to_string()))
}

/// The monitor a form describes, as the API's JSON body.
fn monitor_body(form: &Fields) -> Value {
    let mut m = Map::new();
    let put = |map: &mut Map<String, Value>, k: &str, v: Option<Value>| {
        if let Some(v) = v {
            map.insert(k.to_string(), v);
        }
    };
    put(
        &mut m,
        "name",
        text(form, "name").or(Some(Value::String(String::new()))),
    );
    put(&mut m, "component_id", text(form, "component_id"));
    for k in [
        "interval_seconds",
        "timeout_ms",
        "degraded_after_ms",
        "failures_to_down",
        "successes_to_up",
        "flap_window_seconds",
        "retry_interval_seconds",
    ] {
        put(&mut m, k, number(form, k));
    }
    m.insert("enabled".into(), Value::Bool(form.checked("enabled")));
    let mut p = Map::new();
    let kind = form.get("kind");
    p.insert("type".into(), Value::String(kind.to_string()));
    match kind {
        "http" => {
            put(
                &mut p,
                "url",
                text(form, "url").or(Some(Value::String(String::new()))),
            );
            put(&mut p, "method", text(form, "method"));
            let codes: Vec<Value> = form
                .get("expected_status")
                .split([',', ' '])
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::String(s.trim().into()))
                })
                .collect();
            p.insert("expected_status".into(), Value::Array(codes));
            // One `Name: value` a line; a line without a colon is a name the check refuses.
            let headers: Vec<Value> = form
                .get("headers")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let (name, value) = l.split_once(':').unwrap_or((l, ""));
                    Value::Array(vec![name.trim().into(), value.trim().into()])
                })
                .collect();
            p.insert("headers".into(), Value::Array(headers));
            put(&mut p, "body", text(form, "http_body"));
            put(&mut p, "body_contains", text(form, "body_contains"));
            put(&mut p, "body_regex", text(form, "body_regex"));
            p.insert("verify_tls".into(), Value::Bool(form.checked("verify_tls")));
            p.insert(
                "follow_redirects".into(),
                Value::Bool(form.checked("follow_redirects")),
            );
        }
        "tcp" => {
            put(
                &mut p,
                "host",
                text(form, "host").or(Some(Value::String(String::new()))),
            );
            put(
                &mut p,
                "port",
                number(form, "port").or(Some(Value::from(0))),
            );
        }
        "dns" => {
            put(
                &mut p,
                "name",
                text(form, "dns_name").or(Some(Value::String(String::new()))),
            );
            put(&mut p, "record_type", text(form, "record_type"));
            put(&mut p, "expected", text(form, "expected"));
            put(&mut p, "resolver", text(form, "resolver"));
        }
        "tls_expiry" => {
            put(
                &mut p,
                "host",
                text(form, "tls_host").or(Some(Value::String(String::new()))),
            );
            put(&mut p, "port", number(form, "tls_port"));
            put(&mut p, "warn_days", number(form, "warn_days"));
        }
        "heartbeat" => {
            put(
                &mut p,
                "token",
                text(form, "token").or(Some(Value::String(String::new()))),
            );
            put(&mut p, "grace_seconds", number(form, "grace_seconds"));
        }
        "postgres" | "mysql" => {
            put(
                &mut p,
                "url",
                text(form, "db_url").or(Some(Value::String(String::new()))),
            );
            put(&mut p, "query", text(form, "query"));
            if kind == "postgres" {
                put(
                    &mut p,
                    "max_replica_lag_seconds",
                    number(form, "max_replica_lag_seconds"),
                );
            }
        }
        _ => {}
    }
    m.insert("probe".into(), Value::Object(p));
    Value::Object(m)
}

/// The form's values for an existing monitor.
fn monitor_form(spec: &MonitorSpec) -> FormState {
    let mut f = monitor_defaults();
    let mut set = |k: &str, v: String| {
        f.values.insert(k.to_string(), v);
    };
    set("name", spec.name.clone());
    set(
        "component_id",
        spec.component_id
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_default(),
    );
    set("kind", kind(&spec.probe).into());
    set("interval_seconds", spec.interval_seconds.to_string());
    set("timeout_ms", spec.timeout_ms.to_string());
    set(
        "degraded_after_ms",
        spec.degraded_after_ms
            .map(|v| v.to_string())
            .unwrap_or_default(),
    );
    set("failures_to_down", spec.failures_to_down.to_string());
    set("successes_to_up", spec.successes_to_up.to_string());
    set("flap_window_seconds", spec.flap_window_seconds.to_string());
    set(
        "retry_interval_seconds",
        spec.retry_interval_seconds
            .map(|v| v.to_string())
            .unwrap_or_default(),
    );
    set(
        "enabled",
        if spec.enabled {
            "on".into()
        } else {
            String::new()
        },
    );
    match &spec.probe {
        ProbeSpec::Http {
            url,
            method,
            headers,
            body,
            expected_status,
            body_contains,
            body_regex,
            verify_tls,
            follow_redirects,
            ..
        } => {
            set("url", url.clone());
            set("method", method.clone());
            set(
                "headers",
                headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            set("http_body", body.clone().unwrap_or_default());
            set(
                "expected_status",
                expected_status
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            set("body_contains", body_contains.clone().unwrap_or_default());
            set("body_regex", body_regex.clone().unwrap_or_default());
            set(
                "verify_tls",
                if *verify_tls {
                    "on".into()
                } else {
                    String::new()
                },
            );
            set(
                "follow_redirects",
                if *follow_redirects {
                    "on".into()
                } else {
                    String::new()
                },
            );
        }
        ProbeSpec::Tcp { host, port } => {
            set("host", host.clone());
            set("port", port.to_string());
        }
        ProbeSpec::Dns {
            name,
            record_type,
            expected,
            resolver,
        } => {
            set("dns_name", name.clone());
            set("record_type", record_type.clone());
            set("expected", expected.clone().unwrap_or_default());
            set("resolver", resolver.clone().unwrap_or_default());
        }
        ProbeSpec::TlsExpiry {
            host,
            port,
            warn_days,
        } => {
            set("tls_host", host.clone());
            set("tls_port", port.to_string());
            set("warn_days", warn_days.to_string());
        }
        ProbeSpec::Heartbeat {
            token,
            grace_seconds,
        } => {
            set("token", token.clone());
            set("grace_seconds", grace_seconds.to_string());
        }
        ProbeSpec::Postgres {
            url,
            query,
            max_replica_lag_seconds,
        } => {
            set("db_url", url.clone());
            set("query", query.clone());
            set(
                "max_replica_lag_seconds",
                max_replica_lag_seconds
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            );
        }
        ProbeSpec::Mysql { url, query } => {
            set("db_url", url.clone());
            set("query", query.clone());
        }
    }
    f
}

async fn create_monitor(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    match checked_spec(&state, monitor_body(&form), herald_store::random_id()).await {
        Ok(spec) => {
            state
                .store
                .save_monitor(&spec, &meta(&state, &admin))
                .await?;
            state.monitoring_changed();
            Ok(Redirect::to(&format!("/admin/monitors/{}", spec.id)).into_response())
        }
        Err(e @ AppError::Invalid { .. }) => {
            monitors_page(
                &state,
                &admin,
                FormState::refused(&form, &e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
struct ResultRow {
    at: String,
    outcome: String,
}

#[derive(Serialize)]
struct MonitorView {
    id: String,
    name: String,
    status: String,
    push_url: Option<String>,
    chart: Option<String>,
    results: Vec<ResultRow>,
    components: Vec<Option_>,
    kinds: &'static [&'static str],
    form: FormState,
}

async fn monitor_view(
    state: &AppState,
    admin: &Admin,
    key: &Id,
    form: Option<FormState>,
    status: StatusCode,
) -> Reply {
    let doc = load(state).await?;
    let tz = zone(&doc);
    let m = state
        .store
        .monitor(key)
        .await?
        .ok_or(AdminError::NotFound)?;
    let since = (state.clock)() - TimeDelta::hours(48);
    // Viewers see the monitor with its secrets redacted: push token, headers, credentials, and
    // failure reasons that quote them.
    let reveal = reveals(&admin.caller());
    let secrets = if reveal { Vec::new() } else { m.spec.secrets() };
    let spec = if reveal {
        m.spec.clone()
    } else {
        m.spec.redacted()
    };
    let results = state
        .store
        .recent_results(key, since, 50)
        .await?
        .iter()
        .map(|r| ResultRow {
            at: shown(r.at, tz),
            outcome: scrub(&outcome_words(&r.outcome), &secrets),
        })
        .collect();
    let push_url = match &spec.probe {
        ProbeSpec::Heartbeat { token, .. } => {
            Some(format!("{}/api/push/{token}", state.site.page_url()))
        }
        _ => None,
    };
    let chart = m
        .spec
        .component_id
        .as_ref()
        .filter(|c| state.monitoring.charted_monitor(c).as_ref() == Some(key))
        .map(|c| format!("/components/{c}/response-time.svg"));
    let components = doc
        .components
        .iter()
        .map(|c| Option_ {
            value: c.id.to_string(),
            label: c.name.clone(),
        })
        .collect();
    let view = MonitorView {
        id: key.to_string(),
        name: m.spec.name.clone(),
        status: status_word(state, key, &m.state),
        push_url,
        chart,
        results,
        components,
        kinds: KINDS,
        form: form.unwrap_or_else(|| monitor_form(&spec)),
    };
    page_with_status(
        admin,
        "monitors",
        &m.spec.name,
        "monitor.html",
        view,
        status,
    )
}

async fn monitor_page(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
) -> Reply {
    let key = parse_id(&raw)?;
    monitor_view(&state, &admin, &key, None, StatusCode::OK).await
}

async fn update_monitor(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let key = parse_id(&raw)?;
    state
        .store
        .monitor(&key)
        .await?
        .ok_or(AdminError::NotFound)?;
    match checked_spec(&state, monitor_body(&form), key.clone()).await {
        Ok(spec) => {
            state
                .store
                .save_monitor(&spec, &meta(&state, &admin))
                .await?;
            state.monitoring_changed();
            Ok(Redirect::to(&format!("/admin/monitors/{key}")).into_response())
        }
        Err(e @ AppError::Invalid { .. }) => {
            monitor_view(
                &state,
                &admin,
                &key,
                Some(FormState::refused(&form, &e)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_monitor(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let key = parse_id(&raw)?;
    state
        .store
        .delete_monitor(&key, &meta(&state, &admin))
        .await?;
    state.monitoring_changed();
    Ok(Redirect::to("/admin/monitors").into_response())
}

async fn save_automation(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let component = parse_id(&raw)?;
    let doc = load(&state).await?;
    if doc.component(&component).is_none() {
        return Err(AdminError::NotFound);
    }
    let mut a = state
        .store
        .list_automations()
        .await?
        .into_iter()
        .find(|a| a.component_id == component)
        .unwrap_or_else(|| ComponentAutomation::new(component.clone()));
    a.rule = match form.get("rule") {
        "all" => ComponentRule::All,
        "any" => ComponentRule::Any,
        _ => return Err(invalid("rule", "choose any or all").into()),
    };
    a.incidents = AutoIncidentMode::parse(form.get("incidents"))
        .ok_or_else(|| AdminError::from(invalid("incidents", "choose off, draft or publish")))?;
    a.quiet_period_seconds = form
        .get("quiet_period_seconds")
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|q| *q <= 86_400)
        .ok_or_else(|| {
            AdminError::from(invalid(
                "quiet_period_seconds",
                "must be 0 to 86400 seconds",
            ))
        })?;
    state
        .store
        .save_automation(&a, &meta(&state, &admin))
        .await?;
    state.monitoring_changed();
    Ok(Redirect::to("/admin/monitors#automation").into_response())
}

#[derive(Serialize)]
struct IntegrationRow {
    id: String,
    name: String,
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct ChannelRow {
    id: String,
    name: String,
    kind: &'static str,
    target: String,
}

#[derive(Serialize)]
struct MetricRow {
    id: String,
    name: String,
    suffix: String,
    source: String,
}

#[derive(Serialize)]
struct AlertingView {
    integrations: Vec<IntegrationRow>,
    channels: Vec<ChannelRow>,
    metrics: Vec<MetricRow>,
    integration_kinds: Vec<&'static str>,
    channel_kinds: Vec<&'static str>,
    components: Vec<Option_>,
    monitors: Vec<Option_>,
    new_token_url: Option<String>,
    form: FormState,
}

async fn alerting_page(
    state: &AppState,
    admin: &Admin,
    form: FormState,
    new_token_url: Option<String>,
    status: StatusCode,
) -> Reply {
    let doc = load(state).await?;
    let base = state.site.page_url();
    let integrations = state
        .store
        .list_integrations()
        .await?
        .into_iter()
        .map(|i| IntegrationRow {
            id: i.id.to_string(),
            name: i.name,
            kind: i.kind.as_str(),
            url: format!("{base}/api/integrations/{}", i.kind.as_str()),
        })
        .collect();
    let channels = state
        .store
        .list_alert_channels()
        .await?
        .into_iter()
        .map(|c| ChannelRow {
            id: c.id.to_string(),
            kind: c.kind.as_str(),
            // Webhook URLs hold secrets: show where they go, not the whole address.
            target: c.redacted().target,
            name: c.name,
        })
        .collect();
    let stored_monitors = state.store.list_monitors().await?;
    let metrics = state
        .store
        .list_metrics()
        .await?
        .into_iter()
        .map(|m| MetricRow {
            id: m.id.to_string(),
            name: m.name,
            suffix: m.suffix,
            source: match &m.monitor_id {
                Some(id) => stored_monitors
                    .iter()
                    .find(|s| &s.spec.id == id)
                    .map(|s| format!("response times of {}", s.spec.name))
                    .unwrap_or_else(|| "a removed monitor".into()),
                None => "data points from the API".into(),
            },
        })
        .collect();
    let view = AlertingView {
        integrations,
        channels,
        metrics,
        integration_kinds: IntegrationKind::ALL.iter().map(|k| k.as_str()).collect(),
        channel_kinds: ChannelKind::ALL.iter().map(|k| k.as_str()).collect(),
        components: doc
            .components
            .iter()
            .map(|c| Option_ {
                value: c.id.to_string(),
                label: c.name.clone(),
            })
            .collect(),
        monitors: stored_monitors
            .iter()
            .map(|m| Option_ {
                value: m.spec.id.to_string(),
                label: m.spec.name.clone(),
            })
            .collect(),
        new_token_url,
        form,
    };
    page_with_status(
        admin,
        "alerting",
        "Alerting and metrics",
        "alerting.html",
        view,
        status,
    )
}

async fn alerting(State(state): State<AppState>, admin: Admin) -> Reply {
    alerting_page(&state, &admin, FormState::default(), None, StatusCode::OK).await
}

async fn refused(state: &AppState, admin: &Admin, form: &Fields, e: AppError) -> Reply {
    alerting_page(
        state,
        admin,
        FormState::refused(form, &e),
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn create_integration(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let Some(kind) = IntegrationKind::parse(form.get("integration_kind")) else {
        return refused(
            &state,
            &admin,
            &form,
            invalid("integration_kind", "choose a listed kind"),
        )
        .await;
    };
    let name = form.get("integration_name").trim();
    if let Err(e) = herald_core::text::line("integration_name", name) {
        return refused(&state, &admin, &form, e.into()).await;
    }
    if name.is_empty() || name.chars().count() > 255 {
        return refused(
            &state,
            &admin,
            &form,
            invalid("integration_name", "must be 1 to 255 characters"),
        )
        .await;
    }
    let mut i = Integration::new(
        herald_store::random_id(),
        kind,
        name.to_string(),
        (state.clock)(),
    );
    if let Ok(c) = Id::parse(form.get("default_component")) {
        i.default_component = Some(c);
    }
    let token = crate::http::auth::new_secret(16);
    state
        .store
        .create_integration(&i, &crate::http::auth::secret_hash(&token), &meta(&state, &admin))
        .await?;
    let url = format!(
        "{}/api/integrations/{}?token={token}",
        state.site.page_url(),
        kind.as_str()
    );
    alerting_page(
        &state,
        &admin,
        FormState::default(),
        Some(url),
        StatusCode::OK,
    )
    .await
}

async fn delete_integration(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    state
        .store
        .delete_integration(&parse_id(&raw)?, &meta(&state, &admin))
        .await?;
    Ok(Redirect::to("/admin/alerting").into_response())
}

async fn create_channel(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let Some(kind) = ChannelKind::parse(form.get("channel_kind")) else {
        return refused(
            &state,
            &admin,
            &form,
            invalid("channel_kind", "choose a listed kind"),
        )
        .await;
    };
    let channel = AlertChannel {
        id: herald_store::random_id(),
        name: form.get("channel_name").trim().to_string(),
        kind,
        target: form.get("channel_target").trim().to_string(),
        enabled: true,
    };
    if let Err(e) = channel.validate() {
        return refused(
            &state,
            &admin,
            &form,
            invalid(&format!("channel_{}", e.field), e.message),
        )
        .await;
    }
    if channel.kind != ChannelKind::Email {
        if let Err(e) = state.alerter.guard().check(&channel.target).await {
            let why = invalid("channel_target", e.to_string());
            return refused(&state, &admin, &form, why).await;
        }
    }
    state
        .store
        .save_alert_channel(&channel, &meta(&state, &admin))
        .await?;
    Ok(Redirect::to("/admin/alerting").into_response())
}

async fn delete_channel(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    state
        .store
        .delete_alert_channel(&parse_id(&raw)?, &meta(&state, &admin))
        .await?;
    Ok(Redirect::to("/admin/alerting").into_response())
}

async fn create_metric(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let name = form.get("metric_name").trim();
    if let Err(e) = herald_core::text::line("metric_name", name) {
        return refused(&state, &admin, &form, e.into()).await;
    }
    if name.is_empty() || name.chars().count() > 255 {
        return refused(
            &state,
            &admin,
            &form,
            invalid("metric_name", "must be 1 to 255 characters"),
        )
        .await;
    }
    let decimals = match form.get("decimal_places").trim() {
        "" => 0,
        d => match d.parse::<u8>().ok().filter(|d| *d <= 6) {
            Some(d) => d,
            None => {
                return refused(
                    &state,
                    &admin,
                    &form,
                    invalid("decimal_places", "must be 0 to 6"),
                )
                .await
            }
        },
    };
    let metric = Metric {
        id: herald_store::random_id(),
        name: name.to_string(),
        suffix: form.get("suffix").to_string(),
        y_axis_min: None,
        y_axis_max: None,
        decimal_places: decimals,
        description: text(&form, "metric_description").and_then(|v| v.as_str().map(str::to_string)),
        monitor_id: Id::parse(form.get("metric_monitor")).ok(),
        display: true,
    };
    state
        .store
        .save_metric(&metric, &meta(&state, &admin))
        .await?;
    state.changed();
    Ok(Redirect::to("/admin/alerting").into_response())
}

async fn delete_metric(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    state
        .store
        .delete_metric(&parse_id(&raw)?, &meta(&state, &admin))
        .await?;
    state.changed();
    Ok(Redirect::to("/admin/alerting").into_response())
}
