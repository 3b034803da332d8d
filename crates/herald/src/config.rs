//! Configuration: built-in defaults, then `herald.toml`, then `HERALD_*` environment variables,
//! then command-line flags. Checked once at start; a bad file is reported with its path, line and
//! key, a bad variable with its name.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Herald's settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Address of the operators' listener serving Prometheus `/metrics`; off when unset. Keep it
    /// off the public network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    /// Folder for the embedded database and other local state.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `sqlite://FILE` or `postgres://…`; defaults to `sqlite://{data_dir}/herald.db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<DatabaseUrl>,
    #[serde(default)]
    pub page: PageConfig,
    #[serde(default)]
    pub admin: AdminConfig,
    /// The mail server Herald sends through (team alerts; subscriber mail).
    #[serde(default)]
    pub smtp: SmtpConfig,
    #[serde(default)]
    pub monitoring: MonitoringConfig,
    #[serde(default)]
    pub notify: NotifyConfig,
    #[serde(default)]
    pub mirror: MirrorConfig,
    #[serde(default)]
    pub server: ServerConfig,
}

/// `[server]`: how the HTTP listener treats connections and client addresses.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Reverse proxies (CIDR blocks or single addresses) whose `Forwarded` and
    /// `X-Forwarded-For` headers name the client; those headers are ignored from anyone else.
    /// Comma-separated in the environment.
    #[serde(default, deserialize_with = "ranges_or_text")]
    pub trusted_proxies: Vec<ProxyRange>,
    /// Time a client has to send a whole request head, on a new connection and for each later
    /// request on a kept-alive one (default 10 s).
    #[serde(default, deserialize_with = "ranged::<_, 1, 600>")]
    pub header_timeout_seconds: Option<u32>,
    /// A kept-alive connection with no request in flight is closed after this long without a
    /// byte (default 60 s).
    #[serde(default, deserialize_with = "ranged::<_, 1, 3600>")]
    pub idle_timeout_seconds: Option<u32>,
    /// Connections open at once in all (default 10,000, and never more than the open-files
    /// limit leaves room for); more are refused at once.
    #[serde(default, deserialize_with = "ranged::<_, 1, 1000000>")]
    pub max_connections: Option<u32>,
    /// Connections open at once from one client address (an IPv6 /64 counts as one address;
    /// trusted proxies are exempt) (default 256).
    #[serde(default, deserialize_with = "ranged::<_, 1, 1000000>")]
    pub max_connections_per_client: Option<u32>,
}

impl ServerConfig {
    pub const DEFAULT_HEADER_TIMEOUT: u32 = 10;
    pub const DEFAULT_IDLE_TIMEOUT: u32 = 60;
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;
    pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: u32 = 256;

    pub fn header_timeout(&self) -> std::time::Duration {
        let s = self
            .header_timeout_seconds
            .unwrap_or(Self::DEFAULT_HEADER_TIMEOUT);
        std::time::Duration::from_secs(u64::from(s))
    }

    pub fn idle_timeout(&self) -> std::time::Duration {
        let s = self
            .idle_timeout_seconds
            .unwrap_or(Self::DEFAULT_IDLE_TIMEOUT);
        std::time::Duration::from_secs(u64::from(s))
    }

    pub fn max_connections(&self) -> u32 {
        self.max_connections
            .unwrap_or(Self::DEFAULT_MAX_CONNECTIONS)
    }

    pub fn max_connections_per_client(&self) -> u32 {
        self.max_connections_per_client
            .unwrap_or(Self::DEFAULT_MAX_CONNECTIONS_PER_CLIENT)
    }
}

/// An address block, written `10.0.0.0/8`, `fd00::/8` or as a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyRange(pub ipnet::IpNet);

impl std::str::FromStr for ProxyRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let net = match s.parse::<ipnet::IpNet>() {
            Ok(net) => net,
            Err(_) => s
                .parse::<std::net::IpAddr>()
                .map(ipnet::IpNet::from)
                .map_err(|_| format!("`{s}` is not an address or CIDR block (e.g. 10.0.0.0/8)"))?,
        };
        Ok(ProxyRange(net.trunc()))
    }
}

