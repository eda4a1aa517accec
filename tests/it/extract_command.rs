//! `newspipe extract`: local pages to articles without any service.

use std::io::Write;
use std::process::Command;

use crate::support::bin;
use crate::support::web::{article_content, article_html};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("newspipe-extract-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn one_page_prints_its_article_as_json_or_text() {
    let dir = temp_dir("one");
    let page = dir.join("a.html");
    std::fs::write(&page, article_html(4)).unwrap();
    let output = Command::new(bin("newspipe"))
        .args(["extract", "--url", "https://news.example/2024/03/05/plan", page.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let article: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let (title, paragraphs) = article_content(4);
    assert_eq!(article["title"], title.as_str());
    assert_eq!(article["url"], "https://news.example/2024/03/05/plan");
    assert_eq!(article["authors"], serde_json::json!(["Jane Marlowe"]));

    let output = Command::new(bin("newspipe"))
        .args(["extract", "--format", "text", page.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with(&paragraphs[0]), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn jsonl_walks_a_folder_and_a_bad_file_gets_an_error_line_not_a_crash() {
    let dir = temp_dir("jsonl");
    std::fs::write(dir.join("1.html"), article_html(1)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(article_html(2).as_bytes()).unwrap();
    std::fs::write(dir.join("2.html.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.join("3.html.gz"), b"\x1f\x8b not really gzip").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a page").unwrap();
    let output = Command::new(bin("newspipe"))
        .args(["extract", "--jsonl", "--jobs", "2", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let by_name = |name: &str| lines.iter().find(|l| l["path"].as_str().unwrap().ends_with(name)).unwrap();
    assert_eq!(by_name("1.html")["title"], article_content(1).0.as_str());
    assert_eq!(by_name("2.html.gz")["title"], article_content(2).0.as_str());
    assert!(
        by_name("3.html.gz")["error"].as_str().unwrap().contains("3.html.gz"),
        "{}",
        by_name("3.html.gz")
    );

    let manifest = dir.join("manifest.jsonl");
    std::fs::write(&manifest, "{\"path\": \"1.html\", \"url\": \"https://news.example/a\"}\n").unwrap();
    let output = Command::new(bin("newspipe"))
        .args(["extract", "--jsonl", "--manifest", manifest.to_str().unwrap()])
        .output()
        .unwrap();
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["url"], "https://news.example/a", "each page keeps its original URL");
    std::fs::remove_dir_all(dir).unwrap();
}
