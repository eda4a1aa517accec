//! `newspipe status`: queue depths, consumers and in/out rates, recent outcomes, top failure reasons, dead
//! letters; `--watch` refreshes it in place. The rates come from RabbitMQ's management API; without it the
//! rest of the screen still works and says why the rates are missing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use newspipe_broker::{QueueStats, Topology, connect};
use newspipe_db::{Database, OutcomeCounts, RecentOutcomes};
use serde::Serialize;

use crate::Settings;
use crate::management::{Management, QueueRates};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  newspipe status\n  newspipe status --watch            (refreshes every 2 s; Ctrl-C stops)\n  \
    newspipe status --watch --interval 5\n  newspipe status --json | jq .queues\n\n\
    CONSUMERS is the number of running replicas of the stage's worker. IN/s is messages published into the \
    queue per second, OUT/s messages delivered to its consumers per second, averaged over the last 15 s by \
    RabbitMQ's management API (broker.management_url; without it the rates show as - and the screen says \
    why). A message the broker moves by itself (a retry leaving its delay queue for the work queue, a \
    message dead-lettered after too many deliveries) counts in neither: NET/s (with --watch), the change in depth per second between two \
    refreshes, shows it (+ growing, - draining)."
)]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Refresh the screen until interrupted.
    #[arg(long)]
    watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    interval: u64,
}

#[derive(Serialize)]
struct Status {
    queues: Vec<QueueRow>,
    /// Why the queues' in/out rates are null: the management API could not be asked (or `null`).
    rates_unavailable: Option<String>,
    dead_letters: u32,
    outcomes: OutcomeCounts,
    recent_outcomes: RecentOutcomes,
    /// Outcomes recorded per second over the last minute: the pipeline's throughput.
    outcomes_per_second: f64,
    articles: i64,
    /// Articles stored but not yet in the search index (the store's indexer analyses them right after).
    articles_waiting_for_search_index: i64,
    top_reasons: Vec<Reason>,
    top_failure_reasons: Vec<Reason>,
    /// WARC files submitted (`submit --warc`): files by state, records read, articles stored from them.
    warc: newspipe_db::WarcProgress,
    /// Article history: versions made (edits seen), revisits scheduled, due and late.
    history: newspipe_db::RevisitCounts,
}

#[derive(Serialize)]
struct QueueRow {
    #[serde(flatten)]
    stats: QueueStats,
    /// Messages published into the queue per second (null when the management API is unavailable).
    in_per_second: Option<f64>,
    /// Messages delivered to consumers (or fetched) per second.
    out_per_second: Option<f64>,
    /// Deliveries acknowledged per second.
    acked_per_second: Option<f64>,
    /// Change in depth per second since the previous sample (only with --watch, after the first).
    depth_change_per_second: Option<f64>,
}

#[derive(Serialize)]
struct Reason {
    outcome: String,
    /// The reason's stable code (`http_404`): what `retry --reason` and the metric labels use.
    reason_code: String,
    reason: String,
    count: i64,
}

pub async fn run(settings: &Settings, args: StatusArgs) -> anyhow::Result<()> {
    let topology = Topology::new(&settings.broker);
    let connection = connect(&settings.broker.url, "newspipe status").await?;
    let channel = connection.create_channel().await.context("opening a channel")?;
    topology.declare(&channel).await?;
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let management = Management::new(&settings.broker);

    // Listening from the start (not only while sleeping), so a Ctrl-C during a refresh is not missed.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("listening for Ctrl-C")?;
    let mut previous: Option<(Instant, HashMap<String, u32>)> = None;
    loop {
        let queues = topology.stats(&channel).await?;
        let now = Instant::now();
        let rates = match &management {
            Ok(management) => {
                let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
                management.rates(&names).await
            }
            Err(why) => Err(why.clone()),
        };
        let rows = queues
            .into_iter()
            .map(|stats| {
                let depth_change_per_second = previous.as_ref().and_then(|(at, depths)| {
                    let seconds = now.duration_since(*at).as_secs_f64();
                    depths.get(&stats.name).map(|d| (f64::from(stats.messages) - f64::from(*d)) / seconds)
                });
                let queue_rates: Option<QueueRates> =
                    rates.as_ref().ok().map(|r| r.get(&stats.name).copied().unwrap_or_default());
                QueueRow {
                    in_per_second: queue_rates.map(|r| r.published),
                    out_per_second: queue_rates.map(|r| r.delivered),
                    acked_per_second: queue_rates.map(|r| r.acked),
                    stats,
                    depth_change_per_second,
                }
            })
            .collect::<Vec<_>>();
        previous = Some((now, rows.iter().map(|r| (r.stats.name.clone(), r.stats.messages)).collect()));
        let status = collect(&database, &topology, rows, rates.err()).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&status)?);
        } else {
            if args.watch {
                // Clear the screen and go home: one screen, redrawn.
                print!("\x1b[2J\x1b[H");
                println!(
                    "newspipe status — {} — every {}s, Ctrl-C to stop\n",
                    chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ"),
                    args.interval
                );
            }
            print_table(&status, args.watch);
        }
        if !args.watch {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(args.interval)) => {}
            _ = interrupt.recv() => break,
        }
    }
    let _ = connection.close(200, "bye".into()).await;
    Ok(())
}

