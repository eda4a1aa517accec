//! Finding the article body and rendering it as text and Markdown.
//!
//! 1. Boilerplate is marked, not deleted: elements that are never content (`<nav>`, `<script>`, forms
//!    controls, hidden elements) and elements whose class/id/role say share/related/comments/newsletter...
//!    unless they hold most of the page's prose (a `<div class="main has-sidebar">` wraps the article).
//! 2. Paragraph-like blocks score their ancestors, as Readability does (length, commas, less for links);
//!    the best-scoring container is the body, widened to siblings that read like prose (a standfirst in a
//!    `<div>` next to the text, a second text column).
//! 3. The body is rendered block by block; blocks that are mostly links, bylines, share prompts, "Also on"
//!    teasers and the headline itself are dropped.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use crate::dom::{Data, Document, Element, NONE, NodeId, Tag};

/// How much more prose (as a share of the candidate's) an ancestor must hold to replace the candidate.
const CLIMB_RATIO: f32 = 0.3;

/// Nested inline elements beyond this depth get no further Markdown markup.
const MAX_INLINE_MARKUP: u32 = 4;

/// Blocks at least this long are dropped when they repeat an earlier block word for word.
const MIN_DEDUP_CHARS: usize = 30;

/// Characters a sibling code block must hold to join the body.
const SIBLING_MIN_CODE: u32 = 20;

/// One rendered block of the body.
#[derive(Debug, Clone)]
pub struct Block {
    pub kind: BlockKind,
    pub text: String,
    pub markdown: String,
    /// Characters of text inside links.
    pub link_chars: usize,
    pub chars: usize,
    /// The list item's marker (`-`, `3.`), which the plain text keeps too, as plain-text lists do.
    pub marker: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Paragraph,
    Heading(u8),
    ListItem,
    Quote,
    Pre,
    TableRow { first: bool },
}

/// The article body as found.
#[derive(Debug, Default, Clone)]
pub struct Body {
    pub text: String,
    pub markdown: String,
    pub blocks: usize,
    /// Whether the page carries a paywall marker (class names like `paywall`, subscriber-only prompts).
    pub paywall_marker: bool,
    /// Links outside the chosen body: a measure of how much of the page is navigation and teasers.
    pub page_links: usize,
    /// Characters of prose (paragraph blocks not made of links) in the whole page.
    pub page_prose_chars: usize,
}

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

fn is_negative(e: &Element) -> bool {
    class_signal(e).0
}

fn class_weight(e: &Element) -> f32 {
    let (negative, positive) = class_signal(e);
    (positive as i8 - negative as i8) as f32 * 25.0
}

fn has_paywall_class(e: &Element) -> bool {
    let m = matcher();
    m.paywall.is_match(e.class()) || m.paywall.is_match(e.id())
}

/// Whether an `<a>` leads somewhere: one without `href` is an anchor, and a `javascript:` one is a button.
/// Only real links make text link-heavy.
fn is_link(e: &Element) -> bool {
    e.attr("href").is_some_and(|h| !h.trim_start().starts_with("javascript:"))
}

