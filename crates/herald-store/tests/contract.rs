//! The store contract: every engine must pass every case. Each case runs once on SQLite and
//! once on PostgreSQL (a throw-away cluster), as `sqlite::<case>` and `postgres::<case>`.

use chrono::{DateTime, Utc};
use herald_core::commands::{
    Command, ComponentInput, GroupInput, IncidentEventKind, IncidentInput, PostmortemInput,
};
use herald_core::datafile::{DataFile, Format};
use herald_core::IncidentStatus;
use herald_core::{ComponentStatus, Id, PageSettings};
use herald_store::{ImportOptions, Store, StoreError, WriteMeta};
use std::sync::Arc;

const EXAMPLE: &str = include_str!("../../../examples/drchrono-2022-11.toml");

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn example() -> DataFile {
    DataFile::parse(EXAMPLE, Format::Toml).expect("example parses")
}

async fn import(
    store: &Arc<dyn Store>,
    file: DataFile,
    now: &str,
) -> Result<herald_store::ImportReport, StoreError> {
    store.import(file, t(now), &ImportOptions::default()).await
}

mod cases {
    use super::*;

    pub async fn empty_store_has_no_page(store: Arc<dyn Store>) {
        assert!(store.load().await.expect("load").is_none());
        store.ping().await.expect("ping");
    }

    pub async fn the_write_probe_overwrites_its_row(store: Arc<dyn Store>) {
        for _ in 0..3 {
            store
                .probe_writes("instance-a", t("2026-01-01T00:00:00Z"))
                .await
                .expect("probe");
        }
        store
            .probe_writes("instance-b", t("2026-01-01T00:00:01Z"))
            .await
            .expect("probe");
        // The probe's rows are not part of the page.
        assert!(store.load().await.expect("load").is_none());
    }

    pub async fn import_stores_the_whole_example(store: Arc<dyn Store>) {
        let report = import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("import");
        assert_eq!(report.unchanged, 0);
        let doc = store.load().await.expect("load").expect("page");
        assert_eq!(doc.page.name, "DrChrono");
        assert_eq!(doc.components.len(), 2);
        assert_eq!(doc.incidents.len(), 2);
        let slow = &doc.incidents[1];
        assert_eq!(
            slow.name,
            "General system slowness on the DrChrono platform"
        );
        assert_eq!(slow.updates.len(), 5);
        assert_eq!(slow.updates[0].status.as_str(), "resolved");
        assert_eq!(slow.updates[4].affected_components.len(), 2);
        let pm = slow.postmortem.as_ref().expect("postmortem");
        assert_eq!(pm.timeline.len(), 28);
        assert!(pm.timeline[0]
            .activity
            .starts_with("An Amazon Web Services system failure"));
        assert_eq!(pm.timeline_zone_label.as_deref(), Some("PST"));
        // What was stored is what the file describes, field for field.
        let expected = example()
            .into_document(None, t("2026-01-01T00:00:00Z"))
            .expect("valid");
        assert_eq!(doc, expected);
    }

    pub async fn importing_twice_changes_nothing(store: Arc<dyn Store>) {
        import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("first import");
        let first = store.load().await.expect("load");
        let history = store
            .status_history(&Id::parse("drchronocom1").expect("id"))
            .await
            .expect("history");
        let report = import(&store, example(), "2026-02-01T00:00:00Z")
            .await
            .expect("second import");
        assert_eq!(report.written, 0, "{report:?}");
        assert_eq!(store.load().await.expect("load"), first);
        let again = store
            .status_history(&Id::parse("drchronocom1").expect("id"))
            .await
            .expect("history");
        assert_eq!(again, history);
    }

