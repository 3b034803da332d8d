//! The postmortem editor: Markdown body, the four sections, the timeline's zone label and note,
//! and the timeline as rows that plain submit buttons add, remove and move (no script needed).
//! One form, one `action` button: preview, save, publish or unpublish, or a row operation.

use super::{
    done, load, local_input, page, page_with_status, parse_id, parse_local, zone, Admin,
    AdminError, Fields, Reply,
};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::render::markdown;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use chrono_tz::Tz;
use herald_core::commands::{Command, PostmortemInput};
use herald_core::{Incident, PageDocument, TimelineRow};
use serde::Serialize;
use std::collections::BTreeMap;

/// The editor's routes, under `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/incidents/{id}/postmortem", get(edit).post(submit))
}

/// The text fields of the editor, by form name, with their headings.
const SECTIONS: &[(&str, &str)] = &[
    ("contributing_factors", "Contributing factors"),
    ("stabilization_steps", "Stabilization steps"),
    ("impact", "Impact"),
    ("corrective_actions", "Corrective actions"),
];

/// One timeline row as the form holds it.
#[derive(Clone, Serialize)]
struct RowForm {
    at: String,
    activity: String,
    error: Option<String>,
}

/// A section of the editor with what was typed.
#[derive(Serialize)]
struct SectionForm {
    name: &'static str,
    heading: &'static str,
    text: String,
    error: Option<String>,
}

