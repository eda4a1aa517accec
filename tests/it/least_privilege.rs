//! The workers' (and the API's) own database roles (deploy/postgres/worker-roles.sql, made by `deploy/services.sh`), against
//! the real PostgreSQL: each can do its work and nothing else.

use std::time::Duration;

use newspipe_db::{Database, DatabaseSettings};
use newspipe_fetcher::coordination::{Coordinator, PolitenessSettings};
use newspipe_models::{Article, Outcome, StoreRequest, new_job_id};
use sqlx::{Connection, PgConnection};

use crate::support::{TestApp, Worker, spawn_app};

/// The URL of a worker role (`STORE_DATABASE_URL` or `FETCHER_DATABASE_URL` of the services' env file),
/// pointed at this test's database.
fn role_url(app: &TestApp, key: &str) -> String {
    let url = newspipe_testkit::shared_setting(key).unwrap_or_else(|| {
        let dir = newspipe_testkit::services_dir();
        panic!("{key} is not in {}/env: run `deploy/services.sh start` to make the roles", dir.display())
    });
    let mut url = url::Url::parse(&url).unwrap();
    url.set_path(&format!("/{}", app.database_name));
    url.to_string()
}

async fn migrated_app() -> TestApp {
    let app = spawn_app().await;
    let owner = Database::connect(&DatabaseSettings {
        url: app.database_url.clone().into(),
        ..DatabaseSettings::default()
    })
    .await
    .unwrap();
    owner.migrate().await.expect("the owner applies the migrations");
    app
}

/// Runs `sql` as the role of `url` and returns the SQLSTATE it failed with (None if it succeeded).
async fn sqlstate(url: &str, sql: &str) -> Option<String> {
    let mut connection = PgConnection::connect(url).await.expect("connect as the worker role");
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut connection).await;
    let _ = connection.close().await;
    match result {
        Ok(_) => None,
        Err(sqlx::Error::Database(error)) => Some(error.code().unwrap_or_default().to_string()),
        Err(other) => panic!("{sql}: {other}"),
    }
}

/// 42501 insufficient_privilege (42501 is also what PostgreSQL answers to a DROP by a non-owner).
async fn refused(url: &str, sql: &str) {
    assert_eq!(sqlstate(url, sql).await.as_deref(), Some("42501"), "the role was allowed to run {sql}");
}