    pub async fn an_invalid_file_writes_nothing(store: Arc<dyn Store>) {
        import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("import");
        let before = store.load().await.expect("load");
        // Renames a component (a valid change) but points an incident at a missing component.
        let mut file = example();
        file.components[0].name = "renamed".into();
        file.incidents[1]
            .components
            .push(Id::parse("nosuchthing0").expect("id"));
        let err = import(&store, file, "2026-01-02T00:00:00Z")
            .await
            .expect_err("refused");
        assert!(
            err.to_string().contains("incidents[1].components[1]"),
            "{err}"
        );
        assert_eq!(store.load().await.expect("load"), before);
    }

    pub async fn export_round_trips_into_an_empty_store(store: Arc<dyn Store>) {
        import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("import");
        let doc = store.load().await.expect("load").expect("page");
        let text = DataFile::from_document(&doc).render(Format::Toml);
        // Into the same store: nothing to do.
        let file = DataFile::parse(&text, Format::Toml).expect("export parses");
        assert_eq!(
            import(&store, file, "2026-03-01T00:00:00Z")
                .await
                .expect("import")
                .written,
            0
        );
        assert_eq!(store.load().await.expect("load").expect("page"), doc);
    }

    pub async fn status_changes_are_recorded_with_cause(store: Arc<dyn Store>) {
        import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("import");
        let web = Id::parse("drchronocom1").expect("id");
        let history = store.status_history(&web).await.expect("history");
        let seen: Vec<_> = history
            .iter()
            .map(|c| (c.new_status.as_str(), c.cause.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("operational", "import"),
                ("degraded_performance", "incident:slowness2211"),
                ("operational", "incident:slowness2211"),
            ]
        );
        // A status set by hand goes through a command, like every other page change.
        let set = |id: &Id, status: ComponentStatus| Command::UpdateComponent {
            id: id.clone(),
            input: ComponentInput {
                status: Some(status),
                ..Default::default()
            },
            cause: "manual".into(),
        };
        let meta = |at: &str| WriteMeta {
            actor: "user:ops@acme.test".into(),
            now: t(at),
        };
        let first = store
            .apply(
                set(&web, ComponentStatus::MajorOutage),
                &meta("2026-01-05T10:00:00Z"),
            )
            .await
            .expect("set");
        assert_eq!(first.changes.len(), 1);
        let again = store
            .apply(
                set(&web, ComponentStatus::MajorOutage),
                &meta("2026-01-05T10:01:00Z"),
            )
            .await
            .expect("no-op");
        assert!(again.changes.is_empty(), "{:?}", again.changes);
        let history = store.status_history(&web).await.expect("history");
        assert_eq!(history.len(), 4);
        let last = history.last().expect("change");
        assert_eq!(last.old_status, Some(ComponentStatus::Operational));
        assert_eq!(last.new_status, ComponentStatus::MajorOutage);
        assert_eq!(last.at, t("2026-01-05T10:00:00Z"));
        assert_eq!(last.cause, "manual");
        let doc = store.load().await.expect("load").expect("page");
        let comp = doc.component(&web).expect("component");
        assert_eq!(comp.status, ComponentStatus::MajorOutage);
        assert_eq!(doc.status().indicator.as_str(), "critical");
        let audit = store.audit_log(10).await.expect("audit");
        assert_eq!(audit[0].action, "component.update");
        assert_eq!(audit[0].subject_id.as_deref(), Some(web.as_str()));
        let missing = store
            .apply(
                set(
                    &Id::parse("nosuchthing0").expect("id"),
                    ComponentStatus::Operational,
                ),
                &meta("2026-01-05T10:00:00Z"),
            )
            .await;
        assert!(
            matches!(
                missing,
                Err(StoreError::Command(
                    herald_core::commands::CommandError::NotFound { .. }
                ))
            ),
            "{missing:?}"
        );
    }

    pub async fn page_settings_can_be_replaced(store: Arc<dyn Store>) {
        import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("import");
        let mut page: PageSettings = store.load().await.expect("load").expect("page").page;
        page.name = "DrChrono Status".into();
        page.url = "https://status.example.test".into();
        store
            .save_page_settings(&page, t("2026-01-02T00:00:00Z"))
            .await
            .expect("save");
        assert_eq!(store.load().await.expect("load").expect("page").page, page);
    }
}

