//! Observable events of the extractor: each logs and counts in one place.

use std::time::Duration;

use metrics::{counter, histogram};
use newspipe_models::Outcome;
use newspipe_runtime::InternalEvent;

/// A page was extracted (into an article, a skip or a failure), in this long.
pub(crate) struct PageExtracted<'a> {
    pub url: &'a str,
    pub outcome: &'a Outcome,
    pub elapsed: Duration,
}

impl InternalEvent for PageExtracted<'_> {
    fn emit(self) {
        let kind = self.outcome.kind().as_str();
        tracing::info!(
            url = self.url,
            outcome = kind,
            reason_code = self.outcome.reason_code(),
            reason = self.outcome.reason(),
            elapsed_ms = self.elapsed.as_millis() as u64,
            "extracted"
        );
        counter!("newspipe_extractions_total", "outcome" => kind).increment(1);
        histogram!("newspipe_stage_seconds", "stage" => "extract").record(self.elapsed.as_secs_f64());
    }
}
