use super::*;
use crate::datafile::{DataFile, Format};

const EXAMPLE: &str = include_str!("../../../../examples/drchrono-2022-11.toml");

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

struct Page {
    doc: PageDocument,
    next: u64,
    now: DateTime<Utc>,
}

impl Page {
    fn empty() -> Page {
        let doc = PageDocument::empty(PageSettings {
            id: Id::derive("page"),
            name: "Acme".into(),
            url: "https://status.acme.test".into(),
            time_zone: "Etc/UTC".into(),
        });
        Page {
            doc,
            next: 1,
            now: t("2026-03-01T10:00:00Z"),
        }
    }

    fn example() -> Page {
        let doc = DataFile::parse(EXAMPLE, Format::Toml)
            .expect("parses")
            .into_document(None, t("2026-01-01T00:00:00Z"))
            .expect("valid");
        Page {
            doc,
            next: 1,
            now: t("2026-03-01T10:00:00Z"),
        }
    }

    fn run(&mut self, command: Command) -> Result<Outcome, CommandError> {
        let next = &mut self.next;
        let mut new_id = || {
            *next += 1;
            Id::from_bits(*next)
        };
        let mut ctx = Context {
            now: self.now,
            new_id: &mut new_id,
        };
        let out = apply(&self.doc, command, &mut ctx)?;
        self.doc = out.doc.clone();
        Ok(out)
    }

    fn ok(&mut self, command: Command) -> Outcome {
        self.run(command).expect("accepted")
    }

    fn later(&mut self, minutes: i64) {
        self.now += chrono::Duration::minutes(minutes);
    }
}

fn component(name: &str) -> Command {
    Command::CreateComponent(ComponentInput {
        name: Some(name.into()),
        ..Default::default()
    })
}

#[test]
fn a_whole_incident_lifecycle() {
    let mut p = Page::empty();
    let api = p.ok(component("API")).subject.expect("id");
    let web = p.ok(component("Web")).subject.expect("id");
    let group = p
        .ok(Command::CreateGroup(GroupInput {
            name: Some("Platform".into()),
            component_ids: Some(vec![api.clone(), web.clone()]),
            ..Default::default()
        }))
        .subject
        .expect("id");
    assert!(p
        .doc
        .components
        .iter()
        .all(|c| c.group_id.as_ref() == Some(&group)));

    let opened = p.ok(Command::CreateIncident(IncidentInput {
        name: Some("API errors".into()),
        body: Some("We are investigating.".into()),
        components: vec![(api.clone(), ComponentStatus::MajorOutage)],
        ..Default::default()
    }));
    let inc = opened.subject.expect("id");
    assert_eq!(opened.changes.len(), 1);
    assert_eq!(opened.changes[0].cause, format!("incident:{inc}"));
    assert_eq!(p.doc.status().indicator.as_str(), "critical");
    let incident = p.doc.incident(&inc).expect("stored");
    assert_eq!(incident.impact, Impact::Critical);
    assert_eq!(incident.component_ids, vec![api.clone()]);
    assert_eq!(
        incident.updates[0].affected_components[0].old_status,
        ComponentStatus::Operational
    );

    for (status, comp) in [
        (IncidentStatus::Identified, None),
        (
            IncidentStatus::Monitoring,
            Some(ComponentStatus::Operational),
        ),
        (IncidentStatus::Resolved, None),
    ] {
        p.later(10);
        p.ok(Command::UpdateIncident {
            id: inc.clone(),
            input: IncidentInput {
                status: Some(status),
                body: Some(format!("Now {status}.")),
                components: comp.map(|s| vec![(api.clone(), s)]).unwrap_or_default(),
                ..Default::default()
            },
        });
    }
    let incident = p.doc.incident(&inc).expect("stored");
    let statuses: Vec<_> = incident.updates.iter().map(|u| u.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["resolved", "monitoring", "identified", "investigating"]
    );
    assert_eq!(incident.monitoring_at, Some(t("2026-03-01T10:20:00Z")));
    assert_eq!(incident.resolved_at, Some(t("2026-03-01T10:30:00Z")));
    assert_eq!(p.doc.status().indicator.as_str(), "none");

    // A postmortem can be drafted, then published, then reverted.
    p.ok(Command::SavePostmortem {
        incident: inc.clone(),
        input: PostmortemInput {
            body: Some("What happened.".into()),
            timeline: Some(vec![TimelineRow {
                at: t("2026-03-01T09:55:00Z"),
                activity: "Deploy".into(),
            }]),
            ..Default::default()
        },
    });
    assert!(p
        .doc
        .incident(&inc)
        .and_then(|i| i.postmortem.as_ref())
        .is_some_and(|pm| pm.published_at.is_none()));
    let published = p.ok(Command::PublishPostmortem {
        incident: inc.clone(),
    });
    assert_eq!(
        published.events[0].kind,
        IncidentEventKind::PostmortemPublished
    );
    assert_eq!(
        p.doc.incident(&inc).map(|i| i.status),
        Some(IncidentStatus::Postmortem)
    );
    p.ok(Command::RevertPostmortem {
        incident: inc.clone(),
    });
    assert_eq!(
        p.doc.incident(&inc).map(|i| i.status),
        Some(IncidentStatus::Resolved)
    );
}

