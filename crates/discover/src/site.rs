//! Finding a site's feeds: `<link rel="alternate">` feed links in a page, and the common feed and sitemap
//! paths to try when a page names none.

use newspipe_html::{Content, StartTag, Token, Tokenizer};
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
    let mut state = LinkState::default();
    let mut tokens = Tokenizer::with_content_rule(&text, content_of);
    while let Some(token) = tokens.next_token() {
        // A tag cut off by the end of the input is no tag (as the spec has it).
        if let Token::StartTag(tag) = token
            && tag.complete
        {
            state.start_tag(&tag);
        }
    }

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

/// Where to look for a site's feeds and sitemaps (`newspipe submit --site URL`), in the order to try them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteCandidates {
    /// The feeds the home page announces, then [`COMMON_FEED_PATHS`] at the site's root.
    pub feeds: Vec<String>,
    /// robots.txt's `Sitemap:` lines, then [`COMMON_SITEMAP_PATHS`] at the site's root.
    pub sitemaps: Vec<String>,
}

/// Builds the candidate feed and sitemap URLs of the site of `site_url` from what was found on its home
/// page ([`feed_links`]) and in its robots.txt ([`RobotsTxt::sitemaps`](crate::RobotsTxt::sitemaps)). Every
/// URL is absolute http(s) (relative robots.txt lines are resolved against the site's root) and listed
/// once. An invalid `site_url` gives only the absolute URLs of the two lists.
pub fn site_candidates(
    site_url: &str,
    page_feed_links: &[String],
    robots_sitemaps: &[String],
) -> SiteCandidates {
    let root = Url::parse(site_url.trim()).ok().and_then(|u| u.join("/").ok());
    let collect = |found: &[String], common: &[&str]| {
        let mut out: Vec<String> = Vec::new();
        let resolved =
            found.iter().map(String::as_str).chain(if root.is_some() { common } else { &[] }.iter().copied());
        for href in resolved {
            let url = match &root {
                Some(root) => resolve(href, root),
                None => Url::parse(href.trim())
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .map(Into::into),
            };
            if let Some(url) = url
                && !out.contains(&url)
            {
                out.push(url);
            }
        }
        out
    };
    SiteCandidates {
        feeds: collect(page_feed_links, COMMON_FEED_PATHS),
        sitemaps: collect(robots_sitemaps, COMMON_SITEMAP_PATHS),
    }
}

/// The elements whose content is not markup: raw text (`<script>`, `<style>`...), RCDATA (`<title>`,
/// `<textarea>`) and plaintext. `<noscript>` is markup here, so a feed link inside it is found.
fn content_of(name: &str) -> Option<Content> {
    match name {
        "script" | "style" | "xmp" | "iframe" | "noembed" | "noframes" => Some(Content::Raw),
        "title" | "textarea" => Some(Content::Rcdata),
        "plaintext" => Some(Content::Plaintext),
        _ => None,
    }
}

#[derive(Default)]
struct LinkState {
    base_href: Option<String>,
    hrefs: Vec<String>,
}

