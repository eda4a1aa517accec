//! Finding publication and modification dates in a page (`<time>` elements, bylines, labelled dates,
//! author boxes, text near the headline, framework state in scripts); [`parse`] reads the dates found.

pub(crate) mod parse;

pub(crate) use parse::{date_from_url, parse_date, parse_date_local};

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use chrono::{DateTime, FixedOffset, Utc};

use crate::dom::{Data, Document, NodeId, Tag};

use super::authors::BYLINE_CLASSES;
use super::{class_has, words};

static PUBLISHED_CLASSES: LazyLock<AhoCorasick> = LazyLock::new(|| words(&["publish", "posted", "date"]));
static PUBLISHED_TIME_CLASSES: LazyLock<AhoCorasick> =
    LazyLock::new(|| words(&["publish", "posted", "entry-date"]));
static UPDATED_CLASSES: LazyLock<AhoCorasick> = LazyLock::new(|| words(&["update", "modif"]));
static DATE_CLASSES: LazyLock<AhoCorasick> =
    LazyLock::new(|| words(&["date", "published", "posted", "timestamp", "byline", "meta", "time"]));

/// `<time datetime>` (or microdata `datePublished`) in the page; a `pubdate` or published-looking one first.
pub(super) fn time_element_date(doc: &Document) -> Option<DateTime<FixedOffset>> {
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
pub(super) fn byline_date(doc: &Document) -> Option<DateTime<Utc>> {
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
pub(super) struct LabelledDates {
    pub(super) original: Option<DateTime<Utc>>,
    pub(super) published: Option<DateTime<Utc>>,
    pub(super) updated: Option<DateTime<Utc>>,
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

pub(super) fn labelled_dates(doc: &Document) -> LabelledDates {
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
pub(super) fn author_box_date(doc: &Document) -> Option<DateTime<Utc>> {
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
pub(super) fn text_date(doc: &Document) -> Option<DateTime<Utc>> {
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

/// A publication date under a well-known key in script data (`"datePublished": "..."`, `publishedAt:"..."`).
pub(super) fn script_date(html: &str) -> Option<DateTime<FixedOffset>> {
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
