//! Rendering the chosen nodes block by block as plain text and Markdown, and finding blocks that repeat
//! an earlier run (responsive layouts that print the article once per screen size).

use std::collections::HashMap;

use crate::dom::{Data, NodeId, Tag};

use super::score::Analysis;
use super::signals::is_link;
use super::{Block, BlockKind};

/// Nested inline elements beyond this depth get no further Markdown markup.
const MAX_INLINE_MARKUP: u32 = 4;

/// Blocks at least this long are dropped when they repeat an earlier block word for word.
const MIN_DEDUP_CHARS: usize = 30;

pub(super) struct Renderer<'a> {
    pub(super) a: &'a Analysis<'a>,
    pub(super) base: Option<url::Url>,
    pub(super) blocks: Vec<Block>,
    pub(super) text: String,
    pub(super) md: String,
    pub(super) link_depth: u32,
    pub(super) link_chars: usize,
    pub(super) kind: BlockKind,
    pub(super) lists: Vec<(bool, u32)>,
    pub(super) quote_depth: u32,
    pub(super) in_pre: u32,
    /// Blocks ended so far; lets inline wrappers notice that a block ended inside them.
    pub(super) flushes: u64,
    /// Inline elements being wrapped in Markdown markup around the current position.
    pub(super) inline_depth: u32,
}

impl<'a> Renderer<'a> {
    pub(super) fn flush(&mut self) {
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

    pub(super) fn push_text(&mut self, t: &str) {
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

    pub(super) fn wrap_inline(&mut self, id: NodeId, open: &str, close: &str) {
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

    pub(super) fn block(&mut self, id: NodeId, kind: BlockKind) {
        self.flush();
        self.kind = kind;
        self.walk(id);
        self.flush();
    }

    pub(super) fn is_data_table(&self, table: NodeId) -> bool {
        let doc = self.a.doc;
        !doc.descendants(table).any(|d| {
            doc.tag(d).is_some_and(|t| {
                matches!(t, Tag::P | Tag::Div | Tag::Table | Tag::Ul | Tag::Ol | Tag::H(_) | Tag::Blockquote)
            })
        })
    }

    pub(super) fn table(&mut self, table: NodeId) {
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

    pub(super) fn walk(&mut self, id: NodeId) {
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
pub(super) fn repeated_runs(blocks: &[Block]) -> Vec<bool> {
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

pub(super) fn render_node(r: &mut Renderer<'_>, id: NodeId) {
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
