//! CPU time of the search analysis per article, on the corpus's ground-truth texts (12 KB on average):
//! `cargo run --release -p newspipe-search --example vector_speed [-- OUT.tsv]`; with OUT, each text and its
//! vector are written there (tab-separated, escaped for PostgreSQL's COPY) to load and compare in psql.

use std::io::Write as _;
use std::time::Instant;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/wcxb-dev-articles/ground-truth");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "{}: not found (the shared corpus is beside the checkout); nothing to measure",
            dir.display()
        );
        return;
    };
    let mut texts: Vec<(String, String)> = Vec::new();
    for entry in entries.flatten() {
        let Ok(body) = std::fs::read_to_string(entry.path()) else { continue };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else { continue };
        let truth = &json["ground_truth"];
        let title = truth["title"].as_str().unwrap_or("").to_string();
        let text = truth["main_content"].as_str().unwrap_or("").to_string();
        texts.push((title, text));
    }
    let bytes: usize = texts.iter().map(|(t, x)| t.len() + x.len()).sum();
    let rounds = 5;
    let started = Instant::now();
    let mut vectors = Vec::new();
    for _ in 0..rounds {
        vectors = texts
            .iter()
            .map(|(title, text)| newspipe_search::article_vector(Some("en"), Some(title), None, text))
            .collect();
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / (rounds * texts.len()) as f64;
    let vector_bytes: usize = vectors.iter().map(String::len).sum();
    println!(
        "{} texts, {:.1} KB on average: {per:.3} ms per article vector ({:.1} KB of tsvector text on average)",
        texts.len(),
        bytes as f64 / texts.len() as f64 / 1024.0,
        vector_bytes as f64 / texts.len() as f64 / 1024.0
    );
    if let Some(out) = std::env::args().nth(1) {
        let escape =
            |s: &str| s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&out).expect("the output file"));
        for ((title, text), vector) in texts.iter().zip(&vectors) {
            writeln!(file, "{}\t{}\t{}", escape(title), escape(text), escape(vector)).expect("written");
        }
    }
}
