//! Metadata from every place pages put it, combined field by field in order of trust: JSON-LD, Open Graph
//! and `article:*`, Twitter cards, microdata, other `<meta>` names (Dublin Core, parsely, sailthru...),
//! `<time>` elements, bylines in the markup, and the URL.

pub(crate) mod authors;
pub(crate) mod dates;
pub(crate) mod json_ld;
pub(crate) mod title;

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use chrono::{DateTime, FixedOffset, Utc};
use newspipe_models::Article;

use crate::dom::{Document, NodeId, Tag};
use crate::util::{absolutize, html_unescape};

use authors::choose_authors;
use dates::{
    author_box_date, byline_date, date_from_url, labelled_dates, parse_date, parse_date_local, script_date,
    text_date, time_element_date,
};
use json_ld::parse_json_ld;
use title::choose_title;

/// Everything found about a page apart from its body.
#[derive(Debug, Default, Clone)]
pub struct Metadata {
    /// What the page says about itself, in the article record's own fields (title, authors, dates,
    /// language, site, description, image, tags, section, canonical URL, paywall), so that they are named and
    /// documented once, in `newspipe_models::Article`. The fields that come from the body or the fetch (url,
    /// text, Markdown, counts, hashes, fetch time) stay empty here.
    pub article: Article,
    /// The publication date with the offset the page wrote it in (UTC where it gave none): its own day.
    pub published_local: Option<DateTime<FixedOffset>>,
    /// `og:type` or the JSON-LD `@type` of the main entity, lower-cased.
    pub declared_type: Option<String>,
    /// The `<title>` element, untouched.
    pub html_title: Option<String>,
}

/// `<meta>` values keyed by lower-cased `name`/`property`/`itemprop`, in document order.
struct Metas(HashMap<String, Vec<String>>);

impl Metas {
    fn first(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| {
            self.0.get(*k).and_then(|v| v.iter().find(|s| !s.trim().is_empty())).map(|s| s.trim())
        })
    }
    fn all(&self, key: &str) -> &[String] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }
}

