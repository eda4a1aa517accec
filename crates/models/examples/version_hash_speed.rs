//! How long the version hash of an article takes (the store computes one per stored page): over the
//! ground-truth texts of `../shared/corpus/wcxb-dev-articles`, paragraphs separated by blank lines.
//!
//! `cargo run --release -p newspipe-models --example version_hash_speed`

use std::time::Instant;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/wcxb-dev-articles/ground-truth");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: no corpus at {} (../shared beside the checkout)", dir.display());
        return;
    };
    let mut texts = Vec::new();
    for entry in entries.flatten() {
        let Ok(bytes) = std::fs::read(entry.path()) else { continue };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { continue };
        if let Some(text) = value["ground_truth"]["main_content"].as_str() {
            texts.push(text.replace('\n', "\n\n"));
        }
    }
    if texts.is_empty() {
        println!("skipped: no ground-truth texts in {}", dir.display());
        return;
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let rounds = 5;
    let start = Instant::now();
    let mut digest_bytes = 0;
    for _ in 0..rounds {
        for text in &texts {
            digest_bytes +=
                newspipe_models::version::version_hash(Some("A title"), &["Ana Lima".into()], text).len();
        }
    }
    let per_text = start.elapsed().as_secs_f64() * 1000.0 / (rounds * texts.len()) as f64;
    println!(
        "{} texts of {} bytes on average: {per_text:.3} ms per version hash ({digest_bytes} digest bytes)",
        texts.len(),
        bytes / texts.len()
    );
}
