//! Incident pages of the admin UI: the list, the one "open incident" form, backfilling a past
//! incident, and an incident's own page with its updates, the "post update" form, editing an
//! update's text and time, resolving and deleting.

use super::{
    choices, done, invalid, load, local_input, page, page_with_status, parse_id, parse_local,
    shown, zone, Admin, AdminError, Choice, Fields, FormState, Reply,
};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::render::markdown;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono_tz::Tz;
use herald_core::commands::{Command, IncidentInput};
use herald_core::{ComponentStatus, Id, Impact, Incident, IncidentStatus, PageDocument};
use serde::Serialize;

/// The incident routes, under `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list).post(open))
        .route("/incidents/new", get(new_form))
        .route("/incidents/backfill", get(backfill_form).post(backfill))
        .route("/incidents/{id}", get(show))
        .route("/incidents/{id}/updates", post(post_update))
        .route("/incidents/{id}/updates/{update}", post(edit_update))
        .route(
            "/incidents/{id}/updates/{update}/delete",
            post(delete_update),
        )
        .route("/incidents/{id}/resolve", post(resolve))
        .route("/incidents/{id}/delete", post(delete))
}

/// One line of the incident list.
#[derive(Serialize)]
struct Row {
    url: String,
    name: String,
    status: &'static str,
    impact: &'static str,
    started: String,
    backfilled: bool,
}

#[derive(Serialize)]
struct ListView {
    open: Vec<Row>,
    closed: Vec<Row>,
}

fn row(i: &Incident, tz: Tz) -> Row {
    Row {
        url: format!("/admin/incidents/{}", i.id),
        name: i.name.clone(),
        status: i.status.label(),
        impact: i.impact.label(),
        started: shown(i.started_at, tz),
        backfilled: i.backfilled,
    }
}

async fn list(State(state): State<AppState>, admin: Admin) -> Reply {
    let doc = load(&state).await?;
    let tz = zone(&doc);
    let (open, closed): (Vec<_>, Vec<_>) =
        doc.incidents.iter().partition(|i| i.status.is_unresolved());
    let view = ListView {
        open: open.into_iter().map(|i| row(i, tz)).collect(),
        closed: closed.into_iter().map(|i| row(i, tz)).collect(),
    };
    page(&admin, "incidents", "Incidents", "incidents.html", view)
}

/// A component in a form, with a select for its new status.
#[derive(Serialize)]
struct ComponentPick {
    field: String,
    name: String,
    current: &'static str,
}

fn component_picks(doc: &PageDocument) -> Vec<ComponentPick> {
    doc.components
        .iter()
        .map(|c| {
            let group = c
                .group_id
                .as_ref()
                .and_then(|g| doc.groups.iter().find(|x| &x.id == g));
            ComponentPick {
                field: format!("components.{}", c.id),
                name: match group {
                    Some(g) => format!("{} / {}", g.name, c.name),
                    None => c.name.clone(),
                },
                current: c.status.label(),
            }
        })
        .collect()
}

/// The choices the incident forms offer.
#[derive(Serialize)]
struct Options {
    statuses: Vec<Choice>,
    impacts: Vec<Choice>,
    component_statuses: Vec<Choice>,
    components: Vec<ComponentPick>,
}

fn options(doc: &PageDocument, statuses: &[IncidentStatus]) -> Options {
    Options {
        statuses: choices(statuses, IncidentStatus::as_str, IncidentStatus::label),
        impacts: choices(
            &[Impact::None, Impact::Minor, Impact::Major, Impact::Critical],
            Impact::as_str,
            Impact::label,
        ),
        component_statuses: choices(
            ComponentStatus::ALL,
            ComponentStatus::as_str,
            ComponentStatus::label,
        ),
        components: component_picks(doc),
    }
}

const OPEN_STATUSES: &[IncidentStatus] = &[
    IncidentStatus::Investigating,
    IncidentStatus::Identified,
    IncidentStatus::Monitoring,
    IncidentStatus::Resolved,
];

#[derive(Serialize)]
struct NewView {
    options: Options,
    form: FormState,
    templates: Vec<TemplateLink>,
}

/// A template the form can start from.
#[derive(Serialize)]
struct TemplateLink {
    id: String,
    name: String,
    chosen: bool,
}

