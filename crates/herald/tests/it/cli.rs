//! The `herald` binary as a user runs it: import twice, refuse bad files without touching the
//! database, survive SIGKILL in the middle of an import, serve the demo page.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::EXAMPLE;

fn herald() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herald"));
    // Keep the user's environment from leaking into the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("HERALD_") {
            c.env_remove(k);
        }
    }
    c.env("HERALD_LOG", "warn");
    c
}

fn run(db: &str, args: &[&str]) -> Output {
    herald()
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

fn export(db: &str) -> String {
    ok(&run(db, &["export", "--format", "json"]))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("herald.db").display())
}

#[test]
fn importing_the_example_twice_leaves_identical_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite_url(dir.path());
    let file = write(dir.path(), "example.toml", EXAMPLE);
    let first = ok(&run(&db, &["import", file.to_str().expect("utf-8")]));
    assert!(first.contains("written"), "{first}");
    let after_first = export(&db);
    let second = ok(&run(&db, &["import", file.to_str().expect("utf-8")]));
    assert!(second.contains(": 0 written"), "{second}");
    assert_eq!(export(&db), after_first);
    // The export is itself a data file that imports without changes.
    let exported = write(dir.path(), "exported.json", &after_first);
    let third = ok(&run(&db, &["import", exported.to_str().expect("utf-8")]));
    assert!(third.contains(": 0 written"), "{third}");
}

