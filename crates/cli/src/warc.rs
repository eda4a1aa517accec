//! `newspipe submit --warc` and `--warc-paths`: one job per WARC file, queued for the WARC readers, and
//! with `--wait`, the files' progress until every one is read and every record has its outcome.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use newspipe_broker::{Outgoing, Queue};
use newspipe_db::{Database, WarcFile};
use newspipe_models::{JobId, WarcJob, encode_json};

use crate::{Exit, Settings, exit};

/// Reads a listing (a path or a URL; plain or gzip) into its sources, relative lines joined to `base`.
pub async fn read_listing(listing: &str, base: Option<&str>) -> anyhow::Result<Vec<String>> {
    let bytes = if listing.starts_with("http://") || listing.starts_with("https://") {
        let response =
            reqwest::get(listing).await.with_context(|| format!("downloading the listing {listing}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(
                Exit::usage(format!("the listing {listing} answered http {}", status.as_u16())).into()
            );
        }
        response.bytes().await.with_context(|| format!("downloading the listing {listing}"))?.to_vec()
    } else {
        std::fs::read(listing).map_err(|e| Exit::usage(format!("cannot read the listing {listing}: {e}")))?
    };
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .with_context(|| format!("decompressing the listing {listing}"))?;
        text
    } else {
        String::from_utf8(bytes).with_context(|| format!("the listing {listing} is not UTF-8 text"))?
    };
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match newspipe_warc::resolve_listing_line(line, base) {
            Ok(Some(source)) => sources.push(source),
            Ok(None) => {}
            Err(why) => errors.push(format!("{listing} line {}: {why}", n + 1)),
        }
    }
    if !errors.is_empty() {
        errors.truncate(5);
        return Err(Exit::usage(errors.join("\n")).into());
    }
    Ok(sources)
}

/// The sources to queue: local paths made absolute (a missing file is refused), URLs as they are; filtered
/// by the date in their names, then cut to `limit`.
pub fn sources(
    given: Vec<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: Option<usize>,
) -> anyhow::Result<Vec<String>> {
    let mut sources = Vec::new();
    let mut missing = Vec::new();
    for source in given {
        let dated = newspipe_warc::date_in_name(&source);
        let in_range = match (dated, since, until) {
            (None, None, None) => true,
            // A file whose name does not date it cannot be kept by a date filter.
            (None, _, _) => false,
            (Some(date), since, until) => since.is_none_or(|s| date >= s) && until.is_none_or(|u| date < u),
        };
        if !in_range {
            continue;
        }
        if source.starts_with("http://") || source.starts_with("https://") {
            sources.push(source);
        } else {
            match std::path::absolute(Path::new(&source)) {
                Ok(path) if path.is_file() => sources.push(path.display().to_string()),
                _ => missing.push(source),
            }
        }
    }
    if !missing.is_empty() {
        return Err(Exit::usage(format!("no such WARC file: {}", missing.join(", "))).into());
    }
    if let Some(limit) = limit {
        sources.truncate(limit);
    }
    if sources.is_empty() {
        return Err(
            Exit::usage("no WARC files to submit (none given, or none left after --since/--until)").into()
        );
    }
    Ok(sources)
}

pub async fn submit(
    settings: &Settings,
    sources: &[String],
    wait: bool,
    timeout: Duration,
) -> anyhow::Result<()> {
    let jobs: Vec<WarcJob> = sources.iter().map(WarcJob::new).collect();
    let database = Database::connect(&settings.database).await?;
    database.migrate().await?;
    database.queue_warc_files(&jobs.iter().map(|j| (j.job_id, j.source.clone())).collect::<Vec<_>>()).await?;
    let messages = jobs
        .iter()
        .map(|job| (Outgoing::json(Queue::Warc, encode_json(job)).for_job(job.job_id), job.source.clone()))
        .collect();
    newspipe_control::publish_messages(&settings.broker, "newspipe submit", messages).await?;
    eprintln!("submitted {} WARC file(s)", jobs.len());
    if wait {
        let ids: Vec<JobId> = jobs.iter().map(|j| j.job_id).collect();
        wait_for_files(&database, &ids, timeout).await?;
    }
    Ok(())
}

/// Waits until every file is read and every record it handed on has its outcome, showing progress.
async fn wait_for_files(database: &Database, ids: &[JobId], timeout: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = Instant::now();
    let mut first_read: Option<(Instant, i64)> = None;
    loop {
        let files = database.warc_files(ids).await?;
        let read: i64 = files.iter().map(|f| f.records_read).sum();
        let rate = match first_read {
            Some((at, before)) if at.elapsed().as_secs_f64() > 0.5 => {
                (read - before) as f64 / at.elapsed().as_secs_f64()
            }
            _ => 0.0,
        };
        if first_read.is_none() && read > 0 {
            first_read = Some((Instant::now(), read));
        }
        let settled = files.len() == ids.len() && files.iter().all(WarcFile::is_settled);
        if settled || last_line.elapsed() >= Duration::from_secs(if terminal { 1 } else { 10 }) {
            let line = progress_line(&files, ids.len(), rate);
            if terminal && !settled {
                eprint!("\r\x1b[2K{line}");
            } else {
                if terminal {
                    eprint!("\r\x1b[2K");
                }
                eprintln!("{line}");
            }
            last_line = Instant::now();
        }
        if settled {
            return summary(&files, started.elapsed());
        }
        if started.elapsed() > timeout {
            if terminal {
                eprintln!();
            }
            return Err(Exit {
                code: exit::TIMED_OUT,
                message: format!(
                    "{} WARC file(s) not finished after {}s",
                    files.iter().filter(|f| !f.is_settled()).count() + ids.len().saturating_sub(files.len()),
                    timeout.as_secs()
                ),
            }
            .into());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn progress_line(files: &[WarcFile], expected: usize, rate: f64) -> String {
    let count = |state: &str| files.iter().filter(|f| f.state == state).count();
    let read: i64 = files.iter().map(|f| f.records_read).sum();
    let stored: i64 = files.iter().map(|f| f.stored).sum();
    format!(
        "files: {} done, {} reading, {} failed, {} queued (of {expected}) · records read {read} · articles stored {stored} · {rate:.0} records/s",
        count("done"),
        count("reading"),
        count("failed"),
        count("queued"),
    )
}

/// Prints each file's counts and what failed; exit 3 if a file or a record failed.
fn summary(files: &[WarcFile], elapsed: Duration) -> anyhow::Result<()> {
    let stored: i64 = files.iter().map(|f| f.stored).sum();
    let skipped: i64 = files.iter().map(|f| f.skipped).sum();
    let failed_records: i64 = files.iter().map(|f| f.failed).sum();
    let read: i64 = files.iter().map(|f| f.records_read).sum();
    eprintln!(
        "read {read} record(s) in {} file(s): stored {stored}, skipped {skipped}, failed {failed_records} (in {:.1}s)",
        files.len(),
        elapsed.as_secs_f64()
    );
    let failed_files: Vec<&WarcFile> = files.iter().filter(|f| f.state == "failed").collect();
    for file in &failed_files {
        eprintln!(
            "  failed: {} ({} at byte {})",
            file.source,
            file.error.as_deref().unwrap_or("no reason"),
            file.error_offset.map(|o| o.to_string()).unwrap_or_else(|| "?".into())
        );
    }
    if !failed_files.is_empty() || failed_records > 0 {
        return Err(Exit {
            code: exit::SOME_FAILED,
            message: format!("{} file(s) and {failed_records} record(s) failed", failed_files.len()),
        }
        .into());
    }
    Ok(())
}
