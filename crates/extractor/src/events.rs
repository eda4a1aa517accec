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

/// A page that looks built by JavaScript (or whose host is in `renderer.always`) went to the render queue.
pub(crate) struct RenderingRequested<'a> {
    pub url: &'a str,
    /// `always`, `app_root`, `script_heavy` or `no_text`.
    pub reason: &'a str,
}

impl InternalEvent for RenderingRequested<'_> {
    fn emit(self) {
        tracing::info!(url = self.url, reason = self.reason, "sent to rendering");
        counter!("newspipe_render_requests_total", "reason" => self.reason.to_string()).increment(1);
    }
}

/// A page sent to rendering came back unrendered: it waited past `renderer.max_wait_secs`, or kept
/// failing renderers (the render queue's delivery limit). It is extracted as it is.
pub(crate) struct RenderingNotDone<'a> {
    pub url: &'a str,
    pub reason: &'a str,
    pub waited: chrono::TimeDelta,
}

impl InternalEvent for RenderingNotDone<'_> {
    fn emit(self) {
        tracing::warn!(
            url = self.url,
            reason = self.reason,
            waited_secs = self.waited.num_seconds(),
            "no renderer took the page in time; extracted as it is"
        );
        counter!("newspipe_render_requests_expired_total").increment(1);
    }
}
