//! `herald serve` as a separate process, for the tests (and benchmark drivers) that need real
//! processes: several instances on one database, a server started while its database is down,
//! the static mirror, security headers seen from outside.

#![allow(dead_code)]

use herald_core::access::Role;
use herald_core::datafile::{DataFile, Format};
use herald_store::{ImportOptions, Store, WriteMeta};
use std::path::Path;
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

/// `herald serve` on 127.0.0.1:`port` with its data in `data_dir` and extra variables `env`.
pub fn serve(binary: &Path, data_dir: &Path, port: u16, env: &[(&str, &str)]) -> Process {
    Process(
        Command::new(binary)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("HERALD_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("start herald"),
    )
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
