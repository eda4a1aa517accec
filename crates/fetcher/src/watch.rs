//! Watched feeds and sitemaps (`newspipe watch add URL --every 15m`): polled when due. Every fetcher runs
//! this loop, but only the one holding a PostgreSQL advisory lock schedules, so a poll is queued once
//! however many fetchers run; if that fetcher dies, its connection and lock go, and another takes over.
//! The polls themselves are ordinary fetch jobs that any fetcher takes; items already stored or in flight
//! are not queued again (see `Coordinator::claimed_by_others`).

use std::time::Duration;

use newspipe_broker::{BrokerSettings, Outgoing, Publisher, Queue, Topology, connect};
use newspipe_models::{FetchJob, JobKind, encode_json, new_job_id};
use newspipe_store::Database;
use sqlx::Connection;

/// The advisory lock key of the watch scheduler ("newspipe" in ASCII, as a number).
const SCHEDULER_LOCK: i64 = 0x6e65_7773_7069_7065;
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
    // A connection of its own, out of the pool: the lock lives and dies with it.
    let mut lock_connection = database.pool().acquire().await?.detach();
    let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(SCHEDULER_LOCK)
        .fetch_one(&mut lock_connection)
        .await?;
    if !leader {
        let _ = lock_connection.close().await;
        return Ok(());
    }
    tracing::info!("this fetcher schedules the watched feeds and sitemaps");
    let topology = Topology::new(broker);
    let amqp = connect(&broker.url, "newspipe watch scheduler").await?;
    let channel = amqp.create_channel().await?;
    topology.declare(&channel).await?;
    let publisher =
        Publisher::open(&amqp, topology, Duration::from_secs(broker.publish_timeout_secs)).await?;
    loop {
        let due: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, url FROM watches WHERE next_due <= now() ORDER BY next_due LIMIT 100")
                .fetch_all(&mut lock_connection)
                .await?;
        for (id, url) in due {
            let mut job = FetchJob::new(new_job_id(), url.clone());
            job.kind = JobKind::Feed;
            // Queue first, then move the due time: a crash in between polls twice, never zero times.
            publisher.publish(&Outgoing::json(Queue::Fetch, encode_json(&job)).for_job(job.job_id)).await?;
            sqlx::query(
                "UPDATE watches SET next_due = now() + make_interval(secs => every_secs), last_polled_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut lock_connection)
            .await?;
            tracing::info!(url, job_id = %job.job_id, "watched feed polled");
            metrics::counter!("newspipe_watch_polls_total").increment(1);
        }
        tokio::time::sleep(TICK).await;
    }
}
