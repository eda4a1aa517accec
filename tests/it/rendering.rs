//! Pages built by JavaScript through the whole pipeline with a real renderer (headless Chromium): rendered
//! and stored with their full text, a `__NEXT_DATA__` page extracted without a browser, a stack without a
//! renderer (or with one that takes nothing) still ending every URL, and a browser killed mid-page.
//! The browser itself (private addresses, redirects, endless pages) is tested in crates/renderer.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use newspipe_testkit::Worker;

use crate::support::web::spa_content;
use crate::support::{TestApp, spawn_app};

/// Without Chromium the renderer cannot start; the test command installs it, so this only skips by hand.
fn chromium_present() -> bool {
    let present = std::path::Path::new("/usr/bin/chromium").exists();
    if !present {
        eprintln!("skipped: /usr/bin/chromium is not installed (the test command installs it)");
    }
    present
}

const FAST_CHECKS: [(&str, &str); 1] = [("NEWSPIPE__EXTRACTOR__RENDERER_CHECK_SECS", "1")];

/// Starts fetcher, store, renderer and extractor, and waits until the extractor has seen the renderer (a
/// page sent before that would be extracted as it is).
async fn start_with_renderer(app: &mut TestApp) -> usize {
    app.start_worker(Worker::Fetcher);
    app.start_worker(Worker::Store);
    let renderer = app.start_worker(Worker::Renderer);
    let extractor = app.start_worker_with(Worker::Extractor, &FAST_CHECKS);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !app.workers[extractor].log_text().contains("consumers of the queue changed") {
        assert!(Instant::now() < deadline, "the extractor never saw the renderer\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    renderer
}

async fn article(app: &TestApp, url: &str) -> (String, bool) {
    sqlx::query_as("SELECT text, rendered FROM articles WHERE url = $1")
        .bind(url)
        .fetch_one(&app.db)
        .await
        .unwrap_or_else(|e| panic!("no article for {url}: {e}\n{}", app.logs()))
}

fn assert_full_text(text: &str, n: u32) {
    let (_, paragraphs) = spa_content(n);
    for paragraph in &paragraphs {
        assert!(text.contains(paragraph.as_str()), "missing {paragraph:?} in {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_built_by_javascript_is_rendered_and_stored_with_its_full_text_and_next_data_needs_no_browser()
{
    if !chromium_present() {
        return;
    }
    let mut app = spawn_app().await;
    start_with_renderer(&mut app).await;
    let (spa, next) = (app.web.url("/spa/1"), app.web.url("/next/2"));
    app.submit(&[spa.clone(), next.clone()]);
    app.wait_for_outcomes(2, Duration::from_secs(90)).await;

    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&spa].0, "stored", "{outcomes:?}\n{}", app.logs());
    assert_eq!(outcomes[&next].0, "stored", "{outcomes:?}");
    let (text, rendered) = article(&app, &spa).await;
    assert!(rendered, "the app shell's article is the rendered DOM's");
    assert_full_text(&text, 1);
    assert_eq!(app.web.hits("/spa-api/1"), 1, "the browser fetched the article's data once");
    assert_eq!(app.web.hits("/spa/1"), 1, "the page itself is the fetcher's, not fetched again");

    let (text, rendered) = article(&app, &next).await;
    assert!(!rendered, "__NEXT_DATA__ is read without a browser");
    assert_full_text(&text, 2);
    let log = app.logs();
    assert!(log.contains("sent to rendering"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_renderer_a_shell_is_extracted_as_it_is_and_one_no_renderer_takes_goes_on_after_max_wait() {
    let mut app = spawn_app().await;
    app.start_worker(Worker::Fetcher);
    app.start_worker(Worker::Store);
    let wait =
        [("NEWSPIPE__EXTRACTOR__RENDERER_CHECK_SECS", "1"), ("NEWSPIPE__RENDERER__MAX_WAIT_SECS", "3")];
    let extractor = app.start_worker_with(Worker::Extractor, &wait);

    // No renderer: the shell is extracted at once, as the empty page it is.
    let alone = app.web.url("/spa/3");
    app.submit(std::slice::from_ref(&alone));
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&alone], ("skipped".into(), Some("empty".into())), "{}", app.logs());

    // A consumer of the render queue that holds one page and takes nothing more: the extractor sees a
    // renderer, and the pages wait until their expiration sends them back to be extracted as they are.
    let connection = app.amqp().await;
    let channel = connection.create_channel().await.unwrap();
    channel.basic_qos(1, BasicQosOptions::default()).await.unwrap();
    let queue = app.topology().queue_name(newspipe_broker::Queue::Render);
    let mut held = channel
        .basic_consume(
            queue.as_str().into(),
            "stuck-renderer".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !app.workers[extractor].log_text().contains("consumers of the queue changed") {
        assert!(Instant::now() < deadline, "the extractor never saw the consumer\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    let waiting = [app.web.url("/spa/4"), app.web.url("/spa/5")];
    app.submit(&waiting);
    let first = tokio::time::timeout(Duration::from_secs(30), held.next()).await.expect("a page to hold");
    assert!(first.is_some(), "the stuck renderer got a page");
    // The page not held expires after max_wait (3 s) and is extracted.
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "extracted before max_wait: {:?}",
        started.elapsed()
    );
    // The held one comes back when the stuck consumer goes (its expiration has passed by then).
    channel.close(200, "gone".into()).await.unwrap();
    app.wait_for_outcomes(3, Duration::from_secs(30)).await;
    let outcomes = app.outcomes().await;
    for url in &waiting {
        assert_eq!(outcomes[url], ("skipped".into(), Some("empty".into())), "{url}: {}", app.logs());
    }
    assert!(app.workers[extractor].log_text().contains("no renderer took the page in time"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.outcome_count().await, 3, "one outcome each");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_killed_mid_page_has_its_page_rendered_again_and_nothing_lost_or_duplicated() {
    if !chromium_present() {
        return;
    }
    let mut app = spawn_app().await;
    let renderer = start_with_renderer(&mut app).await;
    let urls: Vec<String> = (1..=3).map(|n| app.web.url(&format!("/spa/slow-{n}"))).collect();
    app.submit(&urls);
    // The browser is asked for a page's data (answered after 3 s): kill it now, mid-page.
    let deadline = Instant::now() + Duration::from_secs(60);
    while (1..=3).all(|n| app.web.hits(&format!("/spa-api/slow-{n}")) == 0) {
        assert!(Instant::now() < deadline, "no page reached the browser\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let renderer_pid = app.workers[renderer].pid().to_string();
    let killed = std::process::Command::new("pkill").args(["-9", "-P", &renderer_pid]).status().unwrap();
    assert!(killed.success(), "no browser under the renderer");

    app.wait_for_outcomes(3, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.outcome_count().await, 3, "one outcome each");
    for (n, url) in (1..=3).zip(&urls) {
        let (text, rendered) = article(&app, url).await;
        assert!(rendered, "{url}");
        assert_full_text(&text, n);
    }
    let log = app.workers[renderer].log_text();
    assert!(log.matches("browser started").count() >= 2, "a new browser took the pages: {log}");
}