fn is_hidden(e: &Element) -> bool {
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
fn never_content(e: &Element) -> bool {
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

/// Per-node counts, computed bottom-up once.
#[derive(Clone, Copy, Default)]
struct Stats {
    chars: u32,
    link_chars: u32,
    commas: u32,
    /// Characters in paragraph-like blocks that are not mostly links.
    prose: u32,
}

struct Analysis<'d> {
    doc: &'d Document,
    removed: Vec<bool>,
    stats: Vec<Stats>,
    /// An element's class or id says paywall (seen while looking at classes).
    paywall_marker: bool,
}

fn text_chars(t: &str) -> (u32, u32) {
    let mut chars = 0u32;
    let mut commas = 0u32;
    let mut prev_space = true;
    for c in t.chars() {
        if c.is_whitespace() {
            if !prev_space {
                chars += 1;
            }
            prev_space = true;
        } else {
            chars += 1;
            prev_space = false;
            if matches!(c, ',' | '，' | '、' | '،') {
                commas += 1;
            }
        }
    }
    (chars, commas)
}

fn is_paragraph_like(doc: &Document, id: NodeId, e: &Element) -> bool {
    match e.tag {
        Tag::P | Tag::Pre | Tag::Td | Tag::Dd | Tag::Blockquote | Tag::Li => true,
        Tag::Div | Tag::Section | Tag::Article | Tag::Span | Tag::Font | Tag::Center | Tag::Other => {
            // A container with its own text and no block children reads as a paragraph.
            let mut has_text = false;
            for c in doc.children(id) {
                match &doc.node(c).data {
                    Data::Element(ce) if ce.tag.is_block() => return false,
                    Data::Text(t) if !t.trim().is_empty() => has_text = true,
                    Data::Element(_) => has_text = true,
                    _ => {}
                }
            }
            has_text
        }
        _ => false,
    }
}

impl<'d> Analysis<'d> {
    fn new(doc: &'d Document, use_classes: bool) -> Self {
        let n = doc.nodes.len();
        let mut removed = vec![false; n];
        // Parents come before children in the arena, so one forward pass propagates removal downwards.
        for i in 0..n {
            let node = &doc.nodes[i];
            if node.parent != NONE && removed[node.parent as usize] {
                removed[i] = true;
                continue;
            }
            if let Data::Element(e) = &node.data
                && never_content(e)
            {
                removed[i] = true;
            }
        }
        let mut a = Analysis { doc, removed, stats: vec![Stats::default(); n], paywall_marker: false };
        a.compute_stats();
        if use_classes {
            let body = if doc.body != NONE { doc.body } else { 0 };
            let total_prose = a.stats[body as usize].prose.max(1);
            let mut class_removed = vec![false; n];
            for i in 0..n {
                let node = &doc.nodes[i];
                if a.removed[i] {
                    continue;
                }
                if node.parent != NONE && class_removed[node.parent as usize] {
                    class_removed[i] = true;
                    continue;
                }
                let Data::Element(e) = &node.data else { continue };
                if !(e.class().is_empty() && e.id().is_empty()) && has_paywall_class(e) {
                    a.paywall_marker = true;
                }
                if matches!(e.tag, Tag::Html | Tag::Body | Tag::Main | Tag::Article) {
                    continue;
                }
                // Headers are boilerplate unless they carry real prose (some sites put the standfirst there).
                // Hidden elements too: some frameworks stream the whole article into a hidden <div> first.
                // So are page furniture elements: an unclosed <aside> can swallow the whole page.
                let boiler = is_negative(e)
                    || matches!(e.tag, Tag::Header | Tag::Nav | Tag::Aside | Tag::Footer | Tag::Dialog)
                    || is_hidden(e);
                if boiler && a.stats[i].prose * 2 < total_prose {
                    class_removed[i] = true;
                }
            }
            for (removed, class_removed) in a.removed.iter_mut().zip(class_removed) {
                *removed |= class_removed;
            }
            a.compute_stats();
        }
        a
    }

    fn compute_stats(&mut self) {
        let doc = self.doc;
        let n = doc.nodes.len();
        let mut stats = vec![Stats::default(); n];
        for i in (0..n).rev() {
            if self.removed[i] {
                continue;
            }
            let node = &doc.nodes[i];
            match &node.data {
                Data::Text(t) => {
                    let (c, commas) = text_chars(t);
                    stats[i].chars += c;
                    stats[i].commas += commas;
                }
                Data::Element(e) => {
                    if e.tag == Tag::A && is_link(e) {
                        stats[i].link_chars = stats[i].chars;
                    }
                    if is_paragraph_like(doc, i as NodeId, e)
                        && stats[i].prose == 0
                        && stats[i].link_chars * 2 < stats[i].chars
                    {
                        stats[i].prose = stats[i].chars - stats[i].link_chars;
                    }
                }
                Data::Document => {}
            }
            let p = node.parent;
            if p != NONE {
                let s = stats[i];
                let ps = &mut stats[p as usize];
                ps.chars += s.chars;
                ps.link_chars += s.link_chars;
                ps.commas += s.commas;
                ps.prose += s.prose;
            }
        }
        self.stats = stats;
    }

    fn link_density(&self, id: NodeId) -> f32 {
        let s = self.stats[id as usize];
        if s.chars == 0 { 0.0 } else { s.link_chars as f32 / s.chars as f32 }
    }

    /// Readability-style scoring; returns the best container.
    fn top_candidate(&self) -> Option<(NodeId, Vec<f32>)> {
        let doc = self.doc;
        let n = doc.nodes.len();
        let mut score = vec![0f32; n];
        let mut initialized = vec![false; n];
        let init = |id: NodeId, score: &mut Vec<f32>, initialized: &mut Vec<bool>| {
            if initialized[id as usize] {
                return;
            }
            initialized[id as usize] = true;
            if let Some(e) = doc.element(id) {
                let base = match e.tag {
                    Tag::Div | Tag::Article | Tag::Main | Tag::Section => 5.0,
                    Tag::Pre | Tag::Td | Tag::Blockquote => 3.0,
                    Tag::Address | Tag::Ol | Tag::Ul | Tag::Dl | Tag::Dd | Tag::Dt | Tag::Li | Tag::Form => {
                        -3.0
                    }
                    Tag::H(_) | Tag::Th => -5.0,
                    _ => 0.0,
                };
                let itemprop_body = e.attr("itemprop").is_some_and(|p| p.contains("articleBody"));
                score[id as usize] = base + class_weight(e) + if itemprop_body { 30.0 } else { 0.0 };
            }
        };
        for i in 0..n {
            if self.removed[i] {
                continue;
            }
            let Data::Element(e) = &doc.nodes[i].data else { continue };
            if !is_paragraph_like(doc, i as NodeId, e) || e.tag == Tag::Li {
                continue;
            }
            let s = self.stats[i];
            let own = s.chars.saturating_sub(s.link_chars);
            if own < 25 {
                continue;
            }
            let content_score = 1.0 + s.commas as f32 + (own as f32 / 100.0).min(3.0);
            let mut ancestor = doc.nodes[i].parent;
            let mut level = 0;
            while ancestor != NONE && level < 5 {
                if doc.element(ancestor).is_none() {
                    break;
                }
                init(ancestor, &mut score, &mut initialized);
                let divider = match level {
                    0 => 1.0,
                    1 => 2.0,
                    l => l as f32 * 3.0,
                };
                score[ancestor as usize] += content_score / divider;
                ancestor = doc.nodes[ancestor as usize].parent;
                level += 1;
            }
        }
        let mut best: Option<(NodeId, f32)> = None;
        for i in 0..n {
            if !initialized[i] {
                continue;
            }
            let s = score[i] * (1.0 - self.link_density(i as NodeId));
            score[i] = s;
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((i as NodeId, s));
            }
        }
        let (mut top, _) = best?;
        // A candidate that is its parent's only child says nothing the parent does not.
        loop {
            let parent = doc.nodes[top as usize].parent;
            if parent == NONE || doc.element(parent).is_none() || parent == doc.body {
                break;
            }
            let element_children = doc
                .children(parent)
                .filter(|c| doc.element(*c).is_some() && !self.removed[*c as usize])
                .count();
            if element_children != 1 {
                break;
            }
            top = parent;
        }
        // Articles split into many sections leave each section scoring on its own; climb while the parent
        // holds markedly more prose than the candidate (boilerplate is already excluded from `prose`).
        // Wrappers that add nothing are passed through on the way up.
        let mut ancestor = doc.nodes[top as usize].parent;
        while ancestor != NONE && doc.element(ancestor).is_some() && ancestor != doc.body {
            let here = self.stats[top as usize].prose;
            let there = self.stats[ancestor as usize].prose;
            let added = there.saturating_sub(here);
            if added as f32 > here as f32 * CLIMB_RATIO && added > 150 {
                top = ancestor;
            }
            ancestor = doc.nodes[ancestor as usize].parent;
        }
        Some((top, score))
    }
}

