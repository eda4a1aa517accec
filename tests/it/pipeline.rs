//! URLs in, one outcome each, articles stored with their fields.

use std::time::Duration;

use newspipe_cli::CSV_HEADER;

use crate::support::web::{SEED_PATH, article_content};
use crate::support::{shared_dir, spawn_app};

#[tokio::test(flavor = "multi_thread")]
async fn submitted_urls_each_end_with_one_outcome_and_articles_are_stored() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let web = &app.web;
    let urls = [
        web.url("/articles/1"),
        web.url("/articles/2"),
        web.url("/missing/1"),
        web.url("/flaky/3"),
        web.url("/slow/4"),
        web.url("/files/report.pdf"),
    ];
    let mut args = vec!["submit", "--wait", "--timeout", "60"];
    args.extend(urls.iter().map(String::as_str));
    let output = app.cli_async(&args).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    // One URL fails (404), so --wait exits 3 after printing the summary.
    assert_eq!(output.status.code(), Some(3), "{stderr}\n{}", app.logs());
    assert!(stderr.contains("stored 4, skipped 1, failed 1, pending 0"), "{stderr}");

    let outcomes = app.outcomes().await;
    assert_eq!(outcomes.len(), urls.len(), "{outcomes:?}");
    for path in ["/articles/1", "/articles/2", "/flaky/3", "/slow/4"] {
        assert_eq!(outcomes[&web.url(path)].0, "stored", "{path}: {outcomes:?}");
    }
    assert_eq!(outcomes[&web.url("/missing/1")], ("failed".into(), Some("http 404".into())));
    let (kind, reason) = &outcomes[&web.url("/files/report.pdf")];
    assert_eq!(kind, "skipped");
    assert!(reason.as_deref().unwrap().contains("application/pdf"), "{reason:?}");
    // Regression: delay queues were bound by an `x-` header, which headers exchanges ignore, so every delay
    // queue got a copy of a retried message and the page was fetched once per delay queue.
    assert_eq!(app.web.hits("/flaky/3"), 2, "the 500 was retried exactly once");

    let (title, text, word_count, hash, fetched): (
        Option<String>,
        String,
        i32,
        String,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "SELECT title, text, word_count, content_hash, fetched_at FROM articles WHERE url = $1",
    )
    .bind(web.url("/articles/2"))
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (expected_title, paragraphs) = article_content(2);
    assert_eq!(title.as_deref(), Some(expected_title.as_str()));
    for paragraph in &paragraphs {
        assert!(text.contains(paragraph.as_str()), "missing paragraph {paragraph:?} in {text:?}");
    }
    assert!(!text.contains("All rights reserved"), "footer leaked into {text:?}");
    assert_eq!(word_count as usize, text.split_whitespace().count());
    assert_eq!(hash.len(), 64, "hex sha-256: {hash}");
    assert!(fetched.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_that_keeps_failing_transiently_ends_failed_after_its_retries() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    app.submit(&[app.web.url("/broken/1")]);
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&app.web.url("/broken/1")], ("failed".into(), Some("http 503".into())));
    // max_attempts is 3 in the tests' settings: the first try and two retries through the delay queues.
    assert_eq!(app.web.hits("/broken/1"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn export_streams_every_stored_article_as_json_lines_and_as_csv() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let urls: Vec<String> = (1..=3).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    app.submit(&urls);
    app.wait_for_outcomes(3, Duration::from_secs(30)).await;

    let output = app.cli(&["export", "--format", "jsonl"], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    // Every CSV column is a field of the JSON lines too.
    for field in CSV_HEADER {
        assert!(lines[0].get(field).is_some(), "export lacks `{field}`: {}", lines[0]);
    }
    let mut exported: Vec<&str> = lines.iter().map(|l| l["url"].as_str().unwrap()).collect();
    exported.sort();
    assert_eq!(exported, urls.iter().map(String::as_str).collect::<Vec<_>>());

    let csv_path = app.dir.join("articles.csv");
    let output = app.cli(&["export", "--format", "csv", "--output", csv_path.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), CSV_HEADER);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    let text_column = reader.headers().unwrap().iter().position(|h| h == "text").unwrap();
    assert!(records[0][text_column].contains("\n\n"), "paragraph breaks survive CSV quoting");
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_refuses_a_bad_url_naming_its_line_and_publishes_nothing() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let input = format!("{}\nftp://example.com/file\n", app.web.url("/articles/1"));
    let output = app.cli(&["submit", "-"], Some(&input));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("stdin line 2: `ftp://example.com/file` is not an http or https URL"),
        "{stderr}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.outcome_count().await, 0, "nothing of a refused submission is processed");
    assert_eq!(app.web.hits("/articles/1"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_queues_consumers_and_outcomes_as_json() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    app.submit(&[app.web.url("/articles/1"), app.web.url("/missing/2")]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    let output = app.cli(&["status", "--json"], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        status["outcomes"],
        serde_json::json!({"stored": 1, "skipped": 0, "failed": 1, "unchanged": 0})
    );
    assert_eq!(status["articles"], 1);
    assert_eq!(status["dead_letters"], 0);
    let fetch =
        status["queues"].as_array().unwrap().iter().find(|q| q["name"] == format!("{}.fetch", app.prefix));
    assert_eq!(fetch.expect("fetch queue listed")["consumers"], 1);
    assert_eq!(status["top_reasons"][0]["reason"], "http 404");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_article_goes_through_the_pipeline_with_its_metadata() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: ../shared is absent, so the seed fixture is not available");
        return;
    };
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared.join("fixtures/seed/expected.json")).unwrap()).unwrap();
    let mut app = spawn_app().await;
    app.start_pipeline();
    let url = app.web.url(SEED_PATH);
    app.submit(std::slice::from_ref(&url));
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;
    let output = app.cli(&["export"], None);
    let article: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one stored article");
    assert_eq!(article["url"], url.as_str());
    assert_eq!(article["title"], expected["title"]);
    let text = article["text"].as_str().unwrap();
    let first = expected["text_paragraphs_in_order"][0].as_str().unwrap();
    assert!(text.contains(first), "the lead paragraph is missing from {text:?}");
}