impl fmt::Display for ProxyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for ProxyRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Address blocks written as a list (in the file) or as comma-separated text.
fn ranges_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ProxyRange>, D::Error> {
    list_or_text(d)?
        .iter()
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .collect()
}

/// A number from `LO` to `HI`, written as a number or as text; anything else is refused.
fn ranged<'de, D: serde::Deserializer<'de>, const LO: u32, const HI: u32>(
    d: D,
) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        N(i64),
        S(String),
    }
    let out_of_range = |shown: &str| {
        serde::de::Error::custom(format!("`{shown}` is out of range: use {LO} to {HI}"))
    };
    let n = match Option::<Either>::deserialize(d)? {
        None => return Ok(None),
        Some(Either::N(n)) => n,
        Some(Either::S(s)) => s.trim().parse::<i64>().map_err(|_| {
            serde::de::Error::custom(format!("`{s}` is not a whole number from {LO} to {HI}"))
        })?,
    };
    match u32::try_from(n) {
        Ok(n) if (LO..=HI).contains(&n) => Ok(Some(n)),
        _ => Err(out_of_range(&n.to_string())),
    }
}

/// The static mirror Herald keeps of its public site.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorConfig {
    /// A folder rewritten after every change; also served when Herald starts while its
    /// database is down.
    pub dir: Option<PathBuf>,
    /// A bucket of any S3-compatible store rewritten after every change.
    pub s3: Option<MirrorS3Config>,
}

/// `[mirror.s3]`: where the bucket is and how to sign in to it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorS3Config {
    /// Required.
    #[serde(default)]
    pub bucket: String,
    /// Keys start with this (no leading or trailing slash needed).
    pub prefix: Option<String>,
    pub region: Option<String>,
    /// The store's address, for S3-compatible stores other than AWS.
    pub endpoint: Option<String>,
    /// Credentials; the `AWS_*` environment variables are used when these are unset.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

/// How email leaves Herald. Nothing is sent while `host` is unset.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: Option<String>,
    /// 587 by default (465 with `security = "tls"`, 25 with `"none"`).
    #[serde(default, deserialize_with = "number_or_text")]
    pub port: Option<u16>,
    /// `starttls` (default), `tls`, or `none` (a local relay only).
    pub security: Option<SmtpSecurity>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender address, e.g. `Status <status@example.com>`; required with `host`.
    pub from: Option<String>,
    #[serde(default, deserialize_with = "number_or_text")]
    pub timeout_seconds: Option<u16>,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    None,
    Starttls,
    Tls,
}

/// Knobs of the monitoring runtime.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringConfig {
    /// `false` turns probing off on this instance (alerts and pushes are still taken).
    #[serde(default, deserialize_with = "bool_or_text")]
    pub enabled: Option<bool>,
    /// Probes running at once (default 512).
    #[serde(default, deserialize_with = "number_or_text")]
    pub concurrency: Option<u16>,
}

