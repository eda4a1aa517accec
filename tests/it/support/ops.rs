//! Helpers of the operations tests: dead letters published by hand, queue depths, CLI output.

use std::time::{Duration, Instant};

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString};

use super::TestApp;

pub fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_string()))
}

/// Publishes a message straight to the dead-letter exchange, as if it had been dead-lettered.
pub async fn publish_dead_letter(app: &TestApp, body: &[u8], headers: FieldTable) {
    let properties =
        BasicProperties::default().with_content_type("application/json".into()).with_headers(headers);
    let routed = app.publish_confirmed(app.topology().dead_exchange().as_str(), "", body, properties).await;
    assert!(routed, "dead letter not routed");
}

/// Messages in a queue (ready ones; a passive declaration).
pub async fn depth(app: &TestApp, queue: &str) -> u32 {
    let connection = app.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    let stats = app.topology().stats(&channel).await.unwrap();
    let _ = connection.close(200, "bye".into()).await;
    stats
        .into_iter()
        .find(|s| s.name == queue)
        .map(|s| s.messages)
        .unwrap_or_else(|| panic!("no queue {queue}"))
}

/// Waits until the dead-letter queue holds `expected` messages.
pub async fn wait_for_dead_letters(app: &TestApp, expected: u32, timeout: Duration) {
    let queue = app.topology().dead_queue();
    let deadline = Instant::now() + timeout;
    loop {
        let n = depth(app, &queue).await;
        if n == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{n} dead letters, expected {expected}\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the command line and returns (exit code, stdout, stderr).
pub async fn run(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let output = app.cli_async(args).await;
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs the command line, asserts it succeeded, and parses its standard output as JSON.
pub async fn json(app: &TestApp, args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = run(app, args).await;
    assert_eq!(code, 0, "newspipe {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("newspipe {args:?}: not JSON ({e}): {stdout}"))
}

/// Waits until the outcome recorded for `url` (the latest) is `outcome`; returns the number of outcomes.
pub async fn wait_for_url(app: &TestApp, url: &str, outcome: &str, count: i64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT outcome FROM outcomes WHERE url = $1 ORDER BY recorded_at")
                .bind(url)
                .fetch_all(&app.db)
                .await
                .unwrap_or_default();
        if rows.len() as i64 >= count && rows.last().is_some_and(|r| r.0 == outcome) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: outcomes {rows:?}, wanted {count} ending {outcome}\n{}",
            app.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
