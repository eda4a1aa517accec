//! Page bytes in, an article (or a reasoned skip) out. The extractor worker and the `newspipe extract`
//! command both call [`extract`]; the only I/O is in [`files`], for the command line.
//!
//! The public API is [`extract`] with [`Page`], [`Options`], [`Extraction`] and [`ExtractError`], and
//! [`files`]. The stages before and beside it are public for the crate's examples (`bench`, `eval`,
//! `tree`), which run them one at a time: [`charset::decode`] (bytes to text), [`dom::parse`] (the
//! bounded arena tree, built from `newspipe-html`'s tokenizer), [`extract_metadata`] and [`parse_date`].
//! They are not used elsewhere in the workspace and may change with the extractor.
//!
//! Inside, three rooms: `metadata` (JSON-LD, titles, authors, dates, Open Graph and meta), `content` (the
//! body: signals, scoring, rendering as text and Markdown), and the page-level parts (`language`,
//! `fingerprint`, `page_type`).

use std::time::{Duration, Instant};

use newspipe_models::{Article, FeedHints, SkipReason};

pub mod charset;
mod content;
pub mod dom;
pub mod files;
mod fingerprint;
mod language;
mod metadata;
mod page_type;
mod util;

pub use metadata::dates::parse::parse_date;
pub use metadata::{Metadata, extract_metadata};

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