#[test]
fn only_a_name_change_posts_no_update() {
    let mut p = Page::example();
    let id = Id::parse("countsoff221").expect("id");
    let before = p.doc.incident(&id).map(|i| i.updates.len());
    let out = p.ok(Command::UpdateIncident {
        id: id.clone(),
        input: IncidentInput {
            name: Some("Counts hidden".into()),
            ..Default::default()
        },
    });
    assert_eq!(p.doc.incident(&id).map(|i| i.updates.len()), before);
    assert_eq!(out.events[0].kind, IncidentEventKind::Renamed);
}

#[test]
fn bad_input_is_refused_with_its_field() {
    let mut p = Page::example();
    let cases: Vec<(Command, &str)> = vec![
        (component(""), "name"),
        (component(&"x".repeat(256)), "name"),
        (
            Command::CreateIncident(IncidentInput {
                name: Some("x".into()),
                components: vec![(Id::derive("elsewhere"), ComponentStatus::MajorOutage)],
                ..Default::default()
            }),
            "components.",
        ),
        (
            Command::CreateIncident(IncidentInput {
                name: Some("x".into()),
                component_ids: Some(vec![Id::derive("elsewhere")]),
                ..Default::default()
            }),
            "component_ids[0]",
        ),
        (
            Command::CreateIncident(IncidentInput {
                name: Some("x".into()),
                body: Some("y".repeat(MAX_BODY + 1)),
                ..Default::default()
            }),
            "body",
        ),
        (
            Command::UpdateIncident {
                id: Id::parse("slowness2211").expect("id"),
                input: IncidentInput {
                    status: Some(IncidentStatus::Investigating),
                    ..Default::default()
                },
            },
            "status",
        ),
        (
            Command::CreateMaintenance(MaintenanceInput {
                name: Some("m".into()),
                scheduled_for: Some(t("2026-03-02T10:00:00Z")),
                scheduled_until: Some(t("2026-03-02T09:00:00Z")),
                ..Default::default()
            }),
            "scheduled_until",
        ),
        (
            Command::SetPage {
                name: None,
                url: None,
                time_zone: Some("Mars/Base".into()),
            },
            "time_zone",
        ),
    ];
    for (command, field) in cases {
        let before = p.doc.clone();
        match p.run(command) {
            Err(CommandError::Invalid { field: f, .. }) => {
                assert!(f.starts_with(field), "{f} vs {field}")
            }
            other => panic!("expected an invalid-field error for {field}, got {other:?}"),
        }
        assert_eq!(p.doc, before);
    }
    let missing = p.run(Command::DeleteIncident {
        id: Id::derive("none"),
    });
    assert!(matches!(missing, Err(CommandError::NotFound { .. })));
}

#[test]
fn maintenance_moves_through_its_window_by_itself() {
    let mut p = Page::empty();
    let db = p.ok(component("Database")).subject.expect("id");
    let m = p
        .ok(Command::CreateMaintenance(MaintenanceInput {
            name: Some("Upgrade".into()),
            body: Some("We will upgrade the database.".into()),
            scheduled_for: Some(t("2026-03-01T11:00:00Z")),
            scheduled_until: Some(t("2026-03-01T12:00:00Z")),
            component_ids: Some(vec![db.clone()]),
            ..Default::default()
        }))
        .subject
        .expect("id");
    let status = |p: &Page| {
        p.doc
            .maintenances
            .iter()
            .find(|x| x.id == m)
            .map(|x| x.status)
    };
    p.ok(Command::AdvanceMaintenances);
    assert_eq!(status(&p), Some(MaintenanceStatus::Scheduled));
    p.later(60);
    let started = p.ok(Command::AdvanceMaintenances);
    assert_eq!(status(&p), Some(MaintenanceStatus::InProgress));
    assert_eq!(
        p.doc.component(&db).map(|c| c.status),
        Some(ComponentStatus::UnderMaintenance)
    );
    assert_eq!(started.changes[0].cause, format!("maintenance:{m}"));
    assert_eq!(p.doc.status().indicator.as_str(), "maintenance");
    p.later(61);
    p.ok(Command::AdvanceMaintenances);
    assert_eq!(status(&p), Some(MaintenanceStatus::Completed));
    assert_eq!(
        p.doc.component(&db).map(|c| c.status),
        Some(ComponentStatus::Operational)
    );
    let updates = p
        .doc
        .maintenances
        .iter()
        .find(|x| x.id == m)
        .map(|x| x.updates.len());
    assert_eq!(updates, Some(3));
}

