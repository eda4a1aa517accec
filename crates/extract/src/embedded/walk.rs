//! Finding the article in framework data: a JSON walk for objects that carry an article body.
//!
//! The rule, from the shapes news sites' frameworks emit:
//! - A *body key* holds the text. Keys that only ever mean an article body (`articleBody`, `bodyHtml`,
//!   `body_html`, `contentHtml`, `content_html`, `articleBodyHtml`, `htmlBody`, `bodyText`) count
//!   wherever they are; generic keys (`body`, `content`, `text`, `html`, `blocks`, `paragraphs`,
//!   `contentBlocks`, `content_blocks`, `bodyBlocks`) only in an object that has a headline or title, or
//!   whose parent has one (a `body: {blocks: [...]}` inside the story).
//! - The value may be a string (HTML when it has tags, else plain text in paragraphs split at blank lines or
//!   line breaks), an object with `rendered`/`html`/`text`/`value` (WordPress REST's `content.rendered`),
//!   or an array of blocks: strings, or objects whose `type` (also `_type`, `__typename`, `nodeType`,
//!   `blockType`, `kind`, `blockName`) is not media, embed, ad or teaser, with their text in `text`,
//!   `content`, `html`, `value`, `innerHTML`, in `data`/`attributes` (Editor.js, Gutenberg), or in
//!   `children`/`content`/`spans` runs (Sanity portable text, Contentful rich text).
//! - Every candidate becomes an HTML fragment (plain text escaped into `<p>`), measured by its visible
//!   characters. The best is the longest whose title matches the page's title, else the longest.
//! - The title (`headline`, `title`), the publication date (`datePublished`, `publishedAt`, `published_at`,
//!   `firstPublished`, ...) and the authors (`author`, `authors`, `byline`, `creator`) come from the
//!   candidate's object, else its parent. Apollo's `{"__ref": "Type:id"}` references resolve through the
//!   normalised cache where one is given.
//!
//! Bounds: at most [`MAX_VISITS`] values are looked at and [`MAX_DEPTH`] levels descended; the caller caps
//! the JSON's size before parsing it.

use serde_json::{Map, Value};

use crate::metadata::title::title_key;

/// Values looked at in one JSON document.
pub(crate) const MAX_VISITS: usize = 1_000_000;
/// Levels of nesting descended.
pub(crate) const MAX_DEPTH: usize = 96;
/// Candidates shorter than this (visible characters) are not kept: labels, teasers, descriptions.
const MIN_CANDIDATE_CHARS: usize = 200;
/// Candidates kept from one document (the longest are kept when there are more).
const MAX_CANDIDATES: usize = 64;

const SPECIFIC_BODY_KEYS: &[&str] = &[
    "articleBody",
    "bodyHtml",
    "body_html",
    "contentHtml",
    "content_html",
    "articleBodyHtml",
    "htmlBody",
    "bodyText",
];
const GENERIC_BODY_KEYS: &[&str] = &[
    "body",
    "content",
    "text",
    "html",
    "blocks",
    "paragraphs",
    "contentBlocks",
    "content_blocks",
    "bodyBlocks",
];
const TITLE_KEYS: &[&str] = &["headline", "title", "seoTitle", "headlineText"];
const DATE_KEYS: &[&str] = &[
    "datePublished",
    "publishedAt",
    "published_at",
    "firstPublished",
    "firstPublishedAt",
    "first_published_at",
    "publishDate",
    "publishedDate",
    "published_date",
    "publicationDate",
    "date_gmt",
    "displayDate",
];
const AUTHOR_KEYS: &[&str] = &["author", "authors", "byline", "creator", "creators"];
const TYPE_KEYS: &[&str] = &["type", "_type", "__typename", "nodeType", "blockType", "kind", "blockName"];
const BLOCK_TEXT_KEYS: &[&str] = &["text", "content", "html", "value", "body", "innerHTML", "markup"];
const BLOCK_RUN_KEYS: &[&str] = &["children", "content", "spans", "inlines"];

/// One body found in the data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Candidate {
    /// The body as an HTML fragment.
    pub html: String,
    /// Its visible characters (outside tags).
    pub chars: usize,
    pub title: Option<String>,
    /// The publication date as written (a string, or epoch seconds or milliseconds as a number).
    pub published: Option<Value>,
    pub authors: Vec<String>,
}

