//! Watched feeds and sitemaps (`newspipe watch add URL --every 15m`): polled when due. Every fetcher runs
//! this loop, but only the one holding a PostgreSQL advisory lock schedules, so a poll is queued once
//! however many fetchers run; if that fetcher dies, its connection and lock go, and another takes over.
//! The polls themselves are ordinary fetch jobs that any fetcher takes; items already stored or in flight
//! are not queued again (see `Coordinator::claimed_by_others`).

use std::time::Duration;

use newspipe_broker::{BrokerSettings, Outgoing, Publisher, Queue, Topology, connect};
use newspipe_db::Database;
use newspipe_models::{FetchJob, JobKind, encode_json, new_job_id};
use newspipe_runtime::InternalEvent;

const TICK: Duration = Duration::from_secs(1);

/// Runs forever: takes the scheduler's role when it is free, schedules while it holds it.
pub async fn run_scheduler(database: Database, broker: BrokerSettings) {
    loop {
        if let Err(error) = schedule_while_leader(&database, &broker).await {
            tracing::warn!(error = format!("{error:#}"), "watch scheduler interrupted; trying again");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn schedule_while_leader(database: &Database, broker: &BrokerSettings) -> anyhow::Result<()> {
    let Some(mut scheduler) = database.try_lead_watches().await? else { return Ok(()) };
    tracing::info!("this fetcher schedules the watched feeds and sitemaps");
    let topology = Topology::new(broker);
    let amqp = connect(&broker.url, "newspipe watch scheduler").await?;
    let channel = amqp.create_channel().await?;
    topology.declare(&channel).await?;
    let publisher =
        Publisher::open(&amqp, topology, Duration::from_secs(broker.publish_timeout_secs)).await?;
    loop {
        for (id, url) in scheduler.due().await? {
            let mut job = FetchJob::new(new_job_id(), url.clone());
            job.kind = JobKind::Feed;
            // Queue first, then move the due time: a crash in between polls twice, never zero times.
            publisher.publish(&Outgoing::json(Queue::Fetch, encode_json(&job)).for_job(job.job_id)).await?;
            scheduler.polled(id).await?;
            crate::events::WatchPolled { url: &url, job_id: job.job_id }.emit();
        }
        tokio::time::sleep(TICK).await;
    }
}
