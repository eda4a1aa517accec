//! Sitemaps (indexes and urlsets, plain or gzip-compressed, Google News extensions), read by a streaming
//! XML reader (`quick-xml`, no DOM), and [`sniff`], which tells what kind of document a response is.
//!
//! In a urlset, each `<url>` gives one [`DiscoveredUrl`]: `<loc>` resolved against the sitemap's URL,
//! `<news:news><news:title>` as title, `<news:news><news:publication_date>` as date, else `<lastmod>`.
//! Elements are matched by local name and position (`loc` directly in `url`, `title` directly in
//! `news`), so an `<image:loc>` or a `<video:title>` is never taken for the article's. In an index each
//! `<sitemap><loc>` gives a child sitemap URL; following them (at most
//! [`DiscoveryLimits::max_sitemap_depth`] deep) is the caller's job. Entries without a usable http(s)
//! `loc` are skipped. At most [`DiscoveryLimits::max_urls_per_document`] entries are read; the rest of the
//! document is not parsed and [`ParsedSitemap::truncated`] is set.
//!
//! Entity references other than XML's five and character references are not expanded: they stay in the
//! text as written (`&lol9;`), so an entity-expansion bomb costs nothing.

use std::io::Read;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use flate2::read::MultiGzDecoder;
use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::feed::{parse_base, resolve};
use crate::{DiscoverError, DiscoveredUrl, DiscoveryLimits, excerpt, title_hint};

/// The entries of a sitemap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// A `<urlset>`: article URLs with their hints.
    UrlSet(Vec<DiscoveredUrl>),
    /// A `<sitemapindex>`: absolute URLs of child sitemaps.
    Index(Vec<String>),
}

/// A parsed sitemap and whether [`DiscoveryLimits::max_urls_per_document`] cut it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSitemap {
    /// The entries read, in document order.
    pub sitemap: Sitemap,
    /// True when the document had more entries than `max_urls_per_document`; the rest were not read.
    pub truncated: bool,
}

/// What a fetched document is, for auto-detection (`newspipe submit URL` without `--feed`/`--sitemap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// RSS 0.9x, 2.0 (`<rss>`) or 1.0 (`<rdf:RDF>`).
    Rss,
    /// Atom (`<feed>`).
    Atom,
    /// JSON Feed.
    JsonFeed,
    /// A sitemap `<urlset>`.
    SitemapUrlSet,
    /// A `<sitemapindex>`.
    SitemapIndex,
    /// An HTML page (an article, or a site's home page to look for feed links in).
    Html,
    /// Anything else.
    Unknown,
}

pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// How much of a document [`sniff`] looks at (after decompression).
const SNIFF_BYTES: usize = 64 * 1024;

/// Parses a sitemap fetched from `base_url` (the URL after redirects). Gzip-compressed input (detected by
/// its magic bytes, whatever the URL or Content-Type say) is decompressed first, up to
/// [`DiscoveryLimits::max_decompressed_bytes`].
///
/// Errors: [`DiscoverError::InvalidBaseUrl`], [`DiscoverError::Gzip`],
/// [`DiscoverError::DecompressedTooLarge`], [`DiscoverError::MalformedSitemap`] (the XML parser's message
/// and byte position; a document cut short is malformed too) and [`DiscoverError::NotASitemap`].
pub fn parse_sitemap(
    bytes: &[u8],
    base_url: &str,
    limits: &DiscoveryLimits,
) -> Result<ParsedSitemap, DiscoverError> {
    let base = parse_base(base_url)?;
    if bytes.starts_with(&GZIP_MAGIC) {
        let xml = gunzip(bytes, base_url, limits.max_decompressed_bytes)?;
        parse_xml(&xml, base_url, &base, limits)
    } else {
        parse_xml(bytes, base_url, &base, limits)
    }
}

