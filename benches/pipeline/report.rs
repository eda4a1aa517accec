//! The table a run prints.

use std::collections::BTreeMap;

use crate::Stage;
use crate::args::Args;
use crate::corpus::Raw;
use crate::model::{self, Costs};

pub struct ProcessFigures {
    pub stage: Stage,
    pub pid: u32,
    pub cpu: f64,
    pub peak_rss_kb: u64,
}

pub struct Report {
    pub n: usize,
    pub wall: f64,
    pub kinds: BTreeMap<String, i64>,
    pub latencies: Vec<f64>,
    pub processes: Vec<ProcessFigures>,
    pub own_cpu: f64,
    pub own_peak_rss_kb: u64,
    pub services_cpu: Option<(f64, f64)>,
    pub fetch_job_bytes: f64,
    pub computed_page_bytes: WireSize,
    pub measured_page_bytes: Option<f64>,
    pub computed_store_bytes: WireSize,
    pub page_requests: u64,
    pub server_span: Option<f64>,
    pub first_outcome_after: Option<i64>,
}

impl Report {
    /// Articles stored in the run.
    pub fn stored(&self) -> usize {
        self.kinds.get("stored").copied().unwrap_or(0).max(0) as usize
    }

    /// CPU milliseconds per stored article of each stage, every process of it summed.
    pub fn costs(&self) -> Costs {
        let per = |seconds: f64| seconds * 1000.0 / self.stored().max(1) as f64;
        let stage = |s: Stage| per(self.processes.iter().filter(|p| p.stage == s).map(|p| p.cpu).sum());
        let (rabbit, postgres) = self.services_cpu.unwrap_or((0.0, 0.0));
        Costs {
            fetcher: stage(Stage::Fetcher),
            extractor: stage(Stage::Extractor),
            store: stage(Stage::Store),
            rabbitmq: per(rabbit),
            postgres: per(postgres),
        }
    }

    /// The capacity model's lines: CPU per stored article summed against raw extraction, and the
    /// predictions of this machine and of the layouts asked for.
    pub fn print_model(&self, args: &Args, raw: &[Raw], cores: usize) {
        let costs = self.costs();
        println!();
        println!("## CPU per stored article and the capacity model");
        println!();
        println!("| measure | value |");
        println!("|---|---|");
        println!(
            "| CPU ms per stored article: fetcher / extractor / store / RabbitMQ / PostgreSQL | {:.2} / {:.2} / {:.2} / {:.2} / {:.2} |",
            costs.fetcher, costs.extractor, costs.store, costs.rabbitmq, costs.postgres
        );
        println!(
            "| **CPU ms per stored article, all processes** | **{:.2}** ({} stored) |",
            costs.total(),
            self.stored()
        );
        for r in raw {
            println!(
                "| raw extraction of the same pages, {} thread(s): CPU ms per page | {:.2}; end to end is **{:.2}x** of it |",
                r.threads,
                r.cpu_ms,
                costs.total() / r.cpu_ms
            );
        }
        let (predicted, limit) = model::shared(&costs, cores as f64, &parallel(args, cores));
        println!(
            "| model, this machine ({cores} cores shared by every process): articles/s | {predicted:.0} (limit: {limit}); measured {:.0} stored/s |",
            self.stored() as f64 / self.wall
        );
        for layout in &args.models {
            let (rate, limit) = model::dedicated(&costs, layout);
            println!("| model, dedicated cores `{layout}`: articles/s | {rate:.0} (limit: {limit}) |");
        }
    }

    pub fn print(&self, args: &Args, raw: &[Raw], cores: usize) {
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
            for r in raw {
                println!(
                    "| raw extraction, one process, {} thread(s) | {:.0} pages/s; through the queues is **{:.0}%** of it |",
                    r.threads,
                    r.pages_per_second,
                    100.0 * n / self.wall / r.pages_per_second
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
                for r in raw {
                    println!(
                        "| raw extraction, one process, {} thread(s) | {:.0} pages/s; end to end is **{:.0}%** of it |",
                        r.threads,
                        r.pages_per_second,
                        100.0 * n / self.wall / r.pages_per_second
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
pub struct WireSize {
    pub compressed: f64,
    pub plain: f64,
}

/// How many cores each worker stage can use at most: fetchers and stores run on every core; an extractor
/// extracts on `extractor.concurrency` threads (0, the default: every core).
pub fn parallel(args: &Args, cores: usize) -> Vec<(&'static str, f64)> {
    let concurrency = args
        .env
        .iter()
        .find(|(k, _)| k == "NEWSPIPE__EXTRACTOR__CONCURRENCY")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .filter(|c| *c > 0)
        .unwrap_or(cores);
    vec![
        ("fetchers", (args.fetchers * cores) as f64),
        ("extractors", (args.extractors * concurrency) as f64),
        ("stores", (args.stores * cores) as f64),
    ]
}
