//! `newspipe export --format parquet`: parts of `--rows-per-file` rows, read back with pyarrow (a reader
//! that is not ours) with their column names, types and values; the filters; the output directory's rules.

use std::path::Path;
use std::process::Command;

use newspipe_models::{Article, Outcome, StoreRequest, new_job_id};

use crate::support::ops::run;
use crate::support::{TestApp, spawn_app};

/// Reads every file of `dir` with pyarrow and prints, as JSON: the file names, each file's row count, the
/// columns (name, type as pyarrow writes it), whether the list and timestamp columns are the types pyarrow
/// itself makes for them, and the row whose URL is the second argument (null if none).
const READER: &str = r#"
import json, os, sys
import pyarrow as pa, pyarrow.parquet as pq
folder, url = sys.argv[1], sys.argv[2]
files = sorted(os.listdir(folder))
tables = [pq.read_table(os.path.join(folder, f)) for f in files]
table = pa.concat_tables(tables)
rows = [r for r in table.to_pylist() if r["url"] == url]
print(json.dumps({
    "files": files,
    "rows": [t.num_rows for t in tables],
    "columns": [[f.name, str(f.type)] for f in table.schema],
    "authors_is_list_of_strings": table.schema.field("authors").type == pa.list_(pa.string()),
    "published_at_is_utc_micros": table.schema.field("published_at").type == pa.timestamp("us", tz="UTC"),
    "row": rows[0] if rows else None,
}, default=str))
"#;