/// The nodes that make up the body: the top candidate and its siblings that belong with it.
fn select_roots(a: &Analysis<'_>, top: NodeId, score: &[f32]) -> Vec<NodeId> {
    let doc = a.doc;
    let parent = doc.node(top).parent;
    if parent == NONE || doc.element(parent).is_none() {
        return vec![top];
    }
    let top_score = score[top as usize];
    let threshold = (top_score * 0.2).max(10.0);
    let top_class = doc.element(top).map(|e| e.class().to_string()).unwrap_or_default();
    let mut roots = Vec::new();
    for sibling in doc.children(parent) {
        if a.removed[sibling as usize] {
            continue;
        }
        if sibling == top {
            roots.push(sibling);
            continue;
        }
        let Some(e) = doc.element(sibling) else {
            continue;
        };
        let mut bonus = 0.0;
        if !top_class.is_empty() && e.class() == top_class {
            bonus = top_score * 0.2;
        }
        if score[sibling as usize] != 0.0 && score[sibling as usize] + bonus >= threshold {
            roots.push(sibling);
            continue;
        }
        if is_paragraph_like(doc, sibling, e)
            || matches!(e.tag, Tag::P | Tag::Ul | Tag::Ol | Tag::Blockquote | Tag::H(_))
        {
            let s = a.stats[sibling as usize];
            let ld = a.link_density(sibling);
            let chars = s.chars as usize;
            let prose = chars > 80 && ld < 0.25;
            let short_paragraph = chars > 0 && ld == 0.0 && matches!(e.tag, Tag::P | Tag::H(_));
            if prose || short_paragraph {
                roots.push(sibling);
            }
        } else if matches!(e.tag, Tag::Pre | Tag::Other | Tag::Div | Tag::Figure)
            && a.link_density(sibling) < 0.25
            && a.stats[sibling as usize].chars >= SIBLING_MIN_CODE
            && (e.tag == Tag::Pre || doc.descendants(sibling).any(|d| doc.tag(d) == Some(Tag::Pre)))
        {
            // Code (`<pre>`, or a wrapper such as `<copyable-code>` around one) belongs with the prose.
            roots.push(sibling);
        }
    }
    roots
}

