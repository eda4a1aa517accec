//! Page bytes in, an article (or a reasoned skip) out. The extractor worker and the `newspipe extract`
//! command both call [`extract`]; the only I/O is in [`files`], for the command line.
//!
//! The public API is [`extract`] with [`Page`], [`Options`], [`Extraction`] and [`ExtractError`], and
//! [`files`]. The stages before and beside it are public for the crate's examples (`bench`, `eval`,
//! `tree`), which run them one at a time: [`charset::decode`] (bytes to text), [`dom::parse`] (the
//! bounded arena tree, built from `newspipe-html`'s tokenizer), [`extract_metadata`] and [`parse_date`].
//! They are not used elsewhere in the workspace and may change with the extractor.
//!
//! # Pages built by JavaScript
//!
//! When a page's markup yields a thin body (fewer than [`THIN_ARTICLE_WORDS`] words, or none), [`extract`]
//! looks for the article in the data the page embeds for its scripts, in this order: JSON-LD
//! `articleBody`, Next.js `__NEXT_DATA__`, inline `window.__INITIAL_STATE__` / `__PRELOADED_STATE__` /
//! `__APOLLO_STATE__` / `__NUXT__` (JSON literals only), Nuxt 3 `__NUXT_DATA__`. The article it returns
//! is computed as for any page (text, Markdown, counts, hashes, description); the data's title, date and
//! authors fill only what the page's metadata lacks. A page rendered this way needs no browser.
//!
//! For what is left, a caller decides whether to render the page in a browser:
//!
//! ```no_run
//! # use newspipe_extract::*;
//! # fn f(page: &Page<'_>) -> Result<(), ExtractError> {
//! let thin = match extract(page, &Options::default())? {
//!     Extraction::Article(a) => a.word_count < THIN_ARTICLE_WORDS,
//!     Extraction::Skipped(reason) => reason == newspipe_models::SkipReason::Empty,
//! };
//! if thin && let Some(reason) = shell_signals(page) {
//!     // reason.code.as_str() is "app_root", "script_heavy" or "no_text"; render the page, or try
//!     // amp_url(page), the AMP version the page links to.
//! }
//! # Ok(()) }
//! ```
//!
//! - [`shell_signals`]`(page: &Page<'_>) -> Option<ShellReason>`: whether the HTML is an app shell
//!   ([`ShellReason`]: a [`ShellCode`] and the measured text characters, scripts, external scripts,
//!   inline script bytes and app-root marker). The thresholds are [`APP_ROOT_MAX_TEXT`],
//!   [`SCRIPT_HEAVY_MAX_TEXT`], [`SCRIPT_HEAVY_RATIO`], [`SCRIPT_HEAVY_EXTERNAL`] and [`NO_TEXT_MAX_TEXT`].
//! - [`amp_url`]`(page: &Page<'_>) -> Option<String>`: the absolute `http(s)` URL of
//!   `<link rel="amphtml">`.
//!
//! Both are one tokenizer pass over the page (no tree), for pages whose extraction came out thin.
//!
//! Inside, four rooms: `metadata` (JSON-LD, titles, authors, dates, Open Graph and meta), `content` (the
//! body: signals, scoring, rendering as text and Markdown), `embedded` (the article in framework data)
//! with `shell` (the shell rule), and the page-level parts (`language`, `fingerprint`, `page_type`).

use std::time::{Duration, Instant};

use newspipe_models::{Article, FeedHints, SkipReason};

pub mod charset;
mod content;
pub mod dom;
mod embedded;
pub mod files;
mod fingerprint;
mod language;
mod metadata;
mod page_type;
mod shell;
mod util;

pub use metadata::dates::parse::parse_date;
pub use metadata::{Metadata, extract_metadata};
pub use shell::{
    APP_ROOT_MAX_TEXT, NO_TEXT_MAX_TEXT, SCRIPT_HEAVY_EXTERNAL, SCRIPT_HEAVY_MAX_TEXT, SCRIPT_HEAVY_RATIO,
    ShellCode, ShellReason, amp_url, shell_signals,
};

/// A body of fewer words than this is thin: [`extract`] then looks for the article in the page's embedded
/// data, and a caller that still gets a thin article (or `Skipped(Empty)`) may ask [`shell_signals`]
/// whether the page needs a browser.
pub const THIN_ARTICLE_WORDS: u32 = 80;

/// One fetched page, as the fetcher saw it.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub body: &'a [u8],
    /// The URL the page came from (after redirects); relative links resolve against it.
    pub url: &'a str,
    /// The HTTP `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The HTTP `Content-Language` header, if any.
    pub content_language: Option<&'a str>,
    /// What a feed or sitemap said about the page.
    pub hints: Option<&'a FeedHints>,
}

impl<'a> Page<'a> {
    pub fn new(body: &'a [u8], url: &'a str) -> Self {
        Page { body, url, content_type: None, content_language: None, hints: None }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Pages larger than this are refused without parsing.
    pub max_bytes: usize,
    /// Work on one page stops after about this long.
    pub time_budget: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_bytes: 8 * 1024 * 1024, time_budget: Duration::from_secs(5) }
    }
}

/// What a page turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Extraction {
    Article(Box<Article>),
    /// Not an article, and why (`not html: image/png`, `empty`, `not an article: listing page`...).
    Skipped(SkipReason),
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("page of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("extraction took longer than its budget of {0:?}")]
    TimeBudget(Duration),
    /// A bug in the extractor, caught so that it fails one page rather than the process.
    #[error("internal extractor error: {0}")]
    Internal(String),
}

