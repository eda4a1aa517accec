//! Throughput on one core: every page of `../shared/corpus/wcxb-dev-articles` (and the readability pages)
//! loaded into memory first, then extracted `ROUNDS` times (default 3) on this thread.
//!
//! `CARGO_TARGET_DIR=/work/target-extract cargo run --release -p newspipe-extract --example bench`

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use newspipe_extract::{Options, Page, extract};

fn main() {
    let shared = std::env::var_os("NEWSPIPE_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("corpus/wcxb-dev-articles");
    let Ok(entries) = std::fs::read_dir(dir.join("html")) else {
        println!("bench: {} is absent; nothing to measure", dir.display());
        return;
    };
    let mut pages: Vec<(String, Vec<u8>)> = Vec::new();
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let mut html = Vec::new();
        let Ok(file) = std::fs::File::open(&path) else { continue };
        if flate2::read::GzDecoder::new(file).read_to_end(&mut html).is_err() {
            continue;
        }
        let id =
            path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".html.gz")).unwrap_or("");
        let url = std::fs::read_to_string(dir.join(format!("ground-truth/{id}.json")))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v["url"].as_str().map(str::to_string))
            .unwrap_or_else(|| "http://localhost/".into());
        pages.push((url, html));
    }
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let options = Options::default();
    let bytes: usize = pages.iter().map(|(_, h)| h.len()).sum();
    // STAGE=parse measures decoding and parsing alone, STAGE=meta adds the metadata: where the time goes.
    let stage = std::env::var("STAGE").unwrap_or_default();
    let start = Instant::now();
    let cpu_start = thread_cpu_time();
    for _ in 0..rounds {
        for (url, html) in &pages {
            match stage.as_str() {
                "parse" | "meta" => {
                    let (text, _, _) = newspipe_extract::charset::decode(html, None, url);
                    let doc = newspipe_extract::dom::parse(&text, None);
                    if stage == "meta" {
                        std::hint::black_box(newspipe_extract::extract_metadata(&doc, &text, url, None));
                    }
                    std::hint::black_box(doc);
                }
                _ => {
                    let _ = std::hint::black_box(extract(&Page::new(html, url), &options));
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_time().zip(cpu_start).map(|(end, start)| end - start);
    let n = (pages.len() * rounds) as f64;
    println!(
        "{} pages x {rounds} rounds ({:.1} MB a round): {:.0} pages/s, {:.2} ms/page, {:.1} MB/s on one core",
        pages.len(),
        bytes as f64 / 1e6,
        n / secs,
        secs * 1000.0 / n,
        bytes as f64 * rounds as f64 / 1e6 / secs
    );
    if let Some(cpu) = cpu {
        // On a shared machine the wall clock includes time this thread waited for a core; its CPU time is
        // what one core of its own would take.
        println!("  on-CPU time {:.2} s: {:.0} pages/s per CPU-second", cpu, n / cpu);
    }
}

/// This thread's on-CPU time in seconds (Linux `schedstat`), if the system reports it.
fn thread_cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}