/// How subscribers are told.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// `false` stops this instance from delivering (the outbox still fills).
    #[serde(default, deserialize_with = "bool_or_text")]
    pub enabled: Option<bool>,
    /// Deliveries in flight at once (default 256).
    #[serde(default, deserialize_with = "number_or_text")]
    pub concurrency: Option<u16>,
    /// Deliveries in flight to one host at once (default 64).
    #[serde(default, deserialize_with = "number_or_text")]
    pub per_host: Option<u16>,
    /// Tries before a delivery is dead-lettered (default 8).
    #[serde(default, deserialize_with = "number_or_text")]
    pub max_attempts: Option<u16>,
    /// Wait before the first retry; doubled after each (default 10 s, at most an hour).
    #[serde(default, deserialize_with = "number_or_text")]
    pub retry_seconds: Option<u16>,
    /// How long a claimed delivery is held before another worker may take it (default 60 s).
    #[serde(default, deserialize_with = "number_or_text")]
    pub lease_seconds: Option<u16>,
    /// Time allowed for one webhook or chat request (default 10 s).
    #[serde(default, deserialize_with = "number_or_text")]
    pub timeout_seconds: Option<u16>,
    /// Dead deliveries in a row after which a webhook is disabled (default 5).
    #[serde(default, deserialize_with = "number_or_text")]
    pub disable_after: Option<u16>,
    /// SMTP connections used at once for subscriber mail (default 16).
    #[serde(default, deserialize_with = "number_or_text")]
    pub smtp_connections: Option<u16>,
    /// Minutes before a maintenance starts that subscribers are reminded (default 60; 0: never).
    #[serde(default, deserialize_with = "number_or_text")]
    pub remind_minutes: Option<u16>,
    /// Internal hosts or addresses that subscriber webhooks and team alert channels may reach
    /// anyway (comma-separated in the environment), e.g. `["127.0.0.1"]` for a test, or a chat
    /// server or relay on the private network.
    #[serde(default, deserialize_with = "list_or_text")]
    pub allow_targets: Vec<String>,
}

/// A list written as a list (in the file) or as comma-separated text (in the environment).
fn list_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        L(Vec<String>),
        S(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::L(l) => l,
        Either::S(s) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
    })
}

/// A number written as a number (in the file) or as text (in an environment variable).
fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        N(u16),
        S(String),
    }
    match Option::<Either>::deserialize(d)? {
        None => Ok(None),
        Some(Either::N(n)) => Ok(Some(n)),
        Some(Either::S(s)) => s.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("`{s}` is not a number from 0 to 65535"))
        }),
    }
}

/// A boolean written as such or as text (`true`/`false`).
fn bool_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        B(bool),
        S(String),
    }
    match Option::<Either>::deserialize(d)? {
        None => Ok(None),
        Some(Either::B(b)) => Ok(Some(b)),
        Some(Either::S(s)) => match s.trim() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            _ => Err(serde::de::Error::custom(format!(
                "`{s}` is not true or false"
            ))),
        },
    }
}

/// Page settings that override what is stored, when given.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PageConfig {
    pub name: Option<String>,
    /// The public address of the page.
    pub url: Option<String>,
    pub time_zone: Option<TimeZoneName>,
    /// Address of a logo image shown in the header.
    pub logo_url: Option<String>,
    /// Main colour (CSS colour), used for links and the operational state.
    pub accent_color: Option<String>,
}

/// The first admin account, created at start when no account exists.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub email: Option<String>,
    pub password: Option<Secret>,
}

/// A string that never shows in logs or `Debug` output.
#[derive(Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// A database URL checked for a known scheme; its `Debug` hides the password.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", herald_store::redact_url(&self.0))
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if known.iter().any(|k| s.starts_with(k)) {
            Ok(DatabaseUrl(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "`{}` is not a database URL: use sqlite://FILE or postgres://USER@HOST/DB",
                herald_store::redact_url(&s)
            )))
        }
    }
}

/// An IANA time zone name, checked against the zone database.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(pub String);

impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match herald_core::timefmt::zone(&s) {
            Some(_) => Ok(TimeZoneName(s)),
            None => Err(serde::de::Error::custom(format!(
                "`{s}` is not an IANA time zone name (e.g. America/Los_Angeles)"
            ))),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("herald-data")
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            metrics_listen: None,
            data_dir: default_data_dir(),
            database_url: None,
            page: PageConfig::default(),
            admin: AdminConfig::default(),
            smtp: SmtpConfig::default(),
            monitoring: MonitoringConfig::default(),
            notify: NotifyConfig::default(),
            mirror: MirrorConfig::default(),
            server: ServerConfig::default(),
        }
    }
}

