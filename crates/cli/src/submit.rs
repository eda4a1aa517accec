//! `newspipe submit`: validate URLs, publish one fetch job each (with confirms), optionally wait for every
//! outcome.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use newspipe_control::submit::{JobOptions, job_messages, jobs};
use newspipe_control::{SubmittedUrl, publish_messages, validate};
use newspipe_db::{Database, TreeOutcome};
use newspipe_models::{FetchJob, JobId, JobKind};

use crate::{Exit, Settings, exit};

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe submit https://example.com/news/1 --wait\n  \
    newspipe submit --file urls.txt\n  cat urls.txt | newspipe submit - --wait --timeout 600")]
pub struct SubmitArgs {
    /// URLs to fetch; `-` reads one URL a line from standard input.
    urls: Vec<String>,
    /// Read one URL a line from this file (blank lines and lines starting with `#` are ignored).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Block until every URL has its outcome; exit 3 if any failed.
    #[arg(long)]
    wait: bool,
    /// With --wait: give up after this many seconds (exit 4).
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    /// Fetch again even if the URL is already stored (conditionally: an unchanged page is `unchanged`).
    #[arg(long)]
    refresh: bool,
    /// The URLs are RSS, Atom or JSON feeds: queue a job per item.
    #[arg(long, conflicts_with_all = ["sitemap", "site", "warc", "warc_paths"])]
    feed: bool,
    /// The URLs are sitemaps or sitemap indexes (plain, gzip, Google News): queue a job per entry.
    #[arg(long, conflicts_with_all = ["site", "warc", "warc_paths"])]
    sitemap: bool,
    /// The URLs are sites: find their feeds and sitemaps (page links, robots.txt) and expand them.
    #[arg(long, conflicts_with_all = ["warc", "warc_paths"])]
    site: bool,
    /// The sources are WARC files (`.warc`, `.warc.gz`; local paths or http(s) URLs): one job per file, its
    /// HTML responses extracted by the WARC readers (docs/warc.md).
    #[arg(long, conflicts_with = "warc_paths")]
    pub(crate) warc: bool,
    /// Read WARC files from a listing: one path or URL a line, plain or gzip (Common Crawl's
    /// `warc.paths.gz`); LISTING is a path or a URL.
    #[arg(long, value_name = "LISTING")]
    pub(crate) warc_paths: Option<String>,
    /// The base URL relative listing paths are resolved against (Common Crawl's:
    /// https://data.commoncrawl.org/).
    #[arg(long, value_name = "URL", requires = "warc_paths")]
    pub(crate) warc_base: Option<String>,
    /// With a feed or sitemap: keep only entries published on or after this DATE (`2026-11-01`, an RFC 3339
    /// time, or an age back from now: `36h`, `7d`). With WARC files: keep the files whose name dates them
    /// on or after it (CC-NEWS names do: `CC-NEWS-20240101123456-00001.warc.gz`).
    #[arg(long, value_parser = crate::common::parse_since)]
    pub(crate) since: Option<chrono::DateTime<chrono::Utc>>,
    /// With WARC files: keep the files whose name dates them before this DATE.
    #[arg(long, value_parser = crate::common::parse_since)]
    pub(crate) until: Option<chrono::DateTime<chrono::Utc>>,
    /// With WARC files: take the first N files (after --since/--until).
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
}

pub async fn run(settings: &Settings, args: SubmitArgs) -> anyhow::Result<()> {
    if args.warc || args.warc_paths.is_some() {
        let sources = if let Some(listing) = &args.warc_paths {
            crate::warc::read_listing(listing, args.warc_base.as_deref()).await?
        } else {
            read_inputs(&args)?.into_iter().map(|input| input.url).collect()
        };
        let sources = crate::warc::sources(sources, args.since, args.until, args.limit)?;
        return crate::warc::submit(settings, &sources, args.wait, Duration::from_secs(args.timeout)).await;
    }
    if args.until.is_some() || args.limit.is_some() {
        return Err(Exit::usage(
            "--until and --limit choose WARC files: use them with --warc or --warc-paths",
        )
        .into());
    }
    let inputs = read_inputs(&args)?;
    if inputs.is_empty() {
        return Err(Exit::usage("no URLs given (pass URLs, `-` for standard input, or --file FILE)").into());
    }
    let urls = validate(&inputs, &settings.canonical).map_err(|errors| Exit::usage(errors.join("\n")))?;
    let kind = match (args.feed, args.sitemap, args.site) {
        (true, _, _) => JobKind::Feed,
        (_, true, _) => JobKind::Sitemap,
        (_, _, true) => JobKind::Site,
        _ => JobKind::Page,
    };
    let jobs = jobs(urls, JobOptions { kind, refresh: args.refresh, since: args.since });
    publish_messages(&settings.broker, "newspipe submit", job_messages(&jobs)).await?;
    eprintln!("submitted {} URL(s)", jobs.len());
    if args.wait {
        wait_for_outcomes(settings, &jobs, Duration::from_secs(args.timeout)).await?;
    }
    Ok(())
}

