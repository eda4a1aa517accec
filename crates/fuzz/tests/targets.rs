//! Each target feeds arbitrary bytes to one parser. The property is the same everywhere: it returns (an
//! answer or an error) and never panics, hangs or runs away with memory.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bolero::check;

#[test]
fn extract_any_page_bytes() {
    let options = newspipe_extract::Options { max_bytes: 1 << 20, time_budget: Duration::from_secs(2) };
    check!().for_each(|bytes: &[u8]| {
        let page = newspipe_extract::Page::new(bytes, "https://news.example/2024/03/05/a-story");
        let _ = newspipe_extract::extract(&page, &options);
    });
}

#[test]
fn extract_any_page_bytes_under_any_content_type() {
    let options = newspipe_extract::Options::default();
    check!().with_type::<(String, Vec<u8>)>().for_each(|(content_type, bytes)| {
        let mut page = newspipe_extract::Page::new(bytes, "https://news.example/");
        page.content_type = Some(content_type);
        let _ = newspipe_extract::extract(&page, &options);
    });
}

#[test]
fn decode_any_message_on_any_queue() {
    check!().for_each(|bytes: &[u8]| {
        let _ = newspipe_models::decode_json::<newspipe_models::FetchJob>(bytes);
        let _ = newspipe_models::decode_json::<newspipe_models::StoreRequest>(bytes);
        let _ = newspipe_models::decode_page(bytes);
    });
}

#[test]
fn canonicalize_any_url() {
    let settings = newspipe_discover::CanonicalSettings::default();
    check!().with_type::<String>().for_each(|url| {
        if let Ok(canonical) = newspipe_discover::canonicalize(url, &settings) {
            // Canonicalising is idempotent.
            let again =
                newspipe_discover::canonicalize(&canonical.url, &settings).expect("a canonical URL parses");
            assert_eq!(again.url, canonical.url);
        }
    });
}

#[test]
fn parse_any_feed_or_sitemap() {
    let limits = newspipe_discover::DiscoveryLimits {
        max_urls_per_document: 1_000,
        max_sitemap_depth: 3,
        max_decompressed_bytes: 1 << 20,
    };
    check!().for_each(|bytes: &[u8]| {
        let _ = newspipe_discover::sniff(bytes, None);
        let _ = newspipe_discover::parse_feed(bytes, "https://news.example/feed", &limits);
        let _ = newspipe_discover::parse_sitemap(bytes, "https://news.example/sitemap.xml", &limits);
        let _ = newspipe_discover::feed_links(bytes, "https://news.example/");
    });
}

#[test]
fn parse_any_robots_txt() {
    check!().for_each(|bytes: &[u8]| {
        let robots = newspipe_discover::RobotsTxt::parse(bytes, "newspipe/0.1");
        let _ = robots.allowed("https://news.example/a/b?c=d");
        let _ = robots.crawl_delay();
        let _ = robots.sitemaps();
    });
}
