//! Which status changes an incident or a maintenance may make.
//!
//! A realtime incident moves freely among investigating, identified and monitoring (teams often
//! step back), may be resolved from any of them and reopened after; a postmortem can only follow
//! a resolution and can be reverted to resolved. Maintenance only moves forward.

use crate::status::{IncidentStatus, MaintenanceStatus};

/// A refused status change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot move from `{from}` to `{to}`")]
pub struct TransitionError {
    pub from: &'static str,
    pub to: &'static str,
}

/// Checks that an incident may go from `from` to `to` (staying put is an ordinary update).
pub fn incident_transition(
    from: IncidentStatus,
    to: IncidentStatus,
) -> Result<(), TransitionError> {
    use IncidentStatus::*;
    let allowed = match (from, to) {
        (_, Postmortem) => matches!(from, Resolved | Postmortem),
        (Postmortem, other) => other == Resolved,
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(TransitionError {
            from: from.as_str(),
            to: to.as_str(),
        })
    }
}

fn maintenance_rank(s: MaintenanceStatus) -> u8 {
    match s {
        MaintenanceStatus::Scheduled => 0,
        MaintenanceStatus::InProgress => 1,
        MaintenanceStatus::Verifying => 2,
        MaintenanceStatus::Completed => 3,
    }
}

/// Checks that a maintenance may go from `from` to `to`: forward, or staying put.
pub fn maintenance_transition(
    from: MaintenanceStatus,
    to: MaintenanceStatus,
) -> Result<(), TransitionError> {
    if maintenance_rank(to) >= maintenance_rank(from) {
        Ok(())
    } else {
        Err(TransitionError {
            from: from.as_str(),
            to: to.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    #[test]
    fn incident_transitions() {
        #[rustfmt::skip]
        let table = [
            // from → investigating, identified, monitoring, resolved, postmortem
            (Investigating, [true, true, true, true, false]),
            (Identified,    [true, true, true, true, false]),
            (Monitoring,    [true, true, true, true, false]),
            (Resolved,      [true, true, true, true, true]),
            (Postmortem,    [false, false, false, true, true]),
        ];
        for (from, row) in table {
            for (to, ok) in IncidentStatus::ALL.iter().zip(row) {
                assert_eq!(incident_transition(from, *to).is_ok(), ok, "{from} → {to}");
            }
        }
    }

    #[test]
    fn maintenance_moves_forward_only() {
        use MaintenanceStatus::*;
        assert!(maintenance_transition(Scheduled, InProgress).is_ok());
        assert!(maintenance_transition(Scheduled, Completed).is_ok());
        assert!(maintenance_transition(Verifying, Verifying).is_ok());
        assert!(maintenance_transition(Completed, InProgress).is_err());
        assert!(maintenance_transition(InProgress, Scheduled).is_err());
    }
}