/// `GET /admin/incidents/new[?template=ID]`: the form, filled from a template when one is named.
async fn new_form(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Reply {
    let doc = load(&state).await?;
    let templates = state.store.list_templates().await.map_err(AppError::from)?;
    let chosen = query
        .get("template")
        .and_then(|t| templates.iter().find(|x| x.id.as_str() == t));
    let mut form = FormState::new([
        ("status", "investigating".into()),
        ("deliver_notifications", "on".into()),
    ]);
    if let Some(t) = chosen {
        form.values.insert("name".into(), t.title.clone());
        form.values.insert("body".into(), t.body.clone());
        if let Some(s) = t.update_status.filter(|s| OPEN_STATUSES.contains(s)) {
            form.values.insert("status".into(), s.as_str().into());
        }
        if !t.should_send_notifications {
            form.values.remove("deliver_notifications");
        }
    }
    let view = NewView {
        options: options(&doc, OPEN_STATUSES),
        form,
        templates: templates
            .iter()
            .map(|t| TemplateLink {
                id: t.id.to_string(),
                name: t.name.clone(),
                chosen: chosen.is_some_and(|c| c.id == t.id),
            })
            .collect(),
    };
    page(
        &admin,
        "incidents",
        "Open incident",
        "incident_new.html",
        view,
    )
}

/// The status select; anything not listed is refused.
fn parse_status(form: &Fields) -> Result<IncidentStatus, AppError> {
    IncidentStatus::parse(form.get("status"))
        .ok_or_else(|| invalid("status", "choose one of the listed statuses"))
}

/// An empty impact means "from the components' statuses".
fn parse_impact(form: &Fields) -> Result<Option<Impact>, AppError> {
    match form.get("impact") {
        "" => Ok(None),
        raw => Impact::parse(raw)
            .filter(|i| *i != Impact::Maintenance)
            .map(Some)
            .ok_or_else(|| invalid("impact", "choose one of the listed impacts")),
    }
}

/// The `components.<id>` selects that ask for a new status (empty means unchanged).
fn parse_components(form: &Fields) -> Result<Vec<(Id, ComponentStatus)>, AppError> {
    form.with_prefix("components.")
        .filter(|(_, v)| !v.is_empty())
        .map(|(id, v)| {
            let field = format!("components.{id}");
            let id = Id::parse(id).map_err(|_| invalid(&field, "is not a component"))?;
            let status = ComponentStatus::parse(v)
                .ok_or_else(|| invalid(&field, "choose one of the listed statuses"))?;
            Ok((id, status))
        })
        .collect()
}

/// The domain names the impact field `impact_override`, as the manage API does.
fn form_field(error: AppError) -> AppError {
    match error {
        AppError::Invalid {
            field: Some(f),
            message,
        } if f == "impact_override" => invalid("impact", message),
        other => other,
    }
}

fn incident_input(form: &Fields) -> Result<IncidentInput, AppError> {
    Ok(IncidentInput {
        name: Some(form.get("name").to_string()),
        status: Some(parse_status(form)?),
        impact: parse_impact(form)?,
        body: Some(form.get("body").to_string()),
        components: parse_components(form)?,
        deliver_notifications: Some(form.checked("deliver_notifications")),
        ..Default::default()
    })
}

/// `POST /admin/incidents`: opens an incident from the one form.
async fn open(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let written = match incident_input(&form) {
        Ok(input) => state
            .write(&admin.caller(), Command::CreateIncident(input))
            .await
            .map_err(form_field),
        Err(e) => Err(e),
    };
    match written {
        Ok(applied) => match applied.subject {
            Some(id) => done(&format!("/admin/incidents/{id}")),
            None => done("/admin/incidents"),
        },
        Err(e @ AppError::Invalid { .. }) => {
            let doc = load(&state).await?;
            let view = NewView {
                options: options(&doc, OPEN_STATUSES),
                form: FormState::refused(&form, &e),
                templates: vec![],
            };
            page_with_status(
                &admin,
                "incidents",
                "Open incident",
                "incident_new.html",
                view,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
struct BackfillView {
    options: Options,
    form: FormState,
}

async fn backfill_form(State(state): State<AppState>, admin: Admin) -> Reply {
    let doc = load(&state).await?;
    let view = BackfillView {
        options: options(&doc, &[]),
        form: FormState::new([("impact", "minor".into())]),
    };
    page(
        &admin,
        "incidents",
        "Backfill incident",
        "backfill.html",
        view,
    )
}

fn backfill_input(form: &Fields, tz: Tz) -> Result<IncidentInput, AppError> {
    Ok(IncidentInput {
        name: Some(form.get("name").to_string()),
        impact: parse_impact(form)?,
        body: Some(form.get("body").to_string()),
        backfilled: true,
        backfill_date: Some(parse_local("backfill_date", form.get("backfill_date"), tz)?),
        deliver_notifications: Some(false),
        ..Default::default()
    })
}

/// `POST /admin/incidents/backfill`: records a past incident, resolved, at the given time.
async fn backfill(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let doc = load(&state).await?;
    let tz = zone(&doc);
    let input = backfill_input(&form, tz);
    let written = match input {
        Ok(input) => state
            .write(&admin.caller(), Command::CreateIncident(input))
            .await
            .map_err(form_field),
        Err(e) => Err(e),
    };
    match written {
        Ok(applied) => match applied.subject {
            Some(id) => done(&format!("/admin/incidents/{id}")),
            None => done("/admin/incidents"),
        },
        Err(e @ AppError::Invalid { .. }) => {
            let view = BackfillView {
                options: options(&doc, &[]),
                form: FormState::refused(&form, &e),
            };
            page_with_status(
                &admin,
                "incidents",
                "Backfill incident",
                "backfill.html",
                view,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// A component affected by an update: its name and the move.
#[derive(Serialize)]
struct Affected {
    name: String,
    from: &'static str,
    to: &'static str,
}

/// One posted update, with its edit form's values.
#[derive(Serialize)]
struct UpdateView {
    id: String,
    status: &'static str,
    body: String,
    body_html: String,
    posted: String,
    display_at: String,
    affected: Vec<Affected>,
    error: Option<String>,
}

#[derive(Serialize)]
struct IncidentView {
    id: String,
    name: String,
    status: &'static str,
    status_label: &'static str,
    impact: &'static str,
    started: String,
    resolved: Option<String>,
    unresolved: bool,
    backfilled: bool,
    public_url: String,
    postmortem: Option<&'static str>,
    updates: Vec<UpdateView>,
    options: Options,
    form: FormState,
    time_zone: String,
}

/// The incident page, with the "post update" form in `form` and an edit refusal if any.
fn incident_view(
    doc: &PageDocument,
    inc: &Incident,
    form: FormState,
    edit_error: Option<(&str, String)>,
) -> IncidentView {
    let tz = zone(doc);
    let name_of = |id: &Id| {
        doc.component(id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    IncidentView {
        id: inc.id.to_string(),
        name: inc.name.clone(),
        status: inc.status.as_str(),
        status_label: inc.status.label(),
        impact: inc.impact.label(),
        started: shown(inc.started_at, tz),
        resolved: inc.resolved_at.map(|t| shown(t, tz)),
        unresolved: inc.status.is_unresolved(),
        backfilled: inc.backfilled,
        public_url: format!("/incidents/{}", inc.id),
        postmortem: inc.postmortem.as_ref().map(|p| {
            if p.published_at.is_some() {
                "published"
            } else {
                "draft"
            }
        }),
        updates: inc
            .updates
            .iter()
            .map(|u| UpdateView {
                id: u.id.to_string(),
                status: u.status.label(),
                body: u.body.clone(),
                body_html: markdown::to_html(&u.body),
                posted: shown(u.display_at, tz),
                display_at: local_input(u.display_at, tz),
                affected: u
                    .affected_components
                    .iter()
                    .map(|a| Affected {
                        name: name_of(&a.component_id),
                        from: a.old_status.label(),
                        to: a.new_status.label(),
                    })
                    .collect(),
                error: edit_error
                    .as_ref()
                    .filter(|(id, _)| *id == u.id.as_str())
                    .map(|(_, m)| m.clone()),
            })
            .collect(),
        options: options(doc, OPEN_STATUSES),
        form,
        time_zone: doc.page.time_zone.clone(),
    }
}

fn find<'a>(doc: &'a PageDocument, raw: &str) -> Result<&'a Incident, AdminError> {
    let id = parse_id(raw)?;
    doc.incident(&id).ok_or(AdminError::NotFound)
}

fn update_defaults(inc: &Incident) -> FormState {
    FormState::new([
        ("status", inc.status.as_str().to_string()),
        ("deliver_notifications", "on".into()),
    ])
}

async fn show(State(state): State<AppState>, admin: Admin, Path(raw): Path<String>) -> Reply {
    let doc = load(&state).await?;
    let inc = find(&doc, &raw)?;
    let view = incident_view(&doc, inc, update_defaults(inc), None);
    page(&admin, "incidents", &inc.name, "incident.html", view)
}

/// Sends the incident page back with a refused form.
async fn refused_page(
    state: &AppState,
    admin: &Admin,
    raw: &str,
    form: FormState,
    edit_error: Option<(&str, String)>,
) -> Reply {
    let doc = load(state).await?;
    let inc = find(&doc, raw)?;
    let view = incident_view(&doc, inc, form, edit_error);
    page_with_status(
        admin,
        "incidents",
        &inc.name,
        "incident.html",
        view,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

/// `POST /admin/incidents/{id}/updates`: posts an update (status, message, components).
async fn post_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let id = parse_id(&raw)?;
    let input = parse_status(&form).and_then(|status| {
        Ok(IncidentInput {
            status: Some(status),
            body: Some(form.get("body").to_string()),
            components: parse_components(&form)?,
            deliver_notifications: Some(form.checked("deliver_notifications")),
            ..Default::default()
        })
    });
    let written = match input {
        Ok(input) => state
            .write(&admin.caller(), Command::UpdateIncident { id, input })
            .await
            .map_err(form_field),
        Err(e) => Err(e),
    };
    match written {
        Ok(_) => done(&format!("/admin/incidents/{raw}")),
        Err(e @ AppError::Invalid { .. }) => {
            refused_page(&state, &admin, &raw, FormState::refused(&form, &e), None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/incidents/{id}/resolve`: resolves it and puts its components back to
/// operational.
async fn resolve(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let doc = load(&state).await?;
    let inc = find(&doc, &raw)?;
    let components = inc
        .component_ids
        .iter()
        .filter(|c| {
            doc.component(c)
                .is_some_and(|c| c.status != ComponentStatus::Operational)
        })
        .map(|c| (c.clone(), ComponentStatus::Operational))
        .collect();
    let body = match form.get("body").trim() {
        "" => "This incident has been resolved.".to_string(),
        text => text.to_string(),
    };
    let input = IncidentInput {
        status: Some(IncidentStatus::Resolved),
        body: Some(body),
        components,
        deliver_notifications: Some(true),
        ..Default::default()
    };
    let command = Command::UpdateIncident {
        id: inc.id.clone(),
        input,
    };
    match state.write(&admin.caller(), command).await {
        Ok(_) => done(&format!("/admin/incidents/{raw}")),
        Err(e @ AppError::Invalid { .. }) => {
            let mut refused = update_defaults(inc);
            refused.errors.insert("status".into(), e.to_string());
            refused_page(&state, &admin, &raw, refused, None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/incidents/{id}/updates/{update}`: edits an update's message and shown time.
async fn edit_update(
    State(state): State<AppState>,
    admin: Admin,
    Path((raw, raw_update)): Path<(String, String)>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let doc = load(&state).await?;
    let inc = find(&doc, &raw)?;
    let update = parse_id(&raw_update)?;
    let command = parse_local("display_at", form.get("display_at"), zone(&doc)).map(|at| {
        Command::EditUpdate {
            incident: inc.id.clone(),
            update,
            body: Some(form.get("body").to_string()),
            display_at: Some(at),
            deliver_notifications: None,
        }
    });
    let written = match command {
        Ok(c) => state.write(&admin.caller(), c).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => done(&format!("/admin/incidents/{raw}")),
        Err(e @ AppError::Invalid { .. }) => {
            let defaults = update_defaults(inc);
            refused_page(
                &state,
                &admin,
                &raw,
                defaults,
                Some((&raw_update, e.to_string())),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/incidents/{id}/updates/{update}/delete`: removes one update.
async fn delete_update(
    State(state): State<AppState>,
    admin: Admin,
    Path((raw, raw_update)): Path<(String, String)>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let doc = load(&state).await?;
    let inc = find(&doc, &raw)?;
    let command = Command::DeleteUpdate {
        incident: inc.id.clone(),
        update: parse_id(&raw_update)?,
    };
    match state.write(&admin.caller(), command).await {
        Ok(_) => done(&format!("/admin/incidents/{raw}")),
        Err(e @ AppError::Invalid { .. }) => {
            refused_page(
                &state,
                &admin,
                &raw,
                update_defaults(inc),
                Some((&raw_update, e.to_string())),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/incidents/{id}/delete`.
async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let id = parse_id(&raw)?;
    state
        .write(&admin.caller(), Command::DeleteIncident { id })
        .await?;
    done("/admin/incidents")
}
