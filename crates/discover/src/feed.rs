//! Feeds (RSS 0.9x, 1.0 and 2.0, Atom, JSON Feed) into their item URLs, parsed by `feed-rs`.
//!
//! Each item gives one [`DiscoveredUrl`]: its link (the first `alternate` or rel-less link that is not a
//! comments link, resolved against `xml:base` and the feed's own URL), its title (markup removed, spaces
//! collapsed) and its date (`published`, else `updated`). Items without a usable http(s) link are skipped;
//! an item link already seen in the same feed is skipped too. At most
//! [`DiscoveryLimits::max_urls_per_document`] URLs are returned; [`Discovered::truncated`] says whether the
//! feed had more.

use std::panic::{AssertUnwindSafe, catch_unwind};

use feed_rs::model::{Entry, Link, Text};
use url::Url;

use crate::{DiscoverError, Discovered, DiscoveredUrl, DiscoveryLimits, excerpt};

/// The most levels of XML element nesting a feed may have. Real feeds have fewer than 10; the limit keeps
/// hostile documents (100,000 nested elements) away from the feed parser.
pub const MAX_FEED_DEPTH: usize = 256;

/// Parses a feed fetched from `base_url` (the URL after redirects) into its item URLs.
///
/// `bytes` is the raw body (feed-rs decodes it according to the XML prolog's encoding).
/// Errors: [`DiscoverError::InvalidBaseUrl`] when `base_url` is not an absolute URL,
/// [`DiscoverError::MalformedFeed`] (with the parser's message) when the document is no feed.
pub fn parse_feed(
    bytes: &[u8],
    base_url: &str,
    limits: &DiscoveryLimits,
) -> Result<Discovered, DiscoverError> {
    let base = parse_base(base_url)?;
    let malformed = |message: String| DiscoverError::MalformedFeed { base_url: excerpt(base_url), message };

    if let Some(depth) = crate::sitemap::xml_depth_exceeds(bytes, MAX_FEED_DEPTH) {
        return Err(malformed(format!("elements nested deeper than {depth} levels")));
    }
    let parser = feed_rs::parser::Builder::new().base_uri(Some(base.as_str())).build();
    // feed-rs is not expected to panic, but a feed is hostile input: a panic becomes a malformed feed.
    let feed = catch_unwind(AssertUnwindSafe(|| parser.parse(bytes)))
        .map_err(|_| malformed("the feed parser failed on this document".to_string()))?
        .map_err(|e| malformed(e.to_string()))?;

    let mut discovered = Discovered::default();
    for entry in &feed.entries {
        let Some(url) = entry_url(entry, &base) else { continue };
        if discovered.urls.iter().any(|d| d.url == url) {
            continue;
        }
        if discovered.urls.len() >= limits.max_urls_per_document {
            discovered.truncated = true;
            break;
        }
        discovered.urls.push(DiscoveredUrl {
            url,
            title: entry.title.as_ref().and_then(plain_text),
            published_at: entry.published.or(entry.updated),
        });
    }
    Ok(discovered)
}

pub(crate) fn parse_base(base_url: &str) -> Result<Url, DiscoverError> {
    Url::parse(base_url.trim())
        .map_err(|e| DiscoverError::InvalidBaseUrl { base_url: excerpt(base_url), reason: e.to_string() })
}

/// Resolves `href` against `base`, keeping only http(s) URLs.
pub(crate) fn resolve(href: &str, base: &Url) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = base.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.into())
}

fn entry_url(entry: &Entry, base: &Url) -> Option<String> {
    entry.links.iter().filter(|link| is_article_link(link)).find_map(|link| resolve(&link.href, base))
}

fn is_article_link(link: &Link) -> bool {
    link.target.is_none()
        && link
            .rel
            .as_deref()
            .is_none_or(|rel| rel.trim().is_empty() || rel.trim().eq_ignore_ascii_case("alternate"))
}

/// A title as plain text: markup of HTML titles removed, whitespace collapsed; `None` when empty.
fn plain_text(text: &Text) -> Option<String> {
    let is_html = text.content_type.to_string().contains("html");
    let raw = if is_html { strip_tags(&text.content) } else { text.content.clone() };
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    for (entity, replacement) in
        [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&nbsp;", " ")]
    {
        out = out.replace(entity, replacement);
    }
    out.replace("&amp;", "&")
}
