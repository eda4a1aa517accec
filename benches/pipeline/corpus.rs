//! The pages the benchmark serves (the corpus, or generated ones), their URLs, and what the extractor makes of
//! them in memory (the raw extraction figure).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use axum::body::Bytes;
use chrono::Utc;
use newspipe_models::{JobId, RawPage, SCHEMA_VERSION};
use uuid::Uuid;

/// One page as served: its body, and what the worker's extraction made of it (for sizes and the store mode).
pub struct Corpus {
    pub pages: Vec<Bytes>,
    pub source: String,
}

pub fn url_of(base: &[String], n: usize) -> String {
    format!("{}/news/{n}/article.html", base[n % base.len()])
}

/// The content type the benchmark's web server sends its pages with.
pub const SERVED_TYPE: &str = "text/html; charset=utf-8";

pub fn raw_page(job_id: JobId, url: &str, body: &[u8], content_type: &str) -> RawPage {
    RawPage {
        schema: SCHEMA_VERSION,
        job_id,
        url: url.to_string(),
        final_url: url.to_string(),
        status: 200,
        headers: [("content-type".to_string(), content_type.to_string())].into(),
        fetched_at: Utc::now(),
        hints: None,
        parent_job_id: None,
        warc: None,
        revisit: None,
        rendering: None,
        body: body.to_vec(),
    }
}

/// Raw extraction measured: pages per second on some threads, and the CPU each page took.
#[derive(Debug, Clone, Copy)]
pub struct Raw {
    pub threads: usize,
    pub pages_per_second: f64,
    /// CPU milliseconds per page (this process's, which does nothing else meanwhile).
    pub cpu_ms: f64,
}

/// Extracts `urls.len()` pages (page `n % pages.len()` at `urls[n]`) on `threads` threads, the way the
/// extractor worker does it (`newspipe_extractor::extract_outcome` on a decoded page).
pub fn raw_extraction(pages: &[Bytes], urls: &[String], threads: usize) -> Raw {
    let options = newspipe_extract::Options::default();
    let next = AtomicUsize::new(0);
    let cpu_before = crate::procstat::cpu_seconds(std::process::id()).unwrap_or(0.0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= urls.len() {
                        break;
                    }
                    let page = raw_page(
                        JobId::from(Uuid::nil()),
                        &urls[n],
                        &pages[n % pages.len()],
                        "text/html; charset=utf-8",
                    );
                    std::hint::black_box(newspipe_extractor::extract_outcome(&page, &options));
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let cpu = crate::procstat::cpu_seconds(std::process::id()).unwrap_or(0.0) - cpu_before;
    Raw { threads, pages_per_second: urls.len() as f64 / seconds, cpu_ms: cpu * 1000.0 / urls.len() as f64 }
}

pub fn load_corpus(generated: bool) -> Corpus {
    let shared = std::env::var_os("NEWSPIPE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = shared.join("corpus/wcxb-dev-articles/html");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| !generated && p.to_string_lossy().ends_with(".html.gz"));
    paths.sort();
    let mut pages = Vec::new();
    for path in &paths {
        let mut html = Vec::new();
        let Ok(file) = std::fs::File::open(path) else { continue };
        if flate2::read::GzDecoder::new(file).read_to_end(&mut html).is_ok() {
            pages.push(Bytes::from(html));
        }
    }
    if !pages.is_empty() {
        let bytes: usize = pages.iter().map(Bytes::len).sum();
        return Corpus {
            source: format!(
                "{} (real pages, {:.1} KB on average)",
                dir.display(),
                bytes as f64 / pages.len() as f64 / 1e3
            ),
            pages,
        };
    }
    let pages: Vec<Bytes> = (0..50).map(|i| Bytes::from(generated_page(i))).collect();
    let bytes: usize = pages.iter().map(Bytes::len).sum();
    Corpus {
        source: format!(
            "generated article pages ({}), {:.1} KB on average",
            if generated { "--generated-pages".to_string() } else { format!("{} is absent", dir.display()) },
            bytes as f64 / pages.len() as f64 / 1e3
        ),
        pages,
    }
}

fn generated_page(i: usize) -> String {
    let words = [
        "council",
        "budget",
        "river",
        "school",
        "market",
        "harbour",
        "railway",
        "election",
        "festival",
        "hospital",
        "museum",
        "weather",
        "farmers",
        "library",
        "bridge",
        "energy",
        "housing",
        "police",
        "garden",
        "university",
    ];
    let mut paragraphs = String::new();
    for p in 0..12 {
        let mut sentence = String::new();
        for w in 0..60 {
            let word = words[(i * 7 + p * 13 + w * 3) % words.len()];
            sentence.push_str(if w == 0 { "The" } else { word });
            sentence.push(if w % 12 == 11 { '.' } else { ' ' });
        }
        paragraphs.push_str(&format!("<p>{sentence} Paragraph {p} of story {i}.</p>\n"));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Story {i}: the {w} report</title>\
         <meta property=\"og:type\" content=\"article\"><meta name=\"author\" content=\"Alex Writer\">\
         <meta property=\"article:published_time\" content=\"2026-11-{d:02}T08:00:00Z\"></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav><article><h1>Story {i}: the {w} report</h1>\
         <p class=\"byline\">By Alex Writer</p>{paragraphs}</article><footer>(c) Example News</footer></body></html>",
        w = words[i % words.len()],
        d = 1 + i % 27
    )
}
