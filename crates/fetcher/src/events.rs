//! Observable events of the fetcher: each logs and counts in one place.

use std::time::Duration;

use metrics::{counter, histogram};
use newspipe_runtime::InternalEvent;

use crate::FetchError;

pub(crate) struct PageFetched {
    pub bytes: usize,
    pub status: u16,
    pub elapsed: Duration,
}

impl InternalEvent for PageFetched {
    fn emit(self) {
        tracing::info!(
            bytes = self.bytes,
            status = self.status,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "fetched"
        );
        counter!("newspipe_fetch_bytes_total").increment(self.bytes as u64);
        counter!("newspipe_fetches_total", "result" => "ok").increment(1);
        histogram!("newspipe_stage_seconds", "stage" => "fetch").record(self.elapsed.as_secs_f64());
    }
}

pub(crate) struct FetchFailed<'a> {
    pub url: &'a str,
    pub error: &'a FetchError,
    pub attempt: u32,
}

impl InternalEvent for FetchFailed<'_> {
    fn emit(self) {
        tracing::info!(
            url = self.url,
            attempt = self.attempt,
            transient = self.error.is_transient(),
            error = %self.error,
            "fetch failed"
        );
        counter!("newspipe_fetches_total", "result" => self.error.reason().code()).increment(1);
    }
}

pub(crate) struct DocumentExpanded {
    pub jobs: usize,
    pub already_known: usize,
    pub truncated: bool,
}

impl InternalEvent for DocumentExpanded {
    fn emit(self) {
        tracing::info!(
            jobs = self.jobs,
            already_known = self.already_known,
            truncated = self.truncated,
            "feed or sitemap expanded"
        );
        counter!("newspipe_discovered_urls_total").increment(self.jobs as u64);
    }
}

/// A job waited for its host's turn (politeness): how long.
pub(crate) struct HostTurnWaited {
    pub wait: Duration,
}

impl InternalEvent for HostTurnWaited {
    fn emit(self) {
        histogram!("newspipe_host_wait_seconds").record(self.wait.as_secs_f64());
    }
}

/// The watch scheduler queued a poll of a watched feed or sitemap.
pub(crate) struct WatchPolled<'a> {
    pub url: &'a str,
    pub job_id: newspipe_models::JobId,
}

impl InternalEvent for WatchPolled<'_> {
    fn emit(self) {
        tracing::info!(url = self.url, job_id = %self.job_id, "watched feed polled");
        counter!("newspipe_watch_polls_total").increment(1);
    }
}

/// The scheduler queued a stored article's revisit: which step, and how long after it was due.
pub(crate) struct RevisitQueued<'a> {
    pub url: &'a str,
    pub job_id: newspipe_models::JobId,
    pub step: usize,
    pub lag: Duration,
}

impl InternalEvent for RevisitQueued<'_> {
    fn emit(self) {
        tracing::info!(
            url = self.url,
            job_id = %self.job_id,
            step = self.step,
            lag_ms = self.lag.as_millis() as u64,
            "revisit queued"
        );
        counter!("newspipe_revisits_queued_total").increment(1);
        histogram!("newspipe_revisit_lag_seconds").record(self.lag.as_secs_f64());
    }
}

/// A revisit was fetched: `result` is `page` (for the store to compare with what it has),
/// `not_modified` (a 304) or the failure's reason code (`http_410`...).
pub(crate) struct RevisitFetched {
    pub result: &'static str,
}

impl InternalEvent for RevisitFetched {
    fn emit(self) {
        counter!("newspipe_revisits_total", "result" => self.result).increment(1);
    }
}
