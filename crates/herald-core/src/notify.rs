//! What subscribers are told, decided without I/O: which changes of a committed command deserve
//! a notification ([`plan`]), and which subscribers a notification is for ([`wants`]). The store
//! writes the planned notices to its outbox in the same transaction as the change; delivery
//! reads them back later, so nothing here may depend on the page as it is at delivery time.

use crate::audience::{Subscriber, SubscriberMode, SubscriberState};
use crate::status::{IncidentStatus, MaintenanceStatus};
use crate::{Component, Id, Incident, Maintenance, PageDocument, StatusChange};
use serde::{Deserialize, Serialize};

/// Why a notification is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    IncidentCreated,
    IncidentUpdated,
    IncidentResolved,
    PostmortemPublished,
    MaintenanceScheduled,
    MaintenanceUpdated,
    MaintenanceStarted,
    MaintenanceCompleted,
    MaintenanceReminder,
    /// A component's status moved (webhook subscribers only).
    ComponentChanged,
    /// The double opt-in mail to one new email subscriber.
    Confirm,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::IncidentCreated => "incident_created",
            NoticeKind::IncidentUpdated => "incident_updated",
            NoticeKind::IncidentResolved => "incident_resolved",
            NoticeKind::PostmortemPublished => "postmortem_published",
            NoticeKind::MaintenanceScheduled => "maintenance_scheduled",
            NoticeKind::MaintenanceUpdated => "maintenance_updated",
            NoticeKind::MaintenanceStarted => "maintenance_started",
            NoticeKind::MaintenanceCompleted => "maintenance_completed",
            NoticeKind::MaintenanceReminder => "maintenance_reminder",
            NoticeKind::ComponentChanged => "component_changed",
            NoticeKind::Confirm => "confirm",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            NoticeKind::IncidentCreated,
            NoticeKind::IncidentUpdated,
            NoticeKind::IncidentResolved,
            NoticeKind::PostmortemPublished,
            NoticeKind::MaintenanceScheduled,
            NoticeKind::MaintenanceUpdated,
            NoticeKind::MaintenanceStarted,
            NoticeKind::MaintenanceCompleted,
            NoticeKind::MaintenanceReminder,
            NoticeKind::ComponentChanged,
            NoticeKind::Confirm,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the notice is about a scheduled maintenance.
    pub fn is_maintenance(self) -> bool {
        matches!(
            self,
            NoticeKind::MaintenanceScheduled
                | NoticeKind::MaintenanceUpdated
                | NoticeKind::MaintenanceStarted
                | NoticeKind::MaintenanceCompleted
                | NoticeKind::MaintenanceReminder
        )
    }
}

/// What the notice is about, as it was when the change was committed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticeSubject {
    Incident(Box<Incident>),
    Maintenance(Box<Maintenance>),
    Component {
        component: Box<Component>,
        change: StatusChange,
    },
    /// Nothing on the page: the notice is about the subscription itself.
    Subscription,
}

/// One notification waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The incident, maintenance or component it is about (also the email thread).
    pub subject_id: Id,
    /// Components the notice touches; empty for the whole page.
    pub component_ids: Vec<Id>,
    pub subject: NoticeSubject,
    /// Set when the notice is for one subscriber only (confirmation).
    pub subscriber_id: Option<Id>,
}

/// The notices a committed change calls for. `old` is the page before, `new` after; `touched`
/// are the incident and maintenance ids the command produced events for, and `changes` the
/// component status changes it recorded.
pub fn plan(
    old: &PageDocument,
    new: &PageDocument,
    touched: &[Id],
    changes: &[StatusChange],
) -> Vec<Notice> {
    let mut out = Vec::new();
    let mut seen: Vec<&Id> = Vec::new();
    for id in touched {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        if let Some(inc) = new.incidents.iter().find(|i| &i.id == id) {
            let before = old.incidents.iter().find(|i| &i.id == id);
            out.extend(incident_notices(before, inc));
        } else if let Some(m) = new.maintenances.iter().find(|m| &m.id == id) {
            let before = old.maintenances.iter().find(|m| &m.id == id);
            out.extend(maintenance_notice(before, m));
        }
    }
    for ch in changes {
        if ch.old_status == Some(ch.new_status) || ch.old_status.is_none() {
            continue;
        }
        if let Some(c) = new.components.iter().find(|c| c.id == ch.component_id) {
            out.push(Notice {
                kind: NoticeKind::ComponentChanged,
                subject_id: c.id.clone(),
                component_ids: vec![c.id.clone()],
                subject: NoticeSubject::Component {
                    component: Box::new(c.clone()),
                    change: ch.clone(),
                },
                subscriber_id: None,
            });
        }
    }
    out
}

