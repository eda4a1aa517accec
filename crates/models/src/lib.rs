//! The messages the workers exchange and the article record they produce.
//!
//! Every message carries a `schema` number. A worker refuses a message whose schema it does not know with a
//! clear reason (it is dead-lettered) instead of misreading it. Bump [`SCHEMA_VERSION`] when a change is not
//! backward compatible; additive optional fields do not need a bump.

mod article;
mod codec;
mod messages;
mod reason;
mod revisit;
mod schema;
pub mod version;

pub use article::{Article, OutcomeKind, WarcLocation};
pub use codec::{
    DecodeError, Versioned, decode_json, decode_page, decode_store_requests, encode_json, encode_page,
};
pub use messages::{FeedHints, FetchJob, JobKind, Outcome, RawPage, Rendering, StoreRequest, WarcJob};
pub use reason::{FailureReason, SkipReason, every_reason};
pub use revisit::{DEFAULT_REVISIT_SCHEDULE, MAX_REVISIT_OFFSET, MAX_REVISIT_STEPS, RevisitSchedule};
pub use schema::fetch_job_schema;

/// The message schema this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;

/// Identifies one submitted URL across every stage, log line and database row: a UUID, written as one
/// everywhere (JSON, AMQP correlation ids, PostgreSQL `uuid` columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
pub struct JobId(uuid::Uuid);

impl JobId {
    /// A new job id: time-ordered (UUIDv7), so ids sort by submission time in the database.
    pub fn new() -> JobId {
        JobId(uuid::Uuid::now_v7())
    }

    /// The id of the job that `parent` derives for `name` (a feed's item, a sitemap's entry): always the
    /// same for the same two (UUIDv5), so a redelivered feed queues the same jobs as the first time.
    pub fn derived(parent: JobId, name: &str) -> JobId {
        JobId(uuid::Uuid::new_v5(&parent.0, name.as_bytes()))
    }

    /// The id of step `step` of a stored article's revisits: the same however often the scheduler queues
    /// it (a crash between queueing and moving on queues it again), so that step has one outcome.
    pub fn revisit(article_id: i64, step: u32) -> JobId {
        JobId(uuid::Uuid::new_v5(&REVISIT_NAMESPACE, format!("{article_id}/{step}").as_bytes()))
    }

    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

/// The namespace of revisit job ids (a fixed UUID; "revisit" in its first bytes).
const REVISIT_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x7265_7669_7369_7400_8000_0000_0000_0001);

/// In the JSON Schema of the messages, a job id is a plain UUID string (inlined, as before it had a type).
impl schemars::JsonSchema for JobId {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "JobId".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        uuid::Uuid::json_schema(generator)
    }
}

/// In the HTTP API's OpenAPI document, a job id is a UUID string too.
impl utoipa::PartialSchema for JobId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .description(Some("A job id (a UUID)."))
            .into()
    }
}

impl utoipa::ToSchema for JobId {}

impl Default for JobId {
    fn default() -> Self {
        JobId::new()
    }
}

impl From<uuid::Uuid> for JobId {
    fn from(id: uuid::Uuid) -> Self {
        JobId(id)
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for JobId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(JobId)
    }
}

/// A new job id (see [`JobId::new`]).
pub fn new_job_id() -> JobId {
    JobId::new()
}