mod commands {
    use super::*;

    fn meta(at: &str) -> WriteMeta {
        WriteMeta {
            actor: "user:ops@acme.test".into(),
            now: t(at),
        }
    }

    pub async fn commands_commit_with_history_events_and_audit(store: Arc<dyn Store>) {
        import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("import");
        let applied = store
            .apply(
                Command::CreateComponent(ComponentInput {
                    name: Some("API".into()),
                    ..Default::default()
                }),
                &meta("2026-02-01T10:00:00Z"),
            )
            .await
            .expect("component");
        let api = applied.subject.expect("id");
        let group = store
            .apply(
                Command::CreateGroup(GroupInput {
                    name: Some("Backend".into()),
                    component_ids: Some(vec![api.clone()]),
                    ..Default::default()
                }),
                &meta("2026-02-01T10:01:00Z"),
            )
            .await
            .expect("group")
            .subject
            .expect("id");
        let opened = store
            .apply(
                Command::CreateIncident(IncidentInput {
                    name: Some("API down".into()),
                    body: Some("Investigating.".into()),
                    components: vec![(api.clone(), ComponentStatus::MajorOutage)],
                    ..Default::default()
                }),
                &meta("2026-02-01T10:05:00Z"),
            )
            .await
            .expect("incident");
        let inc = opened.subject.clone().expect("id");
        let doc = store.load().await.expect("load").expect("page");
        assert_eq!(
            doc, opened.doc,
            "what was committed is what the command produced"
        );
        assert_eq!(
            doc.component(&api).map(|c| c.group_id.clone()),
            Some(Some(group))
        );
        assert_eq!(doc.status().indicator.as_str(), "critical");

        for (n, status) in [
            IncidentStatus::Identified,
            IncidentStatus::Monitoring,
            IncidentStatus::Resolved,
        ]
        .into_iter()
        .enumerate()
        {
            let components = if status == IncidentStatus::Resolved {
                vec![(api.clone(), ComponentStatus::Operational)]
            } else {
                vec![]
            };
            store
                .apply(
                    Command::UpdateIncident {
                        id: inc.clone(),
                        input: IncidentInput {
                            status: Some(status),
                            body: Some(format!("{status}")),
                            components,
                            ..Default::default()
                        },
                    },
                    &meta(&format!("2026-02-01T10:1{n}:00Z")),
                )
                .await
                .expect("update");
        }
        store
            .apply(
                Command::SavePostmortem {
                    incident: inc.clone(),
                    input: PostmortemInput {
                        body: Some("Root cause.".into()),
                        ..Default::default()
                    },
                },
                &meta("2026-02-02T10:00:00Z"),
            )
            .await
            .expect("postmortem");
        store
            .apply(
                Command::PublishPostmortem {
                    incident: inc.clone(),
                },
                &meta("2026-02-02T11:00:00Z"),
            )
            .await
            .expect("publish");

        let doc = store.load().await.expect("load").expect("page");
        let incident = doc.incident(&inc).expect("incident");
        assert_eq!(incident.status, IncidentStatus::Postmortem);
        assert_eq!(incident.updates.len(), 4);
        assert!(incident
            .postmortem
            .as_ref()
            .and_then(|p| p.published_at)
            .is_some());
        assert_eq!(doc.status().indicator.as_str(), "none");

        let history = store.status_history(&api).await.expect("history");
        let causes: Vec<_> = history
            .iter()
            .map(|c| (c.new_status.as_str(), c.cause.clone()))
            .collect();
        assert_eq!(
            causes,
            [
                ("operational", "manual".to_string()),
                ("major_outage", format!("incident:{inc}")),
                ("operational", format!("incident:{inc}")),
            ]
        );
        let kinds: Vec<IncidentEventKind> = store
            .incident_events(&inc)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds.first(), Some(&IncidentEventKind::Created));
        assert!(
            kinds.contains(&IncidentEventKind::PostmortemPublished),
            "{kinds:?}"
        );
        let audit = store.audit_log(100).await.expect("audit");
        assert_eq!(audit[0].action, "postmortem.publish");
        assert_eq!(audit[0].actor, "user:ops@acme.test");
        assert_eq!(
            audit[0].before.as_ref().map(|b| b["status"].clone()),
            Some(serde_json::json!("resolved"))
        );
        assert_eq!(
            audit[0].after.as_ref().map(|b| b["status"].clone()),
            Some(serde_json::json!("postmortem"))
        );
        assert_eq!(
            audit
                .iter()
                .filter(|a| a.action == "incident.update")
                .count(),
            3
        );
    }

    pub async fn a_refused_command_writes_nothing(store: Arc<dyn Store>) {
        import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("import");
        let before = store.load().await.expect("load");
        let audit_before = store.audit_log(100).await.expect("audit").len();
        let refused = store
            .apply(
                Command::CreateIncident(IncidentInput {
                    name: Some("x".into()),
                    components: vec![
                        (
                            Id::parse("drchronocom1").expect("id"),
                            ComponentStatus::MajorOutage,
                        ),
                        (
                            Id::parse("nosuchthing0").expect("id"),
                            ComponentStatus::MajorOutage,
                        ),
                    ],
                    ..Default::default()
                }),
                &meta("2026-02-01T10:00:00Z"),
            )
            .await;
        assert!(
            matches!(refused, Err(StoreError::Command(_))),
            "{refused:?}"
        );
        assert_eq!(store.load().await.expect("load"), before);
        assert_eq!(
            store.audit_log(100).await.expect("audit").len(),
            audit_before
        );
    }

    pub async fn deleting_removes_objects_and_their_children(store: Arc<dyn Store>) {
        import(&store, example(), "2026-01-01T00:00:00Z")
            .await
            .expect("import");
        let slow = Id::parse("slowness2211").expect("id");
        store
            .apply(
                Command::DeleteIncident { id: slow.clone() },
                &meta("2026-02-01T10:00:00Z"),
            )
            .await
            .expect("delete");
        let web = Id::parse("drchronocom1").expect("id");
        store
            .apply(
                Command::DeleteComponent { id: web.clone() },
                &meta("2026-02-01T10:01:00Z"),
            )
            .await
            .expect("delete");
        let doc = store.load().await.expect("load").expect("page");
        assert!(doc.incident(&slow).is_none());
        assert!(doc.component(&web).is_none());
        assert_eq!(doc.incidents.len(), 1);
        assert!(doc.incidents[0].component_ids.is_empty());
        // The deletion itself is on record.
        let events = store.incident_events(&slow).await.expect("events");
        assert_eq!(
            events.last().map(|e| e.kind),
            Some(IncidentEventKind::Deleted)
        );
    }
}

