//! The store contract: every engine must pass every case. Each case runs once on SQLite and
//! once on PostgreSQL (a throw-away cluster), as `sqlite::<case>` and `postgres::<case>`.

use chrono::{DateTime, Utc};
use herald_core::datafile::{DataFile, Format};
use herald_core::{ComponentStatus, Id, PageSettings};
use herald_store::{ImportOptions, Store, StoreError};
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
        store
            .set_component_status(
                &web,
                ComponentStatus::MajorOutage,
                t("2026-01-05T10:00:00Z"),
                "manual",
            )
            .await
            .expect("set");
        store
            .set_component_status(
                &web,
                ComponentStatus::MajorOutage,
                t("2026-01-05T10:01:00Z"),
                "manual",
            )
            .await
            .expect("no-op");
        let history = store.status_history(&web).await.expect("history");
        assert_eq!(history.len(), 4);
        let last = history.last().expect("change");
        assert_eq!(last.old_status, Some(ComponentStatus::Operational));
        assert_eq!(last.new_status, ComponentStatus::MajorOutage);
        assert_eq!(last.at, t("2026-01-05T10:00:00Z"));
        let doc = store.load().await.expect("load").expect("page");
        let comp = doc.component(&web).expect("component");
        assert_eq!(comp.status, ComponentStatus::MajorOutage);
        assert_eq!(doc.status().indicator.as_str(), "critical");
        let missing = store
            .set_component_status(
                &Id::parse("nosuchthing0").expect("id"),
                ComponentStatus::Operational,
                t("2026-01-05T10:00:00Z"),
                "manual",
            )
            .await;
        assert!(
            matches!(missing, Err(StoreError::NotFound { .. })),
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

macro_rules! contract {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = herald_store::testing::sqlite_store().await;
                    assert_eq!(store.engine(), "sqlite");
                    super::cases::$case(store).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = herald_store::testing::postgres_store().await;
                    assert_eq!(store.engine(), "postgres");
                    super::cases::$case(store).await;
                }
            )+
        }
    };
}

contract!(
    empty_store_has_no_page,
    import_stores_the_whole_example,
    importing_twice_changes_nothing,
    an_invalid_file_writes_nothing,
    export_round_trips_into_an_empty_store,
    status_changes_are_recorded_with_cause,
    page_settings_can_be_replaced,
);
