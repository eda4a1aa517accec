//! Pure, I/O-free discovery libraries of newspipe.
//!
//! Nothing here opens a socket or a file: every function takes bytes that the caller fetched (with its own
//! limits on size and time) and returns plain data. The fetcher worker and the CLI wire them together.
//!
//! - [`canonical`]: URL canonicalisation (the key for "never fetch the same article twice").
//! - [`feed`]: RSS 0.9x/1.0/2.0, Atom and JSON Feed into item URLs with title and date hints.
//! - [`sitemap`]: sitemap indexes, urlsets (plain or gzip-compressed) and Google News sitemaps, streamed;
//!   [`sniff`] tells which kind of document a response is.
//! - [`robots`]: robots.txt for our user agent.
//! - [`site`]: feed links in an HTML page and the common feed and sitemap paths of a site.
//! - [`walk`]: following sitemap indexes, once each and no deeper than the limit.
//!
//! Every parser is bounded by [`DiscoveryLimits`] and never panics, whatever the input.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod canonical;
mod error;
pub mod feed;
mod limits;
pub mod robots;
pub mod site;
pub mod sitemap;
pub mod walk;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use canonical::{Canonical, CanonicalError, CanonicalSettings, canonicalize};
pub use error::DiscoverError;
pub use feed::parse_feed;
pub use limits::DiscoveryLimits;
pub use robots::RobotsTxt;
pub use site::{COMMON_FEED_PATHS, COMMON_SITEMAP_PATHS, SiteCandidates, feed_links, site_candidates};
pub use sitemap::{DocumentKind, ParsedSitemap, Sitemap, filter_since, parse_sitemap, sniff};
pub use walk::{SitemapVisit, SitemapWalk};

/// One article URL found in a feed or a sitemap, with the document's own metadata as hints for the
/// extractor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredUrl {
    /// Absolute URL (resolved against the document's URL). Not canonicalised: the caller canonicalises
    /// before queueing, keeping this as the original.
    pub url: String,
    /// The item's title as the feed or the Google News sitemap gives it (markup removed, whitespace
    /// collapsed, at most [`MAX_TITLE_BYTES`]).
    pub title: Option<String>,
    /// The item's publication date (feeds: `published`, else `updated`; sitemaps:
    /// `news:publication_date`, else `lastmod`).
    pub published_at: Option<DateTime<Utc>>,
}

/// The URLs of one feed (or urlset), and whether [`DiscoveryLimits::max_urls_per_document`] cut the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovered {
    /// The URLs, in document order, at most `max_urls_per_document` of them.
    pub urls: Vec<DiscoveredUrl>,
    /// True when the document had more entries than `max_urls_per_document`; the rest were not read.
    pub truncated: bool,
}

/// The longest title hint kept, in bytes (longer titles are cut at a character boundary).
pub const MAX_TITLE_BYTES: usize = 1024;

/// A title hint: whitespace collapsed, at most [`MAX_TITLE_BYTES`]; `None` when empty.
pub(crate) fn title_hint(text: &str) -> Option<String> {
    let mut collapsed = String::new();
    for word in text.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
        if collapsed.len() > MAX_TITLE_BYTES {
            let mut end = MAX_TITLE_BYTES;
            while !collapsed.is_char_boundary(end) {
                end -= 1;
            }
            collapsed.truncate(end);
            break;
        }
    }
    (!collapsed.is_empty()).then_some(collapsed)
}

/// A short, printable excerpt of an input for error messages (inputs may be huge or hostile).
pub(crate) fn excerpt(input: &str) -> String {
    const MAX: usize = 256;
    if input.len() <= MAX {
        return input.to_string();
    }
    let mut end = MAX;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &input[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_hints_are_collapsed_and_bounded() {
        assert_eq!(title_hint("  Floods \n in\tthe   north "), Some("Floods in the north".to_string()));
        assert_eq!(title_hint(" \n "), None);
        let long = "é".repeat(5_000);
        let hint = title_hint(&long).unwrap();
        assert!(hint.len() <= MAX_TITLE_BYTES && hint.len() >= MAX_TITLE_BYTES - 1);
        assert!(hint.chars().all(|c| c == 'é'));
    }

    #[test]
    fn error_excerpts_are_short_and_cut_at_a_character_boundary() {
        assert_eq!(excerpt("short"), "short");
        let cut = excerpt(&"ü".repeat(1_000));
        assert!(cut.len() < 300 && cut.ends_with('…'));
    }
}
