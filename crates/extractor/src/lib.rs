//! The extractor worker: raw pages in, store requests (an article, or a skip with its reason) out.
//! The extraction itself is `newspipe-extract`; this crate only carries pages to it and results away.

mod events;
pub mod routing;

use std::sync::Arc;
use std::time::{Duration, Instant};

use newspipe_broker::{
    BrokerSettings, ConsumersSeen, Disposition, Handler, Incoming, Outgoing, Queue, run_worker,
    watch_consumers,
};
use newspipe_extract::{ExtractError, Extraction, Options, Page, extract};
use newspipe_models::{
    FailureReason, Outcome, RawPage, Rendering, StoreRequest, decode_page, encode_json, encode_page,
};
use newspipe_runtime::{Health, InternalEvent, LogSettings, MetricsSettings, ProcessSettings, SettingsError};
use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use crate::routing::{RenderRouting, render_reason};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub extractor: ExtractorSettings,
    /// Which pages go to the renderer (the extractor's keys of the renderer's section).
    pub renderer: RenderRouting,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractorSettings {
    /// Pages extracted at once (CPU-bound work); 0 = one per core.
    pub concurrency: usize,
    /// Pages larger than this are `failed` with reason `too large` without being parsed.
    pub max_page_bytes: usize,
    /// Work on one page stops after about this long.
    pub time_budget_ms: u64,
    /// How often the extractor looks whether a renderer consumes the render queue (pages go to rendering
    /// only while one does).
    pub renderer_check_secs: u64,
}

impl Default for ExtractorSettings {
    fn default() -> Self {
        let defaults = Options::default();
        ExtractorSettings {
            concurrency: 0,
            max_page_bytes: defaults.max_bytes,
            time_budget_ms: defaults.time_budget.as_millis() as u64,
            renderer_check_secs: 5,
        }
    }
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn allocator(&self) -> newspipe_runtime::memory::Allocator {
        newspipe_runtime::memory::Allocator::HeapPerCore
    }

    fn validate(&self) -> Result<(), SettingsError> {
        newspipe_runtime::check_credentials_of_each("broker.url", &self.broker.url)?;
        if self.extractor.time_budget_ms == 0 {
            return Err(SettingsError::Invalid {
                key: "extractor.time_budget_ms",
                value: "0".into(),
                why: "must be at least 1",
            });
        }
        if self.extractor.renderer_check_secs == 0 {
            return Err(SettingsError::Invalid {
                key: "extractor.renderer_check_secs",
                value: "0".into(),
                why: "must be at least 1",
            });
        }
        if self.renderer.max_wait_secs == 0 {
            return Err(SettingsError::Invalid {
                key: "renderer.max_wait_secs",
                value: "0".into(),
                why: "must be at least 1",
            });
        }
        Ok(())
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let watching = CancellationToken::new();
    let every = Duration::from_secs(settings.extractor.renderer_check_secs);
    let renderers = watch_consumers(&settings.broker, Queue::Render, every, watching.clone());
    let handler =
        ExtractHandler::new(&settings.extractor).with_rendering(settings.renderer.clone(), renderers);
    let _stop_watching = watching.drop_guard();
    run_worker(Queue::Extract, handler, &settings.broker, &settings.metrics, Health::default()).await?;
    Ok(())
}

pub struct ExtractHandler {
    options: Arc<Options>,
    /// Bounds CPU-bound extractions to the cores, whatever the prefetch.
    cpu: Arc<Semaphore>,
    routing: Arc<RenderRouting>,
    /// Whether a renderer takes pages now; none is assumed until one is seen.
    renderers: ConsumersSeen,
}

impl ExtractHandler {
    pub fn new(settings: &ExtractorSettings) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let concurrency = if settings.concurrency == 0 { cores } else { settings.concurrency };
        let options = Options {
            max_bytes: settings.max_page_bytes,
            time_budget: Duration::from_millis(settings.time_budget_ms),
        };
        ExtractHandler {
            options: Arc::new(options),
            cpu: Arc::new(Semaphore::new(concurrency)),
            routing: Arc::new(RenderRouting::default()),
            renderers: ConsumersSeen::default(),
        }
    }

    /// Sends the pages `routing` picks to the render queue while `renderers` says one takes them.
    pub fn with_rendering(mut self, routing: RenderRouting, renderers: ConsumersSeen) -> Self {
        self.routing = Arc::new(routing);
        self.renderers = renderers;
        self
    }
}

