//! The HTTP API (`newspipe serve`) against the real pipeline: submitting and reading back over HTTP, tokens
//! and scopes, limits, hostile input, the web page's rules; schemathesis over every operation; the web page
//! in headless Chromium.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::api::{TestApi, json};
use crate::support::web::{EditedPage, edited_html};
use crate::support::{TestApp, spawn_app};

/// Polls `GET /v1/jobs/{id}` until the job is done.
async fn wait_done(api: &TestApi, token: &str, job_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = json(api.get(&format!("/v1/jobs/{job_id}"), Some(token)).await).await;
        assert_eq!(status, 200, "{body}");
        if body["state"] == "done" {
            return body;
        }
        assert!(Instant::now() < deadline, "job {job_id} not done: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `n` articles are in the search index.
async fn wait_indexed(app: &TestApp, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let indexed: i64 = sqlx::query_scalar("SELECT count(*) FROM articles WHERE search IS NOT NULL")
            .fetch_one(&app.db)
            .await
            .unwrap();
        if indexed >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{indexed} of {n} articles indexed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An article whose text holds markup, for the escaping checks.
const SCRIPT_TEXT: &str = "<script>window.__pwned=1</script>";

fn script_page() -> EditedPage {
    let html = edited_html(
        "Harbour authority answers questions about the ferry timetable",
        &[
            "The harbour authority published its answers to readers' questions about the new ferry timetable \
             on Monday, after weeks of complaints from commuters on the island routes.",
            "One reader sent this line, which the page shows as it was written: \
             &lt;script&gt;window.__pwned=1&lt;/script&gt; and the authority said it would reply in kind.",
            "The timetable takes effect next month, with two more sailings each weekday morning and a later \
             last boat on Fridays during the summer season.",
        ],
    );
    EditedPage::sequence(vec![(200, html)])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_submitted_over_http_is_stored_and_found_searched_listed_read_and_exported() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let api = app.spawn_api(&[]);
    let token = app.token("ingest", "submit");
    let urls: Vec<String> = (1..=3).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    let (status, body) = json(api.post_json("/v1/jobs", Some(&token), &json!({ "urls": urls })).await).await;
    assert_eq!(status, 202, "{body}");
    let jobs = body["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3);
    for (job, url) in jobs.iter().zip(&urls) {
        assert_eq!(job["url"], *url);
        let done = wait_done(&api, &token, job["job_id"].as_str().unwrap()).await;
        assert_eq!(done["outcomes"][0]["outcome"], "stored", "{done}");
    }
    wait_indexed(&app, 3).await;

    let (status, found) = json(api.get("/v1/search?q=council%20riverbank&limit=5", Some(&token)).await).await;
    assert_eq!(status, 200, "{found}");
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{found}");
    assert!(results[0]["snippet"].as_str().unwrap().contains("[council]"), "{found}");

    // Keyset pages of two: every article once, in id order, and the last page says so.
    let (_, first) = json(api.get("/v1/articles?limit=2", Some(&token)).await).await;
    let after = first["next_after"].as_i64().expect("a next page");
    let (_, second) = json(api.get(&format!("/v1/articles?limit=2&after={after}"), Some(&token)).await).await;
    let ids: Vec<i64> = first["articles"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["articles"].as_array().unwrap())
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{first} {second}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(second["next_after"], Value::Null);

    let (status, article) = json(api.get(&format!("/v1/articles/{}", ids[0]), Some(&token)).await).await;
    assert_eq!(status, 200);
    assert!(article["text"].as_str().unwrap().contains("city council approved plan number"), "{article}");
    assert_eq!(article["authors"], json!(["Jane Marlowe"]));
    let (_, history) = json(api.get(&format!("/v1/articles/{}/history", ids[0]), Some(&token)).await).await;
    assert_eq!(history["outcomes"][0]["outcome"], "stored", "{history}");
    assert_eq!(history["versions"].as_array().unwrap().len(), 1, "{history}");
    let (status, missing) = json(api.get("/v1/articles/999999", Some(&token)).await).await;
    assert_eq!((status, missing["type"].as_str().unwrap()), (404, "urn:newspipe:problem:not_found"));

    let export = api.get("/v1/export", Some(&token)).await;
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> =
        export.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|a| a["url"].as_str().unwrap().starts_with(&app.web.url("/articles/"))));

    let (status, status_body) = json(api.get("/v1/status", Some(&token)).await).await;
    assert_eq!(status, 200);
    assert_eq!(status_body["outcomes"]["stored"], 3, "{status_body}");
    let queues: Vec<&str> =
        status_body["queues"].as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap()).collect();
    for stage in ["fetch", "extract", "store", "dead"] {
        assert!(queues.contains(&format!("{}.{stage}", app.prefix).as_str()), "{queues:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_checked_by_scope_and_a_revoked_token_is_refused_at_once() {
    let app = spawn_app().await;
    let api = app.spawn_api(&[]);
    let reader = app.token("notebook", "read");
    let admin = app.token("operator", "admin");
    let submit = json!({ "urls": [app.web.url("/articles/1")] });

    let (status, problem) = json(api.get("/v1/status", None).await).await;
    assert_eq!(status, 401, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("Authorization: Bearer"), "{problem}");
    let (status, _) =
        json(api.get("/v1/status", Some("np_0000000000000000_".to_string().as_str())).await).await;
    assert_eq!(status, 401);
    assert_eq!(json(api.get("/v1/status", Some(&reader)).await).await.0, 200);
    let (status, problem) = json(api.post_json("/v1/jobs", Some(&reader), &submit).await).await;
    assert_eq!(status, 403, "a read token cannot submit: {problem}");
    assert!(problem["detail"].as_str().unwrap().contains("`submit` scope"), "{problem}");
    assert_eq!(json(api.get("/v1/dead-letters", Some(&reader)).await).await.0, 403);
    assert_eq!(json(api.get("/v1/dead-letters", Some(&admin)).await).await.0, 200, "admin includes the rest");
    assert_eq!(json(api.post_json("/v1/jobs", Some(&admin), &submit).await).await.0, 202);

    // Names are unique, and a revoked token is refused from the next request on.
    let again = app.cli(&["token", "create", "--name", "notebook", "--scope", "admin"], None);
    assert_eq!(again.status.code(), Some(2), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(again.stdout.is_empty());
    let revoked = app.cli(&["token", "revoke", "notebook"], None);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    let (status, problem) = json(api.get("/v1/status", Some(&reader)).await).await;
    assert_eq!(status, 401, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("revoked"), "{problem}");
    let listed = app.cli(&["token", "list", "--json"], None);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let notebook = listed.as_array().unwrap().iter().find(|t| t["name"] == "notebook").unwrap();
    assert!(notebook["revoked_at"].is_string(), "{listed}");
    assert!(!String::from_utf8_lossy(&app.cli(&["token", "list"], None).stdout).contains(&admin[20..]));
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT digest FROM api_tokens").fetch_all(&app.db).await.unwrap();
    assert!(stored.iter().all(|d| d.len() == 32), "only digests are kept");

    // The OpenAPI document needs no token.
    let document = api.get("/openapi.json", None).await;
    assert_eq!(document.status(), 200);
    let document: Value = document.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn public_read_opens_every_read_and_the_web_page_but_no_write() {
    let app = spawn_app().await;
    let api = app.spawn_api(&[("NEWSPIPE__API__PUBLIC_READ", "true")]);
    assert_eq!(json(api.get("/v1/search?q=anything", None).await).await.0, 200);
    assert_eq!(json(api.get("/v1/articles", None).await).await.0, 200);
    assert_eq!(api.get("/", None).await.status(), 200, "the page opens without logging in");
    let (status, _) =
        json(api.post_json("/v1/jobs", None, &json!({ "urls": ["https://example.com/a"] })).await).await;
    assert_eq!(status, 401);
    assert_eq!(json(api.get("/v1/dead-letters", None).await).await.0, 401, "admin reads still need a token");
    let document: Value = api.get("/openapi.json", None).await.json().await.unwrap();
    assert_eq!(document["paths"]["/v1/search"]["get"]["security"], json!([{}, {"bearer": []}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_without_a_valid_token_is_refused_before_its_body_is_read() {
    let app = spawn_app().await;
    let api = app.spawn_api(&[("NEWSPIPE__API__MAX_BODY_BYTES", "1000")]);
    let big = "x".repeat(200_000);
    let response = api
        .client
        .post(api.url("/v1/jobs"))
        .header("content-type", "application/json")
        .body(format!("{{\"urls\": [\"{big}\"]}}"))
        .send()
        .await
        .unwrap();
    let (status, problem) = json(response).await;
    assert_eq!(status, 401, "not 413: the body was never read: {problem}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_gets_a_clear_problem_and_changes_nothing() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let api = app.spawn_api(&[("NEWSPIPE__API__MAX_BODY_BYTES", "100000")]);
    let token = app.token("hostile", "admin");
    app.submit(&[app.web.url("/articles/1")]);
    app.wait_for_outcomes(1, Duration::from_secs(60)).await;
    wait_indexed(&app, 1).await;

    // SQL and tsquery syntax are words to search for, never syntax: 200, and the table is still there.
    for q in
        ["'; DROP TABLE articles; --", "council & | ! ( :* <->", "\\\\' OR 1=1 --", "\"unclosed", "-", "!!!"]
    {
        let response = api
            .client
            .get(api.url("/v1/search"))
            .query(&[("q", q)])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, 200, "{q}: {body}");
    }
    let response =
        api.client.get(api.url("/v1/search")).query(&[("q", "council' OR '1'='1")]).bearer_auth(&token);
    let (_, body) = json(response.send().await.unwrap()).await;
    assert!(body["results"].as_array().unwrap().len() <= 1, "{body}");

    // Bad parameters: 400 problems that name what failed.
    for (path, says) in [
        ("/v1/search?q=a%00b", "`q`"),
        ("/v1/search?q=a&limit=100000", "`limit`"),
        ("/v1/search?q=a&since=yesterday", "RFC 3339"),
        ("/v1/search?q=a&lang=en%27%3B--", "`lang`"),
        ("/v1/articles?after=-5", "`after`"),
        ("/v1/articles/..%2F..%2Fetc%2Fpasswd", "not an article id"),
        ("/v1/articles/1%20OR%201=1", "not an article id"),
        ("/v1/jobs/not-a-uuid", "not a job id"),
    ] {
        let (status, problem) = json(api.get(path, Some(&token)).await).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(says), "{path}: {problem}");
    }
    // Invalid UTF-8 in the query string, in a body; malformed and wrong-shaped JSON; no JSON at all.
    assert_eq!(json(api.get("/v1/search?q=%ff%fe", Some(&token)).await).await.0, 400);
    let post = |body: Vec<u8>, content_type: &'static str| {
        api.client
            .post(api.url("/v1/jobs"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: [(Vec<u8>, &str, u16); 6] = [
        (b"{\"urls\": [\"http://a.example/\xff\"]}".to_vec(), "application/json", 400),
        (b"{\"urls\": [".to_vec(), "application/json", 400),
        (b"{\"urls\": \"http://a.example/\"}".to_vec(), "application/json", 422),
        (b"{\"urls\": [\"http://a.example/\"], \"drop\": true}".to_vec(), "application/json", 422),
        (b"urls=http://a.example/".to_vec(), "application/x-www-form-urlencoded", 415),
        (vec![b'['; 200_000], "application/json", 413),
    ];
    for (body, content_type, expected) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
        let response = post(body, content_type).await.unwrap();
        if expected == 413 {
            // Refused unread: the server closes the connection rather than leave it to be reused.
            assert_eq!(response.headers()["connection"], "close", "{shown}");
        }
        let (status, problem) = json(response).await;
        assert_eq!(status, expected, "{shown}: {problem}");
    }
    // A URL that is not one, and too many: refused whole, each bad one named.
    let (status, problem) = json(
        api.post_json(
            "/v1/jobs",
            Some(&token),
            &json!({ "urls": ["https://ok.example/a", "file:///etc/passwd", "javascript:alert(1)"] }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2, "{problem}");
    assert!(problem["errors"][0].as_str().unwrap().starts_with("urls[1]"), "{problem}");
    let many: Vec<String> = (0..1001).map(|n| format!("https://a.example/{n}")).collect();
    let (status, problem) =
        json(api.post_json("/v1/jobs", Some(&token), &json!({ "urls": many })).await).await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("1 to 1000 URLs"), "{problem}");
    // A million URLs (25 MB) is a body far above the limit: refused from its length, before it is read.
    let address = api.address.trim_start_matches("http://").to_string();
    let token_header = format!("Bearer {token}");
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST /v1/jobs HTTP/1.1\r\nHost: {address}\r\nAuthorization: {token_header}\r\n\
             Content-Type: application/json\r\nContent-Length: 25000000\r\n\r\n{{\"urls\": [\"https://a.example/1\","
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = vec![0u8; 4096];
        let n = stream.read(&mut answer).unwrap();
        String::from_utf8_lossy(&answer[..n]).to_string()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    // A query string past the limit.
    let long = format!("/v1/search?q={}", "a".repeat(5000));
    assert_eq!(json(api.get(&long, Some(&token)).await).await.0, 414);

    // Nothing changed: one article, and no job queued by any refused request.
    assert_eq!(app.database.article_count().await.unwrap(), 1);
    let fetch_queue = format!("{}.fetch", app.prefix);
    let (_, status) = json(api.get("/v1/status", Some(&token)).await).await;
    let fetch = status["queues"].as_array().unwrap().iter().find(|q| q["name"] == fetch_queue).unwrap();
    assert_eq!(fetch["messages"], 0, "{status}");
    // And the server still serves.
    assert_eq!(json(api.get("/v1/search?q=council", Some(&token)).await).await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_cut_off_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let api = app.spawn_api(&[("NEWSPIPE__API__HEADER_TIMEOUT_SECS", "1")]);
    let address = api.address.trim_start_matches("http://").to_string();
    let started = Instant::now();
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // A request line, then a header a byte at a time, never finished.
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
        for _ in 0..20 {
            if stream.write_all(b"a").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut buffer = Vec::new();
        let _ = stream.read_to_end(&mut buffer);
        buffer
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(8), "the slow client was cut off after {elapsed:?}");
    let answered = String::from_utf8_lossy(&closed);
    assert!(answered.is_empty() || answered.starts_with("HTTP/1.1 408"), "{answered}");
    assert_eq!(api.get("/healthz", None).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_requests_or_failed_authentications_get_429_with_retry_after() {
    let app = spawn_app().await;
    let token = app.token("busy", "read");
    let fresh = app.token("fresh", "read");
    let api = app.spawn_api(&[
        ("NEWSPIPE__API__REQUESTS_PER_SECOND", "0.2"),
        ("NEWSPIPE__API__BURST", "3"),
        ("NEWSPIPE__API__AUTH_FAILURES_PER_MINUTE", "3"),
    ]);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(api.get("/v1/status", Some(&token)).await);
    }
    let codes: Vec<u16> = statuses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(&codes[..3], &[200, 200, 200], "{codes:?}");
    assert_eq!(codes[3], 429, "{codes:?}");
    let limited = statuses.remove(3);
    assert!(limited.headers().contains_key("retry-after"));
    let (_, problem) = json(limited).await;
    assert_eq!(problem["type"], "urn:newspipe:problem:rate_limited");

    // Failed authentications from one address: the fourth within a minute is refused, and so is a valid
    // token from that address for a while (a guesser gets nowhere by mixing in one it holds).
    let mut codes = Vec::new();
    for n in 0..4 {
        let wrong = format!("np_{:016x}_{}", n, "0".repeat(64));
        codes.push(api.get("/v1/articles", Some(&wrong)).await.status().as_u16());
    }
    assert_eq!(codes, [401, 401, 401, 429], "failed attempts counted per address");
    let (status, problem) = json(api.get("/v1/articles", Some(&fresh)).await).await;
    assert_eq!(status, 429, "a valid token from the blocked address waits too: {problem}");
    assert_eq!(problem["type"], "urn:newspipe:problem:too_many_failed_attempts");
    let metrics = api.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("newspipe_api_auth_failures_total"), "{metrics}");
    assert!(metrics.contains("newspipe_api_rate_limited_total"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_page_sends_strangers_to_login_escapes_article_text_and_checks_its_forms() {
    let mut app = spawn_app().await;
    app.start_pipeline();
    let api = app.spawn_api(&[]);
    let token = app.token("browser", "read");
    let url = app.web.serve_edited("ferry", script_page());
    app.submit(&[url]);
    app.wait_for_outcomes(1, Duration::from_secs(60)).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM articles").fetch_one(&app.db).await.unwrap();

    let home = api.get("/", None).await;
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/login");
    // Login: without the form's CSRF token it is refused; with it the cookie is HttpOnly and SameSite.
    let login = api.get("/login", None).await;
    let csrf_cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = login.text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let refused = api
        .client
        .post(api.url("/login"))
        .form(&[("token", token.as_str()), ("csrf", "0".repeat(32).as_str())])
        .header("cookie", &csrf_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let cross_site = api
        .client
        .post(api.url("/login"))
        .form(&[("token", token.as_str()), ("csrf", csrf.as_str())])
        .header("cookie", &csrf_cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403, "another origin's form");
    let wrong = api
        .client
        .post(api.url("/login"))
        .form(&[("token", "np_nope"), ("csrf", csrf.as_str())])
        .header("cookie", &csrf_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let logged_in = api
        .client
        .post(api.url("/login"))
        .form(&[("token", token.as_str()), ("csrf", csrf.as_str())])
        .header("cookie", &csrf_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 303);
    let session = logged_in.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
    assert!(!session.contains("Secure"), "plain HTTP on localhost: {session}");
    let session = session.split(';').next().unwrap().to_string();

    let article =
        api.client.get(api.url(&format!("/articles/{id}"))).header("cookie", &session).send().await.unwrap();
    assert_eq!(article.status(), 200);
    let csp = article.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), "{csp}");
    let html = article.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"), "the text is escaped");
    assert!(!html.contains(SCRIPT_TEXT), "no script from the article reaches the page");
    assert!(!html.contains("http://") || !html.contains("<script src=\"http"), "no script from elsewhere");
    // The page's search checks its fields as the API does: a NUL in `site` is a 400 page, not a 503.
    let bad =
        api.client.get(api.url("/?q=harbour&site=%00")).header("cookie", &session).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("holds a NUL"));
    // A write never goes through on the cookie alone.
    let write = api
        .client
        .post(api.url("/v1/jobs"))
        .header("cookie", &session)
        .json(&json!({ "urls": ["https://a.example/x"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 401);
}

/// `schemathesis run --checks all` over every operation, with its stateful phase, against a server whose
/// archive has articles (and one with markup in its text). Prints its figures.
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_failure_in_any_operation() {
    // Its own entry point through python3, so a console script missing from PATH (pyenv's shims) is no matter.
    let schemathesis = || {
        let mut command = tokio::process::Command::new("python3");
        command.args([
            "-c",
            "import sys; from schemathesis.cli import schemathesis as main; sys.argv[0] = 'schemathesis'; main()",
        ]);
        command
    };
    let installed = schemathesis().arg("--version").output().await.is_ok_and(|o| o.status.success());
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "schemathesis is not installed (deploy/test.sh installs it)"
        );
        eprintln!("skipped: schemathesis is not installed (pip install schemathesis)");
        return;
    }
    let mut app = spawn_app().await;
    app.start_pipeline();
    let urls: Vec<String> = (1..=4).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    app.submit(&urls);
    app.submit(&[app.web.serve_edited("ferry", script_page())]);
    app.wait_for_outcomes(5, Duration::from_secs(60)).await;
    let api = app.spawn_api(&[]);
    let token = app.token("schemathesis", "admin");
    let dir = app.dir.join("schemathesis");
    std::fs::create_dir_all(&dir).unwrap();
    let output = schemathesis()
        .current_dir(&dir)
        .args([
            "run",
            &api.url("/openapi.json"),
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
        ])
        .args(["--max-examples", "40", "--seed", "7", "--generation-database", "none", "--no-color"])
        .args(["--request-timeout", "20", "-H", &format!("Authorization: Bearer {token}")])
        .args(["--report", "junit", "--report-junit-path", "junit.xml"])
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(420), output)
        .await
        .expect("schemathesis within 7 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            l.contains("Test cases:")
                || l.contains("generated")
                || l.contains("Selected:")
                || l.contains("Scenarios:")
                || l.contains("API Links:")
                || l.contains("===")
        })
        .collect();
    eprintln!("schemathesis: {}", summary.join(" | "));
    assert!(
        output.status.success(),
        "schemathesis failed:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        crate::support::tail(&api.log_text(), 40)
    );
    assert!(stdout.contains("Selected: 10/10"), "every operation tested:\n{stdout}");
    assert!(
        stdout.contains("Scenarios:") && !stdout.contains("Stateful (not applicable)"),
        "the stateful phase ran:\n{stdout}"
    );
}

/// The web page in headless Chromium (Playwright, tests/browser/pages.mjs): log in by keyboard, search,
/// open an article and read its text, see markup in an article shown as text, watch the status page
/// refresh itself, log out. Screenshots go to the app's folder (NEWSPIPE_SCREENSHOTS: there instead).
#[tokio::test(flavor = "multi_thread")]
async fn the_web_page_works_in_a_real_browser() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let driver = root.join("tests/browser/pages.mjs");
    let ready = root.join("tests/browser/node_modules/playwright-core").exists()
        && std::path::Path::new("/usr/bin/chromium").exists();
    if !ready {
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium or playwright-core missing (deploy/test.sh installs them)"
        );
        eprintln!(
            "skipped: needs /usr/bin/chromium and tests/browser/node_modules (deploy/test.sh installs them)"
        );
        return;
    }
    let mut app = spawn_app().await;
    app.start_pipeline();
    let urls: Vec<String> = (1..=3).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    app.submit(&urls);
    app.submit(&[app.web.serve_edited("ferry", script_page())]);
    app.wait_for_outcomes(4, Duration::from_secs(60)).await;
    wait_indexed(&app, 4).await;
    let script_id: i64 = sqlx::query_scalar("SELECT id FROM articles WHERE url LIKE '%/edited/ferry'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let api = app.spawn_api(&[]);
    let token = app.token("chromium", "read");
    let screenshots = std::env::var("NEWSPIPE_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| app.dir.join("screenshots"));
    std::fs::create_dir_all(&screenshots).unwrap();
    let output = tokio::process::Command::new("node")
        .arg(&driver)
        .env("NEWSPIPE_API", &api.address)
        .env("NEWSPIPE_TOKEN", &token)
        .env("SEARCH_WORD", "riverbank")
        .env("EXPECT_TEXT", "would bring new housing and a park to the riverbank")
        .env("SCRIPT_ARTICLE_ID", script_id.to_string())
        .env("SCREENSHOTS", &screenshots)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(150), output)
        .await
        .expect("the browser test within 150 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        crate::support::tail(&api.log_text(), 30)
    );
    for shot in ["login.png", "search.png", "article.png", "status.png"] {
        assert!(screenshots.join(shot).metadata().map(|m| m.len() > 1000).unwrap_or(false), "{shot}");
    }
}

/// Many articles: the export streams every one exactly once across its pages, and a listing paged while
/// articles are being stored sees each old one once, in order, with the new ones after them.
#[tokio::test(flavor = "multi_thread")]
async fn export_and_keyset_pages_see_every_article_once_while_articles_are_stored() {
    let app = spawn_app().await;
    let token = app.token("pager", "read");
    let insert = |from: i32, to: i32| {
        sqlx::query(
            "INSERT INTO articles (url, job_id, title, text, word_count, content_hash)
             SELECT 'https://bulk.example/' || n, gen_random_uuid(), 'Bulk ' || n, 'Text of article ' || n, 4, md5(n::text)
             FROM generate_series($1::int, $2::int) n",
        )
        .bind(from)
        .bind(to)
        .execute(&app.db)
    };
    insert(1, 450).await.unwrap();
    let api = app.spawn_api(&[]);

    let export = api.get("/v1/export?site=bulk.example", Some(&token)).await.text().await.unwrap();
    let urls: Vec<String> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["url"].as_str().unwrap().to_string())
        .collect();
    let unique: std::collections::BTreeSet<&String> = urls.iter().collect();
    assert_eq!((urls.len(), unique.len()), (450, 450), "every article once, over three pages of the export");

    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let (status, page) =
            json(api.get(&format!("/v1/articles?limit=100{after}"), Some(&token)).await).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["articles"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()));
        pages += 1;
        if pages == 2 {
            insert(451, 500).await.unwrap(); // stored while the client pages
        }
        match page["next_after"].as_i64() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order, none twice");
    assert_eq!(seen.len(), 500, "the 450 and, after them, the 50 stored meanwhile");
}