fn stored(url: &str) -> StoreRequest {
    let article = Article {
        url: url.to_string(),
        title: Some("A title".into()),
        text: "Some text of the article.".into(),
        word_count: 5,
        content_hash: "hash".into(),
        ..Article::default()
    };
    StoreRequest::new(new_job_id(), url, Outcome::Stored { article: Box::new(article) })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_role_records_articles_and_outcomes_and_can_neither_drop_delete_nor_touch_the_fetchers_tables()
 {
    let app = migrated_app().await;
    let url = role_url(&app, "STORE_DATABASE_URL");
    let store =
        Database::connect(&DatabaseSettings { url: url.clone().into(), ..DatabaseSettings::default() })
            .await
            .unwrap();
    store.migrate().await.expect("the store's start-up check passes: every migration is applied");

    let article = stored("https://example.com/news/1");
    let failed = StoreRequest::new(
        new_job_id(),
        "https://example.com/news/2",
        Outcome::Failed { reason: newspipe_models::FailureReason::Http { status: 404 } },
    );
    store.record(&article).await.expect("the store role records an article and its outcome");
    store.record(&article).await.expect("and records it again (a redelivery updates in place)");
    store.record(&failed).await.expect("the store role records a failure");
    let outcomes: i64 = sqlx::query_scalar("SELECT count(*) FROM outcomes").fetch_one(&app.db).await.unwrap();
    let articles: i64 = sqlx::query_scalar("SELECT count(*) FROM articles").fetch_one(&app.db).await.unwrap();
    assert_eq!((outcomes, articles), (2, 1));

    // History: an edit fetched later is a version; the same fetch extracted again replaces it (a delete);
    // a 410 for it is an event.
    let mut edit = stored("https://example.com/news/1");
    if let Outcome::Stored { article } = &mut edit.outcome {
        article.text = "Some text of the article, edited.".into();
        article.fetched_at = Some(chrono::Utc::now() + chrono::Duration::seconds(5));
    }
    store.record(&edit).await.expect("the store role records a new version");
    let mut reextracted = edit.clone();
    if let Outcome::Stored { article } = &mut reextracted.outcome {
        article.text = "Some text of the article, edited and extracted again.".into();
    }
    store.record(&reextracted).await.expect("the store role replaces the version a fetch made");
    let mut gone = StoreRequest::new(
        new_job_id(),
        "https://example.com/news/1",
        Outcome::Failed { reason: newspipe_models::FailureReason::Http { status: 410 } },
    );
    gone.fetched_at = Some(chrono::Utc::now() + chrono::Duration::seconds(10));
    store.record(&gone).await.expect("the store role records a take-down");
    let (versions, events, revisits): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM article_versions), (SELECT count(*) FROM article_events),
             (SELECT count(*) FROM revisits)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    // Events: the second record of the first request (no fetch time: a later sighting, a check) and the 410.
    assert_eq!((versions, events, revisits), (2, 2, 1));

    for sql in [
        "DROP TABLE articles",
        "DROP TABLE outcomes",
        "TRUNCATE outcomes",
        "DELETE FROM articles",
        "DELETE FROM outcomes",
        "ALTER TABLE articles ADD COLUMN x int",
        "CREATE TABLE intruder (x int)",
        "SELECT * FROM hosts",
        "INSERT INTO fetch_leases (job_id, host, expires_at) VALUES (gen_random_uuid(), 'h', now())",
        "UPDATE watches SET every_secs = 1",
        "DELETE FROM article_events",
        "UPDATE article_events SET http_status = 200",
        "UPDATE revisits SET due_at = now()",
        "DELETE FROM revisits",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (1, 'x', true, '', 0)",
    ] {
        refused(&url, sql).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fetcher_role_coordinates_through_its_tables_and_cannot_write_or_read_articles() {
    let app = migrated_app().await;
    let url = role_url(&app, "FETCHER_DATABASE_URL");
    let database =
        Database::connect(&DatabaseSettings { url: url.clone().into(), ..DatabaseSettings::default() })
            .await
            .unwrap();
    database.migrate().await.expect("the fetcher's start-up check passes");

    // The fetchers' real coordination code, as the fetcher role.
    let coordinator = Coordinator::new(database.clone(), PolitenessSettings::default());
    let job = new_job_id();
    coordinator.claim("https://example.com/a", job, false).await.expect("claim a URL");
    coordinator.take_turn("example.com", job, Duration::from_secs(30)).await.expect("take a turn on a host");
    coordinator.release(job).await.expect("release the lease");
    assert!(coordinator.claim_robots("example.com").await.expect("claim robots.txt"));
    coordinator.save_robots("example.com", b"User-agent: *", None).await.expect("save robots.txt");

    // The revisit scheduler's work, as the fetcher role, on a row the owner wrote as the store would.
    sqlx::raw_sql(
        "INSERT INTO articles (url, job_id, text, word_count, content_hash)
             VALUES ('https://example.com/a', gen_random_uuid(), 't', 1, 'h');
         INSERT INTO revisits (article_id, url, host, first_fetched_at)
             SELECT id, url, 'example.com', now() - interval '2 hours' FROM articles",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let mut scheduler = database.try_lead_watches().await.unwrap().expect("the scheduler's lock is free");
    let unplanned = scheduler.unplanned_revisits(10).await.expect("read unplanned revisits");
    assert_eq!(unplanned.len(), 1);
    let id = unplanned[0].article_id;
    scheduler.plan_revisits(&[(id, Some(chrono::Utc::now()))]).await.expect("plan a revisit");
    let due = scheduler.due_revisits(&[], 10, 10).await.expect("read due revisits");
    assert_eq!(due.len(), 1);
    scheduler.revisit_queued(id, 0, Some((1, chrono::Utc::now()))).await.expect("advance a revisit");
    scheduler.revisit_queued(id, 1, None).await.expect("remove a finished revisit");

    for sql in [
        "INSERT INTO articles (url, job_id, text, word_count, content_hash) \
         VALUES ('https://x', gen_random_uuid(), 't', 1, 'h')",
        "SELECT count(*) FROM articles",
        "INSERT INTO outcomes (job_id, url, outcome) VALUES (gen_random_uuid(), 'https://x', 'stored')",
        "UPDATE outcomes SET reason = 'x'",
        "SELECT count(*) FROM article_versions",
        "SELECT count(*) FROM article_events",
        "INSERT INTO revisits (article_id, url, host, first_fetched_at) VALUES (1, 'u', 'h', now())",
        "DELETE FROM url_claims",
        "DROP TABLE hosts",
        "TRUNCATE fetch_leases",
        "CREATE TABLE intruder (x int)",
    ] {
        refused(&url, sql).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_role_on_a_database_the_owner_has_not_migrated_says_so_instead_of_migrating() {
    let app = spawn_app().await; // not migrated
    let url = role_url(&app, "STORE_DATABASE_URL");
    let store = Database::connect(&DatabaseSettings { url: url.into(), ..DatabaseSettings::default() })
        .await
        .unwrap();
    let error = store.migrate().await.expect_err("the store role may not create the tables").to_string();
    assert!(error.contains("newspipe_store may not change the schema") && error.contains("owner"), "{error}");
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(tables, 0, "nothing was created");
}

/// The permission regex (configure, write and read alike) a worker's RabbitMQ user needs: every exchange and
/// queue of its prefix, which every worker declares at start, and nothing else (README, "Least privilege").
fn broker_permission(prefix: &str) -> String {
    format!(r"^{prefix}(\.(fetch|extract|store|warc|render|dead|delay(\.[0-9]+ms)?))?$")
}

/// RabbitMQ users made through the management API (as the services' administrator), deleted at the end.
struct BrokerUsers {
    client: reqwest::Client,
    api: String,
    admin: (String, String),
    names: Vec<String>,
}

impl BrokerUsers {
    fn new(app: &TestApp) -> BrokerUsers {
        let dir = std::env::var("NEWSPIPE_SERVICES_DIR").unwrap_or_else(|_| "/tmp/newspipe-services".into());
        let env = std::fs::read_to_string(format!("{dir}/env")).unwrap_or_default();
        let key = "NEWSPIPE__BROKER__MANAGEMENT_URL";
        let api = std::env::var(key)
            .ok()
            .or_else(|| env.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_string)))
            .unwrap_or_else(|| panic!("{key} is not in {dir}/env: run `deploy/services.sh start`"));
        let amqp = url::Url::parse(&app.amqp_url).unwrap();
        let admin = (amqp.username().to_string(), amqp.password().unwrap_or_default().to_string());
        BrokerUsers { client: reqwest::Client::new(), api: format!("{api}/api"), admin, names: Vec::new() }
    }

    /// A user with `permission` for configure, write and read on vhost `/`; returns its AMQP URL.
    async fn create(&mut self, app: &TestApp, name: &str, permission: &str) -> String {
        let password = uuid::Uuid::new_v4().simple().to_string();
        self.put(&format!("users/{name}"), serde_json::json!({ "password": password, "tags": "" })).await;
        self.names.push(name.to_string());
        let permissions =
            serde_json::json!({ "configure": permission, "write": permission, "read": permission });
        self.put(&format!("permissions/%2F/{name}"), permissions).await;
        let mut url = url::Url::parse(&app.amqp_url).unwrap();
        url.set_username(name).unwrap();
        url.set_password(Some(&password)).unwrap();
        url.to_string()
    }

    async fn put(&self, path: &str, body: serde_json::Value) {
        let response = self
            .client
            .put(format!("{}/{path}", self.api))
            .basic_auth(&self.admin.0, Some(&self.admin.1))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("reach the management API");
        assert!(response.status().is_success(), "PUT {path}: {}", response.status());
    }

    async fn delete_all(self) {
        for name in &self.names {
            let _ = self
                .client
                .delete(format!("{}/users/{name}", self.api))
                .basic_auth(&self.admin.0, Some(&self.admin.1))
                .send()
                .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_runs_with_each_worker_on_its_own_roles_and_a_worker_cannot_reach_another_prefix() {
    let mut app = migrated_app().await;
    let (store_db, fetcher_db) =
        (role_url(&app, "STORE_DATABASE_URL"), role_url(&app, "FETCHER_DATABASE_URL"));
    let mut users = BrokerUsers::new(&app);
    let permission = broker_permission(&app.prefix);
    let mut amqp = Vec::new();
    for kind in ["fetcher", "extractor", "store"] {
        amqp.push(users.create(&app, &format!("{}-{kind}", app.prefix), &permission).await);
    }
    app.start_worker_with(Worker::Fetcher, &[("AMQP_URL", &amqp[0]), ("DATABASE_URL", &fetcher_db)]);
    // Nothing listens on port 1: an extractor that tried to use a database would fail.
    app.start_worker_with(
        Worker::Extractor,
        &[("AMQP_URL", &amqp[1]), ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing")],
    );
    app.start_worker_with(Worker::Store, &[("AMQP_URL", &amqp[2]), ("DATABASE_URL", &store_db)]);
    let (article, missing) = (app.web.url("/articles/1"), app.web.url("/missing/2"));
    app.submit(&[article.clone(), missing.clone()]);
    app.wait_for_outcomes(2, Duration::from_secs(60)).await;
    let outcomes = app.outcomes().await;
    assert_eq!(outcomes[&article].0, "stored", "{outcomes:?}");
    assert_eq!(outcomes[&missing], ("failed".into(), Some("http 404".into())));

    // The same user cannot declare (nor so publish to or consume) another pipeline's queues.
    let connection =
        newspipe_broker::connect(&amqp[0].as_str().into(), "least privilege test").await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let other = newspipe_broker::Topology::new(&newspipe_broker::BrokerSettings {
        prefix: format!("{}x", app.prefix),
        ..app.broker_settings()
    });
    let error = other.declare(&channel).await.expect_err("another prefix is out of bounds").to_string();
    assert!(error.contains("ACCESS_REFUSED") || error.contains("403"), "{error}");
    users.delete_all().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_warc_reader_role_keeps_its_files_progress_and_can_touch_nothing_else() {
    let app = migrated_app().await;
    let url = role_url(&app, "WARC_READER_DATABASE_URL");
    let reader =
        Database::connect(&DatabaseSettings { url: url.clone().into(), ..DatabaseSettings::default() })
            .await
            .unwrap();
    reader.migrate().await.expect("the reader's start-up check passes");
    // The reader's real progress code, as its role: a file no `submit` queued gets its row, then checkpoints.
    let job = newspipe_models::WarcJob::new("/data/x.warc.gz");
    let mut progress = reader.start_warc_file(job.job_id, &job.source).await.expect("start a file");
    progress.records_read = 10;
    progress.resume_offset = Some(1234);
    reader.checkpoint_warc_file(job.job_id, &progress).await.expect("checkpoint it");
    assert_eq!(reader.start_warc_file(job.job_id, &job.source).await.unwrap().resume_offset, Some(1234));
    reader.finish_warc_file(job.job_id, &progress).await.expect("end it");

    for sql in [
        "SELECT count(*) FROM articles",
        "INSERT INTO outcomes (job_id, url, outcome) VALUES (gen_random_uuid(), 'https://x', 'stored')",
        "DELETE FROM warc_files",
        "TRUNCATE warc_files",
        "SELECT * FROM hosts",
        "DROP TABLE warc_files",
        "CREATE TABLE intruder (x int)",
    ] {
        refused(&url, sql).await;
    }
}

/// The API's role (`API_DATABASE_URL`): `newspipe serve` on it searches, reads and queues WARC files; it
/// cannot write the archive, the tokens or anything else.
#[tokio::test(flavor = "multi_thread")]
async fn the_api_role_reads_the_archive_and_queues_warc_files_and_can_write_nothing_else() {
    let mut app = migrated_app().await;
    app.start_pipeline();
    app.submit(&[app.web.url("/articles/1")]);
    app.wait_for_outcomes(1, Duration::from_secs(60)).await;
    let token = app.token("least-privilege", "submit");
    let url = role_url(&app, "API_DATABASE_URL");
    let api = app.spawn_api(&[("DATABASE_URL", &url)]);
    let (status, found) =
        crate::support::api::json(api.get("/v1/search?q=council", Some(&token)).await).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["results"].as_array().unwrap().len(), 1, "{found}");
    let (status, _) = crate::support::api::json(api.get("/v1/status", Some(&token)).await).await;
    assert_eq!(status, 200);
    let warc = serde_json::json!({ "urls": ["https://data.example/CC-NEWS-20240101000000-00001.warc.gz"], "kind": "warc" });
    let (status, queued) =
        crate::support::api::json(api.post_json("/v1/jobs", Some(&token), &warc).await).await;
    assert_eq!(status, 202, "{queued}");

    for sql in [
        "UPDATE articles SET title = 'x'",
        "DELETE FROM articles",
        "INSERT INTO outcomes (job_id, url, outcome) VALUES (gen_random_uuid(), 'https://x', 'stored')",
        "INSERT INTO api_tokens (name, scope, prefix, digest) VALUES ('x', 'admin', 'x', sha256('x'))",
        "UPDATE api_tokens SET revoked_at = NULL",
        "DELETE FROM warc_files",
        "SELECT * FROM hosts",
        "SELECT * FROM url_claims",
        "DROP TABLE articles",
        "CREATE TABLE intruder (x int)",
    ] {
        refused(&url, sql).await;
    }
}
