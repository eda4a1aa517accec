//! The whole pipeline, measured: a local web server on many loopback hosts, the real release workers, the
//! real RabbitMQ and PostgreSQL (found like the tests find them), N URLs submitted with confirms, and a table
//! of what it took.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench --bench pipeline -- --urls 5000 --hosts 50 \
//!     --fetchers 1 --extractors 1 --stores 1
//! cargo bench --bench pipeline -- --fetch-only --fetchers 2     # fetches per second, no extractor or store
//! cargo bench --bench pipeline -- --store-only                  # the store alone, on a pre-filled queue
//! cargo bench --bench pipeline -- --help
//! ```
//!
//! Modes:
//! - end to end (default): fetchers, extractors and stores run; done when every job has an outcome.
//! - `--fetch-only`: only fetchers run; done when the extract (and store) queues hold one message per job.
//!   The pages in the extract queue are then read back to measure their real size on the wire.
//! - `--store-only`: the store queue is filled first with the store requests the extractor would send for
//!   the same pages (extracted here), then the stores start; done when every job has an outcome.
//!
//! Every figure comes from this run: wall times from this process's clock, latencies from `outcomes.recorded_at`
//! (PostgreSQL's clock, same machine) minus the time each job's publish started, CPU and peak memory from
//! `/proc/<pid>/stat` and `/proc/<pid>/status` of each worker process.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use clap::Parser;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use newspipe_broker::{BrokerSettings, Outgoing, Publisher, Queue, Topology};
use newspipe_models::{
    FetchJob, JobId, Outcome, RawPage, SCHEMA_VERSION, StoreRequest, encode_json, encode_page,
};
use sqlx::{Connection as _, PgConnection, PgPool};
use uuid::Uuid;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "pipeline",
    about = "Benchmarks the newspipe pipeline end to end against the local RabbitMQ and PostgreSQL",
    long_about = "Benchmarks the newspipe pipeline end to end: a local web server on --hosts loopback addresses \
                  (127.0.0.1..127.0.0.N) serving ../shared/corpus/wcxb-dev-articles pages (or generated ones), \
                  the release worker binaries, and the services from AMQP_URL/DATABASE_URL or \
                  /tmp/newspipe-services/env (start them with `deploy/services.sh start`). Each run gets a fresh \
                  database and queue prefix, removed at the end."
)]
struct Args {
    /// URLs (jobs) to submit.
    #[arg(long, default_value_t = 5000)]
    urls: usize,
    /// Distinct hosts the URLs are spread over (loopback addresses 127.0.0.1..127.0.0.N).
    #[arg(long, default_value_t = 50)]
    hosts: usize,
    /// Fetcher processes.
    #[arg(long, default_value_t = 1)]
    fetchers: usize,
    /// Extractor processes.
    #[arg(long, default_value_t = 1)]
    extractors: usize,
    /// Store processes. 0: no store runs, so every outcome piles up in the store queue (backpressure: the
    /// workers' memory stays bounded by their prefetch); done when the store queue holds one message per URL.
    #[arg(long, default_value_t = 1)]
    stores: usize,
    /// Politeness interval per host given to the fetchers (`NEWSPIPE__POLITENESS__INTERVAL_MS`).
    #[arg(long, default_value_t = 0)]
    interval_ms: u64,
    /// Only fetchers: measure fetches per second (until the extract queue holds a page per URL).
    #[arg(long, conflicts_with = "store_only")]
    fetch_only: bool,
    /// Only stores: fill the store queue with N store requests first, then time the stores draining it.
    #[arg(long)]
    store_only: bool,
    /// Only extractors: fill the extract queue with N pages first (gzip-compressed, as the fetcher sends them),
    /// then time the extractors until the store queue holds N outcomes (no store runs). With
    /// `--env NEWSPIPE__EXTRACTOR__CONCURRENCY=1` each replica uses one core: how replicas scale.
    #[arg(long, conflicts_with_all = ["store_only", "fetch_only"])]
    extract_only: bool,
    /// Threads for the raw extraction measure (one process, pages in memory); default: --extractors, and also
    /// every core when that differs.
    #[arg(long)]
    raw_threads: Option<usize>,
    /// Jobs published at once (each waits for its confirm).
    #[arg(long, default_value_t = 256)]
    publish_concurrency: usize,
    /// Give up waiting for outcomes after this many seconds.
    #[arg(long, default_value_t = 1200)]
    timeout_secs: u64,
    /// `RUST_LOG` of the workers (their default is `info`).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Extra worker environment, KEY=VALUE (repeatable), e.g. `--env NEWSPIPE__BROKER__PREFETCH=64`.
    #[arg(long = "env", value_parser = parse_key_value)]
    env: Vec<(String, String)>,
    /// Serve generated article pages (about 8 KB each) even when the corpus is present (issue 4's "small
    /// pages").
    #[arg(long)]
    generated_pages: bool,
    /// Keep the workers' logs (their directory is printed).
    #[arg(long)]
    keep_logs: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s}: want KEY=VALUE"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Fetcher,
    Extractor,
    Store,
}