fn incident_notices(before: Option<&Incident>, inc: &Incident) -> Vec<Notice> {
    if inc.backfilled {
        return Vec::new();
    }
    let notice = |kind| Notice {
        kind,
        subject_id: inc.id.clone(),
        component_ids: inc.component_ids.clone(),
        subject: NoticeSubject::Incident(Box::new(inc.clone())),
        subscriber_id: None,
    };
    let mut out = Vec::new();
    let newest = inc.updates.first();
    let posted = newest.filter(|u| {
        before.is_none_or(|b| b.updates.iter().all(|old| old.id != u.id)) && u.deliver_notifications
    });
    if let Some(u) = posted {
        let kind = if before.is_none() {
            NoticeKind::IncidentCreated
        } else if u.status == IncidentStatus::Resolved
            && before.is_some_and(|b| b.status != IncidentStatus::Resolved)
        {
            NoticeKind::IncidentResolved
        } else {
            NoticeKind::IncidentUpdated
        };
        out.push(notice(kind));
    }
    let published = |i: Option<&Incident>| {
        i.and_then(|i| i.postmortem.as_ref())
            .and_then(|p| p.published_at)
    };
    if published(Some(inc)).is_some() && published(before).is_none() {
        out.push(notice(NoticeKind::PostmortemPublished));
    }
    out
}

fn maintenance_notice(before: Option<&Maintenance>, m: &Maintenance) -> Option<Notice> {
    let u = m.updates.first()?;
    let new_update = before.is_none_or(|b| b.updates.iter().all(|old| old.id != u.id));
    if !new_update || !u.deliver_notifications {
        return None;
    }
    let moved = before.is_some_and(|b| b.status != m.status);
    let kind = match (before, m.status) {
        (None, _) => NoticeKind::MaintenanceScheduled,
        (Some(_), MaintenanceStatus::InProgress) if moved => NoticeKind::MaintenanceStarted,
        (Some(_), MaintenanceStatus::Completed) if moved => NoticeKind::MaintenanceCompleted,
        _ => NoticeKind::MaintenanceUpdated,
    };
    Some(maintenance_notice_of(kind, m))
}

/// A notice about a maintenance as it stands (also used for reminders).
pub fn maintenance_notice_of(kind: NoticeKind, m: &Maintenance) -> Notice {
    Notice {
        kind,
        subject_id: m.id.clone(),
        component_ids: m.component_ids.clone(),
        subject: NoticeSubject::Maintenance(Box::new(m.clone())),
        subscriber_id: None,
    }
}

/// The confirmation notice for one new email subscriber.
pub fn confirmation(subscriber: &Subscriber) -> Notice {
    Notice {
        kind: NoticeKind::Confirm,
        subject_id: subscriber.id.clone(),
        component_ids: Vec::new(),
        subject: NoticeSubject::Subscription,
        subscriber_id: Some(subscriber.id.clone()),
    }
}

/// Whether `sub` should get `notice`: confirmed and active, of a mode that takes this kind, and
/// following the incident or one of the components it touches (or the whole page).
pub fn wants(sub: &Subscriber, notice: &Notice) -> bool {
    if let Some(only) = &notice.subscriber_id {
        return only == &sub.id && sub.state != SubscriberState::Unsubscribed;
    }
    if sub.state != SubscriberState::Active || notice.kind == NoticeKind::Confirm {
        return false;
    }
    if notice.kind == NoticeKind::ComponentChanged && sub.mode != SubscriberMode::Webhook {
        return false;
    }
    if let Some(incident) = &sub.incident_id {
        return incident == &notice.subject_id;
    }
    sub.component_ids.is_empty()
        || notice
            .component_ids
            .iter()
            .any(|c| sub.component_ids.contains(c))
}

