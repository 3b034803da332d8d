//! Automatic incidents and team alerts (filled in once the planner lands).

use super::Monitoring;
use crate::app::AppState;
use herald_core::monitor::{MonitorSpec, Transition};
use herald_core::{ComponentStatus, Id};

pub(super) async fn tick(_monitoring: &Monitoring, _state: &AppState) {}

pub(super) fn monitor_changed(_monitoring: &Monitoring, _spec: &MonitorSpec, _t: &Transition) {}

pub(super) async fn component_changed(
    _monitoring: &Monitoring,
    _state: &AppState,
    _component: &Id,
    _wanted: ComponentStatus,
) {
}