struct Renderer<'a> {
    a: &'a Analysis<'a>,
    base: Option<url::Url>,
    blocks: Vec<Block>,
    text: String,
    md: String,
    link_depth: u32,
    link_chars: usize,
    kind: BlockKind,
    lists: Vec<(bool, u32)>,
    quote_depth: u32,
    in_pre: u32,
    /// Blocks ended so far; lets inline wrappers notice that a block ended inside them.
    flushes: u64,
    /// Inline elements being wrapped in Markdown markup around the current position.
    inline_depth: u32,
}

impl<'a> Renderer<'a> {
    fn flush(&mut self) {
        self.flushes += 1;
        let text = if self.kind == BlockKind::Pre {
            self.text.trim_end().to_string()
        } else {
            self.text.trim().to_string()
        };
        if !text.is_empty() {
            let md = self.md.trim().to_string();
            let indent = self.lists.len().saturating_sub(1) * 2;
            let mut marker = None;
            let md = match self.kind {
                BlockKind::Heading(n) => format!("{} {}", "#".repeat(n as usize), md),
                BlockKind::ListItem => {
                    let m = match self.lists.last_mut() {
                        Some((true, n)) => {
                            *n += 1;
                            format!("{n}.")
                        }
                        _ => "-".to_string(),
                    };
                    let line = format!("{}{m} {md}", " ".repeat(indent));
                    marker = Some(m);
                    line
                }
                BlockKind::Pre => format!("```\n{}\n```", self.text.trim_end()),
                BlockKind::TableRow { .. } => md,
                _ => md,
            };
            let md = if self.quote_depth > 0 && self.kind != BlockKind::Pre {
                let prefix = "> ".repeat(self.quote_depth as usize);
                md.lines().map(|l| format!("{prefix}{l}")).collect::<Vec<_>>().join("\n")
            } else {
                md
            };
            let kind = if self.quote_depth > 0 && self.kind == BlockKind::Paragraph {
                BlockKind::Quote
            } else {
                self.kind
            };
            let chars = text.chars().count();
            self.blocks.push(Block {
                marker,
                kind,
                text,
                markdown: md,
                link_chars: self.link_chars.min(chars),
                chars,
            });
        }
        self.text.clear();
        self.md.clear();
        self.link_chars = 0;
        self.kind = BlockKind::Paragraph;
    }

