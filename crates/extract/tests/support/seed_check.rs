//! The seed fixture's check, shared by the `seed` test and the `eval` example: every paragraph present and
//! in order, nothing from `text_must_not_contain`, every metadata field exact.

use newspipe_extract::{Extraction, Options, Page, extract};
use serde_json::Value;

/// Problems found; empty when the extraction is correct.
pub fn check(html: &[u8], expected: &Value) -> Vec<String> {
    let url = expected["url"].as_str().unwrap_or("");
    let article = match extract(&Page::new(html, url), &Options::default()) {
        Ok(Extraction::Article(a)) => a,
        other => return vec![format!("no article: {other:?}")],
    };
    let mut problems = Vec::new();
    let mut from = 0;
    for p in expected["text_paragraphs_in_order"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        match article.text[from..].find(p) {
            Some(at) => from += at + p.len(),
            None => problems.push(format!("paragraph missing or out of order: {p:.60}")),
        }
    }
    for s in expected["text_must_not_contain"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if article.text.contains(s) {
            problems.push(format!("text contains {s:?}"));
        }
    }
    let rfc3339 = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let fields: [(&str, Option<String>); 9] = [
        ("url", Some(article.url.clone())),
        ("canonical_url", article.canonical_url.clone()),
        ("title", article.title.clone()),
        ("published_at", rfc3339(article.published_at)),
        ("modified_at", rfc3339(article.modified_at)),
        ("language", article.language.clone()),
        ("site_name", article.site_name.clone()),
        ("image", article.image.clone()),
        ("description", article.description.clone()),
    ];
    for (name, got) in fields {
        if let Some(want) = expected[name].as_str()
            && got.as_deref() != Some(want)
        {
            problems.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    for tag in expected["tags_include"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !article.tags.iter().any(|t| t == tag) {
            problems.push(format!("tags lack {tag:?}: {:?}", article.tags));
        }
    }
    if let Some(authors) = expected["authors"].as_array() {
        let want: Vec<&str> = authors.iter().filter_map(Value::as_str).collect();
        if article.authors != want {
            problems.push(format!("authors: got {:?}, want {want:?}", article.authors));
        }
    }
    problems
}