/// Metadata of a parsed page. `html` is the decoded source, searched for publication dates that only
/// appear in scripts (framework state such as `"publishedDate":"2019-08-16"`).
pub fn extract_metadata(doc: &Document, html: &str, url: &str, content_language: Option<&str>) -> Metadata {
    let mut metas: HashMap<String, Vec<String>> = HashMap::new();
    let mut scripts = Vec::new();
    let mut canonical = None;
    let mut html_title = None;
    let mut h_lang = None;
    for (id, e) in doc.elements() {
        match e.tag {
            Tag::Meta => {
                let Some(content) = e.attr("content") else { continue };
                for key in ["name", "property", "itemprop", "http-equiv"] {
                    if let Some(k) = e.attr(key) {
                        for k in k.split_whitespace() {
                            metas.entry(k.to_ascii_lowercase()).or_default().push(html_unescape(content));
                        }
                    }
                }
            }
            Tag::Script
                if e.attr("type").is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) =>
            {
                scripts.push(doc.text(id));
            }
            Tag::Link
                if canonical.is_none()
                    && e.attr("rel").is_some_and(|r| {
                        r.split_whitespace().any(|r| r.eq_ignore_ascii_case("canonical"))
                    }) =>
            {
                canonical = e.attr("href").map(str::to_string);
            }
            Tag::Title if html_title.is_none() && !is_inside(doc, id, Tag::Svg) => {
                html_title = Some(doc.text(id)).filter(|t| !t.is_empty());
            }
            Tag::Html => h_lang = e.attr("lang").or_else(|| e.attr("xml:lang")).map(str::to_string),
            _ => {}
        }
    }
    let metas = Metas(metas);
    let ld = parse_json_ld(&scripts);

    let mut m = Metadata { html_title: html_title.clone(), ..Metadata::default() };
    m.article.site_name = metas
        .first(&["og:site_name", "application-name", "al:ios:app_name", "twitter:app:name:iphone"])
        .map(str::to_string)
        .or(ld.site_name.clone())
        .or(ld.publisher.clone());
    let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string));
    m.article.title = choose_title(
        doc,
        &ld,
        &metas,
        html_title.as_deref(),
        m.article.site_name.as_deref(),
        host.as_deref(),
    );
    m.article.authors = choose_authors(doc, html, &ld, &metas);
    let ld_published = ld.published.as_deref().and_then(parse_date_local);
    let meta_published = metas
        .first(&[
            "article:published_time",
            "og:article:published_time",
            "article:published",
            "datepublished",
            "published",
            "og:published_time",
            "publication_date",
            "publish_time",
            "publishdate",
            "publish-date",
            "publish_date",
            "pubdate",
            "published_time",
            "published-date",
            "parsely-pub-date",
            "sailthru.date",
            "dc.date.issued",
            "dc.date",
            "dcterms.issued",
            "dcterms.created",
            "dcterms.date",
            "date",
            "article.published",
            "article_date_original",
            "original-publish-date",
            "cxenseparse:recs:publishtime",
            "og:pubdate",
            "release_date",
            "citation_publication_date",
            "citation_date",
            "datecreated",
            "created",
        ])
        .and_then(parse_date_local);
    let labelled = std::cell::LazyCell::new(|| labelled_dates(doc));
    // A JSON-LD datePublished equal to dateModified to the second is the CMS stamping each save: an earlier
    // date elsewhere in the page's metadata is then the original publication. One later than dateModified
    // is not the first publication either. In both cases, else, the first date the page shows (an
    // "originally published" note, the date under the headline, a date element, a "Published" label) is
    // the original when it is an earlier day.
    let ld_modified = ld.modified.as_deref().and_then(parse_date_local);
    let stamped_on_save =
        ld_published.zip(ld_modified).is_some_and(|(published, modified)| published == modified);
    let published_after_modified =
        ld_published.zip(ld_modified).is_some_and(|(published, modified)| published > modified);
    let ld_published = match ld_published {
        Some(stamped) if stamped_on_save || published_after_modified => {
            let in_metadata = if stamped_on_save {
                [meta_published, time_element_date(doc)].into_iter().flatten().filter(|d| *d < stamped).min()
            } else {
                None
            };
            in_metadata
                .or_else(|| {
                    labelled
                        .original
                        .or_else(|| text_date(doc))
                        .or_else(|| byline_date(doc))
                        .or(labelled.published)
                        .map(|d| d.fixed_offset())
                        .filter(|d| d.date_naive() < stamped.date_naive())
                })
                .or(Some(stamped))
        }
        other => other,
    };
    let published = ld_published
        .or(meta_published)
        .or_else(|| time_element_date(doc))
        .or_else(|| date_from_url(url).map(|d| d.fixed_offset()))
        .or_else(|| ld.webpage_published.as_deref().and_then(parse_date_local))
        .or_else(|| script_date(html))
        .or_else(|| labelled.original.map(|d| d.fixed_offset()))
        .or_else(|| byline_date(doc).map(|d| d.fixed_offset()))
        .or_else(|| text_date(doc).map(|d| d.fixed_offset()))
        .or_else(|| labelled.published.map(|d| d.fixed_offset()))
        .or_else(|| author_box_date(doc).map(|d| d.fixed_offset()))
        .or_else(|| {
            metas
                .first(&["article:modified_time", "og:updated_time", "datemodified", "dcterms.modified"])
                .and_then(parse_date_local)
        })
        .or_else(|| labelled.updated.map(|d| d.fixed_offset()));
    m.published_local = published;
    let published = published.map(|d| d.with_timezone(&Utc));
    m.article.published_at = published;
    m.article.modified_at = ld
        .modified
        .as_deref()
        .and_then(parse_date)
        .or_else(|| {
            metas
                .first(&[
                    "article:modified_time",
                    "og:updated_time",
                    "datemodified",
                    "dcterms.modified",
                    "last-modified",
                    "article.updated",
                    "sailthru.lastmodified",
                ])
                .and_then(parse_date)
        })
        .filter(|d| published.is_none_or(|p| *d >= p));
    m.article.description = metas
        .first(&["og:description", "description", "twitter:description", "dc.description"])
        .map(str::to_string)
        .or(ld.description.clone());
    m.article.image = [
        metas.first(&["og:image", "og:image:url", "og:image:secure_url"]).map(str::to_string),
        ld.image.clone(),
        metas.first(&["twitter:image", "twitter:image:src", "thumbnailurl"]).map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .find(|u| !looks_like_logo(u))
    .and_then(|u| absolutize(url, &u));
    let mut tags: Vec<String> = metas.all("article:tag").iter().map(|t| t.trim().to_string()).collect();
    if tags.is_empty() {
        tags = ld.keywords.clone();
    }
    if tags.is_empty()
        && let Some(k) = metas.first(&["news_keywords", "keywords", "parsely-tags", "sailthru.tags"])
    {
        tags = k.split([',', ';']).map(|t| t.trim().to_string()).collect();
    }
    tags.retain(|t| !t.is_empty() && t.len() < 100);
    let mut seen = std::collections::HashSet::new();
    tags.retain(|t| seen.insert(t.to_lowercase()));
    m.article.tags = tags;
    m.article.section = metas
        .first(&["article:section", "parsely-section", "section"])
        .map(str::to_string)
        .or(ld.section.clone());
    m.article.canonical_url = canonical
        .or_else(|| metas.first(&["og:url"]).map(str::to_string))
        .or(ld.url.clone())
        .and_then(|c| absolutize(url, &c));
    m.declared_type =
        ld.main_type.clone().or_else(|| metas.first(&["og:type"]).map(|t| t.to_ascii_lowercase()));
    m.article.paywalled = ld.not_free;
    m.article.language = h_lang
        .or(ld.language.clone())
        .or_else(|| {
            metas.first(&["content-language", "dc.language", "language", "og:locale"]).map(str::to_string)
        })
        .or_else(|| content_language.map(str::to_string))
        .and_then(|l| normalize_language(&l));
    m
}

