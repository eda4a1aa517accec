//! Observable events of the renderer: each logs and counts in one place (labels are codes, never URLs).

use std::time::Duration;

use metrics::{counter, histogram};
use newspipe_runtime::InternalEvent;

/// A request of a page the renderer did not let through (`code`: `navigation`, `method`, `resource_type`,
/// `too_many_requests`, or the HTTP client's failure code, `forbidden_address` for the address guard).
pub(crate) struct RequestRefused<'a> {
    pub url: &'a str,
    pub code: &'static str,
}

impl InternalEvent for RequestRefused<'_> {
    fn emit(self) {
        tracing::info!(url = self.url, code = self.code, "page request refused");
        counter!("newspipe_render_requests_refused_total", "code" => self.code).increment(1);
    }
}

/// A page rendered (`outcome`: `rendered`, or why it was not: `page_timeout`, `dom_too_large`,
/// `browser_failed`).
pub(crate) struct PageRendered<'a> {
    pub url: &'a str,
    pub outcome: &'static str,
    pub elapsed: Duration,
    pub requests_fetched: usize,
    pub requests_refused: usize,
}

impl InternalEvent for PageRendered<'_> {
    fn emit(self) {
        tracing::info!(
            url = self.url,
            outcome = self.outcome,
            elapsed_ms = self.elapsed.as_millis() as u64,
            requests_fetched = self.requests_fetched,
            requests_refused = self.requests_refused,
            "rendered"
        );
        counter!("newspipe_renders_total", "outcome" => self.outcome).increment(1);
        histogram!("newspipe_stage_seconds", "stage" => "render").record(self.elapsed.as_secs_f64());
    }
}

/// The browser was (re)started (`why`: `start`, `crashed`, `max_pages`, `max_rss`).
pub(crate) struct BrowserStarted {
    pub why: &'static str,
    pub pid: Option<u32>,
}

impl InternalEvent for BrowserStarted {
    fn emit(self) {
        tracing::info!(why = self.why, pid = self.pid, "browser started");
        counter!("newspipe_browser_starts_total", "why" => self.why).increment(1);
    }
}
