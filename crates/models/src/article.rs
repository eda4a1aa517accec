use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One extracted article, as stored and exported.
///
/// `fetched_at` and `url` come from the fetch; everything else from the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct Article {
    /// The URL that was fetched (after redirects).
    pub url: String,
    /// The page's own idea of its address (`<link rel=canonical>`, `og:url`), absolute.
    pub canonical_url: Option<String>,
    pub title: Option<String>,
    /// People, in byline order; an organisation only where no person is named.
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    /// BCP 47 tag, e.g. `en`, `pt-BR`.
    pub language: Option<String>,
    pub site_name: Option<String>,
    pub description: Option<String>,
    /// The lead image, absolute.
    pub image: Option<String>,
    pub tags: Vec<String>,
    pub section: Option<String>,
    /// The body as plain text, paragraphs separated by a blank line.
    pub text: String,
    /// The body as Markdown.
    pub markdown: Option<String>,
    pub word_count: u32,
    /// Hex SHA-256 of the normalised text: equal for exact duplicates.
    pub content_hash: String,
    /// 64-bit SimHash of the text: close (in Hamming distance) for near duplicates.
    pub simhash: Option<u64>,
    pub paywalled: bool,
    pub fetched_at: Option<DateTime<Utc>>,
    /// The WARC file the page was read from (or archived into by the fetcher): an absolute path or a URL.
    /// `None` for a page fetched live without a WARC archive.
    pub warc_file: Option<String>,
    /// Where the page's `response` record starts in `warc_file`: the byte offset of its gzip member (or of
    /// the record, uncompressed). `None` where no offset can locate it (a whole-file gzip).
    pub warc_offset: Option<u64>,
    /// The `WARC-Record-ID` of the page's `response` record (`<urn:uuid:...>`).
    pub warc_record_id: Option<String>,
    /// When a revisit found the page gone (404 or 410), the article keeping its last content; `None` while
    /// it is online. Set by the store, never by extraction (docs/history.md).
    pub taken_down_at: Option<DateTime<Utc>>,
    /// Extracted from the DOM a browser built (the renderer), not from the page as fetched.
    pub rendered: bool,
}

/// Where a page's bytes are kept in a WARC file: what an article keeps of its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarcLocation {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub record_id: String,
}

impl Article {
    /// Records where the page came from in a WARC file.
    pub fn set_warc(&mut self, location: &WarcLocation) {
        self.warc_file = Some(location.file.clone());
        self.warc_offset = location.offset;
        self.warc_record_id = Some(location.record_id.clone());
    }
}

/// The terminal outcome of one submitted URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Stored,
    Skipped,
    Failed,
    Unchanged,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Stored => "stored",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Unchanged => "unchanged",
        }
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