    fn push_text(&mut self, t: &str) {
        // An empty text node is whitespace between tags (see `dom::push_collapsed`).
        let t = if t.is_empty() { " " } else { t };
        if self.in_pre > 0 {
            self.text.push_str(t);
            self.md.push_str(t);
            return;
        }
        let before = self.text.len();
        crate::dom::push_collapsed(&mut self.text, t);
        let added = &self.text[before..];
        if self.link_depth > 0 {
            self.link_chars += added.chars().count();
        }
        // Markdown needs its special characters escaped only where they would start markup.
        let mut space = self.md.is_empty() || self.md.ends_with(' ') || self.md.ends_with('\n');
        for c in t.chars() {
            if c.is_whitespace() {
                if !space {
                    self.md.push(' ');
                    space = true;
                }
            } else {
                if matches!(c, '*' | '_' | '[' | ']' | '`' | '\\') {
                    self.md.push('\\');
                }
                self.md.push(c);
                space = false;
            }
        }
    }

    fn wrap_inline(&mut self, id: NodeId, open: &str, close: &str) {
        // Wrapping copies the inner Markdown; past a few levels of nesting (`<b><i><a>...`) the markup adds
        // nothing and the copies would grow with depth times length.
        if self.inline_depth >= MAX_INLINE_MARKUP {
            self.walk(id);
            return;
        }
        let start = self.md.len();
        let flushes = self.flushes;
        self.inline_depth += 1;
        self.walk(id);
        self.inline_depth -= 1;
        // A block inside the inline element (`<a><div>..</div></a>`) already ended the block: nothing to wrap.
        if self.flushes != flushes || self.md.len() < start {
            return;
        }
        let inner = &self.md[start..];
        let trimmed = inner.trim();
        if trimmed.is_empty() {
            return;
        }
        let lead = &inner[..inner.len() - inner.trim_start().len()];
        let trail = &inner[inner.trim_end().len()..];
        let wrapped = format!("{lead}{open}{trimmed}{close}{trail}");
        self.md.truncate(start);
        self.md.push_str(&wrapped);
    }

    fn block(&mut self, id: NodeId, kind: BlockKind) {
        self.flush();
        self.kind = kind;
        self.walk(id);
        self.flush();
    }

    fn is_data_table(&self, table: NodeId) -> bool {
        let doc = self.a.doc;
        !doc.descendants(table).any(|d| {
            doc.tag(d).is_some_and(|t| {
                matches!(t, Tag::P | Tag::Div | Tag::Table | Tag::Ul | Tag::Ol | Tag::H(_) | Tag::Blockquote)
            })
        })
    }