/// Every key and the environment variable that overrides it.
pub const ENV_KEYS: &[(&str, &[&str])] = &[
    ("HERALD_LISTEN", &["listen"]),
    ("HERALD_METRICS_LISTEN", &["metrics_listen"]),
    ("HERALD_DATA_DIR", &["data_dir"]),
    ("HERALD_DATABASE_URL", &["database_url"]),
    ("HERALD_PAGE_NAME", &["page", "name"]),
    ("HERALD_PAGE_URL", &["page", "url"]),
    ("HERALD_PAGE_TIME_ZONE", &["page", "time_zone"]),
    ("HERALD_PAGE_LOGO_URL", &["page", "logo_url"]),
    ("HERALD_PAGE_ACCENT_COLOR", &["page", "accent_color"]),
    ("HERALD_ADMIN_EMAIL", &["admin", "email"]),
    ("HERALD_ADMIN_PASSWORD", &["admin", "password"]),
    ("HERALD_SMTP_HOST", &["smtp", "host"]),
    ("HERALD_SMTP_PORT", &["smtp", "port"]),
    ("HERALD_SMTP_SECURITY", &["smtp", "security"]),
    ("HERALD_SMTP_USERNAME", &["smtp", "username"]),
    ("HERALD_SMTP_PASSWORD", &["smtp", "password"]),
    ("HERALD_SMTP_FROM", &["smtp", "from"]),
    ("HERALD_MONITORING_ENABLED", &["monitoring", "enabled"]),
    (
        "HERALD_MONITORING_CONCURRENCY",
        &["monitoring", "concurrency"],
    ),
    ("HERALD_NOTIFY_ENABLED", &["notify", "enabled"]),
    ("HERALD_NOTIFY_CONCURRENCY", &["notify", "concurrency"]),
    ("HERALD_NOTIFY_PER_HOST", &["notify", "per_host"]),
    (
        "HERALD_NOTIFY_SMTP_CONNECTIONS",
        &["notify", "smtp_connections"],
    ),
    ("HERALD_NOTIFY_MAX_ATTEMPTS", &["notify", "max_attempts"]),
    ("HERALD_NOTIFY_RETRY_SECONDS", &["notify", "retry_seconds"]),
    ("HERALD_NOTIFY_LEASE_SECONDS", &["notify", "lease_seconds"]),
    (
        "HERALD_NOTIFY_TIMEOUT_SECONDS",
        &["notify", "timeout_seconds"],
    ),
    ("HERALD_NOTIFY_ALLOW_TARGETS", &["notify", "allow_targets"]),
    ("HERALD_MIRROR_DIR", &["mirror", "dir"]),
    ("HERALD_MIRROR_S3_BUCKET", &["mirror", "s3", "bucket"]),
    ("HERALD_MIRROR_S3_PREFIX", &["mirror", "s3", "prefix"]),
    ("HERALD_MIRROR_S3_REGION", &["mirror", "s3", "region"]),
    ("HERALD_MIRROR_S3_ENDPOINT", &["mirror", "s3", "endpoint"]),
    (
        "HERALD_MIRROR_S3_ACCESS_KEY_ID",
        &["mirror", "s3", "access_key_id"],
    ),
    (
        "HERALD_MIRROR_S3_SECRET_ACCESS_KEY",
        &["mirror", "s3", "secret_access_key"],
    ),
    (
        "HERALD_SERVER_TRUSTED_PROXIES",
        &["server", "trusted_proxies"],
    ),
    (
        "HERALD_SERVER_HEADER_TIMEOUT_SECONDS",
        &["server", "header_timeout_seconds"],
    ),
    (
        "HERALD_SERVER_IDLE_TIMEOUT_SECONDS",
        &["server", "idle_timeout_seconds"],
    ),
    (
        "HERALD_SERVER_MAX_CONNECTIONS",
        &["server", "max_connections"],
    ),
    (
        "HERALD_SERVER_MAX_CONNECTIONS_PER_CLIENT",
        &["server", "max_connections_per_client"],
    ),
];