struct Walker<'r> {
    out: Vec<Candidate>,
    visits: usize,
    /// Apollo's normalised cache, for `__ref` references.
    refs: Option<&'r Map<String, Value>>,
}

/// Every candidate body in `root`, longest first (at most [`MAX_CANDIDATES`]).
pub(crate) fn candidates(root: &Value, refs: Option<&Map<String, Value>>) -> Vec<Candidate> {
    let mut w = Walker { out: Vec::new(), visits: 0, refs };
    w.walk(root, None, 0);
    w.out.sort_by_key(|c| std::cmp::Reverse(c.chars));
    w.out
}

/// The candidate to use: the longest whose title matches `page_title`, else the longest.
pub(crate) fn best(mut found: Vec<Candidate>, page_title: Option<&str>) -> Option<Candidate> {
    let key = page_title.map(title_key).filter(|k| k.chars().count() >= 8);
    let matching = key.and_then(|key| {
        found.iter().position(|c| {
            c.title.as_deref().map(title_key).is_some_and(|t| {
                t == key || (t.chars().count() >= 8 && (key.contains(&t) || t.contains(&key)))
            })
        })
    });
    // `found` is longest first: the first match is the longest match.
    let at = matching.unwrap_or(0);
    (at < found.len()).then(|| found.swap_remove(at))
}

/// A candidate from a string that is known to be an article body (JSON-LD `articleBody`).
pub(crate) fn candidate_from_text(text: &str) -> Option<Candidate> {
    let (html, chars) = string_fragment(text);
    (chars > 0).then_some(Candidate { html, chars, ..Candidate::default() })
}