    fn table(&mut self, table: NodeId) {
        let doc = self.a.doc;
        self.flush();
        let rows: Vec<NodeId> = doc
            .descendants(table)
            .filter(|d| doc.tag(*d) == Some(Tag::Tr) && !self.a.removed[*d as usize])
            .collect();
        let mut first = true;
        for row in rows {
            let cells: Vec<NodeId> = doc
                .children(row)
                .filter(|c| matches!(doc.tag(*c), Some(Tag::Td | Tag::Th)) && !self.a.removed[*c as usize])
                .collect();
            let mut texts = Vec::new();
            let mut mds = Vec::new();
            let mut links = 0;
            for cell in &cells {
                self.walk(*cell);
                texts.push(self.text.trim().to_string());
                mds.push(self.md.trim().replace('|', "\\|"));
                links += self.link_chars;
                self.text.clear();
                self.md.clear();
                self.link_chars = 0;
            }
            if texts.iter().all(String::is_empty) {
                continue;
            }
            let text = texts.iter().filter(|t| !t.is_empty()).cloned().collect::<Vec<_>>().join(" ");
            let mut md = format!("| {} |", mds.join(" | "));
            if first {
                md.push_str(&format!("\n|{}", " --- |".repeat(mds.len())));
            }
            let chars = text.chars().count();
            self.blocks.push(Block {
                marker: None,
                kind: BlockKind::TableRow { first },
                text,
                markdown: md,
                link_chars: links.min(chars),
                chars,
            });
            first = false;
        }
        let caption = doc.children(table).find(|c| doc.tag(*c) == Some(Tag::Caption));
        if let Some(c) = caption {
            self.block(c, BlockKind::Paragraph);
        }
    }

    fn walk(&mut self, id: NodeId) {
        let doc = self.a.doc;
        for child in doc.children(id) {
            if self.a.removed[child as usize] {
                continue;
            }
            let e = match &doc.node(child).data {
                Data::Text(t) => {
                    self.push_text(t);
                    continue;
                }
                Data::Element(e) => e,
                Data::Document => continue,
            };
            match e.tag {
                Tag::Br => {
                    if self.in_pre > 0 {
                        self.text.push('\n');
                        self.md.push('\n');
                    } else if !self.text.trim().is_empty() {
                        // A line break inside a paragraph: a new line in both renderings.
                        let t = self.text.trim_end().len();
                        self.text.truncate(t);
                        self.text.push('\n');
                        let m = self.md.trim_end().len();
                        self.md.truncate(m);
                        self.md.push_str("  \n");
                    }
                }
                Tag::Img | Tag::Hr | Tag::Caption => {
                    if e.tag == Tag::Hr {
                        self.flush();
                    }
                }
                Tag::A => {
                    let counts = is_link(e);
                    self.link_depth += counts as u32;
                    let href = e.attr("href").and_then(|h| {
                        let h = h.trim();
                        if h.starts_with('#') || h.starts_with("javascript:") || h.is_empty() {
                            None
                        } else {
                            match &self.base {
                                Some(b) => b.join(h).ok().map(|u| u.to_string()),
                                None => Some(h.to_string()),
                            }
                        }
                    });
                    match href {
                        Some(h) if self.in_pre == 0 => {
                            let close = format!("]({h})");
                            self.wrap_inline(child, "[", &close);
                        }
                        _ => self.walk(child),
                    }
                    self.link_depth -= counts as u32;
                }
                Tag::B | Tag::Strong if self.in_pre == 0 => self.wrap_inline(child, "**", "**"),
                Tag::I | Tag::Em if self.in_pre == 0 => self.wrap_inline(child, "*", "*"),
                Tag::Code if self.in_pre == 0 => {
                    let start = self.md.len();
                    let flushes = self.flushes;
                    self.in_pre += 1;
                    self.walk(child);
                    self.in_pre -= 1;
                    if self.flushes != flushes || self.md.len() < start {
                        continue;
                    }
                    let inner = self.md[start..].to_string();
                    self.md.truncate(start);
                    if !inner.trim().is_empty() {
                        self.md.push('`');
                        self.md.push_str(&inner.replace('\n', " "));
                        self.md.push('`');
                    }
                }
                Tag::H(n) => self.block(child, BlockKind::Heading(n)),
                Tag::P | Tag::Dt | Tag::Dd | Tag::Figcaption | Tag::Address | Tag::Summary => {
                    self.block(child, BlockKind::Paragraph)
                }
                Tag::Li => {
                    let kind = if self.lists.is_empty() { BlockKind::Paragraph } else { BlockKind::ListItem };
                    self.block(child, kind)
                }
                Tag::Ul | Tag::Ol | Tag::Menu => {
                    self.flush();
                    self.lists.push((e.tag == Tag::Ol, 0));
                    self.walk(child);
                    self.flush();
                    self.lists.pop();
                }
                Tag::Blockquote => {
                    self.flush();
                    self.quote_depth += 1;
                    self.walk(child);
                    self.flush();
                    self.quote_depth -= 1;
                }
                Tag::Pre => {
                    self.flush();
                    self.kind = BlockKind::Pre;
                    self.in_pre += 1;
                    self.walk(child);
                    self.in_pre -= 1;
                    self.kind = BlockKind::Pre;
                    self.flush();
                }
                Tag::Table => {
                    if self.is_data_table(child) {
                        self.table(child);
                    } else {
                        self.flush();
                        self.walk(child);
                        self.flush();
                    }
                }
                t if t.is_block() => {
                    self.flush();
                    self.walk(child);
                    self.flush();
                }
                _ => self.walk(child),
            }
        }
    }
}

