//! Observable events of the store and its search indexer: each logs and counts in one place.

use std::time::Duration;

use metrics::{counter, histogram};
use newspipe_models::StoreRequest;
use newspipe_runtime::InternalEvent;

/// A job's outcome (and its article) is recorded: committed.
pub(crate) struct OutcomeRecorded<'a> {
    pub request: &'a StoreRequest,
    pub article_id: Option<i64>,
}

impl InternalEvent for OutcomeRecorded<'_> {
    fn emit(self) {
        let request = self.request;
        let kind = request.outcome.kind().as_str();
        let reason_code = request.outcome.reason_code().unwrap_or_default();
        tracing::info!(url = %request.url, job_id = %request.job_id, outcome = kind, reason_code,
            reason = request.outcome.reason(), article_id = self.article_id, "recorded");
        // The label is the reason's code (`http_404`, `not_html`): a bounded set, never a URL or a message.
        counter!("newspipe_outcomes_total", "outcome" => kind, "reason" => reason_code).increment(1);
    }
}

/// A store request was written and committed, this long after it was handed to its writer.
pub(crate) struct RequestStored {
    pub elapsed: Duration,
}

impl InternalEvent for RequestStored {
    fn emit(self) {
        histogram!("newspipe_stage_seconds", "stage" => "store").record(self.elapsed.as_secs_f64());
    }
}

/// A writer starts a transaction of this many requests.
pub(crate) struct BatchWriting {
    pub requests: usize,
}

impl InternalEvent for BatchWriting {
    fn emit(self) {
        histogram!("newspipe_store_batch_size").record(self.requests as f64);
    }
}

/// The indexer analysed this many articles for search (in one transaction, this long, when it was one).
pub(crate) struct ArticlesIndexed {
    pub indexed: u64,
    pub elapsed: Option<Duration>,
}

impl InternalEvent for ArticlesIndexed {
    fn emit(self) {
        counter!("newspipe_search_indexed_total").increment(self.indexed);
        if let Some(elapsed) = self.elapsed {
            histogram!("newspipe_stage_seconds", "stage" => "index").record(elapsed.as_secs_f64());
            tracing::debug!(indexed = self.indexed, "indexed for search");
        }
    }
}

/// PostgreSQL will not analyse an article's text: it is stored, and no search finds it.
pub(crate) struct ArticleUnindexable<'a> {
    pub article_id: i64,
    pub reason: &'a str,
    pub batch_error: &'a newspipe_db::DbError,
}

impl InternalEvent for ArticleUnindexable<'_> {
    fn emit(self) {
        counter!("newspipe_search_unindexable_total").increment(1);
        tracing::warn!(article_id = self.article_id, reason = self.reason, batch_error = %self.batch_error,
            "article cannot be indexed for search; it is stored but no search finds it");
    }
}

/// A batch added to articles' histories: new versions, checks that found a page unchanged, pages back in
/// an earlier version, pages taken down.
pub(crate) struct HistoryRecorded {
    pub counts: newspipe_db::HistoryCounts,
}

impl InternalEvent for HistoryRecorded {
    fn emit(self) {
        let counts = self.counts;
        if counts != newspipe_db::HistoryCounts::default() {
            tracing::debug!(
                versions = counts.versions_created,
                checks = counts.checks,
                reverts = counts.reverts,
                take_downs = counts.take_downs,
                "history recorded"
            );
        }
        // Counted, zeros too, after every batch: the dashboard shows 0 rather than no data.
        counter!("newspipe_article_versions_total").increment(counts.versions_created as u64);
        counter!("newspipe_article_checks_total").increment(counts.checks as u64);
        counter!("newspipe_article_reverts_total").increment(counts.reverts as u64);
        counter!("newspipe_article_take_downs_total").increment(counts.take_downs as u64);
    }
}
