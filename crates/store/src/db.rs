//! Every query newspipe makes, in one place: the store writes through it and the command line reads.

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
    /// an advisory lock.
    pub async fn migrate(&self) -> Result<(), DbError> {
        sqlx::migrate!("./migrations").run(&self.pool).await?;
        Ok(())
    }

    /// Records a job's outcome (and its article) in one transaction. Idempotent: recording the same request
    /// again leaves one article row and one outcome row.
    pub async fn record(&self, request: &StoreRequest) -> Result<Option<i64>, DbError> {
        let mut tx = self.pool.begin().await.map_err(query("begin"))?;
        let article_id = match &request.outcome {
            Outcome::Stored { article } => Some(upsert_article(&mut tx, request.job_id, article).await?),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO outcomes (job_id, url, outcome, reason, article_id, parent_job_id, children)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (job_id) DO UPDATE SET url = EXCLUDED.url, outcome = EXCLUDED.outcome,
                 reason = EXCLUDED.reason, article_id = EXCLUDED.article_id,
                 parent_job_id = EXCLUDED.parent_job_id, children = EXCLUDED.children, recorded_at = now()",
        )
        .bind(request.job_id)
        .bind(clean(&request.url))
        .bind(request.outcome.kind().as_str())
        .bind(request.outcome.reason().map(clean))
        .bind(article_id)
        .bind(request.parent_job_id)
        .bind(request.children.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
        .execute(&mut *tx)
        .await
        .map_err(query("insert outcome"))?;
        update_claim(&mut tx, request).await?;
        tx.commit().await.map_err(query("commit"))?;
        Ok(article_id)
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

async fn upsert_article(
    tx: &mut Transaction<'_, Postgres>,
    job_id: JobId,
    a: &Article,
) -> Result<i64, DbError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO articles (url, job_id, canonical_url, title, authors, published_at, modified_at, language,
             site_name, description, image, tags, section, text, markdown, word_count, content_hash, simhash,
             paywalled, fetched_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
         ON CONFLICT (url) DO UPDATE SET job_id = EXCLUDED.job_id, canonical_url = EXCLUDED.canonical_url,
             title = EXCLUDED.title, authors = EXCLUDED.authors, published_at = EXCLUDED.published_at,
             modified_at = EXCLUDED.modified_at, language = EXCLUDED.language, site_name = EXCLUDED.site_name,
             description = EXCLUDED.description, image = EXCLUDED.image, tags = EXCLUDED.tags,
             section = EXCLUDED.section, text = EXCLUDED.text, markdown = EXCLUDED.markdown,
             word_count = EXCLUDED.word_count, content_hash = EXCLUDED.content_hash, simhash = EXCLUDED.simhash,
             paywalled = EXCLUDED.paywalled, fetched_at = EXCLUDED.fetched_at, updated_at = now()
         RETURNING id",
    )
    .bind(clean(&a.url))
    .bind(job_id)
    .bind(a.canonical_url.as_deref().map(clean))
    .bind(a.title.as_deref().map(clean))
    .bind(a.authors.iter().map(|s| clean(s)).collect::<Vec<_>>())
    .bind(a.published_at)
    .bind(a.modified_at)
    .bind(a.language.as_deref().map(clean))
    .bind(a.site_name.as_deref().map(clean))
    .bind(a.description.as_deref().map(clean))
    .bind(a.image.as_deref().map(clean))
    .bind(a.tags.iter().map(|s| clean(s)).collect::<Vec<_>>())
    .bind(a.section.as_deref().map(clean))
    .bind(clean(&a.text))
    .bind(a.markdown.as_deref().map(clean))
    .bind(i32::try_from(a.word_count).unwrap_or(i32::MAX))
    .bind(clean(&a.content_hash))
    .bind(a.simhash.map(|h| h as i64))
    .bind(a.paywalled)
    .bind(a.fetched_at)
    .fetch_one(&mut **tx)
    .await
    .map_err(query("upsert article"))?;
    Ok(id)
}

/// A stored page keeps its claim on the URL (with its validators, for a conditional refresh); a failed or
/// skipped job releases the claim it took, so the URL can be submitted again. A refresh's failure leaves
/// the stored article's claim alone.
async fn update_claim(tx: &mut Transaction<'_, Postgres>, request: &StoreRequest) -> Result<(), DbError> {
    match &request.outcome {
        Outcome::Stored { .. } => {
            sqlx::query(
                "INSERT INTO url_claims (url, job_id, state, etag, last_modified) VALUES ($1, $2, 'stored', $3, $4)
                 ON CONFLICT (url) DO UPDATE SET state = 'stored', job_id = EXCLUDED.job_id,
                     etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified",
            )
            .bind(clean(&request.url))
            .bind(request.job_id)
            .bind(request.etag.as_deref().map(clean))
            .bind(request.last_modified.as_deref().map(clean))
            .execute(&mut **tx)
            .await
            .map_err(query("keep url claim"))?;
        }
        Outcome::Skipped { .. } | Outcome::Failed { .. } => {
            sqlx::query("DELETE FROM url_claims WHERE url = $1 AND job_id = $2 AND state = 'in_flight'")
                .bind(clean(&request.url))
                .bind(request.job_id)
                .execute(&mut **tx)
                .await
                .map_err(query("release url claim"))?;
        }
        Outcome::Unchanged => {}
    }
    Ok(())
}

/// PostgreSQL text cannot hold NUL; a page that contains one must still be stored.
fn clean(s: &str) -> String {
    if s.contains('\0') { s.replace('\0', "") } else { s.to_string() }
}