impl Stage {
    fn binary(self) -> &'static str {
        match self {
            Stage::Fetcher => env!("CARGO_BIN_EXE_newspipe-fetcher"),
            Stage::Extractor => env!("CARGO_BIN_EXE_newspipe-extractor"),
            Stage::Store => env!("CARGO_BIN_EXE_newspipe-store"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stage::Fetcher => "fetcher",
            Stage::Extractor => "extractor",
            Stage::Store => "store",
        }
    }

    fn queue(self) -> Queue {
        match self {
            Stage::Fetcher => Queue::Fetch,
            Stage::Extractor => Queue::Extract,
            Stage::Store => Queue::Store,
        }
    }
}

/// A worker process, killed when dropped.
struct Worker {
    stage: Stage,
    child: Child,
    cpu_start: f64,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.urls == 0 || args.hosts == 0 || args.hosts > 250 {
        bail!("--urls must be at least 1 and --hosts between 1 and 250");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

/// One page as served: its body, and what the worker's extraction made of it (for sizes and the store mode).
struct Corpus {
    pages: Vec<Bytes>,
    source: String,
}

fn url_of(base: &[String], n: usize) -> String {
    format!("{}/news/{n}/article.html", base[n % base.len()])
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

/// The content type the benchmark's web server sends its pages with.
const SERVED_TYPE: &str = "text/html; charset=utf-8";

fn raw_page(job_id: JobId, url: &str, body: &[u8], content_type: &str) -> RawPage {
    RawPage {
        schema: SCHEMA_VERSION,
        job_id,
        url: url.to_string(),
        final_url: url.to_string(),
        status: 200,
        headers: [("content-type".to_string(), content_type.to_string())].into(),
        fetched_at: Utc::now(),
        hints: None,
        parent_job_id: None,
        body: body.to_vec(),
    }
}

/// Pages per second extracting `urls.len()` pages (page `n % pages.len()` at `urls[n]`) on `threads` threads,
/// the way the extractor worker does it (`newspipe_extractor::extract_outcome` on a decoded page).
fn raw_extraction(pages: &[Bytes], urls: &[String], threads: usize) -> f64 {
    let options = newspipe_extract::Options::default();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= urls.len() {
                        break;
                    }
                    let page = raw_page(
                        JobId::from(Uuid::nil()),
                        &urls[n],
                        &pages[n % pages.len()],
                        "text/html; charset=utf-8",
                    );
                    std::hint::black_box(newspipe_extractor::extract_outcome(&page, &options));
                }
            });
        }
    });
    urls.len() as f64 / started.elapsed().as_secs_f64()
}

