//! Herald: a self-hosted status page, uptime monitor and incident-communication server.
//!
//! - [`config`]: settings from file, environment and flags.
//! - [`app`]: shared state, the snapshot refresher, the server run loop.
//! - [`http`]: routes; public reads come from the snapshot only.
//! - [`render`]: the snapshot — every public response, pre-rendered and precompressed.
//! - [`auth`]: passwords, sessions, API keys, and the authenticated caller.
//! - [`cli`]: the `herald` command; [`remote`]: its runbook commands against a running server.

// The Statuspage page object is a long `json!` literal.
#![recursion_limit = "256"]

pub mod alerting;
pub mod app;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod http;
pub mod mail;
pub mod mirror;
pub mod monitoring;
pub mod netguard;
pub mod notify;
pub mod probe;
pub mod remote;
pub mod render;
