//! The renderer worker: pages the extractor found to be shells built by JavaScript, rendered in headless
//! Chromium, their DOM sent back to the extractor (docs/rendering.md).
//!
//! - `browser`: the Chromium process (its user, sandbox, flags, memory) and its DevTools connection.
//! - `render`: one page in a fresh browser context, every request it makes answered by the renderer.
//! - here: the consume loop's handler: what a rendered, abandoned or failed page becomes.

mod browser;
pub mod config;
mod events;
pub mod render;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use newspipe_broker::{BrokerSettings, Disposition, Handler, Incoming, Outgoing, Queue, run_worker};
use newspipe_models::{
    FailureReason, Outcome, RawPage, Rendering, StoreRequest, decode_page, encode_json, encode_page,
};
use newspipe_net::http::HttpFetcher;
use newspipe_net::settings::FetcherSettings;
use newspipe_runtime::{Health, InternalEvent, LogSettings, MetricsSettings, ProcessSettings, SettingsError};
use serde::Deserialize;
use tokio::sync::{Mutex, Semaphore};

use crate::browser::BrowserProcess;
pub use crate::config::RendererSettings;
use crate::render::{PageToRender, RenderError};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    /// The HTTP client every request of a page goes through: the fetcher's limits and address guard.
    pub fetcher: FetcherSettings,
    pub renderer: RendererSettings,
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn validate(&self) -> Result<(), SettingsError> {
        newspipe_runtime::check_credentials_of_each("broker.url", &self.broker.url)?;
        self.fetcher.validate().map_err(|why| SettingsError::Message(format!("fetcher settings: {why}")))?;
        self.renderer.validate().map_err(|why| SettingsError::Message(format!("renderer settings: {why}")))
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let client = HttpFetcher::new(&settings.fetcher)?;
    // A renderer that cannot start its browser must not take pages: it exits, naming why.
    let handler = RenderHandler::start(settings.renderer.clone(), client).await?;
    let mut broker = settings.broker.clone();
    broker.prefetch = u16::try_from(settings.renderer.concurrency).unwrap_or(u16::MAX);
    run_worker(Queue::Render, handler, &broker, &settings.metrics, Health::default()).await?;
    Ok(())
}

/// The browser of one worker and what it takes to render a page in it: the handler's engine, usable
/// without a broker (the crate's tests drive it directly).
pub struct Renderer {
    settings: RendererSettings,
    client: HttpFetcher,
    browser: Mutex<Option<BrowserProcess>>,
    tabs: Semaphore,
    in_flight: AtomicUsize,
}

impl Renderer {
    /// Starts the browser once, so that a missing or broken Chromium is found before any page is taken.
    pub async fn start(settings: RendererSettings, client: HttpFetcher) -> anyhow::Result<Self> {
        let process = BrowserProcess::launch(&settings).await?;
        events::BrowserStarted { why: "start", pid: process.pid() }.emit();
        Ok(Renderer {
            tabs: Semaphore::new(settings.concurrency),
            settings,
            client,
            browser: Mutex::new(Some(process)),
            in_flight: AtomicUsize::new(0),
        })
    }

    /// The pid of the browser process now, if one runs.
    pub async fn browser_pid(&self) -> Option<u32> {
        self.browser.lock().await.as_ref().and_then(BrowserProcess::pid)
    }

