//! Every query newspipe makes, in one place: the store writes through it and the command line reads.

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use futures_util::StreamExt;
use newspipe_models::{Article, JobId, Outcome, StoreRequest};
use serde::Deserialize;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// PostgreSQL URL; `DATABASE_URL` overrides it.
    pub url: String,
    /// Connections in the pool of each process.
    pub max_connections: u32,
    /// How long to wait for a free connection (or a connection to a database that is down) per try.
    pub acquire_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "postgres://127.0.0.1:5432/newspipe".into(),
            max_connections: 4,
            acquire_timeout_secs: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot reach the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query `{what}` failed: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl DbError {
    /// True when trying the same write again can succeed: the database is unreachable, or the transaction
    /// lost a deadlock or a serialization conflict (class 40) to a concurrent one.
    pub fn is_transient(&self) -> bool {
        self.is_unavailable()
            || matches!(self, DbError::Query { source: sqlx::Error::Database(e), .. }
                if e.code().is_some_and(|c| c.starts_with("40")))
    }

    /// True when the database itself is unreachable (retry later), false when the data was refused.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Connect { .. } => true,
            DbError::Migrate(sqlx::migrate::MigrateError::Execute(source)) => unavailable(source),
            DbError::Migrate(_) => false,
            DbError::Query { source, .. } => unavailable(source),
        }
    }
}

/// Errors that mean "the database is not there right now" (connection lost, shutting down, starting up).
fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exception; class 57P: operator intervention (shutdown, cannot connect now).
        sqlx::Error::Database(e) => e.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Query { what, source }
}

/// A handle on newspipe's database.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
}

/// Counts of outcomes by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutcomeCounts {
    pub stored: i64,
    pub skipped: i64,
    pub failed: i64,
    pub unchanged: i64,
}

/// A recorded outcome, as `status` and `submit --wait` see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutcomeRow {
    pub job_id: JobId,
    pub url: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// One outcome of a job tree (see [`Database::outcome_tree`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TreeOutcome {
    pub job_id: JobId,
    pub url: String,
    pub outcome: String,
    pub reason: Option<String>,
    /// For an expanded feed or sitemap: the jobs it queued.
    pub children: Option<u64>,
}