/// The subject line of an email, as Statuspage words them.
pub fn email_subject(page_name: &str, kind: NoticeKind, subject: &NoticeSubject) -> String {
    let name = match subject {
        NoticeSubject::Incident(i) => i.name.as_str(),
        NoticeSubject::Maintenance(m) => m.name.as_str(),
        NoticeSubject::Component { component, .. } => component.name.as_str(),
        NoticeSubject::Subscription => "",
    };
    let prefix = match kind {
        NoticeKind::IncidentCreated => "[New incident]",
        NoticeKind::IncidentUpdated | NoticeKind::IncidentResolved => "[Incident update]",
        NoticeKind::PostmortemPublished => "[Postmortem]",
        NoticeKind::MaintenanceScheduled => "[Scheduled maintenance]",
        NoticeKind::MaintenanceReminder => "[Maintenance reminder]",
        NoticeKind::MaintenanceUpdated
        | NoticeKind::MaintenanceStarted
        | NoticeKind::MaintenanceCompleted => "[Maintenance update]",
        NoticeKind::ComponentChanged => "[Component update]",
        NoticeKind::Confirm => return format!("[{page_name}] Confirm your subscription"),
    };
    format!("[{page_name} status] {prefix} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datafile::{DataFile, Format};
    use crate::ComponentStatus;

    const EXAMPLE: &str = include_str!("../../../examples/drchrono-2022-11.toml");

    fn doc() -> PageDocument {
        let now = "2026-03-01T12:00:00Z".parse().expect("time");
        DataFile::parse(EXAMPLE, Format::Toml)
            .expect("parse")
            .into_document(None, now)
            .expect("doc")
    }

    fn sub(components: Vec<Id>) -> Subscriber {
        let now = "2026-03-01T12:00:00Z".parse().expect("time");
        Subscriber {
            id: Id::derive("s"),
            mode: SubscriberMode::Email,
            email: Some("a@b.test".into()),
            endpoint: None,
            component_ids: components,
            incident_id: None,
            state: SubscriberState::Active,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_new_incident_and_its_updates_are_planned() {
        let old = doc();
        let mut new = old.clone();
        let mut inc = new.incidents[0].clone();
        inc.id = Id::derive("fresh");
        inc.backfilled = false;
        inc.postmortem = None;
        new.incidents.push(inc.clone());
        let n = plan(&old, &new, std::slice::from_ref(&inc.id), &[]);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].kind, NoticeKind::IncidentCreated);

        // The same update again is not news; a new resolved one is.
        assert!(plan(&new, &new, std::slice::from_ref(&inc.id), &[]).is_empty());
        let mut later = new.clone();
        let last = later.incidents.len() - 1;
        let mut u = later.incidents[last].updates[0].clone();
        u.id = Id::derive("u2");
        u.status = IncidentStatus::Resolved;
        later.incidents[last].updates.insert(0, u.clone());
        later.incidents[last].status = IncidentStatus::Resolved;
        new.incidents[last].status = IncidentStatus::Identified;
        let n = plan(&new, &later, std::slice::from_ref(&inc.id), &[]);
        assert_eq!(n[0].kind, NoticeKind::IncidentResolved);

        // An update posted quietly is not sent.
        later.incidents[last].updates[0].deliver_notifications = false;
        assert!(plan(&new, &later, &[inc.id], &[]).is_empty());
    }

    #[test]
    fn component_changes_go_to_webhooks_only() {
        let d = doc();
        let c = &d.components[0];
        let change = StatusChange {
            component_id: c.id.clone(),
            at: "2026-03-01T12:00:00Z".parse().expect("time"),
            old_status: Some(ComponentStatus::Operational),
            new_status: ComponentStatus::MajorOutage,
            cause: "manual".into(),
        };
        let n = plan(&d, &d, &[], std::slice::from_ref(&change));
        assert_eq!(n.len(), 1);
        let mut s = sub(vec![]);
        assert!(!wants(&s, &n[0]));
        s.mode = SubscriberMode::Webhook;
        assert!(wants(&s, &n[0]));
    }

    #[test]
    fn subscribers_get_only_what_they_follow() {
        let d = doc();
        let a = d.components[0].id.clone();
        let b = d.components[1].id.clone();
        let notice = Notice {
            kind: NoticeKind::IncidentCreated,
            subject_id: Id::derive("i"),
            component_ids: vec![a.clone()],
            subject: NoticeSubject::Subscription,
            subscriber_id: None,
        };
        assert!(wants(&sub(vec![]), &notice));
        assert!(wants(&sub(vec![a]), &notice));
        assert!(!wants(&sub(vec![b]), &notice));
        let mut unconfirmed = sub(vec![]);
        unconfirmed.state = SubscriberState::Unconfirmed;
        assert!(!wants(&unconfirmed, &notice));
        assert!(wants(&unconfirmed, &confirmation(&unconfirmed)));
        let mut gone = sub(vec![]);
        gone.state = SubscriberState::Unsubscribed;
        assert!(!wants(&gone, &notice));
        assert!(!wants(&gone, &confirmation(&gone)));
    }
}
