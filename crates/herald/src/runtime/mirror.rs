//! The static mirror: the whole public site written as plain files, so any static file server,
//! bucket or CDN can serve the page when no Herald is running.
//!
//! Each public path becomes a file: a path with an extension keeps it (`/api/v2/summary.json`,
//! `/history.atom`, `/badge.svg`), a page without one becomes a folder's `index.html` (`/` →
//! `index.html`, `/history` → `history/index.html`), which every static server answers for the
//! folder's address. Bodies are byte for byte what the live server sends. Extensionless JSON (the
//! native API's `/api/herald/v1/page`) has no file form a static server would type correctly
//! and is left out.
//!
//! `mirror.json` beside the files lists every path with its file and content type. Herald reads
//! it back when it starts while its database is down, and serves the mirror (marked stale) until
//! the database answers.
//!
//! Files are written to a temporary name and renamed, so a server reading the folder never sees
//! half a file; files of paths that disappeared are removed after the new manifest is in place.

use crate::render::{Snapshot, HTML};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The manifest's file name.
pub const MANIFEST: &str = "mirror.json";

#[derive(Serialize, Deserialize, Default)]
struct Manifest {
    built_at: Option<DateTime<Utc>>,
    entries: Vec<ManifestEntry>,
}

#[derive(Serialize, Deserialize, Clone)]
struct ManifestEntry {
    path: String,
    file: String,
    content_type: String,
    etag: String,
}

/// The file a public path is written to, relative to the mirror's root; `None` for paths that
/// have no faithful file form.
pub fn file_for(path: &str, content_type: &str) -> Option<String> {
    let trimmed = path.trim_start_matches('/');
    if trimmed.split('/').any(|s| s == ".." || s == ".") || path.contains('\\') {
        return None;
    }
    if trimmed.is_empty() {
        return Some("index.html".into());
    }
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    if last.contains('.') {
        Some(trimmed.to_string())
    } else if content_type == HTML {
        Some(format!("{trimmed}/index.html"))
    } else {
        None
    }
}

/// One file of the mirror.
struct Item {
    entry: ManifestEntry,
    body: bytes::Bytes,
}

/// Every file the snapshot mirrors to, in path order.
fn plan(snapshot: &Snapshot) -> Vec<Item> {
    let mut items = Vec::new();
    for path in snapshot.paths() {
        // `/index.html` is the same page as `/`.
        if path == "/index.html" {
            continue;
        }
        let Some(entry) = snapshot.get(path) else {
            continue;
        };
        let Some(file) = file_for(path, entry.content_type) else {
            continue;
        };
        items.push(Item {
            entry: ManifestEntry {
                path: path.to_string(),
                file,
                content_type: entry.content_type.to_string(),
                etag: entry.etag.clone(),
            },
            body: entry.identity.clone(),
        });
    }
    items
}

/// Whether `item` is already in place according to the previous manifest.
fn unchanged(previous: &Manifest, item: &Item) -> bool {
    previous.entries.iter().any(|e| {
        e.path == item.entry.path && e.etag == item.entry.etag && e.file == item.entry.file
    })
}

/// Files the previous manifest listed that the new one does not.
fn vanished<'a>(previous: &'a Manifest, items: &[Item]) -> Vec<&'a str> {
    let kept: std::collections::HashSet<&str> =
        items.iter().map(|i| i.entry.file.as_str()).collect();
    previous
        .entries
        .iter()
        .map(|e| e.file.as_str())
        .filter(|f| !kept.contains(f))
        .collect()
}

fn manifest_of(snapshot: &Snapshot, items: &[Item]) -> anyhow::Result<Vec<u8>> {
    let manifest = Manifest {
        built_at: snapshot.built_at,
        entries: items.iter().map(|i| i.entry.clone()).collect(),
    };
    serde_json::to_vec_pretty(&manifest).context("the mirror manifest")
}

