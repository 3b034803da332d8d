//! Monitoring in the admin UI: monitors (a form for every probe kind, a page per monitor with
//! its recent results), how each component follows its monitors, and on the alerting page the
//! integrations (token shown once), team alert channels and system metrics.

use super::typed::typed;
use super::{
    invalid, load, page_with_status, parse_id, shown, zone, Admin, AdminError, Fields, FormState,
    Reply,
};
use crate::http::api_monitoring::{reachable, reveals};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::service::monitoring::NewIntegration;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use chrono::TimeDelta;
use herald_core::monitor::{
    AlertChannel, AutoIncidentMode, ChannelKind, ComponentAutomation, ComponentRule,
    IntegrationKind, Metric, MonitorSpec, ProbeOutcome, ProbeSpec,
};
use herald_core::secret::{scrub, Redact};
use herald_core::Id;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

/// The monitor form's settings every kind shares; the probe's own fields are read by kind, so
/// a section of the form the chosen kind does not use is never looked at.
#[derive(Default, Deserialize)]
#[serde(default)]
struct MonitorForm {
    name: String,
    component_id: Option<Id>,
    kind: String,
    interval_seconds: Option<u32>,
    timeout_ms: Option<u32>,
    degraded_after_ms: Option<u32>,
    failures_to_down: Option<u32>,
    successes_to_up: Option<u32>,
    flap_window_seconds: Option<u32>,
    retry_interval_seconds: Option<u32>,
    enabled: bool,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct HttpForm {
    url: String,
    method: Option<String>,
    /// Codes separated by commas or spaces.
    expected_status: String,
    /// One `Name: value` a line.
    headers: String,
    http_body: Option<String>,
    body_contains: Option<String>,
    body_regex: Option<String>,
    verify_tls: bool,
    follow_redirects: bool,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TcpForm {
    host: String,
    port: Option<u16>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct DnsForm {
    dns_name: String,
    record_type: Option<String>,
    expected: Option<String>,
    resolver: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TlsForm {
    tls_host: String,
    tls_port: Option<u16>,
    warn_days: Option<u32>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct HeartbeatForm {
    token: String,
    grace_seconds: Option<u32>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct DatabaseForm {
    db_url: String,
    query: Option<String>,
    max_replica_lag_seconds: Option<u32>,
}

fn trimmed(v: &str) -> String {
    v.trim().to_string()
}

fn trimmed_opt(v: Option<String>) -> Option<String> {
    v.map(|v| trimmed(&v))
}

/// Reads the probe section of the form for the chosen kind; a refused field is named as the
/// monitor names it (`probe.port`), which is where the form shows it.
fn probe_section<T: DeserializeOwned>(form: &Fields) -> Result<T, AppError> {
    typed(form).map_err(|e| match e {
        AppError::Invalid {
            field: Some(f),
            message,
        } => {
            let f = match f.as_str() {
                "port" | "tls_port" => "probe.port".to_string(),
                other => format!("probe.{other}"),
            };
            invalid(&f, message)
        }
        other => other,
    })
}

/// The probe a form describes. Left empty, a setting takes the API's default.
fn probe_from(kind: &str, form: &Fields) -> Result<ProbeSpec, AppError> {
    Ok(match kind {
        "http" => {
            let f: HttpForm = probe_section(form)?;
            let expected_status = f
                .expected_status
                .split([',', ' '])
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim().parse::<u16>().map_err(|_| {
                        invalid(
                            "probe.expected_status",
                            format!("`{}` is not an HTTP status code", s.trim()),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            // A line without a colon is a name the monitor's check refuses.
            let headers = f
                .headers
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let (name, value) = l.split_once(':').unwrap_or((l, ""));
                    (trimmed(name), trimmed(value))
                })
                .collect();
            ProbeSpec::Http {
                url: trimmed(&f.url),
                method: trimmed_opt(f.method).unwrap_or_else(|| "GET".into()),
                headers,
                body: trimmed_opt(f.http_body),
                expected_status,
                body_contains: trimmed_opt(f.body_contains),
                body_regex: trimmed_opt(f.body_regex),
                json_pointer: None,
                verify_tls: f.verify_tls,
                follow_redirects: f.follow_redirects,
            }
        }
        "tcp" => {
            let f: TcpForm = probe_section(form)?;
            ProbeSpec::Tcp {
                host: trimmed(&f.host),
                port: f.port.unwrap_or(0),
            }
        }
        "dns" => {
            let f: DnsForm = probe_section(form)?;
            ProbeSpec::Dns {
                name: trimmed(&f.dns_name),
                record_type: trimmed_opt(f.record_type).unwrap_or_else(|| "A".into()),
                expected: trimmed_opt(f.expected),
                resolver: trimmed_opt(f.resolver),
            }
        }
        "tls_expiry" => {
            let f: TlsForm = probe_section(form)?;
            ProbeSpec::TlsExpiry {
                host: trimmed(&f.tls_host),
                port: f.tls_port.unwrap_or(443),
                warn_days: f.warn_days.unwrap_or(14),
            }
        }
        "heartbeat" => {
            // Left empty, the service picks a token.
            let f: HeartbeatForm = probe_section(form)?;
            ProbeSpec::Heartbeat {
                token: trimmed(&f.token),
                grace_seconds: f.grace_seconds.unwrap_or(0),
            }
        }
        "postgres" | "mysql" => {
            let f: DatabaseForm = probe_section(form)?;
            let url = trimmed(&f.db_url);
            let query = trimmed_opt(f.query).unwrap_or_else(|| "SELECT 1".into());
            if kind == "postgres" {
                ProbeSpec::Postgres {
                    url,
                    query,
                    max_replica_lag_seconds: f.max_replica_lag_seconds,
                }
            } else {
                ProbeSpec::Mysql { url, query }
            }
        }
        _ => return Err(invalid("probe", "choose a listed kind")),
    })
}

/// The monitor a form describes, as the service takes it (the service gives a new monitor its
/// id). Left empty, a setting takes the API's default.
fn monitor_from(form: &Fields) -> Result<MonitorSpec, AppError> {
    let f: MonitorForm = typed(form)?;
    let required = |field: &str, v: Option<u32>| v.ok_or_else(|| invalid(field, "is required"));
    Ok(MonitorSpec {
        id: Id::from_bits(0),
        name: trimmed(&f.name),
        component_id: f.component_id,
        probe: probe_from(&f.kind, form)?,
        interval_seconds: required("interval_seconds", f.interval_seconds)?,
        timeout_ms: required("timeout_ms", f.timeout_ms)?,
        degraded_after_ms: f.degraded_after_ms,
        failures_to_down: f.failures_to_down.unwrap_or(3),
        successes_to_up: f.successes_to_up.unwrap_or(2),
        retry_interval_seconds: f.retry_interval_seconds,
        flap_window_seconds: f.flap_window_seconds.unwrap_or(300),
        enabled: f.enabled,
    })
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
    let saved = match monitor_from(&form) {
        Ok(spec) => state
            .service
            .add_monitor(&admin.caller(), spec)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match refusal(saved) {
        Ok(Ok(stored)) => {
            Ok(Redirect::to(&format!("/admin/monitors/{}", stored.spec.id)).into_response())
        }
        Ok(Err(e)) => {
            monitors_page(
                &state,
                &admin,
                FormState::refused(&form, &e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// Splits a service answer into what a form shows (done, or refused input to send back with
/// the form) and what ends the request (anything else).
fn refusal<T>(result: Result<T, AppError>) -> Result<Result<T, AppError>, AdminError> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e @ AppError::Invalid { .. }) => Ok(Err(e)),
        Err(e) => Err(e.into()),
    }
}

/// A refusal from the service in the words of a form whose fields are named otherwise.
fn renamed(e: AppError, names: &[(&str, &str)]) -> AppError {
    match e {
        AppError::Invalid {
            field: Some(f),
            message,
        } => {
            let f = names
                .iter()
                .find(|(from, _)| *from == f)
                .map_or(f.clone(), |(_, to)| to.to_string());
            invalid(&f, message)
        }
        other => other,
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
    let saved = match monitor_from(&form) {
        Ok(spec) => state
            .service
            .replace_monitor(&admin.caller(), &key, spec)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match refusal(saved) {
        Ok(Ok(_)) => Ok(Redirect::to(&format!("/admin/monitors/{key}")).into_response()),
        Ok(Err(e)) => {
            monitor_view(
                &state,
                &admin,
                &key,
                Some(FormState::refused(&form, &e)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
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
    state.service.remove_monitor(&admin.caller(), &key).await?;
    Ok(Redirect::to("/admin/monitors").into_response())
}

/// The automation form of one component.
#[derive(Default, Deserialize)]
#[serde(default)]
struct AutomationForm {
    rule: String,
    incidents: String,
    quiet_period_seconds: Option<u32>,
}

async fn save_automation(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let component = parse_id(&raw)?;
    let mut a = state.service.automation(&component).await?;
    let f: AutomationForm = typed(&form)?;
    a.rule = match f.rule.as_str() {
        "all" => ComponentRule::All,
        "any" => ComponentRule::Any,
        _ => return Err(invalid("rule", "choose any or all").into()),
    };
    a.incidents = AutoIncidentMode::parse(&f.incidents)
        .ok_or_else(|| AdminError::from(invalid("incidents", "choose off, draft or publish")))?;
    a.quiet_period_seconds = f.quiet_period_seconds.ok_or_else(|| {
        AdminError::from(invalid(
            "quiet_period_seconds",
            "must be 0 to 86400 seconds",
        ))
    })?;
    state.service.set_automation(&admin.caller(), a).await?;
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

/// Sends the alerting page back with a refused form, or ends the request on anything else.
async fn refused_or_failed(state: &AppState, admin: &Admin, form: &Fields, e: AppError) -> Reply {
    match e {
        e @ AppError::Invalid { .. } => refused(state, admin, form, e).await,
        other => Err(other.into()),
    }
}

/// The form adding an integration.
#[derive(Default, Deserialize)]
#[serde(default)]
struct IntegrationForm {
    integration_kind: String,
    integration_name: String,
    default_component: Option<Id>,
}

async fn create_integration(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let f: IntegrationForm = match typed(&form) {
        Ok(f) => f,
        Err(e) => return refused_or_failed(&state, &admin, &form, e).await,
    };
    let Some(kind) = IntegrationKind::parse(&f.integration_kind) else {
        return refused(
            &state,
            &admin,
            &form,
            invalid("integration_kind", "choose a listed kind"),
        )
        .await;
    };
    let new = NewIntegration {
        default_component: f.default_component,
        ..NewIntegration::new(kind, f.integration_name.trim())
    };
    let made = match state.service.add_integration(&admin.caller(), new).await {
        Ok(made) => made,
        Err(e) => {
            let e = renamed(e.into(), &[("name", "integration_name")]);
            return refused_or_failed(&state, &admin, &form, e).await;
        }
    };
    let url = format!(
        "{}/api/integrations/{}?token={}",
        state.site.page_url(),
        kind.as_str(),
        made.token
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
        .service
        .remove_integration(&admin.caller(), &parse_id(&raw)?)
        .await?;
    Ok(Redirect::to("/admin/alerting").into_response())
}

/// The form adding a team alert channel.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ChannelForm {
    channel_kind: String,
    channel_name: String,
    channel_target: String,
}

async fn create_channel(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let f: ChannelForm = match typed(&form) {
        Ok(f) => f,
        Err(e) => return refused_or_failed(&state, &admin, &form, e).await,
    };
    let Some(kind) = ChannelKind::parse(&f.channel_kind) else {
        return refused(
            &state,
            &admin,
            &form,
            invalid("channel_kind", "choose a listed kind"),
        )
        .await;
    };
    let channel = AlertChannel {
        // The service gives a new channel its id.
        id: Id::from_bits(0),
        name: f.channel_name.trim().to_string(),
        kind,
        target: f.channel_target.trim().to_string(),
        enabled: true,
    };
    if let Err(why) = reachable(&state, &channel).await {
        return refused(&state, &admin, &form, invalid("channel_target", why)).await;
    }
    match state
        .service
        .add_alert_channel(&admin.caller(), channel)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/alerting").into_response()),
        Err(e) => {
            let names = [
                ("name", "channel_name"),
                ("target", "channel_target"),
                ("kind", "channel_kind"),
            ];
            refused_or_failed(&state, &admin, &form, renamed(e.into(), &names)).await
        }
    }
}

async fn delete_channel(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    state
        .service
        .remove_alert_channel(&admin.caller(), &parse_id(&raw)?)
        .await?;
    Ok(Redirect::to("/admin/alerting").into_response())
}

/// The form adding a system metric.
#[derive(Default, Deserialize)]
#[serde(default)]
struct MetricForm {
    metric_name: String,
    /// Kept as typed: a unit may start with a space.
    suffix: String,
    decimal_places: Option<u8>,
    metric_description: Option<String>,
    metric_monitor: Option<Id>,
}

async fn create_metric(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let f: MetricForm = match typed(&form) {
        Ok(f) => f,
        Err(e) => return refused_or_failed(&state, &admin, &form, e).await,
    };
    let metric = Metric {
        // The service gives a new metric its id.
        id: Id::from_bits(0),
        name: f.metric_name.trim().to_string(),
        suffix: f.suffix,
        y_axis_min: None,
        y_axis_max: None,
        decimal_places: f.decimal_places.unwrap_or(0),
        description: f.metric_description.map(|d| d.trim().to_string()),
        monitor_id: f.metric_monitor,
        display: true,
    };
    match state.service.add_metric(&admin.caller(), metric).await {
        Ok(_) => Ok(Redirect::to("/admin/alerting").into_response()),
        Err(e) => {
            let names = [
                ("name", "metric_name"),
                ("description", "metric_description"),
                ("monitor_id", "metric_monitor"),
            ];
            refused_or_failed(&state, &admin, &form, renamed(e.into(), &names)).await
        }
    }
}

async fn delete_metric(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    state
        .service
        .remove_metric(&admin.caller(), &parse_id(&raw)?)
        .await?;
    Ok(Redirect::to("/admin/alerting").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn refused_field(r: Result<MonitorSpec, AppError>) -> Option<String> {
        match r {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_monitor_form_reads_as_a_spec() {
        let spec = monitor_from(&form(&[
            ("name", " Homepage "),
            ("kind", "http"),
            ("url", " https://127.0.0.1/health "),
            ("expected_status", "200, 204"),
            ("headers", "Accept: text/html\n\nX-Key: a:b"),
            ("interval_seconds", "60"),
            ("timeout_ms", "5000"),
            ("verify_tls", "on"),
            // Another kind's section is not read.
            ("tls_port", "not a port"),
        ]))
        .expect("reads");
        assert_eq!(spec.name, "Homepage");
        assert!(!spec.enabled, "an unticked box is off");
        assert_eq!(spec.failures_to_down, 3, "left out, the API's default");
        let ProbeSpec::Http {
            url,
            method,
            headers,
            expected_status,
            verify_tls,
            follow_redirects,
            ..
        } = spec.probe
        else {
            panic!("an http probe: {:?}", spec.probe);
        };
        assert_eq!(url, "https://127.0.0.1/health");
        assert_eq!(method, "GET");
        assert_eq!(expected_status, vec![200, 204]);
        assert_eq!(
            headers,
            vec![
                ("Accept".to_string(), "text/html".to_string()),
                ("X-Key".to_string(), "a:b".to_string())
            ]
        );
        assert!(verify_tls && !follow_redirects);
    }

    #[test]
    fn a_field_that_does_not_read_is_named_as_the_form_shows_it() {
        let base = [
            ("name", "x"),
            ("interval_seconds", "60"),
            ("timeout_ms", "1000"),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            monitor_from(&form(&pairs))
        };
        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[("kind", "tcp"), ("host", "h"), ("port", "http")],
                "probe.port",
            ),
            (&[("kind", "tls_expiry"), ("tls_port", "x")], "probe.port"),
            (
                &[("kind", "http"), ("expected_status", "2xx")],
                "probe.expected_status",
            ),
            (&[("kind", "carrier_pigeon")], "probe"),
            (
                &[("kind", "tcp"), ("interval_seconds", "often")],
                "interval_seconds",
            ),
        ];
        for (extra, field) in cases {
            assert_eq!(
                refused_field(with(extra)).as_deref(),
                Some(field),
                "{extra:?}"
            );
        }
        let blank = monitor_from(&form(&[("kind", "tcp"), ("timeout_ms", "1000")]));
        assert_eq!(refused_field(blank).as_deref(), Some("interval_seconds"));
    }
}
