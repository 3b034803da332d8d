//! A component's status over time, from its recorded changes.

use crate::model::StatusChange;
use crate::status::ComponentStatus;
use chrono::{DateTime, Utc};

/// The change to record when a component goes from `current` to `new`; `None` when nothing
/// changes. `current` is `None` for a component that did not exist yet.
pub fn change(
    component_id: &crate::Id,
    current: Option<ComponentStatus>,
    new: ComponentStatus,
    at: DateTime<Utc>,
    cause: &str,
) -> Option<StatusChange> {
    (current != Some(new)).then(|| StatusChange {
        component_id: component_id.clone(),
        at,
        old_status: current,
        new_status: new,
        cause: cause.to_string(),
    })
}

/// The status in force at `t`, given changes sorted by time; `None` before the first change.
pub fn status_at(changes: &[StatusChange], t: DateTime<Utc>) -> Option<ComponentStatus> {
    changes
        .iter()
        .take_while(|c| c.at <= t)
        .last()
        .map(|c| c.new_status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Id;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2022, 11, 3, h, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn records_only_real_changes_and_replays_them() {
        use ComponentStatus::*;
        let id = Id::derive("c");
        assert!(change(&id, Some(Operational), Operational, at(1), "manual").is_none());
        let first = change(&id, None, Operational, at(1), "import").expect("new component");
        let down =
            change(&id, Some(Operational), MajorOutage, at(5), "incident:x").expect("change");
        let up = change(&id, Some(MajorOutage), Operational, at(9), "manual").expect("change");
        assert_eq!(down.old_status, Some(Operational));
        let history = [first, down, up];
        assert_eq!(status_at(&history, at(0)), None);
        assert_eq!(status_at(&history, at(4)), Some(Operational));
        assert_eq!(status_at(&history, at(5)), Some(MajorOutage));
        assert_eq!(status_at(&history, at(12)), Some(Operational));
    }
}
