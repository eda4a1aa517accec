//! What marks an element or a line as boilerplate or as the article: class and id word lists (one
//! automaton for all), elements that are never content, hidden elements, and the short lines (prompts,
//! teasers, datelines, bylines) that are dropped from the rendered body.

use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use crate::dom::{Element, Tag};

/// Class and id words that mark boilerplate wherever they appear as a whole word.
const NEGATIVE_WORDS: &[&str] = &[
    "ad",
    "ads",
    "adv",
    "advert",
    "advertisement",
    "advertising",
    "banner",
    "breadcrumb",
    "breadcrumbs",
    "byline",
    "comment",
    "comments",
    "cookie",
    "cookies",
    "consent",
    "credit",
    "credits",
    "disclaimer",
    "dateline",
    "footer",
    "masthead",
    "menu",
    "modal",
    "nav",
    "navbar",
    "navigation",
    "newsletter",
    "outbrain",
    "pagination",
    "pager",
    "popular",
    "popup",
    "promo",
    "related",
    "recommended",
    "share",
    "sharing",
    "sidebar",
    "social",
    "sponsor",
    "sponsored",
    "subscribe",
    "subscription",
    "taboola",
    "tags",
    "toolbar",
    "trending",
    "signup",
    "login",
    "counters",
    "syndication",
    "skip",
    "caption",
    "author",
    "bio",
    "teaser",
    "teasers",
    "promoted",
    "breaking",
    "ticker",
    "rating",
    "reactions",
    "donate",
    "paywall",
    "sr",
    "visually",
    "offscreen",
    "newsletters",
    "readmore",
    "recirc",
    "tagline",
    "keywords",
    "overlay",
    "dialog",
    "feedback",
];

/// Fragments that mark boilerplate anywhere inside a class or id.
const NEGATIVE_FRAGMENTS: &[&str] = &[
    "comment",
    "disqus",
    "newsletter",
    "cookie",
    "advert",
    "sharing",
    "share-",
    "social",
    "related",
    "recommend",
    "outbrain",
    "taboola",
    "breadcrumb",
    "sidebar",
    "subscribe",
    "signup",
    "sign-up",
    "promo",
    "sponsor",
    "trending",
    "popular",
    "read-more",
    "readmore",
    "more-stories",
    "also-",
    "byline",
    "author-info",
    "author-bio",
    "post-meta",
    "entry-meta",
    "article-meta",
    "share_",
    "sharebar",
    "sociallinks",
    "adslot",
    "ad-slot",
    "ad-container",
    "ad-wrapper",
    "gdpr",
    "consent",
    "paywall",
    "most-read",
    "mostread",
    "screen-reader",
    "sr-only",
    "visually-hidden",
    "skip-link",
    "infobox-related",
    "tag-list",
    "taglist",
    "tags-",
    "-tags",
    "post-tags",
    "read-next",
    "next-post",
    "prev-post",
    "previous-post",
    "pagination",
    "media__footer",
    "wp-caption-text",
    "image-credit",
    "photo-credit",
    "nocontent",
];

/// Class and id words that mark the article body.
const POSITIVE_WORDS: &[&str] = &[
    "article",
    "body",
    "content",
    "entry",
    "main",
    "post",
    "story",
    "text",
    "blog",
    "prose",
    "articlebody",
    "post-content",
    "entry-content",
    "article-body",
    "story-body",
    "article-content",
];

fn words_of(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty())
}

/// Class/id matching, built once: a word set and one automaton over all fragments, so each element costs
/// one pass over its class and id instead of a substring search per fragment.
struct ClassMatcher {
    negative_words: HashSet<&'static str>,
    positive_words: HashSet<&'static str>,
    negative_fragments: AhoCorasick,
    positive_fragments: AhoCorasick,
    paywall: AhoCorasick,
}

fn matcher() -> &'static ClassMatcher {
    static MATCHER: OnceLock<ClassMatcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let build = |patterns: &[&str]| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(patterns)
                .expect("static patterns compile")
        };
        ClassMatcher {
            negative_words: NEGATIVE_WORDS.iter().copied().collect(),
            positive_words: POSITIVE_WORDS.iter().copied().collect(),
            negative_fragments: build(NEGATIVE_FRAGMENTS),
            positive_fragments: build(&[
                "post-content",
                "entry-content",
                "article-body",
                "story-body",
                "article-content",
            ]),
            paywall: build(&["paywall", "subscriber-only", "premium-content", "meteredcontent", "regwall"]),
        }
    })
}

/// Whether any whole word of `s` (split on anything but ASCII letters and digits) is in `set`.
fn any_word_in(s: &str, set: &HashSet<&'static str>) -> bool {
    words_of(s).any(|w| {
        if w.bytes().any(|b| b.is_ascii_uppercase()) {
            set.contains(w.to_ascii_lowercase().as_str())
        } else {
            set.contains(w)
        }
    })
}

/// What an element's class and id say: (looks like boilerplate, looks like the article body). Both can
/// hold (`article__share`): boilerplate wins for removal, and they cancel out in scoring.
fn class_signal(e: &Element) -> (bool, bool) {
    let (class, id) = (e.class(), e.id());
    if class.is_empty() && id.is_empty() {
        return (false, false);
    }
    let m = matcher();
    let negative = any_word_in(class, &m.negative_words)
        || any_word_in(id, &m.negative_words)
        || m.negative_fragments.is_match(class)
        || m.negative_fragments.is_match(id);
    let positive = any_word_in(class, &m.positive_words)
        || any_word_in(id, &m.positive_words)
        || m.positive_fragments.is_match(class)
        || m.positive_fragments.is_match(id);
    (negative, positive)
}

