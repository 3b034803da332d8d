//! The runbook commands (`herald incident …`, `herald component set-status`,
//! `herald maintenance schedule`): thin clients of a running server's native API, with the key
//! from `HERALD_API_KEY`. Exit codes: 0 done, 1 refused (the server's message is printed),
//! 3 not allowed (missing, wrong or revoked key, or a role that cannot write), 4 server
//! unreachable or failing.

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use std::process::ExitCode;

#[derive(Args, Debug, Clone)]
pub struct Server {
    /// Base URL of the Herald server.
    #[arg(
        long,
        global = true,
        env = "HERALD_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// API key (or set HERALD_API_KEY).
    #[arg(long, global = true, env = "HERALD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// Open an incident.
    Open {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "investigating")]
        status: String,
        #[arg(long)]
        impact: Option<String>,
        #[arg(long)]
        message: Option<String>,
        /// COMPONENT_ID=STATUS, repeatable.
        #[arg(long = "component")]
        components: Vec<String>,
    },
    /// Post an update.
    Update {
        id: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        message: Option<String>,
        #[arg(long = "component")]
        components: Vec<String>,
    },
    /// Resolve an incident.
    Resolve {
        id: String,
        #[arg(long)]
        message: Option<String>,
        #[arg(long = "component")]
        components: Vec<String>,
    },
    /// List incidents, unresolved first.
    List,
}

#[derive(Subcommand, Debug)]
pub enum ComponentCommand {
    /// Set a component's status.
    SetStatus { id: String, status: String },
}

#[derive(Subcommand, Debug)]
pub enum MaintenanceCommand {
    /// Schedule a maintenance window.
    Schedule {
        #[arg(long)]
        name: String,
        /// Start, RFC 3339 (e.g. 2026-12-01T02:00:00Z).
        #[arg(long)]
        start: String,
        /// End, RFC 3339.
        #[arg(long)]
        end: String,
        #[arg(long)]
        message: Option<String>,
        /// Component id, repeatable.
        #[arg(long = "component")]
        components: Vec<String>,
    },
}

/// A failure with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

fn fail(code: u8, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

fn component_map(pairs: &[String]) -> Result<Value, Failure> {
    let mut map = Map::new();
    for p in pairs {
        let (id, status) = p
            .split_once('=')
            .ok_or_else(|| fail(1, format!("--component `{p}`: write COMPONENT_ID=STATUS")))?;
        map.insert(
            id.trim().to_string(),
            Value::String(status.trim().to_string()),
        );
    }
    Ok(Value::Object(map))
}

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, Failure> {
    let url = format!(
        "{}/api/herald/v1{path}",
        server.server.trim_end_matches('/')
    );
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| fail(4, format!("cannot build an HTTP client: {e}")))?;
    let mut req = client.request(method, &url);
    if let Some(key) = &server.api_key {
        req = req.header("authorization", format!("OAuth {key}"));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req
        .send()
        .await
        .map_err(|e| fail(4, format!("cannot reach {url}: {e}")))?;
    let status = res.status();
    let value: Value = res.json().await.unwrap_or(Value::Null);
    let said = value["error"].as_str().unwrap_or("no details").to_string();
    match status.as_u16() {
        200..=299 => Ok(value),
        401 => Err(fail(
            3,
            format!("not allowed: {said} (set HERALD_API_KEY to a valid key)"),
        )),
        403 => Err(fail(3, format!("not allowed: {said}"))),
        400..=499 => Err(fail(1, format!("refused ({status}): {said}"))),
        _ => Err(fail(4, format!("the server failed ({status}): {said}"))),
    }
}

fn show_incident(v: &Value) -> String {
    format!(
        "{}  {:<13} {}",
        v["id"].as_str().unwrap_or("?"),
        v["status"].as_str().unwrap_or("?"),
        v["name"].as_str().unwrap_or("")
    )
}

async fn incident(server: &Server, command: &IncidentCommand) -> Result<String, Failure> {
    use reqwest::Method;
    match command {
        IncidentCommand::Open {
            name,
            status,
            impact,
            message,
            components,
        } => {
            let mut body =
                json!({"name": name, "status": status, "components": component_map(components)?});
            if let Some(i) = impact {
                body["impact"] = json!(i);
            }
            if let Some(m) = message {
                body["body"] = json!(m);
            }
            let v = call(server, Method::POST, "/incidents", Some(body)).await?;
            Ok(format!("opened {}", show_incident(&v)))
        }
        IncidentCommand::Update {
            id,
            status,
            message,
            components,
        } => {
            let mut body = json!({"components": component_map(components)?});
            if let Some(s) = status {
                body["status"] = json!(s);
            }
            if let Some(m) = message {
                body["body"] = json!(m);
            }
            let v = call(
                server,
                Method::PATCH,
                &format!("/incidents/{id}"),
                Some(body),
            )
            .await?;
            Ok(format!("updated {}", show_incident(&v)))
        }
        IncidentCommand::Resolve {
            id,
            message,
            components,
        } => {
            let mut body = json!({"status": "resolved", "components": component_map(components)?});
            if let Some(m) = message {
                body["body"] = json!(m);
            }
            let v = call(
                server,
                Method::PATCH,
                &format!("/incidents/{id}"),
                Some(body),
            )
            .await?;
            Ok(format!("resolved {}", show_incident(&v)))
        }
        IncidentCommand::List => {
            let page = call(server, Method::GET, "/page", None).await?;
            let mut incidents: Vec<Value> =
                page["incidents"].as_array().cloned().unwrap_or_default();
            incidents
                .sort_by_key(|i| matches!(i["status"].as_str(), Some("resolved" | "postmortem")));
            Ok(incidents
                .iter()
                .map(show_incident)
                .collect::<Vec<_>>()
                .join("\n"))
        }
    }
}

/// Runs one runbook command and maps the outcome to an exit code.
pub async fn run(server: &Server, command: RemoteCommand<'_>) -> ExitCode {
    use reqwest::Method;
    let result = match command {
        RemoteCommand::Incident(c) => incident(server, c).await,
        RemoteCommand::Component(ComponentCommand::SetStatus { id, status }) => call(
            server,
            Method::PATCH,
            &format!("/components/{id}"),
            Some(json!({"status": status})),
        )
        .await
        .map(|v| {
            format!(
                "{} is now {}",
                v["name"].as_str().unwrap_or(id),
                v["status"].as_str().unwrap_or(status)
            )
        }),
        RemoteCommand::Maintenance(MaintenanceCommand::Schedule {
            name,
            start,
            end,
            message,
            components,
        }) => {
            let mut body = json!({"name": name, "scheduled_for": start, "scheduled_until": end, "component_ids": components});
            if let Some(m) = message {
                body["body"] = json!(m);
            }
            call(server, Method::POST, "/maintenances", Some(body))
                .await
                .map(|v| {
                    format!(
                        "scheduled {} {}",
                        v["id"].as_str().unwrap_or("?"),
                        v["name"].as_str().unwrap_or("")
                    )
                })
        }
    };
    match result {
        Ok(text) => {
            println!("{}", crate::cli::shown(&text));
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprintln!("herald: {}", crate::cli::shown(&f.message));
            ExitCode::from(f.code)
        }
    }
}

/// One of the runbook commands.
pub enum RemoteCommand<'a> {
    Incident(&'a IncidentCommand),
    Component(&'a ComponentCommand),
    Maintenance(&'a MaintenanceCommand),
}