    /// Renders one page (waiting for a free tab), starting a new browser first if the last one is gone.
    pub async fn render(&self, page: &PageToRender<'_>) -> Result<render::Rendered, RenderError> {
        let _tab = self.tabs.acquire().await.expect("the semaphore is never closed");
        self.ensure_browser().await.map_err(|e| RenderError::Browser(format!("start the browser: {e}")))?;
        let serial = self.browser.lock().await.as_ref().map(|process| process.serial);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        // Bounded again from outside: a browser that stops answering the protocol is a hung browser.
        let limit = self.settings.page_timeout() + Duration::from_secs(15);
        let rendering = render::render(&self.browser, &self.client, &self.settings, page);
        let result = match tokio::time::timeout(limit, rendering).await {
            Ok(result) => result,
            Err(_) => Err(RenderError::Browser(format!("no answer within {} s", limit.as_secs()))),
        };
        self.after_page(matches!(result, Err(RenderError::Browser(_))), serial).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Kills the browser (at shutdown; a test's end).
    pub async fn stop(&self) {
        if let Some(process) = self.browser.lock().await.take() {
            process.kill().await;
        }
    }

    /// The browser, started again if it is gone (crashed, killed, or retired after its last page).
    async fn ensure_browser(&self) -> Result<(), String> {
        let mut guard = self.browser.lock().await;
        let why = match guard.as_mut().map(BrowserProcess::exited) {
            Some(false) => return Ok(()),
            Some(true) => "crashed",
            None => "replaced",
        };
        if let Some(old) = guard.take() {
            old.kill().await;
        }
        let process = BrowserProcess::launch(&self.settings).await.map_err(|e| e.to_string())?;
        events::BrowserStarted { why, pid: process.pid() }.emit();
        *guard = Some(process);
        Ok(())
    }

    /// Kills the browser now if the page failed in it (a browser that hangs is found this way), or retires
    /// it when it has served its pages or grown too large and no other tab is using it.
    ///
    /// Regression: a failed page killed whatever browser ran by then, so with two tabs the page that failed
    /// with a killed browser also killed the new one the other tab had just started, and so on until every
    /// page had used up its attempts.
    async fn after_page(&self, failed: bool, used: Option<u64>) {
        let mut guard = self.browser.lock().await;
        let retire = match guard.as_mut() {
            None => false,
            Some(process) if failed => Some(process.serial) == used,
            Some(process) => {
                process.pages += 1;
                let alone = self.in_flight.load(Ordering::SeqCst) <= 1;
                alone
                    && (process.pages >= self.settings.max_pages_per_browser
                        || process.rss_mb() > self.settings.max_rss_mb)
            }
        };
        if retire && let Some(process) = guard.take() {
            process.kill().await;
        }
    }
}

pub struct RenderHandler {
    renderer: Renderer,
}

impl RenderHandler {
    pub async fn start(settings: RendererSettings, client: HttpFetcher) -> anyhow::Result<Self> {
        Ok(RenderHandler { renderer: Renderer::start(settings, client).await? })
    }
}

impl Handler for RenderHandler {
    async fn handle(&self, message: Incoming) -> Disposition {
        let page = match decode_page(&message.body) {
            Ok(page) => page,
            Err(error) => return Disposition::DeadLetter { reason: error.to_string() },
        };
        let started = Instant::now();
        let input = PageToRender {
            url: &page.final_url,
            content_type: page.header("content-type").unwrap_or("text/html"),
            body: &page.body,
        };
        let result = self.renderer.render(&input).await;
        let elapsed = started.elapsed();
        let (outcome, fetched, refused) = match &result {
            Ok(rendered) => ("rendered", rendered.fetched, rendered.refused),
            Err(error) => (error.code(), 0, 0),
        };
        events::PageRendered {
            url: &page.final_url,
            outcome,
            elapsed,
            requests_fetched: fetched,
            requests_refused: refused,
        }
        .emit();
        match result {
            Ok(rendered) => forward(rendered_page(page, rendered.html, elapsed)),
            Err(RenderError::Browser(error)) => retry(&page, format!("render failed: {error}")),
            Err(error) => {
                tracing::info!(url = %page.final_url, %error, "extracted as fetched");
                let mut page = page;
                page.rendering = Some(Rendering::Abandoned { reason: error.code().to_string() });
                forward(page)
            }
        }
    }
}

/// The page, its body now the DOM the browser built.
pub fn rendered_page(mut page: RawPage, html: String, elapsed: Duration) -> RawPage {
    page.body = html.into_bytes();
    page.headers.insert("content-type".into(), "text/html; charset=utf-8".into());
    page.rendering = Some(Rendering::Rendered { elapsed_ms: elapsed.as_millis() as u64 });
    page
}

fn forward(page: RawPage) -> Disposition {
    let job_id = page.job_id;
    Disposition::Forward(vec![
        Outgoing::bytes(Queue::Extract, encode_page(&page), "application/x-newspipe-page")
            .compressed()
            .for_job(job_id),
    ])
}

/// A browser failure: the page is tried again in a new browser; after the last attempt it fails.
fn retry(page: &RawPage, reason: String) -> Disposition {
    Disposition::Retry { reason, after: None, exhausted: vec![failed(page)] }
}

/// The `failed: render failed` outcome of a page no browser could render.
pub fn failed(page: &RawPage) -> Outgoing {
    let mut request = StoreRequest::new(
        page.job_id,
        page.url.clone(),
        Outcome::Failed { reason: FailureReason::RenderFailed },
    );
    request.parent_job_id = page.parent_job_id;
    request.fetched_at = Some(page.fetched_at);
    request.revisit = page.revisit.clone();
    Outgoing::json(Queue::Store, encode_json(&request)).compressed().for_job(page.job_id)
}
