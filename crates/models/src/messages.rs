use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Article, FailureReason, JobId, RevisitSchedule, SCHEMA_VERSION, SkipReason, WarcLocation};

/// A request to fetch one URL: what `newspipe submit` (or any producer) publishes to the fetch queue.
///
/// This is a public interface: any AMQP client may publish it (JSON, to the work exchange with routing key
/// `fetch`). Its JSON Schema is generated from this type into `schemas/fetch-job.schema.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(title = "newspipe fetch job")]
pub struct FetchJob {
    /// The message schema version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub schema: u32,
    /// Identifies this job in every log line, message and database row. A UUID, ideally v7 (time-ordered).
    pub job_id: JobId,
    /// The URL to fetch.
    pub url: String,
    /// The URL as the submitter wrote it, when it differs from `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
    /// Fetch again even if the URL is already stored.
    #[serde(default)]
    pub refresh: bool,
    /// What a feed or sitemap said about this URL, for the extractor to fall back on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<FeedHints>,
    /// What the URL is: an article page (the default), or a feed, sitemap or site to discover articles from.
    /// A page that turns out to be a feed or sitemap is expanded all the same.
    #[serde(default, skip_serializing_if = "JobKind::is_page")]
    pub kind: JobKind,
    /// The job whose feed or sitemap this URL was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_job_id: Option<JobId>,
    /// How many sitemap indexes led here (0 for a submitted URL); bounded by `discovery.max_sitemap_depth`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u32,
    /// For a feed or sitemap: queue only entries published after this time (entries without a date are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// For a feed or sitemap (a watch's `--revisit`): when the articles found through it are fetched again
    /// to see whether they changed, instead of the site's or the default schedule. Passed on to its entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisit: Option<RevisitSchedule>,
    /// Set on the fetch of a stored article that its revisit schedule queued: which step (from 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisit_step: Option<u32>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a fetch job's URL is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// An article page.
    #[default]
    Page,
    /// An RSS, Atom or JSON feed: each item becomes a page job.
    Feed,
    /// A sitemap or sitemap index (plain or gzip, Google News too): each entry becomes a job.
    Sitemap,
    /// A site's home page: its feeds (`<link rel=alternate>`) and sitemaps (robots.txt) are expanded.
    Site,
}

impl JobKind {
    pub fn is_page(&self) -> bool {
        *self == JobKind::Page
    }
}

impl FetchJob {
    pub fn new(job_id: JobId, url: impl Into<String>) -> Self {
        FetchJob {
            schema: SCHEMA_VERSION,
            job_id,
            url: url.into(),
            submitted_url: None,
            submitted_at: Some(Utc::now()),
            refresh: false,
            hints: None,
            kind: JobKind::Page,
            parent_job_id: None,
            depth: 0,
            since: None,
            revisit: None,
            revisit_step: None,
        }
    }
}

/// Metadata a feed or sitemap gave for an item.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct FeedHints {
    /// The item's title in the feed.
    pub title: Option<String>,
    /// The item's publication time in the feed (RFC 3339).
    pub published_at: Option<DateTime<Utc>>,
    /// Where the URL was found (the feed or sitemap URL).
    pub source: Option<String>,
}

/// A downloaded page on its way to the extractor. The body is kept byte for byte: decoding the charset is
/// the extractor's job. On the wire the body is not inside the JSON (see [`crate::encode_page`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawPage {
    pub schema: u32,
    pub job_id: JobId,
    /// The URL that was requested.
    pub url: String,
    /// The URL the response finally came from, after redirects.
    pub final_url: String,
    pub status: u16,
    /// Selected response headers, lower-case names: content-type, content-language, last-modified, etag.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub fetched_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<FeedHints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_job_id: Option<JobId>,
    /// Where the fetcher archived this response (`fetcher.warc.dir`), for the article to point at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warc: Option<WarcLocation>,
    /// The revisit schedule its job carried (see [`FetchJob::revisit`]), for the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisit: Option<RevisitSchedule>,
    /// Where the page stands with the renderer; `None` for a page never sent to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendering: Option<Rendering>,
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// A page's way through the renderer (docs/rendering.md). Whatever the state, a page that has one is never
/// sent to rendering again: it is extracted as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Rendering {
    /// The extractor sent the page to the render queue, because of `reason` (a code: `app_root`,
    /// `no_text`, `always`...). A page that comes back to the extractor in this state waited past
    /// `renderer.max_wait_secs`, or kept failing the renderer.
    Requested { at: DateTime<Utc>, reason: String },
    /// The body is the DOM a browser built from the page.
    Rendered { elapsed_ms: u64 },
    /// The renderer gave up on the page (a code: `page_timeout`, `dom_too_large`...); the body is the page
    /// as fetched.
    Abandoned { reason: String },
}

