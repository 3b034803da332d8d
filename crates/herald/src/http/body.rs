//! Request bodies: JSON, or form-encoded as Statuspage's Rails clients send it. Any problem
//! becomes the same JSON error as everything else, naming the field.
//!
//! Every reader here is bounded (size, nesting, member and pair counts) and strict: invalid
//! UTF-8 is refused rather than replaced, and no text holding NUL gets past, so no store (one of
//! which cannot hold NUL at all) ever sees one.

use crate::http::error::AppError;
use crate::http::form;
use crate::http::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use herald_core::text::{self, Shape};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The shape of a JSON body: far shallower than any real request needs (a page export nests
/// five levels), with member counts that hold the largest batch Herald takes (3,000 points).
pub const JSON_SHAPE: Shape = Shape {
    depth: 32,
    members: 10_000,
};

/// Bounds on a query string (a URL is short; the pair and key bounds are the form's).
pub const QUERY_LIMITS: form::Limits = form::Limits {
    bytes: 16 * 1024,
    ..form::LIMITS
};

fn form_error(e: form::FormError) -> AppError {
    AppError::Invalid {
        field: e.field,
        message: e.message,
    }
}

/// Refuses, before routing, a request whose path holds an encoded NUL or whose query string is
/// not strict UTF-8 form text within [`QUERY_LIMITS`]: every handler and extractor after this
/// sees clean text, whatever extractor it uses.
pub async fn guard_uri(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let encoded_nul = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    };
    if encoded_nul(uri.path()) {
        return AppError::Invalid {
            field: Some("path".into()),
            message: "must not contain a NUL character".into(),
        }
        .into_response();
    }
    if let Some(q) = uri.query() {
        if let Err(e) = form::pairs(q.as_bytes(), QUERY_LIMITS) {
            return form_error(e).into_response();
        }
    }
    next.run(req).await
}

/// A deserialised query string; a bad one is a 422 naming the problem, like a bad body.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some(q) = parts.uri.query() {
            form::pairs(q.as_bytes(), QUERY_LIMITS).map_err(form_error)?;
        }
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
        let bytes = read(req, state).await?;
        let value = if form {
            form::to_json(&bytes, form::LIMITS).map_err(form_error)?
        } else if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            json(&bytes)?
        };
        parse(value).map(Body)
    }
}

/// Reads a whole body of at most [`MAX_BODY_BYTES`].
async fn read(req: Request, state: &AppState) -> Result<Bytes, AppError> {
    let too_large = || AppError::Invalid {
        field: None,
        message: format!("the body is larger than {MAX_BODY_BYTES} bytes"),
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            AppError::Invalid {
                field: None,
                message: format!("unreadable body: {e}"),
            }
        }
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// A JSON body as a value: its shape checked before parsing, no string in it holding NUL.
pub fn json(bytes: &[u8]) -> Result<Value, AppError> {
    text::json_shape(bytes, JSON_SHAPE).map_err(|why| AppError::Invalid {
        field: None,
        message: format!("the body {why}"),
    })?;
    let value: Value = serde_json::from_slice(bytes).map_err(|e| AppError::Invalid {
        field: None,
        message: format!("the body is not valid JSON: {e}"),
    })?;
    refuse_nul(&value)?;
    Ok(value)
}

/// Refuses a value holding NUL in any string or key, naming where (`incident.updates[2].body`).
pub fn refuse_nul(value: &Value) -> Result<(), AppError> {
    let found = |path: String| AppError::Invalid {
        field: Some(if path.is_empty() { ".".into() } else { path }),
        message: "must not contain a NUL character".into(),
    };
    // Walked with an explicit stack: the value's depth is bounded, but nothing here relies on it.
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::String(s) if s.contains('\0') => return Err(found(path)),
            Value::Array(items) => {
                for (n, item) in items.iter().enumerate() {
                    stack.push((format!("{path}[{n}]"), item));
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let at = if path.is_empty() {
                        text::escape_line(k).into_owned()
                    } else {
                        format!("{path}.{}", text::escape_line(k))
                    };
                    if k.contains('\0') {
                        return Err(found(at));
                    }
                    stack.push((at, item));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Deserialises a JSON value, naming the offending field on failure.
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        AppError::Invalid {
            field: (path != ".").then_some(path),
            message: e.inner().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<Value, AppError>) -> Option<String> {
        match r {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn json_bodies_are_bounded_and_free_of_nul() {
        assert!(json(br#"{"incident":{"name":"x","ids":[1,2]}}"#).is_ok());
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert_eq!(field(json(deep.as_bytes())), None);
        assert!(json(format!("{}{}", "[".repeat(32), "]".repeat(32)).as_bytes()).is_ok());
        let wide = format!("[{}0]", "0,".repeat(10_000));
        assert!(json(wide.as_bytes()).is_err());
        assert_eq!(
            field(json(
                br#"{"incident":{"updates":[{"body":"ok"},{"body":"a\u0000b"}]}}"#
            ))
            .as_deref(),
            Some("incident.updates[1].body")
        );
        assert_eq!(field(json(br#"{"k\u0000":1}"#)).as_deref(), Some("k\\u{0}"));
        assert_eq!(field(json(br#""\u0000""#)).as_deref(), Some("."));
        assert!(json(b"{\"a\":\"\xff\"}").is_err());
    }
}
