//! One page in the browser: a fresh browser context (no cookies, storage or cache from any other page), a
//! tab whose every request is paused and answered by the renderer (CDP `Fetch`):
//!
//! - the page's own document is answered with the bytes the fetcher already fetched (robots.txt and the
//!   host's politeness were applied to it there; it is not fetched again);
//! - scripts, XHR and `fetch()` requests (GET only) go through newspipe's HTTP client, so the address guard
//!   checks each at connect time, with the fetcher's limits and `fetcher.allow_private_addresses`;
//! - images, media, fonts, stylesheets and everything else are refused; so is every request past
//!   `renderer.max_requests_per_page`;
//! - a navigation away from the page (`window.location`, a form, a frame) is answered `204 No Content`,
//!   which leaves the page where it is: a page renders only itself.
//!
//! Then the page has `renderer.page_timeout_secs` to load and fall quiet (no request in flight for
//! `renderer.quiet_ms`), and its DOM is read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::browser::{SetDownloadBehaviorBehavior, SetDownloadBehaviorParams};
use chromiumoxide::cdp::browser_protocol::fetch::{
    EventRequestPaused, FailRequestParams, FulfillRequestParams, HeaderEntry,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use chromiumoxide::cdp::browser_protocol::target::{CreateBrowserContextParams, CreateTargetParams};
use futures_util::StreamExt;
use newspipe_net::http::{FetchError, HttpFetcher};
use newspipe_runtime::InternalEvent;
use tokio::sync::Mutex;

use crate::browser::{BrowserProcess, DEAD_PROXY, PROXY_BYPASS};
use crate::config::RendererSettings;
use crate::events;

/// The page as the fetcher got it.
pub struct PageToRender<'a> {
    pub url: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

/// What rendering made of a page.
#[derive(Debug)]
pub struct Rendered {
    pub html: String,
    /// Requests the page made that were answered through the HTTP client, and refused.
    pub fetched: usize,
    pub refused: usize,
    /// Whether the page was still loading or busy when its time ran out (its DOM is then as it was).
    pub timed_out: bool,
}

/// Why a page has no rendered DOM.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The page's fault (a script that never yields, a DOM too large): not worth another browser.
    #[error("page gave nothing in time ({0})")]
    PageTimeout(&'static str),
    #[error("rendered DOM of {size} bytes is over renderer.max_dom_bytes ({limit})")]
    DomTooLarge { size: usize, limit: usize },
    /// The browser's fault (it crashed, was killed, stopped answering): retried in a new browser.
    #[error("browser failed: {0}")]
    Browser(String),
}

impl RenderError {
    /// A low-cardinality code, for the page's `rendering` state, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            RenderError::PageTimeout(_) => "page_timeout",
            RenderError::DomTooLarge { .. } => "dom_too_large",
            RenderError::Browser(_) => "browser_failed",
        }
    }
}

fn browser_error(what: &str) -> impl Fn(chromiumoxide::error::CdpError) -> RenderError + '_ {
    move |e| RenderError::Browser(format!("{what}: {e}"))
}

/// Renders one page in `browser` (shared by the worker's tabs).
pub(crate) async fn render(
    browser: &Mutex<Option<BrowserProcess>>,
    client: &HttpFetcher,
    settings: &RendererSettings,
    page: &PageToRender<'_>,
) -> Result<Rendered, RenderError> {
    let started = Instant::now();
    let deadline = started + settings.page_timeout();
    // The context and tab are opened under the lock (the browser may be being replaced), used without it.
    let (context, tab) = {
        let guard = browser.lock().await;
        let Some(process) = guard.as_ref() else { return Err(RenderError::Browser("no browser".into())) };
        let b = &process.browser;
        let context = b
            .create_browser_context(
                CreateBrowserContextParams::builder()
                    .dispose_on_detach(true)
                    .proxy_server(DEAD_PROXY)
                    .proxy_bypass_list(PROXY_BYPASS)
                    .build(),
            )
            .await
            .map_err(browser_error("create a browser context"))?;
        b.execute(
            SetDownloadBehaviorParams::builder()
                .behavior(SetDownloadBehaviorBehavior::Deny)
                .browser_context_id(context.clone())
                .build()
                .map_err(RenderError::Browser)?,
        )
        .await
        .map_err(browser_error("refuse downloads"))?;
        let target = CreateTargetParams::builder()
            .url("about:blank")
            .browser_context_id(context.clone())
            .build()
            .map_err(RenderError::Browser)?;
        let tab = b.new_page(target).await.map_err(browser_error("open a tab"))?;
        (context, tab)
    };
    let result = render_in(&tab, client, settings, page, deadline).await;
    // Closing may hang in a page whose script never yields: bounded, and the context goes with the tab.
    let closed = tokio::time::timeout(Duration::from_secs(5), tab.close()).await;
    let disposed = {
        let guard = browser.lock().await;
        match guard.as_ref() {
            Some(process) => {
                tokio::time::timeout(Duration::from_secs(5), process.browser.dispose_browser_context(context))
                    .await
                    .map(|_| ())
            }
            None => Ok(()),
        }
    };
    if closed.is_err() || disposed.is_err() {
        // A tab that cannot be closed holds a renderer process: the browser is replaced.
        return Err(RenderError::Browser("a tab did not close within 5 s".into()));
    }
    result
}

