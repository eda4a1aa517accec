//! Metadata from every place pages put it, combined field by field in order of trust: JSON-LD, Open Graph
//! and `article:*`, Twitter cards, microdata, other `<meta>` names (Dublin Core, parsely, sailthru...),
//! `<time>` elements, bylines in the markup, and the URL.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::Value;

use crate::dates::{date_from_url, parse_date, parse_date_local};
use crate::dom::{Data, Document, NodeId, Tag};

/// Everything found about a page apart from its body.
#[derive(Debug, Default, Clone)]
pub struct Metadata {
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// The publication date with the offset the page wrote it in (UTC where it gave none): its own day.
    pub published_local: Option<DateTime<FixedOffset>>,
    pub modified_at: Option<DateTime<Utc>>,
    pub language: Option<String>,
    pub site_name: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub tags: Vec<String>,
    pub section: Option<String>,
    pub canonical_url: Option<String>,
    /// `og:type` or the JSON-LD `@type` of the main entity, lower-cased.
    pub declared_type: Option<String>,
    /// The page declares the content not freely accessible (`isAccessibleForFree: false`).
    pub paywalled: bool,
    /// The `<title>` element, untouched.
    pub html_title: Option<String>,
}

const ARTICLE_TYPES: &[&str] = &[
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "reviewnewsarticle",
    "backgroundnewsarticle",
    "askpublicnewsarticle",
    "liveblogposting",
    "techarticle",
    "scholarlyarticle",
    "socialmediaposting",
    "report",
    "medicalwebpage",
    "howto",
    "recipe",
    "review",
    "posting",
];

/// Whether a lower-cased schema.org type names an article of some kind.
pub fn is_article_type(t: &str) -> bool {
    ARTICLE_TYPES.contains(&t)
}

#[derive(Default)]
struct JsonLd {
    headline: Option<String>,
    authors: Vec<String>,
    /// Only organisations were named as authors (a byline in the page may still name a person).
    authors_are_organisations: bool,
    published: Option<String>,
    modified: Option<String>,
    image: Option<String>,
    keywords: Vec<String>,
    section: Option<String>,
    description: Option<String>,
    language: Option<String>,
    publisher: Option<String>,
    url: Option<String>,
    main_type: Option<String>,
    site_name: Option<String>,
    not_free: bool,
    webpage_published: Option<String>,
}

fn types_of(obj: &serde_json::Map<String, Value>) -> Vec<String> {
    match obj.get("@type") {
        Some(Value::String(s)) => vec![s.to_ascii_lowercase()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect(),
        _ => Vec::new(),
    }
}

fn string_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(string_of),
        Value::Object(o) => o.get("@value").and_then(string_of),
        _ => None,
    }
}

fn url_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Array(a) => a.iter().find_map(url_of),
        Value::Object(o) => {
            o.get("url").or_else(|| o.get("contentUrl")).or_else(|| o.get("@id")).and_then(url_of)
        }
        _ => None,
    }
}

/// Author names from a JSON-LD `author` value: a string, a Person/Organization, an `@id` reference, or a
/// list of those. People come before organisations; organisations are kept only where no person is named.
fn authors_of(
    v: &Value,
    by_id: &HashMap<String, &serde_json::Map<String, Value>>,
    out: &mut Vec<(String, bool)>,
) {
    match v {
        Value::String(s) if !s.starts_with("http") => out.push((s.clone(), true)),
        Value::Array(a) => a.iter().for_each(|x| authors_of(x, by_id, out)),
        Value::Object(o) => {
            let resolved = match (o.get("name"), o.get("@id").and_then(Value::as_str)) {
                (None, Some(id)) => by_id.get(id).copied().unwrap_or(o),
                _ => o,
            };
            let is_org =
                types_of(resolved).iter().any(|t| t.contains("organization") || t == "newsmediaorganization");
            if let Some(name) = resolved.get("name").and_then(string_of) {
                out.push((name, !is_org));
            }
        }
        _ => {}
    }
}

