//! Components and component groups in the admin UI: one page listing both, with forms to
//! create, edit (name, description, group, position, status) and delete each.

use super::{
    choices, done, invalid, load, page, page_with_status, parse_id, Admin, Choice, Fields, Reply,
};
use crate::http::error::AppError;
use crate::http::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use herald_core::commands::{Command, ComponentInput, GroupInput};
use herald_core::{ComponentStatus, Id, PageDocument};
use serde::Serialize;
use std::collections::BTreeMap;

/// The component and group routes, under `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/components", get(list).post(create_component))
        .route("/components/{id}", post(update_component))
        .route("/components/{id}/delete", post(delete_component))
        .route("/groups", post(create_group))
        .route("/groups/{id}", post(update_group))
        .route("/groups/{id}/delete", post(delete_group))
}

/// A component's edit form, filled from the store or from what was typed.
#[derive(Serialize)]
struct ComponentForm {
    id: String,
    name: String,
    description: String,
    group_id: String,
    position: String,
    status: String,
    errors: BTreeMap<String, String>,
}

/// A group's edit form.
#[derive(Serialize)]
struct GroupForm {
    id: String,
    name: String,
    description: String,
    position: String,
    errors: BTreeMap<String, String>,
}

/// A group option of the component forms.
#[derive(Serialize)]
struct GroupChoice {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct ListView {
    components: Vec<ComponentForm>,
    groups: Vec<GroupForm>,
    group_choices: Vec<GroupChoice>,
    statuses: Vec<Choice>,
    new_component: ComponentForm,
    new_group: GroupForm,
}

/// Which form was sent back refused, with what was typed and why.
struct Refusal<'a> {
    form: &'a str,
    fields: &'a Fields,
    errors: BTreeMap<String, String>,
}

impl Refusal<'_> {
    /// The typed value of `name` when `form` is the refused one.
    fn typed(&self, form: &str, name: &str) -> Option<String> {
        (self.form == form).then(|| self.fields.get(name).to_string())
    }

    fn errors(&self, form: &str) -> BTreeMap<String, String> {
        if self.form == form {
            self.errors.clone()
        } else {
            BTreeMap::new()
        }
    }
}

fn list_view(doc: &PageDocument, refusal: Option<&Refusal>) -> ListView {
    let typed = |form: &str, name: &str, stored: String| {
        refusal.and_then(|r| r.typed(form, name)).unwrap_or(stored)
    };
    let errors = |form: &str| refusal.map(|r| r.errors(form)).unwrap_or_default();
    let component = |key: &str, c: Option<&herald_core::Component>| ComponentForm {
        id: c.map(|c| c.id.to_string()).unwrap_or_default(),
        name: typed(key, "name", c.map(|c| c.name.clone()).unwrap_or_default()),
        description: typed(
            key,
            "description",
            c.and_then(|c| c.description.clone()).unwrap_or_default(),
        ),
        group_id: typed(
            key,
            "group_id",
            c.and_then(|c| c.group_id.as_ref().map(Id::to_string))
                .unwrap_or_default(),
        ),
        position: typed(
            key,
            "position",
            c.map(|c| c.position.to_string()).unwrap_or_default(),
        ),
        status: typed(
            key,
            "status",
            c.map(|c| c.status.as_str())
                .unwrap_or(ComponentStatus::Operational.as_str())
                .to_string(),
        ),
        errors: errors(key),
    };
    let group = |key: &str, g: Option<&herald_core::ComponentGroup>| GroupForm {
        id: g.map(|g| g.id.to_string()).unwrap_or_default(),
        name: typed(key, "name", g.map(|g| g.name.clone()).unwrap_or_default()),
        description: typed(
            key,
            "description",
            g.and_then(|g| g.description.clone()).unwrap_or_default(),
        ),
        position: typed(
            key,
            "position",
            g.map(|g| g.position.to_string()).unwrap_or_default(),
        ),
        errors: errors(key),
    };
    ListView {
        components: doc
            .components
            .iter()
            .map(|c| component(&format!("component-{}", c.id), Some(c)))
            .collect(),
        groups: doc
            .groups
            .iter()
            .map(|g| group(&format!("group-{}", g.id), Some(g)))
            .collect(),
        group_choices: doc
            .groups
            .iter()
            .map(|g| GroupChoice {
                id: g.id.to_string(),
                name: g.name.clone(),
            })
            .collect(),
        statuses: choices(
            ComponentStatus::ALL,
            ComponentStatus::as_str,
            ComponentStatus::label,
        ),
        new_component: component("new-component", None),
        new_group: group("new-group", None),
    }
}