/// Blocks that repeat an earlier run of blocks word for word. Responsive layouts repeat the article once
/// per screen size, as a run of different paragraphs; a paragraph that merely occurs twice (a refrain, a
/// repeated placeholder) is not such a run and is kept.
fn repeated_runs(blocks: &[Block]) -> Vec<bool> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut repeated = vec![false; blocks.len()];
    let text = |i: usize| blocks[i].text.as_str();
    for i in 0..blocks.len() {
        if blocks[i].chars < MIN_DEDUP_CHARS {
            continue;
        }
        let Some(&j) = first.get(text(i)) else {
            first.insert(text(i), i);
            continue;
        };
        let next_repeats =
            i + 1 < blocks.len() && j + 1 < i && text(i + 1) == text(j + 1) && text(i + 1) != text(i);
        let previous_repeats = j > 0 && text(i - 1) == text(j - 1) && text(i - 1) != text(i);
        repeated[i] = next_repeats || previous_repeats;
    }
    repeated
}

/// Short blocks that are prompts, teasers or labels rather than article text.
fn is_boilerplate_line(text: &str) -> bool {
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
fn is_dateline(text: &str) -> bool {
    let chars = text.chars().count();
    if chars > 80 || !text.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    let first = text.split(['/', '|', '•', '·']).next().unwrap_or(text);
    let first = first.trim().trim_start_matches(|c: char| !c.is_alphanumeric());
    let words = first.split_whitespace().count();
    words <= 6 && crate::dates::parse_date(first).is_some()
}

fn is_byline(text: &str) -> bool {
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

/// Extracts the body. `title` is the headline found in the metadata; a heading equal to it is dropped.
pub fn extract_body(doc: &Document, base_url: &str, title: Option<&str>) -> Body {
    let mut result = extract_with(doc, base_url, title, true);
    if result.text.chars().count() < 250 {
        let retry = extract_with(doc, base_url, title, false);
        if retry.text.chars().count() > result.text.chars().count() * 2 {
            // Only the first pass looks at classes, so it alone sees paywall markers.
            let paywall_marker = result.paywall_marker;
            result = retry;
            result.paywall_marker = paywall_marker;
        }
    }
    result
}

fn extract_with(doc: &Document, base_url: &str, title: Option<&str>, use_classes: bool) -> Body {
    let a = Analysis::new(doc, use_classes);
    let body_node = if doc.body != NONE { doc.body } else { 0 };
    let page_prose_chars = a.stats[body_node as usize].prose as usize;
    let roots = match a.top_candidate() {
        Some((top, score)) => select_roots(&a, top, &score),
        None => vec![body_node],
    };
    let mut r = Renderer {
        a: &a,
        base: url::Url::parse(base_url).ok(),
        blocks: Vec::new(),
        text: String::new(),
        md: String::new(),
        link_depth: 0,
        link_chars: 0,
        kind: BlockKind::Paragraph,
        lists: Vec::new(),
        quote_depth: 0,
        in_pre: 0,
        flushes: 0,
        inline_depth: 0,
    };
    for root in &roots {
        match doc.element(*root) {
            Some(e) if !e.tag.is_block() => {
                r.flush();
                r.walk(*root);
                r.flush();
            }
            Some(_) => {
                // Render the root itself as a block so its kind (heading, list, quote) is kept.
                render_node(&mut r, *root);
            }
            None => r.walk(*root),
        }
    }
    r.flush();
    let title_key = title.map(crate::metadata::title_key);
    let mut kept: Vec<Block> = Vec::new();
    let blocks = r.blocks;
    let repeated = repeated_runs(&blocks);
    for (i, b) in blocks.iter().enumerate() {
        // Invisible characters alone (a zero-width joiner used as a spacer) are not a paragraph.
        if b.text.chars().all(|c| {
            c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}')
        }) {
            continue;
        }
        if repeated[i] {
            continue;
        }
        let ld = if b.chars == 0 { 0.0 } else { b.link_chars as f32 / b.chars as f32 };
        if ld > 0.5 && !matches!(b.kind, BlockKind::TableRow { .. }) {
            continue;
        }
        if is_boilerplate_line(&b.text) || is_byline(&b.text) || is_dateline(&b.text) {
            continue;
        }
        if matches!(b.kind, BlockKind::Heading(_))
            && let Some(k) = &title_key
            && crate::metadata::title_key(&b.text) == *k
        {
            continue;
        }
        kept.push(b.clone());
    }
    // Trailing headings introduce nothing.
    while kept.last().is_some_and(|b| matches!(b.kind, BlockKind::Heading(_))) {
        kept.pop();
    }
    let page_links = doc.elements().filter(|(_, e)| e.tag == Tag::A).count();
    let text = kept
        .iter()
        .map(|b| match &b.marker {
            Some(m) => format!("{m} {}", b.text),
            None => b.text.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut markdown = String::new();
    for (i, b) in kept.iter().enumerate() {
        if i > 0 {
            let tight = matches!((kept[i - 1].kind, b.kind), (BlockKind::ListItem, BlockKind::ListItem))
                || matches!(b.kind, BlockKind::TableRow { first: false });
            markdown.push_str(if tight { "\n" } else { "\n\n" });
        }
        markdown.push_str(&b.markdown);
    }
    Body {
        text,
        markdown,
        blocks: kept.len(),
        paywall_marker: a.paywall_marker,
        page_links,
        page_prose_chars,
    }
}

fn render_node(r: &mut Renderer<'_>, id: NodeId) {
    let doc = r.a.doc;
    let Some(e) = doc.element(id) else {
        r.walk(id);
        return;
    };
    match e.tag {
        Tag::H(n) => r.block(id, BlockKind::Heading(n)),
        Tag::P | Tag::Dt | Tag::Dd | Tag::Figcaption | Tag::Address => r.block(id, BlockKind::Paragraph),
        Tag::Ul | Tag::Ol | Tag::Menu => {
            r.flush();
            r.lists.push((e.tag == Tag::Ol, 0));
            r.walk(id);
            r.flush();
            r.lists.pop();
        }
        Tag::Blockquote => {
            r.flush();
            r.quote_depth += 1;
            r.walk(id);
            r.flush();
            r.quote_depth -= 1;
        }
        Tag::Pre => {
            r.flush();
            r.kind = BlockKind::Pre;
            r.in_pre += 1;
            r.walk(id);
            r.in_pre -= 1;
            r.kind = BlockKind::Pre;
            r.flush();
        }
        Tag::Table if r.is_data_table(id) => r.table(id),
        _ => {
            r.flush();
            r.walk(id);
            r.flush();
        }
    }
}
