//! The public site as an in-memory snapshot: every public response (pages, v2 JSON, feeds,
//! badges, assets) rendered once per change, compressed once, and served by a map lookup.
//!
//! [`build`] is pure: it takes one consistent read of the store and the time, and returns the
//! whole site. The same snapshot is what `herald mirror` writes out.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use herald_core::{PageDocument, StatusChange};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::Arc;

pub mod badges;
pub mod charts;
pub mod feeds;
pub mod html;
pub mod markdown;
pub mod native;
pub mod v2;
pub mod webhook;

/// Everything a snapshot is rendered from.
#[derive(Clone, Debug)]
pub struct SnapshotInput {
    pub doc: PageDocument,
    /// Every recorded component status change, oldest first.
    pub history: Vec<StatusChange>,
    /// When the snapshot is built; "today" for uptime bars and "past 15 days".
    pub now: DateTime<Utc>,
    pub branding: Branding,
    /// Monitoring pieces of the public page.
    pub extras: PublicExtras,
}

/// What monitoring adds to the public page: response-time charts and system metrics.
#[derive(Clone, Debug, Default)]
pub struct PublicExtras {
    /// Components with a response-time chart.
    pub charted_components: Vec<herald_core::Id>,
    /// System metrics shown on the page, in order.
    pub metrics: Vec<herald_core::monitor::Metric>,
    /// Set when the database could not be read since this instant: pages say so.
    pub stale_since: Option<DateTime<Utc>>,
}

/// Look of the page, from configuration.
#[derive(Clone, Debug, Default)]
pub struct Branding {
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
}

/// What a renderer hands to [`build`] for one path.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// Absolute path, e.g. `/api/v2/summary.json`.
    pub path: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Rendered {
    pub fn new(
        path: impl Into<String>,
        content_type: &'static str,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Rendered {
            path: path.into(),
            content_type,
            body: body.into(),
        }
    }
}

/// Shared by every renderer: the input plus values derived from it once.
pub struct RenderContext<'a> {
    pub input: &'a SnapshotInput,
    pub doc: &'a PageDocument,
    /// The page's zone.
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

impl<'a> RenderContext<'a> {
    pub fn new(input: &'a SnapshotInput) -> Self {
        RenderContext {
            input,
            doc: &input.doc,
            tz: herald_core::timefmt::zone(&input.doc.page.time_zone).unwrap_or(Tz::UTC),
            now: input.now,
        }
    }

    /// The page's public URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.doc.page.url.trim_end_matches('/')
    }
}

pub const JSON: &str = "application/json; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";

/// One response body, ready to serve, in every encoding worth having.
#[derive(Debug)]
pub struct Entry {
    pub content_type: &'static str,
    pub identity: Bytes,
    pub gzip: Option<Bytes>,
    pub brotli: Option<Bytes>,
    /// Strong validator, quoted, e.g. `"1a2b3c-1234"`.
    pub etag: String,
}

/// The whole public site at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    entries: HashMap<String, Arc<Entry>>,
    /// When it was rendered.
    pub built_at: Option<DateTime<Utc>>,
}

impl Snapshot {
    pub fn get(&self, path: &str) -> Option<&Arc<Entry>> {
        self.entries.get(path)
    }

    /// Every path, sorted (for the static mirror and tests).
    pub fn paths(&self) -> Vec<&str> {
        let mut p: Vec<&str> = self.entries.keys().map(|s| s.as_str()).collect();
        p.sort_unstable();
        p
    }
}

fn etag(body: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}-{:x}\"", h.finish(), body.len())
}

fn gzip(body: &[u8]) -> Option<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(body).ok()?;
    enc.finish().ok().map(Bytes::from)
}

fn brotli(body: &[u8]) -> Option<Bytes> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 6, 22);
        w.write_all(body).ok()?;
    }
    Some(Bytes::from(out))
}

/// Smaller bodies gain nothing from compression.
const COMPRESS_FROM: usize = 256;

fn compressible(content_type: &str) -> bool {
    !content_type.starts_with("image/png") && !content_type.starts_with("font/woff")
}

impl Snapshot {
    /// A snapshot of ready bodies (a mirror read back from disk), compressed like a built one.
    pub fn from_bodies(
        bodies: Vec<(String, &'static str, Vec<u8>)>,
        built_at: Option<DateTime<Utc>>,
    ) -> Snapshot {
        let entries = bodies
            .into_iter()
            .map(|(path, content_type, body)| (path, Arc::new(entry(content_type, body))))
            .collect();
        Snapshot { entries, built_at }
    }
}

fn entry(content_type: &'static str, body: Vec<u8>) -> Entry {
    let worth = body.len() >= COMPRESS_FROM && compressible(content_type);
    Entry {
        content_type,
        gzip: if worth { gzip(&body) } else { None },
        brotli: if worth { brotli(&body) } else { None },
        etag: etag(&body),
        identity: Bytes::from(body),
    }
}

/// Renders the whole site. Entries whose bytes equal those in `previous` are reused as they are,
/// so a small change recompresses only what it changed.
pub fn build(input: &SnapshotInput, previous: Option<&Snapshot>) -> Snapshot {
    let ctx = RenderContext::new(input);
    let mut rendered = Vec::new();
    rendered.extend(native::render(&ctx));
    rendered.extend(v2::render(&ctx));
    rendered.extend(html::render(&ctx));
    rendered.extend(feeds::render(&ctx));
    rendered.extend(badges::render(&ctx));
    let mut entries = HashMap::with_capacity(rendered.len());
    for r in rendered {
        let reused = previous.and_then(|p| p.entries.get(&r.path)).filter(|e| {
            e.identity.as_ref() == r.body.as_slice() && e.content_type == r.content_type
        });
        let entry = match reused {
            Some(e) => e.clone(),
            None => Arc::new(entry(r.content_type, r.body)),
        };
        entries.insert(r.path, entry);
    }
    Snapshot {
        entries,
        built_at: Some(input.now),
    }
}
