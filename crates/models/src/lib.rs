//! The messages the workers exchange and the article record they produce.
//!
//! Every message carries a `schema` number. A worker refuses a message whose schema it does not know with a
//! clear reason (it is dead-lettered) instead of misreading it. Bump [`SCHEMA_VERSION`] when a change is not
//! backward compatible; additive optional fields do not need a bump.

mod article;
mod codec;
mod messages;
mod schema;

pub use article::{Article, OutcomeKind};
pub use codec::{DecodeError, Versioned, decode_json, decode_page, encode_json, encode_page};
pub use messages::{FeedHints, FetchJob, JobKind, Outcome, RawPage, StoreRequest};
pub use schema::fetch_job_schema;

/// The message schema this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;

/// Identifies one submitted URL across every stage, log line and database row.
pub type JobId = uuid::Uuid;

/// A new job id: time-ordered (UUIDv7), so ids sort by submission time in the database.
pub fn new_job_id() -> JobId {
    uuid::Uuid::now_v7()
}
