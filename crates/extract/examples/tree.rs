//! Prints the element tree of a saved page to a given depth (a debugging aid):
//! `cargo run -p newspipe-extract --example tree -- FILE [DEPTH]`.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use newspipe_extract::dom::{self, Document, NodeId};

fn print(doc: &Document, id: NodeId, depth: usize, max: usize) {
    if depth > max {
        return;
    }
    for c in doc.children(id) {
        if let Some(e) = doc.element(c) {
            let text = doc.text(c);
            println!(
                "{}{} .{} #{} [{} chars] {:.60}",
                "  ".repeat(depth),
                e.name,
                e.class(),
                e.id(),
                text.len(),
                text
            );
            print(doc, c, depth + 1, max);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: tree FILE [DEPTH]");
    let max = args.next().and_then(|d| d.parse().ok()).unwrap_or(6);
    let bytes = newspipe_extract::files::read_page(Path::new(&path), 64 << 20).expect("readable page");
    let (html, _, _) = newspipe_extract::charset::decode(&bytes, None, "");
    let doc = dom::parse(&html, None);
    print(&doc, 0, 0, max);
}
