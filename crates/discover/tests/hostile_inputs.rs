//! Every parser of the crate against hostile documents: binary garbage, truncated XML, 100,000-deep
//! nesting and an entity-expansion ("billion laughs") document. None may panic, overflow the stack or
//! expand an entity; each either returns an error or a bounded, harmless result.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use newspipe_discover::{
    CanonicalSettings, DiscoverError, DiscoveryLimits, DocumentKind, RobotsTxt, Sitemap, canonicalize,
    feed_links, parse_feed, parse_sitemap, sniff,
};

const BASE: &str = "https://news.example.com/feed.xml";
const DEPTH: usize = 100_000;

fn garbage(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    let (tag_open, tag_close) = ("<x>", "</x>");
    format!("{open}{}{inner}{}{close}", tag_open.repeat(depth), tag_close.repeat(depth))
}

fn billion_laughs(body: &str) -> String {
    let mut dtd = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..=9 {
        let prev = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
        dtd.push_str(&format!(" <!ENTITY lol{i} \"{}\">\n", format!("&{prev};").repeat(10)));
    }
    dtd.push_str("]>\n");
    dtd + body
}

fn limits() -> DiscoveryLimits {
    DiscoveryLimits::default()
}

#[test]
fn binary_garbage_is_refused_by_every_parser_without_a_panic() {
    for seed in 1..=5 {
        let bytes = garbage(64 * 1024, seed);
        assert!(matches!(parse_feed(&bytes, BASE, &limits()), Err(DiscoverError::MalformedFeed { .. })));
        assert!(parse_sitemap(&bytes, BASE, &limits()).is_err());
        assert_eq!(sniff(&bytes, None), DocumentKind::Unknown);
        assert!(feed_links(&bytes, BASE).is_empty());
        assert!(RobotsTxt::parse(&bytes, "newspipe").allowed("/any"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(canonicalize(&text, &CanonicalSettings::default()).is_err());
    }
}

#[test]
fn garbage_behind_a_gzip_header_is_a_gzip_error() {
    let mut bytes = vec![0x1f, 0x8b, 0x08, 0x00];
    bytes.extend(garbage(4096, 9));
    assert!(matches!(parse_sitemap(&bytes, BASE, &limits()), Err(DiscoverError::Gzip { .. })));
    assert_eq!(sniff(&bytes, None), DocumentKind::Unknown);
}

#[test]
fn truncated_documents_are_errors_not_partial_panics() {
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>A</title>
        <link>https://news.example.com/a</link></item><item><title>B</title><link>https://news.exa"#;
    let sitemap = r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://news.example.com/a</loc></url><url><loc>https://news.ex"#;
    for cut in [1, 10, 40, feed.len()] {
        let _ = parse_feed(&feed.as_bytes()[..cut.min(feed.len())], BASE, &limits());
    }
    assert!(parse_feed(feed.as_bytes(), BASE, &limits()).is_err());
    for cut in 0..=sitemap.len() {
        let result = parse_sitemap(&sitemap.as_bytes()[..cut], BASE, &limits());
        assert!(result.is_err(), "a sitemap cut at byte {cut} must be an error");
    }
    let _ = sniff(&feed.as_bytes()[..20], None);
    assert_eq!(sniff(&feed.as_bytes()[..60], None), DocumentKind::Rss);
    assert!(feed_links(b"<link rel=\"alternate\" type=\"application/rss+xml\" href=\"/f", BASE).is_empty());
}

#[test]
fn a_hundred_thousand_nested_elements_neither_overflow_nor_crash_the_feed_parser() {
    let rss = nested(r#"<rss version="2.0"><channel><title>T</title>"#, "", "</channel></rss>", DEPTH);
    let err = parse_feed(rss.as_bytes(), BASE, &limits()).unwrap_err();
    assert!(err.to_string().contains("nested deeper than"), "{err}");
    let unclosed = format!(r#"<feed xmlns="http://www.w3.org/2005/Atom">{}"#, "<entry>".repeat(DEPTH));
    assert!(parse_feed(unclosed.as_bytes(), BASE, &limits()).is_err());
    let json = format!("{{\"version\": \"https://jsonfeed.org/version/1\", \"items\": {}", "[".repeat(DEPTH));
    assert!(parse_feed(json.as_bytes(), BASE, &limits()).is_err());
}

#[test]
fn a_hundred_thousand_nested_elements_are_streamed_through_by_the_sitemap_parser() {
    let deep = nested(
        r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://news.example.com/a</loc>"#,
        "",
        "</url></urlset>",
        DEPTH,
    );
    let parsed = parse_sitemap(deep.as_bytes(), BASE, &limits()).unwrap();
    assert_eq!(
        parsed.sitemap,
        Sitemap::UrlSet(vec![newspipe_discover::DiscoveredUrl {
            url: "https://news.example.com/a".into(),
            title: None,
            published_at: None
        }])
    );
    let unclosed = format!("<urlset>{}", "<url>".repeat(DEPTH));
    assert!(matches!(
        parse_sitemap(unclosed.as_bytes(), BASE, &limits()),
        Err(DiscoverError::MalformedSitemap { .. })
    ));
    assert_eq!(sniff(deep.as_bytes(), None), DocumentKind::SitemapUrlSet);
}

#[test]
fn a_hundred_thousand_nested_elements_do_not_trouble_the_page_scanner() {
    let page = nested(
        "<html><head>",
        r#"<link rel="alternate" type="application/rss+xml" href="/deep.xml">"#,
        "</head></html>",
        DEPTH,
    );
    assert_eq!(feed_links(page.as_bytes(), BASE), ["https://news.example.com/deep.xml"]);
}

#[test]
fn billion_laughs_entities_are_not_expanded_in_sitemaps() {
    let doc = billion_laughs(
        r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
          <url><loc>https://news.example.com/lol</loc><news:news><news:title>&lol9;</news:title></news:news></url>
        </urlset>"#,
    );
    let parsed = parse_sitemap(doc.as_bytes(), BASE, &limits()).unwrap();
    let Sitemap::UrlSet(urls) = parsed.sitemap else { panic!("expected a urlset") };
    assert_eq!(urls.len(), 1);
    assert_eq!(urls[0].title.as_deref(), Some("&lol9;"), "the custom entity must stay as written");
}

#[test]
fn billion_laughs_entities_are_not_expanded_in_feeds() {
    let doc = billion_laughs(
        r#"<rss version="2.0"><channel><title>&lol9;</title>
          <item><title>&lol9;</title><link>https://news.example.com/lol</link></item></channel></rss>"#,
    );
    let found = parse_feed(doc.as_bytes(), BASE, &limits()).unwrap();
    assert_eq!(found.urls.len(), 1);
    assert_eq!(found.urls[0].title.as_deref(), Some("&lol9;"), "the custom entity must stay as written");
    assert_eq!(sniff(doc.as_bytes(), None), DocumentKind::Rss);
}

#[test]
fn billion_laughs_in_a_page_or_robots_txt_is_inert() {
    let doc = billion_laughs(
        r#"<html><head><link rel="alternate" type="application/rss+xml" href="/f&lol9;.xml"></head></html>"#,
    );
    let links = feed_links(doc.as_bytes(), BASE);
    assert!(links.iter().all(|l| l.len() < 100), "{links:?}");
    let robots = RobotsTxt::parse(doc.as_bytes(), "newspipe");
    assert!(robots.allowed("/anything"));
}
