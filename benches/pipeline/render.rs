//! `--render`: pages built by JavaScript, end to end. Each URL serves an app shell whose script fetches the
//! article (a corpus page, or a generated one) from a JSON-free endpoint and writes it into the DOM, so the
//! extractor finds a shell, sends it to the render queue, a renderer loads it in headless Chromium (its
//! script and request intercepted and fetched by the renderer) and the rendered DOM is extracted and stored.
//!
//! Prints pages rendered per second, each process's CPU per page (the renderer with its browser: every
//! Chromium process it started, those reaped included), and the renderer's peak memory with its browser,
//! sampled every 100 ms as the sum over the process tree (PSS, each shared page split between its
//! processes, and RSS, shared pages counted in each).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use newspipe_broker::{Publisher, Topology};
use newspipe_db::{Database, DatabaseSettings};
use newspipe_models::JobId;

use crate::Stage;
use crate::args::Args;
use crate::corpus::{Corpus, url_of};
use crate::measure::submit;
use crate::procstat::{cpu_seconds_with_children, descendants_cpu, services_cpu, status_kb, tree_memory_kb};
use crate::workers::{Bench, terminate, wait_consumers};

/// The shell every URL serves: a mount point and the bundle.
const SHELL: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Loading</title>
<script src="/app.js" defer></script></head><body><div id="root"></div>
<noscript>You need to enable JavaScript to read this site.</noscript></body></html>"#;

/// The bundle: fetches the page's article and puts its head and body in place (scripts in it do not run:
/// markup set through innerHTML never executes).
const SCRIPT: &str = r#"const n = location.pathname.split('/')[2];
fetch('/api/' + n).then(r => r.text()).then(html => {
  const d = new DOMParser().parseFromString(html, 'text/html');
  document.head.innerHTML = d.head.innerHTML;
  document.body.innerHTML = d.body.innerHTML;
});"#;

struct RenderWeb {
    pages: Vec<Bytes>,
    requests: AtomicU64,
}

async fn shell(State(web): State<Arc<RenderWeb>>) -> Response {
    web.requests.fetch_add(1, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], SHELL).into_response()
}

async fn script(State(web): State<Arc<RenderWeb>>) -> Response {
    web.requests.fetch_add(1, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, "application/javascript")], SCRIPT).into_response()
}

