//! The enumerations shared by every API: component status, incident and maintenance status,
//! impact and the page indicator. Their wire names are Statuspage's.

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal / $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name, as Statuspage spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// The human label shown on pages.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses a wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// A component's status, from best to worst (maintenance last, as it is not a failure).
    ComponentStatus {
        Operational = "operational" / "Operational",
        DegradedPerformance = "degraded_performance" / "Degraded Performance",
        PartialOutage = "partial_outage" / "Partial Outage",
        MajorOutage = "major_outage" / "Major Outage",
        UnderMaintenance = "under_maintenance" / "Under Maintenance",
    }
);

wire_enum!(
    /// The status of a realtime incident.
    IncidentStatus {
        Investigating = "investigating" / "Investigating",
        Identified = "identified" / "Identified",
        Monitoring = "monitoring" / "Monitoring",
        Resolved = "resolved" / "Resolved",
        Postmortem = "postmortem" / "Postmortem",
    }
);

wire_enum!(
    /// The status of a scheduled maintenance.
    MaintenanceStatus {
        Scheduled = "scheduled" / "Scheduled",
        InProgress = "in_progress" / "In progress",
        Verifying = "verifying" / "Verifying",
        Completed = "completed" / "Completed",
    }
);

wire_enum!(
    /// How bad an incident is. Maintenance carries its own impact.
    Impact {
        None = "none" / "None",
        Minor = "minor" / "Minor",
        Major = "major" / "Major",
        Critical = "critical" / "Critical",
        Maintenance = "maintenance" / "Maintenance",
    }
);

wire_enum!(
    /// The page's overall indicator (`status.indicator` in the v2 API).
    Indicator {
        None = "none" / "All Systems Operational",
        Minor = "minor" / "Minor",
        Major = "major" / "Major",
        Critical = "critical" / "Critical",
        Maintenance = "maintenance" / "Maintenance",
    }
);

impl IncidentStatus {
    /// Investigating, identified or monitoring.
    pub fn is_unresolved(self) -> bool {
        matches!(
            self,
            Self::Investigating | Self::Identified | Self::Monitoring
        )
    }
}

impl MaintenanceStatus {
    /// In progress or verifying.
    pub fn is_active(self) -> bool {
        matches!(self, Self::InProgress | Self::Verifying)
    }
}

impl ComponentStatus {
    /// Severity used to pick the worst of several statuses (a group's status).
    /// Maintenance ranks above operational and below any failure.
    pub fn severity(self) -> u8 {
        match self {
            Self::Operational => 0,
            Self::UnderMaintenance => 1,
            Self::DegradedPerformance => 2,
            Self::PartialOutage => 3,
            Self::MajorOutage => 4,
        }
    }

    /// The worst of several statuses; operational when there are none.
    pub fn worst(statuses: impl IntoIterator<Item = ComponentStatus>) -> ComponentStatus {
        statuses
            .into_iter()
            .max_by_key(|s| s.severity())
            .unwrap_or(ComponentStatus::Operational)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for s in ComponentStatus::ALL {
            assert_eq!(ComponentStatus::parse(s.as_str()), Some(*s));
            let json = serde_json::to_string(s).expect("serialise");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(MaintenanceStatus::InProgress.as_str(), "in_progress");
        assert_eq!(ComponentStatus::parse("broken"), None);
    }

    #[test]
    fn worst_status_of_a_group() {
        use ComponentStatus::*;
        assert_eq!(ComponentStatus::worst([]), Operational);
        assert_eq!(
            ComponentStatus::worst([Operational, UnderMaintenance]),
            UnderMaintenance
        );
        assert_eq!(
            ComponentStatus::worst([UnderMaintenance, DegradedPerformance]),
            DegradedPerformance
        );
        assert_eq!(
            ComponentStatus::worst([MajorOutage, PartialOutage]),
            MajorOutage
        );
    }
}
