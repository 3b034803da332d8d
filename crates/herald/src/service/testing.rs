//! What the service's unit tests share: a service on a fresh SQLite store, and callers.

use super::{system_clock, Caller, Credential, Service};
use crate::render::Branding;
use herald_core::access::Role;

/// A caller with an API key of `role`.
pub fn caller(role: Role) -> Caller {
    Caller {
        role,
        credential: Credential::ApiKey {
            name: "test".into(),
        },
    }
}

/// A service on a fresh, migrated SQLite store (kept while the directory lives).
pub async fn service() -> (Service, tempfile::TempDir) {
    let (store, dir) = herald_store::testing::sqlite_store().await;
    (
        Service::new(store, Branding::default(), system_clock()),
        dir,
    )
}
