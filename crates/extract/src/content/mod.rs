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

mod render;
mod score;
mod signals;

use crate::dom::{Document, NONE, Tag};

use render::{Renderer, render_node, repeated_runs};
use score::{Analysis, select_roots};
use signals::{is_boilerplate_line, is_byline, is_dateline};

/// One rendered block of the body.
#[derive(Debug, Clone)]
pub(crate) struct Block {
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
pub(crate) enum BlockKind {
    Paragraph,
    Heading(u8),
    ListItem,
    Quote,
    Pre,
    TableRow { first: bool },
}

/// The article body as found.
#[derive(Debug, Default, Clone)]
pub(crate) struct Body {
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

/// Extracts the body. `title` is the headline found in the metadata; a heading equal to it is dropped.
pub(crate) fn extract_body(doc: &Document, base_url: &str, title: Option<&str>) -> Body {
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
    let title_key = title.map(crate::metadata::title::title_key);
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
            && crate::metadata::title::title_key(&b.text) == *k
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
