//! The HTML tokenizer of newspipe: extraction builds its tree from it (`newspipe-extract`) and discovery
//! reads feed links with it (`newspipe-discover`).
//!
//! [`Tokenizer`] scans bytes rather than characters: text runs, `<script>` and `<style>` bodies and
//! comments are each skipped with one `memchr`/`memmem` search, which is why it is several times faster
//! than html5ever's spec-complete tokenizer (see `docs/decisions/0003-own-html-tokenizer.md`). It covers
//! the syntax that matters for reading pages: start and end tags, attributes (quoted, unquoted, valueless),
//! comments, doctypes and processing instructions (skipped), raw-text, RCDATA and plaintext elements, and
//! character references ([`decode_entities_into`], the WHATWG table). It never backtracks, so its time is
//! linear in the input; it allocates nothing but the attribute list it reuses (and a lower-cased copy of
//! an upper-case tag name).
//!
//! Tokens borrow from the input and are *not* decoded: text and attribute values keep their character
//! references, so a consumer pays for decoding only what it keeps.

use std::borrow::Cow;

mod entities;

pub use entities::{decode_entities, decode_entities_into};

/// How the content of an element is read (the elements of the spec's raw-text, RCDATA and plaintext
/// states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Raw text up to the matching end tag, no markup and no character references (`<script>`, `<style>`).
    Raw,
    /// Text with character references up to the matching end tag (`<title>`, `<textarea>`).
    Rcdata,
    /// Everything to the end of the input is text (`<plaintext>`).
    Plaintext,
}

/// Which elements have raw-text, RCDATA or plaintext content, by lower-case name.
pub type ContentRule = fn(&str) -> Option<Content>;

/// The default [`ContentRule`]: the spec's raw-text elements with scripting enabled (so `<noscript>` is
/// raw text, as in a browser), plus `<template>` (its content is inert; extraction does not read it).
pub fn default_content(name: &str) -> Option<Content> {
    match name {
        "script" | "style" | "noscript" | "iframe" | "template" | "xmp" | "noembed" | "noframes" => {
            Some(Content::Raw)
        }
        "title" | "textarea" => Some(Content::Rcdata),
        "plaintext" => Some(Content::Plaintext),
        _ => None,
    }
}

/// One attribute as written: the name in its original case, the value with its character references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

impl Attribute<'_> {
    /// The name in lower case (borrowed when it already is).
    pub fn lower_name(&self) -> Cow<'_, str> {
        lower(self.name)
    }

    /// The value with its character references decoded, as in an attribute.
    pub fn decoded_value(&self) -> Cow<'_, str> {
        decode_entities(self.value, true)
    }
}

/// A start tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartTag<'t, 'a> {
    /// The tag name in lower case.
    pub name: Cow<'a, str>,
    /// The attributes in source order, duplicates included.
    pub attrs: &'t [Attribute<'a>],
    /// `<br/>`. Always false for an element whose content follows (see [`StartTag::content`]).
    pub self_closing: bool,
    /// False when the input ended inside the tag (the spec drops such a tag; extraction keeps it).
    pub complete: bool,
    /// When the element has raw-text, RCDATA or plaintext content, the next token is its
    /// [`Token::ElementText`] (possibly empty).
    pub content: Option<Content>,
}

impl StartTag<'_, '_> {
    /// The decoded value of the first attribute named `name` (lower case), as the spec keeps the first of
    /// duplicates.
    pub fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
        self.attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name)).map(Attribute::decoded_value)
    }
}

