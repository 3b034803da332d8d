//! `herald serve` as a separate process, for the tests (and benchmark drivers) that need real
//! processes: several instances on one database, a server started while its database is down,
//! the static mirror, security headers seen from outside.

#![allow(dead_code)]

use herald_core::access::Role;
use herald_core::datafile::{DataFile, Format};
use herald_store::{ImportOptions, Store, WriteMeta};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A child process, killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `herald` binary under test: Cargo names it to tests; a benchmark driver (an example,
/// in `target/*/examples/`) finds it one folder up.
pub fn binary() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_herald") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the running program");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a target folder");
    dir.join("herald")
}

/// `herald serve` on 127.0.0.1:`port` with its data in `data_dir` and extra variables `env`.
pub fn serve(binary: &Path, data_dir: &Path, port: u16, env: &[(&str, &str)]) -> Process {
    Serve::new()
        .binary(binary)
        .data_dir(data_dir)
        .port(port)
        .envs(env)
        .spawn()
        .process
}

/// How to start `herald serve` as a child process: the one place the tests that need a real
/// process start it. By default: the binary under test, a fresh data folder, a free port,
/// `HERALD_LOG=warn`, standard output discarded.
pub struct Serve {
    binary: PathBuf,
    data_dir: Option<PathBuf>,
    port: u16,
    demo: bool,
    env: Vec<(String, String)>,
    stderr: bool,
    shell: Option<String>,
}

impl Default for Serve {
    fn default() -> Self {
        Self::new()
    }
}

impl Serve {
    pub fn new() -> Self {
        Serve {
            binary: binary(),
            data_dir: None,
            port: herald_store::testing::free_port(),
            demo: false,
            env: vec![("HERALD_LOG".into(), "warn".into())],
            stderr: false,
            shell: None,
        }
    }

    pub fn binary(mut self, binary: &Path) -> Self {
        self.binary = binary.to_path_buf();
        self
    }

    /// `--demo`: the example page, in memory unless a database is configured.
    pub fn demo(mut self) -> Self {
        self.demo = true;
        self
    }

    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn envs(mut self, env: &[(&str, &str)]) -> Self {
        for (k, v) in env {
            self = self.env(k, v);
        }
        self
    }

    /// Keeps standard error readable through the child's `stderr` pipe (for log checks).
    pub fn stderr_piped(mut self) -> Self {
        self.stderr = true;
        self
    }

    /// Runs the server through `sh -c "<prefix>; exec herald serve …"`, for settings only a
    /// shell makes (an ignored signal, say).
    pub fn through_shell(mut self, prefix: &str) -> Self {
        self.shell = Some(prefix.into());
        self
    }

    /// Starts the process without waiting for it.
    pub fn spawn(self) -> Running {
        let (dir, data) = match &self.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let dir = tempfile::tempdir().expect("data folder");
                let path = dir.path().to_path_buf();
                (Some(dir), path)
            }
        };
        let listen = format!("127.0.0.1:{}", self.port);
        let mut args: Vec<String> = vec!["serve".into()];
        if self.demo {
            args.push("--demo".into());
        }
        args.extend(["--listen".into(), listen]);
        args.extend(["--data-dir".into(), data.display().to_string()]);
        let mut command = match &self.shell {
            Some(prefix) => {
                let mut c = Command::new("sh");
                let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
                c.arg("-c").arg(format!(
                    "{prefix}; exec '{}' {}",
                    self.binary.display(),
                    quoted.join(" ")
                ));
                c
            }
            None => {
                let mut c = Command::new(&self.binary);
                c.args(&args);
                c
            }
        };
        command
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null());
        if self.stderr {
            command.stderr(Stdio::piped());
        }
        let child = command.spawn().expect("start herald");
        Running {
            process: Process(child),
            port: self.port,
            base: format!("http://127.0.0.1:{}", self.port),
            data,
            _dir: dir,
        }
    }

    /// Starts the process and waits until it answers `/readyz`.
    pub async fn ready(self) -> Running {
        let running = self.spawn();
        wait_for(&running.url("/readyz")).await;
        running
    }
}

/// A started `herald serve`: killed (and its own data folder removed) when dropped.
pub struct Running {
    pub process: Process,
    pub port: u16,
    /// `http://127.0.0.1:port`.
    pub base: String,
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Waits until `url` answers with a success, for up to 30 s.
pub async fn wait_for(url: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never answered");
}

pub fn meta() -> WriteMeta {
    WriteMeta {
        actor: "test".into(),
        now: chrono::Utc::now(),
    }
}

/// A migrated database at `url` holding the example page (its address on `page_port` when
/// given) and an owner's API key, which is returned.
pub async fn prepare(url: &str, page_port: Option<u16>) -> (Arc<dyn Store>, String) {
    let store = herald_store::open(url).await.expect("open");
    store.migrate().await.expect("migrate");
    let mut file = DataFile::parse(herald::app::DEMO_FILE, Format::Toml).expect("example");
    if let Some(port) = page_port {
        file.page.url = format!("http://127.0.0.1:{port}");
    }
    store
        .import(file, chrono::Utc::now(), &ImportOptions::default())
        .await
        .expect("import");
    let key = herald::auth::new_secret(20);
    store
        .create_api_key(
            "test",
            &herald::auth::secret_hash(&key),
            Role::Owner,
            &meta(),
        )
        .await
        .expect("api key");
    (store, key)
}
