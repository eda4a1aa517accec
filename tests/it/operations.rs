//! Operating the pipeline from the command line: search, show, export filters, retry of failed URLs, the
//! dead-letter queue (list without losing, show, replay, purge), status, help and completions.

use std::time::Duration;

use lapin::types::{AMQPValue, FieldTable};
use newspipe_models::{FetchJob, encode_json, new_job_id};

use crate::support::ops::{json, publish_dead_letter, run, text, wait_for_dead_letters, wait_for_url};
use crate::support::{TestApp, Worker, spawn_app};

/// A pipeline that stored /articles/1 and /articles/2 (English) plus, written directly, one German article.
async fn app_with_articles() -> TestApp {
    let mut app = spawn_app().await;
    app.start_pipeline();
    app.submit(&[app.web.url("/articles/1"), app.web.url("/articles/2")]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    sqlx::query(
        "INSERT INTO articles (url, job_id, title, text, language, site_name, word_count, content_hash)
         VALUES ('https://zeitung.example.de/hunde', $1, 'Die Hunde des Stadtrats',
                 'Die Hunde liefen durch den Park am Fluss. Der Stadtrat beschloss einen neuen Plan.',
                 'de-DE', 'Die Zeitung', 14, 'x')",
    )
    .bind(new_job_id())
    .execute(&app.db)
    .await
    .unwrap();
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn search_ranks_articles_by_stemmed_words_in_their_language_and_highlights_the_matches() {
    let app = app_with_articles().await;

    // English stemming: "approving plans" finds "approved plan".
    let hits = json(&app, &["search", "approving plans", "--json"]).await;
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    let snippet = hits[0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("[approved]") && snippet.contains("[plan]"), "{snippet}");
    assert!(hits[0]["rank"].as_f64().unwrap() > 0.0);

    // German stemming: "Hund" finds "Hunde", only with the German configuration.
    let hits = json(&app, &["search", "Hund", "--lang", "de", "--json"]).await;
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["url"], "https://zeitung.example.de/hunde");
    assert!(hits[0]["snippet"].as_str().unwrap().contains("[Hunde]"), "{}", hits[0]["snippet"]);
    // Without --lang every article is matched in its own language.
    let hits = json(&app, &["search", "Hund", "--json"]).await;
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits:#?}");

    // Filters: site (name or host), language, since, limit; a phrase and an excluded word.
    let site = json(&app, &["search", "plan", "--site", "the test gazette", "--json"]).await;
    assert_eq!(site.as_array().unwrap().len(), 2, "{site:#?}");
    let host = json(&app, &["search", "plan", "--site", "example.de", "--json"]).await;
    assert_eq!(host.as_array().unwrap().len(), 1, "{host:#?}");
    let english = json(&app, &["search", "plan", "--lang", "en-GB", "--limit", "1", "--json"]).await;
    assert_eq!(english.as_array().unwrap().len(), 1);
    let future = json(&app, &["search", "plan", "--since", "2099-01-01", "--json"]).await;
    assert_eq!(future.as_array().unwrap().len(), 0);
    let phrase = json(&app, &["search", "\"plan number 2\" -spring", "--json"]).await;
    assert_eq!(phrase.as_array().unwrap().len(), 0, "every English article mentions spring: {phrase:#?}");
    let phrase = json(&app, &["search", "\"plan number 2\"", "--json"]).await;
    assert_eq!(phrase.as_array().unwrap().len(), 1, "{phrase:#?}");
    assert_eq!(phrase[0]["url"], app.web.url("/articles/2"));

    // Text output: title, URL, snippet with markers (stdout is not a terminal).
    let (code, stdout, _) = run(&app, &["search", "river district"]).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("1. Council approves plan number") && stdout.contains("[river]"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_filters_by_site_language_and_time() {
    let app = app_with_articles().await;
    let lines = |out: String| out.lines().filter(|l| !l.is_empty()).count();
    let (code, out, err) = run(&app, &["export", "--lang", "de"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(out.clone()), 1, "{out}");
    assert!(out.contains("Die Hunde des Stadtrats"));
    let (_, out, _) = run(&app, &["export", "--site", "The Test Gazette"]).await;
    assert_eq!(lines(out), 2);
    let (_, out, _) = run(&app, &["export", "--since", "1h"]).await;
    assert_eq!(lines(out), 3);
    let (_, out, _) = run(&app, &["export", "--since", "2099-01-01"]).await;
    assert_eq!(lines(out), 0);
    let (_, out, _) = run(&app, &["export", "--format", "csv", "--lang", "en"]).await;
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(reader.records().count(), 2);
    let (code, _, err) = run(&app, &["export", "--since", "last tuesday"]).await;
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn show_prints_an_article_and_every_outcome_of_its_url() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let article = app.web.url("/articles/3");
    let missing = app.web.url("/missing/3");
    app.submit(&[article.clone(), missing.clone()]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;

    let shown = json(&app, &["show", &article, "--json"]).await;
    assert_eq!(shown["article"]["url"], article.as_str());
    assert!(shown["article"]["title"].as_str().unwrap().starts_with("Council approves plan number 3"));
    assert_eq!(shown["history"].as_array().unwrap().len(), 1);
    assert_eq!(shown["history"][0]["outcome"], "stored");

    // By its id too, and as text.
    let id = shown["article"]["id"].as_i64().unwrap().to_string();
    let (code, stdout, _) = run(&app, &["show", &id]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Council approves plan number 3") && stdout.contains("outcome history (1)"),
        "{stdout}"
    );
    assert!(stdout.contains("The city council approved plan number 3"), "{stdout}");

    // A URL that failed: no article, its failure in the history.
    let shown = json(&app, &["show", &missing, "--json"]).await;
    assert!(shown["article"].is_null());
    assert_eq!(shown["history"][0]["reason"], "http 404");

    let (code, _, stderr) = run(&app, &["show", "https://never.example/submitted"]).await;
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("error: nothing is known about `https://never.example/submitted`"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_resubmits_only_urls_whose_latest_outcome_is_failed_and_matches_the_filters() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let missing = app.web.url("/missing/5");
    let stored = app.web.url("/articles/5");
    app.submit(&[missing.clone(), stored.clone()]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;

    let (code, stdout, stderr) = run(&app, &["retry", "--failed", "--dry-run"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), format!("{missing}\thttp 404"));
    let (_, stdout, stderr) = run(&app, &["retry", "--failed", "--reason", "timeout"]).await;
    assert!(stdout.is_empty() && stderr.contains("nothing resubmitted"), "{stderr}");
    let (_, stdout, _) = run(&app, &["retry", "--failed", "--since", "2099-01-01", "--dry-run"]).await;
    assert!(stdout.is_empty());

    let (code, stdout, stderr) = run(&app, &["retry", "--failed", "--reason", "HTTP 4"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), missing);
    app.wait_for_outcomes(3, Duration::from_secs(30)).await;
    assert_eq!(app.web.hits("/missing/5"), 2, "fetched again");
    assert_eq!(app.web.hits("/articles/5"), 1, "a stored URL is not retried");

    let (code, _, stderr) = run(&app, &["retry"]).await;
    assert_eq!(code, 2, "--failed is required: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_are_listed_without_loss_shown_replayed_to_their_queue_and_purged() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    // 1. A worker dead-letters garbage on the store queue.
    app.publish_raw("store", b"{\"this is\": \"not a store request\"").await;
    wait_for_dead_letters(&app, 1, Duration::from_secs(30)).await;
    // 2. A fetch job dead-lettered by a worker earlier (our headers)...
    let ours = app.web.url("/articles/7");
    let mut headers = FieldTable::default();
    headers.insert("x-newspipe-reason".into(), text("handler panicked: simulated"));
    headers.insert("x-newspipe-queue".into(), text("fetch"));
    headers.insert("x-newspipe-dead-at".into(), text("1764288000"));
    headers.insert("x-newspipe-dead-id".into(), text("0f0f0f0f0f0f4c0f8f0f0f0f0f0f0f0f"));
    headers.insert("x-newspipe-attempt".into(), AMQPValue::LongLongInt(3));
    publish_dead_letter(&app, &encode_json(&FetchJob::new(new_job_id(), ours.clone())), headers).await;
    // 3. ...and one the broker dead-lettered after too many deliveries (only `x-death`).
    let brokers = app.web.url("/articles/8");
    let mut death = FieldTable::default();
    death.insert("queue".into(), text(&format!("{}.fetch", app.prefix)));
    death.insert("reason".into(), text("delivery_limit"));
    death.insert("count".into(), AMQPValue::LongLongInt(1));
    death.insert("time".into(), AMQPValue::Timestamp(1764291600));
    death.insert("exchange".into(), text(&app.prefix));
    let mut headers = FieldTable::default();
    headers.insert("x-death".into(), AMQPValue::FieldArray(vec![AMQPValue::FieldTable(death)].into()));
    publish_dead_letter(&app, &encode_json(&FetchJob::new(new_job_id(), brokers.clone())), headers).await;
    wait_for_dead_letters(&app, 3, Duration::from_secs(10)).await;

    // Listing twice loses nothing and gives the same ids.
    let first = json(&app, &["dlq", "list", "--json"]).await;
    let second = json(&app, &["dlq", "list", "--json"]).await;
    assert_eq!(first["total"], 3);
    assert_eq!(second["total"], 3);
    let ids = |l: &serde_json::Value| -> Vec<String> {
        l["letters"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(&first), ids(&second));
    wait_for_dead_letters(&app, 3, Duration::from_secs(5)).await;
    let letters = first["letters"].as_array().unwrap();
    let garbage = &letters[0];
    assert_eq!(garbage["queue"], "store");
    assert!(garbage["reason"].as_str().unwrap().contains("not valid JSON for StoreRequest"), "{garbage:#}");
    assert!(garbage["preview"].as_str().unwrap().contains("not a store request"));
    assert_eq!(letters[1]["id"], "0f0f0f0f0f0f4c0f8f0f0f0f0f0f0f0f");
    assert_eq!(letters[1]["reason"], "handler panicked: simulated");
    assert_eq!(letters[1]["first_death"], 1764288000);
    assert_eq!(letters[2]["queue"], "fetch", "traced through x-death: {:#}", letters[2]);
    assert!(letters[2]["reason"].as_str().unwrap().contains("delivered too many times"), "{:#}", letters[2]);
    assert_eq!(letters[2]["last_death"], 1764291600);

    // The table, and one letter in full by an id prefix.
    let (code, table, _) = run(&app, &["dlq", "list"]).await;
    assert_eq!(code, 0);
    assert!(
        table.contains("3 dead letter(s)") && table.contains("0f0f0f0f0f0f") && table.contains("store"),
        "{table}"
    );
    let (code, shown, stderr) = run(&app, &["dlq", "show", "0f0f0f0f"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(shown.contains("reason:       handler panicked: simulated"), "{shown}");
    assert!(shown.contains(&ours), "the payload is shown whole: {shown}");
    let (code, _, stderr) = run(&app, &["dlq", "show", "ffffffff"]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("no dead letter with id `ffffffff`"), "{stderr}");

    // Replay one by id: back to the fetch queue, and stored; its dead letter is gone.
    let (code, out, stderr) = run(&app, &["dlq", "replay", "0f0f0f0f0f0f"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(out.contains("replayed 0f0f0f0f0f0f4c0f8f0f0f0f0f0f0f0f to fetch"), "{out}");
    wait_for_url(&app, &ours, "stored", 1, Duration::from_secs(30)).await;
    wait_for_dead_letters(&app, 2, Duration::from_secs(10)).await;

    // Replay the rest: the broker's dead letter is stored; the garbage dies again, with a new id.
    let (code, _, stderr) = run(&app, &["dlq", "replay", "--all"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("replayed 2 dead letter(s)"), "{stderr}");
    wait_for_url(&app, &brokers, "stored", 1, Duration::from_secs(30)).await;
    wait_for_dead_letters(&app, 1, Duration::from_secs(30)).await;
    let again = json(&app, &["dlq", "list", "--json"]).await;
    assert_ne!(again["letters"][0]["id"], garbage["id"]);
    assert_eq!(again["letters"][0]["headers"]["x-newspipe-replayed"], "1");

    let (code, _, stderr) = run(&app, &["dlq", "purge"]).await;
    assert_eq!(code, 2, "no --yes without a terminal: {stderr}");
    let (code, out, _) = run(&app, &["dlq", "purge", "--yes"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("purged 1 dead letter(s)"), "{out}");
    wait_for_dead_letters(&app, 0, Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compressed_dead_letter_is_listed_and_shown_decompressed() {
    let mut app = spawn_app().await;
    app.start_worker(Worker::Store);
    // Articles travel zstd-compressed; one the store refuses must still be readable in `dlq list` and `show`.
    let refused = br#"{"schema": 1, "job_id": "not a uuid", "marker": "readable after decompression"}"#;
    let compressed = newspipe_broker::encoding::compress(refused);
    assert!(!compressed.windows(8).any(|w| w == b"readable"), "the marker must not survive compression");
    app.publish_raw_with(
        "store",
        &compressed,
        lapin::BasicProperties::default().with_content_encoding("zstd".into()),
    )
    .await;
    wait_for_dead_letters(&app, 1, Duration::from_secs(30)).await;

    let listing = json(&app, &["dlq", "list", "--json"]).await;
    let letter = &listing["letters"][0];
    assert_eq!(letter["content_encoding"], "zstd", "{letter:#}");
    assert_eq!(letter["body_bytes"], compressed.len(), "the size as it sits in the queue");
    assert!(letter["preview"].as_str().unwrap().contains("readable after decompression"), "{letter:#}");
    let (code, shown, stderr) = run(&app, &["dlq", "show", letter["id"].as_str().unwrap()]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(shown.contains("zstd on the wire; shown decoded"), "{shown}");
    assert!(shown.contains(std::str::from_utf8(refused).unwrap()), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_recent_outcomes_failure_reasons_and_watch_redraws_with_rates() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    app.submit(&[app.web.url("/articles/9"), app.web.url("/missing/9")]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    let status = json(&app, &["status", "--json"]).await;
    assert_eq!(status["recent_outcomes"]["last_5_minutes"]["stored"], 1);
    assert_eq!(status["recent_outcomes"]["last_hour"]["failed"], 1);
    assert_eq!(status["top_failure_reasons"][0]["reason"], "http 404");
    assert_eq!(status["top_failure_reasons"][0]["count"], 1);

    // --watch redraws until interrupted; the second screen has rates.
    let mut command = tokio::process::Command::new(crate::support::bin("newspipe"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).envs(app.base_env());
    command.args(["status", "--watch", "--interval", "1"]).stdout(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let output =
        tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await.unwrap().unwrap();
    assert!(output.status.success(), "Ctrl-C ends --watch cleanly: {:?}", output.status);
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(screen.matches("\x1b[2J").count() >= 2, "redrawn: {screen}");
    assert!(screen.contains("IN/s") && screen.contains("NET/s") && screen.contains("+0.0"), "{screen}");
    assert!(screen.contains("last 5 min") && screen.contains("TOP FAILURE REASONS"), "{screen}");
}

/// The management API of the test services: `NEWSPIPE__BROKER__MANAGEMENT_URL`, else the line
/// `deploy/services.sh` writes into its env file.
fn management_url() -> String {
    if let Ok(url) = std::env::var("NEWSPIPE__BROKER__MANAGEMENT_URL") {
        return url;
    }
    let dir = std::env::var("NEWSPIPE_SERVICES_DIR").unwrap_or_else(|_| "/tmp/newspipe-services".into());
    std::fs::read_to_string(format!("{dir}/env"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("NEWSPIPE__BROKER__MANAGEMENT_URL=").map(str::to_string))
        .unwrap_or_else(|| panic!("no management URL in {dir}/env: run `deploy/services.sh start`"))
}

fn queue<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .unwrap_or(&serde_json::Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_each_queues_in_and_out_rates_while_messages_flow() {
    let mut app = spawn_app().await;
    app.env.push(("NEWSPIPE__BROKER__MANAGEMENT_URL".into(), management_url()));
    app.start_pipeline();
    let fetch = format!("{}.fetch", app.prefix);

    // A producer publishing ten fetch jobs a second until the rates show, with the pipeline consuming them.
    let connection = app.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    app.topology().declare(&channel).await.unwrap();
    channel.confirm_select(Default::default()).await.unwrap();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let exchange = app.prefix.clone();
    let urls: Vec<String> = (0..600).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    let producer = tokio::spawn(async move {
        for url in urls {
            let body = encode_json(&FetchJob::new(new_job_id(), url));
            let confirm = channel
                .basic_publish(
                    exchange.as_str().into(),
                    "fetch".into(),
                    lapin::options::BasicPublishOptions { mandatory: true, ..Default::default() },
                    &body,
                    lapin::BasicProperties::default().with_delivery_mode(2),
                )
                .await
                .unwrap();
            let confirmed = tokio::time::timeout(Duration::from_secs(30), confirm)
                .await
                .expect("the broker confirmed a fetch job within 30 s");
            assert!(confirmed.unwrap().is_ack(), "a fetch job was not confirmed");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stopped.changed() => break,
            }
        }
    });

    // The broker samples every 2 s (deploy/services.sh), so the rates show within seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        let status = json(&app, &["status", "--json"]).await;
        let row = queue(&status, &fetch);
        let rate = |key: &str| row[key].as_f64().unwrap_or(0.0);
        if rate("in_per_second") > 0.0 && rate("out_per_second") > 0.0 && rate("acked_per_second") > 0.0 {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no in/out rates on {fetch} while publishing: {status:#}\n{}",
            app.logs()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(60), producer)
        .await
        .expect("the producer stops within 60 s of being told")
        .unwrap();
    let _ = connection.close(200, "bye".into()).await;

    assert!(status["rates_unavailable"].is_null(), "{status:#}");
    let row = queue(&status, &fetch);
    // About ten a second go in; none of them can come out faster than they went in.
    let (rate_in, rate_out) =
        (row["in_per_second"].as_f64().unwrap(), row["out_per_second"].as_f64().unwrap());
    assert!(rate_in < 50.0 && rate_out < 50.0, "{row:#}");
    // The stages after the fetcher get their pages and show rates of their own (null would mean not asked).
    assert!(queue(&status, &format!("{}.extract", app.prefix))["in_per_second"].is_f64(), "{status:#}");
    assert_eq!(queue(&status, &fetch)["consumers"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_without_the_management_api_still_works_and_says_why_the_rates_are_unavailable() {
    let mut app = spawn_app().await;
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    app.env.push(("NEWSPIPE__BROKER__MANAGEMENT_URL".into(), format!("http://127.0.0.1:{closed}")));
    app.start_pipeline();
    app.submit(&[app.web.url("/articles/3")]);
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;

    let status = json(&app, &["status", "--json"]).await;
    let why = status["rates_unavailable"].as_str().unwrap_or_else(|| panic!("no reason given: {status:#}"));
    assert!(why.contains(&format!("127.0.0.1:{closed}")) && why.contains("refused"), "{why}");
    let fetch = queue(&status, &format!("{}.fetch", app.prefix));
    assert!(fetch["in_per_second"].is_null() && fetch["out_per_second"].is_null(), "{status:#}");
    assert_eq!(fetch["consumers"], 1, "the rest of the status is there: {status:#}");
    assert_eq!(status["outcomes"]["stored"], 1, "{status:#}");

    let (code, screen, stderr) = run(&app, &["status"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(screen.contains("in/out rates unavailable: cannot reach the management API"), "{screen}");
}

#[test]
fn every_command_has_an_example_in_its_help_and_completions_are_generated() {
    let newspipe = crate::support::bin("newspipe");
    let help = |args: &[&str]| {
        let output = std::process::Command::new(&newspipe).args(args).arg("--help").output().unwrap();
        assert!(output.status.success(), "{args:?} --help");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let top = help(&[]);
    assert!(top.contains("Exit codes:"), "{top}");
    for command in [
        &["submit"][..],
        &["status"],
        &["export"],
        &["extract"],
        &["search"],
        &["show"],
        &["retry"],
        &["migrate"],
        &["completions"],
        &["dlq"],
        &["dlq", "list"],
        &["dlq", "show"],
        &["dlq", "replay"],
        &["dlq", "purge"],
    ] {
        let text = help(command);
        assert!(text.contains("Example"), "`newspipe {} --help` has no example:\n{text}", command.join(" "));
    }
    for shell in ["bash", "zsh", "fish"] {
        let output = std::process::Command::new(&newspipe).args(["completions", shell]).output().unwrap();
        assert!(output.status.success());
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains("newspipe") && script.contains("replay"), "{shell}: {script}");
    }
    let output = std::process::Command::new(&newspipe).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn articles_are_stored_with_their_search_vector_and_older_ones_are_found_before_the_indexer_reaches_them()
 {
    let mut app = spawn_app().await;
    app.start_worker(Worker::Fetcher);
    app.start_worker(Worker::Extractor);
    // A store that does not index: it still writes each article with its vector (decision 0009).
    app.start_worker_with(Worker::Store, &[("NEWSPIPE__STORE__INDEX_BATCH_SIZE", "0")]);
    app.submit(&[app.web.url("/articles/1"), app.web.url("/articles/2")]);
    assert_eq!(app.wait_for_outcomes(2, Duration::from_secs(30)).await, 2, "{}", app.logs());
    let db = app.db.clone();
    let waiting = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM articles WHERE search IS NULL")
            .fetch_one(&db)
            .await
            .unwrap()
    };
    assert_eq!(waiting().await, 0, "written with their vectors");
    let stored = json(&app, &["search", "approving plans", "--json"]).await;
    assert_eq!(stored.as_array().unwrap().len(), 2, "{stored:#?}");
    assert!(stored[0]["snippet"].as_str().unwrap().contains("[approved]"), "{}", stored[0]["snippet"]);

    // Articles stored before newspipe made the vectors (the migration clears PostgreSQL's): found on the fly.
    sqlx::query("UPDATE articles SET search = NULL").execute(&app.db).await.unwrap();
    assert_eq!(waiting().await, 2);
    let status = json(&app, &["status", "--json"]).await;
    assert_eq!(status["articles_waiting_for_search_index"], 2, "{status:#}");
    let before = json(&app, &["search", "approving plans", "--json"]).await;
    assert_eq!(before.as_array().unwrap().len(), 2, "found while not indexed: {before:#?}");

    // A store that indexes catches up, and search finds the same articles through the index.
    app.start_worker(Worker::Store);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while waiting().await > 0 {
        assert!(std::time::Instant::now() < deadline, "the indexer did not catch up\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = json(&app, &["status", "--json"]).await;
    assert_eq!(status["articles_waiting_for_search_index"], 0, "{status:#}");
    let after = json(&app, &["search", "approving plans", "--json"]).await;
    assert_eq!(after.as_array().unwrap().len(), 2, "{after:#?}");
    let urls = |hits: &serde_json::Value| {
        let mut urls: Vec<String> =
            hits.as_array().unwrap().iter().map(|h| h["url"].as_str().unwrap().to_string()).collect();
        urls.sort();
        urls
    };
    assert_eq!(urls(&before), urls(&after));
    assert_eq!(urls(&stored), urls(&after));
    assert_eq!(stored[0]["rank"], after[0]["rank"], "the indexer makes the vector the store makes");
    // The index holds only indexed articles (no entries for the NULLs of those waiting); a search is
    // planned on it all the same.
    let mut connection = app.db.acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off").execute(&mut *connection).await.unwrap();
    let plan: Vec<String> =
        sqlx::query_scalar("EXPLAIN SELECT id FROM articles WHERE search @@ 'approv & plan'::tsquery")
            .fetch_all(&mut *connection)
            .await
            .unwrap();
    assert!(plan.iter().any(|line| line.contains("articles_search")), "{plan:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_accepts_the_search_vector_of_any_text_and_the_query_of_any_search() {
    let app = spawn_app().await;
    // Distinct Hangul words of 30 syllables (90 bytes): the text's first 500,000 characters hold 16,000 of
    // them, 1.4 MB, past the 1 MiB PostgreSQL lets a vector's lexemes add up to.
    let letter = |n: usize| char::from_u32(0xAC00 + (n % 64) as u32).unwrap();
    let word = |i: usize| (0..30).map(|k| letter(i >> (k % 20) ^ k)).collect::<String>();
    let many: String = (0..20_000).map(|i| word(i) + " ").collect();
    let texts = [
        many.clone(),
        "quote ' double '' backslash \\ \\\\ tab\tnewline\n emoji 🦀 combining e\u{301} rtl שלום".to_string(),
        "again ".repeat(100_000),
        "x".repeat(5_000) + " short",
    ];
    for (n, text) in texts.iter().enumerate() {
        let vector = newspipe_search::article_vector(None, Some(text), Some(text), text);
        let lexemes: i32 = sqlx::query_scalar("SELECT length($1::tsvector)")
            .bind(&vector)
            .fetch_one(&app.db)
            .await
            .unwrap_or_else(|e| panic!("text {n}: PostgreSQL refused its vector: {e}"));
        assert!(lexemes > 0, "text {n}");
        if n == 0 {
            assert!((10_000..16_000).contains(&lexemes), "the lexemes were capped: {lexemes}");
        }
    }
    // The huge one still matches a search for its first word.
    let matches: bool = sqlx::query_scalar("SELECT $1::tsvector @@ $2::tsquery")
        .bind(newspipe_search::article_vector(None, None, None, &many))
        .bind(newspipe_search::search_query(&word(0), None))
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(matches);
    let queries = [
        "'\"\\ & | ! <-> :* ( ) -- ; DROP TABLE articles",
        "\"unbalanced phrase",
        "-",
        "-\"",
        "or or or",
        "\"\"",
        "🦀 e\u{301} שלום",
        &"word ".repeat(2_000),
        &"x".repeat(5_000),
    ];
    for query in queries {
        for language in [None, Some("en"), Some("de"), Some("xx")] {
            let tsquery = newspipe_search::search_query(query, language);
            sqlx::query("SELECT $1::tsquery")
                .bind(&tsquery)
                .execute(&app.db)
                .await
                .unwrap_or_else(|e| panic!("{query:?} ({language:?}): PostgreSQL refused {tsquery:?}: {e}"));
        }
        // And the search itself answers.
        let hits = json(&app, &["search", "--json", "--", query]).await;
        assert!(hits.is_array(), "{query:?}: {hits}");
    }
}