fn read_with_pyarrow(dir: &Path, url: &str) -> serde_json::Value {
    let output = Command::new("python3")
        .args(["-c", READER])
        .arg(dir)
        .arg(url)
        .output()
        .expect("python3 must be installed (deploy/test.sh installs it, and pyarrow)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'pyarrow'"),
        "pyarrow is missing: `python3 -m pip install pyarrow` (deploy/test.sh does it)"
    );
    assert!(output.status.success(), "pyarrow could not read {}: {stderr}", dir.display());
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Five articles recorded straight into a migrated database: four English ones, the first with every
/// field set, and one German one.
async fn app_with_articles() -> TestApp {
    let app = spawn_app().await;
    app.database.migrate().await.expect("migrate the test database");
    let time = |t: &str| Some(t.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
    let mut requests: Vec<StoreRequest> = (0..5)
        .map(|n| {
            let url = format!("https://example.com/news/{n}");
            let article = Article {
                url: url.clone(),
                title: Some(format!("Headline {n}")),
                text: format!("The text of article {n}."),
                word_count: 5,
                content_hash: format!("hash {n}"),
                language: Some(if n == 4 { "de" } else { "en" }.into()),
                ..Article::default()
            };
            StoreRequest::new(new_job_id(), url, Outcome::Stored { article: Box::new(article) })
        })
        .collect();
    if let Outcome::Stored { article } = &mut requests[0].outcome {
        article.canonical_url = Some("https://example.com/news/zero".into());
        article.authors = vec!["Ada Lovelace".into(), "Charles Babbage".into()];
        article.tags = vec!["science".into(), "engines".into()];
        article.published_at = time("2026-11-30T09:30:00.123456Z");
        article.fetched_at = time("2026-11-30T12:00:00Z");
        article.markdown = Some("The text of *article* 0.".into());
        // Above i64::MAX: stored and exported as the unsigned 64 bits it is.
        article.simhash = Some(0xfedc_ba98_7654_3210);
        article.paywalled = true;
        article.warc_file = Some("/archive/crawl-00001.warc.gz".into());
        article.warc_offset = Some(123_456);
        article.warc_record_id = Some("<urn:uuid:6d9a2f3e-3b1c-4a57-9f1a-0d4c8e2b7a61>".into());
    }
    for request in &requests {
        app.database.record(request).await.expect("record an article");
    }
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parquet_export_is_split_into_parts_that_pyarrow_reads_with_the_json_fields_typed() {
    let app = app_with_articles().await;
    // A directory that does not exist yet, two levels down: created.
    let dir = app.dir.join("archive").join("parquet");
    let (code, _, err) = run(
        &app,
        &["export", "--format", "parquet", "--output", dir.to_str().unwrap(), "--rows-per-file", "2"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("exported 5 article(s) to 3 Parquet file(s)"), "{err}");

    let read = read_with_pyarrow(&dir, "https://example.com/news/0");
    assert_eq!(
        read["files"],
        serde_json::json!(["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]),
        "three parts and no temporary file left"
    );
    assert_eq!(read["rows"], serde_json::json!([2, 2, 1]));
    let (text, list, time) = ("string", "list<item: string>", "timestamp[us, tz=UTC]");
    let expected = [
        ("url", text),
        ("canonical_url", text),
        ("title", text),
        ("authors", list),
        ("published_at", time),
        ("modified_at", time),
        ("language", text),
        ("site_name", text),
        ("description", text),
        ("image", text),
        ("tags", list),
        ("section", text),
        ("text", text),
        ("markdown", text),
        ("word_count", "uint32"),
        ("content_hash", text),
        ("simhash", "uint64"),
        ("paywalled", "bool"),
        ("fetched_at", time),
        ("warc_file", text),
        ("warc_offset", "uint64"),
        ("warc_record_id", text),
        ("taken_down_at", time),
        ("rendered", "bool"),
    ];
    let columns: Vec<(String, String)> = read["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_str().unwrap().to_string(), c[1].as_str().unwrap().to_string()))
        .collect();
    let expected: Vec<(String, String)> =
        expected.iter().map(|(name, ty)| (name.to_string(), ty.to_string())).collect();
    assert_eq!(columns, expected);
    assert_eq!(read["authors_is_list_of_strings"], true);
    assert_eq!(read["published_at_is_utc_micros"], true);

    let row = &read["row"];
    assert_eq!(row["canonical_url"], "https://example.com/news/zero");
    assert_eq!(row["title"], "Headline 0");
    assert_eq!(row["authors"], serde_json::json!(["Ada Lovelace", "Charles Babbage"]));
    assert_eq!(row["tags"], serde_json::json!(["science", "engines"]));
    assert_eq!(row["published_at"], "2026-11-30 09:30:00.123456+00:00");
    assert_eq!(row["modified_at"], serde_json::Value::Null, "a missing time is null");
    assert_eq!(row["fetched_at"], "2026-11-30 12:00:00+00:00");
    assert_eq!(row["language"], "en");
    assert_eq!(row["site_name"], serde_json::Value::Null);
    assert_eq!(row["text"], "The text of article 0.");
    assert_eq!(row["markdown"], "The text of *article* 0.");
    assert_eq!(row["word_count"], 5);
    assert_eq!(row["content_hash"], "hash 0");
    assert_eq!(row["simhash"].as_u64(), Some(0xfedc_ba98_7654_3210));
    assert_eq!(row["paywalled"], true);
    assert_eq!(row["warc_file"], "/archive/crawl-00001.warc.gz");
    assert_eq!(row["warc_offset"], 123_456);
    assert_eq!(row["warc_record_id"], "<urn:uuid:6d9a2f3e-3b1c-4a57-9f1a-0d4c8e2b7a61>");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parquet_export_takes_the_filters_and_an_empty_directory_and_writes_one_empty_part_for_no_articles()
{
    let app = app_with_articles().await;
    let german = app.dir.join("german");
    std::fs::create_dir(&german).unwrap();
    let (code, _, err) =
        run(&app, &["export", "--format", "parquet", "--lang", "de", "--output", german.to_str().unwrap()])
            .await;
    assert_eq!(code, 0, "an empty directory is fine: {err}");
    let read = read_with_pyarrow(&german, "https://example.com/news/4");
    assert_eq!(read["rows"], serde_json::json!([1]));
    assert_eq!(read["row"]["title"], "Headline 4");

    let none = app.dir.join("none");
    let (code, _, err) = run(
        &app,
        &["export", "--format", "parquet", "--since", "2099-01-01", "--output", none.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let read = read_with_pyarrow(&none, "");
    assert_eq!(read["files"], serde_json::json!(["part-00000.parquet"]));
    assert_eq!(read["rows"], serde_json::json!([0]), "no rows, but the columns");
    assert_eq!(read["columns"].as_array().unwrap().len(), 24, "every article field is a column");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parquet_export_refuses_a_directory_with_files_and_requires_output_with_exit_code_2() {
    let app = spawn_app().await;
    let dir = app.dir.join("used");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let (code, _, err) =
        run(&app, &["export", "--format", "parquet", "--output", dir.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not empty") && err.contains("used"), "the message names the directory: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries, ["notes.txt"], "nothing written there");

    let (code, _, err) = run(&app, &["export", "--format", "parquet"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--output"), "{err}");

    let (code, _, err) = run(&app, &["export", "--format", "csv", "--rows-per-file", "2"]).await;
    assert_eq!(code, 2, "--rows-per-file is for parquet only: {err}");
}
