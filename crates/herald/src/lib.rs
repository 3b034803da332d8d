//! Herald: a self-hosted status page, uptime monitor and incident-communication server.
//!
//! Layers, each depending only on those below it:
//! - [`service`]: every write and its after-commit effects, the public site's snapshot; no HTTP;
//! - [`runtime`]: background work (monitoring, delivery, cluster, mirror, schedules) on narrow
//!   handles, under one supervisor;
//! - [`http`]: routes, extractors and the server; calls the service;
//! - [`app`]: wiring from configuration; [`cli`]: the `herald` command; [`remote`]: its runbook
//!   commands against a running server.
//!
//! [`render`] (the snapshot: every public response, pre-rendered and precompressed) and
//! [`config`] are used by all of them.

// The Statuspage page object is a long `json!` literal.
#![recursion_limit = "256"]

pub mod app;
pub mod cli;
pub mod config;
pub mod http;
pub mod remote;
pub mod render;
pub mod runtime;
pub mod service;

// Older paths, kept for the tools and tests that name them.
pub use http::auth;
pub use runtime::monitoring::probe;
pub use runtime::notify::{mail, netguard};
pub use runtime::{alerting, cluster, mirror, monitoring, notify};