/// What [`Tokenizer::next_token`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'t, 'a> {
    StartTag(StartTag<'t, 'a>),
    /// An end tag, by lower-case name (its attributes are ignored).
    EndTag(Cow<'a, str>),
    /// Character data, never empty, with its character references (and any NUL or CR) as written. A `<`
    /// that starts no tag is a text token of its own.
    Text(&'a str),
    /// The content of the element the preceding start tag opened, as written (up to its end tag or the end
    /// of the input); read it according to `content`.
    ElementText {
        text: &'a str,
        content: Content,
    },
}

/// A byte-level HTML tokenizer over a decoded page; call [`Tokenizer::next_token`] until it returns `None`.
pub struct Tokenizer<'a> {
    html: &'a str,
    pos: usize,
    attrs: Vec<Attribute<'a>>,
    rule: ContentRule,
    /// The content of the element just opened: its kind and lower-case name.
    pending: Option<(Content, Cow<'a, str>)>,
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer with the [`default_content`] rule. A leading byte order mark is skipped.
    pub fn new(html: &'a str) -> Self {
        Self::with_content_rule(html, default_content)
    }

    /// A tokenizer that takes the elements `rule` names for raw-text, RCDATA or plaintext elements.
    pub fn with_content_rule(html: &'a str, rule: ContentRule) -> Self {
        let pos = if html.starts_with('\u{FEFF}') { 3 } else { 0 };
        Tokenizer { html, pos, attrs: Vec::new(), rule, pending: None }
    }

    /// The byte offset of the next token in the input.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next token, or `None` at the end of the input. Comments, doctypes, processing instructions
    /// and `</>` produce no token.
    #[allow(clippy::should_implement_trait)] // a lending iterator: the token borrows the attribute list
    pub fn next_token(&mut self) -> Option<Token<'_, 'a>> {
        let html = self.html;
        let bytes = html.as_bytes();
        if let Some((content, name)) = self.pending.take() {
            let start = self.pos;
            let end = match content {
                Content::Plaintext => bytes.len(),
                _ => find_end_tag(bytes, start, &name).unwrap_or(bytes.len()),
            };
            self.pos = end;
            return Some(Token::ElementText { text: &html[start..end], content });
        }
        loop {
            let i = self.pos;
            if i >= bytes.len() {
                return None;
            }
            let Some(p) = memchr::memchr(b'<', &bytes[i..]) else {
                self.pos = bytes.len();
                return Some(Token::Text(&html[i..]));
            };
            let lt = i + p;
            if lt > i {
                self.pos = lt;
                return Some(Token::Text(&html[i..lt]));
            }
            match bytes.get(lt + 1).copied() {
                Some(b'!') => {
                    if bytes[lt..].starts_with(b"<!--") {
                        // `<!-->` and `<!--->` are complete (empty) comments.
                        let body = lt + 4;
                        self.pos = if bytes[body..].starts_with(b">") {
                            body + 1
                        } else if bytes[body..].starts_with(b"->") {
                            body + 2
                        } else {
                            memchr::memmem::find(&bytes[body..], b"-->").map_or(bytes.len(), |p| body + p + 3)
                        };
                    } else {
                        self.pos = past_gt(bytes, lt);
                    }
                }
                Some(b'?') => self.pos = past_gt(bytes, lt),
                Some(b'/') => {
                    let name_start = lt + 2;
                    if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
                        // `</>` is dropped; `</ x>` and the like are bogus comments.
                        self.pos = past_gt(bytes, lt);
                        continue;
                    }
                    let name_end = tag_name_end(bytes, name_start);
                    self.pos = past_gt(bytes, name_end);
                    return Some(Token::EndTag(lower(&html[name_start..name_end])));
                }
                Some(c) if c.is_ascii_alphabetic() => {
                    let name_start = lt + 1;
                    let name_end = tag_name_end(bytes, name_start);
                    let name = lower(&html[name_start..name_end]);
                    self.attrs.clear();
                    let (self_closing, complete, after) = read_attributes(html, name_end, &mut self.attrs);
                    self.pos = after;
                    let content = (self.rule)(&name);
                    if let Some(content) = content {
                        self.pending = Some((content, name.clone()));
                    }
                    return Some(Token::StartTag(StartTag {
                        name,
                        attrs: &self.attrs,
                        self_closing: self_closing && content.is_none(),
                        complete,
                        content,
                    }));
                }
                _ => {
                    // A `<` that starts no tag is text.
                    self.pos = lt + 1;
                    return Some(Token::Text(&html[lt..lt + 1]));
                }
            }
        }
    }
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) { s.to_ascii_lowercase().into() } else { s.into() }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

fn tag_name_end(bytes: &[u8], mut j: usize) -> usize {
    while j < bytes.len() && !is_space(bytes[j]) && !matches!(bytes[j], b'/' | b'>') {
        j += 1;
    }
    j
}