fn collect_objects<'v>(v: &'v Value, out: &mut Vec<&'v serde_json::Map<String, Value>>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_objects(x, out, depth + 1)),
        Value::Object(o) => {
            out.push(o);
            if let Some(g) = o.get("@graph") {
                collect_objects(g, out, depth + 1);
            }
            if let Some(m) = o.get("mainEntity") {
                collect_objects(m, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn parse_json_ld(scripts: &[String]) -> JsonLd {
    let mut ld = JsonLd::default();
    let values: Vec<Value> = scripts
        .iter()
        .filter_map(|s| {
            let s = s.trim().trim_start_matches("<!--").trim_end_matches("-->");
            let s = s.trim().trim_start_matches("//<![CDATA[").trim_end_matches("//]]>");
            serde_json::from_str::<Value>(s.trim()).ok()
        })
        .collect();
    let mut objects = Vec::new();
    for v in &values {
        collect_objects(v, &mut objects, 0);
    }
    let by_id: HashMap<String, &serde_json::Map<String, Value>> =
        objects.iter().filter_map(|o| Some((o.get("@id")?.as_str()?.to_string(), *o))).collect();
    let article = objects
        .iter()
        .find(|o| {
            types_of(o).iter().any(|t| ARTICLE_TYPES.contains(&t.as_str())) && o.get("headline").is_some()
        })
        .or_else(|| objects.iter().find(|o| types_of(o).iter().any(|t| ARTICLE_TYPES.contains(&t.as_str()))));
    for o in &objects {
        let types = types_of(o);
        if types.iter().any(|t| t == "website") {
            ld.site_name = ld.site_name.take().or_else(|| o.get("name").and_then(string_of));
        }
        if types.iter().any(|t| t.ends_with("page")) {
            if ld.main_type.is_none() && article.is_none() {
                ld.main_type = types.first().cloned();
            }
            ld.webpage_published =
                ld.webpage_published.take().or_else(|| o.get("datePublished").and_then(string_of));
        }
    }
    let Some(article) = article else {
        if ld.main_type.is_none() {
            ld.main_type = objects.iter().find_map(|o| types_of(o).into_iter().next());
        }
        return ld;
    };
    ld.main_type = types_of(article).into_iter().next();
    ld.headline = article.get("headline").or_else(|| article.get("name")).and_then(string_of);
    let mut authors = Vec::new();
    if let Some(a) = article.get("author").or_else(|| article.get("creator")) {
        authors_of(a, &by_id, &mut authors);
    }
    let people: Vec<String> = authors.iter().filter(|(_, p)| *p).map(|(n, _)| n.clone()).collect();
    ld.authors_are_organisations = people.is_empty() && !authors.is_empty();
    ld.authors = if people.is_empty() { authors.into_iter().map(|(n, _)| n).collect() } else { people };
    ld.published = article
        .get("datePublished")
        .or_else(|| article.get("dateCreated"))
        .or_else(|| article.get("uploadDate"))
        .and_then(string_of);
    ld.modified = article.get("dateModified").and_then(string_of);
    ld.image = article.get("image").or_else(|| article.get("thumbnailUrl")).and_then(url_of);
    ld.keywords = match article.get("keywords") {
        Some(Value::String(s)) => {
            s.split(',').map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect()
        }
        Some(Value::Array(a)) => a.iter().filter_map(string_of).collect(),
        _ => Vec::new(),
    };
    ld.section = article.get("articleSection").and_then(string_of);
    ld.description = article.get("description").and_then(string_of);
    ld.language = article.get("inLanguage").and_then(string_of);
    ld.publisher = article.get("publisher").and_then(|p| match p {
        Value::Object(o) => {
            let o = match (o.get("name"), o.get("@id").and_then(Value::as_str)) {
                (None, Some(id)) => by_id.get(id).copied().unwrap_or(o),
                _ => o,
            };
            o.get("name").and_then(string_of)
        }
        other => string_of(other),
    });
    ld.url = article.get("url").and_then(url_of).or_else(|| article.get("mainEntityOfPage").and_then(url_of));
    ld.not_free = matches!(article.get("isAccessibleForFree"), Some(Value::Bool(false)))
        || article
            .get("isAccessibleForFree")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("false"));
    ld
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
    m.site_name = metas
        .first(&["og:site_name", "application-name", "al:ios:app_name", "twitter:app:name:iphone"])
        .map(str::to_string)
        .or(ld.site_name.clone())
        .or(ld.publisher.clone());
    let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string));
    m.title = choose_title(doc, &ld, &metas, html_title.as_deref(), m.site_name.as_deref(), host.as_deref());
    m.authors = choose_authors(doc, html, &ld, &metas);
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
    m.published_at = published;
    m.modified_at = ld
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
    m.description = metas
        .first(&["og:description", "description", "twitter:description", "dc.description"])
        .map(str::to_string)
        .or(ld.description.clone());
    m.image = [
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
    m.tags = tags;
    m.section = metas
        .first(&["article:section", "parsely-section", "section"])
        .map(str::to_string)
        .or(ld.section.clone());
    m.canonical_url = canonical
        .or_else(|| metas.first(&["og:url"]).map(str::to_string))
        .or(ld.url.clone())
        .and_then(|c| absolutize(url, &c));
    m.declared_type =
        ld.main_type.clone().or_else(|| metas.first(&["og:type"]).map(|t| t.to_ascii_lowercase()));
    m.paywalled = ld.not_free;
    m.language = h_lang
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
pub fn normalize_language(raw: &str) -> Option<String> {
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

pub fn absolutize(base: &str, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() || href.starts_with("data:") || href.starts_with("javascript:") {
        return None;
    }
    match url::Url::parse(base) {
        Ok(base) => base.join(href).ok().map(|u| u.to_string()),
        Err(_) => url::Url::parse(href).ok().map(|u| u.to_string()),
    }
}

pub fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Lower-cased word characters only: how titles are compared.
pub fn title_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

const TITLE_SEPARATORS: &[&str] =
    &[" | ", " - ", " – ", " — ", " :: ", " · ", " • ", " » ", " « ", " / ", " : ", " ~ "];

/// Drops a " - Site Name" suffix (or "Site Name | " prefix) from a title.
pub fn strip_site_suffix(title: &str, site_name: Option<&str>, host: Option<&str>) -> String {
    let title = title.trim();
    let site_key = site_name.map(title_key).unwrap_or_default();
    let host_key = host
        .map(|h| title_key(h.trim_start_matches("www.").split('.').next().unwrap_or("")))
        .unwrap_or_default();
    let is_site = |part: &str| {
        let k = title_key(part);
        !k.is_empty()
            && ((!site_key.is_empty() && (k == site_key || site_key.contains(&k) || k.contains(&site_key)))
                || (!host_key.is_empty() && (k == host_key || k.contains(&host_key))))
    };
    for sep in TITLE_SEPARATORS {
        if let Some((head, tail)) = title.rsplit_once(sep)
            && is_site(tail)
            && !head.trim().is_empty()
        {
            return strip_site_suffix(head, site_name, host);
        }
        if let Some((head, tail)) = title.split_once(sep)
            && is_site(head)
            && !tail.trim().is_empty()
        {
            return tail.trim().to_string();
        }
    }
    // An unknown suffix: only the strong separators, and only if what is left still reads like a headline.
    for sep in [" | ", " - ", " – ", " — ", " :: ", " » "] {
        if let Some((head, tail)) = title.rsplit_once(sep) {
            let head_words = head.split_whitespace().count();
            let tail_words = tail.split_whitespace().count();
            if tail_words <= 4 && head_words >= 3 && head_words > tail_words {
                return head.trim().to_string();
            }
        }
    }
    title.to_string()
}

fn choose_title(
    doc: &Document,
    ld: &JsonLd,
    metas: &Metas,
    html_title: Option<&str>,
    site: Option<&str>,
    host: Option<&str>,
) -> Option<String> {
    let meta_titles: Vec<String> = [
        ld.headline.clone(),
        metas.first(&["og:title"]).map(str::to_string),
        metas
            .first(&["twitter:title", "parsely-title", "sailthru.title", "dc.title", "headline"])
            .map(str::to_string),
        html_title.map(str::to_string),
    ]
    .into_iter()
    .flatten()
    .map(|t| html_unescape(&t))
    .collect();
    // The page's visible headline wins when it agrees with what the metadata says.
    let keys: Vec<String> = meta_titles.iter().map(|t| title_key(t)).collect();
    let mut first_h1 = None;
    for (id, e) in doc.elements() {
        if !matches!(e.tag, Tag::H(1) | Tag::H(2)) {
            continue;
        }
        let text = doc.text(id);
        let key = title_key(&text);
        if key.len() < 4 {
            continue;
        }
        if e.tag == Tag::H(1) && first_h1.is_none() {
            first_h1 = Some(text.clone());
        }
        if keys.iter().any(|k| *k == key || (k.contains(&key) && key.len() * 10 >= k.len() * 4)) {
            return Some(text);
        }
    }
    if let Some(t) = meta_titles.first() {
        let stripped = strip_site_suffix(t, site, host);
        if !stripped.is_empty() {
            return Some(stripped);
        }
    }
    first_h1.or_else(|| meta_titles.first().cloned())
}

fn choose_authors(doc: &Document, html: &str, ld: &JsonLd, metas: &Metas) -> Vec<String> {
    let from_ld: Vec<String> = ld.authors.iter().flat_map(|a| clean_author(&html_unescape(a))).collect();
    if !from_ld.is_empty() && !ld.authors_are_organisations {
        return dedup(from_ld);
    }
    for key in [
        "author",
        "article:author",
        "parsely-author",
        "sailthru.author",
        "dc.creator",
        "byl",
        "citation_author",
        "dcterms.creator",
    ] {
        let values: Vec<String> = metas
            .all(key)
            .iter()
            .filter(|v| !v.starts_with("http") && !v.contains("facebook.com"))
            .flat_map(|v| clean_author(&html_unescape(v)))
            .collect();
        if !values.is_empty() {
            return dedup(values);
        }
    }
    // An organisation is the author only where the page names no person.
    let mut byline = byline_authors(doc);
    if byline.is_empty() {
        byline = script_author(html);
    }
    if byline.is_empty() { dedup(from_ld) } else { dedup(byline) }
}

fn dedup(mut names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.to_lowercase()));
    names
}

/// "By Jane Doe and John Roe, Staff Writers" to `["Jane Doe", "John Roe"]`.
pub fn clean_author(raw: &str) -> Vec<String> {
    let mut s = raw.trim().trim_matches(QUOTES_AND_PUNCTUATION).trim().to_string();
    for prefix in [
        "written by",
        "posted by",
        "reviewed by",
        "by:",
        "by ",
        "von ",
        "par ",
        "por ",
        "door ",
        "автор:",
        "author:",
        "authors:",
    ] {
        if s.is_char_boundary(prefix.len().min(s.len()))
            && s.len() >= prefix.len()
            && s[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            s = s[prefix.len()..].trim().to_string();
        }
    }
    if s.is_empty() || s.len() > 200 || s.contains('@') && !s.contains(' ') || s.starts_with("http") {
        return Vec::new();
    }
    // A trailing date or role after a separator is not part of a name.
    let s = s.split(['|', '\n']).next().unwrap_or("").trim();
    let mut out = Vec::new();
    // "and" in the languages whose bylines we see most (not Portuguese/Italian "e", which is too short to trust).
    let parts = s
        .split([',', ';', '&'])
        .flat_map(|p| p.split(" and "))
        .flat_map(|p| p.split(" And "))
        .flat_map(|p| p.split(" et "))
        .flat_map(|p| p.split(" und "))
        .flat_map(|p| p.split(" y "));
    for part in parts {
        let name = part.trim().trim_matches(QUOTES_AND_PUNCTUATION).trim_end_matches('.').trim();
        if name.is_empty() || name.len() > 60 {
            continue;
        }
        // "Trial Attorney at Morgan, Morgan", "Network on Facebook": a role or affiliation; what follows
        // belongs to it.
        if !out.is_empty() && [" at ", " of ", " on ", " for "].iter().any(|w| part.contains(w)) {
            break;
        }
        let lower = name.to_lowercase();
        let role =
            ["staff", "writer", "editor", "correspondent", "reporter", "contributor", "updated", "published"]
                .iter()
                .any(|r| {
                    lower == *r || lower.ends_with(&format!(" {r}")) || lower.starts_with(&format!("{r} "))
                });
        if role && !out.is_empty() {
            continue;
        }
        if role
            || name.chars().any(|c| c.is_ascii_digit())
                && name.split_whitespace().count() > 1
                && !out.is_empty()
        {
            continue;
        }
        if name.chars().filter(|c| c.is_alphabetic()).count() < 2 {
            continue;
        }
        out.push(name.to_string());
    }
    out
}

/// Characters that wrap or lead a name in bylines but are not part of it.
const QUOTES_AND_PUNCTUATION: &[char] = &['"', '\'', '“', '”', '‘', '’', ':', '-', '–', '—', '|', '·', '•'];

/// Word lists for class/id tests, each compiled once into one case-insensitive automaton.
fn words(patterns: &[&str]) -> AhoCorasick {
    AhoCorasick::builder().ascii_case_insensitive(true).build(patterns).expect("static patterns compile")
}

static BYLINE_CLASSES: LazyLock<AhoCorasick> =
    LazyLock::new(|| words(&["byline", "by-line", "author", "writer"]));
static NOT_BYLINE_CLASSES: LazyLock<AhoCorasick> = LazyLock::new(|| {
    words(&[
        "bio",
        "description",
        "avatar",
        "box",
        "about",
        "image",
        "img",
        "photo",
        "label",
        "title",
        "date",
    ])
});
static PUBLISHED_CLASSES: LazyLock<AhoCorasick> = LazyLock::new(|| words(&["publish", "posted", "date"]));
static PUBLISHED_TIME_CLASSES: LazyLock<AhoCorasick> =
    LazyLock::new(|| words(&["publish", "posted", "entry-date"]));
static UPDATED_CLASSES: LazyLock<AhoCorasick> = LazyLock::new(|| words(&["update", "modif"]));
static DATE_CLASSES: LazyLock<AhoCorasick> =
    LazyLock::new(|| words(&["date", "published", "posted", "timestamp", "byline", "meta", "time"]));

fn class_has(e: &crate::dom::Element, words: &AhoCorasick) -> bool {
    let (c, i) = (e.class(), e.id());
    (!c.is_empty() && words.is_match(c)) || (!i.is_empty() && words.is_match(i))
}

/// Names in the page's byline: `itemprop=author`, `rel=author`, an element whose class says byline or
/// author, a "Written by" label followed by the name, or a short "By Jane Doe" line.
fn byline_authors(doc: &Document) -> Vec<String> {
    for (id, e) in doc.elements() {
        if let Some(p) = e.attr("itemprop")
            && p.split_whitespace().any(|p| p == "author" || p == "creator")
        {
            let name = doc
                .descendants(id)
                .find(|d| doc.element(*d).and_then(|e| e.attr("itemprop")).is_some_and(|p| p == "name"))
                .map(|d| {
                    doc.element(d)
                        .and_then(|e| e.attr("content"))
                        .map(str::to_string)
                        .unwrap_or_else(|| doc.text(d))
                })
                .or_else(|| e.attr("content").map(str::to_string))
                .unwrap_or_else(|| doc.text(id));
            let names = person_names(&name);
            if !names.is_empty() {
                return names;
            }
        }
    }
    let mut by_line: Option<Vec<String>> = None;
    for (id, e) in doc.elements() {
        if matches!(e.tag, Tag::Script | Tag::Style | Tag::Head | Tag::Title | Tag::Meta) {
            continue;
        }
        let rel_author =
            e.tag == Tag::A && e.attr("rel").is_some_and(|r| r.split_whitespace().any(|r| r == "author"));
        let by_class = matches!(
            e.tag,
            Tag::A
                | Tag::Span
                | Tag::Div
                | Tag::P
                | Tag::Address
                | Tag::Other
                | Tag::Li
                | Tag::Strong
                | Tag::B
        ) && class_has(e, &BYLINE_CLASSES)
            && !class_has(e, &NOT_BYLINE_CLASSES);
        if rel_author || by_class {
            let text = doc.short_text(id, 120).unwrap_or_default();
            if !text.is_empty() {
                let names = person_names(&text);
                if !names.is_empty() {
                    return names;
                }
            }
            // An author box with a name, a role and a bio: the name is a short line of its own inside it.
            if by_class {
                let names = doc
                    .descendants(id)
                    .filter(|d| doc.element(*d).is_some())
                    .take(AUTHOR_BOX_LOOKAHEAD)
                    .filter_map(|d| doc.short_text(d, 40))
                    .map(|t| person_names(&t))
                    .find(|names| names.len() == 1 && names[0].split_whitespace().count() >= 2);
                if let Some(names) = names {
                    return names;
                }
            }
            continue;
        }
        // "Written by" in one element, the name in the next.
        if matches!(e.tag, Tag::Span | Tag::Div | Tag::P | Tag::Dt | Tag::Small | Tag::Strong | Tag::B) {
            let label = doc.short_text(id, 12).unwrap_or_default();
            let label = label.trim().trim_end_matches(':').to_lowercase();
            if matches!(
                label.as_str(),
                "written by" | "author" | "by" | "posted by" | "words by" | "reviewed by"
            ) {
                let next = std::iter::successors(Some(doc.node(id).next_sibling), |&n| {
                    (n != crate::dom::NONE).then(|| doc.node(n).next_sibling)
                })
                .take_while(|&n| n != crate::dom::NONE)
                .find(|&n| doc.element(n).is_some());
                if let Some(next) = next {
                    let names = person_names(&doc.text(next));
                    if !names.is_empty() {
                        return names;
                    }
                }
            }
        }
        // "By Jane Doe" as a short line of its own; the first one in the page, kept in case nothing better.
        if by_line.is_none() && matches!(e.tag, Tag::P | Tag::Span | Tag::Div | Tag::Li | Tag::Address) {
            let has_block_child = doc.children(id).any(|c| doc.tag(c).is_some_and(|t| t.is_block()));
            if !has_block_child {
                let text = doc.short_text(id, 80).unwrap_or_default();
                if text.starts_with("By ") || text.starts_with("by ") {
                    let names = person_names(&text);
                    if !names.is_empty() {
                        by_line = Some(names);
                    }
                }
            }
        }
    }
    by_line.unwrap_or_default()
}

/// Interface words that sit where bylines do.
const NOT_NAMES: &[&str] = &[
    "sign in",
    "log in",
    "login",
    "sign up",
    "subscribe",
    "follow",
    "follow author",
    "menu",
    "share",
    "home",
    "search",
    "admin",
    "administrator",
    "editor",
    "staff",
    "guest",
    "anonymous",
    "unknown",
];

/// How many elements inside an author box are read looking for the name.
const AUTHOR_BOX_LOOKAHEAD: usize = 12;

/// Cleaned names that look like people's names: a few words, no digits, capitalised.
fn person_names(raw: &str) -> Vec<String> {
    clean_author(raw)
        .into_iter()
        .filter(|n| {
            let words: Vec<&str> = n.split_whitespace().collect();
            (1..=5).contains(&words.len())
                && !n.chars().any(|c| c.is_ascii_digit())
                && words.iter().any(|w| w.chars().next().is_some_and(char::is_uppercase))
                && !n.contains(['@', '/', '(', '{'])
                && !NOT_NAMES.contains(&n.to_lowercase().as_str())
        })
        .collect()
}

/// `<time datetime>` (or microdata `datePublished`) in the page; a `pubdate` or published-looking one first.
fn time_element_date(doc: &Document) -> Option<DateTime<FixedOffset>> {
    let mut first = None;
    let mut first_after_h1 = None;
    let h1 = doc.elements().find(|(_, e)| e.tag == Tag::H(1)).map(|(id, _)| id);
    for (id, e) in doc.elements() {
        let itemprop_published = e.attr("itemprop").is_some_and(|p| p == "datePublished");
        if itemprop_published {
            let v = e
                .attr("content")
                .or_else(|| e.attr("datetime"))
                .map(str::to_string)
                .unwrap_or_else(|| doc.text(id));
            if let Some(d) = parse_date_local(&v) {
                return Some(d);
            }
        }
        if e.tag != Tag::Time {
            continue;
        }
        let Some(d) =
            e.attr("datetime").and_then(parse_date_local).or_else(|| parse_date_local(&doc.text(id)))
        else {
            continue;
        };
        let parent_published = {
            let p = doc.node(id).parent;
            doc.element(p).is_some_and(|pe| class_has(pe, &PUBLISHED_CLASSES))
        };
        if e.attr("pubdate").is_some() || class_has(e, &PUBLISHED_TIME_CLASSES) || parent_published {
            return Some(d);
        }
        if !class_has(e, &UPDATED_CLASSES) {
            if first.is_none() {
                first = Some(d);
            }
            if first_after_h1.is_none() && h1.is_some_and(|h| id > h && id - h <= TIME_AFTER_H1_NODES) {
                first_after_h1 = Some(d);
            }
        }
    }
    first_after_h1.or(first)
}

/// How far after the headline (in nodes) a `<time>` still belongs to the article's header.
const TIME_AFTER_H1_NODES: NodeId = 200;

/// A date written in an element whose class says it is the date (`<span class="date">6 Oct, 2020</span>`).
fn byline_date(doc: &Document) -> Option<DateTime<Utc>> {
    for (id, e) in doc.elements() {
        if !matches!(
            e.tag,
            Tag::Span | Tag::Div | Tag::P | Tag::Other | Tag::Li | Tag::Time | Tag::Small | Tag::Header
        ) {
            continue;
        }
        if !class_has(e, &DATE_CLASSES) || class_has(e, &UPDATED_CLASSES) || in_todays_date(doc, id) {
            continue;
        }
        let text = doc.short_text(id, 100).unwrap_or_default();
        if text.is_empty()
            || doc.descendants(id).any(|d| doc.element(d).is_some_and(|e| class_has(e, &TODAY_CLASSES)))
        {
            continue;
        }
        // Texts one by one first: inline pieces run together in the element's text ("DECEMBER 22,
        // 2022</span><span>Updated: JANUARY 02, 2026" reads as one garbled date).
        let date = doc
            .descendants(id)
            .filter_map(|d| visible_text(doc, d as usize))
            .find_map(parse_date)
            .or_else(|| parse_date(&text));
        if date.is_some() {
            return date;
        }
    }
    None
}

/// Dates the page labels in its text: "Originally published on 26 Sep 2019", "Posted on April 13, 2023",
/// "Published: 2025.12.17", "Last updated: Dec 12, 2025"; the date follows the label in the same text or
/// in one of the next texts (`<span>Updated</span> <span>Dec 12, 2025</span>`). The first of each kind.
#[derive(Debug, Default, Clone, Copy)]
struct LabelledDates {
    original: Option<DateTime<Utc>>,
    published: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
}

/// Labels before a date, by kind: 0 says it is the original publication, 1 the publication, 2 an update.
const DATE_LABELS: &[(&str, u8)] = &[
    ("originally published", 0),
    ("originally posted", 0),
    ("first published", 0),
    ("ursprünglich veröffentlicht", 0),
    ("published", 1),
    ("posted", 1),
    ("publication date", 1),
    ("date of publication", 1),
    ("veröffentlicht", 1),
    ("publié", 1),
    ("publicado", 1),
    ("pubblicato", 1),
    ("updated", 2),
    ("modified", 2),
    ("aktualisiert", 2),
    ("mis à jour", 2),
    ("actualizado", 2),
    ("aggiornato", 2),
];

static DATE_LABEL_WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(DATE_LABELS.iter().map(|(w, _)| w))
        .expect("static patterns compile")
});

