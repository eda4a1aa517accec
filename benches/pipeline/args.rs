//! The command line of the benchmark.

use clap::Parser;

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
pub struct Args {
    /// URLs (jobs) to submit.
    #[arg(long, default_value_t = 5000)]
    pub urls: usize,
    /// Distinct hosts the URLs are spread over (loopback addresses 127.0.0.1..127.0.0.N).
    #[arg(long, default_value_t = 50)]
    pub hosts: usize,
    /// Fetcher processes.
    #[arg(long, default_value_t = 1)]
    pub fetchers: usize,
    /// Extractor processes.
    #[arg(long, default_value_t = 1)]
    pub extractors: usize,
    /// Store processes. 0: no store runs, so every outcome piles up in the store queue (backpressure: the
    /// workers' memory stays bounded by their prefetch); done when the store queue holds one message per URL.
    #[arg(long, default_value_t = 1)]
    pub stores: usize,
    /// Politeness interval per host given to the fetchers (`NEWSPIPE__POLITENESS__INTERVAL_MS`).
    #[arg(long, default_value_t = 0)]
    pub interval_ms: u64,
    /// Only fetchers: measure fetches per second (until the extract queue holds a page per URL).
    #[arg(long, conflicts_with = "store_only")]
    pub fetch_only: bool,
    /// Only stores: fill the store queue with N store requests first, then time the stores draining it.
    #[arg(long)]
    pub store_only: bool,
    /// Only extractors: fill the extract queue with N pages first (gzip-compressed, as the fetcher sends them),
    /// then time the extractors until the store queue holds N outcomes (no store runs). With
    /// `--env NEWSPIPE__EXTRACTOR__CONCURRENCY=1` each replica uses one core: how replicas scale.
    #[arg(long, conflicts_with_all = ["store_only", "fetch_only"])]
    pub extract_only: bool,
    /// WARC in: the pages packed into `--warc-files` WARC files (--urls records in all), read by
    /// `--warc-readers` readers into PostgreSQL through `--stores` stores; compared with raw extraction on
    /// every core (or --raw-threads).
    #[arg(long, conflicts_with_all = ["store_only", "fetch_only", "extract_only"])]
    pub warc: bool,
    /// With --warc: how many files the records are packed into.
    #[arg(long, default_value_t = 10)]
    pub warc_files: usize,
    /// With --warc: the readers write Parquet files (`warc_reader.parquet_dir`) instead of handing outcomes
    /// to the store: no store, no database, no outcomes through the broker.
    #[arg(long, requires = "warc")]
    pub warc_parquet: bool,
    /// With --warc: WARC reader processes.
    #[arg(long, default_value_t = 1)]
    pub warc_readers: usize,
    /// Pages built by JavaScript: every URL serves an app shell whose script loads the page (a corpus page)
    /// and writes it into the DOM; fetchers, extractors, `--renderers` renderers (headless Chromium) and
    /// stores run; done when every job has an outcome. Prints pages rendered per second, CPU per page and
    /// the renderer's peak memory with its browser.
    #[arg(long, conflicts_with_all = ["store_only", "fetch_only", "extract_only", "warc", "check_model"])]
    pub render: bool,
    /// With --render: renderer processes (each runs renderer.concurrency tabs in one browser).
    #[arg(long, default_value_t = 1)]
    pub renderers: usize,
    /// Threads for the raw extraction measure (one process, pages in memory); default: --extractors, and also
    /// every core when that differs.
    #[arg(long)]
    pub raw_threads: Option<usize>,
    /// Jobs published at once (each waits for its confirm).
    #[arg(long, default_value_t = 256)]
    pub publish_concurrency: usize,
    /// Give up waiting for outcomes after this many seconds.
    #[arg(long, default_value_t = 1200)]
    pub timeout_secs: u64,
    /// `RUST_LOG` of the workers (their default is `info`).
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Extra worker environment, KEY=VALUE (repeatable), e.g. `--env NEWSPIPE__BROKER__PREFETCH=64`.
    #[arg(long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,
    /// Serve generated article pages (about 8 KB each) even when the corpus is present (issue 4's "small
    /// pages").
    #[arg(long)]
    pub generated_pages: bool,
    /// Keep the workers' logs (their directory is printed).
    #[arg(long)]
    pub keep_logs: bool,
    /// The capacity model for a layout of dedicated cores per stage, from this run's CPU per article
    /// (repeatable): `fetchers=2,extractors=8,stores=1,rabbitmq=2,postgres=4`.
    #[arg(long = "model")]
    pub models: Vec<crate::model::Layout>,
    /// End to end twice, 1/1/1 then 1/2/1 (fetchers/extractors/stores), each predicted by the model from the
    /// other run's CPU per article, and the predictions printed beside what was measured.
    #[arg(long, conflicts_with_all = ["store_only", "fetch_only", "extract_only", "warc"])]
    pub check_model: bool,
    /// End to end: do not run trafilatura on the same URLs even when it is installed.
    #[arg(long)]
    pub no_peer: bool,
    /// trafilatura's `--parallel`.
    #[arg(long, default_value_t = 2)]
    pub peer_parallel: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    pub bench: bool,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s}: want KEY=VALUE"))
}