impl Database {
    /// Connects lazily: the pool opens connections when first used, so a database that is down at start is
    /// retried by the caller instead of failing the process.
    pub fn connect_lazy(settings: &DatabaseSettings) -> Result<Database, DbError> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
            .connect_lazy(&settings.url)
            .map_err(|source| DbError::Connect {
                url: newspipe_runtime::redact_url(&settings.url),
                source,
            })?;
        Ok(Database { pool })
    }

    /// Connects and checks that the database answers.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Database, DbError> {
        let database = Database::connect_lazy(settings)?;
        database.ping().await.map_err(|e| match e {
            DbError::Query { source, .. } => {
                DbError::Connect { url: newspipe_runtime::redact_url(&settings.url), source }
            }
            other => other,
        })?;
        Ok(database)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(query("ping"))?;
        Ok(())
    }

    /// Applies the migrations shipped in this crate. Safe with several stores starting at once: sqlx takes
    /// an advisory lock. A role that may not create in the schema (a worker's least-privilege role, see
    /// `migrations/*_worker_roles.sql`) applies nothing: it checks that the owner applied every migration,
    /// and says which are missing otherwise.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = sqlx::migrate!("./migrations");
        let may_create: bool = sqlx::query_scalar("SELECT has_schema_privilege(current_schema(), 'CREATE')")
            .fetch_one(&self.pool)
            .await
            .map_err(query("check the privilege to migrate"))?;
        if may_create {
            migrator.run(&self.pool).await?;
            return Ok(());
        }
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&self.pool)
            .await
            .map_err(query("read the database role"))?;
        let fix = "apply the migrations as the schema's owner (`newspipe migrate` with the owner's DATABASE_URL); \
                   deploy/postgres/worker-roles.sql grants the workers' roles what they need";
        let problem = match sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
        {
            Ok(applied) => {
                let missing: Vec<i64> = migrator
                    .iter()
                    .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
                    .map(|m| m.version)
                    .collect();
                if missing.is_empty() {
                    return Ok(());
                }
                format!("migrations {missing:?} are not applied")
            }
            Err(error) if unavailable(&error) => return Err(DbError::Migrate(error.into())),
            Err(error) => format!("it cannot read which migrations are applied ({error})"),
        };
        Err(DbError::Migrate(sqlx::migrate::MigrateError::Source(
            format!("the database role {role} may not change the schema and {problem}: {fix}").into(),
        )))
    }

    /// Records a job's outcome (and its article) in one transaction. Idempotent: recording the same request
    /// again leaves one article row and one outcome row.
    pub async fn record(&self, request: &StoreRequest) -> Result<Option<i64>, DbError> {
        Ok(self.record_batch(std::slice::from_ref(request)).await?.pop().flatten())
    }

    /// Records many jobs' outcomes (and articles) in one transaction, with one multi-row statement per
    /// table: what lets one store keep up with many extractors. Returns each request's article id, in order.
    /// The result is the same as recording the requests one by one in this order; idempotent like
    /// [`Database::record`]. Rows are written in key order, so two stores writing overlapping batches
    /// cannot deadlock.
    pub async fn record_batch(&self, requests: &[StoreRequest]) -> Result<Vec<Option<i64>>, DbError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await.map_err(query("begin"))?;
        let article_ids = upsert_articles(&mut tx, requests).await?;
        let ids: Vec<Option<i64>> = requests
            .iter()
            .map(|r| match &r.outcome {
                Outcome::Stored { article } => article_ids.get(clean(&article.url).as_ref()).copied(),
                _ => None,
            })
            .collect();
        upsert_outcomes(&mut tx, requests, &ids).await?;
        update_claims(&mut tx, requests).await?;
        tx.commit().await.map_err(query("commit"))?;
        Ok(ids)
    }

    /// Fills the search vector of up to `limit` articles that wait for it (stored or changed since they were
    /// last indexed); returns how many. Several stores can index at once: each takes rows no other holds.
    pub async fn index_for_search(&self, limit: i64) -> Result<u64, DbError> {
        let done = sqlx::query(
            "WITH batch AS (
                 SELECT id FROM articles WHERE search IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
             UPDATE articles a SET search = newspipe_search_vector(a.language, a.title, a.description, a.text)
             FROM batch WHERE a.id = batch.id",
        )
        .bind(limit)
        .execute(&self.pool)
        .await
        .map_err(query("index articles for search"))?;
        Ok(done.rows_affected())
    }

    /// Like [`Database::index_for_search`], one article at a time, for when a batch was refused: an article
    /// whose text PostgreSQL will not analyse gets an empty vector (it is then found by no search, and logged)
    /// instead of blocking the indexer. Returns how many were indexed and the ids that could not be.
    pub async fn index_for_search_one_by_one(
        &self,
        limit: i64,
    ) -> Result<(u64, Vec<(i64, String)>), DbError> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM articles WHERE search IS NULL ORDER BY id LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(query("articles waiting for the search index"))?;
        let (mut indexed, mut refused) = (0, Vec::new());
        for id in ids {
            let one = sqlx::query(
                "UPDATE articles SET search = newspipe_search_vector(language, title, description, text)
                 WHERE id = $1 AND search IS NULL",
            )
            .bind(id)
            .execute(&self.pool)
            .await;
            match one {
                Ok(done) => indexed += done.rows_affected(),
                Err(error) if unavailable(&error) => return Err(query("index an article for search")(error)),
                Err(error) => {
                    sqlx::query("UPDATE articles SET search = ''::tsvector WHERE id = $1 AND search IS NULL")
                        .bind(id)
                        .execute(&self.pool)
                        .await
                        .map_err(query("mark an article unindexable"))?;
                    refused.push((id, error.to_string()));
                }
            }
        }
        Ok((indexed, refused))
    }

    /// Articles stored but not yet in the search index.
    pub async fn search_backlog(&self) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT count(*) FROM articles WHERE search IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(query("count articles waiting for the search index"))
    }

    pub async fn outcome_counts(&self) -> Result<OutcomeCounts, DbError> {
        let rows = sqlx::query("SELECT outcome, count(*) FROM outcomes GROUP BY outcome")
            .fetch_all(&self.pool)
            .await
            .map_err(query("count outcomes"))?;
        let mut counts = OutcomeCounts::default();
        for row in rows {
            let n: i64 = row.get(1);
            match row.get::<String, _>(0).as_str() {
                "stored" => counts.stored = n,
                "skipped" => counts.skipped = n,
                "unchanged" => counts.unchanged = n,
                _ => counts.failed = n,
            }
        }
        Ok(counts)
    }

    /// The most frequent failure and skip reasons.
    pub async fn top_reasons(&self, limit: i64) -> Result<Vec<(String, String, i64)>, DbError> {
        let rows = sqlx::query(
            "SELECT outcome, coalesce(reason, ''), count(*) AS n FROM outcomes WHERE outcome <> 'stored'
             GROUP BY 1, 2 ORDER BY n DESC, 2 LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(query("top reasons"))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    /// The outcomes recorded for these jobs so far.
    pub async fn outcomes_for(&self, job_ids: &[JobId]) -> Result<Vec<OutcomeRow>, DbError> {
        let rows = sqlx::query(
            "SELECT job_id, url, outcome, reason, recorded_at FROM outcomes WHERE job_id = ANY($1)",
        )
        .bind(job_ids)
        .fetch_all(&self.pool)
        .await
        .map_err(query("outcomes for jobs"))?;
        Ok(rows.iter().map(outcome_row).collect())
    }

    /// The outcomes of these jobs and of every job discovered from them (feed items, sitemap entries...),
    /// with how many jobs each expanded one queued: what `submit --wait` waits for.
    pub async fn outcome_tree(&self, roots: &[JobId]) -> Result<Vec<TreeOutcome>, DbError> {
        let rows = sqlx::query(
            "WITH RECURSIVE tree AS (
                 SELECT job_id, url, outcome, reason, children FROM outcomes WHERE job_id = ANY($1)
                 UNION
                 SELECT o.job_id, o.url, o.outcome, o.reason, o.children
                 FROM outcomes o JOIN tree t ON o.parent_job_id = t.job_id)
             SELECT job_id, url, outcome, reason, children FROM tree",
        )
        .bind(roots)
        .fetch_all(&self.pool)
        .await
        .map_err(query("outcome tree"))?;
        Ok(rows
            .iter()
            .map(|row| TreeOutcome {
                job_id: row.get("job_id"),
                url: row.get("url"),
                outcome: row.get("outcome"),
                reason: row.get("reason"),
                children: row.get::<Option<i32>, _>("children").map(|n| n.max(0) as u64),
            })
            .collect())
    }

    pub async fn article_count(&self) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT count(*) FROM articles")
            .fetch_one(&self.pool)
            .await
            .map_err(query("count articles"))
    }

    /// Every stored article, oldest first, streamed from the database (never loaded whole).
    pub fn articles(&self) -> impl Stream<Item = Result<Article, DbError>> + '_ {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY id")))
            .fetch(&self.pool)
            .map(|row| row.map_err(query("read articles")).and_then(|row| article_from_row(&row)))
    }

    /// The article stored from `url`, if any.
    pub async fn article_by_url(&self, url: &str) -> Result<Option<Article>, DbError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE url = $1"
        )))
        .bind(url)
        .fetch_optional(&self.pool)
        .await
        .map_err(query("article by url"))?;
        row.as_ref().map(article_from_row).transpose()
    }
}

