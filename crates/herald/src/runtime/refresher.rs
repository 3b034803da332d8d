//! Keeps the snapshot fresh: rebuilt after changes that did not rebuild it themselves (bursts
//! coalesce into one or two rebuilds) and every [`PERIODIC_REFRESH`] (day boundaries, notices
//! another instance's change may have missed).

use super::CancellationToken;
use crate::service::{Service, PERIODIC_REFRESH};
use tracing::Instrument;

pub async fn run(service: Service, stop: CancellationToken) -> anyhow::Result<()> {
    loop {
        let trigger = tokio::select! {
            _ = service.signals.refresh.notified() => "change",
            _ = tokio::time::sleep(PERIODIC_REFRESH) => "periodic",
            _ = stop.cancelled() => return Ok(()),
        };
        let span = tracing::info_span!("snapshot_refresh", trigger);
        async {
            if let Err(e) = service.site.rebuild().await {
                tracing::warn!(error = %e, "snapshot refresh failed; serving the last good one");
            }
        }
        .instrument(span)
        .await;
    }
}
