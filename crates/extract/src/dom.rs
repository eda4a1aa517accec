//! A small arena DOM built straight from html5ever's tokenizer.
//!
//! The full HTML5 tree builder (with `Rc<RefCell>` nodes) costs about as much as tokenizing; extraction only
//! needs a faithful-enough tree, so this builder applies the handful of implied-end-tag rules that real pages
//! rely on (`<p>`, `<li>`, table cells, ...) and the spec's "stop at a special element" rule for stray end
//! tags. It is also where the bounds live: nesting is capped, attribute values are truncated, and parsing
//! stops when the time budget runs out.

use std::cell::{Cell, RefCell};
use std::time::Instant;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Elements deeper than this are flattened into their deepest kept ancestor.
pub const MAX_DEPTH: usize = 256;
/// Attribute values longer than this are cut (a data-URI image or a megabyte of JSON in an attribute).
pub const MAX_ATTR_LEN: usize = 4096;
/// Bytes fed to the tokenizer between two looks at the clock.
const FEED_CHUNK: usize = 32 * 1024;

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

#[derive(Debug)]
pub struct Element {
    pub tag: Tag,
    pub name: Box<str>,
    pub attrs: Vec<(Box<str>, Box<str>)>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| &**k == name).map(|(_, v)| &**v)
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

/// Appends `text` with runs of whitespace collapsed to one space and no leading space at the start.
pub fn push_collapsed(out: &mut String, text: &str) {
    let mut space = out.is_empty() || out.ends_with(' ');
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

/// The attributes worth keeping; everything else (inline handlers, tracking data) is dropped at parse time.
fn keep_attr(name: &str) -> bool {
    matches!(
        name,
        "id" | "class"
            | "href"
            | "src"
            | "data-src"
            | "content"
            | "name"
            | "property"
            | "itemprop"
            | "itemtype"
            | "itemscope"
            | "rel"
            | "lang"
            | "xml:lang"
            | "datetime"
            | "type"
            | "http-equiv"
            | "charset"
            | "role"
            | "alt"
            | "hidden"
            | "style"
            | "aria-hidden"
            | "aria-label"
            | "title"
            | "pubdate"
    )
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
    /// The element whose raw text (script/style) is being read, and whether to keep it.
    keep_raw_text: bool,
    in_raw: bool,
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
            keep_raw_text: false,
            in_raw: false,
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
        let last = self.nodes[parent as usize].last_child;
        if last != NONE
            && let Data::Text(t) = &mut self.nodes[last as usize].data
        {
            t.push_str(text);
            return;
        }
        self.append(parent, Data::Text(text.to_string()));
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

    fn start_tag(&mut self, tag: Tag, name: &str, attrs: Vec<(Box<str>, Box<str>)>, self_closing: bool) {
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
                            if e.attr(&k).is_none() {
                                e.attrs.push((k, v));
                            }
                        }
                    }
                    return;
                }
            }
            Tag::P | Tag::H(_) | Tag::Ul | Tag::Ol | Tag::Div | Tag::Table | Tag::Blockquote | Tag::Pre => {}
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

struct Sink {
    builder: RefCell<Builder>,
    deadline: Option<Instant>,
    tokens: Cell<u32>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut b = self.builder.borrow_mut();
        if b.stopped {
            return TokenSinkResult::Continue;
        }
        // Checking the clock every token would cost more than the parse; every 4096 tokens is enough.
        let n = self.tokens.get().wrapping_add(1);
        self.tokens.set(n);
        if n.is_multiple_of(4096)
            && let Some(deadline) = self.deadline
            && Instant::now() > deadline
        {
            b.stopped = true;
            return TokenSinkResult::Continue;
        }
        match token {
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                let kind = Tag::from_name(name);
                match tag.kind {
                    TagKind::StartTag => {
                        let attrs = tag
                            .attrs
                            .iter()
                            .filter(|a| keep_attr(&a.name.local))
                            .map(|a| {
                                let v: &str = &a.value;
                                let v =
                                    if v.len() > MAX_ATTR_LEN { truncate_str(v, MAX_ATTR_LEN) } else { v };
                                (Box::<str>::from(&*a.name.local), Box::<str>::from(v))
                            })
                            .collect::<Vec<_>>();
                        let raw = match kind {
                            Tag::Script => {
                                let ld = attrs.iter().any(|(k, v)| {
                                    &**k == "type" && v.trim().eq_ignore_ascii_case("application/ld+json")
                                });
                                b.keep_raw_text = ld;
                                Some(RawKind::ScriptData)
                            }
                            Tag::Style | Tag::Noscript | Tag::Iframe | Tag::Template => {
                                b.keep_raw_text = false;
                                Some(RawKind::Rawtext)
                            }
                            Tag::Other if matches!(name, "xmp" | "noembed" | "noframes") => {
                                b.keep_raw_text = false;
                                Some(RawKind::Rawtext)
                            }
                            Tag::Title | Tag::Textarea => {
                                b.keep_raw_text = true;
                                Some(RawKind::Rcdata)
                            }
                            _ => None,
                        };
                        b.start_tag(kind, name, attrs, tag.self_closing);
                        if let Some(raw) = raw
                            && !tag.self_closing
                        {
                            b.in_raw = true;
                            return TokenSinkResult::RawData(raw);
                        }
                    }
                    TagKind::EndTag => {
                        b.in_raw = false;
                        b.keep_raw_text = false;
                        b.end_tag(kind, name);
                    }
                }
            }
            Token::CharacterTokens(text) if !b.in_raw || b.keep_raw_text => b.text(&text),
            _ => {}
        }
        TokenSinkResult::Continue
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

/// Parses a decoded page. Stops early (keeping what was built) once `deadline` passes.
pub fn parse(html: &str, deadline: Option<Instant>) -> Document {
    let sink = Sink { builder: RefCell::new(Builder::new()), deadline, tokens: Cell::new(0) };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    let mut rest = html;
    while !rest.is_empty() {
        let cut = truncate_str(rest, FEED_CHUNK).len().max(rest.chars().next().map_or(1, char::len_utf8));
        queue.push_back(StrTendril::from_slice(&rest[..cut]));
        rest = &rest[cut..];
        let _ = tokenizer.feed(&queue);
        if tokenizer.sink.builder.borrow().stopped {
            break;
        }
        if let Some(deadline) = deadline
            && Instant::now() > deadline
        {
            tokenizer.sink.builder.borrow_mut().stopped = true;
            break;
        }
    }
    tokenizer.end();
    let b = tokenizer.sink.builder.into_inner();
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
}
