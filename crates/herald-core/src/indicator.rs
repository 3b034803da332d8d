//! The page's overall status (`status.indicator` and `status.description`), derived the way
//! Statuspage derives it: the worst of what the components say, what unresolved incidents say and
//! whether maintenance is under way, in the order none < maintenance < minor < major < critical.

use crate::status::{ComponentStatus, Impact, Indicator};
use serde::Serialize;

/// Indicator plus the sentence shown with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PageStatus {
    pub indicator: Indicator,
    pub description: &'static str,
}

fn rank(i: Indicator) -> u8 {
    match i {
        Indicator::None => 0,
        Indicator::Maintenance => 1,
        Indicator::Minor => 2,
        Indicator::Major => 3,
        Indicator::Critical => 4,
    }
}

fn from_component(s: ComponentStatus) -> Indicator {
    match s {
        ComponentStatus::Operational => Indicator::None,
        ComponentStatus::DegradedPerformance => Indicator::Minor,
        ComponentStatus::PartialOutage => Indicator::Major,
        ComponentStatus::MajorOutage => Indicator::Critical,
        ComponentStatus::UnderMaintenance => Indicator::Maintenance,
    }
}

fn from_impact(i: Impact) -> Indicator {
    match i {
        Impact::None => Indicator::None,
        Impact::Minor => Indicator::Minor,
        Impact::Major => Indicator::Major,
        Impact::Critical => Indicator::Critical,
        Impact::Maintenance => Indicator::Maintenance,
    }
}

fn worst(levels: impl IntoIterator<Item = Indicator>) -> Indicator {
    levels
        .into_iter()
        .max_by_key(|l| rank(*l))
        .unwrap_or(Indicator::None)
}

