//! Prints the extraction of every page under `../shared` (the corpora and fixtures), one block a page in
//! path order, so that two builds' outputs can be compared whole: `… --example dump | sha256sum`.
//!
//! `cargo run --release -p newspipe-extract --example dump > out.txt`
//!
//! wcxb pages get their URL from the ground truth; every other page a stable made-up URL from its path.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use newspipe_extract::files::{is_page_file, read_page};
use newspipe_extract::{Options, Page, extract};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if is_page_file(&path) {
            out.push(path);
        }
    }
}

fn main() {
    let shared = std::env::var_os("NEWSPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if !shared.is_dir() {
        eprintln!("dump: {} is absent; nothing to extract", shared.display());
        return;
    }
    let mut paths = Vec::new();
    walk(&shared, &mut paths);
    paths.sort();
    // No time budget: a slow run on a busy machine must not change the output.
    let options = Options { time_budget: std::time::Duration::from_secs(3600), ..Options::default() };
    for path in paths {
        let relative = path.strip_prefix(&shared).unwrap_or(&path).to_string_lossy().into_owned();
        let ground_truth =
            path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".html.gz")).map(|id| {
                path.parent()
                    .and_then(Path::parent)
                    .unwrap_or(&shared)
                    .join(format!("ground-truth/{id}.json"))
            });
        let url = ground_truth
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v["url"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("https://corpus.example/{relative}"));
        let result = match read_page(&path, options.max_bytes) {
            Ok(bytes) => format!("{:#?}", extract(&Page::new(&bytes, &url), &options)),
            Err(e) => format!("unreadable: {e}"),
        };
        println!("== {relative} {url}\n{result}");
    }
}
