//! Every integration test of the `herald` crate, in one binary: one link instead of one per
//! file, and one place for the shared harness (`common`).

mod admin_ui;
mod api_monitoring;
mod api_native;
mod api_v1;
mod backup;
mod chaos;
mod cli;
mod cluster;
mod common;
mod connections;
mod fanout_crash;
mod feeds_badges;
mod hardening;
mod hostile;
mod html_pages;
mod layers;
mod mirror;
mod monitoring_steps;
mod monitors;
mod notifications;
mod openapi;
mod probes;
mod read_path;
mod request_ids;
mod secrets;
mod shutdown;
mod signin;
mod target_guard;
mod team_alerts;
mod v2_api;
mod write_refused;