/// Finds `</name` (ASCII case-insensitive) followed by a space, `/` or `>`, at or after `from`.
fn find_end_tag(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let name = name.as_bytes();
    let mut at = from;
    while let Some(p) = memchr::memchr(b'<', &bytes[at..]) {
        let i = at + p;
        let rest = &bytes[i..];
        if rest.len() >= 2 + name.len()
            && rest[1] == b'/'
            && rest[2..2 + name.len()].eq_ignore_ascii_case(name)
            && rest.get(2 + name.len()).is_none_or(|&b| is_space(b) || b == b'/' || b == b'>')
        {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

/// Index just past the next `>` at or after `from`, or the end of input.
fn past_gt(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'>', &bytes[from..]).map_or(bytes.len(), |p| from + p + 1)
}

/// Reads one start tag's attributes from `html[i..]` into `attrs`; returns whether the tag was
/// self-closing, whether it was complete (ended by `>`), and the index just past the `>` (or the end of
/// input for a truncated tag).
fn read_attributes<'a>(html: &'a str, mut i: usize, attrs: &mut Vec<Attribute<'a>>) -> (bool, bool, usize) {
    let bytes = html.as_bytes();
    let mut self_closing = false;
    loop {
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            return (self_closing, false, i);
        }
        match bytes[i] {
            b'>' => return (self_closing, true, i + 1),
            b'/' => {
                self_closing = bytes.get(i + 1) == Some(&b'>');
                i += 1;
                continue;
            }
            _ => {}
        }
        self_closing = false;
        let name_start = i;
        // The first character may be `=` (the spec allows it as part of a name).
        i += 1;
        while i < bytes.len() && !is_space(bytes[i]) && !matches!(bytes[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let name_end = i;
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        let mut value: &str = "";
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let start = i + 1;
                let end = memchr::memchr(quote, &bytes[start..]).map_or(bytes.len(), |p| start + p);
                value = &html[start..end];
                i = (end + 1).min(bytes.len());
            } else {
                let start = i;
                while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
                    i += 1;
                }
                value = &html[start..i];
            }
        }
        attrs.push(Attribute { name: &html[name_start..name_end], value });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokens of `html` in a readable form.
    fn tokens(html: &str) -> Vec<String> {
        let mut t = Tokenizer::new(html);
        let mut out = Vec::new();
        while let Some(token) = t.next_token() {
            out.push(match token {
                Token::StartTag(tag) => {
                    let attrs: Vec<String> =
                        tag.attrs.iter().map(|a| format!(" {}={:?}", a.name, a.value)).collect();
                    let close = if tag.self_closing { "/" } else { "" };
                    let cut = if tag.complete { "" } else { "…" };
                    format!("<{}{}{close}>{cut}", tag.name, attrs.concat())
                }
                Token::EndTag(name) => format!("</{name}>"),
                Token::Text(text) => format!("{text:?}"),
                Token::ElementText { text, content } => format!("{content:?}{text:?}"),
            });
        }
        out
    }

    #[test]
    fn tags_attributes_and_text_are_tokens() {
        assert_eq!(
            tokens("<!doctype html><P Class=x id='a b' hidden>one &amp; <br/>two</p>"),
            [r#"<p Class="x" id="a b" hidden="">"#, r#""one &amp; ""#, "<br/>", r#""two""#, "</p>"]
        );
    }

    #[test]
    fn comments_doctypes_and_processing_instructions_give_no_token() {
        assert_eq!(
            tokens("a<!-- <b> -->b<!-->c<!--->d<?xml x?>e<!DOCTYPE html></>f"),
            [r#""a""#, r#""b""#, r#""c""#, r#""d""#, r#""e""#, r#""f""#]
        );
    }

    #[test]
    fn raw_text_elements_hold_their_markup_as_text() {
        assert_eq!(
            tokens("<script>a</div>b</script ><title>x &amp; <b></title><style/>s</style>"),
            [
                "<script>",
                r#"Raw"a</div>b""#,
                "</script>",
                "<title>",
                r#"Rcdata"x &amp; <b>""#,
                "</title>",
                "<style>",
                r#"Raw"s""#,
                "</style>"
            ]
        );
        assert_eq!(tokens("<plaintext></plaintext><p>"), ["<plaintext>", r#"Plaintext"</plaintext><p>""#]);
    }

    #[test]
    fn a_stray_less_than_sign_is_text_and_a_cut_tag_is_incomplete() {
        assert_eq!(tokens("a < b"), [r#""a ""#, r#""<""#, r#"" b""#]);
        assert_eq!(tokens("<link href=\"/cut"), [r#"<link href="/cut">…"#]);
        assert_eq!(tokens("<script>x"), ["<script>", r#"Raw"x""#]);
    }

    #[test]
    fn the_content_rule_can_be_changed() {
        let mut t = Tokenizer::with_content_rule("<noscript><link></noscript>", |name| {
            (name == "script").then_some(Content::Raw)
        });
        let mut names = Vec::new();
        while let Some(token) = t.next_token() {
            if let Token::StartTag(tag) = token {
                names.push(tag.name.into_owned());
            }
        }
        assert_eq!(names, ["noscript", "link"]);
    }

    #[test]
    fn attr_finds_the_first_of_duplicates_and_decodes_it() {
        let mut t = Tokenizer::new("<a HREF='/x?a=1&amp;b=2' href=/y>");
        let Some(Token::StartTag(tag)) = t.next_token() else { panic!("a start tag") };
        assert_eq!(tag.attr("href").as_deref(), Some("/x?a=1&b=2"));
        assert_eq!(tag.attr("title"), None);
    }
}
