//! Typed outcome reasons in the database: the store writes each reason's code beside its text, the
//! migration gave rows written before the same codes, and `retry --reason` finds failures by either.

use newspipe_db::{Database, DatabaseSettings};
use newspipe_models::{FailureReason, Outcome, SkipReason, StoreRequest, every_reason, new_job_id};

use crate::support::spawn_app;

async fn database(url: &str) -> Database {
    let settings = DatabaseSettings { url: url.into(), ..DatabaseSettings::default() };
    let database = Database::connect(&settings).await.expect("connect to the test database");
    database.migrate().await.expect("migrate the test database");
    database
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_written_before_reasons_had_codes_get_the_codes_the_store_writes_now() {
    let app = spawn_app().await;
    let _database = database(&app.database_url).await;
    let (skips, failures) = every_reason();
    let cases = skips
        .iter()
        .map(|r| ("skipped", r.to_string(), r.code()))
        .chain(failures.iter().map(|r| ("failed", r.to_string(), r.code())));
    for (outcome, text, code) in cases {
        let migrated: Option<String> = sqlx::query_scalar("SELECT newspipe_reason_code($1, $2)")
            .bind(outcome)
            .bind(&text)
            .fetch_one(&app.db)
            .await
            .unwrap();
        assert_eq!(migrated.as_deref(), Some(code), "{outcome} `{text}`");
    }
    let stored: Option<String> =
        sqlx::query_scalar("SELECT newspipe_reason_code('stored', NULL)").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_outcome_is_recorded_with_its_reason_code_and_retry_finds_failures_by_code_or_text() {
    let app = spawn_app().await;
    let database = database(&app.database_url).await;
    let failed = |url: &str, reason: FailureReason| {
        StoreRequest::new(new_job_id(), url.to_string(), Outcome::Failed { reason })
    };
    let requests = vec![
        failed("https://a.example/1", FailureReason::Http { status: 503 }),
        failed("https://a.example/2", FailureReason::Http { status: 404 }),
        failed("https://a.example/3", FailureReason::Timeout),
        failed(
            "https://a.example/4",
            FailureReason::MalformedDocument { detail: "malformed feed at https://a.example/4: eof".into() },
        ),
        StoreRequest::new(
            new_job_id(),
            "https://a.example/5".to_string(),
            Outcome::Skipped { reason: SkipReason::NotHtml { mime: "image/png".into() } },
        ),
    ];
    database.record_batch(&requests).await.unwrap();

    let codes: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT url, reason, reason_code FROM outcomes ORDER BY url")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let expected = [
        ("https://a.example/1", "http 503", "http_503"),
        ("https://a.example/2", "http 404", "http_404"),
        ("https://a.example/3", "timeout", "timeout"),
        ("https://a.example/4", "malformed feed at https://a.example/4: eof", "malformed_document"),
        ("https://a.example/5", "not html: image/png", "not_html"),
    ];
    for ((url, reason, code), (want_url, want_reason, want_code)) in codes.iter().zip(expected) {
        assert_eq!(
            (url.as_str(), reason.as_deref(), code.as_deref()),
            (want_url, Some(want_reason), Some(want_code))
        );
    }

    let urls = |filter: &'static str| {
        let database = database.clone();
        async move {
            let mut urls: Vec<String> =
                database.failed_urls(Some(filter), None).await.unwrap().into_iter().map(|f| f.url).collect();
            urls.sort();
            urls
        }
    };
    assert_eq!(urls("http 5").await, ["https://a.example/1"], "a prefix of the text, as the README gives it");
    assert_eq!(urls("http_5").await, ["https://a.example/1"], "a prefix of the code");
    assert_eq!(urls("HTTP").await, ["https://a.example/1", "https://a.example/2"]);
    assert_eq!(urls("timeout").await, ["https://a.example/3"]);
    assert_eq!(urls("malformed_document").await, ["https://a.example/4"]);
    assert!(urls("not_html").await.is_empty(), "a skip is not a failure to retry");
}
