//! The table a run prints.

use std::collections::BTreeMap;

use crate::Stage;
use crate::args::Args;

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
    pub fn print(&self, args: &Args, raw: &[(usize, f64)], cores: usize) {
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
pub struct WireSize {
    pub compressed: f64,
    pub plain: f64,
}