/// Writes `snapshot` into `dir`; returns how many files were written (unchanged files, by their
/// ETag in the previous manifest, are left alone).
pub fn write_dir(snapshot: &Snapshot, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let previous = read_manifest(dir).unwrap_or_default();
    let items = plan(snapshot);
    let mut written = 0;
    for item in &items {
        let target = dir.join(&item.entry.file);
        if !(unchanged(&previous, item) && target.exists()) {
            write_atomically(&target, &item.body)?;
            written += 1;
        }
    }
    write_atomically(&dir.join(MANIFEST), &manifest_of(snapshot, &items)?)?;
    for old in vanished(&previous, &items) {
        let _ = std::fs::remove_file(dir.join(old));
    }
    Ok(written)
}

/// A bucket of any S3-compatible store, with an optional key prefix.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn object_store::ObjectStore>,
    prefix: String,
    /// How it is named in logs: `s3://bucket/prefix`.
    pub name: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Bucket {
    /// Connects to the bucket `[mirror.s3]` names (credentials from it, else from the usual
    /// `AWS_*` variables).
    pub fn from_config(c: &crate::config::MirrorS3Config) -> anyhow::Result<Bucket> {
        if c.bucket.trim().is_empty() {
            anyhow::bail!("[mirror.s3] needs `bucket` (or HERALD_MIRROR_S3_BUCKET)");
        }
        let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&c.bucket);
        if let Some(region) = &c.region {
            b = b.with_region(region);
        }
        if let Some(endpoint) = &c.endpoint {
            b = b
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(id) = &c.access_key_id {
            b = b.with_access_key_id(id);
        }
        if let Some(secret) = &c.secret_access_key {
            b = b.with_secret_access_key(&secret.0);
        }
        let store = b
            .build()
            .with_context(|| format!("the [mirror.s3] bucket {}", c.bucket))?;
        let prefix = c
            .prefix
            .as_deref()
            .unwrap_or("")
            .trim_matches('/')
            .to_string();
        Ok(Bucket {
            store: Arc::new(store),
            name: format!("s3://{}/{prefix}", c.bucket),
            prefix,
        })
    }

    fn key(&self, file: &str) -> object_store::path::Path {
        if self.prefix.is_empty() {
            object_store::path::Path::from(file)
        } else {
            object_store::path::Path::from(format!("{}/{file}", self.prefix))
        }
    }

    async fn put(&self, file: &str, content_type: &str, body: bytes::Bytes) -> anyhow::Result<()> {
        let mut attributes = object_store::Attributes::new();
        attributes.insert(
            object_store::Attribute::ContentType,
            content_type.to_string().into(),
        );
        let options = object_store::PutOptions {
            attributes,
            ..Default::default()
        };
        self.store
            .put_opts(&self.key(file), body.into(), options)
            .await
            .with_context(|| format!("cannot write {file} to {}", self.name))?;
        Ok(())
    }

    /// Reads one file back: its content type and bytes (for checks and tests).
    pub async fn get(&self, file: &str) -> anyhow::Result<(Option<String>, bytes::Bytes)> {
        let got = self
            .store
            .get(&self.key(file))
            .await
            .with_context(|| format!("cannot read {file} from {}", self.name))?;
        let kind = got
            .attributes
            .get(&object_store::Attribute::ContentType)
            .map(|v| v.to_string());
        Ok((kind, got.bytes().await?))
    }

    async fn manifest(&self) -> Manifest {
        let Ok(got) = self.store.get(&self.key(MANIFEST)).await else {
            return Manifest::default();
        };
        match got.bytes().await {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
            Err(_) => Manifest::default(),
        }
    }

    /// Writes `snapshot` to the bucket, changed files only; returns how many were written.
    pub async fn write(&self, snapshot: &Snapshot) -> anyhow::Result<usize> {
        use futures_util::StreamExt;
        let previous = self.manifest().await;
        let items = plan(snapshot);
        let jobs: Vec<_> = items
            .iter()
            .filter(|i| !unchanged(&previous, i))
            .map(|i| {
                let (bucket, file, kind, body) = (
                    self.clone(),
                    i.entry.file.clone(),
                    i.entry.content_type.clone(),
                    i.body.clone(),
                );
                async move { bucket.put(&file, &kind, body).await }
            })
            .collect();
        let written = jobs.len();
        let results: Vec<anyhow::Result<()>> = futures_util::stream::iter(jobs)
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
        self.put(
            MANIFEST,
            crate::render::JSON,
            manifest_of(snapshot, &items)?.into(),
        )
        .await?;
        for old in vanished(&previous, &items) {
            let _ = self.store.delete(&self.key(old)).await;
        }
        Ok(written)
    }
}

