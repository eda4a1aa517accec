//! The whole pipeline, measured: a local web server on many loopback hosts, the real release workers, the
//! real RabbitMQ and PostgreSQL (found like the tests find them), N URLs submitted with confirms, and a table
//! of what it took.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench --bench pipeline -- --urls 5000 --hosts 50 \
//!     --fetchers 1 --extractors 1 --stores 1
//! cargo bench --bench pipeline -- --fetch-only --fetchers 2     # fetches per second, no extractor or store
//! cargo bench --bench pipeline -- --store-only                  # the store alone, on a pre-filled queue
//! cargo bench --bench pipeline -- --warc --urls 10000 --warc-files 10   # WARC files in, against raw extraction
//! cargo bench --bench pipeline -- --help
//! ```
//!
//! Modes:
//! - end to end (default): fetchers, extractors and stores run; done when every job has an outcome.
//! - `--fetch-only`: only fetchers run; done when the extract (and store) queues hold one message per job.
//!   The pages in the extract queue are then read back to measure their real size on the wire.
//! - `--warc`: the pages packed into WARC files, read by the WARC readers into PostgreSQL (through the
//!   stores); done when every file is read and every record has its outcome. Compared with raw extraction on
//!   every core, the reader's own concurrency.
//! - `--store-only`: the store queue is filled first with the store requests the extractor would send for
//!   the same pages (extracted here), then the stores start; done when every job has an outcome.
//!
//! Every figure comes from this run: wall times from this process's clock, latencies from `outcomes.recorded_at`
//! (PostgreSQL's clock, same machine) minus the time each job's publish started, CPU and peak memory from
//! `/proc/<pid>/stat` and `/proc/<pid>/status` of each worker process.
//!
//! Modules: `args` (the command line), `corpus` (the pages and the raw extraction), `web` (the local web
//! server), `workers` (the scratch database and queues, the worker processes), `fill` (queues filled before a
//! one-stage run), `warc` (the WARC mode), `measure` (one run), `report` (its table), `procstat` (CPU and memory from `/proc`).

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

mod args;
mod corpus;
mod fill;
mod measure;
mod procstat;
mod report;
mod warc;
mod web;
mod workers;

use std::sync::Arc;

use anyhow::bail;
use clap::Parser;
use newspipe_models::{JobId, Outcome};
use uuid::Uuid;

use crate::args::Args;
use crate::corpus::{SERVED_TYPE, load_corpus, raw_extraction, raw_page, url_of};
use crate::procstat::memory_total;
use crate::web::{Web, start_web};
use crate::workers::Bench;

/// A worker stage: its binary, its name in the table, the queue it consumes.
pub use newspipe_testkit::Worker as Stage;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.urls == 0 || args.hosts == 0 || args.hosts > 250 {
        bail!("--urls must be at least 1 and --hosts between 1 and 250");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let corpus = load_corpus(args.generated_pages);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("# newspipe pipeline benchmark");
    println!(
        "machine: {cores} cores (nproc), {} memory, load average {}",
        memory_total(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("pages: {} ({} distinct)", corpus.source, corpus.pages.len());
    if args.warc {
        return warc::run(&args, &corpus, cores).await;
    }

    // The web: one listener per loopback address.
    let web = Arc::new(Web::new(corpus.pages.clone()));
    let bases = if args.store_only || args.extract_only {
        vec!["http://127.0.0.1:9".to_string()]
    } else {
        start_web(&web, args.hosts).await?
    };
    let urls: Vec<String> = (0..args.urls).map(|n| url_of(&bases, n)).collect();

    // What the extractor makes of each distinct page, as it would be sent to the store (sizes, store mode).
    let options = newspipe_extract::Options::default();
    let outcomes_of_pages: Vec<Outcome> = (0..corpus.pages.len())
        .map(|p| {
            newspipe_extractor::extract_outcome(
                &raw_page(JobId::from(Uuid::nil()), &urls[p % urls.len()], &corpus.pages[p], SERVED_TYPE),
                &options,
            )
        })
        .collect();

    // Raw extraction: the same N pages, in memory, in one process.
    let mut raw: Vec<(usize, f64)> = Vec::new();
    if !args.fetch_only && !args.store_only {
        let mut threads = vec![args.raw_threads.unwrap_or(args.extractors).max(1)];
        if args.raw_threads.is_none() && cores != threads[0] {
            threads.push(cores);
        }
        for t in threads {
            let rate = raw_extraction(&corpus.pages, &urls, t);
            println!("raw extraction, {t} thread(s): {rate:.0} pages/s");
            raw.push((t, rate));
        }
    }

    let bench = Bench::create(&args).await?;
    let result = bench.measure(&args, &urls, &corpus, &outcomes_of_pages, &web).await;
    bench.cleanup(&args).await;
    let report = result?;
    report.print(&args, &raw, cores);
    Ok(())
}