/// Whether a text says its date is an update ("Updated: 10/31/2024", "Last modified March 3").
fn is_update_label(t: &str) -> bool {
    DATE_LABEL_WORDS.find_iter(t).any(|m| DATE_LABELS[m.pattern().as_usize()].1 == 2)
}

/// Classes and ids of widgets that show the day the page is viewed, not a day of the article.
static TODAY_CLASSES: LazyLock<AhoCorasick> =
    LazyLock::new(|| words(&["today", "current-date", "currentdate", "current_date"]));

/// Whether the node sits in a "today's date" widget (looked for on itself and three ancestors).
fn in_todays_date(doc: &Document, mut id: NodeId) -> bool {
    for _ in 0..4 {
        if id == crate::dom::NONE {
            return false;
        }
        if doc.element(id).is_some_and(|e| class_has(e, &TODAY_CLASSES)) {
            return true;
        }
        id = doc.node(id).parent;
    }
    false
}

/// The text of a text node that may hold a date shown to readers (not in a script, a style, the title or
/// a form option), trimmed.
fn visible_text(doc: &Document, id: usize) -> Option<&str> {
    let Data::Text(t) = &doc.nodes[id].data else { return None };
    let t = t.trim();
    if t.is_empty()
        || doc.tag(doc.nodes[id].parent).is_some_and(|t| {
            matches!(t, Tag::Script | Tag::Style | Tag::Title | Tag::Option | Tag::Noscript | Tag::Template)
        })
    {
        return None;
    }
    Some(t)
}