fn is_inside(doc: &Document, mut id: NodeId, tag: Tag) -> bool {
    while id != crate::dom::NONE {
        if doc.tag(id) == Some(tag) {
            return true;
        }
        id = doc.node(id).parent;
    }
    false
}

/// `en_US`, `EN-us`, `en-US,fr` to BCP 47 (`en-US`).
pub(crate) fn normalize_language(raw: &str) -> Option<String> {
    let first = raw.split([',', ';']).next()?.trim().replace('_', "-");
    let mut parts = first.split('-').filter(|p| !p.is_empty());
    let lang = parts.next()?.to_ascii_lowercase();
    if !(2..=3).contains(&lang.len()) || !lang.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    match parts.next() {
        Some(region) if region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(format!("{lang}-{}", region.to_ascii_uppercase()))
        }
        Some(script) if script.len() == 4 && script.bytes().all(|b| b.is_ascii_alphabetic()) => {
            let mut s = script.to_ascii_lowercase();
            s[..1].make_ascii_uppercase();
            Some(format!("{lang}-{s}"))
        }
        _ => Some(lang),
    }
}

fn looks_like_logo(url: &str) -> bool {
    let u = url.to_ascii_lowercase();
    let file = u.split(['?', '#']).next().unwrap_or(&u);
    file.ends_with(".svg")
        || file.ends_with(".ico")
        || u.contains("logo")
        || u.contains("favicon")
        || u.contains("/icon")
}

/// Word lists for class/id tests, each compiled once into one case-insensitive automaton.
fn words(patterns: &[&str]) -> AhoCorasick {
    AhoCorasick::builder().ascii_case_insensitive(true).build(patterns).expect("static patterns compile")
}

fn class_has(e: &crate::dom::Element, words: &AhoCorasick) -> bool {
    let (c, i) = (e.class(), e.id());
    (!c.is_empty() && words.is_match(c)) || (!i.is_empty() && words.is_match(i))
}
