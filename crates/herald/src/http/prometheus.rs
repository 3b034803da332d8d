//! Prometheus `/metrics` on the operators' own listener (`metrics_listen`), apart from the
//! public site: probes run, deliveries by outcome, snapshot rebuilds and staleness, HTTP answers
//! by class.

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusBuilder;
use std::net::SocketAddr;

/// Installs the recorder and serves `/metrics` on `addr` in the background.
pub async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    tracing::info!(address = %addr, "serving metrics");
    tokio::spawn(async move {
        let options = crate::http::server::Options::default();
        let forever = std::future::pending::<()>();
        if let Err(e) = crate::http::server::serve(listener, app, options, forever).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}