pub(crate) const ARTICLE_COLUMNS: &str = "url, canonical_url, title, authors, published_at, modified_at, language, site_name, \
     description, image, tags, section, text, markdown, word_count, content_hash, simhash, paywalled, fetched_at";

fn outcome_row(row: &sqlx::postgres::PgRow) -> OutcomeRow {
    OutcomeRow {
        job_id: row.get("job_id"),
        url: row.get("url"),
        outcome: row.get("outcome"),
        reason: row.get("reason"),
        recorded_at: row.get("recorded_at"),
    }
}

pub(crate) fn article_from_row(row: &sqlx::postgres::PgRow) -> Result<Article, DbError> {
    let get = |source| DbError::Query { what: "decode article", source };
    Ok(Article {
        url: row.try_get("url").map_err(get)?,
        canonical_url: row.try_get("canonical_url").map_err(get)?,
        title: row.try_get("title").map_err(get)?,
        authors: row.try_get("authors").map_err(get)?,
        published_at: row.try_get("published_at").map_err(get)?,
        modified_at: row.try_get("modified_at").map_err(get)?,
        language: row.try_get("language").map_err(get)?,
        site_name: row.try_get("site_name").map_err(get)?,
        description: row.try_get("description").map_err(get)?,
        image: row.try_get("image").map_err(get)?,
        tags: row.try_get("tags").map_err(get)?,
        section: row.try_get("section").map_err(get)?,
        text: row.try_get("text").map_err(get)?,
        markdown: row.try_get("markdown").map_err(get)?,
        word_count: row.try_get::<i32, _>("word_count").map_err(get)?.max(0) as u32,
        content_hash: row.try_get("content_hash").map_err(get)?,
        // Stored as the same 64 bits in a signed column.
        simhash: row.try_get::<Option<i64>, _>("simhash").map_err(get)?.map(|h| h as u64),
        paywalled: row.try_get("paywalled").map_err(get)?,
        fetched_at: row.try_get("fetched_at").map_err(get)?,
    })
}