/// Keeps the entries published at or after `since` (entries without a date are kept: nothing says they
/// are old). `None` keeps everything.
pub fn filter_since(urls: Vec<DiscoveredUrl>, since: Option<DateTime<Utc>>) -> Vec<DiscoveredUrl> {
    match since {
        None => urls,
        Some(since) => urls.into_iter().filter(|u| u.published_at.is_none_or(|d| d >= since)).collect(),
    }
}

/// Tells what a document is, from its root element first (servers often send feeds as `text/xml` or
/// `text/html`), then from its `Content-Type`. Gzip-compressed input is looked into. Only the first
/// 64 KiB are read.
pub fn sniff(bytes: &[u8], content_type: Option<&str>) -> DocumentKind {
    let inflated;
    let bytes = if bytes.starts_with(&GZIP_MAGIC) {
        inflated = gunzip_prefix(bytes, SNIFF_BYTES);
        &inflated[..]
    } else {
        &bytes[..bytes.len().min(SNIFF_BYTES)]
    };
    let essence = content_type
        .map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();

    let text = skip_bom_and_space(bytes);
    if text.starts_with(b"{") {
        let mentions_jsonfeed = memmem(&text[..text.len().min(4096)], b"jsonfeed.org/version");
        return if mentions_jsonfeed || essence == "application/feed+json" {
            DocumentKind::JsonFeed
        } else {
            DocumentKind::Unknown
        };
    }
    if starts_with_ignore_case(text, b"<!doctype html") {
        return DocumentKind::Html;
    }
    match root_element(text).as_deref() {
        Some("rss") | Some("RDF") => return DocumentKind::Rss,
        Some("feed") => return DocumentKind::Atom,
        Some("urlset") => return DocumentKind::SitemapUrlSet,
        Some("sitemapindex") => return DocumentKind::SitemapIndex,
        Some(name) if name.eq_ignore_ascii_case("html") => return DocumentKind::Html,
        _ => {}
    }
    match essence.as_str() {
        "application/rss+xml" | "application/rdf+xml" | "application/x-rss+xml" => DocumentKind::Rss,
        "application/atom+xml" => DocumentKind::Atom,
        "application/feed+json" => DocumentKind::JsonFeed,
        "text/html" | "application/xhtml+xml" => DocumentKind::Html,
        _ => DocumentKind::Unknown,
    }
}

fn skip_bom_and_space(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    &bytes[start..]
}

