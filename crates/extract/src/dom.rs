//! A small arena DOM built from the workspace's byte-level tokenizer ([`newspipe_html`]).
//!
//! A spec-complete parse (html5ever's char-by-char tokenizer and tree builder) costs more than everything
//! else extraction does; extraction only needs a faithful-enough tree, so the tokenizer scans bytes (half
//! of a modern page is `<script>` and `<style>`, skipped with one search each) and the builder applies
//! the handful of implied-end-tag rules that real pages rely on (`<p>`, `<li>`, table cells, ...) and the spec's "stop at a special element" rule for stray end
//! tags. It is also where the bounds live: nesting is capped, attribute values are truncated, and parsing
//! stops when the time budget runs out.

use std::time::Instant;

use newspipe_html::{Attribute, Content, Token, Tokenizer, decode_entities_into};

/// Elements deeper than this are flattened into their deepest kept ancestor.
pub const MAX_DEPTH: usize = 256;
/// Attribute values longer than this are cut (a data-URI image or a megabyte of JSON in an attribute).
pub const MAX_ATTR_LEN: usize = 4096;
/// A text node stops growing at this size (a megabyte-long "word" is an attack or a bug, not an article).
pub const MAX_TEXT_RUN: usize = 256 * 1024;

pub type NodeId = u32;
pub const NONE: NodeId = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Html,
    Head,
    Body,
    Title,
    Meta,
    Link,
    Script,
    Style,
    Noscript,
    Template,
    Svg,
    Math,
    Iframe,
    Object,
    Embed,
    Canvas,
    Video,
    Audio,
    Picture,
    Source,
    Form,
    Button,
    Input,
    Select,
    Option,
    Textarea,
    Label,
    Nav,
    Header,
    Footer,
    Aside,
    Main,
    Article,
    Section,
    Div,
    P,
    H(u8),
    Ul,
    Ol,
    Li,
    Dl,
    Dt,
    Dd,
    Blockquote,
    Pre,
    Code,
    Table,
    Caption,
    Thead,
    Tbody,
    Tfoot,
    Tr,
    Td,
    Th,
    Figure,
    Figcaption,
    Img,
    Br,
    Hr,
    A,
    Span,
    B,
    Strong,
    I,
    Em,
    Time,
    Address,
    Details,
    Summary,
    Menu,
    Dialog,
    Center,
    Font,
    Sup,
    Sub,
    Small,
    U,
    Mark,
    Cite,
    Abbr,
    Q,
    Other,
}

impl Tag {
    pub fn from_name(name: &str) -> Tag {
        match name {
            "html" => Tag::Html,
            "head" => Tag::Head,
            "body" => Tag::Body,
            "title" => Tag::Title,
            "meta" => Tag::Meta,
            "link" => Tag::Link,
            "script" => Tag::Script,
            "style" => Tag::Style,
            "noscript" => Tag::Noscript,
            "template" => Tag::Template,
            "svg" => Tag::Svg,
            "math" => Tag::Math,
            "iframe" => Tag::Iframe,
            "object" => Tag::Object,
            "embed" => Tag::Embed,
            "canvas" => Tag::Canvas,
            "video" => Tag::Video,
            "audio" => Tag::Audio,
            "picture" => Tag::Picture,
            "source" => Tag::Source,
            "form" => Tag::Form,
            "button" => Tag::Button,
            "input" => Tag::Input,
            "select" => Tag::Select,
            "option" => Tag::Option,
            "textarea" => Tag::Textarea,
            "label" => Tag::Label,
            "nav" => Tag::Nav,
            "header" => Tag::Header,
            "footer" => Tag::Footer,
            "aside" => Tag::Aside,
            "main" => Tag::Main,
            "article" => Tag::Article,
            "section" => Tag::Section,
            "div" => Tag::Div,
            "p" => Tag::P,
            "h1" => Tag::H(1),
            "h2" => Tag::H(2),
            "h3" => Tag::H(3),
            "h4" => Tag::H(4),
            "h5" => Tag::H(5),
            "h6" => Tag::H(6),
            "ul" => Tag::Ul,
            "ol" => Tag::Ol,
            "li" => Tag::Li,
            "dl" => Tag::Dl,
            "dt" => Tag::Dt,
            "dd" => Tag::Dd,
            "blockquote" => Tag::Blockquote,
            "pre" => Tag::Pre,
            "code" => Tag::Code,
            "table" => Tag::Table,
            "caption" => Tag::Caption,
            "thead" => Tag::Thead,
            "tbody" => Tag::Tbody,
            "tfoot" => Tag::Tfoot,
            "tr" => Tag::Tr,
            "td" => Tag::Td,
            "th" => Tag::Th,
            "figure" => Tag::Figure,
            "figcaption" => Tag::Figcaption,
            "img" => Tag::Img,
            "br" => Tag::Br,
            "hr" => Tag::Hr,
            "a" => Tag::A,
            "span" => Tag::Span,
            "b" => Tag::B,
            "strong" => Tag::Strong,
            "i" => Tag::I,
            "em" => Tag::Em,
            "time" => Tag::Time,
            "address" => Tag::Address,
            "details" => Tag::Details,
            "summary" => Tag::Summary,
            "menu" => Tag::Menu,
            "dialog" => Tag::Dialog,
            "center" => Tag::Center,
            "font" => Tag::Font,
            "sup" => Tag::Sup,
            "sub" => Tag::Sub,
            "small" => Tag::Small,
            "u" => Tag::U,
            "mark" => Tag::Mark,
            "cite" => Tag::Cite,
            "abbr" => Tag::Abbr,
            "q" => Tag::Q,
            _ => Tag::Other,
        }
    }

