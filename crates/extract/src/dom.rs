//! A small arena DOM with its own byte-level tokenizer.
//!
//! A spec-complete parse (html5ever's char-by-char tokenizer and tree builder) costs more than everything
//! else extraction does; extraction only needs a faithful-enough tree, so the tokenizer scans bytes (half
//! of a modern page is `<script>` and `<style>`, skipped with one search each) and the builder applies the handful of implied-end-tag rules that real pages
//! rely on (`<p>`, `<li>`, table cells, ...) and the spec's "stop at a special element" rule for stray end
//! tags. It is also where the bounds live: nesting is capped, attribute values are truncated, and parsing
//! stops when the time budget runs out.

use std::time::Instant;

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
pub fn push_collapsed(out: &mut String, text: &str) {
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

pub fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// How the text after a start tag is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextMode {
    /// Raw text up to the matching end tag (`<script>`, `<style>`...); kept only for JSON-LD.
    Raw { keep: bool },
    /// Text with character references up to the matching end tag (`<title>`, `<textarea>`).
    Rcdata,
    /// Everything to the end of the input is text (`<plaintext>`).
    Plaintext,
}

fn text_mode(tag: Tag, name: &str, attrs: &[(&'static str, Box<str>)]) -> Option<TextMode> {
    match tag {
        Tag::Script => {
            let ld = attrs
                .iter()
                .any(|(k, v)| *k == "type" && v.trim().eq_ignore_ascii_case("application/ld+json"));
            Some(TextMode::Raw { keep: ld })
        }
        Tag::Style | Tag::Noscript | Tag::Iframe | Tag::Template => Some(TextMode::Raw { keep: false }),
        Tag::Title | Tag::Textarea => Some(TextMode::Rcdata),
        Tag::Other => match name {
            "xmp" | "noembed" | "noframes" => Some(TextMode::Raw { keep: false }),
            "plaintext" => Some(TextMode::Plaintext),
            _ => None,
        },
        _ => None,
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Finds `</name` (ASCII case-insensitive) followed by a space, `/` or `>`, at or after `from`.
fn find_end_tag(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let name = name.as_bytes();
    let mut at = from;
    while let Some(p) = memchr_lt(&bytes[at..]) {
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

fn memchr_lt(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'<', bytes)
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Index just past the next `>` at or after `from`, or the end of input.
fn past_gt(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'>', &bytes[from..]).map_or(bytes.len(), |p| from + p + 1)
}

/// Decodes character references (`&amp;`, `&#8217;`, `&#x2019;`, legacy `&copy` without `;`) into `out`.
/// In attribute values a legacy name followed by a letter, digit or `=` is left alone, as browsers do
/// (`?a=1&copy=2` is a URL, not a copyright sign).
pub fn decode_entities_into(out: &mut String, text: &str, in_attribute: bool) {
    let bytes = text.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'&', &bytes[i..]) {
        let amp = i + p;
        i = amp + 1;
        let Some((decoded, consumed)) = entity_at(&text[amp + 1..], in_attribute) else { continue };
        out.push_str(&text[last..amp]);
        out.push_str(decoded.as_str());
        i = amp + 1 + consumed;
        last = i;
    }
    out.push_str(&text[last..]);
}

/// A decoded reference: at most two characters.
struct Decoded {
    buf: [u8; 8],
    len: usize,
}

impl Decoded {
    fn new(chars: &[char]) -> Self {
        let mut d = Decoded { buf: [0; 8], len: 0 };
        for c in chars {
            let s = c.encode_utf8(&mut d.buf[d.len..]);
            d.len += s.len();
        }
        d
    }
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

fn numeric_char(code: u32) -> char {
    // The spec's replacements: NUL, surrogates and out-of-range to U+FFFD; C1 controls as windows-1252.
    const C1: [u32; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152,
        0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122,
        0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    let code = if (0x80..0xA0).contains(&code) { C1[(code - 0x80) as usize] } else { code };
    if code == 0 {
        return '\u{FFFD}';
    }
    char::from_u32(code).unwrap_or('\u{FFFD}')
}

/// The reference after an `&`: what it decodes to and how many bytes (after the `&`) it used.
fn entity_at(rest: &str, in_attribute: bool) -> Option<(Decoded, usize)> {
    let b = rest.as_bytes();
    if b.first() == Some(&b'#') {
        let (hex, start) = if matches!(b.get(1), Some(b'x' | b'X')) { (true, 2) } else { (false, 1) };
        let digits = b[start..]
            .iter()
            .take_while(|c| if hex { c.is_ascii_hexdigit() } else { c.is_ascii_digit() })
            .count();
        if digits == 0 {
            return None;
        }
        let code = u32::from_str_radix(&rest[start..start + digits.min(8)], if hex { 16 } else { 10 })
            .unwrap_or(0x110000);
        let mut used = start + digits;
        if b.get(used) == Some(&b';') {
            used += 1;
        }
        return Some((Decoded::new(&[numeric_char(code)]), used));
    }
    let name_len = b.iter().take(32).take_while(|c| c.is_ascii_alphanumeric()).count();
    if name_len == 0 {
        return None;
    }
    let entities = &html5ever::data::NAMED_ENTITIES;
    if b.get(name_len) == Some(&b';')
        && let Some(&(c1, c2)) = entities.get(&rest[..name_len + 1])
        && c1 != 0
    {
        return Some((to_decoded(c1, c2), name_len + 1));
    }
    // Legacy references without `;`: the longest known prefix.
    for len in (2..=name_len.min(8)).rev() {
        if let Some(&(c1, c2)) = entities.get(&rest[..len])
            && c1 != 0
        {
            let next = b.get(len).copied();
            if in_attribute && next.is_some_and(|n| n.is_ascii_alphanumeric() || n == b'=') {
                return None;
            }
            return Some((to_decoded(c1, c2), len));
        }
    }
    None
}

fn to_decoded(c1: u32, c2: u32) -> Decoded {
    let first = char::from_u32(c1).unwrap_or('\u{FFFD}');
    match char::from_u32(c2).filter(|_| c2 != 0) {
        Some(second) => Decoded::new(&[first, second]),
        None => Decoded::new(&[first]),
    }
}

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

/// Reads one start tag's attributes from `bytes[i..]`; returns them, whether the tag was self-closing,
/// and the index just past the `>` (or the end of input for a truncated tag).
fn read_attributes(html: &str, mut i: usize) -> (Attributes, bool, usize) {
    let bytes = html.as_bytes();
    let mut attrs: Attributes = Vec::new();
    let mut self_closing = false;
    loop {
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            return (attrs, self_closing, i);
        }
        match bytes[i] {
            b'>' => return (attrs, self_closing, i + 1),
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
        let raw_name = &html[name_start..name_end];
        let name: std::borrow::Cow<'_, str> = if raw_name.bytes().any(|b| b.is_ascii_uppercase()) {
            raw_name.to_ascii_lowercase().into()
        } else {
            raw_name.into()
        };
        if let Some(name) = keep_attr(&name)
            && !attrs.iter().any(|(k, _)| *k == name)
        {
            let value = truncate_str(value, MAX_ATTR_LEN);
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
}

/// Parses a decoded page. Stops early (keeping what was built) once `deadline` passes.
///
/// The tokenizer is a byte scanner over the HTML syntax that matters for extraction: tags and attributes
/// (quoted or not), comments, doctypes, raw-text elements and character references. It never backtracks,
/// so its time is linear in the input.
pub fn parse(html: &str, deadline: Option<Instant>) -> Document {
    let mut b = Builder::new();
    let bytes = html.as_bytes();
    let mut scratch = String::new();
    let mut i = 0;
    let mut tags = 0u32;
    // A BOM that decoding left in place is not text.
    if html.starts_with('\u{FEFF}') {
        i = 3;
    }
    while i < bytes.len() {
        let Some(p) = memchr_lt(&bytes[i..]) else {
            push_text(&mut b, &html[i..], &mut scratch);
            break;
        };
        let lt = i + p;
        push_text(&mut b, &html[i..lt], &mut scratch);
        let next = bytes.get(lt + 1).copied();
        match next {
            Some(b'!') => {
                if bytes[lt..].starts_with(b"<!--") {
                    // `<!-->` and `<!--->` are complete (empty) comments.
                    let body = lt + 4;
                    let end = if bytes[body..].starts_with(b">") {
                        body + 1
                    } else if bytes[body..].starts_with(b"->") {
                        body + 2
                    } else {
                        find_bytes(&bytes[body..], b"-->").map_or(bytes.len(), |p| body + p + 3)
                    };
                    i = end;
                } else {
                    i = past_gt(bytes, lt);
                }
            }
            Some(b'?') => {
                i = past_gt(bytes, lt);
            }
            Some(b'/') => {
                let name_start = lt + 2;
                if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
                    // `</>` is dropped; `</ x>` and the like are bogus comments.
                    i = past_gt(bytes, lt);
                    continue;
                }
                let mut j = name_start;
                while j < bytes.len() && !is_space(bytes[j]) && !matches!(bytes[j], b'/' | b'>') {
                    j += 1;
                }
                let name = html[name_start..j].to_ascii_lowercase();
                i = past_gt(bytes, j);
                b.end_tag(Tag::from_name(&name), &name);
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let name_start = lt + 1;
                let mut j = name_start;
                while j < bytes.len() && !is_space(bytes[j]) && !matches!(bytes[j], b'/' | b'>') {
                    j += 1;
                }
                let raw_name = &html[name_start..j];
                let name: std::borrow::Cow<'_, str> = if raw_name.bytes().any(|b| b.is_ascii_uppercase()) {
                    raw_name.to_ascii_lowercase().into()
                } else {
                    raw_name.into()
                };
                let (attrs, self_closing, after) = read_attributes(html, j);
                i = after;
                let tag = Tag::from_name(&name);
                let mode = text_mode(tag, &name, &attrs);
                b.start_tag(tag, &name, attrs, self_closing && mode.is_none());
                match mode {
                    None => {}
                    Some(TextMode::Plaintext) => {
                        push_text(&mut b, &html[i..], &mut scratch);
                        i = bytes.len();
                    }
                    Some(mode) => {
                        let end = find_end_tag(bytes, i, &name).unwrap_or(bytes.len());
                        match mode {
                            TextMode::Raw { keep: true } => b.text(&html[i..end]),
                            TextMode::Rcdata => push_text(&mut b, &html[i..end], &mut scratch),
                            _ => {}
                        }
                        i = end;
                    }
                }
                tags += 1;
                if tags.is_multiple_of(1024)
                    && let Some(deadline) = deadline
                    && Instant::now() > deadline
                {
                    b.stopped = true;
                    break;
                }
            }
            _ => {
                // A `<` that starts no tag is text.
                push_text(&mut b, "<", &mut scratch);
                i = lt + 1;
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