/// Separates the names of a text array sent as one string (`authors`, `tags`): PostgreSQL arrays must be
/// rectangular, so a column of arrays cannot travel as an array of arrays. `clean` removes it from names.
const LIST_SEPARATOR: char = '\u{1f}';

fn joined(list: &[String]) -> String {
    let cleaned: Vec<String> = list.iter().map(|s| clean(s).replace(LIST_SEPARATOR, " ")).collect();
    cleaned.join(&LIST_SEPARATOR.to_string())
}

/// True when what was fetched at `incoming` may replace what was fetched at `stored` (a URL's article, or its
/// claim's validators): unless it was fetched before. The upserts apply the same rule in SQL, as
/// `newspipe_fetched_no_earlier` (migration `20261201000200`); an unknown fetch time (a producer outside
/// newspipe) falls back to the order of arrival.
fn supersedes(incoming: Option<DateTime<Utc>>, stored: Option<DateTime<Utc>>) -> bool {
    match (incoming, stored) {
        (Some(incoming), Some(stored)) => incoming >= stored,
        _ => true,
    }
}

/// Puts `value` under `key` unless the one already there was fetched later: what a batch writes for a URL
/// is what writing its requests one by one would leave.
fn keep_fetched_last<'a, V>(
    kept: &mut BTreeMap<Cow<'a, str>, V>,
    key: Cow<'a, str>,
    value: V,
    fetched: impl Fn(&V) -> Option<DateTime<Utc>>,
) {
    match kept.entry(key) {
        Entry::Occupied(mut slot) if supersedes(fetched(&value), fetched(slot.get())) => {
            slot.insert(value);
        }
        Entry::Occupied(_) => {}
        Entry::Vacant(slot) => {
            slot.insert(value);
        }
    }
}