    /// Elements that never have children (`<img>`, `<br>`, ...).
    fn is_void(self, name: &str) -> bool {
        matches!(
            self,
            Tag::Meta | Tag::Link | Tag::Img | Tag::Br | Tag::Hr | Tag::Input | Tag::Source | Tag::Embed
        ) || matches!(name, "area" | "base" | "col" | "param" | "track" | "wbr" | "keygen")
    }

    /// Elements that start a new block of text when rendered.
    pub fn is_block(self) -> bool {
        matches!(
            self,
            Tag::Html
                | Tag::Body
                | Tag::Nav
                | Tag::Header
                | Tag::Footer
                | Tag::Aside
                | Tag::Main
                | Tag::Article
                | Tag::Section
                | Tag::Div
                | Tag::P
                | Tag::H(_)
                | Tag::Ul
                | Tag::Ol
                | Tag::Li
                | Tag::Dl
                | Tag::Dt
                | Tag::Dd
                | Tag::Blockquote
                | Tag::Pre
                | Tag::Table
                | Tag::Caption
                | Tag::Thead
                | Tag::Tbody
                | Tag::Tfoot
                | Tag::Tr
                | Tag::Td
                | Tag::Th
                | Tag::Figure
                | Tag::Figcaption
                | Tag::Hr
                | Tag::Address
                | Tag::Details
                | Tag::Summary
                | Tag::Menu
                | Tag::Dialog
                | Tag::Center
                | Tag::Form
                | Tag::Video
                | Tag::Audio
                | Tag::Iframe
                | Tag::Select
                | Tag::Option
                | Tag::Textarea
        )
    }

    /// Block elements whose start closes an open `<p>` (the spec's list, roughly).
    fn closes_p(self) -> bool {
        self.is_block() && !matches!(self, Tag::Html | Tag::Body | Tag::Li | Tag::Td | Tag::Th | Tag::Tr)
    }

    /// Phrasing elements: stray end tags may close them; they never stop the search for a matching start.
    fn is_inline(self) -> bool {
        matches!(
            self,
            Tag::A
                | Tag::Span
                | Tag::B
                | Tag::Strong
                | Tag::I
                | Tag::Em
                | Tag::Time
                | Tag::Font
                | Tag::Sup
                | Tag::Sub
                | Tag::Small
                | Tag::U
                | Tag::Mark
                | Tag::Cite
                | Tag::Abbr
                | Tag::Q
                | Tag::Code
                | Tag::Label
                | Tag::Other
        )
    }
}

/// Attribute names (lower-cased) and values (references decoded), in source order.
pub type Attributes = Vec<(&'static str, Box<str>)>;

#[derive(Debug)]
pub struct Element {
    pub tag: Tag,
    pub name: Box<str>,
    pub attrs: Attributes,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| &**v)
    }
    pub fn id(&self) -> &str {
        self.attr("id").unwrap_or("")
    }
    pub fn class(&self) -> &str {
        self.attr("class").unwrap_or("")
    }
}

