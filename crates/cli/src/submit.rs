//! `newspipe submit`: validate URLs, publish one fetch job each (with confirms), optionally wait for every
//! outcome.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use newspipe_broker::{Outgoing, Publisher, Queue, Topology, connect};
use newspipe_models::{FetchJob, JobId, encode_json, new_job_id};
use newspipe_store::Database;

use crate::{Exit, Settings, exit};

/// Publishes in flight at once: confirms are awaited concurrently, not one round trip per URL.
const PUBLISH_CONCURRENCY: usize = 64;

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
    /// Fetch again even if the URL is already stored.
    #[arg(long)]
    refresh: bool,
}

/// One URL of the input, with where it came from (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedUrl {
    pub origin: String,
    pub url: String,
}

pub async fn run(settings: &Settings, args: SubmitArgs) -> anyhow::Result<()> {
    let inputs = read_inputs(&args)?;
    if inputs.is_empty() {
        return Err(Exit::usage("no URLs given (pass URLs, `-` for standard input, or --file FILE)").into());
    }
    let urls = validate(&inputs).map_err(|errors| Exit::usage(errors.join("\n")))?;
    let jobs: Vec<FetchJob> = urls
        .into_iter()
        .map(|url| {
            let mut job = FetchJob::new(new_job_id(), url);
            job.refresh = args.refresh;
            job
        })
        .collect();
    publish(settings, &jobs).await?;
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

/// Every URL must be an absolute http(s) URL with a host. All problems are reported together, and nothing is
/// published unless every line is good: a half-submitted file is harder to fix than a refused one.
pub fn validate(inputs: &[SubmittedUrl]) -> Result<Vec<String>, Vec<String>> {
    let mut good = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for input in inputs {
        match url::Url::parse(&input.url) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                errors.push(format!("{}: `{}` is not an http or https URL", input.origin, input.url))
            }
            Ok(url) if url.host_str().is_none_or(str::is_empty) => {
                errors.push(format!("{}: `{}` has no host", input.origin, input.url))
            }
            Ok(mut url) => {
                url.set_fragment(None);
                good.push(url.to_string());
            }
            Err(e) => errors.push(format!("{}: `{}` is not a valid URL ({e})", input.origin, input.url)),
        }
    }
    if errors.is_empty() { Ok(good) } else { Err(errors) }
}

async fn publish(settings: &Settings, jobs: &[FetchJob]) -> anyhow::Result<()> {
    let connection = connect(&settings.broker.url, "newspipe submit").await?;
    let topology = Topology::new(&settings.broker);
    let channel = connection.create_channel().await.context("opening a channel")?;
    topology.declare(&channel).await?;
    let publisher =
        Publisher::open(&connection, topology, Duration::from_secs(settings.broker.publish_timeout_secs))
            .await?;
    futures_util::stream::iter(jobs)
        .map(|job| {
            let publisher = publisher.clone();
            async move {
                let message = Outgoing::json(Queue::Fetch, encode_json(job)).for_job(job.job_id);
                publisher.publish(&message).await.with_context(|| format!("submitting {}", job.url))
            }
        })
        .buffer_unordered(PUBLISH_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    let _ = connection.close(200, "bye".into()).await;
    Ok(())
}

async fn wait_for_outcomes(settings: &Settings, jobs: &[FetchJob], timeout: Duration) -> anyhow::Result<()> {
    let database = Database::connect(&settings.database).await?;
    let ids: Vec<JobId> = jobs.iter().map(|j| j.job_id).collect();
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(ids.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} done ({elapsed}, eta {eta}) {msg}")
                .expect("static template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut pending: HashSet<JobId> = ids.iter().copied().collect();
    let mut outcomes: HashMap<JobId, (String, Option<String>, String)> = HashMap::new();
    while !pending.is_empty() {
        let batch: Vec<JobId> = pending.iter().copied().collect();
        for chunk in batch.chunks(10_000) {
            for row in database.outcomes_for(chunk).await? {
                pending.remove(&row.job_id);
                outcomes.insert(row.job_id, (row.outcome, row.reason, row.url));
            }
        }
        bar.set_position((ids.len() - pending.len()) as u64);
        if pending.is_empty() {
            break;
        }
        if started.elapsed() > timeout {
            bar.finish_and_clear();
            print_summary(&outcomes, pending.len());
            return Err(Exit {
                code: exit::TIMED_OUT,
                message: format!(
                    "{} URL(s) still without an outcome after {}s",
                    pending.len(),
                    timeout.as_secs()
                ),
            }
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bar.finish_and_clear();
    let failed = print_summary(&outcomes, 0);
    eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
    if failed > 0 {
        return Err(Exit { code: exit::SOME_FAILED, message: format!("{failed} URL(s) failed") }.into());
    }
    Ok(())
}

/// Prints counts and the reasons of skips and failures; returns how many failed.
fn print_summary(outcomes: &HashMap<JobId, (String, Option<String>, String)>, pending: usize) -> usize {
    let count = |kind: &str| outcomes.values().filter(|(o, _, _)| o == kind).count();
    let failed = count("failed");
    eprintln!(
        "stored {}, skipped {}, failed {}, pending {pending}",
        count("stored"),
        count("skipped"),
        failed
    );
    let mut explained: Vec<_> = outcomes.values().filter(|(o, _, _)| o != "stored").collect();
    explained.sort_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
    for (outcome, reason, url) in explained.iter().take(50) {
        eprintln!("  {outcome}: {url} ({})", reason.as_deref().unwrap_or("no reason"));
    }
    if explained.len() > 50 {
        eprintln!("  ... and {} more (see `newspipe status`)", explained.len() - 50);
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str) -> SubmittedUrl {
        SubmittedUrl { origin: "stdin line 3".into(), url: url.into() }
    }

    #[test]
    fn http_and_https_urls_are_accepted_without_their_fragment() {
        let urls = validate(&[input("https://example.com/a#top"), input("http://example.com/b")]).unwrap();
        assert_eq!(urls, ["https://example.com/a", "http://example.com/b"]);
    }

    #[test]
    fn a_bad_url_is_refused_naming_its_line() {
        let errors = validate(&[input("ftp://example.com/x"), input("not a url")]).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0], "stdin line 3: `ftp://example.com/x` is not an http or https URL");
        assert!(errors[1].starts_with("stdin line 3: `not a url` is not a valid URL"), "{}", errors[1]);
    }
}
