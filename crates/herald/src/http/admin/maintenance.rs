//! Scheduled maintenance in the admin UI: the list with each window's status, a form to
//! schedule one (times typed in the page's zone), and per window an update form (status and
//! message), a "complete" button and delete.

use super::{
    choices, done, invalid, load, local_input, page, page_with_status, parse_id, parse_local,
    shown, zone, Admin, Choice, Fields, FormState, Reply,
};
use crate::http::error::AppError;
use crate::http::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use chrono::Duration;
use chrono_tz::Tz;
use herald_core::commands::{Command, MaintenanceInput};
use herald_core::{Id, MaintenanceStatus, PageDocument};
use serde::Serialize;

/// The maintenance routes, under `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/maintenance", get(list).post(create))
        .route("/maintenance/{id}", post(update))
        .route("/maintenance/{id}/delete", post(delete))
}

/// A component that can be ticked for a window.
#[derive(Serialize)]
struct Pick {
    id: String,
    name: String,
}

/// One window in the list.
#[derive(Serialize)]
struct Window {
    id: String,
    name: String,
    status: &'static str,
    status_label: &'static str,
    window: String,
    components: Vec<String>,
    last_update: String,
    completed: bool,
    public_url: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct ListView {
    windows: Vec<Window>,
    components: Vec<Pick>,
    statuses: Vec<Choice>,
    form: FormState,
    time_zone: String,
}

fn list_view(doc: &PageDocument, form: FormState, refused: Option<(&str, String)>) -> ListView {
    let tz = zone(doc);
    ListView {
        windows: doc
            .maintenances
            .iter()
            .map(|m| Window {
                id: m.id.to_string(),
                name: m.name.clone(),
                status: m.status.as_str(),
                status_label: m.status.label(),
                window: format!(
                    "{} to {}",
                    shown(m.scheduled_for, tz),
                    shown(m.scheduled_until, tz)
                ),
                components: m
                    .component_ids
                    .iter()
                    .filter_map(|c| doc.component(c).map(|c| c.name.clone()))
                    .collect(),
                last_update: m
                    .updates
                    .first()
                    .map(|u| u.body.clone())
                    .unwrap_or_default(),
                completed: m.status == MaintenanceStatus::Completed,
                public_url: format!("/maintenance/{}", m.id),
                error: refused
                    .as_ref()
                    .filter(|(id, _)| *id == m.id.as_str())
                    .map(|(_, e)| e.clone()),
            })
            .collect(),
        components: doc
            .components
            .iter()
            .map(|c| Pick {
                id: c.id.to_string(),
                name: c.name.clone(),
            })
            .collect(),
        statuses: choices(
            MaintenanceStatus::ALL,
            MaintenanceStatus::as_str,
            MaintenanceStatus::label,
        ),
        form,
        time_zone: doc.page.time_zone.clone(),
    }
}

/// A fresh scheduling form: tomorrow at this hour, for two hours.
fn fresh(doc: &PageDocument, state: &AppState) -> FormState {
    let tz = zone(doc);
    let start = (state.clock)() + Duration::days(1);
    FormState::new([
        ("scheduled_for", local_input(start, tz)),
        (
            "scheduled_until",
            local_input(start + Duration::hours(2), tz),
        ),
        ("auto_start", "on".into()),
        ("auto_complete", "on".into()),
    ])
}

async fn list(State(state): State<AppState>, admin: Admin) -> Reply {
    let doc = load(&state).await?;
    let view = list_view(&doc, fresh(&doc, &state), None);
    page(
        &admin,
        "maintenance",
        "Maintenance",
        "maintenance.html",
        view,
    )
}

fn create_input(form: &Fields, tz: Tz) -> Result<MaintenanceInput, AppError> {
    let component_ids = form
        .all("component_ids")
        .into_iter()
        .map(|raw| Id::parse(raw).map_err(|_| invalid("component_ids", "is not a component")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MaintenanceInput {
        name: Some(form.get("name").to_string()),
        body: Some(form.get("body").to_string()),
        scheduled_for: Some(parse_local("scheduled_for", form.get("scheduled_for"), tz)?),
        scheduled_until: Some(parse_local(
            "scheduled_until",
            form.get("scheduled_until"),
            tz,
        )?),
        auto_start: Some(form.checked("auto_start")),
        auto_complete: Some(form.checked("auto_complete")),
        component_ids: Some(component_ids),
        deliver_notifications: Some(true),
        ..Default::default()
    })
}

async fn create(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let doc = load(&state).await?;
    let written = match create_input(&form, zone(&doc)) {
        Ok(input) => state
            .write(&admin.caller(), Command::CreateMaintenance(input))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => done("/admin/maintenance"),
        Err(e @ AppError::Invalid { .. }) => {
            let view = list_view(&doc, FormState::refused(&form, &e), None);
            page_with_status(
                &admin,
                "maintenance",
                "Maintenance",
                "maintenance.html",
                view,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/maintenance/{id}`: a new status and message ("complete" sends `completed`).
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let id = parse_id(&raw)?;
    let input = MaintenanceStatus::parse(form.get("status"))
        .ok_or_else(|| invalid("status", "choose one of the listed statuses"))
        .map(|status| MaintenanceInput {
            status: Some(status),
            body: Some(form.get("body").to_string()),
            ..Default::default()
        });
    let written = match input {
        Ok(input) => state
            .write(&admin.caller(), Command::UpdateMaintenance { id, input })
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => done("/admin/maintenance"),
        Err(e @ AppError::Invalid { .. }) => {
            let doc = load(&state).await?;
            let view = list_view(&doc, fresh(&doc, &state), Some((&raw, e.to_string())));
            page_with_status(
                &admin,
                "maintenance",
                "Maintenance",
                "maintenance.html",
                view,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let id = parse_id(&raw)?;
    state
        .write(&admin.caller(), Command::DeleteMaintenance { id })
        .await?;
    done("/admin/maintenance")
}
