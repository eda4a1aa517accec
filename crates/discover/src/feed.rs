//! Feeds (RSS 0.9x, 1.0 and 2.0, Atom, JSON Feed) into their item URLs, parsed by `feed-rs`.
//!
//! Each item gives one [`DiscoveredUrl`]: its link (the first `alternate` or rel-less link that is not a
//! comments link, resolved against `xml:base` and the feed's own URL; in RSS, an absolute http(s)
//! `<guid>` when there is no link), its title (markup removed, spaces collapsed) and its date
//! (`published`, else `updated`). Items without a usable http(s) link are skipped;
//! an item link already seen in the same feed is skipped too. At most
//! [`DiscoveryLimits::max_urls_per_document`] URLs are returned; [`Discovered::truncated`] says whether the
//! feed had more.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use feed_rs::model::{Entry, FeedType, Link, Text};
use url::Url;

use crate::{DiscoverError, Discovered, DiscoveredUrl, DiscoveryLimits, excerpt, title_hint};

/// The most levels of XML element nesting a feed may have. Real feeds have fewer than 10; the limit keeps
/// hostile documents (100,000 nested elements) away from the feed parser.
pub const MAX_FEED_DEPTH: usize = 256;

/// Parses a feed fetched from `base_url` (the URL after redirects) into its item URLs.
///
/// `bytes` is the raw body (feed-rs decodes it according to the XML prolog's encoding); a gzip-compressed
/// body (magic bytes) is decompressed first, up to [`DiscoveryLimits::max_decompressed_bytes`].
/// Errors: [`DiscoverError::InvalidBaseUrl`] when `base_url` is not an absolute URL,
/// [`DiscoverError::MalformedFeed`] (with the parser's message) when the document is no feed,
/// [`DiscoverError::Gzip`] and [`DiscoverError::DecompressedTooLarge`] for compressed bodies.
pub fn parse_feed(
    bytes: &[u8],
    base_url: &str,
    limits: &DiscoveryLimits,
) -> Result<Discovered, DiscoverError> {
    let base = parse_base(base_url)?;
    let malformed = |message: String| DiscoverError::MalformedFeed { base_url: excerpt(base_url), message };
    let inflated;
    let bytes = if bytes.starts_with(&crate::sitemap::GZIP_MAGIC) {
        inflated = crate::sitemap::gunzip(bytes, base_url, limits.max_decompressed_bytes)?;
        &inflated[..]
    } else {
        bytes
    };

    if let Some(depth) = crate::sitemap::xml_depth_exceeds(bytes, MAX_FEED_DEPTH) {
        return Err(malformed(format!("elements nested deeper than {depth} levels")));
    }
    let parser = feed_rs::parser::Builder::new().base_uri(Some(base.as_str())).build();
    // feed-rs is not expected to panic, but a feed is hostile input: a panic becomes a malformed feed.
    let feed = catch_unwind(AssertUnwindSafe(|| parser.parse(bytes)))
        .map_err(|_| malformed("the feed parser failed on this document".to_string()))?
        .map_err(|e| malformed(e.to_string()))?;

    let mut discovered = Discovered::default();
    let mut seen = HashSet::new();
    for entry in &feed.entries {
        let guid_is_link = matches!(feed.feed_type, FeedType::RSS0 | FeedType::RSS2);
        let Some(url) = entry_url(entry, &base, guid_is_link) else { continue };
        if !seen.insert(url.clone()) {
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

fn entry_url(entry: &Entry, base: &Url, guid_is_link: bool) -> Option<String> {
    // An empty href resolves to the feed itself (feed-rs resolves it against the base first): never an item.
    let link = entry
        .links
        .iter()
        .filter(|link| is_article_link(link))
        .filter_map(|link| resolve(&link.href, base))
        .find(|url| url != base.as_str());
    // RSS 2.0: an item may have only a `<guid>`, which is its permalink unless it says otherwise; feed-rs
    // keeps no isPermaLink flag, so an absolute http(s) guid stands in for a missing link.
    link.or_else(|| {
        guid_is_link
            .then(|| Url::parse(entry.id.trim()).ok())
            .flatten()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .map(String::from)
    })
}

fn is_article_link(link: &Link) -> bool {
    link.target.is_none()
        && link
            .rel
            .as_deref()
            .is_none_or(|rel| rel.trim().is_empty() || rel.trim().eq_ignore_ascii_case("alternate"))
}

/// A title as plain text: markup of HTML titles removed, whitespace collapsed, bounded; `None` when empty.
fn plain_text(text: &Text) -> Option<String> {
    let is_html = text.content_type.to_string().contains("html");
    if is_html { title_hint(&strip_tags(&text.content)) } else { title_hint(&text.content) }
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    const BASE: &str = "https://news.example.com/feeds/world.xml";

    fn parse(xml: &str) -> Discovered {
        parse_feed(xml.as_bytes(), BASE, &DiscoveryLimits::default()).unwrap()
    }

    fn urls(discovered: &Discovered) -> Vec<&str> {
        discovered.urls.iter().map(|u| u.url.as_str()).collect()
    }

    #[test]
    fn rss2_items_become_urls_with_titles_and_dates() {
        let found = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <rss version="2.0"><channel><title>World</title><link>https://news.example.com/</link>
              <item><title>Floods in the north</title><link>https://news.example.com/world/floods</link>
                <pubDate>Tue, 05 Mar 2024 10:30:00 +0100</pubDate><guid>a1</guid></item>
              <item><title>Second &amp; last</title><link>https://news.example.com/world/second</link></item>
            </channel></rss>"#,
        );
        assert!(!found.truncated);
        assert_eq!(
            found.urls,
            vec![
                DiscoveredUrl {
                    url: "https://news.example.com/world/floods".into(),
                    title: Some("Floods in the north".into()),
                    published_at: Some(Utc.with_ymd_and_hms(2024, 3, 5, 9, 30, 0).unwrap()),
                },
                DiscoveredUrl {
                    url: "https://news.example.com/world/second".into(),
                    title: Some("Second & last".into()),
                    published_at: None,
                },
            ]
        );
    }

    #[test]
    fn rss_0_91_items_are_read() {
        let found = parse(
            r#"<rss version="0.91"><channel><title>Old</title><link>https://news.example.com/</link>
              <item><title>Legacy story</title><link>https://news.example.com/legacy</link></item>
            </channel></rss>"#,
        );
        assert_eq!(urls(&found), ["https://news.example.com/legacy"]);
        assert_eq!(found.urls[0].title.as_deref(), Some("Legacy story"));
    }

    #[test]
    fn rss_1_0_rdf_items_are_read_with_their_dublin_core_date() {
        let found = parse(
            r#"<?xml version="1.0"?>
            <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
                     xmlns:dc="http://purl.org/dc/elements/1.1/">
              <channel rdf:about="https://news.example.com/"><title>RDF</title><link>https://news.example.com/</link></channel>
              <item rdf:about="https://news.example.com/rdf-story"><title>RDF story</title>
                <link>https://news.example.com/rdf-story</link><dc:date>2024-01-02T03:04:05Z</dc:date></item>
            </rdf:RDF>"#,
        );
        assert_eq!(urls(&found), ["https://news.example.com/rdf-story"]);
        assert_eq!(found.urls[0].title.as_deref(), Some("RDF story"));
        assert_eq!(found.urls[0].published_at, Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()));
    }

    #[test]
    fn atom_entries_use_their_alternate_link_and_published_before_updated() {
        let found = parse(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:x</id>
                <updated>2024-05-01T00:00:00Z</updated>
              <entry><title>First</title><id>urn:1</id>
                <link rel="self" href="https://news.example.com/api/1"/>
                <link rel="replies" href="https://news.example.com/1/comments"/>
                <link rel="alternate" type="text/html" href="https://news.example.com/first"/>
                <published>2024-04-30T08:00:00Z</published><updated>2024-05-01T09:00:00Z</updated></entry>
              <entry><title>Second</title><id>urn:2</id><link href="https://news.example.com/second"/>
                <updated>2024-05-01T10:00:00+02:00</updated></entry>
            </feed>"#,
        );
        assert_eq!(urls(&found), ["https://news.example.com/first", "https://news.example.com/second"]);
        assert_eq!(found.urls[0].published_at, Some(Utc.with_ymd_and_hms(2024, 4, 30, 8, 0, 0).unwrap()));
        assert_eq!(found.urls[1].published_at, Some(Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap()));
    }

    #[test]
    fn json_feed_items_use_url_title_and_date_published() {
        let found = parse(
            r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J",
                "items": [
                  {"id": "1", "url": "https://news.example.com/j1", "title": "Json one",
                   "date_published": "2024-02-03T04:05:06Z"},
                  {"id": "2", "content_text": "no url here"},
                  {"id": "3", "url": "/j3"}
                ]}"#,
        );
        assert_eq!(urls(&found), ["https://news.example.com/j1", "https://news.example.com/j3"]);
        assert_eq!(found.urls[0].title.as_deref(), Some("Json one"));
        assert_eq!(found.urls[0].published_at, Some(Utc.with_ymd_and_hms(2024, 2, 3, 4, 5, 6).unwrap()));
    }

    #[test]
    fn relative_links_are_resolved_against_the_feed_url_and_xml_base() {
        let rss = parse(
            r#"<rss version="2.0"><channel><title>R</title>
              <item><title>a</title><link>../world/relative</link></item>
              <item><title>b</title><link>/root-relative</link></item>
            </channel></rss>"#,
        );
        assert_eq!(
            urls(&rss),
            ["https://news.example.com/world/relative", "https://news.example.com/root-relative"]
        );
        let atom = parse(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://other.example.org/blog/"><title>A</title>
              <id>urn:x</id><entry><title>e</title><id>urn:e</id><link href="posts/e"/></entry></feed>"#,
        );
        assert_eq!(urls(&atom), ["https://other.example.org/blog/posts/e"]);
    }

    #[test]
    fn items_without_a_usable_link_are_skipped() {
        let found = parse(
            r#"<rss version="2.0"><channel><title>R</title>
              <item><title>no link</title><description>x</description></item>
              <item><title>script</title><link>javascript:alert(1)</link></item>
              <item><title>mail</title><link>mailto:desk@example.com</link></item>
              <item><title>empty</title><link>   </link></item>
              <item><title>good</title><link>https://news.example.com/good</link></item>
            </channel></rss>"#,
        );
        assert_eq!(urls(&found), ["https://news.example.com/good"]);
    }

    #[test]
    fn an_rss_item_with_only_a_permalink_guid_uses_the_guid() {
        let found = parse(
            r#"<rss version="2.0"><channel><title>R</title>
              <item><title>guid only</title><guid>https://news.example.com/by-guid</guid></item>
              <item><title>opaque guid</title><guid isPermaLink="false">tag:example.com,2024:7</guid></item>
              <item><title>both</title><link>https://news.example.com/by-link</link>
                <guid>https://news.example.com/other</guid></item>
            </channel></rss>"#,
        );
        assert_eq!(urls(&found), ["https://news.example.com/by-guid", "https://news.example.com/by-link"]);
        let atom = parse(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:x</id>
              <entry><title>e</title><id>https://news.example.com/atom-id</id></entry></feed>"#,
        );
        assert!(atom.urls.is_empty(), "an Atom id is not a link");
    }

    #[test]
    fn the_number_of_urls_is_bounded_and_the_truncation_reported() {
        let items: String = (0..10)
            .map(|i| format!("<item><title>{i}</title><link>https://news.example.com/{i}</link></item>"))
            .collect();
        let xml = format!(r#"<rss version="2.0"><channel><title>R</title>{items}</channel></rss>"#);
        let limits = DiscoveryLimits { max_urls_per_document: 3, ..DiscoveryLimits::default() };
        let found = parse_feed(xml.as_bytes(), BASE, &limits).unwrap();
        assert!(found.truncated);
        assert_eq!(
            urls(&found),
            ["https://news.example.com/0", "https://news.example.com/1", "https://news.example.com/2"]
        );
        let exact = DiscoveryLimits { max_urls_per_document: 10, ..DiscoveryLimits::default() };
        let found = parse_feed(xml.as_bytes(), BASE, &exact).unwrap();
        assert!(!found.truncated);
        assert_eq!(found.urls.len(), 10);
    }

    #[test]
    fn a_feed_longer_than_the_default_limit_is_cut_at_fifty_thousand_items() {
        let mut xml = String::from(r#"<rss version="2.0"><channel><title>R</title>"#);
        for i in 0..50_001 {
            xml.push_str(&format!("<item><link>https://news.example.com/{i}</link></item>"));
        }
        xml.push_str("</channel></rss>");
        let found = parse(&xml);
        assert!(found.truncated);
        assert_eq!(found.urls.len(), 50_000);
        assert_eq!(found.urls[49_999].url, "https://news.example.com/49999");
    }

    #[test]
    fn an_item_link_repeated_in_the_same_feed_is_kept_once() {
        let found = parse(
            r#"<rss version="2.0"><channel><title>R</title>
              <item><title>first</title><link>https://news.example.com/same</link></item>
              <item><title>again</title><link>https://news.example.com/same</link></item>
            </channel></rss>"#,
        );
        assert_eq!(found.urls.len(), 1);
        assert_eq!(found.urls[0].title.as_deref(), Some("first"));
    }

    #[test]
    fn html_titles_lose_their_markup_and_extra_whitespace() {
        let found = parse(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:x</id>
              <entry><id>urn:1</id><title type="html">&lt;b&gt;Bold&lt;/b&gt;
                  news   &amp;amp; more</title><link href="https://news.example.com/1"/></entry>
              <entry><id>urn:2</id><title>   </title><link href="https://news.example.com/2"/></entry>
            </feed>"#,
        );
        assert_eq!(found.urls[0].title.as_deref(), Some("Bold news & more"));
        assert_eq!(found.urls[1].title, None);
    }

    #[test]
    fn a_malformed_feed_is_an_error_carrying_the_parsers_message_and_the_url() {
        for doc in ["<html><body>not a feed</body></html>", "plain text", "", "{\"not\": \"a feed\"}"] {
            let err = parse_feed(doc.as_bytes(), BASE, &DiscoveryLimits::default()).unwrap_err();
            let DiscoverError::MalformedFeed { base_url, message } = &err else { panic!("{err:?}") };
            assert_eq!(base_url, BASE);
            assert!(!message.is_empty());
            assert!(err.to_string().contains(BASE), "{err}");
        }
    }

    #[test]
    fn a_gzip_compressed_feed_is_decompressed_within_the_limit() {
        use std::io::Write;
        let gzip = |bytes: &[u8]| {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        };
        let xml = r#"<rss version="2.0"><channel><title>R</title>
            <item><title>zipped</title><link>https://news.example.com/zipped</link></item></channel></rss>"#;
        let found = parse_feed(&gzip(xml.as_bytes()), BASE, &DiscoveryLimits::default()).unwrap();
        assert_eq!(urls(&found), ["https://news.example.com/zipped"]);
        let small = DiscoveryLimits { max_decompressed_bytes: 1024, ..DiscoveryLimits::default() };
        let err = parse_feed(&gzip(&vec![b' '; 4096]), BASE, &small).unwrap_err();
        assert_eq!(err, DiscoverError::DecompressedTooLarge { base_url: BASE.into(), limit: 1024 });
    }

    #[test]
    fn an_invalid_base_url_is_an_error_naming_it() {
        let err =
            parse_feed(b"<rss version=\"2.0\"></rss>", "not a url", &DiscoveryLimits::default()).unwrap_err();
        assert!(matches!(err, DiscoverError::InvalidBaseUrl { ref base_url, .. } if base_url == "not a url"));
    }
}
