//! What a worker process does around its handler: metrics endpoint, readiness, signals, the consume loop.

use std::sync::Arc;

use newspipe_runtime::{Health, MetricsSettings, OpsServer, install_metrics_recorder, shutdown_on_signals};

use crate::{BrokerError, BrokerSettings, Handler, Queue, run_consumer};

/// Serves `/healthz` and `/metrics`, then consumes `queue` with `handler` until SIGTERM/SIGINT.
/// `health` may already hold the handler's own dependencies (the store registers its database).
pub async fn run_worker<H: Handler>(
    queue: Queue,
    handler: H,
    broker: &BrokerSettings,
    metrics: &MetricsSettings,
    health: Health,
) -> Result<(), BrokerError> {
    let recorder = install_metrics_recorder().map_err(BrokerError::Ops)?;
    let broker_ready = health.component("broker");
    let ops = OpsServer::start(metrics, health, recorder).await.map_err(BrokerError::Ops)?;
    let shutdown = shutdown_on_signals();
    tracing::info!(
        queue = queue.routing_key(),
        broker = %broker.url,
        metrics = %ops.local_addr,
        "worker started"
    );
    let result = run_consumer(broker, queue, Arc::new(handler), broker_ready, shutdown).await;
    ops.task.abort();
    if result.is_ok() {
        tracing::info!("worker stopped cleanly");
    }
    result
}
