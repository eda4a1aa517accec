//! Authors: JSON-LD and meta names, bylines in the markup, author boxes and framework state in scripts,
//! cleaned into person names.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::dom::{Document, Tag};
use crate::util::html_unescape;

use super::json_ld::JsonLd;
use super::{Metas, class_has, words};

pub(super) fn choose_authors(doc: &Document, html: &str, ld: &JsonLd, metas: &Metas) -> Vec<String> {
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
pub(crate) fn clean_author(raw: &str) -> Vec<String> {
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

pub(super) static BYLINE_CLASSES: LazyLock<AhoCorasick> =
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