/// A configuration that cannot be used, with where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The message from the TOML reader carries the line, column and key.
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl Config {
    /// The database the configuration names.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.0.clone(),
            None => format!("sqlite://{}", self.data_dir.join("herald.db").display()),
        }
    }

    /// Loads defaults, then the file (if any), then the variables in `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        match file {
            Some(path) => {
                let shown = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: shown.clone(),
                    source,
                })?;
                Config::from_text(Some((&shown, &text)), env)
            }
            None => Config::from_text(None, env),
        }
    }

    /// Like [`Config::load`], with the file already read: `(name shown in errors, contents)`.
    pub fn from_text(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = toml::Table::new();
        if let Some((shown, text)) = file {
            // Read once as the typed config, so that every mistake comes with line and key.
            toml::from_str::<Config>(text).map_err(|e| ConfigError::File {
                path: shown.to_string(),
                message: e.to_string(),
            })?;
            table = toml::from_str(text).map_err(|e| ConfigError::File {
                path: shown.to_string(),
                message: e.to_string(),
            })?;
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        for (var, path) in ENV_KEYS {
            let Some((_, value)) = env.iter().find(|(k, _)| k == var) else {
                continue;
            };
            let value = toml::Value::String(value.clone());
            let env_error = |message: String| ConfigError::Env {
                var: var.to_string(),
                message,
            };
            set_path(&mut table, path, value.clone()).map_err(env_error)?;
            // Check each variable on its own, so that an error names it.
            let mut probe = toml::Table::new();
            set_path(&mut probe, path, value).map_err(env_error)?;
            Config::deserialize(probe).map_err(|e| env_error(e.message().to_string()))?;
        }
        for (k, _) in &env {
            if k.starts_with("HERALD_")
                && !ENV_KEYS.iter().any(|(v, _)| v == k)
                && !IGNORED_ENV.contains(&k.as_str())
            {
                tracing::warn!(variable = %k, "unknown HERALD_ variable ignored");
            }
        }
        Config::deserialize(table).map_err(|e| ConfigError::Env {
            var: "HERALD_*".into(),
            message: e.message().to_string(),
        })
    }
}

/// Variables read elsewhere (not configuration keys).
const IGNORED_ENV: &[&str] = &[
    "HERALD_CONFIG",
    "HERALD_API_KEY",
    "HERALD_LOG",
    "HERALD_LOG_FORMAT",
];

