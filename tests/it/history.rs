//! Article history (docs/history.md) against the real services: a local site whose pages change between
//! fetches (/edited/, version 1, then 2, ...), revisited on a short schedule; read back with `history`,
//! `history --diff`, `changes`, `export --versions` and `status`; and the faults: a store killed mid-batch,
//! revisits queued twice, two fetchers revisiting at once.

use std::time::{Duration, Instant};

use crate::support::ops::{json, run};
use crate::support::web::{EditedPage, edited_html};
use crate::support::{TestApp, Worker, spawn_app};

const P1: &str = "The city council approved the river plan on Tuesday evening after a debate that ran for \
                  most of the year and divided the residents of the district.";
const P3: &str = "The mayor said construction could begin next spring if the regional authority signs off on \
                  the financing before the end of the winter session.";
const ADDED: &str = "Seven of the eleven councillors voted for the plan; two abstained and two voted against \
                     it, citing the cost of the new bridge.";
const CORRECTION: &str =
    "Correction: An earlier version of this article said that the vote was unanimous. It was not.";

/// The second paragraph, with a link whose tracking parameters change between fetches.
fn p2(tracking: &str) -> String {
    format!(
        "Supporters said <a href=\"https://example.org/plan?utm_source={tracking}&amp;fbclid={tracking}\">the \
         plan</a> would bring new housing and a park to the riverbank, while opponents warned about traffic."
    )
}

/// Fetches of `url` with an outcome recorded.
async fn outcomes_of(app: &TestApp, url: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outcomes WHERE url = $1")
        .bind(url)
        .fetch_one(&app.db)
        .await
        .unwrap_or(0)
}