impl Handler for ExtractHandler {
    async fn handle(&self, message: Incoming) -> Disposition {
        let page = match decode_page(&message.body) {
            Ok(page) => page,
            Err(error) => return Disposition::DeadLetter { reason: error.to_string() },
        };
        let job_id = page.job_id;
        let url = page.url.clone();
        let parent_job_id = page.parent_job_id;
        let etag = page.header("etag").map(str::to_string);
        let last_modified = page.header("last-modified").map(str::to_string);
        let (fetched_at, revisit) = (page.fetched_at, page.revisit.clone());
        let _permit = self.cpu.acquire().await.expect("the semaphore is never closed");
        let options = self.options.clone();
        // Looked at once per page: a renderer seen now takes the page, or its expiration brings it back.
        let routing = self.renderers.any().then(|| self.routing.clone());
        let started = Instant::now();
        // Extraction is CPU work: it runs off the async threads so it never stalls acks and heartbeats.
        let extracted = tokio::task::spawn_blocking(move || {
            let outcome = extract_outcome(&page, &options);
            let render = routing.as_deref().and_then(|routing| render_reason(&page, &outcome, routing));
            (page, outcome, render)
        });
        let (page, outcome, render) = match extracted.await {
            Ok(extracted) => extracted,
            Err(error) => return Disposition::DeadLetter { reason: format!("extraction panicked: {error}") },
        };
        if let Some(reason) = render {
            return self.send_to_rendering(page, reason);
        }
        if let Some(Rendering::Requested { reason, at }) = &page.rendering {
            events::RenderingNotDone { url: &url, reason, waited: chrono::Utc::now() - *at }.emit();
        }
        events::PageExtracted { url: &url, outcome: &outcome, elapsed: started.elapsed() }.emit();
        let mut request = StoreRequest::new(job_id, url, outcome);
        request.parent_job_id = parent_job_id;
        request.etag = etag;
        request.last_modified = last_modified;
        request.fetched_at = Some(fetched_at);
        request.revisit = revisit;
        // Compressed like pages: an article's text and Markdown (some 28 KB of JSON) shrink about fourfold, and
        // the broker's CPU per message grows with its size.
        Disposition::Forward(vec![
            Outgoing::json(Queue::Store, encode_json(&request)).compressed().for_job(job_id),
        ])
    }
}

impl ExtractHandler {
    /// The page as fetched, to the render queue; it comes back here rendered, or as it is once it has
    /// waited `max_wait_secs` (the queue dead-letters it to the extract queue) or the renderer gave up.
    fn send_to_rendering(&self, mut page: RawPage, reason: String) -> Disposition {
        events::RenderingRequested { url: &page.final_url, reason: &reason }.emit();
        page.rendering = Some(Rendering::Requested { at: chrono::Utc::now(), reason });
        let wait = Duration::from_secs(self.routing.max_wait_secs);
        Disposition::Forward(vec![
            Outgoing::bytes(Queue::Render, encode_page(&page), "application/x-newspipe-page")
                .compressed()
                .for_job(page.job_id)
                .expires_after(wait),
        ])
    }
}

/// The outcome for one page: pure, so it is tested without a broker.
pub fn extract_outcome(page: &RawPage, options: &Options) -> Outcome {
    let input = Page {
        body: &page.body,
        url: &page.final_url,
        content_type: page.header("content-type"),
        content_language: page.header("content-language"),
        hints: page.hints.as_ref(),
    };
    match extract(&input, options) {
        Ok(Extraction::Article(mut article)) => {
            article.url = page.final_url.clone();
            article.fetched_at = Some(page.fetched_at);
            if let Some(warc) = &page.warc {
                article.set_warc(warc);
            }
            article.rendered = matches!(page.rendering, Some(Rendering::Rendered { .. }));
            Outcome::Stored { article }
        }
        Ok(Extraction::Skipped(reason)) => Outcome::Skipped { reason },
        Err(error) => {
            tracing::warn!(url = %page.final_url, %error, "extraction failed");
            Outcome::Failed { reason: failure_reason(&error) }
        }
    }
}

/// A short, stable reason for the outcome table (the detail goes to the log).
fn failure_reason(error: &ExtractError) -> FailureReason {
    match error {
        ExtractError::TooLarge { .. } => FailureReason::TooLarge,
        ExtractError::TimeBudget(_) => FailureReason::ExtractionTimeBudget,
        ExtractError::Internal(_) => FailureReason::ExtractorError,
    }
}