mod accounts {
    use super::*;
    use herald_core::access::Role;

    pub async fn users_sessions_and_api_keys(store: Arc<dyn Store>) {
        let meta = WriteMeta {
            actor: "system".into(),
            now: t("2026-01-01T00:00:00Z"),
        };
        assert_eq!(store.count_users().await.expect("count"), 0);
        let uid = store
            .create_user("ops@acme.test", "$argon2id$fake", Role::Owner, &meta)
            .await
            .expect("user");
        let dup = store
            .create_user("ops@acme.test", "$argon2id$other", Role::Viewer, &meta)
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
        let user = store
            .user_by_email("ops@acme.test")
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(
            (user.id.clone(), user.role, user.failed_logins),
            (uid.clone(), Role::Owner, 0)
        );
        assert_eq!(user.locked_until, None);

        store
            .create_session(
                "tokenhash",
                &uid,
                "csrf",
                t("2026-01-01T00:00:00Z"),
                t("2026-01-02T00:00:00Z"),
            )
            .await
            .expect("session");
        let s = store
            .session("tokenhash", t("2026-01-01T12:00:00Z"))
            .await
            .expect("lookup")
            .expect("live");
        assert_eq!(
            (s.user.email.as_str(), s.csrf_token.as_str()),
            ("ops@acme.test", "csrf")
        );
        assert!(store
            .session("tokenhash", t("2026-01-02T00:00:01Z"))
            .await
            .expect("lookup")
            .is_none());
        assert!(store
            .session("other", t("2026-01-01T12:00:00Z"))
            .await
            .expect("lookup")
            .is_none());
        store.delete_session("tokenhash").await.expect("delete");
        assert!(store
            .session("tokenhash", t("2026-01-01T12:00:00Z"))
            .await
            .expect("lookup")
            .is_none());

        let key = store
            .create_api_key("deploy bot", "keyhash", Role::Editor, &meta)
            .await
            .expect("key");
        let found = store
            .api_key_by_hash("keyhash", t("2026-01-03T00:00:00Z"))
            .await
            .expect("lookup")
            .expect("found");
        assert_eq!(
            (found.id.clone(), found.role),
            (key.id.clone(), Role::Editor)
        );
        let listed = store.list_api_keys().await.expect("list");
        assert_eq!(listed[0].last_used_at, Some(t("2026-01-03T00:00:00Z")));
        store.revoke_api_key(&key.id, &meta).await.expect("revoke");
        assert!(store
            .api_key_by_hash("keyhash", t("2026-01-04T00:00:00Z"))
            .await
            .expect("lookup")
            .is_none());
        assert!(matches!(
            store.revoke_api_key(&key.id, &meta).await,
            Err(StoreError::NotFound { .. })
        ));
        let actions: Vec<String> = store
            .audit_log(10)
            .await
            .expect("audit")
            .into_iter()
            .map(|a| a.action)
            .collect();
        assert_eq!(actions, ["api_key.revoke", "api_key.create", "user.create"]);
    }
}

