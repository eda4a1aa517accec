//! The small HTTP endpoint every worker serves: `/healthz` for orchestrators, `/metrics` for Prometheus.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::{Health, MetricsSettings};

/// Latency buckets in seconds, from a fast extraction to a slow fetch.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Installs the process-wide Prometheus recorder behind the `metrics` macros.
pub fn install_metrics_recorder() -> std::io::Result<PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .map_err(|e| std::io::Error::other(format!("metrics buckets: {e}")))?
        .install_recorder()
        .map_err(|e| std::io::Error::other(format!("cannot install the metrics recorder: {e}")))
}

#[derive(Clone)]
struct OpsState {
    health: Health,
    metrics: PrometheusHandle,
}

pub struct OpsServer {
    pub local_addr: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
}

impl OpsServer {
    /// Binds the endpoint and serves it in the background.
    pub async fn start(
        settings: &MetricsSettings,
        health: Health,
        metrics: PrometheusHandle,
    ) -> std::io::Result<OpsServer> {
        let listener =
            tokio::net::TcpListener::bind((settings.host.as_str(), settings.port)).await.map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot listen on metrics.host:metrics.port {}:{}: {e}",
                        settings.host, settings.port
                    ),
                )
            })?;
        let local_addr = listener.local_addr()?;
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/metrics", get(render_metrics))
            .with_state(OpsState { health, metrics });
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "metrics endpoint stopped");
            }
        });
        tracing::info!(address = %local_addr, "serving /healthz and /metrics");
        Ok(OpsServer { local_addr, task })
    }
}

async fn healthz(State(state): State<OpsState>) -> (StatusCode, String) {
    let report = state.health.report();
    let body = serde_json::to_string(&report).unwrap_or_default();
    if report.values().all(|ready| *ready) {
        (StatusCode::OK, body)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body)
    }
}

async fn render_metrics(State(state): State<OpsState>) -> String {
    state.metrics.run_upkeep();
    state.metrics.render()
}
