//! Keeps the snapshot fresh: rebuilt after changes that did not rebuild it themselves (bursts
//! coalesce into one or two rebuilds) and every [`PERIODIC_REFRESH`] (day boundaries, notices
//! another instance's change may have missed).

use super::CancellationToken;
use crate::service::{Service, PERIODIC_REFRESH};

pub async fn run(service: Service, stop: CancellationToken) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            _ = service.signals.refresh.notified() => {}
            _ = tokio::time::sleep(PERIODIC_REFRESH) => {}
            _ = stop.cancelled() => return Ok(()),
        }
        if let Err(e) = service.site.rebuild().await {
            tracing::warn!(error = %e, "snapshot refresh failed; serving the last good one");
        }
    }
}