/// Derives the page status from component statuses, the impacts of unresolved incidents, and
/// whether any maintenance is in progress. When components and incidents reach the same level the
/// component wording wins, as on Statuspage pages.
pub fn page_status(
    components: impl IntoIterator<Item = ComponentStatus>,
    unresolved_impacts: impl IntoIterator<Item = Impact>,
    maintenance_active: bool,
) -> PageStatus {
    let by_components = worst(components.into_iter().map(from_component));
    let by_incidents = worst(unresolved_impacts.into_iter().map(from_impact));
    let by_maintenance = if maintenance_active {
        Indicator::Maintenance
    } else {
        Indicator::None
    };
    let indicator = worst([by_components, by_incidents, by_maintenance]);
    let description = match indicator {
        Indicator::None => "All Systems Operational",
        level if by_components == level => match level {
            Indicator::Minor => "Partially Degraded Service",
            Indicator::Major => "Partial System Outage",
            Indicator::Critical => "Major System Outage",
            _ => "Service Under Maintenance",
        },
        level if by_incidents == level => match level {
            Indicator::Minor => "Minor Service Outage",
            Indicator::Major => "Major Service Outage",
            Indicator::Critical => "Major System Outage",
            _ => "Service Under Maintenance",
        },
        _ => "Service Under Maintenance",
    };
    PageStatus {
        indicator,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    /// (worst component status, worst unresolved impact, maintenance active, indicator,
    /// description). `None` in the first two columns: no components / no unresolved incidents.
    type Row = (
        Option<ComponentStatus>,
        Option<Impact>,
        bool,
        &'static str,
        &'static str,
    );

    #[rustfmt::skip]
    const TABLE: &[Row] = &[
        (None, None, false, "none", "All Systems Operational"),
        (None, None, true, "maintenance", "Service Under Maintenance"),
        (None, Some(Impact::None), false, "none", "All Systems Operational"),
        (None, Some(Impact::None), true, "maintenance", "Service Under Maintenance"),
        (None, Some(Impact::Minor), false, "minor", "Minor Service Outage"),
        (None, Some(Impact::Minor), true, "minor", "Minor Service Outage"),
        (None, Some(Impact::Major), false, "major", "Major Service Outage"),
        (None, Some(Impact::Major), true, "major", "Major Service Outage"),
        (None, Some(Impact::Critical), false, "critical", "Major System Outage"),
        (None, Some(Impact::Critical), true, "critical", "Major System Outage"),
        (Some(Operational), None, false, "none", "All Systems Operational"),
        (Some(Operational), None, true, "maintenance", "Service Under Maintenance"),
        (Some(Operational), Some(Impact::None), false, "none", "All Systems Operational"),
        (Some(Operational), Some(Impact::None), true, "maintenance", "Service Under Maintenance"),
        (Some(Operational), Some(Impact::Minor), false, "minor", "Minor Service Outage"),
        (Some(Operational), Some(Impact::Minor), true, "minor", "Minor Service Outage"),
        (Some(Operational), Some(Impact::Major), false, "major", "Major Service Outage"),
        (Some(Operational), Some(Impact::Major), true, "major", "Major Service Outage"),
        (Some(Operational), Some(Impact::Critical), false, "critical", "Major System Outage"),
        (Some(Operational), Some(Impact::Critical), true, "critical", "Major System Outage"),
        (Some(DegradedPerformance), None, false, "minor", "Partially Degraded Service"),
        (Some(DegradedPerformance), None, true, "minor", "Partially Degraded Service"),
        (Some(DegradedPerformance), Some(Impact::None), false, "minor", "Partially Degraded Service"),
        (Some(DegradedPerformance), Some(Impact::None), true, "minor", "Partially Degraded Service"),
        (Some(DegradedPerformance), Some(Impact::Minor), false, "minor", "Partially Degraded Service"),
        (Some(DegradedPerformance), Some(Impact::Minor), true, "minor", "Partially Degraded Service"),
        (Some(DegradedPerformance), Some(Impact::Major), false, "major", "Major Service Outage"),
        (Some(DegradedPerformance), Some(Impact::Major), true, "major", "Major Service Outage"),
        (Some(DegradedPerformance), Some(Impact::Critical), false, "critical", "Major System Outage"),
        (Some(DegradedPerformance), Some(Impact::Critical), true, "critical", "Major System Outage"),
        (Some(PartialOutage), None, false, "major", "Partial System Outage"),
        (Some(PartialOutage), None, true, "major", "Partial System Outage"),
        (Some(PartialOutage), Some(Impact::None), false, "major", "Partial System Outage"),
        (Some(PartialOutage), Some(Impact::None), true, "major", "Partial System Outage"),
        (Some(PartialOutage), Some(Impact::Minor), false, "major", "Partial System Outage"),
        (Some(PartialOutage), Some(Impact::Minor), true, "major", "Partial System Outage"),
        (Some(PartialOutage), Some(Impact::Major), false, "major", "Partial System Outage"),
        (Some(PartialOutage), Some(Impact::Major), true, "major", "Partial System Outage"),
        (Some(PartialOutage), Some(Impact::Critical), false, "critical", "Major System Outage"),
        (Some(PartialOutage), Some(Impact::Critical), true, "critical", "Major System Outage"),
        (Some(MajorOutage), None, false, "critical", "Major System Outage"),
        (Some(MajorOutage), None, true, "critical", "Major System Outage"),
        (Some(MajorOutage), Some(Impact::None), false, "critical", "Major System Outage"),
        (Some(MajorOutage), Some(Impact::None), true, "critical", "Major System Outage"),
        (Some(MajorOutage), Some(Impact::Minor), false, "critical", "Major System Outage"),
        (Some(MajorOutage), Some(Impact::Minor), true, "critical", "Major System Outage"),
        (Some(MajorOutage), Some(Impact::Major), false, "critical", "Major System Outage"),
        (Some(MajorOutage), Some(Impact::Major), true, "critical", "Major System Outage"),
        (Some(MajorOutage), Some(Impact::Critical), false, "critical", "Major System Outage"),
        (Some(MajorOutage), Some(Impact::Critical), true, "critical", "Major System Outage"),
        (Some(UnderMaintenance), None, false, "maintenance", "Service Under Maintenance"),
        (Some(UnderMaintenance), None, true, "maintenance", "Service Under Maintenance"),
        (Some(UnderMaintenance), Some(Impact::None), false, "maintenance", "Service Under Maintenance"),
        (Some(UnderMaintenance), Some(Impact::None), true, "maintenance", "Service Under Maintenance"),
        (Some(UnderMaintenance), Some(Impact::Minor), false, "minor", "Minor Service Outage"),
        (Some(UnderMaintenance), Some(Impact::Minor), true, "minor", "Minor Service Outage"),
        (Some(UnderMaintenance), Some(Impact::Major), false, "major", "Major Service Outage"),
        (Some(UnderMaintenance), Some(Impact::Major), true, "major", "Major Service Outage"),
        (Some(UnderMaintenance), Some(Impact::Critical), false, "critical", "Major System Outage"),
        (Some(UnderMaintenance), Some(Impact::Critical), true, "critical", "Major System Outage"),
    ];

    /// Literal ranking used by the test to reduce many inputs to the table's key.
    fn component_rank(s: ComponentStatus) -> u8 {
        [
            Operational,
            UnderMaintenance,
            DegradedPerformance,
            PartialOutage,
            MajorOutage,
        ]
        .iter()
        .position(|x| *x == s)
        .expect("listed") as u8
    }

    fn expected(
        comps: &[ComponentStatus],
        impacts: &[Impact],
        maint: bool,
    ) -> (&'static str, &'static str) {
        let worst_c = comps.iter().copied().max_by_key(|s| component_rank(*s));
        let worst_i = impacts.iter().copied().max_by_key(|i| *i as u8);
        let row = TABLE
            .iter()
            .find(|r| r.0 == worst_c && r.1 == worst_i && r.2 == maint)
            .expect("table covers every key");
        (row.3, row.4)
    }

    #[test]
    fn table_has_one_row_per_key() {
        assert_eq!(TABLE.len(), 6 * 5 * 2);
    }

    #[test]
    fn every_combination_matches_the_table() {
        // Every multiset of up to three component statuses, of up to two unresolved impacts,
        // with and without active maintenance.
        let statuses = ComponentStatus::ALL;
        let impacts = [Impact::None, Impact::Minor, Impact::Major, Impact::Critical];
        let mut comp_sets: Vec<Vec<ComponentStatus>> = vec![vec![]];
        for a in 0..statuses.len() {
            comp_sets.push(vec![statuses[a]]);
            for b in a..statuses.len() {
                comp_sets.push(vec![statuses[a], statuses[b]]);
                for c in b..statuses.len() {
                    comp_sets.push(vec![statuses[a], statuses[b], statuses[c]]);
                }
            }
        }
        let mut impact_sets: Vec<Vec<Impact>> = vec![vec![]];
        for a in 0..impacts.len() {
            impact_sets.push(vec![impacts[a]]);
            for b in a..impacts.len() {
                impact_sets.push(vec![impacts[a], impacts[b]]);
            }
        }
        let mut checked = 0;
        for comps in &comp_sets {
            for imps in &impact_sets {
                for maint in [false, true] {
                    let got = page_status(comps.iter().copied(), imps.iter().copied(), maint);
                    let (indicator, description) = expected(comps, imps, maint);
                    assert_eq!(
                        (got.indicator.as_str(), got.description),
                        (indicator, description),
                        "components {comps:?}, impacts {imps:?}, maintenance {maint}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, comp_sets.len() * impact_sets.len() * 2);
    }

    #[test]
    fn descriptions_are_never_empty() {
        for row in TABLE {
            assert!(!row.4.is_empty());
        }
    }
}
