//! The shell rule on real article pages: `../shared/corpus/wcxb-dev-articles` (`html/*.html.gz`, with
//! `ground-truth/*.json`) and `../shared/corpus/readability-test-pages` (`*/source.html`) are articles a
//! plain fetch reads, so (almost) none of them may be judged a shell; the exception is the pages WCXB's
//! ground truth marks as single-page apps (`_internal.spa: true`, an empty `main_content`), which must be.
//! Skips, with a note, where the corpus is absent.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use newspipe_extract::{Page, files, shell_signals};

fn corpus_dir() -> PathBuf {
    std::env::var_os("NEWSPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("corpus")
}

/// The page files of both corpora, with their URLs (from the ground truth where it has one) and whether
/// the ground truth says the page is a single-page app.
fn pages(corpus: &Path) -> Vec<(PathBuf, String, bool)> {
    let mut out = Vec::new();
    let wcxb = corpus.join("wcxb-dev-articles");
    if let Ok(entries) = std::fs::read_dir(wcxb.join("html")) {
        for e in entries.flatten() {
            let path = e.path();
            let id = path.file_name().unwrap().to_string_lossy().trim_end_matches(".html.gz").to_string();
            let truth = std::fs::read_to_string(wcxb.join("ground-truth").join(format!("{id}.json")))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .unwrap_or_default();
            let url =
                truth["url"].as_str().map_or_else(|| format!("https://wcxb.example/{id}"), str::to_string);
            let spa = truth["_internal"]["spa"].as_bool() == Some(true);
            out.push((path, url, spa));
        }
    }
    if let Ok(entries) = std::fs::read_dir(corpus.join("readability-test-pages")) {
        for e in entries.flatten() {
            let path = e.path().join("source.html");
            if path.is_file() {
                let name = e.file_name().to_string_lossy().to_string();
                out.push((path, format!("https://readability.example/{name}"), false));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn no_real_article_page_of_the_corpus_is_judged_a_shell() {
    let corpus = corpus_dir();
    let pages = pages(&corpus);
    if pages.is_empty() {
        println!("note: no pages under {}; the shell corpus check is skipped", corpus.display());
        return;
    }
    let (mut shells, mut missed, mut apps) = (Vec::new(), Vec::new(), 0);
    for (path, url, spa) in &pages {
        let body = files::read_page(path, 64 * 1024 * 1024).unwrap();
        let reason = shell_signals(&Page::new(&body, url));
        apps += usize::from(*spa);
        match (reason, spa) {
            (Some(reason), false) => shells.push(format!("{}: {reason}", path.display())),
            (Some(reason), true) => println!("  single-page app {} judged a shell: {reason}", path.display()),
            (None, true) => missed.push(path.display().to_string()),
            (None, false) => {}
        }
    }
    let articles = pages.len() - apps;
    println!(
        "shell_signals on {} real pages: {} of {articles} articles judged shells, {} of {apps} single-page apps missed",
        pages.len(),
        shells.len(),
        missed.len()
    );
    for s in &shells {
        println!("  {s}");
    }
    assert!(missed.is_empty(), "single-page apps not judged shells: {missed:?}");
    // At most one article page in a hundred (none, when this was written).
    assert!(
        shells.len() * 100 <= articles,
        "{} of {articles} article pages judged shells:\n{}",
        shells.len(),
        shells.join("\n")
    );
}
