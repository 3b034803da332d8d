//! A `herald serve` process on a fresh SQLite database holding the example page and many
//! subscribers, for the crash test and the fan-out benchmark (`examples/fanout.rs`). Subscribers
//! are written in bulk before the server starts; the server is then driven over HTTP only.

#![allow(dead_code)]

use herald_core::access::Role;
use herald_core::audience::{Subscriber, SubscriberMode, SubscriberState};
use herald_core::datafile::{DataFile, Format};
use herald_store::{ImportOptions, WriteMeta};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where subscribers are reached.
#[derive(Clone, Debug)]
pub enum Channel {
    Webhook(String),
    Email,
}

pub struct Herald {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub key: String,
    binary: PathBuf,
    env: Vec<(String, String)>,
    child: Option<super::process::Process>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A database with the example page, `count` active subscribers on `channel`, and an API key.
pub async fn prepare(
    binary: &Path,
    count: usize,
    channel: &Channel,
    env: &[(&str, &str)],
) -> Herald {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    let store = herald_store::open(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    let mut file = DataFile::parse(herald::app::DEMO_FILE, Format::Toml).expect("example");
    file.page.url = format!("http://127.0.0.1:{port}");
    let now = chrono::Utc::now();
    store
        .import(file, now, &ImportOptions::default())
        .await
        .expect("import");
    let subscribers: Vec<Subscriber> = (0..count)
        .map(|i| Subscriber {
            id: herald_store::random_id(),
            mode: match channel {
                Channel::Webhook(_) => SubscriberMode::Webhook,
                Channel::Email => SubscriberMode::Email,
            },
            email: Some(format!("subscriber{i}@fanout.test")),
            endpoint: match channel {
                Channel::Webhook(url) => Some(url.clone()),
                Channel::Email => None,
            },
            component_ids: Vec::new(),
            incident_id: None,
            state: SubscriberState::Active,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let added = store
        .import_subscribers(&subscribers)
        .await
        .expect("subscribers");
    assert_eq!(added, count);
    let key = herald::auth::new_secret(20);
    let meta = WriteMeta {
        actor: "fanout".into(),
        now,
    };
    store
        .create_api_key(
            "fanout",
            &herald::auth::secret_hash(&key),
            Role::Owner,
            &meta,
        )
        .await
        .expect("api key");
    Herald {
        dir,
        port,
        key,
        binary: binary.to_path_buf(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        child: None,
    }
}

impl Herald {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts `herald serve` on the prepared database.
    pub fn start(&mut self) {
        let log = std::env::var("FANOUT_LOG").unwrap_or_else(|_| "warn".into());
        let mut serve = super::process::Serve::new()
            .binary(&self.binary)
            .port(self.port)
            .data_dir(self.dir.path())
            .env("HERALD_LOG", &log);
        for (k, v) in &self.env {
            serve = serve.env(k, v);
        }
        self.child = Some(serve.spawn().process);
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|p| p.0.id())
    }

    /// Waits until the server answers `/readyz`.
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", self.base())).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "herald did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server with SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        // Dropping the process kills it with SIGKILL and reaps it.
        self.child = None;
    }

    /// Opens an incident on the whole page through the native API; returns when it is stored.
    pub async fn open_incident(&self, name: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/api/herald/v1/incidents", self.base()))
            .bearer_auth(&self.key)
            .json(&serde_json::json!({
                "name": name,
                "status": "investigating",
                "body": "We are looking into elevated error rates.",
            }))
            .send()
            .await
            .expect("create incident");
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        self.kill();
    }
}
