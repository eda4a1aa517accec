//! The article that JavaScript-built pages carry in their own data, for pages whose markup has (almost)
//! no body.
//!
//! Tried in this order, each source giving its best candidate (see [`walk`] for the rule):
//! 1. JSON-LD `articleBody` of an article object (`NewsArticle`, `Article`, `BlogPosting`, ..., also
//!    inside `@graph`);
//! 2. Next.js: `<script id="__NEXT_DATA__" type="application/json">` (the article is under
//!    `props.pageProps`; an Apollo cache there resolves `__ref`s);
//! 3. inline `window.__INITIAL_STATE__ = {...}`, `__PRELOADED_STATE__`, `__APOLLO_STATE__` and Nuxt 2's
//!    `__NUXT__`, when the value is a JSON literal (cut where the value ends, so a trailing `;` and more
//!    code are fine) or `JSON.parse("...")`/`JSON.parse('...')`; bare `undefined` reads as `null`. A
//!    function call (`window.__NUXT__=(function(a,b){...})(...)`) is skipped;
//! 4. Nuxt 3: `<script id="__NUXT_DATA__" type="application/json">`, the flattened `devalue` array
//!    ([`nuxt`]).
//!
//! The first source whose candidate has at least 80% of the longest candidate's text is used (a JSON-LD
//! `articleBody` cut to a teaser gives way to the full body in the app state); if its body comes out
//! under [`MIN_EMBEDDED_WORDS`] words, the next is tried. The candidate, an HTML fragment, goes through
//! [`dom::parse`] and the same body extraction as a page, so text and Markdown are written the same way.
//!
//! Bounds: a JSON text over [`MAX_JSON_BYTES`] is not parsed; serde_json refuses nesting deeper than 128;
//! the walk and the Nuxt rebuild stop at their own limits; no source is started past the deadline.

pub(crate) mod nuxt;
pub(crate) mod scan;
mod walk;

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::content::{self, Body};
use crate::dom::{self, Document, Tag};
use crate::metadata::json_ld;

/// JSON texts longer than this are not parsed.
pub(crate) const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;
/// An embedded body with fewer words is not used.
pub(crate) const MIN_EMBEDDED_WORDS: usize = 50;
/// Candidates turned into bodies at most, per page.
const MAX_TRIES: usize = 4;

/// The article found in the page's data.
#[derive(Debug)]
pub(crate) struct Embedded {
    pub body: Body,
    /// The title, date and authors of the object the body came from (used only where the page's own
    /// metadata has none).
    pub title: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
}

/// The embedded article of a parsed page. `title` is the page's headline (it picks among candidates and
/// drops a heading that repeats it).
pub(crate) fn find(
    doc: &Document,
    html: &str,
    url: &str,
    title: Option<&str>,
    deadline: Instant,
) -> Option<Embedded> {
    let mut sources: Vec<walk::Candidate> = Vec::new();
    let ld_scripts: Vec<String> = doc
        .elements()
        .filter(|(_, e)| {
            e.tag == Tag::Script
                && e.attr("type").is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"))
        })
        .map(|(id, _)| doc.text(id))
        .collect();
    if !ld_scripts.is_empty()
        && let Some(c) =
            json_ld::article_bodies(&ld_scripts).first().and_then(|b| walk::candidate_from_text(b))
    {
        sources.push(c);
    }
    let scan = scan::scan(html);
    if let Some(text) = scan.next_data
        && Instant::now() < deadline
        && let Some(v) = parse_json(text)
    {
        let refs =
            ["/props/pageProps/__APOLLO_STATE__", "/props/apolloState", "/props/pageProps/apolloState"]
                .iter()
                .find_map(|p| v.pointer(p).and_then(Value::as_object));
        sources.extend(walk::best(walk::candidates(&v, refs), title));
    }
    for (name, text) in &scan.states {
        if Instant::now() >= deadline {
            break;
        }
        if let Some(v) = parse_assigned(text) {
            let refs = if *name == "__APOLLO_STATE__" { v.as_object() } else { None };
            sources.extend(walk::best(walk::candidates(&v, refs), title));
        }
    }
    if let Some(text) = scan.nuxt_data
        && Instant::now() < deadline
        && let Some(tree) = parse_json(text).as_ref().and_then(nuxt::resolve)
    {
        sources.extend(walk::best(walk::candidates(&tree, None), title));
    }
    choose(sources, url, title, deadline)
}

