//! The `herald` binary as a user runs it: import twice, refuse bad files without touching the
//! database, survive SIGKILL in the middle of an import, serve the demo page.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXAMPLE: &str = include_str!("../../../../examples/drchrono-2022-11.toml");

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

/// Starts an import that pauses between objects, kills it with SIGKILL while it runs, and checks
/// that the database holds either nothing or everything; then imports again to completion.
fn kill_import_midway(db: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let total = 200;
    let file = write(dir.path(), "big.toml", &big_file(total));
    let mut child = herald()
        .args([
            "import",
            file.to_str().expect("utf-8"),
            "--database-url",
            db,
        ])
        .env("HERALD_IMPORT_PAUSE_MS", "10")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn import");
    // The import needs about two seconds; kill it well inside.
    std::thread::sleep(Duration::from_millis(900));
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the import ended before it could be killed"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

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
}

#[test]
fn sigkill_during_import_on_sqlite_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    kill_import_midway(&sqlite_url(dir.path()));
}

#[test]
fn sigkill_during_import_on_postgres_leaves_all_or_nothing() {
    let db = herald_store::testing::shared_cluster().create_database();
    ok(&run(&db, &["migrate"]));
    kill_import_midway(&db);
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
