//! Maintenance windows opened and closed on time.

use super::CancellationToken;
use crate::service::Service;
use std::time::Duration;

/// One step: moves the windows that are due by the service's clock; true when one moved.
#[tracing::instrument(name = "maintenance_due", skip_all)]
pub async fn run_due(service: &Service) -> bool {
    match service.advance_maintenance().await {
        Ok(moved) => moved,
        Err(e) => {
            let e = anyhow::Error::new(e);
            tracing::warn!(
                error = format!("{e:#}"),
                "maintenance schedule check failed"
            );
            false
        }
    }
}

/// Checks every `tick` until cancelled.
pub async fn run(service: Service, tick: Duration, stop: CancellationToken) -> anyhow::Result<()> {
    while super::pause(&stop, tick).await {
        run_due(&service).await;
    }
    Ok(())
}
