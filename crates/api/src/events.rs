//! The API's observable events (see `newspipe_runtime::events`): each logs and counts in one place. Labels
//! are codes (a route's template, a status code, a failure's kind), never a token, a URL or a query.

use std::time::Duration;

pub use newspipe_runtime::InternalEvent;

pub fn emit(event: impl InternalEvent) {
    event.emit()
}

/// Why an authentication failed.
#[derive(Debug, Clone, Copy)]
pub enum AuthFailure {
    /// The Authorization header is not `Bearer TOKEN`.
    Malformed,
    /// No such token (or not a token at all).
    Unknown,
    Revoked,
}

impl AuthFailure {
    fn code(self) -> &'static str {
        match self {
            AuthFailure::Malformed => "malformed",
            AuthFailure::Unknown => "unknown_token",
            AuthFailure::Revoked => "revoked_token",
        }
    }
}

pub struct AuthFailed {
    pub why: AuthFailure,
}

impl InternalEvent for AuthFailed {
    fn emit(self) {
        tracing::info!(reason = self.why.code(), "authentication failed");
        metrics::counter!("newspipe_api_auth_failures_total", "reason" => self.why.code()).increment(1);
    }
}

/// A request answered: by its route's template (`/v1/articles/{id}`, or `unmatched`) and status.
pub struct RequestServed {
    pub route: String,
    pub method: String,
    pub status: u16,
    pub elapsed: Duration,
}

impl InternalEvent for RequestServed {
    fn emit(self) {
        tracing::debug!(
            route = %self.route,
            method = %self.method,
            status = self.status,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "request served"
        );
        let status = self.status.to_string();
        metrics::counter!("newspipe_api_requests_total", "route" => self.route.clone(), "method" => self.method,
            "status" => status)
        .increment(1);
        metrics::histogram!("newspipe_api_request_duration_seconds", "route" => self.route)
            .record(self.elapsed.as_secs_f64());
    }
}

/// A caller went over its request rate.
pub struct RateLimited;

impl InternalEvent for RateLimited {
    fn emit(self) {
        tracing::info!("request refused: over the caller's rate");
        metrics::counter!("newspipe_api_rate_limited_total").increment(1);
    }
}

/// Jobs submitted through the API.
pub struct JobsSubmitted {
    pub kind: &'static str,
    pub count: usize,
    pub token: String,
}

impl InternalEvent for JobsSubmitted {
    fn emit(self) {
        tracing::info!(kind = self.kind, count = self.count, token = %self.token, "jobs submitted");
        metrics::counter!("newspipe_api_jobs_submitted_total", "kind" => self.kind)
            .increment(self.count as u64);
    }
}
