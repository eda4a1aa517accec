//! Page bytes in, an article (or a reasoned skip) out. No I/O: the extractor worker and the `newspipe extract`
//! command both call [`extract`].

use std::time::Duration;

use newspipe_models::{Article, FeedHints};

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
    /// Not an article; the reason is short and stable (`not html: image/png`, `empty`, `listing page`...).
    Skipped(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("page of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("extraction took longer than its budget of {0:?}")]
    TimeBudget(Duration),
}

/// Extracts the article from a page. Never panics on any input; bounded in time and memory.
pub fn extract(page: &Page<'_>, options: &Options) -> Result<Extraction, ExtractError> {
    if page.body.len() > options.max_bytes {
        return Err(ExtractError::TooLarge { size: page.body.len(), limit: options.max_bytes });
    }
    if let Some(ct) = page.content_type {
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !mime.is_empty() && mime != "text/html" && mime != "application/xhtml+xml" {
            return Ok(Extraction::Skipped(format!("not html: {mime}")));
        }
    }
    let html = String::from_utf8_lossy(page.body);
    let title = between(&html, "<title>", "</title>").map(|t| t.trim().to_string());
    let text: Vec<String> = html
        .split("<p>")
        .skip(1)
        .filter_map(|chunk| chunk.split("</p>").next())
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if text.is_empty() {
        return Ok(Extraction::Skipped("empty".into()));
    }
    let text = text.join("\n\n");
    Ok(Extraction::Article(Box::new(Article {
        url: page.url.to_string(),
        title,
        word_count: text.split_whitespace().count() as u32,
        text,
        ..Article::default()
    })))
}

fn between<'h>(haystack: &'h str, start: &str, end: &str) -> Option<&'h str> {
    let from = haystack.find(start)? + start.len();
    let to = haystack[from..].find(end)? + from;
    Some(&haystack[from..to])
}
