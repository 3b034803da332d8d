//! `herald backup` and `herald restore` on both engines: a database holding the example page,
//! monitors, subscribers and an API key is backed up while readable, restored into an empty
//! database, and the two export the same page and hold the same subscribers. A restore into a
//! database that already holds a page, a backup over an existing file and a damaged backup are
//! refused with a message naming the file, and leave the target as it was.

use herald_core::audience::{Subscriber, SubscriberMode, SubscriberState};
use herald_core::datafile::{DataFile, Format};
use herald_store::{ImportOptions, WriteMeta};
use std::path::Path;
use std::process::{Command, Output};

fn herald(db: &str, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herald"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HERALD_") {
            c.env_remove(k);
        }
    }
    c.env("HERALD_LOG", "warn")
        .args(args)
        .args(["--database-url", db])
        .output()
        .expect("herald runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "herald failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output, says: &str) {
    assert!(!out.status.success(), "expected a refusal");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(says), "the message says `{says}`: {err}");
}

/// Fills the database at `url` with the example page, a monitor, subscribers and an API key.
async fn fill(url: &str) {
    let store = herald_store::open(url).await.expect("open");
    store.migrate().await.expect("migrate");
    let file = DataFile::parse(herald::app::DEMO_FILE, Format::Toml).expect("example");
    let now = chrono::Utc::now();
    store
        .import(file, now, &ImportOptions::default())
        .await
        .expect("import");
    let meta = WriteMeta {
        actor: "test".into(),
        now,
    };
    for i in 0..25 {
        let s = Subscriber {
            id: herald_store::random_id(),
            mode: SubscriberMode::Email,
            email: Some(format!("reader{i}@example.com")),
            endpoint: None,
            component_ids: Vec::new(),
            incident_id: None,
            state: SubscriberState::Active,
            created_at: now,
            updated_at: now,
        };
        store
            .create_subscriber(&s, &meta)
            .await
            .expect("subscriber");
    }
    store
        .create_api_key(
            "backup",
            &herald::auth::secret_hash("backup-key-0123456789"),
            herald_core::access::Role::Owner,
            &meta,
        )
        .await
        .expect("key");
}

async fn subscribers(url: &str) -> Vec<String> {
    let store = herald_store::open(url).await.expect("open");
    let mut v: Vec<String> = store
        .list_subscribers(None, None)
        .await
        .expect("subscribers")
        .into_iter()
        .map(|s| format!("{} {:?}", s.id, s.email))
        .collect();
    v.sort();
    v
}

async fn round_trip(source: &str, target: &str, other: &str, dir: &Path) {
    fill(source).await;
    let file = dir.join("herald.backup");
    let file_arg = file.to_str().expect("utf-8");
    let said = ok(&herald(source, &["backup", file_arg]));
    assert!(said.contains("backed up"), "{said}");
    refused(&herald(source, &["backup", file_arg]), "already exists");

    let said = ok(&herald(target, &["restore", file_arg]));
    assert!(said.contains("restored"), "{said}");
    let before = ok(&herald(source, &["export"]));
    let after = ok(&herald(target, &["export"]));
    assert!(before.contains("drchrono"), "the export holds the page");
    assert_eq!(before, after, "the restored database exports the same page");
    assert_eq!(subscribers(source).await, subscribers(target).await);
    assert_eq!(subscribers(target).await.len(), 25);

    // A second restore into the now filled database is refused and changes nothing.
    refused(
        &herald(target, &["restore", file_arg]),
        "already holds a page",
    );
    assert_eq!(ok(&herald(target, &["export"])), after);

    // A damaged backup is refused, naming the file, and the target stays empty.
    let damaged = dir.join("damaged.backup");
    let mut bytes = std::fs::read(&file).expect("backup");
    let cut = bytes.len() / 2;
    bytes.truncate(cut);
    bytes.extend_from_slice(b"\n{not json\n");
    std::fs::write(&damaged, bytes).expect("write");
    refused(
        &herald(other, &["restore", damaged.to_str().expect("utf-8")]),
        "damaged.backup",
    );
    let store = herald_store::open(other).await.expect("open");
    assert!(
        store.load().await.expect("load").is_none(),
        "nothing half-restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_restores_into_an_empty_database() {
    let dir = tempfile::tempdir().expect("dir");
    let url = |n: &str| format!("sqlite://{}", dir.path().join(n).display());
    round_trip(&url("a.db"), &url("b.db"), &url("c.db"), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_restores_into_an_empty_database() {
    let dir = tempfile::tempdir().expect("dir");
    let cluster = herald_store::testing::shared_cluster();
    let (a, b, c) = (
        cluster.create_database(),
        cluster.create_database(),
        cluster.create_database(),
    );
    round_trip(&a, &b, &c, dir.path()).await;
}
