//! The static mirror: `herald mirror --out DIR` served by a plain static file server (Python's
//! `http.server`) answers every public path with the live server's exact bytes, its pages' links
//! all resolve, its v2 JSON reads like the live API; a server with `mirror.dir` rewrites the
//! mirror after a change; and a server started while its PostgreSQL is down serves the mirror.

use herald_store::testing::free_port;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

use common::process::{prepare, wait_for, Process};

const BIN: &str = env!("CARGO_BIN_EXE_herald");

fn serve(data: &Path, port: u16, env: &[(&str, &str)]) -> Process {
    common::process::serve(Path::new(BIN), data, port, env)
}

/// A SQLite database in `dir` with the example page (its address on `port`); returns the key.
async fn prepare_sqlite(dir: &Path, port: u16) -> String {
    let url = format!("sqlite://{}", dir.join("herald.db").display());
    prepare(&url, Some(port)).await.1
}

/// Python's plain static file server on `dir`.
fn static_server(dir: &Path, port: u16) -> Process {
    Process(
        Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server"),
    )
}

async fn fetch(url: &str) -> (u16, String, Vec<u8>) {
    let r = reqwest::get(url).await.expect("get");
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ctype, r.bytes().await.expect("body").to_vec())
}

/// Every path the mirror lists.
fn mirrored_paths(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("mirror.json")).expect("manifest");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    manifest["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["path"].as_str().expect("path").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_on_a_static_server_answers_like_the_live_one() {
    let data = tempfile::tempdir().expect("dir");
    let out = tempfile::tempdir().expect("dir");
    let port = free_port();
    prepare_sqlite(data.path(), port).await;
    let _live = serve(data.path(), port, &[]);
    let live = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{live}/readyz")).await;

    let done = Command::new(BIN)
        .arg("--data-dir")
        .arg(data.path())
        .args(["mirror", "--out"])
        .arg(out.path())
        .output()
        .expect("herald mirror");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("files written"));

    let static_port = free_port();
    let _files = static_server(out.path(), static_port);
    let mirror = format!("http://127.0.0.1:{static_port}");
    wait_for(&format!("{mirror}/api/v2/status.json")).await;

    // Byte for byte what the live server sends, for every path.
    let paths = mirrored_paths(out.path());
    for want in [
        "/",
        "/history",
        "/history.atom",
        "/history.rss",
        "/api/v2/summary.json",
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json",
        "/api/v2/scheduled-maintenances.json",
        "/badge.svg",
        "/assets/herald.css",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} is mirrored");
    }
    assert!(paths.iter().any(|p| p.starts_with("/incidents/")));
    assert!(paths.iter().any(|p| p.starts_with("/components/")));
    for path in &paths {
        let (ls, lt, lb) = fetch(&format!("{live}{path}")).await;
        let (ms, mt, mb) = fetch(&format!("{mirror}{path}")).await;
        assert_eq!((ls, ms), (200, 200), "{path}");
        assert!(
            lb == mb,
            "{path}: the mirror's body differs from the live one"
        );
        if lt.starts_with("text/html") || lt.starts_with("application/json") {
            let kind = lt.split(';').next().unwrap_or("");
            assert!(mt.starts_with(kind), "{path}: served as {mt}, live as {lt}");
        }
    }

    // The v2 API reads the same: the summary names every component and the page.
    let (_, _, body) = fetch(&format!("{mirror}/api/v2/summary.json")).await;
    let summary: serde_json::Value = serde_json::from_slice(&body).expect("summary JSON");
    assert!(summary["page"]["id"].is_string());
    assert!(!summary["components"]
        .as_array()
        .expect("components")
        .is_empty());
    assert!(summary["status"]["indicator"].is_string());
    let (_, _, body) = fetch(&format!("{live}/api/v2/summary.json")).await;
    let live_summary: serde_json::Value = serde_json::from_slice(&body).expect("summary JSON");
    assert_eq!(summary, live_summary);

    // Every link on the mirrored pages leads somewhere on the static server.
    let mut checked = std::collections::BTreeSet::new();
    for page in paths
        .iter()
        .filter(|p| *p == "/" || p.starts_with("/incidents/") || p.starts_with("/history"))
    {
        let (_, ctype, body) = fetch(&format!("{mirror}{page}")).await;
        if !ctype.starts_with("text/html") {
            continue;
        }
        let html = String::from_utf8_lossy(&body).into_owned();
        for link in html.split("href=\"").skip(1) {
            let target = link.split('"').next().unwrap_or("");
            let target = target.split('#').next().unwrap_or("");
            if !target.starts_with('/') || target.starts_with("//") || target == "/subscribe" {
                continue;
            }
            if checked.insert(target.to_string()) {
                let (status, _, _) = fetch(&format!("{mirror}{target}")).await;
                assert_eq!(
                    status, 200,
                    "{target}, linked from {page}, is in the mirror"
                );
            }
        }
    }
    assert!(checked.len() > 5, "links were followed: {checked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_mirror_follows_changes_and_serves_a_server_whose_database_is_down() {
    let data = tempfile::tempdir().expect("dir");
    let out = tempfile::tempdir().expect("dir");
    let port = free_port();
    let key = prepare_sqlite(data.path(), port).await;
    let mirror_dir = out.path().to_str().expect("utf-8").to_string();
    let live = serve(data.path(), port, &[("HERALD_MIRROR_DIR", &mirror_dir)]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{base}/readyz")).await;

    let r = reqwest::Client::new()
        .post(format!("{base}/api/herald/v1/incidents"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name": "Mirrored incident", "status": "investigating", "body": "x"}))
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 201);
    let summary = out.path().join("api/v2/summary.json");
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&summary).unwrap_or_default();
        if text.contains("Mirrored incident") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the mirror never followed the write"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, _, live_home) = fetch(&format!("{base}/")).await;
    drop(live);

    // A server pointed at a PostgreSQL that does not answer starts from the mirror.
    let dead_db = format!("postgres://herald@127.0.0.1:{}/herald", free_port());
    let port = free_port();
    let empty = tempfile::tempdir().expect("dir");
    let _frozen = serve(
        empty.path(),
        port,
        &[
            ("HERALD_MIRROR_DIR", &mirror_dir),
            ("HERALD_DATABASE_URL", &dead_db),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{base}/healthz")).await;
    for path in ["/", "/api/v2/summary.json", "/history.atom"] {
        let r = reqwest::get(format!("{base}{path}")).await.expect("get");
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()
                .get("x-herald-stale")
                .and_then(|v| v.to_str().ok()),
            Some("true"),
            "{path} is marked stale"
        );
    }
    let (_, _, home) = fetch(&format!("{base}/")).await;
    assert_eq!(home, live_home, "the home page is the mirrored one");
    let (status, _, _) = fetch(&format!("{base}/readyz")).await;
    assert_eq!(status, 503);
}

/// A local S3-compatible server (moto, from PyPI) on a free port.
async fn s3_server() -> (Process, String) {
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m moto.server (scripts/test.sh installs moto[server])");
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/")).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto did not start (pip install 'moto[server]')"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Process(child), base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_bucket_mirror_follows_changes() {
    let (_moto, s3) = s3_server().await;
    let r = reqwest::Client::new()
        .put(format!("{s3}/status-mirror"))
        .send()
        .await
        .expect("create bucket");
    assert!(r.status().is_success(), "bucket: {}", r.status());

    let data = tempfile::tempdir().expect("dir");
    let port = free_port();
    let key = prepare_sqlite(data.path(), port).await;
    let _live = serve(
        data.path(),
        port,
        &[
            ("HERALD_MIRROR_S3_BUCKET", "status-mirror"),
            ("HERALD_MIRROR_S3_PREFIX", "public"),
            ("HERALD_MIRROR_S3_REGION", "us-east-1"),
            ("HERALD_MIRROR_S3_ENDPOINT", &s3),
            ("HERALD_MIRROR_S3_ACCESS_KEY_ID", "mirror-test"),
            ("HERALD_MIRROR_S3_SECRET_ACCESS_KEY", "mirror-test-secret"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{base}/readyz")).await;

    // The whole site lands in the bucket, byte for byte, with its content types; read back
    // with the same credentials a CDN in front of the bucket would use.
    let reader = herald::mirror::Bucket::from_config(&herald::config::MirrorS3Config {
        bucket: "status-mirror".into(),
        prefix: Some("public".into()),
        region: Some("us-east-1".into()),
        endpoint: Some(s3.clone()),
        access_key_id: Some("mirror-test".into()),
        secret_access_key: Some(herald::config::Secret("mirror-test-secret".into())),
    })
    .expect("bucket");
    let started = Instant::now();
    while reader.get("api/v2/summary.json").await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "nothing reached the bucket"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (path, object) in [
        ("/", "index.html"),
        ("/history", "history/index.html"),
        ("/api/v2/summary.json", "api/v2/summary.json"),
        ("/history.atom", "history.atom"),
        ("/badge.svg", "badge.svg"),
    ] {
        let (_, live_type, live_body) = fetch(&format!("{base}{path}")).await;
        let (bucket_type, bucket_body) = reader.get(object).await.expect(object);
        assert!(
            live_body == bucket_body.to_vec(),
            "{object} differs from {path}"
        );
        assert_eq!(
            bucket_type.as_deref(),
            Some(live_type.as_str()),
            "{object} keeps its content type"
        );
    }

    // A change reaches the bucket.
    let r = reqwest::Client::new()
        .post(format!("{base}/api/herald/v1/incidents"))
        .bearer_auth(&key)
        .json(
            &serde_json::json!({"name": "Bucket incident", "status": "investigating", "body": "x"}),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 201);
    let started = Instant::now();
    loop {
        let (_, body) = reader.get("api/v2/summary.json").await.expect("summary");
        if String::from_utf8_lossy(&body).contains("Bucket incident") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the bucket never followed the write"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