async fn render_in(
    tab: &Page,
    client: &HttpFetcher,
    settings: &RendererSettings,
    page: &PageToRender<'_>,
    deadline: Instant,
) -> Result<Rendered, RenderError> {
    let paused =
        tab.event_listener::<EventRequestPaused>().await.map_err(browser_error("listen for requests"))?;
    let state = Arc::new(Interception {
        document: (page.body.to_vec(), page.content_type.to_string()),
        document_served: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
        requests: AtomicUsize::new(0),
        fetched: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
        last_activity: std::sync::Mutex::new(Instant::now()),
        max_requests: settings.max_requests_per_page,
        deadline,
    });
    let interceptor = {
        let (tab, client, state) = (tab.clone(), client.clone(), state.clone());
        tokio::spawn(async move {
            let mut paused = paused;
            while let Some(event) = paused.next().await {
                let (tab, client, state) = (tab.clone(), client.clone(), state.clone());
                tokio::spawn(async move { state.answer(&tab, &client, &event).await });
            }
        })
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let loaded = tokio::time::timeout(remaining, tab.goto(page.url)).await;
    let mut timed_out = loaded.is_err();
    if let Ok(Err(error)) = loaded {
        interceptor.abort();
        return Err(RenderError::Browser(format!("load {}: {error}", page.url)));
    }
    // Scripts go on fetching after the load event: wait for quiet, or the deadline.
    while !timed_out {
        let quiet_for = state.last_activity.lock().map(|t| t.elapsed()).unwrap_or_default();
        if state.in_flight.load(Ordering::SeqCst) == 0 && quiet_for >= settings.quiet() {
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A script that never yields blocks the page's thread, and reading the DOM with it.
    let html = match tokio::time::timeout(Duration::from_secs(5), tab.content()).await {
        Ok(Ok(html)) => html,
        Ok(Err(error)) => {
            interceptor.abort();
            return Err(RenderError::Browser(format!("read the DOM: {error}")));
        }
        Err(_) => {
            interceptor.abort();
            return Err(RenderError::PageTimeout("the page's script never yielded"));
        }
    };
    interceptor.abort();
    if html.len() > settings.max_dom_bytes {
        return Err(RenderError::DomTooLarge { size: html.len(), limit: settings.max_dom_bytes });
    }
    Ok(Rendered {
        html,
        fetched: state.fetched.load(Ordering::SeqCst),
        refused: state.refused.load(Ordering::SeqCst),
        timed_out,
    })
}

/// What the interception of one page knows and counts.
struct Interception {
    document: (Vec<u8>, String),
    document_served: AtomicBool,
    in_flight: AtomicUsize,
    requests: AtomicUsize,
    fetched: AtomicUsize,
    refused: AtomicUsize,
    last_activity: std::sync::Mutex<Instant>,
    max_requests: usize,
    deadline: Instant,
}

/// What to do with one request of the page.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    ServeDocument,
    StayOnPage,
    Fetch,
    Refuse(&'static str),
}

/// The rule, without I/O: see the module documentation.
fn decide(
    resource: &ResourceType,
    method: &str,
    document_served: bool,
    requests: usize,
    max: usize,
) -> Decision {
    match resource {
        ResourceType::Document if !document_served => Decision::ServeDocument,
        ResourceType::Document => Decision::StayOnPage,
        _ if requests > max => Decision::Refuse("too_many_requests"),
        ResourceType::Script | ResourceType::Xhr | ResourceType::Fetch => {
            if method.eq_ignore_ascii_case("GET") { Decision::Fetch } else { Decision::Refuse("method") }
        }
        ResourceType::Image | ResourceType::Media | ResourceType::Font => Decision::Refuse("media"),
        _ => Decision::Refuse("resource_type"),
    }
}

impl Interception {
    async fn answer(&self, tab: &Page, client: &HttpFetcher, event: &EventRequestPaused) {
        let url = event.request.url.as_str();
        let requests = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let served = self.document_served.load(Ordering::SeqCst);
        let decision =
            decide(&event.resource_type, &event.request.method, served, requests, self.max_requests);
        let id = event.request_id.clone();
        let outcome = match decision {
            Decision::ServeDocument => {
                self.document_served.store(true, Ordering::SeqCst);
                let (body, content_type) = &self.document;
                tab.execute(fulfil(id, 200, vec![header("content-type", content_type)], body))
                    .await
                    .map(|_| ())
            }
            Decision::StayOnPage => {
                events::RequestRefused { url, code: "navigation" }.emit();
                self.refused.fetch_add(1, Ordering::SeqCst);
                tab.execute(fulfil(id, 204, Vec::new(), b"")).await.map(|_| ())
            }
            Decision::Refuse(code) => {
                if code != "media" {
                    events::RequestRefused { url, code }.emit();
                }
                self.refused.fetch_add(1, Ordering::SeqCst);
                tab.execute(FailRequestParams::new(id, ErrorReason::BlockedByClient)).await.map(|_| ())
            }
            Decision::Fetch => {
                self.in_flight.fetch_add(1, Ordering::SeqCst);
                let remaining = self.deadline.saturating_duration_since(Instant::now());
                let fetched = tokio::time::timeout(remaining, client.fetch(url)).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                if let Ok(mut last) = self.last_activity.lock() {
                    *last = Instant::now();
                }
                let answer = match fetched {
                    Ok(Ok(response)) => {
                        self.fetched.fetch_add(1, Ordering::SeqCst);
                        let content_type = response
                            .headers
                            .get("content-type")
                            .cloned()
                            .unwrap_or_else(|| "text/plain".into());
                        // The page's scripts may read what they fetched from another origin: the answer
                        // is the renderer's own, and the context holds no cookies to leak.
                        let headers = vec![
                            header("content-type", &content_type),
                            header("access-control-allow-origin", "*"),
                        ];
                        Ok(fulfil(id, i64::from(response.status), headers, &response.body))
                    }
                    Ok(Err(FetchError::HttpStatus { status, .. })) => {
                        self.fetched.fetch_add(1, Ordering::SeqCst);
                        Ok(fulfil(
                            id,
                            i64::from(status),
                            vec![header("access-control-allow-origin", "*")],
                            b"",
                        ))
                    }
                    Ok(Err(error)) => {
                        let code = error.reason().code();
                        events::RequestRefused { url, code }.emit();
                        self.refused.fetch_add(1, Ordering::SeqCst);
                        let reason = match error {
                            FetchError::ForbiddenAddress { .. } => ErrorReason::AddressUnreachable,
                            _ => ErrorReason::Failed,
                        };
                        Err(FailRequestParams::new(id, reason))
                    }
                    Err(_) => Err(FailRequestParams::new(id, ErrorReason::TimedOut)),
                };
                match answer {
                    Ok(fulfilment) => tab.execute(fulfilment).await.map(|_| ()),
                    Err(failure) => tab.execute(failure).await.map(|_| ()),
                }
            }
        };
        if let Err(error) = outcome {
            // The tab was closed under it (the page's time ran out): nothing waits for the answer.
            tracing::debug!(url, %error, "request answered too late");
        }
    }
}

fn header(name: &str, value: &str) -> HeaderEntry {
    HeaderEntry::new(name, value)
}

fn fulfil(
    id: chromiumoxide::cdp::browser_protocol::fetch::RequestId,
    status: i64,
    headers: Vec<HeaderEntry>,
    body: &[u8],
) -> FulfillRequestParams {
    let mut params = FulfillRequestParams::new(id, status);
    params.response_headers = Some(headers);
    params.body = Some(base64::engine::general_purpose::STANDARD.encode(body).into());
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_document_is_the_page_and_every_later_one_keeps_the_page_where_it_is() {
        assert_eq!(decide(&ResourceType::Document, "GET", false, 1, 10), Decision::ServeDocument);
        assert_eq!(decide(&ResourceType::Document, "GET", true, 2, 10), Decision::StayOnPage);
    }

    #[test]
    fn scripts_and_data_are_fetched_by_get_only_and_media_never() {
        assert_eq!(decide(&ResourceType::Script, "GET", true, 2, 10), Decision::Fetch);
        assert_eq!(decide(&ResourceType::Xhr, "get", true, 2, 10), Decision::Fetch);
        assert_eq!(decide(&ResourceType::Fetch, "POST", true, 2, 10), Decision::Refuse("method"));
        for media in [ResourceType::Image, ResourceType::Media, ResourceType::Font] {
            assert_eq!(decide(&media, "GET", true, 2, 10), Decision::Refuse("media"));
        }
        assert_eq!(decide(&ResourceType::Stylesheet, "GET", true, 2, 10), Decision::Refuse("resource_type"));
        assert_eq!(decide(&ResourceType::WebSocket, "GET", true, 2, 10), Decision::Refuse("resource_type"));
    }

    #[test]
    fn requests_past_the_limit_are_refused() {
        assert_eq!(decide(&ResourceType::Script, "GET", true, 11, 10), Decision::Refuse("too_many_requests"));
    }
}