/// When the page of a stored outcome was fetched.
fn fetched_at(request: &StoreRequest) -> Option<DateTime<Utc>> {
    match &request.outcome {
        Outcome::Stored { article } => article.fetched_at,
        _ => None,
    }
}

/// Inserts or updates the batch's articles, one row per URL; returns each URL's article id.
///
/// Which version of a URL's article is kept is decided by when its page was fetched, not by when the
/// request arrived: a page fetched earlier never replaces one fetched later (equal times replace, so a
/// re-extraction of the same fetch does). Requests reach the store in any order (a redelivery after a
/// crash, several extractors, several stores), so this is what makes the result the same whatever that
/// order; without fetch times, the later request wins, as it would one by one.
async fn upsert_articles(
    tx: &mut Transaction<'_, Postgres>,
    requests: &[StoreRequest],
) -> Result<HashMap<String, i64>, DbError> {
    let mut latest: BTreeMap<Cow<'_, str>, (JobId, &Article)> = BTreeMap::new();
    for request in requests {
        if let Outcome::Stored { article } = &request.outcome {
            keep_fetched_last(&mut latest, clean(&article.url), (request.job_id, article), |(_, a)| {
                a.fetched_at
            });
        }
    }
    if latest.is_empty() {
        return Ok(HashMap::new());
    }
    let n = latest.len();
    let mut url = Vec::with_capacity(n);
    let mut job_id = Vec::with_capacity(n);
    let mut canonical_url = Vec::with_capacity(n);
    let mut title = Vec::with_capacity(n);
    let mut authors = Vec::with_capacity(n);
    let mut published_at = Vec::with_capacity(n);
    let mut modified_at = Vec::with_capacity(n);
    let mut language = Vec::with_capacity(n);
    let mut site_name = Vec::with_capacity(n);
    let mut description = Vec::with_capacity(n);
    let mut image = Vec::with_capacity(n);
    let mut tags = Vec::with_capacity(n);
    let mut section = Vec::with_capacity(n);
    let mut text = Vec::with_capacity(n);
    let mut markdown = Vec::with_capacity(n);
    let mut word_count = Vec::with_capacity(n);
    let mut content_hash = Vec::with_capacity(n);
    let mut simhash = Vec::with_capacity(n);
    let mut paywalled = Vec::with_capacity(n);
    let mut fetched_at = Vec::with_capacity(n);
    for (key, (job, a)) in &latest {
        url.push(key.clone());
        job_id.push(*job);
        canonical_url.push(a.canonical_url.as_deref().map(clean));
        title.push(a.title.as_deref().map(clean));
        authors.push(joined(&a.authors));
        published_at.push(a.published_at);
        modified_at.push(a.modified_at);
        language.push(a.language.as_deref().map(clean));
        site_name.push(a.site_name.as_deref().map(clean));
        description.push(a.description.as_deref().map(clean));
        image.push(a.image.as_deref().map(clean));
        tags.push(joined(&a.tags));
        section.push(a.section.as_deref().map(clean));
        text.push(clean(&a.text));
        markdown.push(a.markdown.as_deref().map(clean));
        word_count.push(i32::try_from(a.word_count).unwrap_or(i32::MAX));
        content_hash.push(clean(&a.content_hash));
        // Stored as the same 64 bits in a signed column.
        simhash.push(a.simhash.map(|h| h as i64));
        paywalled.push(a.paywalled);
        fetched_at.push(a.fetched_at);
    }
    let rows = sqlx::query(
        "INSERT INTO articles (url, job_id, canonical_url, title, authors, published_at, modified_at, language,
             site_name, description, image, tags, section, text, markdown, word_count, content_hash, simhash,
             paywalled, fetched_at)
         SELECT u.url, u.job_id, u.canonical_url, u.title, string_to_array(u.authors, chr(31)), u.published_at,
             u.modified_at, u.language, u.site_name, u.description, u.image, string_to_array(u.tags, chr(31)),
             u.section, u.text, u.markdown, u.word_count, u.content_hash, u.simhash, u.paywalled, u.fetched_at
         FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
             $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
             $14::text[], $15::text[], $16::int4[], $17::text[], $18::int8[], $19::bool[], $20::timestamptz[])
             AS u(url, job_id, canonical_url, title, authors, published_at, modified_at, language, site_name,
                  description, image, tags, section, text, markdown, word_count, content_hash, simhash,
                  paywalled, fetched_at)
         ORDER BY u.url
         ON CONFLICT (url) DO UPDATE SET job_id = EXCLUDED.job_id, canonical_url = EXCLUDED.canonical_url,
             title = EXCLUDED.title, authors = EXCLUDED.authors, published_at = EXCLUDED.published_at,
             modified_at = EXCLUDED.modified_at, language = EXCLUDED.language, site_name = EXCLUDED.site_name,
             description = EXCLUDED.description, image = EXCLUDED.image, tags = EXCLUDED.tags,
             section = EXCLUDED.section, text = EXCLUDED.text, markdown = EXCLUDED.markdown,
             word_count = EXCLUDED.word_count, content_hash = EXCLUDED.content_hash, simhash = EXCLUDED.simhash,
             paywalled = EXCLUDED.paywalled, fetched_at = EXCLUDED.fetched_at, updated_at = now(),
             search = NULL
         WHERE newspipe_fetched_no_earlier(EXCLUDED.fetched_at, articles.fetched_at)
         RETURNING url, id",
    )
    .bind(url.as_slice())
    .bind(job_id)
    .bind(canonical_url)
    .bind(title)
    .bind(authors)
    .bind(published_at)
    .bind(modified_at)
    .bind(language)
    .bind(site_name)
    .bind(description)
    .bind(image)
    .bind(tags)
    .bind(section)
    .bind(text)
    .bind(markdown)
    .bind(word_count)
    .bind(content_hash)
    .bind(simhash)
    .bind(paywalled)
    .bind(fetched_at)
    .fetch_all(&mut **tx)
    .await
    .map_err(query("upsert articles"))?;
    let mut ids: HashMap<String, i64> =
        rows.iter().map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1))).collect();
    // A URL whose stored article was fetched later is not returned by the upsert: its outcome still points
    // at that article, which is what a reader of the URL gets.
    if ids.len() < n {
        let superseded: Vec<&str> =
            url.iter().map(|u| u.as_ref()).filter(|u| !ids.contains_key(*u)).collect();
        let rows = sqlx::query("SELECT url, id FROM articles WHERE url = ANY($1)")
            .bind(superseded)
            .fetch_all(&mut **tx)
            .await
            .map_err(query("read the ids of articles fetched later"))?;
        ids.extend(rows.iter().map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1))));
    }
    Ok(ids)
}