impl Walker<'_> {
    fn deref<'a>(&'a self, v: &'a Value) -> &'a Value {
        if let (Some(refs), Value::Object(o)) = (self.refs, v)
            && o.len() == 1
            && let Some(Value::String(id)) = o.get("__ref")
            && let Some(target) = refs.get(id)
        {
            return target;
        }
        v
    }

    fn walk(&mut self, v: &Value, parent: Option<&Map<String, Value>>, depth: usize) {
        self.visits += 1;
        if depth > MAX_DEPTH || self.visits > MAX_VISITS {
            return;
        }
        match v {
            Value::Array(a) => {
                for x in a {
                    if matches!(x, Value::Array(_) | Value::Object(_)) {
                        self.walk(x, parent, depth + 1);
                    }
                    if self.visits > MAX_VISITS {
                        return;
                    }
                }
            }
            Value::Object(o) => {
                self.look_at(o, parent);
                for x in o.values() {
                    if matches!(x, Value::Array(_) | Value::Object(_)) {
                        self.walk(x, Some(o), depth + 1);
                    }
                    if self.visits > MAX_VISITS {
                        return;
                    }
                }
            }
            _ => {}
        }
    }

    /// Keeps the bodies `o` carries.
    fn look_at(&mut self, o: &Map<String, Value>, parent: Option<&Map<String, Value>>) {
        let own_title = title_of(o);
        let titled = own_title.is_some() || parent.is_some_and(|p| title_of(p).is_some());
        for (k, v) in o {
            let specific = SPECIFIC_BODY_KEYS.contains(&k.as_str());
            if !(specific || titled && GENERIC_BODY_KEYS.contains(&k.as_str())) {
                continue;
            }
            let v = self.deref(v);
            let Some((html, chars)) = self.body_fragment(v) else { continue };
            if chars < MIN_CANDIDATE_CHARS {
                continue;
            }
            let title = own_title.clone().or_else(|| parent.and_then(title_of));
            let published = date_of(o).or_else(|| parent.and_then(date_of));
            let mut authors = self.authors_of(o);
            if authors.is_empty()
                && let Some(p) = parent
            {
                authors = self.authors_of(p);
            }
            self.keep(Candidate { html, chars, title, published, authors });
        }
    }

    fn keep(&mut self, c: Candidate) {
        if self.out.len() >= MAX_CANDIDATES {
            // Replace the shortest kept, if this one is longer.
            if let Some((i, shortest)) = self.out.iter().enumerate().min_by_key(|(_, c)| c.chars)
                && shortest.chars < c.chars
            {
                self.out[i] = c;
            }
            return;
        }
        self.out.push(c);
    }

    /// The HTML fragment of a body value and its visible characters.
    fn body_fragment(&self, v: &Value) -> Option<(String, usize)> {
        match v {
            Value::String(s) => Some(string_fragment(s)),
            Value::Object(o) => ["rendered", "html", "text", "value", "raw"]
                .iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .map(string_fragment),
            Value::Array(a) => {
                let mut html = String::new();
                let mut chars = 0;
                for block in a.iter().take(2000) {
                    chars += self.block_html(self.deref(block), &mut html);
                }
                (chars > 0).then_some((html, chars))
            }
            _ => None,
        }
    }

    /// Appends one block of a block array as HTML; returns its visible characters.
    fn block_html(&self, block: &Value, html: &mut String) -> usize {
        match block {
            Value::String(s) => push_block(html, "p", s),
            Value::Object(o) => {
                let ty = TYPE_KEYS.iter().find_map(|k| o.get(*k).and_then(Value::as_str)).unwrap_or("");
                let ty = ty.to_ascii_lowercase();
                if !is_text_type(&ty) {
                    return 0;
                }
                let style = o.get("style").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
                let tag = if ty.contains("heading")
                    || ty.contains("header")
                    || ty.contains("subhead")
                    || matches!(ty.as_str(), "h2" | "h3" | "h4")
                    || matches!(style.as_str(), "h2" | "h3" | "h4" | "h5")
                {
                    "h2"
                } else if ty.contains("quote") || style == "blockquote" {
                    "blockquote"
                } else {
                    "p"
                };
                if ty.contains("list")
                    && let Some(Value::Array(items)) =
                        o.get("items").or_else(|| o.get("data").and_then(|d| d.get("items")))
                {
                    let mut chars = 0;
                    html.push_str("<ul>");
                    for item in items.iter().take(500) {
                        let mut text = String::new();
                        inline_text(item, &mut text, 0);
                        chars += push_block(html, "li", &text);
                    }
                    html.push_str("</ul>");
                    return chars;
                }
                let mut text = String::new();
                block_text(o, &mut text, 0);
                push_block(html, tag, &text)
            }
            _ => 0,
        }
    }

    fn authors_of(&self, o: &Map<String, Value>) -> Vec<String> {
        let mut out = Vec::new();
        for k in AUTHOR_KEYS {
            if let Some(v) = o.get(*k) {
                self.names(v, &mut out, 0);
            }
            if !out.is_empty() {
                break;
            }
        }
        out.truncate(10);
        out
    }

    fn names(&self, v: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 3 || out.len() >= 10 {
            return;
        }
        match self.deref(v) {
            Value::String(s) => out.extend(crate::metadata::authors::clean_author(s)),
            Value::Array(a) => a.iter().take(20).for_each(|x| self.names(x, out, depth + 1)),
            Value::Object(o) => {
                let name = ["name", "displayName", "display_name", "fullName", "full_name", "byline"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string))
                    .or_else(|| {
                        let first = o.get("firstName").or_else(|| o.get("first_name"))?.as_str()?;
                        let last = o.get("lastName").or_else(|| o.get("last_name"))?.as_str()?;
                        Some(format!("{first} {last}"))
                    });
                if let Some(name) = name {
                    out.extend(crate::metadata::authors::clean_author(&name));
                }
            }
            _ => {}
        }
    }
}

fn title_of(o: &Map<String, Value>) -> Option<String> {
    TITLE_KEYS.iter().find_map(|k| match o.get(*k)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty() && s.len() < 1000),
        // WordPress REST: "title": {"rendered": "..."}.
        Value::Object(t) => t
            .get("rendered")
            .and_then(Value::as_str)
            .map(|s| crate::util::html_unescape(s.trim()))
            .filter(|s| !s.is_empty() && s.len() < 1000),
        _ => None,
    })
}

