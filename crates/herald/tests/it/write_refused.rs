//! A database that answers but cannot write: a full disk under SQLite (the process's file-size
//! limit lowered under it, which the kernel enforces like a full disk) and a read-only
//! PostgreSQL database. Writes answer 503 with the reason, `/readyz` stops being ready, the
//! public page keeps answering, nothing stored is lost, and both recover by themselves.

use herald_store::testing::{free_port, shared_cluster};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common;

use common::process::{prepare, wait_for, Running, Serve};

/// `herald serve` on `url`, with SIGXFSZ ignored (as it is inherited through `exec`), so a file
/// grown past the limit fails the write instead of killing the process.
fn serve(url: &str, dir: &Path, port: u16) -> Running {
    Serve::new()
        .through_shell("trap '' XFSZ")
        .data_dir(dir)
        .port(port)
        .env("HERALD_DATABASE_URL", url)
        .env("HERALD_MONITORING_ENABLED", "false")
        .spawn()
}

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    /// Opens an incident with a body of about `size` bytes; status and JSON answer.
    async fn open(&self, n: usize, size: usize) -> (u16, Value) {
        let body = format!("Update {n}: ") + &"the disk is filling up. ".repeat(size / 24);
        let r = self
            .http
            .post(format!("{}/api/herald/v1/incidents", self.base))
            .header("authorization", format!("Bearer {}", self.key))
            .json(&json!({"name": format!("Incident {n}"), "body": body}))
            .send()
            .await
            .expect("post");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// Polls `/readyz` until its status is `want`, for up to 15 s; the last body.
    async fn ready_becomes(&self, want: u16) -> String {
        let started = Instant::now();
        loop {
            let (status, body) = self.get("/readyz").await;
            if status == want {
                return body;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "/readyz stayed {status} ({body}), wanted {want}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Once the database takes writes again: a write goes through and `/readyz` is ready within
    /// 15 s, and every incident accepted before (`accepted`, plus "Incident 1000" written before
    /// the trouble) is still there.
    async fn recovers_with(&self, accepted: &[String]) {
        let started = Instant::now();
        while self.open(2000, 100).await.0 != 201 {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "writes never came back"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.ready_becomes(200).await;
        let names = self.incident_names().await;
        for name in accepted
            .iter()
            .map(String::as_str)
            .chain(["Incident 1000", "Incident 2000"])
        {
            assert!(names.iter().any(|n| n == name), "{name} was lost");
        }
    }

    /// Names of the incidents the API lists.
    async fn incident_names(&self) -> Vec<String> {
        let r = self
            .http
            .get(format!("{}/api/herald/v1/page", self.base))
            .header("authorization", format!("Bearer {}", self.key))
            .send()
            .await
            .expect("list");
        assert_eq!(r.status().as_u16(), 200);
        let list: Value = r.json().await.expect("json");
        list["incidents"]
            .as_array()
            .expect("incidents")
            .iter()
            .filter_map(|i| i["name"].as_str().map(str::to_string))
            .collect()
    }
}

fn prlimit(pid: u32, fsize: &str) {
    let ok = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={fsize}")])
        .status()
        .expect("prlimit")
        .success();
    assert!(ok, "prlimit --fsize={fsize} failed");
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Writes until one is refused, at most `limit` of them; the names of those accepted.
async fn write_until_refused(c: &Client, limit: usize) -> (Vec<String>, Value) {
    let mut accepted = Vec::new();
    for n in 0..limit {
        let (status, body) = c.open(n, 20_000).await;
        match status {
            201 => accepted.push(format!("Incident {n}")),
            503 if body["message"]
                .as_str()
                .is_some_and(|m| m.contains("cannot take writes")) =>
            {
                return (accepted, body);
            }
            // A connection dropped under the server on its way to the refusal: try again.
            503 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("write {n}: {other} {body}"),
        }
    }
    panic!("no write was refused in {limit} tries");
}

#[tokio::test]
async fn sqlite_with_a_full_disk_refuses_writes_with_503_and_is_not_ready() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("herald.db");
    let url = format!("sqlite://{}", db.display());
    let (store, key) = prepare(&url, None).await;
    drop(store);
    let port = free_port();
    let process = serve(&url, dir.path(), port);
    let c = Client {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{port}"),
        key,
    };
    wait_for(&format!("{}/readyz", c.base)).await;
    let (status, _) = c.open(1000, 100).await;
    assert_eq!(status, 201, "a write before the disk fills");

    // The files may not grow any more: the next growth of the database or its log fails.
    let limit = file_len(&db).max(file_len(&dir.path().join("herald.db-wal")));
    prlimit(process.process.0.id(), &format!("{limit}:unlimited"));
    let (accepted, refusal) = write_until_refused(&c, 2000).await;
    println!(
        "sqlite: {} writes fitted before the refusal: {refusal}",
        accepted.len()
    );
    let body = c.ready_becomes(503).await;
    assert!(body.contains("not ready"), "{body}");
    for path in ["/", "/api/v2/summary.json", "/healthz"] {
        assert_eq!(c.get(path).await.0, 200, "{path} while the disk is full");
    }

    // Room again: writes and readiness come back without a restart, and nothing was lost.
    prlimit(process.process.0.id(), "unlimited:unlimited");
    c.recovers_with(&accepted).await;
    drop(process);

    let conn = sqlx::SqlitePool::connect(&url).await.expect("open");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&conn)
        .await
        .expect("integrity check");
    assert_eq!(check, "ok");
}

#[tokio::test]
async fn read_only_postgres_refuses_writes_with_503_and_is_not_ready() {
    let cluster = shared_cluster();
    let url = cluster.create_database();
    let name = url.rsplit('/').next().expect("database name").to_string();
    let (store, key) = prepare(&url, None).await;
    drop(store);
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let _process = serve(&url, dir.path(), port);
    let c = Client {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{port}"),
        key,
    };
    wait_for(&format!("{}/readyz", c.base)).await;
    assert_eq!(c.open(1000, 100).await.0, 201);

    let admin = sqlx::PgPool::connect(&cluster.url("postgres"))
        .await
        .expect("admin connection");
    let set_read_only = |on: bool| {
        let admin = admin.clone();
        let name = name.clone();
        async move {
            let sql = if on {
                format!("ALTER DATABASE \"{name}\" SET default_transaction_read_only = on")
            } else {
                format!("ALTER DATABASE \"{name}\" RESET default_transaction_read_only")
            };
            sqlx::query(&sql).execute(&admin).await.expect("alter");
            // Connections already open keep their old setting: end them, Herald reconnects.
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(&name)
            .execute(&admin)
            .await
            .expect("terminate");
        }
    };

    set_read_only(true).await;
    let (accepted, refusal) = write_until_refused(&c, 200).await;
    assert!(
        refusal["message"]
            .as_str()
            .is_some_and(|m| m.contains("read-only")),
        "{refusal}"
    );
    let body = c.ready_becomes(503).await;
    assert!(body.contains("read-only"), "{body}");
    assert_eq!(c.get("/").await.0, 200, "the page while read-only");

    set_read_only(false).await;
    c.recovers_with(&accepted).await;
}