async fn article(State(web): State<Arc<RenderWeb>>, Path(n): Path<usize>) -> Response {
    web.requests.fetch_add(1, Ordering::Relaxed);
    let body = web.pages[n % web.pages.len()].clone();
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// 127.0.0.1..127.0.0.N, each on a port of its own; returns each host's base URL.
async fn start(web: &Arc<RenderWeb>, hosts: usize) -> anyhow::Result<Vec<String>> {
    let app = Router::new()
        .route("/news/{n}/{*rest}", get(shell))
        .route("/app.js", get(script))
        .route("/api/{n}", get(article))
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .with_state(web.clone());
    let mut bases = Vec::new();
    for i in 1..=hosts {
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.{i}:0")).await?;
        bases.push(format!("http://{}", listener.local_addr()?));
        let app = app.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    Ok(bases)
}

pub async fn run(args: &Args, corpus: &Corpus) -> anyhow::Result<()> {
    let web = Arc::new(RenderWeb { pages: corpus.pages.clone(), requests: AtomicU64::new(0) });
    let bases = start(&web, args.hosts).await?;
    let urls: Vec<String> = (0..args.urls).map(|n| url_of(&bases, n)).collect();
    let bench = Bench::create(args).await?;
    let result = measure(args, &bench, &urls, &web).await;
    bench.cleanup(args).await;
    result
}

async fn measure(args: &Args, bench: &Bench, urls: &[String], web: &RenderWeb) -> anyhow::Result<()> {
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

    let mut worker_args = args.clone();
    worker_args.env.push(("NEWSPIPE__EXTRACTOR__RENDERER_CHECK_SECS".into(), "1".into()));
    let renderers = args.renderers.max(1);
    let stages = [
        (Stage::Store, args.stores.max(1)),
        (Stage::Fetcher, args.fetchers.max(1)),
        (Stage::Extractor, args.extractors.max(1)),
        (Stage::Renderer, renderers),
    ];
    let mut workers = Vec::new();
    for (stage, count) in stages {
        for n in 0..count {
            workers.push(bench.start(&worker_args, stage, n)?);
        }
    }
    wait_consumers(&topology, &channel, &stages).await?;
    // The extractors look for a renderer every second: give them two looks.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for worker in &mut workers {
        worker.cpu_start = cpu_seconds_with_children(worker.child.id()).unwrap_or(0.0);
    }
    let renderer_pids: Vec<u32> =
        workers.iter().filter(|w| w.stage == Stage::Renderer).map(|w| w.child.id()).collect();
    // The browsers are not started yet (each starts on its renderer's first page): their CPU counts from 0.
    let services_start = services_cpu();

    let n = urls.len();
    let job_ids: Vec<JobId> = (0..n).map(|_| newspipe_models::new_job_id()).collect();
    let started = Instant::now();
    submit(&publisher, args.publish_concurrency, urls, &job_ids).await?;
    let deadline = started + Duration::from_secs(args.timeout_secs);
    let (mut peak_pss, mut peak_rss) = (0u64, 0u64);
    let mut last_print = Instant::now();
    loop {
        for &pid in &renderer_pids {
            let (pss, rss) = tree_memory_kb(pid);
            peak_pss = peak_pss.max(pss);
            peak_rss = peak_rss.max(rss);
        }
        let done = database.outcome_count().await? as usize;
        if done >= n {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {done} of {n} done after {} s; logs in {}", args.timeout_secs, bench.dir.display());
        }
        for worker in workers.iter_mut() {
            if let Some(status) = worker.child.try_wait()? {
                bail!("{} exited early ({status}); logs in {}", worker.stage.name(), bench.dir.display());
            }
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            eprintln!("  {done} of {n} after {:.0} s", started.elapsed().as_secs_f64());
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let services = services_cpu().zip(services_start).map(|(end, start)| (end.0 - start.0, end.1 - start.1));
    let (rendered, stored): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE a.rendered), count(*) FROM outcomes o JOIN articles a ON a.id = o.article_id \
         WHERE o.outcome = 'stored'",
    )
    .fetch_one(database.pool())
    .await?;
    let by_outcome: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT outcome, coalesce(reason, ''), count(*) FROM outcomes GROUP BY 1, 2 ORDER BY 3 DESC",
    )
    .fetch_all(database.pool())
    .await?;
    let by_outcome: Vec<String> =
        by_outcome.iter().map(|(outcome, reason, n)| format!("{outcome} {reason}: {n}")).collect();
    let browsers: usize = std::fs::read_dir(&bench.dir)?
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("renderer-"))
        .map(|entry| {
            std::fs::read_to_string(entry.path()).unwrap_or_default().matches("browser started").count()
        })
        .sum();

    println!(
        "render path: {n} app shells in {elapsed:.2} s: {:.1} pages/s ({stored} stored, {rendered} rendered; \
         {browsers} browser(s) started; {} requests to the web)",
        rendered as f64 / elapsed,
        web.requests.load(Ordering::Relaxed)
    );
    println!("outcomes: {}", by_outcome.join(", "));
    println!("{:<18} {:>10} {:>12} {:>16}", "PROCESS", "CPU s", "CPU ms/page", "PEAK RSS MB");
    for worker in &workers {
        let pid = worker.child.id();
        // The renderer's with its browsers': the live ones, and those it reaped (their children's too).
        let cpu = cpu_seconds_with_children(pid).unwrap_or(0.0) - worker.cpu_start
            + if worker.stage == Stage::Renderer { descendants_cpu(pid) } else { 0.0 };
        let peak = status_kb(pid, "VmHWM").unwrap_or(0) as f64 / 1024.0;
        let name = if worker.stage == Stage::Renderer { "renderer+chromium" } else { worker.stage.name() };
        println!("{name:<18} {cpu:>10.2} {:>12.2} {peak:>16.1}", cpu * 1000.0 / n.max(1) as f64);
    }
    if let Some((rabbit, postgres)) = services {
        for (name, cpu) in [("rabbitmq", rabbit), ("postgresql", postgres)] {
            println!("{name:<18} {cpu:>10.2} {:>12.2} {:>16}", cpu * 1000.0 / n.max(1) as f64, "-");
        }
    }
    println!(
        "renderer with its browser, peak of the process tree (sampled every 100 ms): {:.0} MB PSS, {:.0} MB RSS \
         summed over its processes",
        peak_pss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    println!("(the renderer's own row above is its process alone: VmHWM)");
    terminate(&workers);
    let _ = connection.close(200, "bye".into()).await;
    Ok(())
}
