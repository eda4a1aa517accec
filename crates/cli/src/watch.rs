//! `newspipe watch`: feeds and sitemaps the fetchers poll on a schedule (see `newspipe_fetcher::watch`).

use std::time::Duration;

use newspipe_db::Database;
use newspipe_discover::canonicalize;
use newspipe_models::RevisitSchedule;

use crate::{Exit, Settings};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe watch add https://example.com/rss.xml --every 15m\n  \
    newspipe watch add https://example.com/rss.xml --revisit 1h,24h\n  \
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
        /// When the articles found through it are fetched again to see whether they changed: offsets from
        /// their first fetch (`1h,6h,24h`) or `off`. Default: the fetchers' `revisit.sites` or
        /// `revisit.schedule`.
        #[arg(long, value_name = "off|LIST")]
        revisit: Option<RevisitSchedule>,
    },
    /// The watched feeds and sitemaps.
    List,
    /// Stop watching a feed or sitemap (by URL or id).
    Remove { url_or_id: String },
}

pub async fn run(settings: &Settings, args: WatchArgs) -> anyhow::Result<()> {
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    match args.command {
        WatchCommand::Add { url, every, revisit } => {
            let canonical =
                canonicalize(&url, &settings.canonical).map_err(|e| Exit::usage(e.to_string()))?;
            if i32::try_from(every.as_secs()).is_err() {
                return Err(Exit::usage("--every is too long").into());
            }
            database.add_watch(&canonical.url, every, revisit.as_ref()).await?;
            let revisits = match &revisit {
                Some(schedule) => format!("articles revisited: {schedule}"),
                None => "articles revisited on the fetchers' schedule".to_string(),
            };
            println!("watching {} every {}; {revisits}", canonical.url, humantime::format_duration(every));
        }
        WatchCommand::List => {
            println!("{:>4}  {:>8}  {:<25}  {:<18}  URL", "ID", "EVERY", "LAST POLLED", "REVISIT");
            for watch in database.watches().await? {
                let every = Duration::from_secs(u64::from(watch.every_secs));
                println!(
                    "{:>4}  {:>8}  {:<25}  {:<18}  {}",
                    watch.id,
                    humantime::format_duration(every).to_string(),
                    watch
                        .last_polled_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| "never".into()),
                    watch.revisit.as_deref().unwrap_or("default"),
                    watch.url,
                );
            }
        }
        WatchCommand::Remove { url_or_id } => {
            let id = url_or_id.parse::<i64>().ok();
            let url =
                canonicalize(&url_or_id, &settings.canonical).map(|c| c.url).unwrap_or(url_or_id.clone());
            if !database.remove_watch(id, &url).await? {
                return Err(Exit::usage(format!("no watch {url_or_id} (see `newspipe watch list`)")).into());
            }
            println!("stopped watching {url_or_id}");
        }
    }
    Ok(())
}
