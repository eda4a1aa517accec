//! The fetch job is a public interface: a producer in another language (Python's pika, a real non-Rust AMQP
//! client) publishes one and the article is stored; an invalid one is dead-lettered with a readable reason,
//! never retried forever, never crashing a worker.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::support::ops::{json, run, wait_for_dead_letters, wait_for_url};
use crate::support::{TestApp, spawn_app};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/foreign/publish_fetch_job.py")
}

/// Runs the Python producer; returns the job id it printed.
fn publish_from_python(app: &TestApp, url: &str, extra: &[&str]) -> String {
    let output = Command::new("python3")
        .arg(script())
        .args([app.amqp_url.as_str(), app.prefix.as_str(), url])
        .args(extra)
        .output()
        .expect("python3 must be installed (deploy/test.sh installs it, and pika)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'pika'"),
        "the Python AMQP client is missing: `python3 -m pip install pika` (deploy/test.sh does it)"
    );
    assert!(output.status.success(), "the Python producer failed: {stderr}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetch_job_published_from_python_with_pika_is_fetched_and_stored() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let url = app.web.url("/articles/11");
    let job_id = publish_from_python(&app, &url, &[]);
    wait_for_url(&app, &url, "stored", 1, Duration::from_secs(30)).await;
    let (recorded,): (uuid::Uuid,) = sqlx::query_as("SELECT job_id FROM outcomes WHERE url = $1")
        .bind(&url)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(recorded.to_string(), job_id, "the producer's job id is kept end to end");
    let shown = json(&app, &["show", &url, "--json"]).await;
    assert!(shown["article"]["title"].as_str().unwrap().starts_with("Council approves plan number 11"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_job_from_python_is_dead_lettered_with_a_readable_reason_and_the_workers_go_on() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let bad = app.web.url("/articles/12");
    publish_from_python(&app, &bad, &["--invalid"]);
    wait_for_dead_letters(&app, 1, Duration::from_secs(30)).await;

    let listing = json(&app, &["dlq", "list", "--json"]).await;
    let letter = &listing["letters"][0];
    assert_eq!(letter["queue"], "fetch");
    assert_eq!(letter["reason"], "message has no `schema` field");
    let id = letter["id"].as_str().unwrap();
    let (code, shown, stderr) = run(&app, &["dlq", "show", id]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(shown.contains("reason:       message has no `schema` field"), "{shown}");
    assert!(shown.contains("queue:        fetch") && shown.contains(&bad), "{shown}");

    // Not retried: it stays a single dead letter, the page was never fetched, and the workers go on.
    let good = app.web.url("/articles/13");
    publish_from_python(&app, &good, &[]);
    wait_for_url(&app, &good, "stored", 1, Duration::from_secs(30)).await;
    wait_for_dead_letters(&app, 1, Duration::from_secs(2)).await;
    assert_eq!(app.web.hits("/articles/12"), 0);
    for worker in &mut app.workers {
        assert!(worker.child.try_wait().unwrap().is_none(), "{} exited", worker.kind.binary());
    }
}