fn labelled_dates(doc: &Document) -> LabelledDates {
    let mut found = LabelledDates::default();
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    for id in 0..doc.nodes.len() {
        let Some(t) = visible_text(doc, id) else { continue };
        if t.len() > 160 {
            continue;
        }
        let Some(m) = DATE_LABEL_WORDS.find(t) else { continue };
        if is_word(t[..m.start()].chars().next_back()) || is_word(t[m.end()..].chars().next()) {
            continue;
        }
        let kind = DATE_LABELS[m.pattern().as_usize()].1;
        let slot = match kind {
            0 => &mut found.original,
            1 => &mut found.published,
            _ => &mut found.updated,
        };
        // "Site last updated" dates the site, not the article.
        let before = t[..m.start()].to_lowercase();
        if slot.is_some() || in_todays_date(doc, id as NodeId) || before.contains("site") {
            continue;
        }
        // The date right after the label, up to a separator or the next label ("Published Dec 2, 2025 |
        // Updated Dec 12, 2025").
        let mut rest = &t[m.end()..];
        if let Some(next) = DATE_LABEL_WORDS.find(rest) {
            rest = &rest[..next.start()];
        }
        let rest = rest.split(['|', '•', '·']).next().unwrap_or("");
        let rest =
            rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '-' | '–' | '—' | ','));
        let rest = ["on ", "at ", "am ", "le ", "el ", "il ", "em "]
            .iter()
            .find_map(|w| rest.get(..w.len()).filter(|p| p.eq_ignore_ascii_case(w)).map(|_| &rest[w.len()..]))
            .unwrap_or(rest)
            .trim();
        let date = if rest.bytes().any(|b| b.is_ascii_digit()) {
            parse_date(rest)
        } else if rest.chars().filter(|c| c.is_alphabetic()).count() <= 3 {
            // A label on its own: the date is in one of the next texts.
            ((id + 1)..doc.nodes.len())
                .filter_map(|n| visible_text(doc, n))
                .take(2)
                .find(|n| n.len() <= 60 && n.bytes().any(|b| b.is_ascii_digit()))
                .and_then(parse_date)
        } else {
            None
        };
        if date.is_some() {
            *slot = date;
            if found.original.is_some() && found.published.is_some() && found.updated.is_some() {
                break;
            }
        }
    }
    found
}

