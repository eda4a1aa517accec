//! `newspipe status`: queue depths, consumers and in/out rates, recent outcomes, top failure reasons, dead
//! letters; `--watch` refreshes it in place. The rates come from RabbitMQ's management API; without it the
//! rest of the screen still works and says why the rates are missing.

use std::time::Duration;

use anyhow::Context;
use newspipe_broker::Topology;
use newspipe_control::status::Reason;
use newspipe_control::{Sampler, Status};
use newspipe_db::{Database, OutcomeCounts};

use crate::Settings;

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

pub async fn run(settings: &Settings, args: StatusArgs) -> anyhow::Result<()> {
    let topology = Topology::new(&settings.broker);
    let connection = settings.broker.connect("newspipe status").await?;
    let channel = connection.create_channel().await.context("opening a channel")?;
    topology.declare(&channel).await?;
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let mut sampler = Sampler::new(&settings.broker);

    // Listening from the start (not only while sleeping), so a Ctrl-C during a refresh is not missed.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("listening for Ctrl-C")?;
    loop {
        let status = sampler.sample(&database, &topology, &channel).await?;
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

/// The broker's nodes, and where each queue's replicas are when that is not everywhere and up.
fn print_cluster(status: &Status) {
    let Some(cluster) = &status.cluster else { return };
    let nodes: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| format!("{}{}", n.name, if n.running { "" } else { " (DOWN)" }))
        .collect();
    println!("broker nodes: {}", nodes.join(", "));
    if cluster.nodes.len() < 2 {
        return;
    }
    println!("{:<32} {:<36} {:>8}", "QUEUE", "LEADER", "REPLICAS");
    for queue in &status.queues {
        let members = queue.members.as_ref().map_or(0, Vec::len);
        let online = queue.online.as_ref().map_or(0, Vec::len);
        println!(
            "{:<32} {:<36} {:>8}",
            queue.stats.name,
            queue.leader.as_deref().unwrap_or("-"),
            format!("{online}/{members} up")
        );
    }
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
    print_cluster(status);
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
