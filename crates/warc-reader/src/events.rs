//! Observable events of the WARC reader: each logs and counts in one place. Labels are codes, never a
//! file name or a URL.

use std::time::Duration;

use metrics::counter;
use newspipe_runtime::InternalEvent;

/// A file was read to its end (with or without damage).
pub(crate) struct FileRead<'a> {
    pub source: &'a str,
    pub records: i64,
    pub responses: i64,
    pub damaged: i64,
    pub error: Option<&'a str>,
    pub elapsed: Duration,
}

impl InternalEvent for FileRead<'_> {
    fn emit(self) {
        let outcome = if self.error.is_some() { "failed" } else { "done" };
        tracing::info!(
            source = self.source,
            outcome,
            records = self.records,
            responses = self.responses,
            damaged = self.damaged,
            error = self.error,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "warc file read"
        );
        counter!("newspipe_warc_files_total", "outcome" => outcome).increment(1);
    }
}

/// A record was handed on (a response, with its outcome) or passed over (any other kind, or damaged).
pub(crate) struct RecordRead {
    pub kind: &'static str,
}

impl InternalEvent for RecordRead {
    fn emit(self) {
        counter!("newspipe_warc_records_total", "kind" => self.kind).increment(1);
    }
}

/// A file was resumed at a checkpoint instead of read from its start.
pub(crate) struct FileResumed<'a> {
    pub source: &'a str,
    pub records_read: i64,
    pub at: Option<i64>,
}

impl InternalEvent for FileResumed<'_> {
    fn emit(self) {
        tracing::info!(
            source = self.source,
            records_read = self.records_read,
            offset = self.at,
            "warc file resumed"
        );
        counter!("newspipe_warc_resumes_total").increment(1);
    }
}