#[test]
fn deleting_a_group_ungroups_its_components() {
    let mut p = Page::empty();
    let a = p.ok(component("A")).subject.expect("id");
    let g = p
        .ok(Command::CreateGroup(GroupInput {
            name: Some("G".into()),
            component_ids: Some(vec![a.clone()]),
            ..Default::default()
        }))
        .subject
        .expect("id");
    p.ok(Command::DeleteGroup { id: g });
    assert_eq!(p.doc.component(&a).and_then(|c| c.group_id.clone()), None);
}

#[test]
fn backfilled_incidents_take_their_own_time_and_change_no_component() {
    let mut p = Page::example();
    let out = p.ok(Command::CreateIncident(IncidentInput {
        name: Some("Outage on Jan 3".into()),
        body: Some("Past outage, 20 min.".into()),
        backfilled: true,
        backfill_date: Some(t("2026-01-03T00:00:00Z")),
        impact: Some(Impact::Major),
        ..Default::default()
    }));
    let inc = p.doc.incident(&out.subject.expect("id")).expect("stored");
    assert_eq!(inc.created_at, t("2026-01-03T00:00:00Z"));
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert!(!inc.updates[0].deliver_notifications);
    assert!(out.changes.is_empty());
    let refused = p.run(Command::CreateIncident(IncidentInput {
        name: Some("x".into()),
        backfilled: true,
        components: vec![(
            Id::parse("drchronocom1").expect("id"),
            ComponentStatus::MajorOutage,
        )],
        ..Default::default()
    }));
    assert!(matches!(refused, Err(CommandError::Invalid { .. })));
}

#[test]
fn deleting_an_update_rolls_the_status_back() {
    let mut p = Page::example();
    let id = Id::parse("slowness2211").expect("id");
    p.ok(Command::RevertPostmortem {
        incident: id.clone(),
    });
    let resolved = Id::parse("slowupd00005").expect("id");
    let out = p.ok(Command::DeleteUpdate {
        incident: id.clone(),
        update: resolved,
    });
    assert_eq!(out.events[0].kind, IncidentEventKind::UpdateDeleted);
    let inc = p.doc.incident(&id).expect("incident");
    assert_eq!(inc.updates.len(), 4);
    assert_eq!(inc.status, IncidentStatus::Monitoring);
    assert_eq!(inc.resolved_at, None);
    let counts = Id::parse("countsoff221").expect("id");
    p.ok(Command::DeleteUpdate {
        incident: counts.clone(),
        update: Id::parse("cntupd000002").expect("id"),
    });
    let last = p.run(Command::DeleteUpdate {
        incident: counts,
        update: Id::parse("cntupd000001").expect("id"),
    });
    assert!(
        matches!(last, Err(CommandError::Invalid { .. })),
        "{last:?}"
    );
}

#[test]
fn control_characters_are_refused_in_names_and_bodies() {
    let mut p = Page::empty();
    let incident = |name: &str, body: &str| {
        Command::CreateIncident(IncidentInput {
            name: Some(name.into()),
            body: Some(body.into()),
            ..Default::default()
        })
    };
    let cases: Vec<(Command, &str)> = vec![
        (component("API\u{1b}[2J"), "name"),
        (component("API\0"), "name"),
        (component("two\nlines"), "name"),
        (incident("DB down", "nul \0 here"), "body"),
        (incident("DB down", "bell \u{7}"), "body"),
        (incident("DB down", "lone \r return"), "body"),
        (incident("DB\r\ndown", "fine"), "name"),
        (
            Command::SetPage {
                name: None,
                url: Some("https://x.test/\u{85}".into()),
                time_zone: None,
            },
            "url",
        ),
    ];
    for (command, field) in cases {
        match p.run(command) {
            Err(CommandError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected {field} refused, got {other:?}"),
        }
    }
    // Newlines, tabs and a textarea's CRLF are fine in a body.
    p.ok(incident("DB down", "first line\r\nsecond\n\tthird"));
}

#[test]
fn event_kinds_keep_their_stored_names() {
    for k in IncidentEventKind::ALL {
        assert_eq!(IncidentEventKind::parse(k.as_str()), Some(*k));
        let json = serde_json::to_string(k).expect("json");
        assert_eq!(json, format!("\"{}\"", k.as_str()));
    }
    assert_eq!(IncidentEventKind::parse("nonsense"), None);
}
