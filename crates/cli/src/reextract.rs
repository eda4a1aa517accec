//! `newspipe reextract`: rebuilds articles from the WARC records they were read from or archived into
//! (`fetcher.warc.dir`), with the current extractor, fetching nothing: their files go through the same
//! WARC-in path as `submit --warc`.

use std::time::Duration;

use newspipe_db::{ArticleFilter, Database};

use crate::{Exit, Settings};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  newspipe reextract --wait\n  newspipe reextract --site example.com --since 7d --wait\n\n\
    Every WARC file that holds a matching article is read again, whole: the other pages in it are re-extracted \
    too (idempotently). A file the fetcher is still writing (`.open`) is left for a later run."
)]
pub struct ReextractArgs {
    /// Only articles fetched on or after this DATE (`2026-11-01`, RFC 3339, or an age: `36h`, `7d`).
    #[arg(long, value_parser = crate::common::parse_since)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only this site: its name or its host (example.com also matches www.example.com).
    #[arg(long)]
    site: Option<String>,
    /// Block until every file is read and every record has its outcome; exit 3 if any failed.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up after this many seconds (exit 4).
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

pub async fn run(settings: &Settings, args: ReextractArgs) -> anyhow::Result<()> {
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    let filter = ArticleFilter { site: args.site.clone(), language: None, since: args.since };
    let files = database.warc_files_of_articles(&filter).await?;
    // A local file must be there to be read; the rest (a remote source) is tried as it is.
    let (present, missing): (Vec<String>, Vec<String>) = files.into_iter().partition(|f| {
        f.starts_with("http://") || f.starts_with("https://") || std::path::Path::new(f).is_file()
    });
    for file in &missing {
        eprintln!("not there (yet?), left out: {file}");
    }
    if present.is_empty() {
        return Err(Exit::usage("no WARC file holds a matching article (only pages read from or archived into WARC files can be re-extracted)").into());
    }
    crate::warc::submit(settings, &present, args.wait, Duration::from_secs(args.timeout)).await
}
