//! The public site: the snapshot every public read is answered from, who rebuilds it, and how it
//! goes stale when the database cannot be read.

use super::Clock;
use crate::render::{self, Branding, Snapshot, SnapshotInput};
use arc_swap::ArcSwap;
use herald_core::{Id, PageDocument, PageSettings};
use herald_store::{Store, StoreResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The snapshot and what it is built from; cheap to clone.
#[derive(Clone)]
pub struct Site {
    store: Arc<dyn Store>,
    clock: Clock,
    /// The public site; swapped whole after each change.
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    /// Set while the snapshot could not be refreshed from the database.
    pub stale: Arc<AtomicBool>,
    pub branding: Arc<Branding>,
    /// One rebuild at a time, so a later read never loses to an earlier one.
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    /// The page's public address, as of the last snapshot (for links in alerts and mails).
    page_url: Arc<RwLock<String>>,
    /// Whether the page's public address is `https://` (security headers read it per request).
    pub https: Arc<AtomicBool>,
    /// Components whose response times are charted, as the monitoring runtime last said.
    charted: Arc<RwLock<Vec<Id>>>,
    /// The last input the snapshot was built from, kept to redraw it as stale when the database
    /// goes away.
    last_input: Arc<Mutex<Option<SnapshotInput>>>,
    /// Counts new snapshots (the mirrors follow it).
    pub swapped: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Site {
    pub fn new(store: Arc<dyn Store>, branding: Branding, clock: Clock) -> Self {
        Site {
            store,
            clock,
            snapshot: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
            stale: Arc::new(AtomicBool::new(false)),
            branding: Arc::new(branding),
            rebuilding: Arc::new(tokio::sync::Mutex::new(())),
            page_url: Arc::new(RwLock::new(String::new())),
            https: Arc::new(AtomicBool::new(false)),
            charted: Arc::default(),
            last_input: Arc::default(),
            swapped: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// Whether the site is being served from the last good input (the database is away).
    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }

    /// The page's public address without a trailing slash.
    pub fn page_url(&self) -> String {
        self.page_url
            .read()
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    /// Sets the charted components; true when they differ from before.
    pub fn set_charted(&self, components: Vec<Id>) -> bool {
        match self.charted.write() {
            Ok(mut c) if *c != components => {
                *c = components;
                true
            }
            _ => false,
        }
    }

    /// Serves `snapshot` (read from a mirror at start) as stale until the database answers.
    pub fn serve_stale(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
        self.stale.store(true, Ordering::Relaxed);
    }

    /// Rebuilds the snapshot from one read of the store and swaps it in. On a database error the
    /// previous snapshot stays and is marked stale.
    pub async fn rebuild(&self) -> StoreResult<()> {
        let _turn = self.rebuilding.lock().await;
        let loaded = async {
            let doc = self.store.load().await?;
            let history = self.store.all_status_changes().await?;
            let metrics = self.store.list_metrics().await?;
            Ok::<_, herald_store::StoreError>((doc, history, metrics))
        }
        .await;
        let (doc, history, metrics) = match loaded {
            Ok(x) => x,
            Err(e) => {
                drop(_turn);
                self.mark_stale().await;
                return Err(e);
            }
        };
        let doc = doc.unwrap_or_else(|| PageDocument::empty(placeholder_page()));
        if let Ok(mut url) = self.page_url.write() {
            url.clone_from(&doc.page.url);
        }
        self.https
            .store(doc.page.url.starts_with("https://"), Ordering::Relaxed);
        let charted = self.charted.read().map(|c| c.clone()).unwrap_or_default();
        let input = SnapshotInput {
            doc,
            history,
            now: (self.clock)(),
            branding: (*self.branding).clone(),
            extras: render::PublicExtras {
                charted_components: charted,
                metrics,
                stale_since: None,
            },
        };
        let previous = self.snapshot.load_full();
        let keep = self.last_input.clone();
        let snapshot = tokio::task::spawn_blocking(move || {
            let snapshot = render::build(&input, Some(&previous));
            if let Ok(mut kept) = keep.lock() {
                *kept = Some(input);
            }
            snapshot
        })
        .await
        .map_err(|e| herald_store::StoreError::Other(format!("snapshot build failed: {e}")))?;
        self.snapshot.store(Arc::new(snapshot));
        self.swapped.send_modify(|n| *n = n.wrapping_add(1));
        metrics::counter!("herald_snapshot_rebuilds_total").increment(1);
        metrics::gauge!("herald_snapshot_stale").set(0.0);
        if self.stale.swap(false, Ordering::Relaxed) {
            tracing::info!("the database answers again; the public site is live");
        }
        Ok(())
    }

    /// Marks the public site stale (the database cannot be read) and, the first time, redraws
    /// it from the last good input with a notice saying since when it has not been updated.
    pub async fn mark_stale(&self) {
        let _turn = self.rebuilding.lock().await;
        if self.stale.load(Ordering::Relaxed) {
            return;
        }
        tracing::warn!("the database cannot be read; serving the last good snapshot");
        metrics::gauge!("herald_snapshot_stale").set(1.0);
        let since = (self.clock)();
        let kept = self.last_input.lock().ok().and_then(|k| k.clone());
        if let Some(mut input) = kept {
            input.extras.stale_since = Some(since);
            let previous = self.snapshot.load_full();
            match tokio::task::spawn_blocking(move || render::build(&input, Some(&previous))).await
            {
                Ok(snapshot) => self.snapshot.store(Arc::new(snapshot)),
                Err(e) => tracing::warn!(error = %e, "cannot redraw the stale snapshot"),
            }
        }
        // Marked only once the redrawn pages are in place, so a stale answer always says so.
        self.stale.store(true, Ordering::Relaxed);
    }
}

/// Settings for a page that has not been set up yet.
pub fn placeholder_page() -> PageSettings {
    PageSettings {
        id: Id::derive("page"),
        name: "Status".into(),
        url: "http://127.0.0.1:8080".into(),
        time_zone: "Etc/UTC".into(),
    }
}
