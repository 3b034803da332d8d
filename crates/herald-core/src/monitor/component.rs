//! How the public statuses of a component's monitors become the component's status.

use super::MonitorStatus;
use crate::status::ComponentStatus;
use serde::{Deserialize, Serialize};

/// How a component combines its monitors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentRule {
    /// Any monitor down is a major outage: every monitor checks something the component needs.
    #[default]
    Any,
    /// All monitors down is a major outage, some is a partial one: the monitors are redundant
    /// paths (regions, replicas) to the same thing.
    All,
}

/// The component status the monitors call for; `None` while none has an opinion (all unknown,
/// or none at all). Unknown monitors are ignored.
pub fn component_status(
    rule: ComponentRule,
    statuses: impl IntoIterator<Item = MonitorStatus>,
) -> Option<ComponentStatus> {
    let (mut known, mut down, mut degraded) = (0usize, 0usize, 0usize);
    for status in statuses {
        match status {
            MonitorStatus::Unknown => continue,
            MonitorStatus::Down => down += 1,
            MonitorStatus::Degraded => degraded += 1,
            MonitorStatus::Up => {}
        }
        known += 1;
    }
    if known == 0 {
        return None;
    }
    let status = match rule {
        ComponentRule::Any if down > 0 => ComponentStatus::MajorOutage,
        ComponentRule::All if down == known => ComponentStatus::MajorOutage,
        ComponentRule::All if down > 0 => ComponentStatus::PartialOutage,
        _ if degraded > 0 => ComponentStatus::DegradedPerformance,
        _ => ComponentStatus::Operational,
    };
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;
    use MonitorStatus::{Degraded, Down, Unknown, Up};

    #[test]
    fn rules_over_combinations() {
        let table: &[(
            &[MonitorStatus],
            Option<ComponentStatus>,
            Option<ComponentStatus>,
        )] = &[
            // statuses, Any, All
            (&[], None, None),
            (&[Unknown], None, None),
            (&[Unknown, Unknown], None, None),
            (&[Up], Some(Operational), Some(Operational)),
            (&[Up, Unknown], Some(Operational), Some(Operational)),
            (
                &[Degraded],
                Some(DegradedPerformance),
                Some(DegradedPerformance),
            ),
            (
                &[Up, Degraded],
                Some(DegradedPerformance),
                Some(DegradedPerformance),
            ),
            (&[Down], Some(MajorOutage), Some(MajorOutage)),
            (&[Down, Unknown], Some(MajorOutage), Some(MajorOutage)),
            (&[Up, Down], Some(MajorOutage), Some(PartialOutage)),
            (&[Degraded, Down], Some(MajorOutage), Some(PartialOutage)),
            (
                &[Up, Degraded, Down],
                Some(MajorOutage),
                Some(PartialOutage),
            ),
            (&[Down, Down], Some(MajorOutage), Some(MajorOutage)),
            (&[Down, Down, Unknown], Some(MajorOutage), Some(MajorOutage)),
            (&[Up, Up, Up], Some(Operational), Some(Operational)),
        ];
        for (statuses, any, all) in table {
            let got_any = component_status(ComponentRule::Any, statuses.iter().copied());
            let got_all = component_status(ComponentRule::All, statuses.iter().copied());
            assert_eq!(got_any, *any, "any {statuses:?}");
            assert_eq!(got_all, *all, "all {statuses:?}");
        }
    }

    #[test]
    fn rule_wire_names() {
        let rule: ComponentRule = serde_json::from_str("\"all\"").expect("parse");
        assert_eq!(rule, ComponentRule::All);
        assert_eq!(ComponentRule::default(), ComponentRule::Any);
    }
}