/// The rendered Markdown, as the public page will show it.
#[derive(Serialize)]
struct Preview {
    body_html: String,
    rows: Vec<(String, String)>,
    sections: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct EditorView {
    incident_id: String,
    incident_name: String,
    incident_url: String,
    public_url: String,
    published: bool,
    resolved: bool,
    exists: bool,
    body: String,
    timeline_zone_label: String,
    timeline_note: String,
    sections: Vec<SectionForm>,
    rows: Vec<RowForm>,
    last_row: usize,
    preview: Option<Preview>,
    errors: BTreeMap<String, String>,
    time_zone: String,
}

/// What the editor holds: the stored postmortem on first view, the typed one after a submit.
struct Draft {
    body: String,
    timeline_zone_label: String,
    timeline_note: String,
    sections: BTreeMap<&'static str, String>,
    rows: Vec<RowForm>,
}

fn stored_draft(inc: &Incident, tz: Tz) -> Draft {
    let pm = inc.postmortem.as_ref();
    let text = |f: fn(&herald_core::Postmortem) -> &String| pm.map(f).cloned().unwrap_or_default();
    Draft {
        body: text(|p| &p.body),
        timeline_zone_label: pm
            .and_then(|p| p.timeline_zone_label.clone())
            .unwrap_or_default(),
        timeline_note: pm.and_then(|p| p.timeline_note.clone()).unwrap_or_default(),
        sections: BTreeMap::from([
            ("contributing_factors", text(|p| &p.contributing_factors)),
            ("stabilization_steps", text(|p| &p.stabilization_steps)),
            ("impact", text(|p| &p.impact)),
            ("corrective_actions", text(|p| &p.corrective_actions)),
        ]),
        rows: pm
            .map(|p| {
                p.timeline
                    .iter()
                    .map(|r| RowForm {
                        at: local_input(r.at, tz),
                        activity: r.activity.clone(),
                        error: None,
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn typed_draft(form: &Fields) -> Draft {
    let times = form.all("row_at");
    let activities = form.all("row_activity");
    Draft {
        body: form.get("body").to_string(),
        timeline_zone_label: form.get("timeline_zone_label").to_string(),
        timeline_note: form.get("timeline_note").to_string(),
        sections: SECTIONS
            .iter()
            .map(|(name, _)| (*name, form.get(name).to_string()))
            .collect(),
        rows: times
            .iter()
            .zip(activities.iter().chain(std::iter::repeat(&"")))
            .map(|(at, activity)| RowForm {
                at: at.to_string(),
                activity: activity.to_string(),
                error: None,
            })
            .collect(),
    }
}

fn editor_view(
    doc: &PageDocument,
    inc: &Incident,
    mut draft: Draft,
    errors: BTreeMap<String, String>,
    preview: bool,
) -> EditorView {
    let tz = zone(doc);
    for (n, row) in draft.rows.iter_mut().enumerate() {
        row.error = errors
            .get(&format!("timeline[{n}].activity"))
            .or_else(|| errors.get(&format!("timeline[{n}].at")))
            .cloned();
    }
    let preview = preview.then(|| Preview {
        body_html: markdown::to_html(&draft.body),
        rows: draft
            .rows
            .iter()
            .map(|r| {
                let at = parse_local("at", &r.at, tz)
                    .map(|t| herald_core::timefmt::wall_clock(t, tz))
                    .unwrap_or_else(|_| r.at.clone());
                (at, markdown::to_html(&r.activity))
            })
            .collect(),
        sections: SECTIONS
            .iter()
            .map(|(name, heading)| {
                let text = draft.sections.get(name).map(String::as_str).unwrap_or("");
                (*heading, markdown::to_html(text))
            })
            .filter(|(_, html)| !html.is_empty())
            .collect(),
    });
    EditorView {
        incident_id: inc.id.to_string(),
        incident_name: inc.name.clone(),
        incident_url: format!("/admin/incidents/{}", inc.id),
        public_url: format!("/incidents/{}", inc.id),
        published: inc
            .postmortem
            .as_ref()
            .is_some_and(|p| p.published_at.is_some()),
        resolved: !inc.status.is_unresolved(),
        exists: inc.postmortem.is_some(),
        body: draft.body,
        timeline_zone_label: draft.timeline_zone_label,
        timeline_note: draft.timeline_note,
        sections: SECTIONS
            .iter()
            .map(|(name, heading)| SectionForm {
                name,
                heading,
                text: draft.sections.remove(name).unwrap_or_default(),
                error: errors.get(*name).cloned(),
            })
            .collect(),
        last_row: draft.rows.len().saturating_sub(1),
        rows: draft.rows,
        preview,
        errors,
        time_zone: doc.page.time_zone.clone(),
    }
}

fn find<'a>(doc: &'a PageDocument, raw: &str) -> Result<&'a Incident, AdminError> {
    let id = parse_id(raw)?;
    doc.incident(&id).ok_or(AdminError::NotFound)
}

async fn edit(State(state): State<AppState>, admin: Admin, Path(raw): Path<String>) -> Reply {
    let doc = load(&state).await?;
    let inc = find(&doc, &raw)?;
    let draft = stored_draft(inc, zone(&doc));
    let view = editor_view(&doc, inc, draft, BTreeMap::new(), false);
    let title = format!("Postmortem: {}", inc.name);
    page(&admin, "incidents", &title, "postmortem.html", view)
}

/// What the pressed button asks for.
enum Action {
    Preview,
    Save,
    Publish,
    Unpublish,
    AddRow,
    RemoveRow(usize),
    MoveUp(usize),
    MoveDown(usize),
}

fn action(raw: &str) -> Action {
    let row = |prefix: &str| raw.strip_prefix(prefix).and_then(|n| n.parse().ok());
    if let Some(n) = row("remove-") {
        Action::RemoveRow(n)
    } else if let Some(n) = row("up-") {
        Action::MoveUp(n)
    } else if let Some(n) = row("down-") {
        Action::MoveDown(n)
    } else {
        match raw {
            "preview" => Action::Preview,
            "publish" => Action::Publish,
            "unpublish" => Action::Unpublish,
            "add-row" => Action::AddRow,
            _ => Action::Save,
        }
    }
}

/// The command input from a typed draft; a row whose time cannot be read is refused.
fn input(draft: &Draft, tz: Tz) -> Result<PostmortemInput, AppError> {
    let timeline = draft
        .rows
        .iter()
        .enumerate()
        .map(|(n, r)| {
            Ok(TimelineRow {
                at: parse_local(&format!("timeline[{n}].at"), &r.at, tz)?,
                activity: r.activity.clone(),
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let optional = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let section = |name: &str| Some(draft.sections.get(name).cloned().unwrap_or_default());
    Ok(PostmortemInput {
        body: Some(draft.body.clone()),
        timeline_zone_label: Some(optional(&draft.timeline_zone_label)),
        timeline_note: Some(optional(&draft.timeline_note)),
        timeline: Some(timeline),
        contributing_factors: section("contributing_factors"),
        stabilization_steps: section("stabilization_steps"),
        impact: section("impact"),
        corrective_actions: section("corrective_actions"),
    })
}

/// `POST /admin/incidents/{id}/postmortem`.
async fn submit(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let doc = load(&state).await?;
    let inc = find(&doc, &raw)?;
    let tz = zone(&doc);
    let mut draft = typed_draft(&form);
    let rows = &mut draft.rows;
    let title = format!("Postmortem: {}", inc.name);
    let again = |draft: Draft, preview: bool| {
        let view = editor_view(&doc, inc, draft, BTreeMap::new(), preview);
        page(&admin, "incidents", &title, "postmortem.html", view)
    };
    match action(form.get("action")) {
        Action::Preview => again(draft, true),
        Action::AddRow => {
            let at = rows
                .last()
                .map(|r| r.at.clone())
                .unwrap_or_else(|| local_input(inc.started_at, tz));
            rows.push(RowForm {
                at,
                activity: String::new(),
                error: None,
            });
            again(draft, false)
        }
        Action::RemoveRow(n) => {
            if n < rows.len() {
                rows.remove(n);
            }
            again(draft, false)
        }
        Action::MoveUp(n) => {
            if n > 0 && n < rows.len() {
                rows.swap(n - 1, n);
            }
            again(draft, false)
        }
        Action::MoveDown(n) => {
            if n + 1 < rows.len() {
                rows.swap(n, n + 1);
            }
            again(draft, false)
        }
        Action::Save => save(&state, &admin, inc, draft, tz, None).await,
        Action::Publish => {
            let publish = Command::PublishPostmortem {
                incident: inc.id.clone(),
            };
            save(&state, &admin, inc, draft, tz, Some(publish)).await
        }
        Action::Unpublish => {
            let revert = Command::RevertPostmortem {
                incident: inc.id.clone(),
            };
            save(&state, &admin, inc, draft, tz, Some(revert)).await
        }
    }
}

/// Saves the draft, then runs `then` (publish or unpublish); a refusal sends the editor back
/// with what was typed and the message next to its field.
async fn save(
    state: &AppState,
    admin: &Admin,
    inc: &Incident,
    draft: Draft,
    tz: Tz,
    then: Option<Command>,
) -> Reply {
    let url = format!("/admin/incidents/{}/postmortem", inc.id);
    let caller = admin.caller();
    let written = async {
        let command = Command::SavePostmortem {
            incident: inc.id.clone(),
            input: input(&draft, tz)?,
        };
        state.write(&caller, command).await?;
        if let Some(next) = then {
            state.write(&caller, next).await?;
        }
        Ok::<_, AppError>(())
    }
    .await;
    match written {
        Ok(()) => done(&url),
        Err(AppError::Invalid { field, message }) => {
            let doc = load(state).await?;
            let inc = doc.incident(&inc.id).ok_or(AdminError::NotFound)?;
            let key = field.unwrap_or_else(|| "form".into());
            let errors = BTreeMap::from([(key, message)]);
            let view = editor_view(&doc, inc, draft, errors, false);
            let title = format!("Postmortem: {}", inc.name);
            page_with_status(
                admin,
                "incidents",
                &title,
                "postmortem.html",
                view,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_buttons_are_read() {
        assert!(matches!(action("up-2"), Action::MoveUp(2)));
        assert!(matches!(action("down-0"), Action::MoveDown(0)));
        assert!(matches!(action("remove-1"), Action::RemoveRow(1)));
        assert!(matches!(action("add-row"), Action::AddRow));
        assert!(matches!(action("publish"), Action::Publish));
        assert!(matches!(action(""), Action::Save));
    }
}
