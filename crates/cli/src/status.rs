//! `newspipe status`: queue depths and consumers, outcome counts, dead letters.

use anyhow::Context;
use newspipe_broker::{QueueStats, Topology, connect};
use newspipe_store::{Database, OutcomeCounts};
use serde::Serialize;

use crate::Settings;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe status\n  newspipe status --json | jq .queues")]
pub struct StatusArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Status {
    queues: Vec<QueueStats>,
    dead_letters: u32,
    outcomes: OutcomeCounts,
    articles: i64,
    top_reasons: Vec<Reason>,
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
    let queues = topology.stats(&channel).await?;
    let _ = connection.close(200, "bye".into()).await;
    let dead_letters = queues.iter().find(|q| q.name == topology.dead_queue()).map_or(0, |q| q.messages);

    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let status = Status {
        queues,
        dead_letters,
        outcomes: database.outcome_counts().await?,
        articles: database.article_count().await?,
        top_reasons: database
            .top_reasons(10)
            .await?
            .into_iter()
            .map(|(outcome, reason, count)| Reason { outcome, reason, count })
            .collect(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_table(&status);
    }
    Ok(())
}

fn print_table(status: &Status) {
    println!("{:<32} {:>10} {:>10}", "QUEUE", "MESSAGES", "CONSUMERS");
    for queue in &status.queues {
        println!("{:<32} {:>10} {:>10}", queue.name, queue.messages, queue.consumers);
    }
    let o = &status.outcomes;
    println!();
    println!("outcomes: stored {}, skipped {}, failed {}", o.stored, o.skipped, o.failed);
    println!("articles: {}", status.articles);
    println!("dead letters: {}", status.dead_letters);
    if !status.top_reasons.is_empty() {
        println!();
        println!("{:<8} {:>8}  REASON", "OUTCOME", "COUNT");
        for reason in &status.top_reasons {
            println!("{:<8} {:>8}  {}", reason.outcome, reason.count, reason.reason);
        }
    }
}
