//! `newspipe dlq`: the dead letters: list, show one, replay to where they came from, purge.

use std::io::IsTerminal;
use std::time::Duration;

use newspipe_broker::dead_letters::{self, DeadLetter, Selection};

use crate::common::{broker, unix_time, usage};
use crate::{Exit, Settings};

/// At most this many dead letters are read for one listing (each is held as a summary, not its body).
const SCAN_LIMIT: usize = 100_000;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe dlq list\n  newspipe dlq show 3f9c2a1b\n  \
    newspipe dlq replay 3f9c2a1b 77d0e4c2\n  newspipe dlq replay --all\n  newspipe dlq purge --yes\n\n\
    Listing never removes a message. Replay publishes each message back to the queue it came from (with a \
    confirm) and only then removes it from the dead-letter queue.")]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(clap::Subcommand)]
enum DlqCommand {
    /// Each dead letter with its id, queue, reason, first and last death time, and a payload preview.
    #[command(
        after_help = "Example:\n  newspipe dlq list --limit 20\n  newspipe dlq list --json | jq '.letters[].reason'"
    )]
    List {
        /// Show at most this many (oldest first).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One dead letter in full: headers, reason, origin, and its whole payload.
    #[command(
        after_help = "Example:\n  newspipe dlq show 3f9c2a1b   (an id from `newspipe dlq list`, or a unique prefix)"
    )]
    Show {
        id: String,
        /// Print JSON instead of text (the payload as a string, invalid UTF-8 replaced).
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back on the queue they came from, to be processed again.
    #[command(after_help = "Examples:\n  newspipe dlq replay 3f9c2a1b 77d0e4c2\n  newspipe dlq replay --all")]
    Replay {
        /// Replay every dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Ids (or unique prefixes) from `newspipe dlq list`.
        ids: Vec<String>,
    },
    /// Delete every dead letter.
    #[command(after_help = "Example:\n  newspipe dlq purge --yes")]
    Purge {
        /// Do it (without it, purge refuses when standard input is not a terminal, and asks when it is).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(settings: &Settings, args: DlqArgs) -> anyhow::Result<()> {
    let (connection, topology) = broker(settings, "newspipe dlq").await?;
    let timeout = Duration::from_secs(settings.broker.publish_timeout_secs);
    let result = async {
        match args.command {
            DlqCommand::List { limit, json } => {
                let listing = dead_letters::scan(&connection, &topology, limit, &|_| false, timeout).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&listing)?);
                    return Ok(());
                }
                println!("{} dead letter(s) in {}", listing.total, topology.dead_queue());
                if listing.letters.is_empty() {
                    return Ok(());
                }
                println!(
                    "{:<12} {:<8} {:<20} {:<20} {:>5}  REASON / PAYLOAD",
                    "ID", "QUEUE", "FIRST DEATH", "LAST DEATH", "DEATHS"
                );
                for letter in &listing.letters {
                    println!(
                        "{:<12} {:<8} {:<20} {:<20} {:>5}  {}",
                        &letter.id[..letter.id.len().min(12)],
                        letter.queue.as_deref().unwrap_or("?"),
                        unix_time(letter.first_death),
                        unix_time(letter.last_death),
                        letter.deaths,
                        letter.reason
                    );
                    println!("{:>70}  {}", "", truncate(&letter.preview, 100));
                }
                if (listing.total as usize) > listing.letters.len() {
                    println!("... {} more (--limit)", listing.total as usize - listing.letters.len());
                }
                Ok(())
            }
            DlqCommand::Show { id, json } => {
                // One pass, keeping the body of every letter the id (or prefix) could name.
                let wanted = id.clone();
                let keep = move |l: &DeadLetter| l.id.starts_with(wanted.as_str());
                let listing = dead_letters::scan(&connection, &topology, SCAN_LIMIT, &keep, timeout).await?;
                let full = dead_letters::resolve_ids(&listing, std::slice::from_ref(&id)).map_err(usage)?;
                let letter = listing.letters.into_iter().find(|l| l.id == full[0]).expect("resolved from it");
                print_letter(&letter, json)
            }
            DlqCommand::Replay { all, ids } => {
                let selection = if all {
                    Selection::All
                } else if ids.is_empty() {
                    return Err(usage(
                        "name the dead letters to replay (ids from `newspipe dlq list`), or pass --all",
                    ));
                } else {
                    let listing =
                        dead_letters::scan(&connection, &topology, SCAN_LIMIT, &|_| false, timeout).await?;
                    Selection::Ids(dead_letters::resolve_ids(&listing, &ids).map_err(usage)?)
                };
                // The replay reads on a connection of its own: the listing's messages are put back when its
                // channel closes, and a fresh connection sees them as any other client would.
                let (replaying, _) = broker(settings, "newspipe dlq replay").await?;
                let report = dead_letters::replay(&replaying, &topology, &selection, timeout).await;
                close(&replaying).await;
                let report = report?;
                for (id, queue) in &report.replayed {
                    println!("replayed {id} to {queue}");
                }
                for (id, why) in &report.kept {
                    eprintln!("kept {id}: {why}");
                }
                eprintln!("replayed {} dead letter(s), kept {}", report.replayed.len(), report.kept.len());
                if !report.kept.is_empty() && !all {
                    return Err(Exit {
                        code: 1,
                        message: format!("{} dead letter(s) could not be replayed", report.kept.len()),
                    }
                    .into());
                }
                Ok(())
            }
            DlqCommand::Purge { yes } => {
                if !yes {
                    if !std::io::stdin().is_terminal() {
                        return Err(usage("purge deletes every dead letter for good: pass --yes"));
                    }
                    eprint!("delete every dead letter in {}? type `yes`: ", topology.dead_queue());
                    let mut answer = String::new();
                    std::io::stdin().read_line(&mut answer)?;
                    if answer.trim() != "yes" {
                        return Err(usage("not purged"));
                    }
                }
                let channel = connection.create_channel().await?;
                let purged = dead_letters::purge(&channel, &topology).await?;
                println!("purged {purged} dead letter(s)");
                Ok(())
            }
        }
    }
    .await;
    close(&connection).await;
    result
}

/// Closes a connection, not waiting long for the broker's answer: the work is done (and confirmed) by now.
async fn close(connection: &lapin::Connection) {
    let _ = tokio::time::timeout(Duration::from_secs(3), connection.close(200, "bye".into())).await;
}

fn print_letter(letter: &DeadLetter, json: bool) -> anyhow::Result<()> {
    let body = letter.body.as_deref().unwrap_or_default();
    if json {
        let mut value = serde_json::to_value(letter)?;
        value["payload"] = String::from_utf8_lossy(body).into_owned().into();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("id:           {}", letter.id);
    println!("queue:        {}", letter.queue.as_deref().unwrap_or("unknown (cannot be replayed)"));
    println!("reason:       {}", letter.reason);
    println!("first death:  {}", unix_time(letter.first_death));
    println!("last death:   {}", unix_time(letter.last_death));
    println!("deaths:       {}", letter.deaths);
    println!("job id:       {}", letter.job_id.as_deref().unwrap_or("-"));
    println!("content type: {}", letter.content_type.as_deref().unwrap_or("-"));
    println!("headers:");
    for (key, value) in &letter.headers {
        println!("  {key}: {value}");
    }
    match &letter.content_encoding {
        Some(encoding) => {
            println!("payload ({} bytes, {encoding} on the wire; shown decoded):", letter.body_bytes)
        }
        None => println!("payload ({} bytes):", letter.body_bytes),
    }
    println!("{}", String::from_utf8_lossy(body));
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}