fn read_inputs(args: &SubmitArgs) -> anyhow::Result<Vec<SubmittedUrl>> {
    let mut inputs = Vec::new();
    for (i, url) in args.urls.iter().enumerate() {
        if url == "-" {
            read_lines(std::io::stdin().lock(), "stdin", &mut inputs)?;
        } else {
            inputs.push(SubmittedUrl { origin: format!("argument {}", i + 1), url: url.clone() });
        }
    }
    if let Some(path) = &args.file {
        let file = std::fs::File::open(path)
            .map_err(|e| Exit::usage(format!("cannot read URL file {}: {e}", path.display())))?;
        read_lines(std::io::BufReader::new(file), &path.display().to_string(), &mut inputs)?;
    }
    Ok(inputs)
}

fn read_lines(reader: impl BufRead, name: &str, out: &mut Vec<SubmittedUrl>) -> anyhow::Result<()> {
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {name} line {}", i + 1))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(SubmittedUrl { origin: format!("{name} line {}", i + 1), url: line.to_string() });
    }
    Ok(())
}

/// Waits until every submitted job, and every job discovered from them, has its outcome.
async fn wait_for_outcomes(settings: &Settings, jobs: &[FetchJob], timeout: Duration) -> anyhow::Result<()> {
    let database = Database::connect(&settings.database).await?;
    // The workers may still be creating the tables of a new database: wait for the same schema they use.
    database.migrate().await?;
    let roots: Vec<JobId> = jobs.iter().map(|j| j.job_id).collect();
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(roots.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} done ({elapsed}, eta {eta}) {msg}")
                .expect("static template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    loop {
        let tree = database.outcome_tree(&roots).await?;
        let expected = roots.len() as u64 + tree.iter().filter_map(|o| o.children).sum::<u64>();
        let done = tree.len() as u64;
        bar.set_length(expected);
        bar.set_position(done);
        if done >= expected {
            bar.finish_and_clear();
            let failed = print_summary(&tree, 0);
            eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
            if failed > 0 {
                return Err(
                    Exit { code: exit::SOME_FAILED, message: format!("{failed} URL(s) failed") }.into()
                );
            }
            return Ok(());
        }
        if started.elapsed() > timeout {
            bar.finish_and_clear();
            print_summary(&tree, expected - done);
            return Err(Exit {
                code: exit::TIMED_OUT,
                message: format!(
                    "{} URL(s) still without an outcome after {}s",
                    expected - done,
                    timeout.as_secs()
                ),
            }
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Prints counts and the reasons of skips and failures; returns how many failed. Expanded feeds and sitemaps
/// are counted apart: their items are what the user is after.
fn print_summary(outcomes: &[TreeOutcome], pending: u64) -> usize {
    let count = |kind: &str| outcomes.iter().filter(|o| o.outcome == kind && o.children.is_none()).count();
    let failed = count("failed");
    let expanded = outcomes.iter().filter(|o| o.children.is_some()).count();
    let mut line = format!("stored {}, skipped {}, failed {}", count("stored"), count("skipped"), failed);
    if count("unchanged") > 0 {
        line.push_str(&format!(", unchanged {}", count("unchanged")));
    }
    if expanded > 0 {
        line.push_str(&format!(", feeds/sitemaps expanded {expanded}"));
    }
    eprintln!("{line}, pending {pending}");
    let mut explained: Vec<&TreeOutcome> = outcomes
        .iter()
        .filter(|o| matches!(o.outcome.as_str(), "skipped" | "failed") && o.children.is_none())
        .collect();
    explained.sort_by(|a, b| (&a.outcome, &a.url).cmp(&(&b.outcome, &b.url)));
    for o in explained.iter().take(50) {
        eprintln!("  {}: {} ({})", o.outcome, o.url, o.reason.as_deref().unwrap_or("no reason"));
    }
    if explained.len() > 50 {
        eprintln!("  ... and {} more (see `newspipe status`)", explained.len() - 50);
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `submit --since` had a parser of its own that refused the ages (`7d`) the README promises
    /// for every DATE.
    #[test]
    fn submit_since_takes_every_form_of_date_the_other_commands_take() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            submit: SubmitArgs,
        }
        let since = |value: &str| {
            Cli::try_parse_from(["submit", "--feed", "https://a.example/rss", "--since", value])
        };
        let day = since("2026-11-01").unwrap().submit.since.unwrap();
        assert_eq!(day.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        let time = since("2026-11-01T10:00:00+02:00").unwrap().submit.since.unwrap();
        assert_eq!(time.to_rfc3339(), "2026-11-01T08:00:00+00:00");
        let week = since("7d").unwrap().submit.since.unwrap();
        let age = chrono::Utc::now() - week;
        assert!(
            age >= chrono::Duration::days(7)
                && age < chrono::Duration::days(7) + chrono::Duration::minutes(1),
            "{age}"
        );
        assert!(since("yesterday").is_err());
    }
}
