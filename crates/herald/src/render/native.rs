//! Herald's own JSON read of the page: `/api/herald/v1/page`, the whole document with its status.

use super::{RenderContext, Rendered, JSON};
use serde::Serialize;

#[derive(Serialize)]
struct PageRead<'a> {
    #[serde(flatten)]
    doc: &'a herald_core::PageDocument,
    status: herald_core::indicator::PageStatus,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn render(ctx: &RenderContext) -> Vec<Rendered> {
    let read = PageRead {
        doc: ctx.doc,
        status: ctx.doc.status(),
        updated_at: ctx.doc.updated_at(),
    };
    let body = serde_json::to_vec_pretty(&read).unwrap_or_default();
    vec![Rendered::new("/api/herald/v1/page", JSON, body)]
}