#[derive(Debug)]
pub enum Data {
    Document,
    Element(Element),
    Text(String),
}

#[derive(Debug)]
pub struct Node {
    pub data: Data,
    pub parent: NodeId,
    pub first_child: NodeId,
    pub last_child: NodeId,
    pub next_sibling: NodeId,
}

#[derive(Debug)]
pub struct Document {
    pub nodes: Vec<Node>,
    /// The `<html>` element, if the page had one.
    pub html: NodeId,
    pub head: NodeId,
    pub body: NodeId,
    /// Whether parsing stopped early because the time budget ran out.
    pub timed_out: bool,
}

impl Document {
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub fn element(&self, id: NodeId) -> Option<&Element> {
        match &self.nodes[id as usize].data {
            Data::Element(e) => Some(e),
            _ => None,
        }
    }

    pub fn tag(&self, id: NodeId) -> Option<Tag> {
        self.element(id).map(|e| e.tag)
    }

    pub fn children(&self, id: NodeId) -> Children<'_> {
        Children { doc: self, next: self.nodes[id as usize].first_child }
    }

    /// All nodes under `id` (not `id` itself), in document order. Iterative: deep trees cannot overflow.
    pub fn descendants(&self, id: NodeId) -> Descendants<'_> {
        Descendants { doc: self, root: id, next: self.nodes[id as usize].first_child }
    }

    /// Every element in document order.
    pub fn elements(&self) -> impl Iterator<Item = (NodeId, &Element)> {
        self.nodes.iter().enumerate().filter_map(|(i, n)| match &n.data {
            Data::Element(e) => Some((i as NodeId, e)),
            _ => None,
        })
    }

    /// The text under `id` with whitespace collapsed.
    pub fn text(&self, id: NodeId) -> String {
        let mut out = String::new();
        if let Data::Text(t) = &self.node(id).data {
            push_collapsed(&mut out, t);
        }
        for d in self.descendants(id) {
            match &self.node(d).data {
                Data::Text(t) => push_collapsed(&mut out, t),
                Data::Element(e)
                    if (e.tag.is_block() || e.tag == Tag::Br) && !out.is_empty() && !out.ends_with(' ') =>
                {
                    out.push(' ');
                }
                _ => {}
            }
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out
    }

    /// The text under `id` if it is at most `max` bytes long (whitespace collapsed); stops reading as soon
    /// as it is longer, so that probing many elements for short labels stays cheap.
    pub fn short_text(&self, id: NodeId, max: usize) -> Option<String> {
        let mut out = String::new();
        for d in self.descendants(id) {
            match &self.node(d).data {
                Data::Text(t) => {
                    if t.len() > max * 4 + 64 {
                        return None;
                    }
                    push_collapsed(&mut out, t);
                    if out.trim_end().len() > max {
                        return None;
                    }
                }
                Data::Element(e)
                    if (e.tag.is_block() || e.tag == Tag::Br) && !out.is_empty() && !out.ends_with(' ') =>
                {
                    out.push(' ');
                }
                _ => {}
            }
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        Some(out)
    }

    pub fn is_ancestor(&self, ancestor: NodeId, mut node: NodeId) -> bool {
        while node != NONE {
            if node == ancestor {
                return true;
            }
            node = self.nodes[node as usize].parent;
        }
        false
    }
}

/// Appends `text` with runs of whitespace collapsed to one space and no leading space at the start. An empty
/// `text` is an empty text node, which the builder makes for whitespace between tags: it adds one space.
pub(crate) fn push_collapsed(out: &mut String, text: &str) {
    let mut space = out.is_empty() || out.ends_with(' ');
    // An empty text node stands for whitespace between tags.
    if text.is_empty() {
        if !space {
            out.push(' ');
        }
        return;
    }
    for c in text.chars() {
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
        } else {
            out.push(c);
            space = false;
        }
    }
}

pub struct Children<'a> {
    doc: &'a Document,
    next: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let id = self.next;
        self.next = self.doc.nodes[id as usize].next_sibling;
        Some(id)
    }
}

pub struct Descendants<'a> {
    doc: &'a Document,
    root: NodeId,
    next: NodeId,
}

