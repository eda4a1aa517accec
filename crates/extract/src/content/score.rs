//! Scoring: per-node text statistics computed bottom-up once, Readability-style scores of paragraph-like
//! blocks for their ancestors, and the choice of the body's root nodes (the top candidate and the
//! siblings that belong with it).

use crate::dom::{Data, Document, Element, NONE, NodeId, Tag};

use super::signals::{class_weight, has_paywall_class, is_hidden, is_link, is_negative, never_content};

/// How much more prose (as a share of the candidate's) an ancestor must hold to replace the candidate.
const CLIMB_RATIO: f32 = 0.3;

/// Characters a sibling code block must hold to join the body.
const SIBLING_MIN_CODE: u32 = 20;

/// Per-node counts, computed bottom-up once.
#[derive(Clone, Copy, Default)]
pub(super) struct Stats {
    pub(super) chars: u32,
    pub(super) link_chars: u32,
    pub(super) commas: u32,
    /// Characters in paragraph-like blocks that are not mostly links.
    pub(super) prose: u32,
}

pub(super) struct Analysis<'d> {
    pub(super) doc: &'d Document,
    pub(super) removed: Vec<bool>,
    pub(super) stats: Vec<Stats>,
    /// An element's class or id says paywall (seen while looking at classes).
    pub(super) paywall_marker: bool,
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
    pub(super) fn new(doc: &'d Document, use_classes: bool) -> Self {
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

    pub(super) fn compute_stats(&mut self) {
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

    pub(super) fn link_density(&self, id: NodeId) -> f32 {
        let s = self.stats[id as usize];
        if s.chars == 0 { 0.0 } else { s.link_chars as f32 / s.chars as f32 }
    }

    /// Readability-style scoring; returns the best container.
    pub(super) fn top_candidate(&self) -> Option<(NodeId, Vec<f32>)> {
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
pub(super) fn select_roots(a: &Analysis<'_>, top: NodeId, score: &[f32]) -> Vec<NodeId> {
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