fn date_of(o: &Map<String, Value>) -> Option<Value> {
    DATE_KEYS.iter().find_map(|k| match o.get(*k)? {
        v @ (Value::String(_) | Value::Number(_)) => Some(v.clone()),
        _ => None,
    })
}

/// Block types that carry no article text.
fn is_text_type(ty: &str) -> bool {
    const MEDIA: &[&str] = &[
        "image",
        "photo",
        "picture",
        "video",
        "audio",
        "embed",
        "iframe",
        "tweet",
        "twitter",
        "instagram",
        "facebook",
        "youtube",
        "tiktok",
        "gallery",
        "slideshow",
        "related",
        "newsletter",
        "promo",
        "recirc",
        "teaser",
        "podcast",
        "chart",
        "map",
        "interactive",
        "social",
        "advert",
        "adslot",
        "sponsor",
        "raw_html",
        "oembed",
        "widget",
        "button",
        "divider",
        "separator",
        "spacer",
        "code_embed",
    ];
    if ty == "ad" || ty == "ads" || ty.starts_with("ad_") || ty.starts_with("ad-") || ty.ends_with("_ad") {
        return false;
    }
    !MEDIA.iter().any(|m| ty.contains(m))
}

/// The text of a block object: a text key, then `data`/`attributes` (one level), then runs of spans.
fn block_text(o: &Map<String, Value>, out: &mut String, depth: usize) {
    if depth > 4 {
        return;
    }
    for k in BLOCK_TEXT_KEYS {
        if let Some(Value::String(s)) = o.get(*k) {
            out.push_str(s);
            return;
        }
    }
    for k in ["data", "attributes", "attrs"] {
        if let Some(Value::Object(inner)) = o.get(k) {
            let before = out.len();
            block_text(inner, out, depth + 1);
            if out.len() > before {
                return;
            }
        }
    }
    for k in BLOCK_RUN_KEYS {
        if let Some(Value::Array(runs)) = o.get(*k) {
            for r in runs.iter().take(1000) {
                inline_text(r, out, depth + 1);
            }
            return;
        }
    }
}

/// The text of an inline run (a string, a span object, or a list of them).
fn inline_text(v: &Value, out: &mut String, depth: usize) {
    if depth > 6 {
        return;
    }
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(a) => a.iter().take(1000).for_each(|x| inline_text(x, out, depth + 1)),
        Value::Object(o) => block_text(o, out, depth + 1),
        _ => {}
    }
}

/// Appends `<tag>text</tag>` (text escaped unless it is HTML); returns the visible characters added.
fn push_block(html: &mut String, tag: &str, text: &str) -> usize {
    let text = text.trim();
    if text.is_empty() {
        return 0;
    }
    html.push('<');
    html.push_str(tag);
    html.push('>');
    let chars = if looks_like_html(text) {
        html.push_str(text);
        visible_chars(text)
    } else {
        push_escaped(html, text);
        text.chars().count()
    };
    html.push_str("</");
    html.push_str(tag);
    html.push('>');
    chars
}

/// A body string as an HTML fragment: as it is when it has markup, else its paragraphs (split at blank
/// lines, or at line breaks when it has none) escaped into `<p>`.
fn string_fragment(s: &str) -> (String, usize) {
    if looks_like_html(s) {
        return (s.to_string(), visible_chars(s));
    }
    let mut html = String::with_capacity(s.len() + 64);
    let mut chars = 0;
    let paragraphs: Box<dyn Iterator<Item = &str>> =
        if s.contains("\n\n") { Box::new(s.split("\n\n")) } else { Box::new(s.split('\n')) };
    for p in paragraphs {
        chars += push_block(&mut html, "p", p);
    }
    (html, chars)
}

/// Whether a string is markup: it has a closing tag, a `<p>` or a `<br>`.
pub(crate) fn looks_like_html(s: &str) -> bool {
    let Some(first) = s.find('<') else { return false };
    let rest = &s[first..];
    rest.contains("</") || rest.contains("<p>") || rest.contains("<p ") || rest.contains("<br")
}

/// Characters outside tags (entities counted as written).
fn visible_chars(s: &str) -> usize {
    let mut in_tag = false;
    let mut n = 0;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => n += 1,
            _ => {}
        }
    }
    n
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
}