/// Extracts the article from a page. Never panics on any input; bounded in time and memory.
pub fn extract(page: &Page<'_>, options: &Options) -> Result<Extraction, ExtractError> {
    // The extractor is written not to panic; this guard keeps one page's bug from taking a worker down.
    std::panic::catch_unwind(|| extract_unguarded(page, options)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(ExtractError::Internal(message))
    })
}

fn extract_unguarded(page: &Page<'_>, options: &Options) -> Result<Extraction, ExtractError> {
    let started = Instant::now();
    let deadline = started + options.time_budget;
    if page.body.len() > options.max_bytes {
        return Err(ExtractError::TooLarge { size: page.body.len(), limit: options.max_bytes });
    }
    if let Some(ct) = page.content_type {
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !mime.is_empty() && mime != "text/html" && mime != "application/xhtml+xml" {
            return Ok(Extraction::Skipped(SkipReason::NotHtml { mime: mime.to_string() }));
        }
    }
    if let Some(mime) = sniff_binary(page.body) {
        return Ok(Extraction::Skipped(SkipReason::NotHtml { mime: mime.to_string() }));
    }
    if page.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Extraction::Skipped(SkipReason::Empty));
    }
    let (html, _, _) = charset::decode(page.body, page.content_type, page.url);
    let doc = dom::parse(&html, Some(deadline));
    if doc.timed_out {
        return Err(ExtractError::TimeBudget(options.time_budget));
    }
    let meta = metadata::extract_metadata(&doc, &html, page.url, page.content_language);
    let body = content::extract_body(&doc, page.url, meta.article.title.as_deref());
    if Instant::now() > deadline {
        return Err(ExtractError::TimeBudget(options.time_budget));
    }
    if let Some(kind) = page_type::not_an_article(page.url, &meta, &body) {
        return Ok(Extraction::Skipped(SkipReason::NotAnArticle { kind: kind.to_string() }));
    }
    let (mut meta, mut body) = (meta, body);
    let words = body.text.split_whitespace().count();
    if words < THIN_ARTICLE_WORDS as usize
        && Instant::now() < deadline
        && let Some(found) = embedded::find(&doc, &html, page.url, meta.article.title.as_deref(), deadline)
        && found.body.text.split_whitespace().count() > words
    {
        // The page's own markup and metadata come first; the embedded data fill what they lack.
        let paywall_marker = body.paywall_marker;
        body = found.body;
        body.paywall_marker = paywall_marker;
        let m = &mut meta.article;
        m.title = m.title.take().or(found.title);
        // A day read from the URL alone gives way to the data's time on that day.
        let from_url = m.published_at.is_some() && m.published_at == metadata::dates::date_from_url(page.url);
        m.published_at = match (m.published_at, found.published_at) {
            (None, found) => found,
            (Some(day), Some(at)) if from_url && at.date_naive() == day.date_naive() => Some(at),
            (own, _) => own,
        };
        if m.authors.is_empty() {
            m.authors = found.authors;
        }
    }
    if body.text.trim().is_empty() {
        return Ok(Extraction::Skipped(SkipReason::Empty));
    }
    let mut found = meta.article;
    let language = language::choose(found.language.as_deref(), &body.text);
    let hints = page.hints;
    let title = found.title.take().or_else(|| hints.and_then(|h| h.title.clone()));
    let published_at = found.published_at.or_else(|| hints.and_then(|h| h.published_at));
    let paywalled = found.paywalled || body.paywall_marker && body.text.chars().count() < 1500;
    // Without a description in the markup, the lead paragraph describes the article (as Readability does).
    let description = found.description.take().or_else(|| lead_paragraph(&body.text));
    Ok(Extraction::Article(Box::new(Article {
        url: page.url.to_string(),
        title,
        published_at,
        language,
        description,
        word_count: body.text.split_whitespace().count() as u32,
        content_hash: fingerprint::content_hash(&body.text),
        simhash: Some(fingerprint::simhash(&body.text)),
        markdown: Some(body.markdown),
        text: body.text,
        paywalled,
        fetched_at: None,
        // The rest as the page's metadata gave it: canonical URL, authors, modified, site, image, tags, section.
        ..found
    })))
}

/// The first paragraph of the text that reads as prose (not a list item or a short heading).
fn lead_paragraph(text: &str) -> Option<String> {
    text.split("\n\n")
        .map(str::trim)
        .find(|p| p.chars().count() >= 80 && !p.starts_with("- ") && p.contains(' '))
        .map(str::to_string)
}

/// Recognises common binary formats (and undecodable noise) that servers label as HTML or not at all.
fn sniff_binary(body: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"%PDF", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"RIFF", "application/octet-stream"),
    ];
    if let Some((_, mime)) = MAGIC.iter().find(|(m, _)| body.starts_with(m)) {
        return Some(mime);
    }
    if encoding_rs::Encoding::for_bom(body).is_some() {
        return None;
    }
    // Control bytes other than whitespace do not occur in text; UTF-16 has NULs, but also a lot of markup.
    let sample = &body[..body.len().min(4096)];
    let control =
        sample.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c) && b != 0).count();
    let zeros = sample.iter().filter(|&&b| b == 0).count();
    let markup = sample.iter().filter(|&&b| b == b'<').count();
    if (control * 10 > sample.len() || zeros * 10 > sample.len() && markup == 0) && markup < 3 {
        return Some("application/octet-stream");
    }
    None
}
