//! Observable events: every stage reports what happens through small structs that implement
//! [`InternalEvent`], each logging and counting in one place (vector's `internal_events`), so that a metric's
//! name and labels are written once and a log line's fields come before its message.
//!
//! Labels are low-cardinality codes (a queue's routing key, an outcome kind, a reason's code), never a URL,
//! a job id or an error's text; those go in the log line.

/// One thing that happened, with what is worth knowing about it. Each stage keeps its own in an `events`
/// module.
pub trait InternalEvent: Sized {
    /// Logs the event and updates its metrics.
    fn emit(self);
}