impl Iterator for Descendants<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let id = self.next;
        let nodes = &self.doc.nodes;
        let node = &nodes[id as usize];
        self.next = if node.first_child != NONE {
            node.first_child
        } else {
            let mut cur = id;
            loop {
                if cur == self.root {
                    break NONE;
                }
                let n = &nodes[cur as usize];
                if n.next_sibling != NONE {
                    break n.next_sibling;
                }
                cur = n.parent;
                if cur == self.root || cur == NONE {
                    break NONE;
                }
            }
        };
        Some(id)
    }
}

/// The attributes worth keeping, by their static name; everything else (inline handlers, tracking data)
/// is dropped at parse time, and kept names cost no allocation.
const KEPT_ATTRIBUTES: &[&str] = &[
    "id",
    "class",
    "href",
    "src",
    "data-src",
    "content",
    "name",
    "property",
    "itemprop",
    "itemtype",
    "itemscope",
    "rel",
    "lang",
    "xml:lang",
    "datetime",
    "type",
    "http-equiv",
    "charset",
    "role",
    "alt",
    "hidden",
    "style",
    "aria-hidden",
    "aria-label",
    "title",
    "pubdate",
];

fn keep_attr(name: &str) -> Option<&'static str> {
    KEPT_ATTRIBUTES.iter().copied().find(|k| *k == name)
}

struct Builder {
    nodes: Vec<Node>,
    /// Open elements; the document node is at the bottom.
    stack: Vec<NodeId>,
    /// Start tags beyond [`MAX_DEPTH`] that were not kept; their end tags are swallowed.
    overflow: usize,
    html: NodeId,
    head: NodeId,
    body: NodeId,
    stopped: bool,
}

impl Builder {
    fn new() -> Self {
        let doc = Node {
            data: Data::Document,
            parent: NONE,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
        };
        Builder {
            nodes: vec![doc],
            stack: vec![0],
            overflow: 0,
            html: NONE,
            head: NONE,
            body: NONE,
            stopped: false,
        }
    }

    fn current(&self) -> NodeId {
        *self.stack.last().unwrap_or(&0)
    }

    fn tag_of(&self, id: NodeId) -> Option<Tag> {
        match &self.nodes[id as usize].data {
            Data::Element(e) => Some(e.tag),
            _ => None,
        }
    }

    fn append(&mut self, parent: NodeId, data: Data) -> NodeId {
        let id = self.nodes.len() as NodeId;
        let prev = self.nodes[parent as usize].last_child;
        self.nodes.push(Node { data, parent, first_child: NONE, last_child: NONE, next_sibling: NONE });
        if prev == NONE {
            self.nodes[parent as usize].first_child = id;
        } else {
            self.nodes[prev as usize].next_sibling = id;
        }
        self.nodes[parent as usize].last_child = id;
        id
    }

    fn text(&mut self, text: &str) {
        let parent = self.current();
        // Whitespace between tags is most text nodes; outside <pre> it is stored as an empty string (read as
        // one space, see [`push_collapsed`]), which costs no allocation.
        let blank = text.bytes().all(|b| b.is_ascii_whitespace()) && !self.in_pre();
        let last = self.nodes[parent as usize].last_child;
        if last != NONE
            && let Data::Text(t) = &mut self.nodes[last as usize].data
        {
            if t.is_empty() {
                t.push(' ');
            }
            if blank {
                t.push(' ');
            } else {
                let room = MAX_TEXT_RUN.saturating_sub(t.len());
                t.push_str(truncate_str(text, room));
            }
            return;
        }
        let node = if blank { String::new() } else { truncate_str(text, MAX_TEXT_RUN).to_string() };
        self.append(parent, Data::Text(node));
    }

    fn in_pre(&self) -> bool {
        self.stack.iter().rev().any(|&id| matches!(&self.nodes[id as usize].data, Data::Element(e) if matches!(e.tag, Tag::Pre | Tag::Textarea)))
    }

    /// Pops open elements down to (and including) the nearest one for which `is_target` holds, unless an
    /// element for which `is_boundary` holds comes first.
    fn close_up_to(&mut self, is_target: impl Fn(Tag) -> bool, is_boundary: impl Fn(Tag) -> bool) {
        for i in (1..self.stack.len()).rev() {
            let Some(tag) = self.tag_of(self.stack[i]) else { return };
            if is_target(tag) {
                self.stack.truncate(i);
                return;
            }
            if is_boundary(tag) {
                return;
            }
        }
    }

