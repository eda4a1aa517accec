//! The fetcher on the web: politeness shared by every replica, robots.txt, Retry-After, private addresses,
//! duplicates and refreshes, feeds, sitemaps and watches.

use std::time::{Duration, Instant};

use crate::support::{Worker, spawn_app};

async fn count(app: &crate::support::TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&app.db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_fetchers_together_never_hit_a_host_faster_than_its_interval() {
    let mut app = spawn_app().await;
    // The slack absorbs the scheduling jitter between taking a slot and the request leaving, which on a
    // busy 2-core CI machine exceeds the default 20 ms.
    let polite = [("NEWSPIPE__POLITENESS__INTERVAL_MS", "200"), ("NEWSPIPE__POLITENESS__SLACK_MS", "60")];
    for _ in 0..3 {
        app.start_worker_with(Worker::Fetcher, &polite);
    }
    app.start_worker(Worker::Extractor);
    app.start_worker(Worker::Store);
    let urls: Vec<String> = (1..=60).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    app.submit(&urls);
    app.wait_for_outcomes(60, Duration::from_secs(90)).await;
    assert_eq!(count(&app, "SELECT count(*) FROM outcomes WHERE outcome = 'stored'").await, 60);

    let mut arrivals = app.web.arrivals("/");
    arrivals.sort();
    assert!(arrivals.len() >= 60, "{} requests", arrivals.len());
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    let closest = gaps.iter().min().unwrap();
    assert!(*closest >= Duration::from_millis(200), "two requests {closest:?} apart; gaps {gaps:?}");
    let fetchers_that_fetched =
        app.workers.iter().filter(|w| w.kind == Worker::Fetcher && w.log_text().contains("fetched")).count();
    assert!(fetchers_that_fetched >= 2, "the work was shared, not done by one fetcher\n{}", app.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_fetchers_keep_to_the_limit_of_concurrent_requests_per_host() {
    let mut app = spawn_app().await;
    let limited = [("NEWSPIPE__POLITENESS__MAX_CONCURRENT_PER_HOST", "1")];
    app.start_worker_with(Worker::Fetcher, &limited);
    app.start_worker_with(Worker::Fetcher, &limited);
    app.start_worker(Worker::Extractor);
    app.start_worker(Worker::Store);
    let urls: Vec<String> = (1..=3).map(|n| app.web.url(&format!("/slow/{n}"))).collect();
    app.submit(&urls);
    app.wait_for_outcomes(3, Duration::from_secs(60)).await;
    assert_eq!(count(&app, "SELECT count(*) FROM outcomes WHERE outcome = 'stored'").await, 3);
    assert_eq!(app.web.slow_concurrency(), 1, "never two slow requests to the host at once");
    assert_eq!(count(&app, "SELECT count(*) FROM fetch_leases").await, 0, "every lease was released");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_disallowed_by_robots_txt_is_skipped_without_being_fetched() {
    let mut app = spawn_app().await;
    app.web.set_robots("User-agent: *\nDisallow: /missing/\n\nUser-agent: otherbot\nDisallow: /\n");
    app.start_pipeline();
    app.submit(&[app.web.url("/missing/1"), app.web.url("/articles/1")]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&app.web.url("/missing/1")], ("skipped".into(), Some("robots".into())));
    assert_eq!(outcomes[&app.web.url("/articles/1")].0, "stored");
    assert_eq!(app.web.hits("/missing/1"), 0);
    assert_eq!(app.web.hits("/robots.txt"), 1, "robots.txt is fetched once and kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetcher_remembers_a_hosts_robots_txt_but_never_past_its_ttl() {
    let mut app = spawn_app().await;
    app.web.set_robots("User-agent: *\nDisallow: /missing/\n");
    app.start_worker_with(Worker::Fetcher, &[("NEWSPIPE__POLITENESS__ROBOTS_TTL_SECS", "3")]);
    app.start_worker(Worker::Extractor);
    app.start_worker(Worker::Store);
    app.submit(&[app.web.url("/articles/1")]);
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;

    // The site now forbids articles, and the database forgets its copy: the fetcher still goes by the
    // robots.txt it read, without asking the database or the site again.
    app.web.set_robots("User-agent: *\nDisallow: /articles/\n");
    sqlx::query("UPDATE hosts SET robots_txt = NULL, robots_fetched_at = NULL")
        .execute(&app.db)
        .await
        .unwrap();
    app.submit(&[app.web.url("/articles/2")]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    assert_eq!(app.outcomes().await[&app.web.url("/articles/2")].0, "stored");
    assert_eq!(app.web.hits("/robots.txt"), 1, "remembered");

    // Past politeness.robots_ttl_secs it is fetched again, and obeyed.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    app.submit(&[app.web.url("/articles/3")]);
    app.wait_for_outcomes(3, Duration::from_secs(30)).await;
    assert_eq!(app.outcomes().await[&app.web.url("/articles/3")], ("skipped".into(), Some("robots".into())));
    assert_eq!(app.web.hits("/robots.txt"), 2);
    assert_eq!(app.web.hits("/articles/3"), 0);
}

/// Regression: a job whose robots.txt kept failing spent its retries and vanished without an outcome.
#[tokio::test(flavor = "multi_thread")]
async fn a_job_whose_robots_txt_stays_unreachable_fails_saying_so() {
    let mut app = spawn_app().await;
    app.web.break_robots();
    app.start_pipeline();
    app.submit(&[app.web.url("/articles/1")]);
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&app.web.url("/articles/1")], ("failed".into(), Some("robots.txt http 500".into())));
    assert_eq!(app.web.hits("/articles/1"), 0, "nothing is fetched while robots.txt is unknown");
    assert_eq!(app.web.hits("/robots.txt"), 3, "one try per attempt");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_with_retry_after_holds_the_whole_host_back() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    app.submit(&[app.web.url("/limited/1")]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.web.hits("/limited/1") == 0 {
        assert!(Instant::now() < deadline, "never fetched\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused_at = app.web.arrivals("/limited/1")[0];
    app.submit(&[app.web.url("/articles/7")]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&app.web.url("/limited/1")].0, "stored", "retried after the pause");
    assert_eq!(outcomes[&app.web.url("/articles/7")].0, "stored");
    let next_request = app.web.arrivals("/articles/7")[0];
    // Retry-After: 2 (less a little for the clock of the server versus the database's).
    assert!(next_request - refused_at >= Duration::from_millis(1_900), "{:?}", next_request - refused_at);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_address_is_refused_when_private_addresses_are_not_allowed() {
    let mut app = spawn_app().await;
    app.start_worker_with(Worker::Fetcher, &[("NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES", "false")]);
    app.start_worker(Worker::Store);
    let url = app.web.url("/articles/1");
    let disguised = url.replace("127.0.0.1", "2130706433");
    app.submit(&[url.clone(), disguised]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&url], ("failed".into(), Some("forbidden address".into())));
    assert!(
        outcomes.values().all(|(o, r)| o == "failed" && r.as_deref() == Some("forbidden address")),
        "{outcomes:?}"
    );
    assert_eq!(app.web.hits("/articles/1"), 0);
    assert_eq!(app.web.hits("/robots.txt"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_is_fetched_once_unless_refreshed_and_an_unchanged_refresh_says_so() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let url = app.web.url("/articles/1");
    app.submit(std::slice::from_ref(&url));
    app.wait_for_outcomes(1, Duration::from_secs(30)).await;
    // The same article behind tracking parameters and a fragment is the same URL.
    let disguised = format!("{url}?utm_source=newsletter&fbclid=abc#comments");
    app.submit(&[disguised]);
    app.wait_for_outcomes(2, Duration::from_secs(30)).await;
    assert_eq!(app.web.hits("/articles/1"), 1, "the duplicate was not fetched");
    assert_eq!(
        count(&app, "SELECT count(*) FROM outcomes WHERE outcome = 'skipped' AND reason = 'duplicate'").await,
        1
    );

    let output = app.cli(&["submit", "--refresh", "--wait", "--timeout", "30", &url], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unchanged 1"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(app.web.hits("/articles/1"), 2, "a refresh fetches again, conditionally (304)");
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feed_is_expanded_into_its_items_and_submit_waits_for_them() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let output =
        app.cli_async(&["submit", "--feed", "--wait", "--timeout", "60", &app.web.url("/feed.xml")]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{}", app.logs());
    assert!(stderr.contains("stored 3, skipped 0, failed 0, feeds/sitemaps expanded 1"), "{stderr}");
    let children = count(&app, "SELECT count(*) FROM outcomes WHERE parent_job_id IS NOT NULL").await;
    assert_eq!(children, 3);
    // Items are stored under their canonical URLs: the feed's tracking parameters are gone.
    for n in 1..=3 {
        let url = app.web.url(&format!("/articles/{n}"));
        assert_eq!(app.outcomes().await[&url].0, "stored", "{url}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_is_expanded_through_the_feed_its_home_page_announces() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let output = app.cli_async(&["submit", "--site", "--wait", "--timeout", "60", &app.web.url("/")]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{}", app.logs());
    // The home page leads to the feed, the feed to its three articles.
    assert!(stderr.contains("stored 3, skipped 0, failed 0, feeds/sitemaps expanded 2"), "{stderr}");
    assert_eq!(app.web.hits("/feed.xml"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_news_sitemap_behind_an_index_is_expanded_keeping_entries_since_a_date() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let index = app.web.url("/sitemap_index.xml");
    let output = app
        .cli_async(&["submit", "--sitemap", "--since", "2026-11-01", "--wait", "--timeout", "60", &index])
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{}", app.logs());
    assert!(stderr.contains("stored 2, skipped 0, failed 0, feeds/sitemaps expanded 2"), "{stderr}");
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&app.web.url("/articles/11")].0, "stored");
    assert_eq!(outcomes[&app.web.url("/articles/12")].0, "stored");
    assert!(!outcomes.contains_key(&app.web.url("/articles/13")), "an entry from 2020 is older than --since");
    assert_eq!(app.web.hits("/articles/13"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watched_feed_queues_only_its_new_items() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let feed = app.web.url("/feed.xml");
    let output = app.cli(&["watch", "add", &feed, "--every", "1s"], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&app, "SELECT count(*) FROM articles").await < 3 {
        assert!(Instant::now() < deadline, "the watch never stored the feed's items\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.web.set_feed_items(5);
    while count(&app, "SELECT count(*) FROM articles").await < 5 {
        assert!(Instant::now() < deadline, "the new items never came\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let polls_before = app.web.hits("/feed.xml");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(app.web.hits("/feed.xml") > polls_before, "the feed is still polled");
    // Each item was fetched once; polls after that queued nothing for the items already stored.
    for n in 1..=5 {
        assert_eq!(app.web.hits(&format!("/articles/{n}")), 1, "article {n}");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM outcomes WHERE reason = 'duplicate'").await, 0);
    let list = app.cli(&["watch", "list"], None);
    assert!(String::from_utf8_lossy(&list.stdout).contains("/feed.xml"));
}
