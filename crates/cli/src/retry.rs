//! `newspipe retry --failed`: resubmit the URLs whose latest outcome is `failed`, as new fetch jobs.

use std::time::Duration;

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt};
use newspipe_broker::{Outgoing, Publisher, Queue};
use newspipe_db::Database;
use newspipe_models::{FetchJob, encode_json, new_job_id};

use crate::Settings;
use crate::common::{broker, parse_since, usage};

const PUBLISH_CONCURRENCY: usize = 64;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe retry --failed --dry-run\n  \
    newspipe retry --failed --reason timeout --since 24h\n  newspipe retry --failed --reason 'http 5'\n\n\
    Each URL whose latest outcome is `failed` gets a new job (and so a new outcome); a URL stored or skipped \
    since it failed is left alone. Follow the new jobs with `newspipe status` or `newspipe show URL`.")]
pub struct RetryArgs {
    /// Resubmit failed URLs (the only kind of retry there is; required, so that intent is explicit).
    #[arg(long, required = true)]
    failed: bool,
    /// Only failures whose reason code or text starts with this (any case): `timeout`, `http 5`, `http_404`,
    /// `dns`, `robots_unreachable`... (`newspipe status` shows the codes).
    #[arg(long)]
    reason: Option<String>,
    /// Only failures recorded since: a date (2026-11-01), an RFC 3339 time, or an age (36h, 7d).
    #[arg(long, value_parser = parse_since)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// List what would be resubmitted, and submit nothing.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run(settings: &Settings, args: RetryArgs) -> anyhow::Result<()> {
    if !args.failed {
        return Err(usage("pass --failed"));
    }
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let failed = database.failed_urls(args.reason.as_deref(), args.since).await?;
    if failed.is_empty() {
        eprintln!("no failed URL matches; nothing resubmitted");
        return Ok(());
    }
    if args.dry_run {
        for url in &failed {
            println!("{}\t{}", url.url, url.reason.as_deref().unwrap_or(""));
        }
        eprintln!("would resubmit {} URL(s) (dry run)", failed.len());
        return Ok(());
    }
    let (connection, topology) = broker(settings, "newspipe retry").await?;
    let publisher =
        Publisher::open(&connection, topology, Duration::from_secs(settings.broker.publish_timeout_secs))
            .await?;
    futures_util::stream::iter(&failed)
        .map(|failed| {
            let publisher = publisher.clone();
            async move {
                let mut job = FetchJob::new(new_job_id(), failed.url.clone());
                job.refresh = true;
                let message = Outgoing::json(Queue::Fetch, encode_json(&job)).for_job(job.job_id);
                publisher.publish(&message).await.with_context(|| format!("resubmitting {}", failed.url))
            }
        })
        .buffer_unordered(PUBLISH_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    let _ = connection.close(200, "bye".into()).await;
    for url in &failed {
        println!("{}", url.url);
    }
    eprintln!("resubmitted {} failed URL(s)", failed.len());
    Ok(())
}