/// A date shown beside the author's name (`<p class="author">Jane Doe</p><small>Dec 17, 2025</small>`, a
/// link to `/author/...` followed by the day): the first author element with a short date in the next
/// few texts.
fn author_box_date(doc: &Document) -> Option<DateTime<Utc>> {
    doc.elements()
        .filter(|(_, e)| {
            class_has(e, &BYLINE_CLASSES)
                || e.tag == Tag::A && e.attr("href").is_some_and(|h| h.contains("/author/"))
        })
        .take(AUTHOR_BOX_TRIES)
        .find_map(|(id, _)| {
            ((id as usize + 1)..doc.nodes.len())
                .filter_map(|n| visible_text(doc, n))
                .take(4)
                .filter(|t| t.len() <= 40 && t.bytes().any(|b| b.is_ascii_digit()))
                .find_map(parse_date)
        })
}

/// How many author elements [`author_box_date`] looks beside.
const AUTHOR_BOX_TRIES: usize = 20;

/// A date written on its own near the headline ("October 3, 2024", "23.07.2025", "Published - Mar 27,
/// 2024"): the first short text after the `<h1>` that reads as a date, else the nearest one before it
/// (bylines often sit above the headline). Without an `<h1>`, the top of the body.
fn text_date(doc: &Document) -> Option<DateTime<Utc>> {
    let h1 = doc.elements().find(|(_, e)| e.tag == Tag::H(1)).map(|(id, _)| id as usize);
    let start = h1.unwrap_or(if doc.body != crate::dom::NONE { doc.body as usize } else { 0 });
    let date_of = |id: usize| -> Option<DateTime<Utc>> {
        let Data::Text(t) = &doc.nodes[id].data else { return None };
        let t = t.trim();
        let parent = doc.nodes[id].parent;
        if t.len() > 60
            || !t.bytes().any(|b| b.is_ascii_digit())
            || t.split_whitespace().count() > 8
            || doc
                .tag(parent)
                .is_some_and(|t| matches!(t, Tag::Script | Tag::Style | Tag::Title | Tag::Option))
            || in_todays_date(doc, parent)
            || is_update_label(t)
        {
            return None;
        }
        parse_date(t)
    };
    let is_text = |id: &usize| matches!(&doc.nodes[*id].data, Data::Text(t) if !t.trim().is_empty());
    let after = ((start + 1)..doc.nodes.len()).filter(is_text).take(TEXT_DATE_LOOKAHEAD).find_map(date_of);
    if after.is_some() || h1.is_none() {
        return after;
    }
    (0..start).rev().filter(is_text).take(TEXT_DATE_LOOKBEHIND).find_map(date_of)
}