impl RawPage {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What the store is asked to record for one job: its terminal outcome, with the article when stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRequest {
    pub schema: u32,
    pub job_id: JobId,
    /// The URL that was submitted for this job (canonical).
    pub url: String,
    pub outcome: Outcome,
    /// The job whose feed or sitemap this one came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_job_id: Option<JobId>,
    /// For an expanded feed or sitemap: how many jobs it queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<u32>,
    /// The page's `ETag` and `Last-Modified`, for a conditional request when it is refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// When the response behind this outcome arrived (a page's, a 304's, a 410's): orders what the store
    /// records about one URL by fetch time. A stored article's own `fetched_at` says the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<DateTime<Utc>>,
    /// The revisit schedule of a stored article found through a watched feed (see [`FetchJob::revisit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisit: Option<RevisitSchedule>,
}

impl StoreRequest {
    pub fn new(job_id: JobId, url: impl Into<String>, outcome: Outcome) -> Self {
        StoreRequest {
            schema: SCHEMA_VERSION,
            job_id,
            url: url.into(),
            outcome,
            parent_job_id: None,
            children: None,
            etag: None,
            last_modified: None,
            fetched_at: None,
            revisit: None,
        }
    }
}

/// The terminal outcome of a job. On the wire, an object tagged by `kind`: `{"kind": "stored", "article":
/// {...}}`, `{"kind": "skipped", "reason": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "OutcomeFields")]
pub enum Outcome {
    Stored {
        article: Box<Article>,
    },
    Skipped {
        reason: SkipReason,
    },
    Failed {
        reason: FailureReason,
    },
    /// A refresh found the page not modified (HTTP 304).
    Unchanged,
}

/// A request to read one WARC file: every `response` record in it that is an HTML page with status 200 is
/// extracted and stored; each response record gets one outcome, whose job id is derived from this job's id
/// and the record's `WARC-Record-ID` (so a file read twice records the same outcomes). Published by
/// `newspipe submit --warc` to the work exchange with routing key `warc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarcJob {
    pub schema: u32,
    pub job_id: JobId,
    /// An absolute local path, or an `http(s)://` URL.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
}

impl WarcJob {
    /// The job for `source`: its id is derived from the source, so submitting the same file twice names the
    /// same job (and its records the same outcomes) instead of archiving them twice.
    pub fn new(source: impl Into<String>) -> Self {
        let source = source.into();
        WarcJob {
            schema: SCHEMA_VERSION,
            job_id: WarcJob::id_for(&source),
            source,
            submitted_at: Some(Utc::now()),
        }
    }

    /// The job id of a WARC source: the same for the same source, whoever submits it.
    pub fn id_for(source: &str) -> JobId {
        JobId::from(uuid::Uuid::new_v5(&WARC_NAMESPACE, source.as_bytes()))
    }

    /// The job id of one record of this file: derived from the file's job and the record's id.
    pub fn record_job_id(&self, record_id: &str) -> JobId {
        JobId::derived(self.job_id, record_id)
    }
}

/// The UUIDv5 namespace of WARC job ids (a fixed random UUID: changing it would rename every WARC job).
const WARC_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6e65_7773_7069_7065_9a3c_5741_5243_4a4f);

macro_rules! versioned {
    ($($message:ty),*) => {
        $(impl crate::codec::Versioned for $message {
            fn schema(&self) -> u32 {
                self.schema
            }
        })*
    };
}
versioned!(FetchJob, RawPage, StoreRequest, WarcJob);

/// How an [`Outcome`] is read: serde's internally tagged enums first copy the whole object into a buffer
/// of their own to find the tag, which for a stored article (some 28 KB of text and Markdown) cost the store
/// more than the rest of decoding. A struct of every variant's fields is read in one pass, in any order.
#[derive(Deserialize)]
struct OutcomeFields {
    kind: crate::OutcomeKind,
    #[serde(default)]
    article: Option<Box<Article>>,
    #[serde(default)]
    reason: Option<String>,
}

impl TryFrom<OutcomeFields> for Outcome {
    type Error = String;

    fn try_from(fields: OutcomeFields) -> Result<Self, Self::Error> {
        use crate::OutcomeKind;
        let missing = |field: &str| format!("outcome `{}` without its `{field}`", fields.kind);
        Ok(match fields.kind {
            OutcomeKind::Stored => {
                Outcome::Stored { article: fields.article.ok_or_else(|| missing("article"))? }
            }
            OutcomeKind::Skipped => {
                let Ok(reason) = fields.reason.ok_or_else(|| missing("reason"))?.parse();
                Outcome::Skipped { reason }
            }
            OutcomeKind::Failed => {
                let Ok(reason) = fields.reason.ok_or_else(|| missing("reason"))?.parse();
                Outcome::Failed { reason }
            }
            OutcomeKind::Unchanged => Outcome::Unchanged,
        })
    }
}

impl Outcome {
    pub fn kind(&self) -> crate::OutcomeKind {
        match self {
            Outcome::Stored { .. } => crate::OutcomeKind::Stored,
            Outcome::Skipped { .. } => crate::OutcomeKind::Skipped,
            Outcome::Failed { .. } => crate::OutcomeKind::Failed,
            Outcome::Unchanged => crate::OutcomeKind::Unchanged,
        }
    }

    /// The reason's text, as the `reason` column and the wire carry it (`http 404`).
    pub fn reason(&self) -> Option<String> {
        match self {
            Outcome::Stored { .. } | Outcome::Unchanged => None,
            Outcome::Skipped { reason } => Some(reason.to_string()),
            Outcome::Failed { reason } => Some(reason.to_string()),
        }
    }

    /// The reason's stable code (`http_404`), for a metric label, a filter or a JSON field.
    pub fn reason_code(&self) -> Option<&'static str> {
        match self {
            Outcome::Stored { .. } | Outcome::Unchanged => None,
            Outcome::Skipped { reason } => Some(reason.code()),
            Outcome::Failed { reason } => Some(reason.code()),
        }
    }
}