async fn list(State(state): State<AppState>, admin: Admin) -> Reply {
    let doc = load(&state).await?;
    page(
        &admin,
        "components",
        "Components",
        "components.html",
        list_view(&doc, None),
    )
}

/// Runs `command` (or the form's own refusal) and answers with the list again; a refused form
/// comes back with what was typed.
async fn run(
    state: &AppState,
    admin: &Admin,
    fields: &Fields,
    form: &str,
    command: Result<Command, AppError>,
) -> Reply {
    let written = match command {
        Ok(c) => state.write(&admin.caller(), c).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => done("/admin/components"),
        Err(AppError::Invalid { field, message }) => {
            let doc = load(state).await?;
            let refusal = Refusal {
                form,
                fields,
                errors: BTreeMap::from([(field.unwrap_or_else(|| "form".into()), message)]),
            };
            page_with_status(
                admin,
                "components",
                "Components",
                "components.html",
                list_view(&doc, Some(&refusal)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// An optional text field: blank means none.
fn optional(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A position field: blank means "at the end" (or unchanged).
fn position(form: &Fields) -> Result<Option<i32>, AppError> {
    match form.get("position").trim() {
        "" => Ok(None),
        raw => raw
            .parse::<i32>()
            .ok()
            .filter(|p| *p >= 1)
            .map(Some)
            .ok_or_else(|| invalid("position", "must be a whole number from 1")),
    }
}

fn group_id(form: &Fields) -> Result<Option<Id>, AppError> {
    match form.get("group_id") {
        "" => Ok(None),
        raw => Id::parse(raw)
            .map(Some)
            .map_err(|_| invalid("group_id", "choose one of the listed groups")),
    }
}

fn component_input(form: &Fields) -> Result<ComponentInput, AppError> {
    let status = ComponentStatus::parse(form.get("status"))
        .ok_or_else(|| invalid("status", "choose one of the listed statuses"))?;
    Ok(ComponentInput {
        name: Some(form.get("name").to_string()),
        description: Some(optional(form.get("description"))),
        status: Some(status),
        group_id: Some(group_id(form)?),
        position: position(form)?,
        ..Default::default()
    })
}

async fn create_component(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let command = component_input(&form).map(Command::CreateComponent);
    run(&state, &admin, &form, "new-component", command).await
}

async fn update_component(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let id = parse_id(&raw)?;
    let command = component_input(&form).map(|input| Command::UpdateComponent {
        id,
        input,
        cause: "manual".into(),
    });
    run(&state, &admin, &form, &format!("component-{raw}"), command).await
}

async fn delete_component(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let id = parse_id(&raw)?;
    let command = Ok(Command::DeleteComponent { id });
    run(&state, &admin, &form, &format!("component-{raw}"), command).await
}

fn group_input(form: &Fields) -> Result<GroupInput, AppError> {
    Ok(GroupInput {
        name: Some(form.get("name").to_string()),
        description: Some(optional(form.get("description"))),
        position: position(form)?,
        component_ids: None,
    })
}

async fn create_group(State(state): State<AppState>, admin: Admin, form: Fields) -> Reply {
    admin.may_write(&form)?;
    let command = group_input(&form).map(Command::CreateGroup);
    run(&state, &admin, &form, "new-group", command).await
}

async fn update_group(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let id = parse_id(&raw)?;
    let command = group_input(&form).map(|input| Command::UpdateGroup { id, input });
    run(&state, &admin, &form, &format!("group-{raw}"), command).await
}

async fn delete_group(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    form: Fields,
) -> Reply {
    admin.may_write(&form)?;
    let id = parse_id(&raw)?;
    let command = Ok(Command::DeleteGroup { id });
    run(&state, &admin, &form, &format!("group-{raw}"), command).await
}