    fn start_tag(&mut self, tag: Tag, name: &str, attrs: Attributes, self_closing: bool) {
        match tag {
            Tag::Html | Tag::Head | Tag::Body => {
                let existing = match tag {
                    Tag::Html => self.html,
                    Tag::Head => self.head,
                    _ => self.body,
                };
                if existing != NONE {
                    // A second <html>/<body> adds missing attributes, as browsers do.
                    if let Data::Element(e) = &mut self.nodes[existing as usize].data {
                        for (k, v) in attrs {
                            if e.attr(k).is_none() {
                                e.attrs.push((k, v));
                            }
                        }
                    }
                    return;
                }
            }
            _ => {}
        }
        // Anything that is not head content ends an open <head> (pages forget `</head>`, or put a <div> in it).
        if !matches!(
            tag,
            Tag::Html
                | Tag::Head
                | Tag::Title
                | Tag::Meta
                | Tag::Link
                | Tag::Script
                | Tag::Style
                | Tag::Noscript
                | Tag::Template
        ) && !matches!(name, "base")
            && self.head != NONE
            && let Some(pos) = self.stack.iter().position(|&id| id == self.head)
        {
            self.stack.truncate(pos);
        }
        if tag.closes_p() {
            self.close_up_to(|t| t == Tag::P, |t| !t.is_inline());
        }
        match tag {
            Tag::Li => self
                .close_up_to(|t| t == Tag::Li, |t| matches!(t, Tag::Ul | Tag::Ol | Tag::Menu | Tag::Table)),
            Tag::Dt | Tag::Dd => self.close_up_to(|t| matches!(t, Tag::Dt | Tag::Dd), |t| t == Tag::Dl),
            Tag::Tr => self.close_up_to(
                |t| t == Tag::Tr,
                |t| matches!(t, Tag::Table | Tag::Tbody | Tag::Thead | Tag::Tfoot),
            ),
            Tag::Td | Tag::Th => {
                self.close_up_to(|t| matches!(t, Tag::Td | Tag::Th), |t| matches!(t, Tag::Tr | Tag::Table))
            }
            Tag::Thead | Tag::Tbody | Tag::Tfoot => {
                self.close_up_to(|t| matches!(t, Tag::Thead | Tag::Tbody | Tag::Tfoot), |t| t == Tag::Table)
            }
            Tag::Option => self.close_up_to(|t| t == Tag::Option, |t| t == Tag::Select),
            Tag::H(_) => {
                if let Some(Tag::H(_)) = self.tag_of(self.current()) {
                    self.stack.pop();
                }
            }
            Tag::A => self.close_up_to(|t| t == Tag::A, |t| !t.is_inline()),
            _ => {}
        }
        let void = tag.is_void(name) || (self_closing && matches!(tag, Tag::Other | Tag::Svg | Tag::Math));
        if self.stack.len() > MAX_DEPTH {
            if !void {
                self.overflow += 1;
            }
            return;
        }
        let parent = self.current();
        let id = self.append(parent, Data::Element(Element { tag, name: name.into(), attrs }));
        match tag {
            Tag::Html => self.html = id,
            Tag::Head => self.head = id,
            Tag::Body => self.body = id,
            _ => {}
        }
        if !void {
            self.stack.push(id);
        }
    }

    fn end_tag(&mut self, tag: Tag, name: &str) {
        if self.overflow > 0 {
            self.overflow -= 1;
            return;
        }
        if tag == Tag::Head {
            if let Some(pos) = self.stack.iter().position(|&id| id == self.head) {
                self.stack.truncate(pos);
            }
            return;
        }
        // `</body>` and `</html>` close nothing: browsers put anything after them into the body.
        if matches!(tag, Tag::Html | Tag::Body) {
            return;
        }
        if tag == Tag::Br {
            // `</br>` is treated as `<br>` by browsers.
            self.start_tag(Tag::Br, "br", Vec::new(), true);
            return;
        }
        let scope_boundary = |t: Tag| matches!(t, Tag::Table | Tag::Td | Tag::Th | Tag::Html | Tag::Template);
        for i in (1..self.stack.len()).rev() {
            let id = self.stack[i];
            let Data::Element(e) = &self.nodes[id as usize].data else { return };
            if e.tag == tag && (tag != Tag::Other || &*e.name == name) {
                self.stack.truncate(i);
                return;
            }
            if tag.is_inline() {
                if !e.tag.is_inline() {
                    return;
                }
            } else if scope_boundary(e.tag) {
                return;
            }
        }
    }
}

pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Adds a text run, with its character references decoded, NULs dropped and line ends normalised.
fn push_text(builder: &mut Builder, text: &str, scratch: &mut String) {
    if text.is_empty() {
        return;
    }
    if text.contains(['&', '\0', '\r']) {
        scratch.clear();
        decode_entities_into(scratch, text, false);
        let cleaned = scratch.replace('\0', "").replace("\r\n", "\n").replace('\r', "\n");
        builder.text(&cleaned);
    } else {
        builder.text(text);
    }
}

/// The attributes of a start tag worth keeping: lower-cased names from [`KEPT_ATTRIBUTES`], the first of
/// duplicates, values cut at [`MAX_ATTR_LEN`] and then decoded.
fn kept_attributes(raw: &[Attribute<'_>]) -> Attributes {
    let mut attrs: Attributes = Vec::new();
    for attribute in raw {
        if let Some(name) = keep_attr(&attribute.lower_name())
            && !attrs.iter().any(|(k, _)| *k == name)
        {
            let value = truncate_str(attribute.value, MAX_ATTR_LEN);
            let value: Box<str> = if value.contains('&') {
                let mut decoded = String::with_capacity(value.len());
                decode_entities_into(&mut decoded, value, true);
                decoded.into()
            } else {
                value.into()
            };
            attrs.push((name, value));
        }
    }
    attrs
}

/// Parses a decoded page. Stops early (keeping what was built) once `deadline` passes.
///
/// The tokens come from [`newspipe_html::Tokenizer`] (a byte scanner that never backtracks, so the time
/// is linear in the input); raw text is kept only for JSON-LD scripts.
pub fn parse(html: &str, deadline: Option<Instant>) -> Document {
    let mut b = Builder::new();
    let mut scratch = String::new();
    let mut tokens = Tokenizer::new(html);
    let mut tags = 0u32;
    // Whether the raw text of the element just opened is kept (`<script type="application/ld+json">`).
    let mut keep_raw = false;
    // The deadline is looked at every 1024 start tags, once the tag's content (if any) is read.
    let past_deadline = |tags: &mut u32| {
        *tags += 1;
        tags.is_multiple_of(1024) && deadline.is_some_and(|deadline| Instant::now() > deadline)
    };
    while let Some(token) = tokens.next_token() {
        match token {
            Token::Text(text) => push_text(&mut b, text, &mut scratch),
            Token::EndTag(name) => b.end_tag(Tag::from_name(&name), &name),
            Token::StartTag(start) => {
                let tag = Tag::from_name(&start.name);
                let attrs = kept_attributes(start.attrs);
                keep_raw = tag == Tag::Script
                    && attrs
                        .iter()
                        .any(|(k, v)| *k == "type" && v.trim().eq_ignore_ascii_case("application/ld+json"));
                b.start_tag(tag, &start.name, attrs, start.self_closing);
                if start.content.is_none() && past_deadline(&mut tags) {
                    b.stopped = true;
                    break;
                }
            }
            Token::ElementText { text, content } => {
                match content {
                    Content::Raw if keep_raw => b.text(text),
                    Content::Raw => {}
                    Content::Rcdata | Content::Plaintext => push_text(&mut b, text, &mut scratch),
                }
                if past_deadline(&mut tags) {
                    b.stopped = true;
                    break;
                }
            }
        }
    }
    Document { html: b.html, head: b.head, body: b.body, timed_out: b.stopped, nodes: b.nodes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags_under(doc: &Document, id: NodeId) -> Vec<String> {
        doc.children(id).filter_map(|c| doc.element(c).map(|e| e.name.to_string())).collect()
    }

    #[test]
    fn a_simple_page_builds_html_head_and_body() {
        let doc = parse(
            "<!doctype html><html lang=en><head><title>T</title></head><body><p>Hello <b>world</b></p></body></html>",
            None,
        );
        assert_ne!(doc.body, NONE);
        assert_eq!(doc.element(doc.html).unwrap().attr("lang"), Some("en"));
        assert_eq!(doc.text(doc.body), "Hello world");
        assert_eq!(tags_under(&doc, doc.head), vec!["title"]);
    }

    #[test]
    fn character_references_decode_in_text_and_attributes() {
        let doc = parse(
            "<p title=\"a&amp;b &quot;c&quot;\">caf&eacute; &#8217;x&#x2019; &copy 2020 &nosuch; &amp</p>",
            None,
        );
        let p = doc.elements().find(|(_, e)| e.tag == Tag::P).unwrap().0;
        assert_eq!(doc.text(p), "café ’x’ © 2020 &nosuch; &");
        assert_eq!(doc.element(p).unwrap().attr("title"), Some("a&b \"c\""));
        let doc = parse("<a href=\"/x?a=1&copy=2&amp;b=3\">l</a>", None);
        let a = doc.elements().find(|(_, e)| e.tag == Tag::A).unwrap().1;
        assert_eq!(a.attr("href"), Some("/x?a=1&copy=2&b=3"));
    }

    #[test]
    fn scripts_styles_and_comments_are_not_text_but_json_ld_is_kept() {
        let html = "<html><head><script>if (a < b) { document.write('</div><p>no</p>'); }</script>\
                    <style>p > a { color: red }</style>\
                    <script type=\"application/ld+json\">{\"a\": \"<b>\"}</script></head>\
                    <body><!-- <p>hidden</p> --><p>yes</p><!--></body></html>";
        let doc = parse(html, None);
        assert_eq!(doc.text(doc.body), "yes");
        let ld = doc.elements().find(|(_, e)| e.attr("type").is_some()).unwrap().0;
        assert_eq!(doc.text(ld), "{\"a\": \"<b>\"}");
    }

    #[test]
    fn unclosed_paragraphs_list_items_and_cells_close_themselves() {
        let doc = parse(
            "<body><p>one<p>two<div>three</div><ul><li>a<li>b</ul><table><tr><td>x<td>y<tr><td>z</table>",
            None,
        );
        let names: Vec<String> =
            doc.children(doc.body).filter_map(|c| doc.element(c).map(|e| e.name.to_string())).collect();
        assert_eq!(names, vec!["p", "p", "div", "ul", "table"]);
        let ul = doc.elements().find(|(_, e)| e.tag == Tag::Ul).unwrap().0;
        assert_eq!(tags_under(&doc, ul), vec!["li", "li"]);
        let cells = doc.elements().filter(|(_, e)| e.tag == Tag::Td).count();
        assert_eq!(cells, 3);
        let rows = doc.elements().filter(|(_, e)| e.tag == Tag::Tr).count();
        assert_eq!(rows, 2);
    }

    #[test]
    fn a_stray_end_tag_does_not_close_an_unrelated_block() {
        let doc = parse("<body><div id=a><span>x</div></span><p>y</p></div><p>z</p>", None);
        let a = doc.elements().find(|(_, e)| e.id() == "a").unwrap().0;
        assert_eq!(doc.text(a), "x");
        assert_eq!(doc.children(doc.body).count(), 3);
    }

    #[test]
    fn whitespace_between_tags_separates_words_and_keeps_its_lines_in_pre() {
        let doc = parse(
            "<body><p><b>one</b> <i>two</i>\n<a>three</a></p><pre><span>x</span>\n<span>y</span></pre>",
            None,
        );
        let p = doc.elements().find(|(_, e)| e.tag == Tag::P).unwrap().0;
        assert_eq!(doc.text(p), "one two three");
        let pre = doc.elements().find(|(_, e)| e.tag == Tag::Pre).unwrap().0;
        let raw: String = doc
            .descendants(pre)
            .filter_map(|d| match &doc.node(d).data {
                Data::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(raw, "x\ny");
    }

    #[test]
    fn upper_case_and_unquoted_attributes_are_read() {
        let doc = parse("<DIV CLASS=Story ID='main' data-x><P>t</P></DIV>", None);
        let (id, e) = doc.elements().find(|(_, e)| e.tag == Tag::Div).unwrap();
        assert_eq!((e.class(), e.id()), ("Story", "main"));
        assert_eq!(doc.text(id), "t");
    }
}