fn load_corpus(generated: bool) -> Corpus {
    let shared = std::env::var_os("NEWSPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = shared.join("corpus/wcxb-dev-articles/html");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| !generated && p.to_string_lossy().ends_with(".html.gz"));
    paths.sort();
    let mut pages = Vec::new();
    for path in &paths {
        let mut html = Vec::new();
        let Ok(file) = std::fs::File::open(path) else { continue };
        if flate2::read::GzDecoder::new(file).read_to_end(&mut html).is_ok() {
            pages.push(Bytes::from(html));
        }
    }
    if !pages.is_empty() {
        let bytes: usize = pages.iter().map(Bytes::len).sum();
        return Corpus {
            source: format!(
                "{} (real pages, {:.1} KB on average)",
                dir.display(),
                bytes as f64 / pages.len() as f64 / 1e3
            ),
            pages,
        };
    }
    let pages: Vec<Bytes> = (0..50).map(|i| Bytes::from(generated_page(i))).collect();
    let bytes: usize = pages.iter().map(Bytes::len).sum();
    Corpus {
        source: format!(
            "generated article pages ({}), {:.1} KB on average",
            if generated { "--generated-pages".to_string() } else { format!("{} is absent", dir.display()) },
            bytes as f64 / pages.len() as f64 / 1e3
        ),
        pages,
    }
}

fn generated_page(i: usize) -> String {
    let words = [
        "council",
        "budget",
        "river",
        "school",
        "market",
        "harbour",
        "railway",
        "election",
        "festival",
        "hospital",
        "museum",
        "weather",
        "farmers",
        "library",
        "bridge",
        "energy",
        "housing",
        "police",
        "garden",
        "university",
    ];
    let mut paragraphs = String::new();
    for p in 0..12 {
        let mut sentence = String::new();
        for w in 0..60 {
            let word = words[(i * 7 + p * 13 + w * 3) % words.len()];
            sentence.push_str(if w == 0 { "The" } else { word });
            sentence.push(if w % 12 == 11 { '.' } else { ' ' });
        }
        paragraphs.push_str(&format!("<p>{sentence} Paragraph {p} of story {i}.</p>\n"));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Story {i}: the {w} report</title>\
         <meta property=\"og:type\" content=\"article\"><meta name=\"author\" content=\"Alex Writer\">\
         <meta property=\"article:published_time\" content=\"2026-11-{d:02}T08:00:00Z\"></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav><article><h1>Story {i}: the {w} report</h1>\
         <p class=\"byline\">By Alex Writer</p>{paragraphs}</article><footer>(c) Example News</footer></body></html>",
        w = words[i % words.len()],
        d = 1 + i % 27
    )
}

/// The local web: every page request counted, with the times of the first and the last.
struct Web {
    pages: Vec<Bytes>,
    requests: AtomicU64,
    first_last: Mutex<Option<(Instant, Instant)>>,
}

impl Web {
    fn new(pages: Vec<Bytes>) -> Self {
        Web { pages, requests: AtomicU64::new(0), first_last: Mutex::new(None) }
    }
}

async fn serve(State(web): State<Arc<Web>>, uri: Uri) -> Response {
    let n = uri
        .path()
        .strip_prefix("/news/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|n| n.parse::<usize>().ok());
    let Some(n) = n else { return StatusCode::NOT_FOUND.into_response() };
    web.requests.fetch_add(1, Ordering::Relaxed);
    {
        let now = Instant::now();
        let mut first_last = web.first_last.lock().unwrap();
        let first = first_last.map(|(first, _)| first).unwrap_or(now);
        *first_last = Some((first, now));
    }
    let body = web.pages[n % web.pages.len()].clone();
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// Binds 127.0.0.1..127.0.0.N, on one port when it is free everywhere; returns each host's base URL.
async fn start_web(web: &Arc<Web>, hosts: usize) -> anyhow::Result<Vec<String>> {
    let app = Router::new().fallback(serve).with_state(web.clone());
    let first = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = first.local_addr()?.port();
    let mut listeners = vec![first];
    for i in 2..=hosts {
        let listener = match tokio::net::TcpListener::bind(format!("127.0.0.{i}:{port}")).await {
            Ok(listener) => listener,
            Err(_) => tokio::net::TcpListener::bind(format!("127.0.0.{i}:0"))
                .await
                .with_context(|| format!("bind 127.0.0.{i}"))?,
        };
        listeners.push(listener);
    }
    let mut bases = Vec::new();
    for listener in listeners {
        bases.push(format!("http://{}", listener.local_addr()?));
        let app = app.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    Ok(bases)
}

/// A fresh database and queue prefix on the shared services.
struct Bench {
    admin_url: String,
    amqp_url: String,
    database_name: String,
    database_url: String,
    prefix: String,
    dir: PathBuf,
}

impl Bench {
    async fn create(args: &Args) -> anyhow::Result<Bench> {
        let (amqp_url, admin_url) = services()?;
        let id = Uuid::new_v4().simple().to_string();
        let prefix = format!("bench{}", &id[..12]);
        let database_name = format!("newspipe_bench_{}", &id[..16]);
        let mut admin = PgConnection::connect(&admin_url).await.context("connect to PostgreSQL")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{database_name}\"")))
            .execute(&mut admin)
            .await
            .context("create the benchmark database")?;
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url)?;
        url.set_path(&format!("/{database_name}"));
        let dir = std::env::temp_dir().join(format!("newspipe-bench-{prefix}"));
        std::fs::create_dir_all(&dir)?;
        if args.keep_logs {
            println!("worker logs: {}", dir.display());
        }
        Ok(Bench { admin_url, amqp_url, database_name, database_url: url.to_string(), prefix, dir })
    }

    fn broker_settings(&self) -> BrokerSettings {
        BrokerSettings {
            url: self.amqp_url.clone(),
            prefix: self.prefix.clone(),
            ..BrokerSettings::default()
        }
    }

    fn start(&self, args: &Args, stage: Stage, n: usize) -> anyhow::Result<Worker> {
        let log = std::fs::File::create(self.dir.join(format!("{}-{n}.log", stage.name())))?;
        let mut command = Command::new(stage.binary());
        command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        command.envs([
            ("AMQP_URL", self.amqp_url.as_str()),
            ("DATABASE_URL", self.database_url.as_str()),
            ("NEWSPIPE__BROKER__PREFIX", self.prefix.as_str()),
            ("NEWSPIPE__POLITENESS__INTERVAL_MS", &args.interval_ms.to_string()),
            ("NEWSPIPE__POLITENESS__SLACK_MS", "0"),
            ("NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES", "true"),
            ("NEWSPIPE__METRICS__PORT", "0"),
            ("RUST_LOG", args.log_level.as_str()),
        ]);
        command.envs(args.env.iter().cloned());
        command.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        let child = command.spawn().with_context(|| format!("start {}", stage.binary()))?;
        let cpu_start = cpu_seconds(child.id()).unwrap_or(0.0);
        Ok(Worker { stage, child, cpu_start })
    }

    async fn measure(
        &self,
        args: &Args,
        urls: &[String],
        corpus: &Corpus,
        outcomes_of_pages: &[Outcome],
        web: &Web,
    ) -> anyhow::Result<Report> {
        let settings = self.broker_settings();
        let topology = Topology::new(&settings);
        let connection = newspipe_broker::connect(&self.amqp_url, "newspipe-bench").await?;
        let channel = connection.create_channel().await?;
        topology.declare(&channel).await?;
        let publisher = Publisher::open(&connection, topology.clone(), Duration::from_secs(60)).await?;
        let db = PgPool::connect(&self.database_url).await?;

        let stages: Vec<(Stage, usize)> = if args.fetch_only {
            vec![(Stage::Fetcher, args.fetchers)]
        } else if args.extract_only {
            vec![(Stage::Extractor, args.extractors)]
        } else if args.store_only {
            vec![(Stage::Store, args.stores)]
        } else {
            vec![
                (Stage::Fetcher, args.fetchers),
                (Stage::Extractor, args.extractors),
                (Stage::Store, args.stores),
            ]
        };
        let n = urls.len();
        let job_ids: Vec<JobId> = (0..n).map(|_| newspipe_models::new_job_id()).collect();

        // The store alone: start it once (it migrates the database), stop it, fill its queue, start it again.
        if args.store_only {
            let mut warm = Vec::new();
            for i in 0..args.stores {
                warm.push(self.start(args, Stage::Store, 100 + i)?);
            }
            wait_consumers(&topology, &channel, &[(Stage::Store, args.stores)]).await?;
            for worker in &warm {
                let _ = Command::new("kill").arg("-TERM").arg(worker.child.id().to_string()).status();
            }
            for mut worker in warm {
                let _ = worker.child.wait();
            }
            let messages: Vec<Outgoing> = (0..n)
                .map(|i| {
                    let mut outcome = outcomes_of_pages[i % outcomes_of_pages.len()].clone();
                    if let Outcome::Stored { article } = &mut outcome {
                        article.url = urls[i].clone();
                        article.fetched_at = Some(Utc::now());
                    }
                    let body = encode_json(&StoreRequest::new(job_ids[i], &urls[i], outcome));
                    Outgoing::json(Queue::Store, body).compressed().for_job(job_ids[i])
                })
                .collect();
            let published = Instant::now();
            publish_all(&publisher, &messages, args.publish_concurrency).await?;
            println!(
                "store queue filled with {n} requests ({:.0} bytes each, compressed) in {:.1} s",
                messages.iter().map(|m| m.body().len()).sum::<usize>() as f64 / n as f64,
                published.elapsed().as_secs_f64()
            );
        }

        // The extractors alone: their queue filled first, with the pages as the fetcher would send them.
        if args.extract_only {
            let messages: Vec<Outgoing> = (0..n)
                .map(|i| {
                    let page =
                        raw_page(job_ids[i], &urls[i], &corpus.pages[i % corpus.pages.len()], SERVED_TYPE);
                    Outgoing::bytes(
                        Queue::Extract,
                        encode_page(&page),
                        newspipe_fetcher::worker::PAGE_CONTENT_TYPE,
                    )
                    .compressed()
                    .for_job(job_ids[i])
                })
                .collect();
            let published = Instant::now();
            publish_all(&publisher, &messages, args.publish_concurrency).await?;
            println!("extract queue filled with {n} pages in {:.1} s", published.elapsed().as_secs_f64());
        }

        let mut workers = Vec::new();
        for &(stage, count) in &stages {
            for i in 0..count {
                workers.push(self.start(args, stage, i)?);
            }
        }
        let started_workers = Instant::now();
        let started_workers_utc = Utc::now();
        if !args.store_only {
            wait_consumers(&topology, &channel, &stages).await?;
            println!("workers ready in {:.1} s", started_workers.elapsed().as_secs_f64());
        }
        let services_cpu_start = services_cpu();
        let own_cpu_start = cpu_seconds(std::process::id()).unwrap_or(0.0);
        for worker in &mut workers {
            worker.cpu_start = cpu_seconds(worker.child.id()).unwrap_or(0.0);
        }

        // Submit: one fetch job per URL, published with confirms, many at once.
        let mut fetch_job_bytes = 0usize;
        let started = Instant::now();
        let first_submit = Utc::now();
        let mut submitted: HashMap<JobId, DateTime<Utc>> = HashMap::with_capacity(n);
        if !args.store_only && !args.extract_only {
            let jobs: Vec<(JobId, Outgoing)> = (0..n)
                .map(|i| {
                    let body = encode_json(&FetchJob::new(job_ids[i], &urls[i]));
                    fetch_job_bytes += body.len();
                    (job_ids[i], Outgoing::json(Queue::Fetch, body).for_job(job_ids[i]))
                })
                .collect();
            let results: Vec<(JobId, DateTime<Utc>, Result<(), _>)> = futures_util::stream::iter(jobs.iter())
                .map(|(id, message)| {
                    let publisher = &publisher;
                    async move {
                        let at = Utc::now();
                        (*id, at, publisher.publish(message).await)
                    }
                })
                .buffer_unordered(args.publish_concurrency)
                .collect()
                .await;
            for (id, at, result) in results {
                result?;
                submitted.insert(id, at);
            }
            println!("submitted {n} fetch jobs in {:.1} s", started.elapsed().as_secs_f64());
        } else {
            for id in &job_ids {
                submitted.insert(*id, started_workers_utc);
            }
        }

        // Wait for the end.
        let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
        let mut last_print = Instant::now();
        let finished = loop {
            let done = if args.fetch_only || args.extract_only || args.stores == 0 {
                let stats = topology.stats(&channel).await?;
                let depth = |q: Queue| {
                    stats.iter().find(|s| s.name == topology.queue_name(q)).map(|s| s.messages).unwrap_or(0)
                };
                if args.fetch_only {
                    (depth(Queue::Extract) + depth(Queue::Store)) as usize
                } else {
                    depth(Queue::Store) as usize
                }
            } else {
                sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outcomes").fetch_one(&db).await? as usize
            };
            if done >= n {
                break Instant::now();
            }
            if Instant::now() > deadline {
                bail!(
                    "only {done} of {n} done after {} s; logs in {}",
                    args.timeout_secs,
                    self.dir.display()
                );
            }
            if last_print.elapsed() > Duration::from_secs(10) {
                eprintln!("  {done} of {n} after {:.0} s", started.elapsed().as_secs_f64());
                last_print = Instant::now();
            }
            for worker in &mut workers {
                if let Some(status) = worker.child.try_wait()? {
                    bail!("{} exited early ({status}); logs in {}", worker.stage.name(), self.dir.display());
                }
            }
            tokio::time::sleep(Duration::from_millis(if args.fetch_only { 50 } else { 100 })).await;
        };

        // Resources, read while the workers still run.
        let mut processes = Vec::new();
        for worker in &workers {
            let pid = worker.child.id();
            processes.push(ProcessFigures {
                stage: worker.stage,
                pid,
                cpu: cpu_seconds(pid).unwrap_or(0.0) - worker.cpu_start,
                peak_rss_kb: status_kb(pid, "VmHWM").unwrap_or(0),
            });
        }
        let own_cpu = cpu_seconds(std::process::id()).unwrap_or(0.0) - own_cpu_start;
        let services_cpu =
            services_cpu().zip(services_cpu_start).map(|(end, start)| (end.0 - start.0, end.1 - start.1));
        let own_peak_rss_kb = status_kb(std::process::id(), "VmHWM").unwrap_or(0);

        // Outcomes and latencies.
        let mut kinds: BTreeMap<String, i64> = BTreeMap::new();
        let mut latencies = Vec::new();
        let mut last_recorded = None;
        let mut first_recorded = None;
        if !args.fetch_only && !args.extract_only {
            let rows: Vec<(uuid::Uuid, String, Option<String>, DateTime<Utc>)> =
                sqlx::query_as("SELECT job_id, outcome, reason, recorded_at FROM outcomes")
                    .fetch_all(&db)
                    .await?;
            for (job_id, outcome, reason, recorded_at) in rows {
                let key = match reason {
                    Some(reason) => format!("{outcome}: {reason}"),
                    None => outcome,
                };
                *kinds.entry(key).or_default() += 1;
                if let Some(at) = submitted.get(&JobId::from(job_id)) {
                    latencies.push((recorded_at - *at).num_microseconds().unwrap_or(0) as f64 / 1e6);
                }
                last_recorded = last_recorded.max(Some(recorded_at));
                first_recorded =
                    Some(first_recorded.map_or(recorded_at, |f: DateTime<Utc>| f.min(recorded_at)));
            }
        }
        latencies.sort_by(f64::total_cmp);

        // The wall time: to the last outcome's timestamp (or the moment the extract queue was full).
        let wall = match (args.fetch_only, last_recorded) {
            (false, Some(last)) => {
                let from = if args.store_only { started_workers_utc } else { first_submit };
                (last - from).num_microseconds().unwrap_or(0) as f64 / 1e6
            }
            // Extract only: from the moment the extractors were started, onto a full queue.
            _ if args.extract_only => (finished - started_workers).as_secs_f64(),
            _ => (finished - started).as_secs_f64(),
        };

        // Pages on the wire: in fetch-only mode, read the extract queue's real messages back.
        let mut measured_page_bytes = None;
        if args.fetch_only {
            measured_page_bytes =
                Some(read_back(&connection, &topology.queue_name(Queue::Extract), n).await?);
        }
        let (page_requests, server_span) = {
            let first_last = *web.first_last.lock().unwrap();
            (
                web.requests.load(Ordering::Relaxed),
                first_last.map(|(first, last)| (last - first).as_secs_f64()),
            )
        };

        for worker in &workers {
            let _ = Command::new("kill").arg("-TERM").arg(worker.child.id().to_string()).status();
        }
        for mut worker in workers {
            let deadline = Instant::now() + Duration::from_secs(10);
            while worker.child.try_wait()?.is_none() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        db.close().await;
        let _ = connection.close(200, "bye".into()).await;

        // Computed wire sizes: what each worker would encode for these pages, compressed as it sends them.
        let mean_sizes = |bodies: &mut dyn Iterator<Item = Vec<u8>>| {
            let (mut compressed, mut plain) = (0usize, 0usize);
            for body in bodies {
                compressed += newspipe_broker::encoding::compress(&body).len();
                plain += body.len();
            }
            WireSize { compressed: compressed as f64 / n as f64, plain: plain as f64 / n as f64 }
        };
        let computed_page_bytes = mean_sizes(&mut (0..n).map(|i| {
            encode_page(&raw_page(
                job_ids[i],
                &urls[i],
                &corpus.pages[i % corpus.pages.len()],
                "text/html; charset=utf-8",
            ))
        }));
        let computed_store_bytes = mean_sizes(&mut (0..n).map(|i| {
            let mut outcome = outcomes_of_pages[i % outcomes_of_pages.len()].clone();
            if let Outcome::Stored { article } = &mut outcome {
                article.url = urls[i].clone();
                article.fetched_at = Some(Utc::now());
            }
            encode_json(&StoreRequest::new(job_ids[i], &urls[i], outcome))
        }));

        Ok(Report {
            n,
            wall,
            kinds,
            latencies,
            processes,
            own_cpu,
            own_peak_rss_kb,
            services_cpu,
            fetch_job_bytes: fetch_job_bytes as f64 / n as f64,
            computed_page_bytes,
            measured_page_bytes,
            computed_store_bytes,
            page_requests,
            server_span,
            first_outcome_after: first_recorded.map(|f| {
                (f - if args.store_only { started_workers_utc } else { first_submit }).num_milliseconds()
            }),
        })
    }

    async fn cleanup(&self, args: &Args) {
        let topology = Topology::new(&self.broker_settings());
        if let Ok(connection) = newspipe_broker::connect(&self.amqp_url, "newspipe-bench-cleanup").await {
            if let Ok(channel) = connection.create_channel().await {
                let _ = topology.delete(&channel).await;
            }
            let _ = connection.close(200, "bye".into()).await;
        }
        if let Ok(mut admin) = PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.database_name
            )))
            .execute(&mut admin)
            .await;
        }
        if !args.keep_logs {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Waits until each stage's queue has as many consumers as processes started.
/// Publishes every message, `concurrency` at a time, each with its confirm.
async fn publish_all(publisher: &Publisher, messages: &[Outgoing], concurrency: usize) -> anyhow::Result<()> {
    futures_util::stream::iter(messages)
        .map(|m| publisher.publish(m))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(())
}

async fn wait_consumers(
    topology: &Topology,
    channel: &lapin::Channel,
    stages: &[(Stage, usize)],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stats = topology.stats(channel).await?;
        let ready = stages.iter().all(|(stage, count)| {
            stats
                .iter()
                .find(|s| s.name == topology.queue_name(stage.queue()))
                .is_some_and(|s| s.consumers as usize >= *count)
        });
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the workers did not all consume within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Consumes up to `n` messages of a queue (without acking: they are dropped with the queue) and returns their
/// average body size.
async fn read_back(connection: &lapin::Connection, queue: &str, n: usize) -> anyhow::Result<f64> {
    let channel = connection.create_channel().await?;
    channel.basic_qos(1000, BasicQosOptions::default()).await?;
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "bench-read-back".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let (mut count, mut bytes) = (0usize, 0usize);
    while count < n {
        match tokio::time::timeout(Duration::from_secs(5), consumer.next()).await {
            Ok(Some(Ok(delivery))) => {
                bytes += delivery.data.len();
                count += 1;
                if count % 1000 == 0 {
                    delivery.ack(lapin::options::BasicAckOptions { multiple: true }).await?;
                }
            }
            _ => break,
        }
    }
    let _ = channel.close(200, "bye".into()).await;
    Ok(if count == 0 { 0.0 } else { bytes as f64 / count as f64 })
}

struct ProcessFigures {
    stage: Stage,
    pid: u32,
    cpu: f64,
    peak_rss_kb: u64,
}

struct Report {
    n: usize,
    wall: f64,
    kinds: BTreeMap<String, i64>,
    latencies: Vec<f64>,
    processes: Vec<ProcessFigures>,
    own_cpu: f64,
    own_peak_rss_kb: u64,
    services_cpu: Option<(f64, f64)>,
    fetch_job_bytes: f64,
    computed_page_bytes: WireSize,
    measured_page_bytes: Option<f64>,
    computed_store_bytes: WireSize,
    page_requests: u64,
    server_span: Option<f64>,
    first_outcome_after: Option<i64>,
}

impl Report {
    fn print(&self, args: &Args, raw: &[(usize, f64)], cores: usize) {
        let n = self.n as f64;
        let piling_up = args.stores == 0 && !args.fetch_only && !args.store_only;
        let mode = if args.fetch_only {
            "fetch only"
        } else if args.store_only {
            "store only"
        } else if args.extract_only {
            "extract only"
        } else if piling_up {
            "no store: everything piles up in the store queue"
        } else {
            "end to end"
        };
        println!();
        let workers = if args.fetch_only {
            format!("{} fetcher(s), {} hosts, interval {} ms", args.fetchers, args.hosts, args.interval_ms)
        } else if args.store_only {
            format!("{} store(s)", args.stores)
        } else if args.extract_only {
            format!("{} extractor(s)", args.extractors)
        } else {
            format!(
                "{} fetcher(s), {} extractor(s), {} store(s), {} hosts, interval {} ms",
                args.fetchers, args.extractors, args.stores, args.hosts, args.interval_ms
            )
        };
        println!("## {mode}: {} URLs, {workers}", self.n);
        println!();
        println!("| measure | value |");
        println!("|---|---|");
        println!("| URLs | {} |", self.n);
        if args.extract_only {
            println!(
                "| wall seconds (extractors start to an outcome per page in the store queue) | {:.2} |",
                self.wall
            );
            println!("| **pages extracted per second** | **{:.0}** |", n / self.wall);
            for (threads, rate) in raw {
                println!(
                    "| raw extraction, one process, {threads} thread(s) | {rate:.0} pages/s; through the queues is **{:.0}%** of it |",
                    100.0 * n / self.wall / rate
                );
            }
        } else if piling_up {
            println!(
                "| wall seconds (first submit to an outcome per URL waiting in the store queue) | {:.2} |",
                self.wall
            );
            println!("| **URLs fetched and extracted per second** | **{:.0}** |", n / self.wall);
        } else if args.fetch_only {
            println!(
                "| wall seconds (first submit to a page per URL in the extract queue) | {:.2} |",
                self.wall
            );
            println!("| **fetches per second** | **{:.0}** |", n / self.wall);
            if let Some(span) = self.server_span {
                println!(
                    "| page requests served | {} ({:.0}/s between the first and the last) |",
                    self.page_requests,
                    self.page_requests as f64 / span.max(1e-9)
                );
            }
        } else {
            for (kind, count) in &self.kinds {
                println!("| outcome `{kind}` | {count} |");
            }
            let stored = self.kinds.get("stored").copied().unwrap_or(0) as f64;
            let from = if args.store_only { "store start" } else { "first submit" };
            println!("| wall seconds ({from} to last outcome recorded) | {:.2} |", self.wall);
            println!(
                "| **outcomes per second** | **{:.0}** ({:.0} stored/s) |",
                n / self.wall,
                stored / self.wall
            );
            if let Some(ms) = self.first_outcome_after {
                println!("| first outcome after | {ms} ms |");
            }
            if !args.store_only {
                for (threads, rate) in raw {
                    println!(
                        "| raw extraction, one process, {threads} thread(s) | {rate:.0} pages/s; end to end is **{:.0}%** of it |",
                        100.0 * n / self.wall / rate
                    );
                }
            }
            let pct = |p: f64| {
                let i = ((self.latencies.len() as f64 * p).ceil() as usize)
                    .clamp(1, self.latencies.len().max(1))
                    - 1;
                self.latencies.get(i).copied().unwrap_or(f64::NAN)
            };
            let from = if args.store_only { "store start" } else { "submit" };
            println!(
                "| latency {from} to outcome p50 / p95 / p99 / max | {:.2} / {:.2} / {:.2} / {:.2} s |",
                pct(0.50),
                pct(0.95),
                pct(0.99),
                pct(1.0)
            );
        }
        let mut by_stage: BTreeMap<Stage, (f64, usize)> = BTreeMap::new();
        for p in &self.processes {
            let entry = by_stage.entry(p.stage).or_default();
            entry.0 += p.cpu;
            entry.1 += 1;
        }
        for (stage, (cpu, count)) in &by_stage {
            println!(
                "| CPU per URL, {} ({count} process(es)) | {:.2} ms ({cpu:.1} CPU s in all) |",
                stage.name(),
                cpu * 1000.0 / n
            );
        }
        println!(
            "| CPU per URL, this benchmark process (web server, publishing, polling) | {:.2} ms |",
            self.own_cpu * 1000.0 / n
        );
        if let Some((rabbit, postgres)) = self.services_cpu {
            println!(
                "| CPU per URL, RabbitMQ / PostgreSQL (whole services, shared with any other user) | {:.2} / {:.2} ms |",
                rabbit * 1000.0 / n,
                postgres * 1000.0 / n
            );
        }
        for p in &self.processes {
            println!(
                "| peak RSS (VmHWM), {} pid {} | {:.1} MB |",
                p.stage.name(),
                p.pid,
                p.peak_rss_kb as f64 / 1024.0
            );
        }
        println!(
            "| peak RSS, this benchmark process (pages held in memory) | {:.1} MB |",
            self.own_peak_rss_kb as f64 / 1024.0
        );
        if !args.store_only {
            println!(
                "| bytes per URL on the wire, fetch queue (FetchJob JSON as published) | {:.0} |",
                self.fetch_job_bytes
            );
        }
        match self.measured_page_bytes {
            Some(measured) => println!(
                "| bytes per page on the wire, extract queue (read back from the queue; computed {:.0}, {:.0} uncompressed) | {measured:.0} |",
                self.computed_page_bytes.compressed, self.computed_page_bytes.plain
            ),
            None if !args.store_only => println!(
                "| bytes per page on the wire, extract queue (computed: zstd of `encode_page` of the served page; {:.0} uncompressed) | {:.0} |",
                self.computed_page_bytes.plain, self.computed_page_bytes.compressed
            ),
            None => {}
        }
        if !args.fetch_only {
            println!(
                "| bytes per URL on the wire, store queue (computed: zstd of the extractor's StoreRequest JSON; {:.0} uncompressed) | {:.0} |",
                self.computed_store_bytes.plain, self.computed_store_bytes.compressed
            );
        }
        println!();
        println!("({cores} cores; message bodies only, AMQP framing and properties not counted)");
    }
}

/// Mean bytes of a message body as sent (compressed) and before compression.
#[derive(Debug, Clone, Copy)]
struct WireSize {
    compressed: f64,
    plain: f64,
}

/// The broker and database URLs, like the tests find them.
fn services() -> anyhow::Result<(String, String)> {
    let dir = std::env::var("NEWSPIPE_SERVICES_DIR").unwrap_or_else(|_| "/tmp/newspipe-services".into());
    let file: HashMap<String, String> = std::fs::read_to_string(format!("{dir}/env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let get = |key: &str| {
        std::env::var(key).ok().or_else(|| file.get(key).cloned()).with_context(|| {
            format!(
                "{key} is not set and {dir}/env has none: start the services with `deploy/services.sh start`"
            )
        })
    };
    Ok((get("AMQP_URL")?, get("DATABASE_URL")?))
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// `/proc/<pid>/stat` fields after the command name: state is [0], ppid [1], utime [11], stime [12], cutime
/// [13], cstime [14].
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

/// User plus system CPU seconds of a process (all its threads).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let f = stat_fields(pid)?;
    Some((f[11] + f[12]) as f64 / clock_ticks())
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(&format!("{key}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn memory_total() -> String {
    status_like("/proc/meminfo", "MemTotal")
        .map(|kb| format!("{:.1} GiB", kb as f64 / 1048576.0))
        .unwrap_or_default()
}

fn status_like(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{key}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds so far of RabbitMQ (its `beam.smp`) and PostgreSQL (the postmaster, the children it reaped,
/// and its live children), as started by `deploy/services.sh`.
fn services_cpu() -> Option<(f64, f64)> {
    let dir = std::env::var("NEWSPIPE_SERVICES_DIR").unwrap_or_else(|_| "/tmp/newspipe-services".into());
    let mut rabbit = None;
    let mut postgres = None;
    let postmaster: Option<u32> = std::fs::read_to_string(format!("{dir}/postgres/data/postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()));
    let mut pg_children = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let Some(f) = stat_fields(pid) else { continue };
        if comm.trim() == "beam.smp" {
            let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline.contains(&dir) || rabbit.is_none() {
                rabbit = Some((f[11] + f[12]) as f64 / clock_ticks());
            }
        }
        if Some(pid) == postmaster {
            postgres = Some((f[11] + f[12] + f[13] + f[14]) as f64 / clock_ticks());
        } else if postmaster.is_some_and(|pm| f[1] as u32 == pm) {
            pg_children += (f[11] + f[12]) as f64 / clock_ticks();
        }
    }
    Some((rabbit?, postgres? + pg_children))
}