mod audit {
    use super::*;

    pub async fn standalone_audit_entries_are_kept(store: Arc<dyn Store>) {
        let meta = WriteMeta {
            actor: "user:ops@acme.test".into(),
            now: t("2026-01-01T00:00:00Z"),
        };
        let uid = Id::derive("someone");
        let detail = serde_json::json!({"outcome": "signed_in", "address": "203.0.113.7"});
        store
            .append_audit(&meta, "session.sign_in", Some(&uid), detail.clone())
            .await
            .expect("append");
        let later = WriteMeta {
            actor: "user:nobody@acme.test".into(),
            now: t("2026-01-01T00:01:00Z"),
        };
        let refused = serde_json::json!({"outcome": "refused", "address": "2001:db8::/64"});
        store
            .append_audit(&later, "session.sign_in_failed", None, refused.clone())
            .await
            .expect("append");
        let log = store.audit_log(10).await.expect("audit");
        assert_eq!(log.len(), 2);
        assert_eq!(
            (
                log[0].actor.as_str(),
                log[0].action.as_str(),
                &log[0].subject_id
            ),
            ("user:nobody@acme.test", "session.sign_in_failed", &None)
        );
        assert_eq!(log[0].after.as_ref(), Some(&refused));
        assert_eq!(log[0].at, later.now);
        assert_eq!(log[1].subject_id.as_deref(), Some(uid.as_str()));
        assert_eq!(log[1].after.as_ref(), Some(&detail));
        assert_eq!(log[1].before, None);
    }
}

mod audience {
    use super::*;
    use herald_core::audience::*;