/// Each bad variant of the example must be refused with the file and the place named, and
/// leave the database exactly as it was.
#[test]
fn bad_files_are_refused_with_their_place_and_change_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite_url(dir.path());
    let good = write(dir.path(), "good.toml", EXAMPLE);
    ok(&run(&db, &["import", good.to_str().expect("utf-8")]));
    let before = export(&db);
    let line_of = |needle: &str| {
        EXAMPLE
            .lines()
            .position(|l| l.contains(needle))
            .expect("needle in example")
            + 1
    };
    let cases = [
        (
            "wrong status",
            EXAMPLE.replace("status = \"monitoring\"", "status = \"monitored\""),
            format!("line {}", line_of("status = \"monitoring\"")),
        ),
        (
            "missing field",
            EXAMPLE.replace(
                "name = \"Task and message counts are temporarily unavailable\"\n",
                "",
            ),
            "missing field `name`".to_string(),
        ),
        (
            "bad time",
            EXAMPLE.replace("2022-11-03T14:00:00-07:00", "2022-11-03 2pm"),
            format!("line {}", line_of("2022-11-03T14:00:00-07:00")),
        ),
        (
            "unknown component",
            EXAMPLE.replace(
                "components = [\"drchronocom1\"]",
                "components = [\"nosuchthing0\"]",
            ),
            "incidents[1].components[0]".to_string(),
        ),
    ];
    for (what, text, place) in cases {
        // Every case also renames the page, so a partial write would show.
        let text = text.replace("name = \"DrChrono\"", "name = \"Changed\"");
        let file = write(dir.path(), "bad.toml", &text);
        let out = run(&db, &["import", file.to_str().expect("utf-8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: accepted");
        assert!(err.contains("bad.toml"), "{what}: file not named in {err}");
        assert!(err.contains(&place), "{what}: `{place}` not in {err}");
        assert_eq!(export(&db), before, "{what}: the database changed");
    }
}

/// Writes a data file with many incidents, so that an import takes a while.
fn big_file(incidents: usize) -> String {
    let mut text = EXAMPLE.to_string();
    for n in 0..incidents {
        text.push_str(&format!(
            "\n[[incidents]]\nid = \"bulk{n:08}\"\nname = \"Bulk incident {n}\"\nstatus = \"resolved\"\n\
             impact = \"minor\"\ncreated_at = \"2023-01-01T00:00:00Z\"\n\n[[incidents.updates]]\n\
             id = \"bulkupd{n:05}\"\nstatus = \"resolved\"\nbody = \"Done.\"\n\
             display_at = \"2023-01-01T01:00:00Z\"\n"
        ));
    }
    text
}

/// Polls `cond` until it holds; fails when `child` exits first or after 20 s.
fn until(child: &mut Child, what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(
            child.try_wait().expect("poll").is_none(),
            "the import ended before {what}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never saw {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills `child`, which must still be running, with SIGKILL.
fn kill(child: &mut Child) {
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the import ended before it could be killed"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

/// Starts an import of `total` incidents, lets `stop` kill it in the middle, and checks that the
/// database holds either nothing or everything; then imports again to completion. Returns which.
fn kill_import_midway(db: &str, total: usize, stop: impl FnOnce(&mut Child)) -> &'static str {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "big.toml", &big_file(total));
    let mut child = herald()
        .args([
            "import",
            file.to_str().expect("utf-8"),
            "--database-url",
            db,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn import");
    stop(&mut child);

    let out = run(db, &["export", "--format", "json"]);
    let state = if out.status.success() {
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("export is JSON");
        let n = doc["incidents"].as_array().map(|a| a.len()).unwrap_or(0);
        assert_eq!(n, total + 2, "a partial import is visible: {n} incidents");
        "everything"
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no page"), "unexpected failure: {err}");
        "nothing"
    };
    println!("after SIGKILL midway the database holds {state}");

    let out = ok(&run(db, &["import", file.to_str().expect("utf-8")]));
    assert!(out.contains("written"), "{out}");
    let doc: serde_json::Value = serde_json::from_str(&export(db)).expect("export is JSON");
    assert_eq!(
        doc["incidents"].as_array().map(|a| a.len()),
        Some(total + 2)
    );
    state
}

#[test]
fn sigkill_during_import_on_sqlite_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite_url(dir.path());
    ok(&run(&db, &["migrate"]));
    let wal = dir.path().join("herald.db-wal");
    let logged = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let before = logged();
    // SQLite moves a transaction's pages to the write-ahead log once they outgrow its cache,
    // long before the commit: a log grown by a MiB is an import well under way.
    kill_import_midway(&db, 20_000, |child| {
        until(child, "the import's pages in the write-ahead log", || {
            logged() > before + (1 << 20)
        });
        kill(child);
    });
}

#[test]
fn sigkill_during_import_on_postgres_leaves_all_or_nothing() {
    use sqlx::Connection;
    let db = herald_store::testing::shared_cluster().create_database();
    ok(&run(&db, &["migrate"]));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut conn = rt
        .block_on(sqlx::PgConnection::connect(&db))
        .expect("connect");
    // An import writes the status history last: with the test holding that table, the import
    // writes everything else in its transaction and then waits, where it is killed.
    let mut held = rt.block_on(conn.begin()).expect("begin");
    rt.block_on(
        sqlx::query("LOCK TABLE component_status_changes IN SHARE MODE").execute(&mut *held),
    )
    .expect("lock");
    let state = kill_import_midway(&db, 200, |child| {
        until(child, "the import waiting for the history", || {
            let waiting: i64 = rt
                .block_on(
                    sqlx::query_scalar(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                         WHERE c.relname = 'component_status_changes' AND NOT l.granted",
                    )
                    .fetch_one(&mut *held),
                )
                .expect("locks");
            waiting > 0
        });
        kill(child);
        rt.block_on(held.rollback()).expect("release");
    });
    assert_eq!(state, "nothing", "killed inside its transaction");
}

#[test]
fn config_errors_name_file_line_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(
        dir.path(),
        "herald.toml",
        "listen = \"127.0.0.1:9000\"\n[page]\ntime_zone = \"Mars/Base\"\n",
    );
    let out = herald()
        .args(["--config", config.to_str().expect("utf-8"), "check-config"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("herald.toml") && err.contains("line 3") && err.contains("time_zone"),
        "{err}"
    );

    let out = herald()
        .arg("check-config")
        .env("HERALD_LISTEN", "everywhere")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("HERALD_LISTEN"), "{err}");
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

#[test]
fn serve_demo_shows_the_example_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = herald_store::testing::free_port();
    let mut child = herald()
        .current_dir(dir.path())
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        if let Some((200, body)) = get(port, "/api/herald/v1/page") {
            break body;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(get(port, "/healthz").map(|r| r.0), Some(200));
    let _ = child.kill();
    let _ = child.wait();
    // The default data folder is created under the working directory.
    assert!(dir.path().join("herald-data/herald.db").exists());
    let doc: serde_json::Value = serde_json::from_str(&page).expect("JSON");
    assert_eq!(doc["page"]["name"], "DrChrono");
    assert_eq!(doc["components"].as_array().map(|a| a.len()), Some(2));
    let incidents = doc["incidents"].as_array().expect("incidents");
    assert_eq!(incidents.len(), 2);
    let slow = incidents
        .iter()
        .find(|i| i["name"] == "General system slowness on the DrChrono platform")
        .expect("the main incident");
    assert_eq!(slow["updates"].as_array().map(|a| a.len()), Some(5));
    assert_eq!(
        slow["postmortem"]["timeline"].as_array().map(|a| a.len()),
        Some(28)
    );
    assert_eq!(doc["status"]["indicator"], "none");
}

/// Starts `herald serve --demo` on a free port in `dir`; returns the child and its base URL.
fn serve_demo(dir: &Path) -> (std::process::Child, String) {
    let port = herald_store::testing::free_port();
    let child = herald()
        .current_dir(dir)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/healthz").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

#[test]
fn runbook_commands_drive_a_running_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut server, url) = serve_demo(dir.path());
    let db = format!(
        "sqlite://{}",
        dir.path().join("herald-data/herald.db").display()
    );
    // A key made on the local database, no server involved, printed once.
    let key = ok(&run(
        &db,
        &["api-key", "create", "--name", "runbook", "--role", "editor"],
    ));
    let key = key.trim().to_string();
    assert_eq!(key.len(), 40, "{key}");
    let viewer = ok(&run(
        &db,
        &["api-key", "create", "--name", "watcher", "--role", "viewer"],
    ));

    let remote = |key: &str, args: &[&str]| {
        herald()
            .args(args)
            .args(["--server", &url])
            .env("HERALD_API_KEY", key)
            .output()
            .expect("runs")
    };
    let out = remote(
        &key,
        &[
            "incident",
            "open",
            "--name",
            "Exports failing",
            "--message",
            "Looking into it.",
            "--component",
            "drchronocom1=partial_outage",
        ],
    );
    let opened = ok(&out);
    let id = opened.split_whitespace().nth(1).expect("id").to_string();
    assert!(
        opened.contains("investigating") && opened.contains("Exports failing"),
        "{opened}"
    );
    let page = get(
        url.rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port"),
        "/api/v2/summary.json",
    )
    .expect("summary")
    .1;
    assert!(
        page.contains("Exports failing") && page.contains("partial_outage"),
        "{page}"
    );

    let out = remote(
        &key,
        &[
            "incident",
            "update",
            &id,
            "--status",
            "identified",
            "--message",
            "Found it.",
        ],
    );
    assert!(ok(&out).contains("identified"));
    let out = remote(
        &key,
        &[
            "component",
            "set-status",
            "drchronoipad",
            "degraded_performance",
        ],
    );
    assert!(ok(&out).contains("degraded_performance"));
    let out = remote(
        &key,
        &[
            "incident",
            "resolve",
            &id,
            "--message",
            "Fixed.",
            "--component",
            "drchronocom1=operational",
        ],
    );
    assert!(ok(&out).contains("resolved"));
    let out = remote(
        &key,
        &[
            "maintenance",
            "schedule",
            "--name",
            "Upgrade",
            "--start",
            "2030-01-01T02:00:00Z",
            "--end",
            "2030-01-01T03:00:00Z",
            "--component",
            "drchronocom1",
        ],
    );
    assert!(ok(&out).starts_with("scheduled"));
    let listed = ok(&remote(&key, &["incident", "list"]));
    assert!(
        listed.contains(&id) && listed.contains("Exports failing"),
        "{listed}"
    );

    // Exit codes: 1 refused input, 3 not allowed, 4 unreachable.
    let refused = remote(&key, &["incident", "update", &id, "--status", "exploded"]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("status"));
    let forbidden = remote(viewer.trim(), &["incident", "open", "--name", "x"]);
    assert_eq!(forbidden.status.code(), Some(3));
    let wrong = remote("0000", &["incident", "list"]);
    assert_eq!(
        wrong.status.code(),
        Some(0),
        "reading the page needs no key"
    );
    let wrong = remote("0000", &["incident", "open", "--name", "x"]);
    assert_eq!(wrong.status.code(), Some(3));
    let _ = server.kill();
    let _ = server.wait();
    let gone = remote(&key, &["incident", "list"]);
    assert_eq!(gone.status.code(), Some(4));
}
