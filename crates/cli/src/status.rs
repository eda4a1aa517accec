//! `newspipe status`: queue depths, consumers and rates, recent outcomes, top failure reasons, dead letters;
//! `--watch` refreshes it in place.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use newspipe_broker::{QueueStats, Topology, connect};
use newspipe_store::{Database, OutcomeCounts, RecentOutcomes};
use serde::Serialize;

use crate::Settings;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  newspipe status\n  newspipe status --watch            (refreshes every 2 s; Ctrl-C stops)\n  \
    newspipe status --watch --interval 5\n  newspipe status --json | jq .queues\n\n\
    CONSUMERS is the number of running replicas of the stage's worker. RATE is the change in a queue's depth \
    per second between two refreshes (with --watch; + growing, - draining); per-queue publish and deliver \
    rates are on the Grafana dashboard."
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
    dead_letters: u32,
    outcomes: OutcomeCounts,
    recent_outcomes: RecentOutcomes,
    /// Outcomes recorded per second over the last minute: the pipeline's throughput.
    outcomes_per_second: f64,
    articles: i64,
    top_reasons: Vec<Reason>,
    top_failure_reasons: Vec<Reason>,
}

#[derive(Serialize)]
struct QueueRow {
    #[serde(flatten)]
    stats: QueueStats,
    /// Change in depth per second since the previous sample (only with --watch, after the first).
    depth_change_per_second: Option<f64>,
}

#[derive(Serialize)]
struct Reason {
    outcome: String,
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

    // Listening from the start (not only while sleeping), so a Ctrl-C during a refresh is not missed.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("listening for Ctrl-C")?;
    let mut previous: Option<(Instant, HashMap<String, u32>)> = None;
    loop {
        let queues = topology.stats(&channel).await?;
        let now = Instant::now();
        let rows = queues
            .into_iter()
            .map(|stats| {
                let depth_change_per_second = previous.as_ref().and_then(|(at, depths)| {
                    let seconds = now.duration_since(*at).as_secs_f64();
                    depths.get(&stats.name).map(|d| (f64::from(stats.messages) - f64::from(*d)) / seconds)
                });
                QueueRow { stats, depth_change_per_second }
            })
            .collect::<Vec<_>>();
        previous = Some((now, rows.iter().map(|r| (r.stats.name.clone(), r.stats.messages)).collect()));
        let status = collect(&database, &topology, rows).await?;
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

async fn collect(database: &Database, topology: &Topology, queues: Vec<QueueRow>) -> anyhow::Result<Status> {
    let dead_letters =
        queues.iter().find(|q| q.stats.name == topology.dead_queue()).map_or(0, |q| q.stats.messages);
    let recent_outcomes = database.recent_outcomes().await?;
    let m = &recent_outcomes.last_minute;
    let outcomes_per_second = (m.stored + m.skipped + m.failed + m.unchanged) as f64 / 60.0;
    Ok(Status {
        queues,
        dead_letters,
        outcomes: database.outcome_counts().await?,
        recent_outcomes,
        outcomes_per_second,
        articles: database.article_count().await?,
        top_reasons: database
            .top_reasons(10)
            .await?
            .into_iter()
            .map(|(outcome, reason, count)| Reason { outcome, reason, count })
            .collect(),
        top_failure_reasons: database
            .top_failure_reasons(5)
            .await?
            .into_iter()
            .map(|(reason, count)| Reason { outcome: "failed".into(), reason, count })
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
    println!(
        "{:<32} {:>10} {:>10} {:>10}",
        "QUEUE",
        "MESSAGES",
        "CONSUMERS",
        if watch { "RATE/s" } else { "" }
    );
    for queue in &status.queues {
        let rate = match queue.depth_change_per_second {
            Some(r) => format!("{r:+.1}"),
            None if watch => "…".into(),
            None => String::new(),
        };
        println!(
            "{:<32} {:>10} {:>10} {:>10}",
            queue.stats.name, queue.stats.messages, queue.stats.consumers, rate
        );
    }
    println!();
    let r = &status.recent_outcomes;
    println!("outcomes    {}", counts(&status.outcomes));
    println!("last 5 min  {}", counts(&r.last_5_minutes));
    println!("last hour   {}", counts(&r.last_hour));
    println!("throughput  {:.2} outcomes/s (last minute)", status.outcomes_per_second);
    println!("articles: {}", status.articles);
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
