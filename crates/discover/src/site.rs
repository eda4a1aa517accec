//! Finding a site's feeds: `<link rel="alternate">` feed links in a page, and the common feed and sitemap
//! paths to try when a page names none.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, StartTag, Tag, TagToken, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use url::Url;

use crate::feed::resolve;

/// Paths where sites commonly serve a feed, tried (against the site's root) when a page names none.
pub const COMMON_FEED_PATHS: &[&str] = &["/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml"];

/// Paths where sites commonly serve a sitemap, tried besides the `Sitemap:` lines of robots.txt.
pub const COMMON_SITEMAP_PATHS: &[&str] = &["/sitemap.xml", "/news-sitemap.xml", "/sitemap_index.xml"];

/// The most of a page that [`feed_links`] reads (feed links live in `<head>`).
pub const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// The most feed links that [`feed_links`] returns.
pub const MAX_FEED_LINKS: usize = 32;

const FEED_TYPES: &[&str] = &["application/rss+xml", "application/atom+xml", "application/feed+json"];

/// The feeds a page announces with `<link rel="alternate" type="application/rss+xml|atom+xml|feed+json"
/// href="...">`, as absolute http(s) URLs in page order, without duplicates.
///
/// Relative hrefs are resolved against the page's first `<base href>` (itself resolved against
/// `base_url`) or else `base_url`; an invalid `base_url` leaves only absolute hrefs. `rel` is a
/// space-separated token list and `type` may carry parameters (`; charset=utf-8`); both are matched
/// without regard to case. The bytes are read as UTF-8 (invalid sequences replaced), at most
/// [`MAX_PAGE_BYTES`] of them, and at most [`MAX_FEED_LINKS`] links are returned. Script, style and
/// comment contents are not taken for markup.
pub fn feed_links(html: &[u8], base_url: &str) -> Vec<String> {
    let html = &html[..html.len().min(MAX_PAGE_BYTES)];
    let text = String::from_utf8_lossy(html);
    let sink = LinkSink::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(&text));
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    let state = tokenizer.sink.state.into_inner();

    let page_base = Url::parse(base_url.trim()).ok();
    let base = match (&page_base, &state.base_href) {
        (Some(page), Some(href)) => page.join(href).ok().or_else(|| page_base.clone()),
        (None, Some(href)) => Url::parse(href).ok(),
        (page, None) => page.clone(),
    };
    let mut links: Vec<String> = Vec::new();
    for href in &state.hrefs {
        let resolved = match &base {
            Some(base) => resolve(href, base),
            None => Url::parse(href.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(Into::into),
        };
        if let Some(url) = resolved
            && !links.contains(&url)
        {
            links.push(url);
            if links.len() == MAX_FEED_LINKS {
                break;
            }
        }
    }
    links
}

#[derive(Default)]
struct LinkState {
    base_href: Option<String>,
    hrefs: Vec<String>,
}

#[derive(Default)]
struct LinkSink {
    state: RefCell<LinkState>,
}

impl LinkSink {
    fn start_tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let attr =
            |name: &str| tag.attrs.iter().find(|a| &*a.name.local == name).map(|a| a.value.to_string());
        match &*tag.name {
            "link" => {
                let mut state = self.state.borrow_mut();
                // Collect a few more than returned: some may be duplicates or unusable.
                if state.hrefs.len() >= MAX_FEED_LINKS * 4 {
                    return TokenSinkResult::Continue;
                }
                let is_alternate = attr("rel").is_some_and(|rel| {
                    rel.split_ascii_whitespace().any(|t| t.eq_ignore_ascii_case("alternate"))
                });
                let is_feed = attr("type").is_some_and(|ty| {
                    let essence = ty.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                    FEED_TYPES.contains(&essence.as_str())
                });
                if is_alternate
                    && is_feed
                    && let Some(href) = attr("href")
                {
                    state.hrefs.push(href);
                }
                TokenSinkResult::Continue
            }
            "base" => {
                let mut state = self.state.borrow_mut();
                if state.base_href.is_none() {
                    state.base_href = attr("href").filter(|h| !h.trim().is_empty());
                }
                TokenSinkResult::Continue
            }
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => TokenSinkResult::RawData(RawKind::Rawtext),
            "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            "plaintext" => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        }
    }
}

impl TokenSink for LinkSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        match token {
            TagToken(tag) if tag.kind == StartTag => self.start_tag(&tag),
            _ => TokenSinkResult::Continue,
        }
    }
}
