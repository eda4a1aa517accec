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
//! cargo bench --bench pipeline -- --render --urls 200 --hosts 8   # app shells through headless Chromium
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
//! - `--render`: every URL an app shell built by its script from a corpus page; fetchers, extractors,
//!   renderers (headless Chromium) and stores; done when every job has an outcome (`render`).
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
mod model;
mod peer;
mod procstat;
mod render;
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
use crate::corpus::{Raw, SERVED_TYPE, load_corpus, raw_extraction, raw_page, url_of};
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
    if args.render {
        return render::run(&args, &corpus).await;
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
    let mut raw: Vec<Raw> = Vec::new();
    if !args.fetch_only && !args.store_only {
        let mut threads = vec![args.raw_threads.unwrap_or(args.extractors).max(1)];
        if args.raw_threads.is_none() && cores != threads[0] {
            threads.push(cores);
        }
        for t in threads {
            let r = raw_extraction(&corpus.pages, &urls, t);
            println!(
                "raw extraction, {t} thread(s): {:.0} pages/s, {:.2} ms of CPU per page",
                r.pages_per_second, r.cpu_ms
            );
            raw.push(r);
        }
    }

    let end_to_end = !args.fetch_only && !args.store_only && !args.extract_only && args.stores > 0;
    let layouts: Vec<(usize, usize, usize)> = if args.check_model {
        vec![(1, 1, 1), (1, 2, 1)]
    } else {
        vec![(args.fetchers, args.extractors, args.stores)]
    };
    let mut reports = Vec::new();
    for (fetchers, extractors, stores) in layouts {
        let args = Args { fetchers, extractors, stores, ..args.clone() };
        let bench = Bench::create(&args).await?;
        let result = bench.measure(&args, &urls, &corpus, &outcomes_of_pages, &web).await;
        bench.cleanup(&args).await;
        let report = result?;
        report.print(&args, &raw, cores);
        if end_to_end {
            report.print_model(&args, &raw, cores);
        }
        reports.push((args, report));
    }
    if args.check_model {
        check_model(&reports, cores);
    }

    // The tool a user would pick instead, on the same URLs from the same hosts.
    if end_to_end && !args.no_peer {
        match peer::trafilatura_version() {
            None => println!(
                "\n(trafilatura is not installed: no peer run; `pip install trafilatura lxml_html_clean`)"
            ),
            Some(version) => {
                let dir =
                    std::env::temp_dir().join(format!("newspipe-bench-trafilatura-{}", std::process::id()));
                println!(
                    "\nrunning {version} on the same {} URLs (--parallel {}) ...",
                    urls.len(),
                    args.peer_parallel
                );
                let run = peer::run_trafilatura(&urls, &dir, args.peer_parallel)?;
                let _ = std::fs::remove_dir_all(&dir);
                let (ours_args, ours) = &reports[reports.len() - 1];
                let ours_rate = ours.stored() as f64 / ours.wall;
                let theirs = run.articles as f64 / run.seconds;
                println!();
                println!("## Against trafilatura ({})", run.version);
                println!();
                println!("| measure | value |");
                println!("|---|---|");
                println!(
                    "| trafilatura --parallel {}: articles written / seconds / articles per second | {} / {:.1} / **{theirs:.1}** |",
                    args.peer_parallel, run.articles, run.seconds
                );
                println!(
                    "| trafilatura CPU ms per article (its process and children) | {:.1} |",
                    run.cpu_seconds * 1000.0 / run.articles.max(1) as f64
                );
                println!(
                    "| newspipe {}/{}/{}: articles stored per second | **{ours_rate:.1}**: **{:.1}x** trafilatura's |",
                    ours_args.fetchers,
                    ours_args.extractors,
                    ours_args.stores,
                    ours_rate / theirs
                );
            }
        }
    }
    Ok(())
}

/// Each run of `--check-model` predicted from the other's CPU per article, beside what it measured.
fn check_model(reports: &[(Args, report::Report)], cores: usize) {
    println!();
    println!("## The capacity model checked: each layout predicted from the other run's CPU per article");
    println!();
    println!("| layout | measured stored/s | predicted from | predicted | error |");
    println!("|---|---|---|---|---|");
    for (i, (args, report)) in reports.iter().enumerate() {
        let (other_args, other) = &reports[(i + 1) % reports.len()];
        let (predicted, limit) = model::shared(&other.costs(), cores as f64, &report::parallel(args, cores));
        let measured = report.stored() as f64 / report.wall;
        println!(
            "| {}/{}/{} | {measured:.0} | {}/{}/{}'s costs ({:.2} ms) | {predicted:.0} ({limit}) | {:+.0}% |",
            args.fetchers,
            args.extractors,
            args.stores,
            other_args.fetchers,
            other_args.extractors,
            other_args.stores,
            other.costs().total(),
            100.0 * (predicted - measured) / measured
        );
    }
}
