//! `--warc`: the corpus pages packed into WARC files (gzip per record), read by the WARC readers into
//! PostgreSQL through the store; against the same pages extracted raw, in one process, on as many threads
//! as the reader uses (every core). Prints records per second both ways, their ratio, and each process's
//! CPU per record and peak memory.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use newspipe_broker::{Outgoing, Publisher, Queue, Topology};
use newspipe_db::{Database, DatabaseSettings, WarcFile};
use newspipe_models::{JobId, WarcJob, encode_json};
use newspipe_testkit::warc::{Compression, WarcBuilder, http_response};

use crate::Stage;
use crate::args::Args;
use crate::corpus::{Corpus, SERVED_TYPE, raw_extraction};
use crate::procstat::{cpu_seconds, services_cpu, status_kb};
use crate::workers::{Bench, terminate, wait_consumers};

pub async fn run(args: &Args, corpus: &Corpus, cores: usize) -> anyhow::Result<()> {
    let files = args.warc_files.max(1);
    let per_file = args.urls.div_ceil(files);
    let urls: Vec<String> =
        (0..args.urls).map(|n| format!("http://warc-bench.test/news/{n}/article.html")).collect();

    let threads = args.raw_threads.unwrap_or(cores);
    let raw = raw_extraction(&corpus.pages, &urls, threads).pages_per_second;
    println!("raw extraction, {threads} thread(s): {raw:.0} pages/s");

    let bench = Bench::create(args).await?;
    let result = measure(args, corpus, &bench, &urls, per_file, raw, threads).await;
    bench.cleanup(args).await;
    result
}

async fn measure(
    args: &Args,
    corpus: &Corpus,
    bench: &Bench,
    urls: &[String],
    per_file: usize,
    raw: f64,
    threads: usize,
) -> anyhow::Result<()> {
    let mut sources = Vec::new();
    let mut bytes_total = 0u64;
    for (f, chunk) in urls.chunks(per_file).enumerate() {
        let mut warc = WarcBuilder::new();
        warc.warcinfo();
        for (i, url) in chunk.iter().enumerate() {
            let page = &corpus.pages[(f * per_file + i) % corpus.pages.len()];
            warc.response(url, &http_response(200, SERVED_TYPE, &[], page));
        }
        let (bytes, _) = warc.build(Compression::PerRecord);
        bytes_total += bytes.len() as u64;
        let path = bench.dir.join(format!("bench-{f:03}.warc.gz"));
        std::fs::write(&path, &bytes).with_context(|| format!("write {}", path.display()))?;
        sources.push(path.display().to_string());
    }
    println!(
        "warc files: {} of up to {per_file} records, {:.1} MB compressed in all",
        sources.len(),
        bytes_total as f64 / 1e6
    );

    let database = Database::connect(&DatabaseSettings {
        url: bench.scratch.database_url.clone().into(),
        ..DatabaseSettings::default()
    })
    .await?;
    database.migrate().await?;
    let connection =
        newspipe_broker::connect(&bench.scratch.amqp_url.as_str().into(), "newspipe-bench").await?;
    let topology = Topology::new(&bench.broker_settings());
    let channel = connection.create_channel().await?;
    topology.declare(&channel).await?;
    let publisher = Publisher::open(&connection, topology.clone(), Duration::from_secs(60)).await?;

    let mut workers = Vec::new();
    let parquet_dir = bench.dir.join("parquet");
    let mut reader_args = args.clone();
    let mut stages = vec![(Stage::WarcReader, args.warc_readers.max(1))];
    if args.warc_parquet {
        reader_args
            .env
            .push(("NEWSPIPE__WARC_READER__PARQUET_DIR".into(), parquet_dir.display().to_string()));
    } else {
        for n in 0..args.stores.max(1) {
            workers.push(bench.start(args, Stage::Store, n)?);
        }
        stages.push((Stage::Store, args.stores.max(1)));
    }
    for n in 0..args.warc_readers.max(1) {
        workers.push(bench.start(&reader_args, Stage::WarcReader, n)?);
    }
    wait_consumers(&topology, &channel, &stages).await?;
    for worker in &mut workers {
        worker.cpu_start = cpu_seconds(worker.child.id()).unwrap_or(0.0);
    }
    let services_start = services_cpu();

    let jobs: Vec<WarcJob> = sources.iter().map(WarcJob::new).collect();
    let started = Instant::now();
    database.queue_warc_files(&jobs.iter().map(|j| (j.job_id, j.source.clone())).collect::<Vec<_>>()).await?;
    for job in &jobs {
        publisher.publish(&Outgoing::json(Queue::Warc, encode_json(job)).for_job(job.job_id)).await?;
    }
    let ids: Vec<JobId> = jobs.iter().map(|j| j.job_id).collect();
    let deadline = started + Duration::from_secs(args.timeout_secs);
    let (records, stored) = if args.warc_parquet {
        // Done when every file's outputs are in place (its outcomes are renamed first, its articles last).
        let stem = |source: &str| {
            let name = source.rsplit('/').next().unwrap_or(source);
            name.trim_end_matches(".gz").trim_end_matches(".warc").to_string()
        };
        while !sources.iter().all(|s| parquet_dir.join(format!("{}.parquet", stem(s))).exists()) {
            if Instant::now() > deadline {
                bail!("the WARC files were not all written within {} s", args.timeout_secs);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut records = 0i64;
        let mut stored = 0i64;
        for source in &sources {
            let text = std::fs::read_to_string(parquet_dir.join(format!("{}.outcomes.jsonl", stem(source))))?;
            records += text.lines().count() as i64;
            stored += text.lines().filter(|l| l.contains("\"outcome\":\"stored\"")).count() as i64;
        }
        (records, stored)
    } else {
        let files_read: Vec<WarcFile> = loop {
            let files = database.warc_files(&ids).await?;
            if files.len() == ids.len() && files.iter().all(WarcFile::is_settled) {
                break files;
            }
            if Instant::now() > deadline {
                bail!("the WARC files were not all read within {} s", args.timeout_secs);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        (files_read.iter().map(|f| f.responses).sum(), files_read.iter().map(|f| f.stored).sum())
    };
    let elapsed = started.elapsed().as_secs_f64();
    let services = services_cpu().zip(services_start).map(|(end, start)| (end.0 - start.0, end.1 - start.1));
    let sink = if args.warc_parquet { "parquet" } else { "postgresql" };
    let rate = records as f64 / elapsed;

    println!(
        "warc path into {sink}: {records} response records in {elapsed:.2} s: {rate:.0} records/s ({stored} stored)"
    );
    println!("ratio to raw extraction on {threads} thread(s): {:.2}", rate / raw);
    println!("{:<14} {:>10} {:>14} {:>12}", "PROCESS", "CPU s", "CPU ms/record", "PEAK RSS MB");
    for worker in &workers {
        let pid = worker.child.id();
        let cpu = cpu_seconds(pid).unwrap_or(0.0) - worker.cpu_start;
        let peak = status_kb(pid, "VmHWM").unwrap_or(0) as f64 / 1024.0;
        println!(
            "{:<14} {cpu:>10.2} {:>14.3} {peak:>12.1}",
            worker.stage.name(),
            cpu * 1000.0 / records.max(1) as f64
        );
    }
    if let Some((rabbit, postgres)) = services {
        for (name, cpu) in [("rabbitmq", rabbit), ("postgresql", postgres)] {
            println!("{name:<14} {cpu:>10.2} {:>14.3} {:>12}", cpu * 1000.0 / records.max(1) as f64, "-");
        }
    }
    terminate(&workers);
    let _ = connection.close(200, "bye".into()).await;
    Ok(())
}