fn starts_with_ignore_case(haystack: &[u8], prefix: &[u8]) -> bool {
    haystack.len() >= prefix.len() && haystack[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn memmem(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The local name of the first element of an XML document, if one can be read.
fn root_element(bytes: &[u8]) -> Option<String> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                return Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// `Some(max)` when the XML document nests elements deeper than `max` levels. Reading stops at the first
/// XML error (the real parser reports it) and as soon as the depth is exceeded.
pub(crate) fn xml_depth_exceeds(bytes: &[u8], max: usize) -> Option<usize> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > max {
                    return Some(max);
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

pub(crate) fn gunzip(bytes: &[u8], base_url: &str, limit: usize) -> Result<Vec<u8>, DiscoverError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(bytes)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DiscoverError::Gzip { base_url: excerpt(base_url), message: e.to_string() })?;
    if out.len() > limit {
        return Err(DiscoverError::DecompressedTooLarge { base_url: excerpt(base_url), limit });
    }
    Ok(out)
}

/// Up to `max` decompressed bytes, as many as can be read before an error.
fn gunzip_prefix(bytes: &[u8], max: usize) -> Vec<u8> {
    let mut out = vec![0u8; max];
    let mut decoder = MultiGzDecoder::new(bytes);
    let mut filled = 0;
    while filled < max {
        match decoder.read(&mut out[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    out.truncate(filled);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Loc,
    Lastmod,
    NewsTitle,
    NewsDate,
}

#[derive(Default)]
struct Entry {
    loc: String,
    lastmod: String,
    news_title: String,
    news_date: String,
}

impl Entry {
    fn field(&mut self, field: Field) -> &mut String {
        match field {
            Field::Loc => &mut self.loc,
            Field::Lastmod => &mut self.lastmod,
            Field::NewsTitle => &mut self.news_title,
            Field::NewsDate => &mut self.news_date,
        }
    }
}

/// The longest text read for one field; a longer `loc` is skipped (the protocol caps URLs at 2,048
/// characters).
const MAX_FIELD_CHARS: usize = 16 * 1024;

fn parse_xml(
    bytes: &[u8],
    base_url: &str,
    base: &Url,
    limits: &DiscoveryLimits,
) -> Result<ParsedSitemap, DiscoverError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let malformed = |position: u64, message: String| DiscoverError::MalformedSitemap {
        base_url: excerpt(base_url),
        position,
        message,
    };

    let mut is_index: Option<bool> = None;
    let mut urls: Vec<DiscoveredUrl> = Vec::new();
    let mut children: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut entry: Option<Entry> = None;
    let mut in_news = false;
    let mut capture: Option<(Field, usize)> = None;
    let mut finished_root = false;

    loop {
        let event = reader.read_event().map_err(|e| malformed(reader.error_position(), e.to_string()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                depth += 1;
                let local = e.local_name();
                let name = local.as_ref();
                match depth {
                    1 => {
                        if finished_root {
                            return Err(malformed(
                                reader.buffer_position(),
                                "more than one root element".into(),
                            ));
                        }
                        is_index = match name {
                            b"urlset" => Some(false),
                            b"sitemapindex" => Some(true),
                            _ => {
                                return Err(DiscoverError::NotASitemap {
                                    base_url: excerpt(base_url),
                                    root: excerpt(&String::from_utf8_lossy(e.name().as_ref())),
                                });
                            }
                        };
                    }
                    2 if name == if is_index == Some(true) { &b"sitemap"[..] } else { &b"url"[..] } => {
                        entry = Some(Entry::default());
                    }
                    3 if entry.is_some() => match name {
                        b"loc" => capture = Some((Field::Loc, depth)),
                        b"lastmod" => capture = Some((Field::Lastmod, depth)),
                        b"news" if is_index == Some(false) => in_news = true,
                        _ => {}
                    },
                    4 if in_news => match name {
                        b"title" => capture = Some((Field::NewsTitle, depth)),
                        b"publication_date" => capture = Some((Field::NewsDate, depth)),
                        _ => {}
                    },
                    _ => {}
                }
                if is_empty {
                    let done =
                        end_element(&mut depth, &mut entry, &mut in_news, &mut capture, base, is_index);
                    if let Some(done) = done {
                        push(done, &mut urls, &mut children);
                    }
                    finished_root |= depth == 0;
                }
            }
            Event::End(_) => {
                if let Some(done) =
                    end_element(&mut depth, &mut entry, &mut in_news, &mut capture, base, is_index)
                {
                    push(done, &mut urls, &mut children);
                }
                finished_root |= depth == 0;
            }
            Event::Text(ref t) => {
                if let (Some((field, at)), Some(entry)) = (capture, entry.as_mut())
                    && at == depth
                {
                    append(entry.field(field), &String::from_utf8_lossy(t.as_ref()));
                }
            }
            Event::CData(ref t) => {
                if let (Some((field, at)), Some(entry)) = (capture, entry.as_mut())
                    && at == depth
                {
                    append(entry.field(field), &String::from_utf8_lossy(t.as_ref()));
                }
            }
            Event::GeneralRef(ref r) => {
                if let (Some((field, at)), Some(entry)) = (capture, entry.as_mut())
                    && at == depth
                {
                    append(entry.field(field), &reference_text(r));
                }
            }
            Event::Eof => {
                if depth > 0 {
                    return Err(malformed(
                        reader.buffer_position(),
                        format!("document ends inside {depth} unclosed element(s)"),
                    ));
                }
                break;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
        if urls.len() + children.len() > limits.max_urls_per_document {
            urls.truncate(limits.max_urls_per_document);
            children.truncate(limits.max_urls_per_document);
            let sitemap =
                if is_index == Some(true) { Sitemap::Index(children) } else { Sitemap::UrlSet(urls) };
            return Ok(ParsedSitemap { sitemap, truncated: true });
        }
    }
    let sitemap = match is_index {
        Some(true) => Sitemap::Index(children),
        Some(false) => Sitemap::UrlSet(urls),
        None => return Err(malformed(reader.buffer_position(), "no root element".into())),
    };
    Ok(ParsedSitemap { sitemap, truncated: false })
}

enum Done {
    Url(DiscoveredUrl),
    Child(String),
}

fn push(done: Done, urls: &mut Vec<DiscoveredUrl>, children: &mut Vec<String>) {
    match done {
        Done::Url(url) => urls.push(url),
        Done::Child(child) => children.push(child),
    }
}

/// Closes the element at `depth`; returns the finished entry when it was a `<url>` or a `<sitemap>`.
fn end_element(
    depth: &mut usize,
    entry: &mut Option<Entry>,
    in_news: &mut bool,
    capture: &mut Option<(Field, usize)>,
    base: &Url,
    is_index: Option<bool>,
) -> Option<Done> {
    let closing = *depth;
    *depth = depth.saturating_sub(1);
    if capture.is_some_and(|(_, at)| at == closing) {
        *capture = None;
    }
    match closing {
        3 => *in_news = false,
        2 => {
            let done = entry.take()?;
            if done.loc.len() > MAX_FIELD_CHARS {
                return None;
            }
            let url = resolve(&done.loc, base)?;
            return Some(if is_index == Some(true) {
                Done::Child(url)
            } else {
                let title = title_hint(&done.news_title);
                let published_at =
                    parse_w3c_datetime(&done.news_date).or_else(|| parse_w3c_datetime(&done.lastmod));
                Done::Url(DiscoveredUrl { url, title, published_at })
            });
        }
        _ => {}
    }
    None
}

/// Appends until the field is longer than [`MAX_FIELD_CHARS`]; an overlong `loc` is then skipped.
fn append(field: &mut String, text: &str) {
    if field.len() <= MAX_FIELD_CHARS {
        field.push_str(text);
    }
}

/// The text of `&name;` or `&#n;`: XML's five entities and character references are expanded, anything
/// else (a DTD's custom entity) stays as written.
fn reference_text(reference: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return c.to_string();
    }
    let name = String::from_utf8_lossy(reference.as_ref());
    match name.as_ref() {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        other => format!("&{other};"),
    }
}

/// W3C datetime (the sitemap and Google News format): `2024-05-01`, `2024-05-01T10:30Z`,
/// `2024-05-01T10:30:00+02:00`, `2024-05-01T10:30:00.5Z`; also the common slips `2024-05-01 10:30:00`
/// (taken as UTC), `2024-05` and `2024`. A date alone is midnight UTC.
pub fn parse_w3c_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(text, format) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    if let Some(stripped) = text.strip_suffix('Z')
        && let Ok(naive) = NaiveDateTime::parse_from_str(stripped, "%Y-%m-%dT%H:%M")
    {
        return Some(Utc.from_utc_datetime(&naive));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&naive));
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d"))
        .or_else(|_| NaiveDate::parse_from_str(&format!("{text}-01-01"), "%Y-%m-%d"))
        .ok()?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    const BASE: &str = "https://news.example.com/sitemaps/news.xml";
    const NS: &str = r#"xmlns="http://www.sitemaps.org/schemas/sitemap/0.9""#;

    fn parse(xml: &[u8]) -> ParsedSitemap {
        parse_sitemap(xml, BASE, &DiscoveryLimits::default()).unwrap()
    }

    fn url_set(parsed: ParsedSitemap) -> Vec<DiscoveredUrl> {
        match parsed.sitemap {
            Sitemap::UrlSet(urls) => urls,
            other => panic!("expected a urlset, got {other:?}"),
        }
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_urlset_gives_its_locs_with_lastmod_as_the_date() {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <urlset {NS}>
              <url><loc>https://news.example.com/a</loc><lastmod>2024-03-01</lastmod><priority>0.5</priority></url>
              <url><loc> https://news.example.com/b </loc><changefreq>daily</changefreq></url>
            </urlset>"#
        );
        let parsed = parse(xml.as_bytes());
        assert!(!parsed.truncated);
        assert_eq!(
            url_set(parsed),
            vec![
                DiscoveredUrl {
                    url: "https://news.example.com/a".into(),
                    title: None,
                    published_at: Some(utc(2024, 3, 1, 0, 0, 0)),
                },
                DiscoveredUrl { url: "https://news.example.com/b".into(), title: None, published_at: None },
            ]
        );
    }

    #[test]
    fn a_sitemap_index_gives_its_child_sitemaps() {
        let xml = format!(
            r#"<sitemapindex {NS}>
              <sitemap><loc>https://news.example.com/sitemap-1.xml.gz</loc><lastmod>2024-03-01</lastmod></sitemap>
              <sitemap><loc>/sitemap-2.xml</loc></sitemap>
              <sitemap><lastmod>2024-03-01</lastmod></sitemap>
            </sitemapindex>"#
        );
        let parsed = parse(xml.as_bytes());
        assert_eq!(
            parsed.sitemap,
            Sitemap::Index(vec![
                "https://news.example.com/sitemap-1.xml.gz".into(),
                "https://news.example.com/sitemap-2.xml".into()
            ])
        );
    }

    #[test]
    fn google_news_title_and_publication_date_are_taken_over_lastmod() {
        let xml = format!(
            r#"<urlset {NS} xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
              <url><loc>https://news.example.com/n1</loc><lastmod>2020-01-01</lastmod>
                <news:news>
                  <news:publication><news:name>Example News</news:name><news:language>en</news:language></news:publication>
                  <news:publication_date>2024-03-05T10:30:00+01:00</news:publication_date>
                  <news:title>Floods &amp; storms in the north</news:title>
                </news:news></url>
            </urlset>"#
        );
        assert_eq!(
            url_set(parse(xml.as_bytes())),
            vec![DiscoveredUrl {
                url: "https://news.example.com/n1".into(),
                title: Some("Floods & storms in the north".into()),
                published_at: Some(utc(2024, 3, 5, 9, 30, 0)),
            }]
        );
    }

    #[test]
    fn image_and_video_extensions_are_not_taken_for_the_article() {
        let xml = format!(
            r#"<urlset {NS} xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
                       xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">
              <url>
                <image:image><image:loc>https://cdn.example.com/photo.jpg</image:loc></image:image>
                <loc>https://news.example.com/with-media</loc>
                <video:video><video:title>A video</video:title>
                  <video:content_loc>https://cdn.example.com/v.mp4</video:content_loc></video:video>
              </url>
              <url><image:image><image:loc>https://cdn.example.com/only-image.jpg</image:loc></image:image></url>
            </urlset>"#
        );
        assert_eq!(
            url_set(parse(xml.as_bytes())),
            vec![DiscoveredUrl {
                url: "https://news.example.com/with-media".into(),
                title: None,
                published_at: None
            }]
        );
    }

    #[test]
    fn a_sitemap_without_a_namespace_or_with_a_prefixed_one_is_read() {
        let bare = parse(b"<urlset><url><loc>https://news.example.com/bare</loc></url></urlset>");
        assert_eq!(url_set(bare)[0].url, "https://news.example.com/bare");
        let prefixed = parse(
            br#"<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">
                <sm:url><sm:loc>https://news.example.com/prefixed</sm:loc></sm:url></sm:urlset>"#,
        );
        assert_eq!(url_set(prefixed)[0].url, "https://news.example.com/prefixed");
    }

    #[test]
    fn locs_are_resolved_and_unusable_ones_skipped() {
        let xml = format!(
            r#"<urlset {NS}>
              <url><loc>relative/page</loc></url>
              <url><loc>javascript:alert(1)</loc></url>
              <url><loc>ftp://news.example.com/file</loc></url>
              <url><loc></loc></url>
              <url><loc/></url>
              <url><loc>https://news.example.com/q?a=1&amp;b=&#50;</loc></url>
              <url><loc><![CDATA[https://news.example.com/cdata?x=1&y=2]]></loc></url>
            </urlset>"#
        );
        let urls: Vec<String> = url_set(parse(xml.as_bytes())).into_iter().map(|u| u.url).collect();
        assert_eq!(
            urls,
            [
                "https://news.example.com/sitemaps/relative/page",
                "https://news.example.com/q?a=1&b=2",
                "https://news.example.com/cdata?x=1&y=2"
            ]
        );
    }

    #[test]
    fn gzip_compressed_sitemaps_are_detected_by_their_magic_bytes() {
        let xml = format!(r#"<urlset {NS}><url><loc>https://news.example.com/zipped</loc></url></urlset>"#);
        let parsed = parse(&gzip(xml.as_bytes()));
        assert_eq!(url_set(parsed)[0].url, "https://news.example.com/zipped");
    }

    #[test]
    fn an_overlong_loc_is_skipped_and_an_overlong_title_cut() {
        let long_loc = format!("https://news.example.com/{}", "a".repeat(MAX_FIELD_CHARS));
        let long_title = "word ".repeat(2_000);
        let xml = format!(
            r#"<urlset {NS}><url><loc>{long_loc}</loc></url>
              <url><loc>https://news.example.com/ok</loc><news:news><news:title>{long_title}</news:title></news:news></url>
            </urlset>"#
        );
        let urls = url_set(parse(xml.as_bytes()));
        assert_eq!(urls.len(), 1);
        assert_eq!(urls[0].url, "https://news.example.com/ok");
        assert!(urls[0].title.as_ref().unwrap().len() <= crate::MAX_TITLE_BYTES);
    }

    #[test]
    fn the_default_limit_keeps_fifty_thousand_urls() {
        let mut xml = format!("<urlset {NS}>");
        for i in 0..50_001 {
            xml.push_str(&format!("<url><loc>https://news.example.com/{i}</loc></url>"));
        }
        xml.push_str("</urlset>");
        let parsed = parse(xml.as_bytes());
        assert!(parsed.truncated);
        let urls = url_set(parsed);
        assert_eq!(urls.len(), 50_000);
        assert_eq!(urls[49_999].url, "https://news.example.com/49999");
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_decompression_limit() {
        let bomb = gzip(&vec![b' '; 8 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024, "the bomb should be small: {}", bomb.len());
        let limits = DiscoveryLimits { max_decompressed_bytes: 1024 * 1024, ..DiscoveryLimits::default() };
        let err = parse_sitemap(&bomb, BASE, &limits).unwrap_err();
        assert_eq!(err, DiscoverError::DecompressedTooLarge { base_url: BASE.into(), limit: 1024 * 1024 });
    }

    #[test]
    fn the_default_decompression_limit_stops_a_bomb_just_over_fifty_mebibytes() {
        let bomb = gzip(&vec![b' '; 50 * 1024 * 1024 + 1]);
        let err = parse_sitemap(&bomb, BASE, &DiscoveryLimits::default()).unwrap_err();
        assert!(matches!(err, DiscoverError::DecompressedTooLarge { limit: 52_428_800, .. }), "{err:?}");
    }

    #[test]
    fn a_corrupt_gzip_stream_is_an_error() {
        let mut zipped = gzip(b"<urlset><url><loc>https://news.example.com/a</loc></url></urlset>");
        let len = zipped.len();
        zipped[len / 2..].iter_mut().for_each(|b| *b ^= 0x5a);
        let err = parse_sitemap(&zipped, BASE, &DiscoveryLimits::default()).unwrap_err();
        assert!(matches!(err, DiscoverError::Gzip { .. }), "{err:?}");
        assert!(err.to_string().contains(BASE));
    }

    #[test]
    fn the_number_of_entries_is_bounded_and_the_truncation_reported() {
        let entries: String =
            (0..20).map(|i| format!("<url><loc>https://news.example.com/{i}</loc></url>")).collect();
        let xml = format!("<urlset {NS}>{entries}</urlset>");
        let limits = DiscoveryLimits { max_urls_per_document: 5, ..DiscoveryLimits::default() };
        let parsed = parse_sitemap(xml.as_bytes(), BASE, &limits).unwrap();
        assert!(parsed.truncated);
        assert_eq!(url_set(parsed).len(), 5);

        let children: String = (0..20)
            .map(|i| format!("<sitemap><loc>https://news.example.com/s{i}.xml</loc></sitemap>"))
            .collect();
        let index = format!("<sitemapindex {NS}>{children}</sitemapindex>");
        let parsed = parse_sitemap(index.as_bytes(), BASE, &limits).unwrap();
        assert!(parsed.truncated);
        assert!(matches!(parsed.sitemap, Sitemap::Index(ref c) if c.len() == 5));

        let exact = DiscoveryLimits { max_urls_per_document: 20, ..DiscoveryLimits::default() };
        assert!(!parse_sitemap(xml.as_bytes(), BASE, &exact).unwrap().truncated);
    }

    #[test]
    fn a_document_that_is_not_a_sitemap_is_an_error_naming_its_root() {
        let err = parse_sitemap(b"<rss version=\"2.0\"><channel/></rss>", BASE, &DiscoveryLimits::default())
            .unwrap_err();
        assert_eq!(err, DiscoverError::NotASitemap { base_url: BASE.into(), root: "rss".into() });
    }

    #[test]
    fn truncated_or_ill_formed_xml_is_an_error_with_the_parsers_message() {
        let cases: [&[u8]; 5] = [
            b"<urlset><url><loc>https://news.example.com/a</loc></url>",
            b"<urlset><url><loc>https://news.example.com/a</lo",
            b"<urlset><url><loc>https://news.example.com/a</url></loc></urlset>",
            b"",
            b"<urlset></urlset><urlset></urlset>",
        ];
        for xml in cases {
            let err = parse_sitemap(xml, BASE, &DiscoveryLimits::default()).unwrap_err();
            let DiscoverError::MalformedSitemap { base_url, message, .. } = &err else {
                panic!("{}: {err:?}", String::from_utf8_lossy(xml))
            };
            assert_eq!(base_url, BASE);
            assert!(!message.is_empty());
        }
    }

    #[test]
    fn an_invalid_base_url_is_an_error_naming_it() {
        let err = parse_sitemap(b"<urlset/>", "::", &DiscoveryLimits::default()).unwrap_err();
        assert!(matches!(err, DiscoverError::InvalidBaseUrl { ref base_url, .. } if base_url == "::"));
    }

    #[test]
    fn an_empty_urlset_is_an_empty_list() {
        assert_eq!(parse(b"<urlset/>").sitemap, Sitemap::UrlSet(vec![]));
        assert_eq!(parse(b"<sitemapindex></sitemapindex>").sitemap, Sitemap::Index(vec![]));
    }

    #[test]
    fn filter_since_keeps_newer_and_undated_entries() {
        let entry = |url: &str, date: Option<DateTime<Utc>>| DiscoveredUrl {
            url: url.into(),
            title: None,
            published_at: date,
        };
        let urls = vec![
            entry("https://x.example/old", Some(utc(2024, 1, 1, 0, 0, 0))),
            entry("https://x.example/same", Some(utc(2024, 3, 1, 0, 0, 0))),
            entry("https://x.example/new", Some(utc(2024, 3, 2, 0, 0, 0))),
            entry("https://x.example/undated", None),
        ];
        let kept: Vec<String> =
            filter_since(urls.clone(), Some(utc(2024, 3, 1, 0, 0, 0))).into_iter().map(|u| u.url).collect();
        assert_eq!(kept, ["https://x.example/same", "https://x.example/new", "https://x.example/undated"]);
        assert_eq!(filter_since(urls.clone(), None), urls);
    }

    #[test]
    fn w3c_datetimes_in_all_their_precisions_are_understood() {
        let cases = [
            ("2024-03-05", utc(2024, 3, 5, 0, 0, 0)),
            ("2024-03", utc(2024, 3, 1, 0, 0, 0)),
            ("2024", utc(2024, 1, 1, 0, 0, 0)),
            ("2024-03-05T10:30Z", utc(2024, 3, 5, 10, 30, 0)),
            ("2024-03-05T10:30+02:00", utc(2024, 3, 5, 8, 30, 0)),
            ("2024-03-05T10:30:15Z", utc(2024, 3, 5, 10, 30, 15)),
            (
                "2024-03-05T10:30:15.25-05:00",
                utc(2024, 3, 5, 15, 30, 15) + chrono::Duration::milliseconds(250),
            ),
            ("2024-03-05T10:30:15+0100", utc(2024, 3, 5, 9, 30, 15)),
            (" 2024-03-05 10:30:15 ", utc(2024, 3, 5, 10, 30, 15)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_w3c_datetime(text), Some(expected), "{text}");
        }
        for text in ["", "yesterday", "2024-13-01", "2024-02-30", "05/03/2024"] {
            assert_eq!(parse_w3c_datetime(text), None, "{text}");
        }
    }

    #[test]
    fn sniff_recognises_documents_by_their_root_element() {
        let cases: [(&[u8], DocumentKind); 9] = [
            (b"<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>", DocumentKind::Rss),
            (b"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>", DocumentKind::Rss),
            (b"\xEF\xBB\xBF<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>", DocumentKind::Atom),
            (b"<!-- generated --><urlset xmlns=\"x\"></urlset>", DocumentKind::SitemapUrlSet),
            (b"<?xml version=\"1.0\"?><sitemapindex></sitemapindex>", DocumentKind::SitemapIndex),
            (b"<!DOCTYPE html><html><head></head></html>", DocumentKind::Html),
            (b"  <HTML><body>", DocumentKind::Html),
            (b"{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": []}", DocumentKind::JsonFeed),
            (b"{\"some\": \"json\"}", DocumentKind::Unknown),
        ];
        for (bytes, kind) in cases {
            assert_eq!(sniff(bytes, None), kind, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn sniff_prefers_the_root_element_over_a_misleading_content_type() {
        assert_eq!(sniff(b"<rss version=\"2.0\"/>", Some("text/html; charset=utf-8")), DocumentKind::Rss);
        assert_eq!(sniff(b"<urlset/>", Some("application/rss+xml")), DocumentKind::SitemapUrlSet);
    }

    #[test]
    fn sniff_falls_back_to_the_content_type() {
        let garbage = b"\x00\x01 not markup";
        assert_eq!(sniff(garbage, Some("application/rss+xml")), DocumentKind::Rss);
        assert_eq!(sniff(garbage, Some("Application/Atom+XML; charset=utf-8")), DocumentKind::Atom);
        assert_eq!(sniff(b"{}", Some("application/feed+json")), DocumentKind::JsonFeed);
        assert_eq!(sniff(b"Hello", Some("text/html")), DocumentKind::Html);
        assert_eq!(sniff(garbage, Some("image/png")), DocumentKind::Unknown);
        assert_eq!(sniff(b"", None), DocumentKind::Unknown);
    }

    #[test]
    fn sniff_looks_inside_gzip() {
        assert_eq!(sniff(&gzip(b"<sitemapindex></sitemapindex>"), None), DocumentKind::SitemapIndex);
        assert_eq!(sniff(&[0x1f, 0x8b, 0x00], None), DocumentKind::Unknown);
    }
}