/// Inserts or replaces the batch's outcomes, one row per job (the last request wins).
async fn upsert_outcomes(
    tx: &mut Transaction<'_, Postgres>,
    requests: &[StoreRequest],
    article_ids: &[Option<i64>],
) -> Result<(), DbError> {
    let mut latest: BTreeMap<JobId, (&StoreRequest, Option<i64>)> = BTreeMap::new();
    for (request, article_id) in requests.iter().zip(article_ids) {
        latest.insert(request.job_id, (request, *article_id));
    }
    let n = latest.len();
    let (mut job_id, mut url, mut outcome, mut reason) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut article_id, mut parent_job_id, mut children) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for (job, (request, article)) in latest {
        job_id.push(job);
        url.push(clean(&request.url));
        outcome.push(request.outcome.kind().as_str());
        reason.push(request.outcome.reason().map(clean));
        article_id.push(article);
        parent_job_id.push(request.parent_job_id);
        children.push(request.children.map(|n| i32::try_from(n).unwrap_or(i32::MAX)));
    }
    sqlx::query(
        "INSERT INTO outcomes (job_id, url, outcome, reason, article_id, parent_job_id, children)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::uuid[], $7::int4[])
         ORDER BY 1
         ON CONFLICT (job_id) DO UPDATE SET url = EXCLUDED.url, outcome = EXCLUDED.outcome,
             reason = EXCLUDED.reason, article_id = EXCLUDED.article_id,
             parent_job_id = EXCLUDED.parent_job_id, children = EXCLUDED.children, recorded_at = now()",
    )
    .bind(job_id)
    .bind(url)
    .bind(outcome)
    .bind(reason)
    .bind(article_id)
    .bind(parent_job_id)
    .bind(children)
    .execute(&mut **tx)
    .await
    .map_err(query("upsert outcomes"))?;
    Ok(())
}

