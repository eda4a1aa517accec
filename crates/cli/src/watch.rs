//! `newspipe watch`: feeds and sitemaps the fetchers poll on a schedule (see `newspipe_fetcher::watch`).

use std::time::Duration;

use newspipe_discover::canonicalize;
use newspipe_store::Database;
use sqlx::Row;

use crate::{Exit, Settings};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe watch add https://example.com/rss.xml --every 15m\n  \
    newspipe watch list\n  newspipe watch remove https://example.com/rss.xml")]
pub struct WatchArgs {
    #[command(subcommand)]
    command: WatchCommand,
}

#[derive(clap::Subcommand)]
enum WatchCommand {
    /// Poll a feed or sitemap every so often; its new items are queued, items already seen are not.
    Add {
        url: String,
        /// How often, e.g. `30s`, `15m`, `2h`.
        #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
        every: Duration,
    },
    /// The watched feeds and sitemaps.
    List,
    /// Stop watching a feed or sitemap (by URL or id).
    Remove { url_or_id: String },
}

pub async fn run(settings: &Settings, args: WatchArgs) -> anyhow::Result<()> {
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let pool = database.pool();
    match args.command {
        WatchCommand::Add { url, every } => {
            let canonical =
                canonicalize(&url, &settings.canonical).map_err(|e| Exit::usage(e.to_string()))?;
            let seconds =
                i32::try_from(every.as_secs().max(1)).map_err(|_| Exit::usage("--every is too long"))?;
            sqlx::query(
                "INSERT INTO watches (url, every_secs) VALUES ($1, $2)
                 ON CONFLICT (url) DO UPDATE SET every_secs = EXCLUDED.every_secs",
            )
            .bind(&canonical.url)
            .bind(seconds)
            .execute(pool)
            .await?;
            println!("watching {} every {}", canonical.url, humantime::format_duration(every));
        }
        WatchCommand::List => {
            let rows =
                sqlx::query("SELECT id, url, every_secs, next_due, last_polled_at FROM watches ORDER BY id")
                    .fetch_all(pool)
                    .await?;
            println!("{:>4}  {:>8}  {:<25}  URL", "ID", "EVERY", "LAST POLLED");
            for row in rows {
                let every = Duration::from_secs(row.get::<i32, _>("every_secs") as u64);
                let last: Option<chrono::DateTime<chrono::Utc>> = row.get("last_polled_at");
                println!(
                    "{:>4}  {:>8}  {:<25}  {}",
                    row.get::<i64, _>("id"),
                    humantime::format_duration(every).to_string(),
                    last.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| "never".into()),
                    row.get::<String, _>("url"),
                );
            }
        }
        WatchCommand::Remove { url_or_id } => {
            let removed = match url_or_id.parse::<i64>() {
                Ok(id) => sqlx::query("DELETE FROM watches WHERE id = $1").bind(id).execute(pool).await?,
                Err(_) => {
                    let url = canonicalize(&url_or_id, &settings.canonical)
                        .map(|c| c.url)
                        .unwrap_or(url_or_id.clone());
                    sqlx::query("DELETE FROM watches WHERE url = $1").bind(url).execute(pool).await?
                }
            };
            if removed.rows_affected() == 0 {
                return Err(Exit::usage(format!("no watch {url_or_id} (see `newspipe watch list`)")).into());
            }
            println!("stopped watching {url_or_id}");
        }
    }
    Ok(())
}