impl LinkState {
    fn start_tag(&mut self, tag: &StartTag<'_, '_>) {
        let attr = |name: &str| tag.attr(name).map(|v| v.into_owned());
        match &*tag.name {
            "link" => {
                // Collect a few more than returned: some may be duplicates or unusable.
                if self.hrefs.len() >= MAX_FEED_LINKS * 4 {
                    return;
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
                    self.hrefs.push(href);
                }
            }
            "base" if self.base_href.is_none() => {
                self.base_href = attr("href").filter(|h| !h.trim().is_empty());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://news.example.com/world/index.html";

    #[test]
    fn alternate_feed_links_of_every_feed_type_are_found_and_resolved() {
        let html = br#"<!DOCTYPE html><html><head>
            <link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.rss">
            <link rel="alternate" type="application/atom+xml" href="atom.xml"/>
            <link rel="alternate" type="application/feed+json" href="https://cdn.example.net/feed.json">
            </head><body></body></html>"#;
        assert_eq!(
            feed_links(html, BASE),
            [
                "https://news.example.com/feed.rss",
                "https://news.example.com/world/atom.xml",
                "https://cdn.example.net/feed.json"
            ]
        );
    }

    #[test]
    fn other_links_are_ignored() {
        let html = br#"<head>
            <link rel="stylesheet" type="text/css" href="/style.css">
            <link rel="alternate" hreflang="fr" href="/fr/">
            <link rel="alternate" type="text/html" href="/mobile">
            <link rel="canonical" href="/world/">
            <link rel="feed" type="application/rss+xml" href="/not-alternate.xml">
            <link type="application/rss+xml" href="/no-rel.xml">
            <link rel="alternate" type="application/rss+xml">
            <a rel="alternate" type="application/rss+xml" href="/anchor.xml">feed</a>
        </head>"#;
        assert!(feed_links(html, BASE).is_empty());
    }

    #[test]
    fn rel_and_type_match_without_regard_to_case_tokens_or_parameters() {
        let html =
            br#"<LINK REL="Alternate Nofollow" TYPE="Application/RSS+XML; charset=utf-8" HREF="/a.xml">
                       <link rel=" home  alternate " type=application/atom+xml href=b.xml>"#;
        assert_eq!(
            feed_links(html, BASE),
            ["https://news.example.com/a.xml", "https://news.example.com/world/b.xml"]
        );
    }

    #[test]
    fn the_pages_base_element_is_honoured() {
        let html = br#"<head><base href="https://static.example.org/site/"><base href="/ignored/">
            <link rel="alternate" type="application/rss+xml" href="rss.xml"></head>"#;
        assert_eq!(feed_links(html, BASE), ["https://static.example.org/site/rss.xml"]);
        let relative_base =
            br#"<base href="/sub/"><link rel="alternate" type="application/rss+xml" href="f">"#;
        assert_eq!(feed_links(relative_base, BASE), ["https://news.example.com/sub/f"]);
    }

    #[test]
    fn links_inside_scripts_comments_and_text_are_not_markup() {
        let html = br#"<head>
            <script>var s = '<link rel="alternate" type="application/rss+xml" href="/script.xml">';</script>
            <!-- <link rel="alternate" type="application/rss+xml" href="/comment.xml"> -->
            <title><link rel="alternate" type="application/rss+xml" href="/title.xml"></title>
            <style>/* <link rel="alternate" type="application/rss+xml" href="/style.xml"> */</style>
            <link rel="alternate" type="application/rss+xml" href="/real.xml">
        </head>"#;
        assert_eq!(feed_links(html, BASE), ["https://news.example.com/real.xml"]);
    }

    #[test]
    fn duplicates_and_non_http_links_are_dropped_and_the_count_bounded() {
        let mut html = String::from(
            r#"<link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
               <link rel="alternate" type="application/rss+xml" href="/dup.xml">
               <link rel="alternate" type="application/rss+xml" href="https://news.example.com/dup.xml">"#,
        );
        for i in 0..200 {
            html.push_str(&format!(r#"<link rel="alternate" type="application/rss+xml" href="/f{i}.xml">"#));
        }
        let links = feed_links(html.as_bytes(), BASE);
        assert_eq!(links.len(), MAX_FEED_LINKS);
        assert_eq!(links[0], "https://news.example.com/dup.xml");
        assert_eq!(links[1], "https://news.example.com/f0.xml");
    }

    #[test]
    fn an_invalid_base_url_keeps_only_absolute_links() {
        let html = br#"<link rel="alternate" type="application/rss+xml" href="/relative.xml">
                       <link rel="alternate" type="application/atom+xml" href="https://news.example.com/abs.xml">"#;
        assert_eq!(feed_links(html, "not a url"), ["https://news.example.com/abs.xml"]);
    }

    #[test]
    fn garbage_and_unterminated_markup_give_no_links_and_no_panic() {
        let mut garbage = Vec::new();
        let mut x: u32 = 7;
        for _ in 0..200_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            garbage.push((x >> 16) as u8);
        }
        assert!(feed_links(&garbage, BASE).is_empty());
        assert!(
            feed_links(b"<link rel=\"alternate\" type=\"application/rss+xml\" href=\"/cut", BASE).is_empty()
        );
        assert!(feed_links(&b"<div>".repeat(100_000), BASE).is_empty());
    }

    #[test]
    fn only_the_first_two_mebibytes_of_a_page_are_read() {
        let mut html = vec![b' '; MAX_PAGE_BYTES];
        html.extend_from_slice(br#"<link rel="alternate" type="application/rss+xml" href="/late.xml">"#);
        assert!(feed_links(&html, BASE).is_empty());
    }

    #[test]
    fn site_candidates_put_what_the_site_announces_before_the_common_paths() {
        let candidates = site_candidates(
            "https://News.example.com/world/today?x=1",
            &["https://news.example.com/feed.xml".to_string(), "https://feeds.example.net/world".to_string()],
            &["https://news.example.com/news-sitemap.xml".to_string(), "/extra-sitemap.xml".to_string()],
        );
        assert_eq!(
            candidates.feeds,
            [
                "https://news.example.com/feed.xml",
                "https://feeds.example.net/world",
                "https://news.example.com/feed",
                "https://news.example.com/rss",
                "https://news.example.com/rss.xml",
                "https://news.example.com/atom.xml",
                "https://news.example.com/index.xml"
            ]
        );
        assert_eq!(
            candidates.sitemaps,
            [
                "https://news.example.com/news-sitemap.xml",
                "https://news.example.com/extra-sitemap.xml",
                "https://news.example.com/sitemap.xml",
                "https://news.example.com/sitemap_index.xml"
            ]
        );
    }

    #[test]
    fn site_candidates_of_an_invalid_site_keep_only_absolute_urls() {
        let candidates = site_candidates(
            "not a site",
            &["/relative.xml".to_string(), "https://news.example.com/abs.xml".to_string()],
            &["javascript:x".to_string()],
        );
        assert_eq!(candidates.feeds, ["https://news.example.com/abs.xml"]);
        assert!(candidates.sitemaps.is_empty());
    }

    #[test]
    fn common_paths_are_root_relative_and_include_the_usual_names() {
        let page = Url::parse(BASE).unwrap();
        for path in COMMON_FEED_PATHS.iter().chain(COMMON_SITEMAP_PATHS) {
            let url = page.join(path).unwrap();
            assert_eq!(url.path(), *path, "{path} must resolve against the site root");
        }
        for expected in ["/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml"] {
            assert!(COMMON_FEED_PATHS.contains(&expected), "{expected}");
        }
        for expected in ["/sitemap.xml", "/news-sitemap.xml", "/sitemap_index.xml"] {
            assert!(COMMON_SITEMAP_PATHS.contains(&expected), "{expected}");
        }
    }
}