/// A stored page keeps its claim on the URL (with its validators, for a conditional refresh); a failed or
/// skipped job releases the claim it took, so the URL can be submitted again. A refresh's failure leaves
/// the stored article's claim alone. Releases go first: a release only removes its own job's in-flight
/// claim, so this order gives what one-by-one recording gives whatever the order within the batch. A claim
/// keeps the validators of the page fetched last, like the article (see [`upsert_articles`]).
async fn update_claims(tx: &mut Transaction<'_, Postgres>, requests: &[StoreRequest]) -> Result<(), DbError> {
    let mut released: Vec<(Cow<'_, str>, JobId)> = Vec::new();
    let mut kept: BTreeMap<Cow<'_, str>, &StoreRequest> = BTreeMap::new();
    for request in requests {
        match &request.outcome {
            Outcome::Stored { .. } => {
                keep_fetched_last(&mut kept, clean(&request.url), request, |r| fetched_at(r))
            }
            Outcome::Skipped { .. } | Outcome::Failed { .. } => {
                released.push((clean(&request.url), request.job_id))
            }
            Outcome::Unchanged => {}
        }
    }
    if !released.is_empty() {
        released.sort();
        let (urls, jobs): (Vec<Cow<'_, str>>, Vec<JobId>) = released.into_iter().unzip();
        sqlx::query(
            "DELETE FROM url_claims c USING UNNEST($1::text[], $2::uuid[]) AS r(url, job_id)
             WHERE c.url = r.url AND c.job_id = r.job_id AND c.state = 'in_flight'",
        )
        .bind(urls)
        .bind(jobs)
        .execute(&mut **tx)
        .await
        .map_err(query("release url claims"))?;
    }
    if !kept.is_empty() {
        let n = kept.len();
        let (mut urls, mut jobs, mut etags, mut last_modified) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut fetched = Vec::with_capacity(n);
        for (url, request) in kept {
            urls.push(url);
            jobs.push(request.job_id);
            etags.push(request.etag.as_deref().map(clean));
            last_modified.push(request.last_modified.as_deref().map(clean));
            fetched.push(fetched_at(request));
        }
        sqlx::query(
            "INSERT INTO url_claims (url, job_id, state, etag, last_modified, fetched_at)
             SELECT u.url, u.job_id, 'stored', u.etag, u.last_modified, u.fetched_at
             FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
                 AS u(url, job_id, etag, last_modified, fetched_at)
             ORDER BY u.url
             ON CONFLICT (url) DO UPDATE SET state = 'stored', job_id = EXCLUDED.job_id,
                 etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified, fetched_at = EXCLUDED.fetched_at
             WHERE url_claims.state <> 'stored'
                 OR newspipe_fetched_no_earlier(EXCLUDED.fetched_at, url_claims.fetched_at)",
        )
        .bind(urls)
        .bind(jobs)
        .bind(etags)
        .bind(last_modified)
        .bind(fetched)
        .execute(&mut **tx)
        .await
        .map_err(query("keep url claims"))?;
    }
    Ok(())
}

/// PostgreSQL text cannot hold NUL; a page that contains one must still be stored. Borrowed when there is
/// none (nearly always): an article's text and Markdown are bound as they came, not copied first.
fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "")) } else { Cow::Borrowed(s) }
}
