//! Request bodies: JSON, or form-encoded as Statuspage's Rails clients send it. Any problem
//! becomes the same JSON error as everything else, naming the field.

use crate::app::AppState;
use crate::http::error::AppError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A deserialised query string; a bad one is a 422 naming the problem, like a bad body.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(AppError::Invalid {
                field: None,
                message: e.body_text(),
            }),
        }
    }
}

/// A deserialised request body.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::Invalid {
                field: None,
                message: format!("unreadable body: {e}"),
            })?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(AppError::Invalid {
                field: None,
                message: "the body is too large".into(),
            });
        }
        let value: serde_json::Value = if form {
            crate::http::form::to_json(&bytes)
        } else if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(|e| AppError::Invalid {
                field: None,
                message: format!("the body is not valid JSON: {e}"),
            })?
        };
        parse(value).map(Body)
    }
}

/// Deserialises a JSON value, naming the offending field on failure.
pub fn parse<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        AppError::Invalid {
            field: (path != ".").then_some(path),
            message: e.inner().to_string(),
        }
    })
}
