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
use std::collections::HashMap;
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

/// Writes `snapshot` into `dir`; returns how many files were written (unchanged files, by their
/// ETag in the previous manifest, are left alone).
pub fn write_dir(snapshot: &Snapshot, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let previous = read_manifest(dir).unwrap_or_default();
    let before: HashMap<&str, &ManifestEntry> = previous
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    let mut manifest = Manifest {
        built_at: snapshot.built_at,
        entries: Vec::new(),
    };
    let mut written = 0;
    for path in snapshot.paths() {
        let Some(entry) = snapshot.get(path) else {
            continue;
        };
        // `/index.html` is the same page as `/`.
        if path == "/index.html" {
            continue;
        }
        let Some(file) = file_for(path, entry.content_type) else {
            continue;
        };
        let target = dir.join(&file);
        let same = before
            .get(path)
            .is_some_and(|e| e.etag == entry.etag && e.file == file)
            && target.exists();
        if !same {
            write_atomically(&target, &entry.identity)?;
            written += 1;
        }
        manifest.entries.push(ManifestEntry {
            path: path.to_string(),
            file,
            content_type: entry.content_type.to_string(),
            etag: entry.etag.clone(),
        });
    }
    let body = serde_json::to_vec_pretty(&manifest).context("the mirror manifest")?;
    write_atomically(&dir.join(MANIFEST), &body)?;
    let kept: std::collections::HashSet<&str> =
        manifest.entries.iter().map(|e| e.file.as_str()).collect();
    for old in &previous.entries {
        if !kept.contains(old.file.as_str()) {
            let _ = std::fs::remove_file(dir.join(&old.file));
        }
    }
    Ok(written)
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
}

/// Keeps the mirror in step with the snapshot: after each change (coalesced), the changed files
/// are written.
pub async fn keep(
    state: crate::app::AppState,
    target: Target,
    changed: Arc<tokio::sync::Notify>,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut last: Option<Arc<Snapshot>> = None;
    loop {
        let snapshot = state.snapshot.load_full();
        let stale = state.stale.load(std::sync::atomic::Ordering::Relaxed);
        // A stale snapshot is not written: the mirror keeps the last good state.
        if !stale
            && snapshot.built_at.is_some()
            && !last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &snapshot))
        {
            let result = match &target {
                Target::Dir(dir) => {
                    let (snap, dir) = (snapshot.clone(), dir.clone());
                    tokio::task::spawn_blocking(move || write_dir(&snap, &dir))
                        .await
                        .map_err(anyhow::Error::from)
                        .and_then(|r| r)
                }
            };
            match result {
                Ok(n) => {
                    if n > 0 {
                        tracing::debug!(files = n, "mirror refreshed");
                    }
                    last = Some(snapshot);
                }
                Err(e) => tracing::warn!(error = %e, "cannot refresh the mirror"),
            }
        }
        tokio::select! {
            _ = changed.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
            _ = stop.notified() => return,
        }
        // Let a burst of changes settle into one write.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