pub(super) fn is_negative(e: &Element) -> bool {
    class_signal(e).0
}

pub(super) fn class_weight(e: &Element) -> f32 {
    let (negative, positive) = class_signal(e);
    (positive as i8 - negative as i8) as f32 * 25.0
}

pub(super) fn has_paywall_class(e: &Element) -> bool {
    let m = matcher();
    m.paywall.is_match(e.class()) || m.paywall.is_match(e.id())
}

/// Whether an `<a>` leads somewhere: one without `href` is an anchor, and a `javascript:` one is a button.
/// Only real links make text link-heavy.
pub(super) fn is_link(e: &Element) -> bool {
    e.attr("href").is_some_and(|h| !h.trim_start().starts_with("javascript:"))
}

pub(super) fn is_hidden(e: &Element) -> bool {
    if e.attr("hidden").is_some() || e.attr("aria-hidden").is_some_and(|v| v == "true") {
        return true;
    }
    if let Some(style) = e.attr("style") {
        let s: String = style.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return true;
        }
    }
    false
}

/// Elements that are never part of an article body, whatever their class.
pub(super) fn never_content(e: &Element) -> bool {
    match e.tag {
        Tag::Script
        | Tag::Style
        | Tag::Noscript
        | Tag::Template
        | Tag::Svg
        | Tag::Math
        | Tag::Iframe
        | Tag::Object
        | Tag::Embed
        | Tag::Canvas
        | Tag::Button
        | Tag::Input
        | Tag::Select
        | Tag::Option
        | Tag::Textarea
        | Tag::Head
        | Tag::Title
        | Tag::Meta
        | Tag::Link
        | Tag::Label
        | Tag::Video
        | Tag::Audio
        | Tag::Picture
        // Captions and photo credits are not article text (the spec keeps the body, lead, lists, quotes, tables).
        | Tag::Figcaption => true,
        _ => {
            if let Some(role) = e.attr("role") {
                let role = role.to_ascii_lowercase();
                if matches!(
                    role.as_str(),
                    "navigation"
                        | "contentinfo"
                        | "complementary"
                        | "dialog"
                        | "alertdialog"
                        | "search"
                        | "menu"
                        | "menubar"
                        | "banner"
                ) {
                    return true;
                }
            }
            false
        }
    }
}

/// Short blocks that are prompts, teasers or labels rather than article text.
pub(super) fn is_boilerplate_line(text: &str) -> bool {
    if text.len() > 480 || text.chars().count() > 120 {
        return false;
    }
    let lower = text.to_lowercase();
    let lower = lower.trim();
    const STARTS: &[&str] = &[
        "also on",
        "read more",
        "read also",
        "see also",
        "related:",
        "related stories",
        "related articles",
        "share this",
        "share on",
        "follow us",
        "sign up",
        "subscribe to",
        "advertisement",
        "click here to subscribe",
        "photo:",
        "image:",
        "©",
        "copyright",
        "all rights reserved",
        "loading",
        "more from",
        "recommended",
        "you may also like",
        "you might also like",
        "trending",
        "most read",
        "most popular",
        "get short url",
        "this article originally appeared",
        "originally published",
        "listen to this article",
        "skip to",
        "comments (",
        "leave a comment",
        "load more",
        "think your friends",
        "by continuing to browse",
        "we use cookies",
        "continue reading",
        "sponsored",
        "tags:",
        "filed under",
        "posted in",
        "published in",
        "table of contents",
        "in this article",
        "on this page",
        "jump to",
        "join our",
        "join medium",
        "like what you",
        "posted by",
        "follow us on",
        "you might like",
        "you may be interested",
        "what others are reading",
        "popular posts",
        "see more in",
        "page 1 of",
    ];
    if STARTS.iter().any(|s| lower.starts_with(s)) {
        return true;
    }
    matches!(
        lower,
        "share"
            | "tweet"
            | "email"
            | "print"
            | "facebook"
            | "twitter"
            | "linkedin"
            | "whatsapp"
            | "comments"
            | "menu"
            | "advertisement"
            | "ad"
            | "subscribe"
            | "sign up"
            | "sign in"
            | "log in"
            | "login"
            | "register"
            | "home"
            | "tags"
            | "posts"
            | "newsletters"
            | "like this:"
            | "privacy policy"
            | "why trust us?"
    )
}

/// A short block that is only a date or two ("6 Oct, 2020 12:47 / Updated 6 Oct, 2020 13:10").
pub(super) fn is_dateline(text: &str) -> bool {
    let chars = text.chars().count();
    if chars > 80 || !text.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let first = text.split(['/', '|', '•', '·']).next().unwrap_or(text);
    let first = first.trim().trim_start_matches(|c: char| !c.is_alphanumeric());
    let words = first.split_whitespace().count();
    words <= 6 && crate::metadata::dates::parse_date(first).is_some()
}

pub(super) fn is_byline(text: &str) -> bool {
    if text.len() > 200 {
        return false;
    }
    let lower = text.to_lowercase();
    let words = lower.split_whitespace().count();
    words <= 8
        && (lower.starts_with("by ")
            || lower.starts_with("written by")
            || lower.starts_with("von ")
            || lower.starts_with("par "))
}