/// Turns the preferred candidates into bodies until one is long enough.
fn choose(
    sources: Vec<walk::Candidate>,
    url: &str,
    title: Option<&str>,
    deadline: Instant,
) -> Option<Embedded> {
    let longest = sources.iter().map(|c| c.chars).max()?;
    let (mut order, mut rest): (Vec<_>, Vec<_>) =
        sources.into_iter().partition(|c| c.chars * 5 >= longest * 4);
    rest.sort_by_key(|c| std::cmp::Reverse(c.chars));
    order.extend(rest);
    for c in order.into_iter().take(MAX_TRIES) {
        if Instant::now() >= deadline {
            return None;
        }
        let page = format!("<html><body><article>{}</article></body></html>", c.html);
        let doc = dom::parse(&page, Some(deadline));
        if doc.timed_out {
            return None;
        }
        let body = content::extract_body(&doc, url, title.or(c.title.as_deref()));
        if body.text.split_whitespace().count() >= MIN_EMBEDDED_WORDS {
            return Some(Embedded {
                body,
                title: c.title,
                published_at: c.published.as_ref().and_then(date_of),
                authors: c.authors,
            });
        }
    }
    None
}

fn date_of(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => crate::parse_date(s),
        Value::Number(n) => {
            let n = n.as_f64()?;
            // Epoch milliseconds (JavaScript's Date.now()) or seconds, between 1990 and 2100.
            let secs = if n > 1e11 { n / 1000.0 } else { n };
            if !(631_152_000.0..=4_102_444_800.0).contains(&secs) {
                return None;
            }
            DateTime::from_timestamp(secs as i64, 0)
        }
        _ => None,
    }
}

/// A whole JSON text (a data script), unless it is too large or not JSON.
fn parse_json(text: &str) -> Option<Value> {
    let text = text.trim();
    let text = text.strip_prefix("<!--").unwrap_or(text).trim_end_matches("-->").trim();
    if text.len() > MAX_JSON_BYTES || !(text.starts_with('{') || text.starts_with('[')) {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// The value assigned in `NAME = <text>`: a JSON literal (read to its end; what follows is ignored) or
/// `JSON.parse(<string literal>)`. Anything else (a function call, an identifier) is `None`.
pub(crate) fn parse_assigned(text: &str) -> Option<Value> {
    let t = dom::truncate_str(text.trim_start(), MAX_JSON_BYTES);
    if let Some(rest) = t.strip_prefix("JSON.parse(") {
        let rest = rest.trim_start();
        let inner = if rest.starts_with('"') {
            match first_value(rest)? {
                Value::String(s) => s,
                _ => return None,
            }
        } else if rest.starts_with('\'') {
            js_single_quoted(rest)?
        } else {
            return None;
        };
        return serde_json::from_str(&inner).ok();
    }
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    first_value(t).or_else(|| first_value(&undefined_as_null(t)?))
}

/// The first JSON value at the start of `s` (what follows it is not read).
fn first_value(s: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(s).into_iter::<Value>().next()?.ok()
}

/// `s` with the bare word `undefined` (outside strings) written as `null`, as serialisers of JavaScript
/// state emit it; `None` when there is none.
fn undefined_as_null(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'u'
            && bytes[i..].starts_with(b"undefined")
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'_')
            && bytes.get(i + 9).is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_')
        {
            out.push_str(&s[last..i]);
            out.push_str("null");
            i += 9;
            last = i;
            changed = true;
            continue;
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&s[last..]);
    Some(out)
}

/// The value of a single-quoted JavaScript string literal at the start of `s`.
fn js_single_quoted(s: &str) -> Option<String> {
    let mut chars = s.strip_prefix('\'')?.chars();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\'' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '0' => out.push('\0'),
                '\n' => {}
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let unit = u32::from_str_radix(&hex, 16).ok()?;
                    if (0xD800..0xDC00).contains(&unit) {
                        // A surrogate pair: the low half follows as \uXXXX.
                        let low: String = chars.by_ref().take(6).collect();
                        let low = u32::from_str_radix(low.strip_prefix("\\u")?, 16).ok()?;
                        let c = 0x10000 + ((unit - 0xD800) << 10) + (low.checked_sub(0xDC00)? & 0x3FF);
                        out.push(char::from_u32(c)?);
                    } else {
                        out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
                    }
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assigned_literal_is_read_to_its_end_and_what_follows_is_ignored() {
        let v = parse_assigned(r#" {"a": [1, 2], "b": "x;y"};window.other = 1;"#);
        assert_eq!(v, Some(serde_json::json!({"a": [1, 2], "b": "x;y"})));
        let v = parse_assigned(r#"{"a": undefined, "b": "undefined"};"#);
        assert_eq!(v, Some(serde_json::json!({"a": null, "b": "undefined"})));
    }

    #[test]
    fn json_parse_of_a_string_literal_is_read_in_both_quotes() {
        let v = parse_assigned(r#"JSON.parse("{\"a\":\"caf\u00e9\"}");"#);
        assert_eq!(v, Some(serde_json::json!({"a": "café"})));
        let v = parse_assigned(r#"JSON.parse('{"a":"it\'s \u00e9"}');"#);
        assert_eq!(v, Some(serde_json::json!({"a": "it's é"})));
    }

    #[test]
    fn a_function_call_or_an_identifier_is_not_read() {
        assert_eq!(parse_assigned("(function(a,b){return {x:a}}(1,2));"), None);
        assert_eq!(parse_assigned("someVariable;"), None);
        assert_eq!(parse_assigned("{not: json}"), None);
    }
}
