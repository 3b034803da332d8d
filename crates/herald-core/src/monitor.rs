//! Monitors: what Herald probes, how often, and what a probe found. The probes themselves run
//! in the `herald` crate; the rules that turn results into a monitor's state live here.

use crate::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod alerts;
pub mod automation;
mod component;
mod judge;
mod setup;
mod spec;
mod state;

pub use component::{component_status, ComponentRule};
pub use judge::{judge_certificate, judge_heartbeat, judge_http, judge_latency};
pub use setup::{
    AlertChannel, AutoIncidentMode, ChannelKind, ComponentAutomation, Integration, IntegrationKind,
    Metric, MetricPoint,
};
pub use spec::{MonitorError, MonitorSpec};
pub use state::{observe, MonitorState, MonitorStatus, Transition};

/// What to probe, and how to judge the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProbeSpec {
    /// An HTTP(S) request. Secret (see [`crate::secret`]): the URL's credentials and secret
    /// parameters, every header value, the body.
    Http {
        url: String,
        #[serde(default = "get")]
        method: String,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default)]
        body: Option<String>,
        /// Accepted status codes; empty means any 2xx.
        #[serde(default)]
        expected_status: Vec<u16>,
        #[serde(default)]
        body_contains: Option<String>,
        #[serde(default)]
        body_regex: Option<String>,
        /// A JSON pointer (RFC 6901) into the body and the value it must equal, as JSON text.
        #[serde(default)]
        json_pointer: Option<(String, String)>,
        #[serde(default = "yes")]
        verify_tls: bool,
        #[serde(default = "yes")]
        follow_redirects: bool,
    },
    /// A TCP connection.
    Tcp { host: String, port: u16 },
    /// A DNS lookup.
    Dns {
        name: String,
        #[serde(default = "a_record")]
        record_type: String,
        /// One answer must equal this, when given.
        #[serde(default)]
        expected: Option<String>,
        /// `IP:PORT` of the resolver to ask; the system's by default.
        #[serde(default)]
        resolver: Option<String>,
    },
    /// A TLS handshake, to watch the certificate's expiry.
    TlsExpiry {
        host: String,
        #[serde(default = "https_port")]
        port: u16,
        /// Degraded when the certificate expires within this many days.
        #[serde(default = "two_weeks")]
        warn_days: u32,
    },
    /// A push from a cron job or service to `/api/push/{token}`; down when none arrived for
    /// longer than the monitor's interval plus `grace_seconds`. Secret: the token (who knows it
    /// can push).
    Heartbeat {
        token: String,
        #[serde(default)]
        grace_seconds: u32,
    },
    /// A PostgreSQL connection and query, optionally checking replica lag. Secret: the URL's
    /// credentials.
    Postgres {
        url: String,
        #[serde(default = "select_one")]
        query: String,
        /// Down when the replica replays more than this many seconds behind.
        #[serde(default)]
        max_replica_lag_seconds: Option<u32>,
    },
    /// A MySQL connection and query. Secret: the URL's credentials.
    Mysql {
        url: String,
        #[serde(default = "select_one")]
        query: String,
    },
}

fn get() -> String {
    "GET".into()
}
fn yes() -> bool {
    true
}
fn a_record() -> String {
    "A".into()
}
fn https_port() -> u16 {
    443
}
fn two_weeks() -> u32 {
    14
}
fn select_one() -> String {
    "SELECT 1".into()
}

/// What one probe found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ProbeOutcome {
    Up {
        latency_ms: u64,
    },
    /// Answered, but too slowly or with a warning (e.g. a certificate close to expiry).
    Degraded {
        latency_ms: u64,
        reason: String,
    },
    Down {
        reason: String,
    },
}

/// A probe's result at a moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub monitor_id: Id,
    pub at: DateTime<Utc>,
    pub outcome: ProbeOutcome,
}
