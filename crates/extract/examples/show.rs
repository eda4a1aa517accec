//! Prints what the extractor makes of one saved page: `cargo run -p newspipe-extract --example show -- FILE [URL]`.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use newspipe_extract::{Extraction, Options, Page, extract, files};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: show FILE [URL]");
        std::process::exit(2);
    };
    let url = args.next().unwrap_or_else(|| "http://localhost/".into());
    let options = Options::default();
    let bytes = match files::read_page(Path::new(&path), options.max_bytes) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    match extract(&Page::new(&bytes, &url), &options) {
        Ok(Extraction::Article(a)) => {
            let text = std::mem::take(&mut a.text.clone());
            let mut meta = (*a).clone();
            meta.text = String::new();
            meta.markdown = None;
            println!("{meta:#?}");
            println!("---- text ----\n{text}");
        }
        other => println!("{other:?}"),
    }
}
