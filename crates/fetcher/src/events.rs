//! Observable events of the fetcher: each logs and counts in one place.

use std::time::Duration;

use metrics::{counter, histogram};

use crate::FetchError;

pub(crate) struct PageFetched {
    pub bytes: usize,
    pub status: u16,
    pub elapsed: Duration,
}

impl PageFetched {
    pub fn emit(&self) {
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

impl FetchFailed<'_> {
    pub fn emit(&self) {
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

impl DocumentExpanded {
    pub fn emit(&self) {
        tracing::info!(
            jobs = self.jobs,
            already_known = self.already_known,
            truncated = self.truncated,
            "feed or sitemap expanded"
        );
        counter!("newspipe_discovered_urls_total").increment(self.jobs as u64);
    }
}
