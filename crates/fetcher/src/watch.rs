//! Watched feeds and sitemaps (`newspipe watch add URL --every 15m`): polled when due. Every fetcher runs
//! this loop, but only the one holding a PostgreSQL advisory lock schedules, so a poll is queued once
//! however many fetchers run; if that fetcher dies, its connection and lock go, and another takes over.
//! The polls themselves are ordinary fetch jobs that any fetcher takes; items already stored or in flight
//! are not queued again (see `Coordinator::claimed_by_others`). The same fetcher queues the stored
//! articles' revisits ([`crate::revisit`]).

use std::time::Duration;

use newspipe_broker::{BrokerSettings, Outgoing, Publisher, Queue, Topology};
use newspipe_db::Database;
use newspipe_models::{FetchJob, JobKind, RevisitSchedule, encode_json, new_job_id};
use newspipe_runtime::InternalEvent;

use crate::revisit::{RevisitScheduler, RevisitSettings};

use crate::revisit::TICK;

/// Runs forever: takes the scheduler's role when it is free, schedules while it holds it.
/// `politeness_interval` spaces out the revisits of one host (see [`RevisitScheduler::new`]).
pub async fn run_scheduler(
    database: Database,
    broker: BrokerSettings,
    revisit: RevisitSettings,
    politeness_interval: Duration,
) {
    let mut revisits = RevisitScheduler::new(revisit, politeness_interval);
    loop {
        if let Err(error) = schedule_while_leader(&database, &broker, &mut revisits).await {
            tracing::warn!(error = format!("{error:#}"), "watch scheduler interrupted; trying again");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn schedule_while_leader(
    database: &Database,
    broker: &BrokerSettings,
    revisits: &mut RevisitScheduler,
) -> anyhow::Result<()> {
    let Some(mut scheduler) = database.try_lead_watches().await? else { return Ok(()) };
    tracing::info!("this fetcher schedules the watched feeds and sitemaps, and the revisits");
    let topology = Topology::new(broker);
    let amqp = broker.connect("newspipe watch scheduler").await?;
    let channel = amqp.create_channel().await?;
    topology.declare(&channel).await?;
    let publisher =
        Publisher::open(&amqp, topology, Duration::from_secs(broker.publish_timeout_secs)).await?;
    loop {
        for watch in scheduler.due().await? {
            let mut job = FetchJob::new(new_job_id(), watch.url.clone());
            job.kind = JobKind::Feed;
            job.revisit = watch.revisit.as_deref().and_then(|r| r.parse::<RevisitSchedule>().ok());
            // Queue first, then move the due time: a crash in between polls twice, never zero times.
            publisher.publish(&Outgoing::json(Queue::Fetch, encode_json(&job)).for_job(job.job_id)).await?;
            scheduler.polled(watch.id).await?;
            crate::events::WatchPolled { url: &watch.url, job_id: job.job_id }.emit();
        }
        revisits.tick(&mut scheduler, &publisher).await?;
        tokio::time::sleep(TICK).await;
    }
}
