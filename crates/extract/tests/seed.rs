//! The seed fixture from `../shared/fixtures/seed`, checked exactly. Skips (with a note) when absent.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

#[path = "support/seed_check.rs"]
mod seed_check;

#[test]
fn the_seed_article_is_extracted_exactly_as_its_fixture_says() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/seed");
    let (Ok(html), Ok(expected)) =
        (std::fs::read(dir.join("article.html")), std::fs::read_to_string(dir.join("expected.json")))
    else {
        println!("note: {} is absent; the seed check is skipped", dir.display());
        return;
    };
    let expected: serde_json::Value = serde_json::from_str(&expected).expect("expected.json is JSON");
    let problems = seed_check::check(&html, &expected);
    assert!(problems.is_empty(), "seed problems:\n{}", problems.join("\n"));
}