fn write_atomically(target: &Path, body: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, body).with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::rename(&temp, target)
        .with_context(|| format!("cannot move {} into place", target.display()))?;
    Ok(())
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read(dir.join(MANIFEST)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Reads a mirror back into a snapshot (every file listed in its manifest, plus `/index.html`
/// for the home page). `None` when `dir` holds no readable mirror.
pub fn read_dir(dir: &Path) -> Option<Snapshot> {
    let manifest = read_manifest(dir)?;
    let mut files = Vec::new();
    for e in &manifest.entries {
        let path = dir.join(&e.file);
        let body = std::fs::read(&path).ok()?;
        files.push((e.path.clone(), known_type(&e.content_type), body));
    }
    if let Some((_, t, body)) = files.iter().find(|(p, _, _)| p == "/").cloned() {
        files.push(("/index.html".into(), t, body));
    }
    Some(Snapshot::from_bodies(files, manifest.built_at))
}

/// Content types the mirror writes are the renderers' own constants; map a stored one back.
fn known_type(t: &str) -> &'static str {
    const TYPES: &[&str] = &[
        crate::render::HTML,
        crate::render::JSON,
        crate::render::feeds::ATOM,
        crate::render::feeds::RSS,
        crate::render::badges::SVG,
        "image/svg+xml",
        "text/css; charset=utf-8",
        "text/javascript; charset=utf-8",
    ];
    TYPES
        .iter()
        .find(|k| **k == t)
        .copied()
        .unwrap_or("application/octet-stream")
}

/// Where the running server keeps its mirror.
#[derive(Clone, Debug)]
pub enum Target {
    Dir(PathBuf),
    S3(Bucket),
}

/// Keeps the mirror in step with the snapshot: after each change (coalesced), the changed files
/// are written.
pub async fn keep(
    site: crate::service::Site,
    target: Target,
    stop: crate::runtime::CancellationToken,
) -> anyhow::Result<()> {
    let mut changed = site.swapped.subscribe();
    let mut last: Option<Arc<Snapshot>> = None;
    loop {
        let snapshot = site.snapshot.load_full();
        let stale = site.is_stale();
        // A stale snapshot is not written: the mirror keeps the last good state.
        if !stale
            && snapshot.built_at.is_some()
            && !last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &snapshot))
            && refresh(&target, &snapshot).await
        {
            last = Some(snapshot);
        }
        tokio::select! {
            _ = changed.changed() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
            _ = stop.cancelled() => return Ok(()),
        }
        // Let a burst of changes settle into one write.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// One step of [`keep`]: writes the changed files of `snapshot`; false when that failed (logged).
#[tracing::instrument(name = "mirror_write", skip_all, fields(files = tracing::field::Empty))]
async fn refresh(target: &Target, snapshot: &Arc<Snapshot>) -> bool {
    let result = match target {
        Target::Dir(dir) => {
            let (snap, dir) = (snapshot.clone(), dir.clone());
            tokio::task::spawn_blocking(move || write_dir(&snap, &dir))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|r| r)
        }
        Target::S3(bucket) => bucket.write(snapshot).await,
    };
    match result {
        Ok(n) => {
            tracing::Span::current().record("files", n);
            if n > 0 {
                tracing::debug!(files = n, "mirror refreshed");
            }
            true
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "cannot refresh the mirror");
            false
        }
    }
}