async fn collect(
    database: &Database,
    topology: &Topology,
    queues: Vec<QueueRow>,
    rates_unavailable: Option<String>,
) -> anyhow::Result<Status> {
    let dead_letters =
        queues.iter().find(|q| q.stats.name == topology.dead_queue()).map_or(0, |q| q.stats.messages);
    let recent_outcomes = database.recent_outcomes().await?;
    let m = &recent_outcomes.last_minute;
    let outcomes_per_second = (m.stored + m.skipped + m.failed + m.unchanged) as f64 / 60.0;
    Ok(Status {
        queues,
        rates_unavailable,
        dead_letters,
        outcomes: database.outcome_counts().await?,
        recent_outcomes,
        outcomes_per_second,
        articles: database.article_count().await?,
        articles_waiting_for_search_index: database.search_backlog().await?,
        warc: database.warc_progress().await?,
        history: database.revisit_counts().await?,
        top_reasons: database
            .top_reasons(10)
            .await?
            .into_iter()
            .map(|(outcome, reason_code, reason, count)| Reason { outcome, reason_code, reason, count })
            .collect(),
        top_failure_reasons: database
            .top_failure_reasons(5)
            .await?
            .into_iter()
            .map(|(reason_code, reason, count)| Reason {
                outcome: "failed".into(),
                reason_code,
                reason,
                count,
            })
            .collect(),
    })
}

fn counts(o: &OutcomeCounts) -> String {
    let mut text = format!("stored {:>6}  skipped {:>6}  failed {:>6}", o.stored, o.skipped, o.failed);
    if o.unchanged > 0 {
        text.push_str(&format!("  unchanged {:>6}", o.unchanged));
    }
    text
}

fn print_table(status: &Status, watch: bool) {
    let header = format!("{:<32} {:>9} {:>9} {:>8} {:>8}", "QUEUE", "MESSAGES", "CONSUMERS", "IN/s", "OUT/s");
    println!("{}", if watch { format!("{header} {:>8}", "NET/s") } else { header });
    let per_second = |rate: Option<f64>| rate.map_or_else(|| "-".to_string(), |r| format!("{r:.1}"));
    for queue in &status.queues {
        let row = format!(
            "{:<32} {:>9} {:>9} {:>8} {:>8}",
            queue.stats.name,
            queue.stats.messages,
            queue.stats.consumers,
            per_second(queue.in_per_second),
            per_second(queue.out_per_second)
        );
        let net = match queue.depth_change_per_second {
            Some(r) => format!("{r:+.1}"),
            None => "…".into(),
        };
        println!("{}", if watch { format!("{row} {net:>8}") } else { row });
    }
    if let Some(why) = &status.rates_unavailable {
        println!("in/out rates unavailable: {why}");
    }
    println!();
    let r = &status.recent_outcomes;
    println!("outcomes    {}", counts(&status.outcomes));
    println!("last 5 min  {}", counts(&r.last_5_minutes));
    println!("last hour   {}", counts(&r.last_hour));
    println!("throughput  {:.2} outcomes/s (last minute)", status.outcomes_per_second);
    println!(
        "articles: {} ({} waiting for the search index)",
        status.articles, status.articles_waiting_for_search_index
    );
    let w = &status.warc;
    if w.files_queued + w.files_reading + w.files_done + w.files_failed > 0 {
        println!(
            "warc files: {} done, {} reading, {} failed, {} queued · records read {} · articles stored {} · {:.0} records/s",
            w.files_done,
            w.files_reading,
            w.files_failed,
            w.files_queued,
            w.records_read,
            w.articles_stored,
            w.records_per_second
        );
    }
    let h = &status.history;
    if h.scheduled + h.versions_made > 0 {
        println!(
            "history: {} version(s) made · revisits: {} scheduled, {} due, {} late{}",
            h.versions_made,
            h.scheduled,
            h.due,
            h.late,
            if h.late > 0 { "  (late: the scheduling fetcher or the fetchers are behind)" } else { "" }
        );
    }
    println!(
        "dead letters: {}{}",
        status.dead_letters,
        if status.dead_letters > 0 { "  (newspipe dlq list)" } else { "" }
    );
    if !status.top_failure_reasons.is_empty() {
        println!();
        println!("{:>8}  TOP FAILURE REASONS", "COUNT");
        for reason in &status.top_failure_reasons {
            println!("{:>8}  {}", reason.count, reason.reason);
        }
    }
    let skips: Vec<&Reason> = status.top_reasons.iter().filter(|r| r.outcome != "failed").take(5).collect();
    if !skips.is_empty() {
        println!();
        println!("{:>8}  TOP SKIP REASONS", "COUNT");
        for reason in skips {
            println!("{:>8}  {}", reason.count, reason.reason);
        }
    }
}
