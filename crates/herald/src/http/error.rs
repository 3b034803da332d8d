//! The one error type of the HTTP layer and its mapping to responses: JSON
//! `{"error": ..., "field": ..., "request_id": ...}` with the right status; internal details
//! are logged (with their whole source chain, inside the request's span), never sent.

use crate::service::ServiceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_core::commands::CommandError;
use herald_store::StoreError;
use serde_json::json;

/// Put on a response whose write the database refused (full disk, read-only), so readiness can
/// report it: a small probe write may still fit where a real one did not.
#[derive(Clone, Debug)]
pub struct WriteRefused(pub String);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Bad input; `field` names the offending field when there is one.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("could not authenticate")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests")]
    TooManyRequests,
    #[error("the database is unavailable")]
    Unavailable,
    /// The database answers but refuses writes (full disk, read-only); the reason is shown.
    #[error("the database cannot take writes: {0}")]
    CannotWrite(String),
    /// A duplicate, or a change that conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// Anything else; the cause is logged with its chain, the client sees "internal error".
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Forbidden(why) => AppError::Forbidden(why),
            ServiceError::Invalid { field, message } => AppError::Invalid { field, message },
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Conflict(what) => AppError::Conflict(what),
            ServiceError::Unavailable => AppError::Unavailable,
            ServiceError::CannotWrite(why) => AppError::CannotWrite(why),
            ServiceError::Internal(cause) => AppError::Internal(cause),
        }
    }
}

impl From<herald_core::text::TextError> for AppError {
    fn from(e: herald_core::text::TextError) -> Self {
        AppError::Invalid {
            field: Some(e.field),
            message: e.message,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => AppError::NotFound,
            StoreError::Invalid(e) => AppError::Invalid {
                field: None,
                message: e.to_string(),
            },
            StoreError::Command(CommandError::NotFound { .. }) => AppError::NotFound,
            StoreError::Command(CommandError::Invalid { field, message }) => AppError::Invalid {
                field: Some(field),
                message,
            },
            StoreError::Conflict { what } => AppError::Invalid {
                field: None,
                message: what,
            },
            StoreError::Unavailable(_) => AppError::Unavailable,
            StoreError::CannotWrite(why) => AppError::CannotWrite(why),
            e @ StoreError::Other(_) => AppError::Internal(e.into()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                json!({"error": "not found", "message": "not found"}),
            ),
            AppError::Invalid { field, message } => {
                let text = match field {
                    Some(f) => format!("{f}: {message}"),
                    None => message.clone(),
                };
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"error": text, "message": text, "field": field}),
                )
            }
            AppError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "Could not authenticate", "message": "Could not authenticate"}),
            ),
            AppError::Conflict(what) => (
                StatusCode::CONFLICT,
                json!({"error": what, "message": what}),
            ),
            AppError::Forbidden(why) => {
                (StatusCode::FORBIDDEN, json!({"error": why, "message": why}))
            }
            AppError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": "too many attempts; wait a minute", "message": "too many attempts; wait a minute"}),
            ),
            AppError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({
                    "error": "the database is unavailable; try again shortly",
                    "message": "the database is unavailable; try again shortly"
                }),
            ),
            AppError::CannotWrite(why) => {
                tracing::error!(reason = %why, "a write was refused by the database");
                let text = format!(
                    "the database cannot take writes right now ({why}); nothing was changed, try again later"
                );
                let mut res = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(with_request_id(json!({"error": text, "message": text}))),
                )
                    .into_response();
                res.extensions_mut().insert(WriteRefused(why.clone()));
                return res;
            }
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "internal error"}),
                )
            }
        };
        (status, Json(with_request_id(body))).into_response()
    }
}

/// Adds the current request's id to an error body, so a report can be found in the log.
fn with_request_id(mut body: serde_json::Value) -> serde_json::Value {
    if let (Some(id), Some(fields)) = (crate::http::trace::current(), body.as_object_mut()) {
        fields.insert("request_id".into(), id.as_str().into());
    }
    body
}