/// How many text nodes before the headline [`text_date`] reads when none after it is a date.
const TEXT_DATE_LOOKBEHIND: usize = 15;

/// How many text nodes after the headline [`text_date`] reads.
const TEXT_DATE_LOOKAHEAD: usize = 40;

/// An author named in script data (`"author":{"name":"Jane Doe"}`, `"author":"Jane Doe"`), as
/// frameworks embed the page's state; the first that reads as a person's name.
fn script_author(html: &str) -> Vec<String> {
    for (at, _) in html.match_indices("\"author\"").take(SCRIPT_AUTHOR_TRIES) {
        let rest = html[at + 8..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else { continue };
        let rest = rest.trim_start().trim_start_matches(['[', ' ']);
        let value = if let Some(object) = rest.strip_prefix('{') {
            let window = &object[..crate::dom::truncate_str(object, 300).len()];
            let Some(p) = window.find("\"name\"") else { continue };
            let after = window[p + 6..].trim_start();
            let Some(after) = after.strip_prefix(':') else { continue };
            after.trim_start()
        } else {
            rest
        };
        let Some(value) = value.strip_prefix('"') else { continue };
        let Some(end) = value.find('"') else { continue };
        let names = person_names(&value[..end]);
        if !names.is_empty() {
            return names;
        }
    }
    Vec::new()
}

/// How many `"author"` keys in script data [`script_author`] looks at.
const SCRIPT_AUTHOR_TRIES: usize = 8;

/// A publication date under a well-known key in script data (`"datePublished": "..."`, `publishedAt:"..."`).
fn script_date(html: &str) -> Option<DateTime<FixedOffset>> {
    static KEYS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::new([
            "datePublished",
            "publishedDate",
            "publishDate",
            "published_at",
            "publishedAt",
            "date_published",
            "firstPublishedAt",
            "publicationDate",
            "pubDate",
        ])
        .expect("static patterns compile")
    });
    // Quotes may be written as entities where the data sits in an attribute (`&quot;datePublished&quot;:`).
    let quotes = |s: &str| -> usize {
        let mut rest = s;
        loop {
            let next = rest.trim_start_matches(['"', '\\', '\'']).trim_start_matches("&quot;");
            if next.len() == rest.len() {
                return s.len() - rest.len();
            }
            rest = next;
        }
    };
    for m in KEYS.find_iter(html) {
        let rest = &html[m.end()..];
        let rest = rest[quotes(rest)..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else { continue };
        let rest = rest.trim_start();
        let rest = &rest[quotes(rest)..];
        let end = rest.find(['"', '\\', '\'', ',', '}', '&']).unwrap_or(rest.len()).min(40);
        if let Some(d) = rest.get(..end).and_then(parse_date_local) {
            return Some(d);
        }
    }
    None
}
