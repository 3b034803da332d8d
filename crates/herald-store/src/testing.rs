//! Test support shared by every crate's tests: a throw-away PostgreSQL cluster (Debian's
//! `initdb` and `pg_ctl`, in a temporary folder, on a free loopback port) and fresh stores on
//! either engine.
//!
//! The cluster is stopped when it is dropped; a cluster kept in a `static` is stopped by a small
//! watchdog once the test process exits, so no server outlives the tests.

use crate::{PostgresStore, SqliteStore, Store};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A private PostgreSQL server for tests.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

fn find_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("HERALD_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists());
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().unwrap_or_else(|| PathBuf::from("/usr/bin"))
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    /// Creates and starts a new cluster. Panics with the server's own words if it cannot.
    pub fn start() -> PgCluster {
        let dir = tempfile::Builder::new()
            .prefix("herald-pg-")
            .tempdir()
            .expect("temp dir");
        let cluster = PgCluster {
            bin: find_bin(),
            port: free_port(),
            as_postgres_user: is_root(),
            dir,
        };
        if cluster.as_postgres_user {
            // PostgreSQL refuses to run as root: hand the folder to the postgres account.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the cluster folder failed");
        }
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-U",
                "herald",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ],
        );
        cluster.start_server();
        cluster
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).output().unwrap_or_else(|e| {
            panic!(
                "cannot run {tool} from {}: {e} (install Debian's postgresql)",
                self.bin.display()
            )
        });
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again, after [`PgCluster::stop`]).
    pub fn start_server(&self) {
        // fsync is off for speed: only an operating-system crash could lose data, and tests
        // do not survive one anyway. Commits stay synchronous, so a killed server keeps every
        // acknowledged write, as the outage and crash tests require.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-l",
                log.to_str().expect("utf-8 path"),
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once, as a crash or an outage would.
    pub fn stop(&self) {
        let data = self.data_dir();
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().expect("utf-8 path"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://herald@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database with a unique name and returns its URL.
    pub fn create_database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "herald",
                &name,
            ],
        );
        self.url(&name)
    }

    /// Stops the server when process `pid` exits; for clusters that are never dropped.
    fn watch(&self, pid: u32) {
        let data = self.data_dir();
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = format!(
            "{}{} -D {} -m immediate stop",
            if self.as_postgres_user {
                "runuser -u postgres -- "
            } else {
                ""
            },
            pg_ctl.display(),
            data.display()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {}",
            self.dir.path().display()
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One cluster per test process, started on first use.
pub fn shared_cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let c = PgCluster::start();
        c.watch(std::process::id());
        c
    })
}

/// A migrated store on a fresh database of the shared cluster.
pub async fn postgres_store() -> Arc<dyn Store> {
    let url = shared_cluster().create_database();
    let store = PostgresStore::open(&url)
        .await
        .expect("connect to the test cluster");
    store.migrate().await.expect("migrate");
    Arc::new(store)
}

/// A migrated store on a fresh SQLite file; keep the folder alive as long as the store.
pub async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    let store = SqliteStore::open(&url).await.expect("open sqlite");
    store.migrate().await.expect("migrate");
    (Arc::new(store), dir)
}

/// Runs each named contract case, an `async fn(Arc<dyn Store>)` in the calling module, once on
/// a fresh SQLite store (`sqlite::case`) and once on a fresh PostgreSQL database
/// (`postgres::case`), so both engines are held to the same behaviour. `scripts/test.sh` counts
/// the passes by those two prefixes.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_contract {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = $crate::testing::sqlite_store().await;
                    assert_eq!(store.engine(), "sqlite");
                    super::$case(store).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = $crate::testing::postgres_store().await;
                    assert_eq!(store.engine(), "postgres");
                    super::$case(store).await;
                }
            )+
        }
    };
}

pub use crate::__store_contract as contract;