/// Sets `path` (e.g. `["page", "name"]`) in `table`, creating tables on the way.
fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut node = table;
    for key in parents {
        node = node
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("`{key}` in the file is not a table"))?;
    }
    node.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new()
            .suffix(".toml")
            .tempfile()
            .expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        f
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_a_file() {
        let c = Config::load(None, env(&[])).expect("defaults");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url(), "sqlite://herald-data/herald.db");
    }

    #[test]
    fn environment_overrides_the_file() {
        let f =
            file("listen = \"127.0.0.1:9000\"\n[page]\nname = \"Acme\"\ntime_zone = \"Etc/UTC\"\n");
        let c = Config::load(
            Some(f.path()),
            env(&[
                ("HERALD_PAGE_NAME", "Acme Status"),
                ("HERALD_DATA_DIR", "/tmp/h"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.page.name.as_deref(), Some("Acme Status"));
        assert_eq!(c.database_url(), "sqlite:///tmp/h/herald.db");
    }

    #[test]
    fn a_bad_file_names_path_line_and_key() {
        let f = file("listen = \"127.0.0.1:9000\"\n\n[page]\ntime_zone = \"Mars/Olympus\"\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .expect_err("refused")
            .to_string();
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        assert!(e.contains("line 4"), "{e}");
        assert!(e.contains("time_zone"), "{e}");
        assert!(e.contains("Mars/Olympus"), "{e}");

        let f = file("listne = \"127.0.0.1:9000\"\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .expect_err("refused")
            .to_string();
        assert!(e.contains("line 1") && e.contains("listne"), "{e}");

        let f = file("listen = \"nowhere\"\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .expect_err("refused")
            .to_string();
        assert!(e.contains("line 1") && e.contains("listen"), "{e}");
    }

    #[test]
    fn a_bad_variable_is_named() {
        let e = Config::load(None, env(&[("HERALD_LISTEN", "nowhere")])).expect_err("refused");
        assert!(
            e.to_string()
                .starts_with("environment variable HERALD_LISTEN:"),
            "{e}"
        );
        let e =
            Config::load(None, env(&[("HERALD_DATABASE_URL", "mysql://x")])).expect_err("refused");
        assert!(e.to_string().contains("HERALD_DATABASE_URL"), "{e}");
    }

    #[test]
    fn server_settings_from_the_file_and_the_environment() {
        let c = Config::load(None, env(&[])).expect("defaults");
        assert!(c.server.trusted_proxies.is_empty());
        assert_eq!(c.server.header_timeout().as_secs(), 10);
        assert_eq!(c.server.idle_timeout().as_secs(), 60);
        assert_eq!(c.server.max_connections(), 10_000);
        assert_eq!(c.server.max_connections_per_client(), 256);

        let f = file(
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\", \"fd00::1/8\"]\n\
             header_timeout_seconds = 5\nmax_connections = 500\n",
        );
        let c = Config::load(
            Some(f.path()),
            env(&[
                ("HERALD_SERVER_IDLE_TIMEOUT_SECONDS", "30"),
                ("HERALD_SERVER_MAX_CONNECTIONS_PER_CLIENT", "20"),
            ]),
        )
        .expect("loads");
        let shown: Vec<String> = c
            .server
            .trusted_proxies
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]);
        assert_eq!(c.server.header_timeout().as_secs(), 5);
        assert_eq!(c.server.idle_timeout().as_secs(), 30);
        assert_eq!(c.server.max_connections(), 500);
        assert_eq!(c.server.max_connections_per_client(), 20);

        let c = Config::load(
            None,
            env(&[("HERALD_SERVER_TRUSTED_PROXIES", "10.0.0.0/8, ::1")]),
        )
        .expect("loads");
        assert_eq!(c.server.trusted_proxies.len(), 2);
    }

    #[test]
    fn bad_server_settings_are_named() {
        for (var, value) in [
            ("HERALD_SERVER_HEADER_TIMEOUT_SECONDS", "0"),
            ("HERALD_SERVER_HEADER_TIMEOUT_SECONDS", "601"),
            ("HERALD_SERVER_IDLE_TIMEOUT_SECONDS", "-1"),
            ("HERALD_SERVER_IDLE_TIMEOUT_SECONDS", "soon"),
            ("HERALD_SERVER_MAX_CONNECTIONS", "0"),
            ("HERALD_SERVER_MAX_CONNECTIONS", "99999999999"),
            ("HERALD_SERVER_MAX_CONNECTIONS_PER_CLIENT", "0"),
            ("HERALD_SERVER_TRUSTED_PROXIES", "10.0.0.0/8, everyone"),
            ("HERALD_SERVER_TRUSTED_PROXIES", "10.0.0.0/33"),
        ] {
            let e = Config::load(None, env(&[(var, value)]))
                .expect_err(value)
                .to_string();
            assert!(
                e.starts_with(&format!("environment variable {var}:")),
                "{e}"
            );
        }
        let f = file("[server]\nidle_timeout_seconds = 0\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("idle_timeout_seconds") && e.contains("1 to 3600"),
            "{e}"
        );
        let f = file("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"nowhere\"]\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("trusted_proxies") && e.contains("`nowhere` is not an address"),
            "{e}"
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let c = Config::load(
            None,
            env(&[
                ("HERALD_ADMIN_PASSWORD", "hunter2"),
                ("HERALD_DATABASE_URL", "postgres://herald:s3cret@db/herald"),
            ]),
        )
        .expect("loads");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
