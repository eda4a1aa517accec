use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One extracted article, as stored and exported.
///
/// `fetched_at` and `url` come from the fetch; everything else from the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
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