    pub async fn subscribers_and_templates(store: Arc<dyn Store>) {
        let meta = WriteMeta {
            actor: "system".into(),
            now: t("2026-01-01T00:00:00Z"),
        };
        let web = Id::parse("drchronocom1").expect("id");
        let mut email = new_subscriber(
            NewSubscriber {
                email: Some("Ops@Acme.test".into()),
                component_ids: vec![web.clone()],
                ..Default::default()
            },
            Id::derive("sub-email"),
            meta.now,
            |_| true,
        )
        .expect("valid");
        store
            .create_subscriber(&email, &meta)
            .await
            .expect("create");
        email.id = Id::derive("sub-email-2");
        let dup = store.create_subscriber(&email, &meta).await;
        assert!(matches!(dup, Err(StoreError::Conflict { .. })), "{dup:?}");
        let hook = new_subscriber(
            NewSubscriber {
                endpoint: Some("https://hooks.acme.test/status".into()),
                email: Some("ops@acme.test".into()),
                ..Default::default()
            },
            Id::derive("sub-hook"),
            meta.now,
            |_| true,
        )
        .expect("valid");
        store.create_subscriber(&hook, &meta).await.expect("create");

        let unconfirmed = store
            .list_subscribers(Some(SubscriberState::Unconfirmed), None)
            .await
            .expect("list");
        assert_eq!(unconfirmed.len(), 1);
        assert_eq!(unconfirmed[0].email.as_deref(), Some("ops@acme.test"));
        assert_eq!(unconfirmed[0].component_ids, vec![web.clone()]);
        let hooks = store
            .list_subscribers(None, Some(SubscriberMode::Webhook))
            .await
            .expect("list");
        assert_eq!(hooks.len(), 1);

        let sid = Id::derive("sub-email");
        let confirmed = store
            .set_subscriber_state(&sid, SubscriberState::Active, &meta)
            .await
            .expect("confirm");
        assert_eq!(confirmed.state, SubscriberState::Active);
        let moved = store
            .set_subscriber_components(&sid, &[], &meta)
            .await
            .expect("components");
        assert!(moved.component_ids.is_empty());
        store
            .set_subscriber_state(&sid, SubscriberState::Unsubscribed, &meta)
            .await
            .expect("unsubscribe");
        // Once unsubscribed, the same address may subscribe again.
        email.id = Id::derive("sub-email-3");
        store
            .create_subscriber(&email, &meta)
            .await
            .expect("subscribe again");
        assert!(matches!(
            store
                .set_subscriber_state(&Id::derive("nobody"), SubscriberState::Active, &meta)
                .await,
            Err(StoreError::NotFound { .. })
        ));

        let template = IncidentTemplate {
            id: Id::derive("tpl"),
            name: "Database slow".into(),
            title: "Degraded performance".into(),
            body: "We are investigating slow responses.".into(),
            update_status: Some(IncidentStatus::Investigating),
            component_ids: vec![web],
            should_send_notifications: true,
            created_at: meta.now,
            updated_at: meta.now,
        };
        store
            .create_template(&template, &meta)
            .await
            .expect("template");
        assert_eq!(
            store.list_templates().await.expect("list"),
            vec![template.clone()]
        );
        store
            .delete_template(&template.id, &meta)
            .await
            .expect("delete");
        assert!(store.list_templates().await.expect("list").is_empty());
    }
}

use herald_store::testing::contract;

use accounts::*;
use audience::*;
use audit::*;
use cases::*;
use commands::*;

contract!(
    the_write_probe_overwrites_its_row,
    subscribers_and_templates,
    users_sessions_and_api_keys,
    standalone_audit_entries_are_kept,
    commands_commit_with_history_events_and_audit,
    a_refused_command_writes_nothing,
    deleting_removes_objects_and_their_children,
    empty_store_has_no_page,
    import_stores_the_whole_example,
    importing_twice_changes_nothing,
    an_invalid_file_writes_nothing,
    export_round_trips_into_an_empty_store,
    status_changes_are_recorded_with_cause,
    page_settings_can_be_replaced,
);
