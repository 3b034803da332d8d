//! The one error type of the service layer. HTTP maps it to responses in one place
//! (`http::error`); the CLI and the runtimes log it.

use herald_core::commands::CommandError;
use herald_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Bad input; `field` names the offending field when there is one.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("not found")]
    NotFound,
    /// The write would break a uniqueness rule (a duplicate).
    #[error("{0}")]
    Conflict(String),
    /// The database does not answer.
    #[error("the database is unavailable")]
    Unavailable,
    /// The database answers but refuses writes (full disk, read-only); the reason is shown.
    #[error("the database cannot take writes: {0}")]
    CannotWrite(String),
    /// Anything else; the cause chain is logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// Bad input in a named field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
}

impl From<herald_core::text::TextError> for ServiceError {
    fn from(e: herald_core::text::TextError) -> Self {
        ServiceError::Invalid {
            field: Some(e.field),
            message: e.message,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ServiceError::NotFound,
            StoreError::Invalid(e) => ServiceError::Invalid {
                field: None,
                message: e.to_string(),
            },
            StoreError::Command(CommandError::NotFound { .. }) => ServiceError::NotFound,
            StoreError::Command(CommandError::Invalid { field, message }) => {
                ServiceError::Invalid {
                    field: Some(field),
                    message,
                }
            }
            StoreError::Conflict { what } => ServiceError::Conflict(what),
            StoreError::Unavailable(_) => ServiceError::Unavailable,
            StoreError::CannotWrite(why) => ServiceError::CannotWrite(why),
            other @ StoreError::Other(_) => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<anyhow::Error> for ServiceError {
    fn from(e: anyhow::Error) -> Self {
        ServiceError::Internal(e)
    }
}