/// Waits until `url` has been fetched `fetches` times and each fetch has its outcome, and no revisit of it
/// is left to do.
async fn wait_for_revisits(app: &TestApp, url: &str, path: &str, fetches: i64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM revisits WHERE url = $1")
            .bind(url)
            .fetch_one(&app.db)
            .await
            .unwrap_or(1);
        let hits = i64::from(app.web.hits(path));
        if hits >= fetches && outcomes_of(app, url).await >= hits && left == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: {hits} fetches ({} with outcomes), {left} revisit rows left, after {timeout:?}; expected {fetches}\n{}",
            outcomes_of(app, url).await,
            app.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A pipeline whose revisits come every two seconds after the first fetch, `steps` of them.
fn start_with_schedule(app: &mut TestApp, steps: u32, fetchers: usize) {
    let schedule: Vec<String> = (1..=steps).map(|n| format!("{}s", 2 * n)).collect();
    app.env.push(("NEWSPIPE__REVISIT__SCHEDULE".into(), schedule.join(",")));
    for _ in 0..fetchers {
        app.start_worker(Worker::Fetcher);
    }
    app.start_worker(Worker::Extractor);
    app.start_worker(Worker::Store);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_article_edited_between_revisits_has_each_version_with_what_changed_and_its_take_down() {
    let mut app = spawn_app().await;
    let t1 = "Council approves the river plan";
    let t2 = "Council narrowly approves the river plan after a year of debate";
    let url = app.web.serve_edited(
        "story",
        EditedPage::sequence(vec![
            // 1: the first version.
            (200, edited_html(t1, &[P1, &p2("a"), P3, "Updated 09:15 GMT"])),
            // 2: the headline rewritten.
            (200, edited_html(t2, &[P1, &p2("a"), P3, "Updated 09:15 GMT"])),
            // 3: a paragraph added.
            (200, edited_html(t2, &[P1, &p2("a"), ADDED, P3, "Updated 09:20 GMT"])),
            // 4: whitespace, tracking parameters and the live timestamp only: not a version.
            (
                200,
                edited_html(
                    t2,
                    &[&P1.replace(' ', "  \n "), &p2("newsletter"), ADDED, P3, "Last updated 5 minutes ago"],
                ),
            ),
            // 5: a correction note appended.
            (200, edited_html(t2, &[P1, &p2("b"), ADDED, P3, CORRECTION, "Updated 10:42 GMT"])),
            // 6: a paragraph removed.
            (200, edited_html(t2, &[P1, ADDED, P3, CORRECTION, "Updated 11:03 GMT"])),
            // 7 and after: taken down.
            (410, "<html><body>This article has been removed.</body></html>".into()),
        ]),
    );
    // Seven revisits: the six edits after the first fetch, and the take-down seen twice.
    start_with_schedule(&mut app, 7, 1);
    let (code, _, stderr) = run(&app, &["submit", "--wait", "--timeout", "60", &url]).await;
    assert_eq!(code, 0, "{stderr}");
    wait_for_revisits(&app, &url, "/edited/story", 8, Duration::from_secs(90)).await;

    let history = json(&app, &["history", &url, "--json"]).await;
    assert_eq!(history["url"], url.as_str());
    let versions = history["versions"].as_array().unwrap();
    let summaries: Vec<&str> = versions.iter().map(|v| v["summary"].as_str().unwrap()).collect();
    assert_eq!(
        summaries,
        [
            "first version",
            "title changed",
            "1 paragraph added",
            "1 paragraph added; a correction note",
            "1 paragraph removed"
        ],
        "{history:#}"
    );
    let numbers: Vec<i64> = versions.iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    assert_eq!(versions[0]["title"], t1);
    assert_eq!(versions[1]["title"], t2);
    let times: Vec<&str> = versions.iter().map(|v| v["fetched_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "oldest first: {times:?}");
    let hashes: std::collections::HashSet<&str> =
        versions.iter().map(|v| v["hash"].as_str().unwrap()).collect();
    assert_eq!(hashes.len(), 5, "five distinct contents");
    assert!(versions[4]["current"].as_bool().unwrap() && !versions[3]["current"].as_bool().unwrap());

    let events = history["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "checked").count(), 1, "fetch 4 was a check: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "taken_down").count(), 2, "{kinds:?}");
    assert!(events.iter().filter(|e| e["kind"] == "taken_down").all(|e| e["http_status"] == 410));
    assert!(!kinds.contains(&"reverted"), "{kinds:?}");
    assert!(history["taken_down_at"].is_string(), "{history:#}");

    // The article keeps its last content, taken down, and the fetch says so as today.
    let show = json(&app, &["show", &url, "--json"]).await;
    assert!(show["article"]["taken_down_at"].is_string(), "{show:#}");
    assert!(show["article"]["text"].as_str().unwrap().contains("Seven of the eleven"), "{show:#}");
    let last: (String, Option<String>) = sqlx::query_as(
        "SELECT outcome, reason FROM outcomes WHERE url = $1 ORDER BY recorded_at DESC LIMIT 1",
    )
    .bind(&url)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(last, ("failed".to_string(), Some("http 410".to_string())));

    // Each version against the next, off a terminal: marks, not colours.
    let (code, diff, stderr) = run(&app, &["history", &url, "--diff"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(!diff.contains('\u{1b}'), "no colour off a terminal: {diff}");
    assert_eq!(diff.matches("--- version ").count(), 4, "{diff}");
    assert!(
        diff.contains(
            "title: Council [-approves-]{+narrowly approves+} the river plan{+ after a year of debate+}"
        ) || diff.contains("title: Council {+narrowly+} approves the river plan {+after a year of debate+}"),
        "{diff}"
    );
    assert!(diff.lines().any(|l| l == format!("+ {ADDED}")), "{diff}");
    assert!(diff.lines().any(|l| l == format!("+ {CORRECTION}")), "{diff}");
    assert!(
        diff.lines().any(|l| l.starts_with("- Supporters said the plan would bring new housing")),
        "the removed paragraph: {diff}"
    );
    assert!(!diff.contains("Updated"), "datelines are not changes: {diff}");
    let (code, one, _) = run(&app, &["history", &url, "--diff", "1", "5"]).await;
    assert_eq!(code, 0);
    assert_eq!(one.matches("--- version 1").count(), 1, "{one}");
    assert!(one.contains("+++ version 5"), "{one}");
    let (code, _, stderr) = run(&app, &["history", &url, "--diff", "1", "9"]).await;
    assert_eq!(code, 2, "no version 9: a usage error");
    assert!(stderr.contains("versions 1 to 5"), "{stderr}");

    // What changed in the last hour: this article, with its four edits' words.
    let changes = json(&app, &["changes", "--since", "1h", "--json"]).await;
    let rows = changes.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{changes:#}");
    assert_eq!(rows[0]["url"], url.as_str());
    assert_eq!(rows[0]["versions"], 5);
    assert_eq!(rows[0]["article_id"], history["article_id"]);
    assert!(rows[0]["words_added"].as_u64().unwrap() > 30, "{changes:#}");
    assert!(rows[0]["words_removed"].as_u64().unwrap() >= 15, "{changes:#}");
    assert_eq!(rows[0]["last_changed_at"], versions[4]["fetched_at"]);
    let other_site = json(&app, &["changes", "--since", "1h", "--site", "example.com", "--json"]).await;
    assert_eq!(other_site, serde_json::json!([]));

    // Every version exported, each with its number and fetch time.
    let (code, export, stderr) = run(&app, &["export", "--versions"]).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<serde_json::Value> = export.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(line["version"], n as i64 + 1);
        assert_eq!(line["version_fetched_at"], versions[n]["fetched_at"]);
        assert_eq!(line["url"], url.as_str());
    }
    assert!(!lines[0]["text"].as_str().unwrap().contains("Seven of the eleven"), "version 1's own text");
    assert!(lines[4]["text"].as_str().unwrap().contains(CORRECTION));

    let status = json(&app, &["status", "--json"]).await;
    assert_eq!(status["history"]["versions_made"], 4, "{:#}", status["history"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_flips_between_two_states_makes_two_versions_and_flip_events_and_a_304_only_a_check() {
    let mut app = spawn_app().await;
    let a = edited_html("The vote, live", &[P1, P3]);
    let b = edited_html("The vote, live", &[P1, ADDED, P3]);
    let flipping = app.web.serve_edited("teaser", EditedPage::cycling(vec![(200, a), (200, b)]));
    // An article whose ETag never changes: every revisit is a conditional 304.
    let same = app.web.url("/articles/3");
    start_with_schedule(&mut app, 5, 1);
    let (code, _, stderr) = run(&app, &["submit", "--wait", "--timeout", "60", &flipping, &same]).await;
    assert_eq!(code, 0, "{stderr}");
    wait_for_revisits(&app, &flipping, "/edited/teaser", 6, Duration::from_secs(90)).await;
    wait_for_revisits(&app, &same, "/articles/3", 6, Duration::from_secs(30)).await;

    let history = json(&app, &["history", &flipping, "--json"]).await;
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "A then B, and no more however often it flips: {history:#}");
    let events = history["events"].as_array().unwrap();
    let flips: Vec<&serde_json::Value> = events.iter().filter(|e| e["kind"] == "reverted").collect();
    assert_eq!(flips.len(), 4, "fetches 3 to 6 went back to a version seen before: {history:#}");
    let backs: Vec<i64> = flips.iter().map(|e| e["version"].as_i64().unwrap()).collect();
    assert_eq!(backs, [1, 2, 1, 2]);
    let (_, text, _) = run(&app, &["history", &flipping]).await;
    assert!(text.contains("flipped back to an earlier version"), "{text}");

    let unchanged = json(&app, &["history", &same, "--json"]).await;
    assert_eq!(unchanged["versions"].as_array().unwrap().len(), 1, "{unchanged:#}");
    let kinds: Vec<&str> =
        unchanged["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["not_modified"; 5], "{unchanged:#}");
    let unchanged_outcomes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outcomes WHERE url = $1 AND outcome = 'unchanged'")
            .bind(&same)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(unchanged_outcomes, 5);
}

/// Versions of every article, as the database holds them: (url, number of versions, distinct hashes).
async fn version_counts(app: &TestApp) -> Vec<(String, i64, i64)> {
    sqlx::query_as(
        "SELECT a.url, count(v.*), count(DISTINCT v.version_hash) FROM articles a
         LEFT JOIN article_versions v ON v.article_id = a.id GROUP BY a.url ORDER BY a.url",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn revisits_through_two_fetchers_a_killed_store_and_queued_twice_lose_and_duplicate_no_version() {
    let mut app = spawn_app().await;
    const PAGES: usize = 12;
    let urls: Vec<String> = (0..PAGES)
        .map(|n| {
            let first = edited_html(&format!("Story {n}"), &[P1, P3]);
            let second = edited_html(&format!("Story {n}"), &[P1, ADDED, P3]);
            app.web
                .serve_edited(&format!("page-{n}"), EditedPage::sequence(vec![(200, first), (200, second)]))
        })
        .collect();
    // Two fetchers: one schedules; both fetch the revisits it queues.
    start_with_schedule(&mut app, 3, 2);
    let mut store = app.workers.iter().position(|w| w.kind == Worker::Store).unwrap();
    let mut args = vec!["submit", "--wait", "--timeout", "60"];
    args.extend(urls.iter().map(String::as_str));
    let (code, _, stderr) = run(&app, &args).await;
    assert_eq!(code, 0, "{stderr}");

    // While the revisits' pages are stored, the store is killed twice, mid-batch, and restarted.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(2_300)).await;
        let recorded: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outcomes").fetch_one(&app.db).await.unwrap();
        assert!(recorded < 4 * PAGES as i64, "killed while revisits are still to be stored ({recorded})");
        app.workers[store].signal("KILL");
        app.workers[store].wait_exit(Duration::from_secs(5)).expect("the store was killed");
        tokio::time::sleep(Duration::from_millis(300)).await;
        store = app.start_worker(Worker::Store);
    }
    for (n, url) in urls.iter().enumerate() {
        wait_for_revisits(&app, url, &format!("/edited/page-{n}"), 4, Duration::from_secs(90)).await;
    }
    // A revisit queued again (the scheduler died between queueing it and moving on): the same job once more.
    let article_id: i64 = sqlx::query_scalar("SELECT id FROM articles WHERE url = $1")
        .bind(&urls[0])
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut again =
        newspipe_models::FetchJob::new(newspipe_models::JobId::revisit(article_id, 1), urls[0].clone());
    again.refresh = true;
    again.revisit_step = Some(1);
    let before = outcomes_of(&app, &urls[0]).await;
    app.publish_raw("fetch", &newspipe_models::encode_json(&again)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.web.hits("/edited/page-0") < 5 {
        assert!(Instant::now() < deadline, "the repeated revisit was not fetched\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its outcome replaces the first one's (the same job id): no outcome more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(outcomes_of(&app, &urls[0]).await, before, "one outcome per job id");

    let counts = version_counts(&app).await;
    assert_eq!(counts.len(), PAGES, "{counts:?}");
    for (url, versions, distinct) in &counts {
        assert_eq!((*versions, *distinct), (2, 2), "{url}: exactly its two versions\n{}", app.logs());
    }
    let current_has_added: i64 =
        sqlx::query_scalar("SELECT count(*) FROM articles WHERE text LIKE '%Seven of the eleven%'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(current_has_added, PAGES as i64, "every article is at its latest version");
    // The revisits after the edit found the same bytes: conditional 304s, recorded as checks.
    let checks: i64 =
        sqlx::query_scalar("SELECT count(*) FROM article_events WHERE kind IN ('checked', 'not_modified')")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(checks >= 2 * PAGES as i64, "two revisits each after the edit: {checks}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_with_revisit_off_stores_its_articles_without_revisits_and_a_redelivered_edit_is_one_version()
{
    let mut app = spawn_app().await;
    start_with_schedule(&mut app, 3, 1);
    let feed = app.web.url("/feed.xml");
    let (code, stdout, stderr) =
        run(&app, &["watch", "add", &feed, "--every", "1h", "--revisit", "off"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("articles revisited: off"), "{stdout}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM articles").fetch_one(&app.db).await.unwrap();
        if stored == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the feed's 3 items were not stored\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let revisits: i64 = sqlx::query_scalar("SELECT count(*) FROM revisits").fetch_one(&app.db).await.unwrap();
    assert_eq!(revisits, 0, "off: no revisit planned");
    assert_eq!(app.web.hits("/articles/1"), 1, "and none made");
    let (_, list, _) = run(&app, &["watch", "list"]).await;
    assert!(list.lines().any(|l| l.contains(&feed) && l.contains("off")), "{list}");

    // The same edit delivered to the store twice (a redelivery): one new version.
    let url = app.web.url("/articles/1");
    let mut article: newspipe_models::Article =
        app.database.article_by_url(&url).await.unwrap().expect("stored");
    article.title = Some("A rewritten headline".into());
    article.fetched_at = Some(chrono::Utc::now());
    let request = newspipe_models::StoreRequest::new(
        newspipe_models::new_job_id(),
        url.clone(),
        newspipe_models::Outcome::Stored { article: Box::new(article) },
    );
    for _ in 0..2 {
        app.publish_raw("store", &newspipe_models::encode_json(&request)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let history = json(&app, &["history", &url, "--json"]).await;
        let n = history["versions"].as_array().unwrap().len();
        if n >= 2 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let history = json(&app, &["history", &url, "--json"]).await;
            assert_eq!(history["versions"].as_array().unwrap().len(), 2, "{history:#}");
            assert_eq!(history["versions"][1]["summary"], "title changed");
            // Regression: the redelivery's fetch time (nanoseconds) looked later than the stored one
            // (microseconds) and was recorded as a check.
            assert_eq!(history["events"], serde_json::json!([]), "a redelivery records nothing more");
            break;
        }
        assert!(Instant::now() < deadline, "the edit was not stored\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_that_finds_an_edit_returns_once_its_version_is_in_the_history() {
    let mut app = spawn_app().await;
    let url = app.web.serve_edited(
        "refreshed",
        EditedPage::sequence(vec![
            (200, edited_html("Before", &[P1, P3])),
            (200, edited_html("After", &[P1, P3, CORRECTION])),
        ]),
    );
    app.env.push(("NEWSPIPE__REVISIT__SCHEDULE".into(), "off".into()));
    app.start_pipeline();
    let (code, _, stderr) = run(&app, &["submit", "--wait", "--timeout", "60", &url]).await;
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&app, &["submit", "--refresh", "--wait", "--timeout", "60", &url]).await;
    assert_eq!(code, 0, "{stderr}");
    // No waiting: the version, the article and the outcome were written in one transaction.
    let history = json(&app, &["history", &url, "--json"]).await;
    let summaries: Vec<&str> =
        history["versions"].as_array().unwrap().iter().map(|v| v["summary"].as_str().unwrap()).collect();
    assert_eq!(summaries, ["first version", "title changed; 1 paragraph added; a correction note"]);
    // `revisit.schedule = off`: the scheduler removes the article's revisit row and fetches nothing more.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM revisits").fetch_one(&app.db).await.unwrap() > 0
    {
        assert!(Instant::now() < deadline, "the revisit row was not removed\n{}", app.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.web.hits("/edited/refreshed"), 2, "the submit and the refresh, no revisit");
}

/// Regression (review): the due revisits were the most overdue rows first, so a site with thousands of
/// articles due held every other site's back.
#[tokio::test(flavor = "multi_thread")]
async fn a_site_with_many_revisits_due_does_not_hold_back_another_sites() {
    let app = spawn_app().await;
    app.database.migrate().await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO articles (url, job_id, text, word_count, content_hash)
             SELECT 'https://big.example/' || n, gen_random_uuid(), 't', 1, 'h' FROM generate_series(1, 3000) n;
         INSERT INTO articles (url, job_id, text, word_count, content_hash)
             VALUES ('https://small.example/1', gen_random_uuid(), 't', 1, 'h');
         INSERT INTO revisits (article_id, url, host, first_fetched_at, due_at)
             SELECT id, url, substring(url from '://([^/]+)'), now() - interval '2 hours',
                 CASE WHEN url LIKE '%small%' THEN now() - interval '1 minute' ELSE now() - interval '1 hour' END
             FROM articles",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let mut scheduler = app.database.try_lead_watches().await.unwrap().expect("the scheduler's lock");
    // Two at most: the 3000 rows of big.example are all more overdue than small.example's one.
    let due = scheduler.due_revisits(&[], 1, 2).await.unwrap();
    let hosts: Vec<&str> = due.iter().map(|r| r.host.as_str()).collect();
    assert_eq!(hosts, ["big.example", "small.example"], "one of each host, most overdue first");
    let resting = scheduler.due_revisits(&["big.example".to_string()], 5, 200).await.unwrap();
    assert_eq!(resting.iter().map(|r| r.host.as_str()).collect::<Vec<_>>(), ["small.example"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watchs_revisit_schedule_wins_over_the_fetchers_for_the_articles_found_through_it() {
    let mut app = spawn_app().await;
    // The fetchers' schedule is the default (the first revisit an hour away); the watch asks for 2s and 4s.
    app.start_pipeline();
    let feed = app.web.url("/feed.xml");
    let (code, stdout, stderr) =
        run(&app, &["watch", "add", &feed, "--every", "1h", "--revisit", "2s,4s"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("articles revisited: 2s,4s"), "{stdout}");
    for n in 1..=3 {
        let url = app.web.url(&format!("/articles/{n}"));
        wait_for_revisits(&app, &url, &format!("/articles/{n}"), 3, Duration::from_secs(60)).await;
        let history = json(&app, &["history", &url, "--json"]).await;
        let kinds: Vec<&str> =
            history["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["not_modified", "not_modified"], "{history:#}");
    }
}
