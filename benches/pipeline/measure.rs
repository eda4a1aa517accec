//! One measured run: the workers started, the jobs submitted (or the queue filled first), the wait for the
//! end, and the figures read while the workers still run.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use newspipe_broker::{Outgoing, Publisher, Queue, Topology};
use newspipe_db::{Database, DatabaseSettings, OutcomeRow};
use newspipe_models::{FetchJob, JobId, Outcome, encode_json, encode_page};

use crate::Stage;
use crate::args::Args;
use crate::corpus::{Corpus, SERVED_TYPE, raw_page};
use crate::fill;
use crate::procstat::{cpu_seconds, services_cpu, status_kb};
use crate::report::{ProcessFigures, Report, WireSize};
use crate::web::Web;
use crate::workers::{Bench, Worker, terminate, wait_consumers};

impl Bench {
    pub async fn measure(
        &self,
        args: &Args,
        urls: &[String],
        corpus: &Corpus,
        outcomes_of_pages: &[Outcome],
        web: &Web,
    ) -> anyhow::Result<Report> {
        let settings = self.broker_settings();
        let topology = Topology::new(&settings);
        let connection =
            newspipe_broker::connect(&self.scratch.amqp_url.as_str().into(), "newspipe-bench").await?;
        let channel = connection.create_channel().await?;
        topology.declare(&channel).await?;
        let publisher = Publisher::open(&connection, topology.clone(), Duration::from_secs(60)).await?;
        let db = Database::connect(&DatabaseSettings {
            url: self.scratch.database_url.clone().into(),
            ..DatabaseSettings::default()
        })
        .await?;

        let stages = stages(args);
        let n = urls.len();
        let job_ids: Vec<JobId> = (0..n).map(|_| newspipe_models::new_job_id()).collect();

        // The store alone: start it once (it migrates the database), stop it, fill its queue, start it again.
        if args.store_only {
            let mut warm = Vec::new();
            for i in 0..args.stores {
                warm.push(self.start(args, Stage::Store, 100 + i)?);
            }
            wait_consumers(&topology, &channel, &[(Stage::Store, args.stores)]).await?;
            terminate(&warm);
            for mut worker in warm {
                let _ = worker.child.wait();
            }
            fill::store_queue(&publisher, args.publish_concurrency, urls, &job_ids, outcomes_of_pages)
                .await?;
        }

        // The extractors alone: their queue filled first, with the pages as the fetcher would send them.
        if args.extract_only {
            fill::extract_queue(&publisher, args.publish_concurrency, urls, &job_ids, corpus).await?;
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
        let started = Instant::now();
        let first_submit = Utc::now();
        let (submitted, fetch_job_bytes) = if !args.store_only && !args.extract_only {
            let submission = submit(&publisher, args.publish_concurrency, urls, &job_ids).await?;
            println!("submitted {n} fetch jobs in {:.1} s", started.elapsed().as_secs_f64());
            submission
        } else {
            (job_ids.iter().map(|id| (*id, started_workers_utc)).collect(), 0)
        };

        let finished = self.wait_until_done(args, n, &topology, &channel, &db, &mut workers, started).await?;
        // Deferring work is not saving it: done when no stored article waits for the search index either.
        let mut indexed_at = None;
        if !args.fetch_only && !args.extract_only && args.stores > 0 {
            let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
            while db.search_backlog().await? > 0 {
                if Instant::now() > deadline {
                    bail!("articles still wait for the search index after {} s", args.timeout_secs);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                indexed_at = Some(Utc::now());
            }
        }

        // Resources, read while the workers still run.
        let processes: Vec<ProcessFigures> = workers
            .iter()
            .map(|worker| {
                let pid = worker.child.id();
                ProcessFigures {
                    stage: worker.stage,
                    pid,
                    cpu: cpu_seconds(pid).unwrap_or(0.0) - worker.cpu_start,
                    peak_rss_kb: status_kb(pid, "VmHWM").unwrap_or(0),
                }
            })
            .collect();
        let own_cpu = cpu_seconds(std::process::id()).unwrap_or(0.0) - own_cpu_start;
        let services_cpu =
            services_cpu().zip(services_cpu_start).map(|(end, start)| (end.0 - start.0, end.1 - start.1));
        let own_peak_rss_kb = status_kb(std::process::id(), "VmHWM").unwrap_or(0);

        // Outcomes and latencies.
        let figures = if !args.fetch_only && !args.extract_only {
            OutcomeFigures::of(db.all_outcomes().await?, &submitted)
        } else {
            OutcomeFigures::default()
        };

        // The wall time: to the last outcome's timestamp (or the moment the extract queue was full).
        let wall = match (args.fetch_only, figures.last_recorded) {
            (false, Some(last)) => {
                let from = if args.store_only { started_workers_utc } else { first_submit };
                let last = indexed_at.map_or(last, |indexed| indexed.max(last));
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

        terminate(&workers);
        for mut worker in workers {
            let deadline = Instant::now() + Duration::from_secs(10);
            while worker.child.try_wait()?.is_none() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        db.pool().close().await;
        let _ = connection.close(200, "bye".into()).await;

        // Computed wire sizes: what each worker would encode for these pages, compressed as it sends them.
        let computed_page_bytes = mean_sizes(
            n,
            (0..n).map(|i| {
                encode_page(&raw_page(
                    job_ids[i],
                    &urls[i],
                    &corpus.pages[i % corpus.pages.len()],
                    SERVED_TYPE,
                ))
            }),
        );
        let computed_store_bytes =
            mean_sizes(n, (0..n).map(|i| fill::store_request(i, urls, &job_ids, outcomes_of_pages)));

        Ok(Report {
            n,
            wall,
            kinds: figures.kinds,
            latencies: figures.latencies,
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
            first_outcome_after: figures.first_recorded.map(|f| {
                (f - if args.store_only { started_workers_utc } else { first_submit }).num_milliseconds()
            }),
        })
    }

    /// Waits until every job is done (an outcome recorded, or a message waiting in the last queue of the
    /// mode); returns when. Fails on the timeout, or when a worker exits.
    #[allow(clippy::too_many_arguments)]
    async fn wait_until_done(
        &self,
        args: &Args,
        n: usize,
        topology: &Topology,
        channel: &lapin::Channel,
        db: &Database,
        workers: &mut [Worker],
        started: Instant,
    ) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
        let mut last_print = Instant::now();
        loop {
            let done = if args.fetch_only || args.extract_only || args.stores == 0 {
                let stats = topology.stats(channel).await?;
                let depth = |q: Queue| {
                    stats.iter().find(|s| s.name == topology.queue_name(q)).map(|s| s.messages).unwrap_or(0)
                };
                if args.fetch_only {
                    (depth(Queue::Extract) + depth(Queue::Store)) as usize
                } else {
                    depth(Queue::Store) as usize
                }
            } else {
                db.outcome_count().await? as usize
            };
            if done >= n {
                return Ok(Instant::now());
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
            for worker in workers.iter_mut() {
                if let Some(status) = worker.child.try_wait()? {
                    bail!("{} exited early ({status}); logs in {}", worker.stage.name(), self.dir.display());
                }
            }
            tokio::time::sleep(Duration::from_millis(if args.fetch_only { 50 } else { 100 })).await;
        }
    }
}

/// The stages a mode runs, and how many processes of each.
fn stages(args: &Args) -> Vec<(Stage, usize)> {
    if args.fetch_only {
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
    }
}

/// Publishes one fetch job per URL, `concurrency` at a time, each with its confirm; returns when each job's
/// publish started, and the bytes of all the jobs.
pub async fn submit(
    publisher: &Publisher,
    concurrency: usize,
    urls: &[String],
    job_ids: &[JobId],
) -> anyhow::Result<(HashMap<JobId, DateTime<Utc>>, usize)> {
    let mut fetch_job_bytes = 0usize;
    let jobs: Vec<(JobId, Outgoing)> = (0..urls.len())
        .map(|i| {
            let body = encode_json(&FetchJob::new(job_ids[i], &urls[i]));
            fetch_job_bytes += body.len();
            (job_ids[i], Outgoing::json(Queue::Fetch, body).for_job(job_ids[i]))
        })
        .collect();
    let results: Vec<(JobId, DateTime<Utc>, Result<(), _>)> = futures_util::stream::iter(jobs.iter())
        .map(|(id, message)| async move {
            let at = Utc::now();
            (*id, at, publisher.publish(message).await)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut submitted = HashMap::with_capacity(urls.len());
    for (id, at, result) in results {
        result?;
        submitted.insert(id, at);
    }
    Ok((submitted, fetch_job_bytes))
}

/// What the recorded outcomes say: how many of each kind (with its reason), each job's latency from its
/// submission, and the first and the last time recorded.
#[derive(Default)]
struct OutcomeFigures {
    kinds: BTreeMap<String, i64>,
    latencies: Vec<f64>,
    first_recorded: Option<DateTime<Utc>>,
    last_recorded: Option<DateTime<Utc>>,
}

impl OutcomeFigures {
    fn of(rows: Vec<OutcomeRow>, submitted: &HashMap<JobId, DateTime<Utc>>) -> OutcomeFigures {
        let mut figures = OutcomeFigures::default();
        for row in rows {
            let key = match row.reason {
                Some(reason) => format!("{}: {reason}", row.outcome),
                None => row.outcome,
            };
            *figures.kinds.entry(key).or_default() += 1;
            if let Some(at) = submitted.get(&row.job_id) {
                figures.latencies.push((row.recorded_at - *at).num_microseconds().unwrap_or(0) as f64 / 1e6);
            }
            figures.last_recorded = figures.last_recorded.max(Some(row.recorded_at));
            figures.first_recorded =
                Some(figures.first_recorded.map_or(row.recorded_at, |f| f.min(row.recorded_at)));
        }
        figures.latencies.sort_by(f64::total_cmp);
        figures
    }
}

/// Mean sizes over `n` message bodies, compressed as the workers send them and not.
fn mean_sizes(n: usize, bodies: impl Iterator<Item = Vec<u8>>) -> WireSize {
    let (mut compressed, mut plain) = (0usize, 0usize);
    for body in bodies {
        compressed += newspipe_broker::encoding::compress(&body).len();
        plain += body.len();
    }
    WireSize { compressed: compressed as f64 / n as f64, plain: plain as f64 / n as f64 }
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
