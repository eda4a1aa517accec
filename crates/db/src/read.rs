//! The command line's reads: outcomes (for `submit --wait`, `status`, `show`, `retry`), filtered exports,
//! one article and its history.

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use newspipe_models::{Article, JobId};

use crate::rows::{ARTICLE_COLUMNS, ArticleRow};
use crate::{Database, DbError, query};

/// The host of an article's URL, lower-cased, in SQL.
const HOST: &str = "lower(substring(url from '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)'))";

/// Which articles a search or an export covers. Every field is optional.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    /// A site: its name (`site_name`, any case) or its host (`example.com` also matches `www.example.com`).
    pub site: Option<String>,
    /// A language tag; matches by primary subtag (`en` matches `en-GB`).
    pub language: Option<String>,
    /// Export: stored or updated since. Search: published since (stored, when the date is unknown).
    pub since: Option<DateTime<Utc>>,
}

/// The filter's SQL conditions, with `$1` site, `$2` language; `since_column` compared with `$3`.
pub(crate) fn filter_sql(since_column: &str) -> String {
    format!(
        "($1::text IS NULL OR lower(site_name) = lower($1) OR {HOST} = lower($1) OR {HOST} LIKE '%.' || lower($1))
         AND ($2::text IS NULL OR newspipe_language(language) = newspipe_language($2))
         AND ($3::timestamptz IS NULL OR {since_column} >= $3)"
    )
}

/// Counts of outcomes by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct OutcomeCounts {
    pub stored: i64,
    pub skipped: i64,
    pub failed: i64,
    pub unchanged: i64,
}

impl OutcomeCounts {
    fn add(&mut self, outcome: &str, n: i64) {
        match outcome {
            "stored" => self.stored = n,
            "skipped" => self.skipped = n,
            "unchanged" => self.unchanged = n,
            _ => self.failed = n,
        }
    }
}

/// A recorded outcome, as `status`, `show` and `submit --wait` see it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OutcomeRow {
    pub job_id: JobId,
    pub url: String,
    pub outcome: String,
    pub reason: Option<String>,
    /// The reason's stable code (`http_404`, `not_html`...; see `newspipe_models::FailureReason`).
    pub reason_code: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// One outcome of a job tree (see [`Database::outcome_tree`]).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TreeOutcome {
    pub job_id: JobId,
    pub url: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub reason_code: Option<String>,
    /// For an expanded feed or sitemap: the jobs it queued.
    #[sqlx(try_from = "OptionalCount")]
    pub children: Option<u64>,
}

/// A count column that may be NULL, read as unsigned (negative counts are never written; read as 0).
#[derive(sqlx::Type)]
#[sqlx(transparent)]
struct OptionalCount(Option<i32>);

impl From<OptionalCount> for Option<u64> {
    fn from(count: OptionalCount) -> Self {
        count.0.map(|n| n.max(0) as u64)
    }
}

/// An article with its database identity, as `newspipe show` prints it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StoredArticle {
    pub id: i64,
    pub job_id: JobId,
    pub stored_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub article: Article,
}

#[derive(sqlx::FromRow)]
struct StoredArticleRow {
    id: i64,
    job_id: JobId,
    stored_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[sqlx(flatten)]
    article: ArticleRow,
}

/// An article in a listing: what a list shows, without the text.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ArticleSummary {
    pub id: i64,
    pub url: String,
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub site_name: Option<String>,
    pub language: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub word_count: i32,
    pub stored_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A URL whose latest outcome is `failed`.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct FailedUrl {
    pub url: String,
    pub reason: Option<String>,
    pub reason_code: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// Outcome counts over recent windows.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct RecentOutcomes {
    pub last_minute: OutcomeCounts,
    pub last_5_minutes: OutcomeCounts,
    pub last_hour: OutcomeCounts,
}

impl Database {
    pub async fn outcome_counts(&self) -> Result<OutcomeCounts, DbError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT outcome, count(*) FROM outcomes GROUP BY outcome")
                .fetch_all(&self.pool)
                .await
                .map_err(query("count outcomes"))?;
        let mut counts = OutcomeCounts::default();
        for (outcome, n) in rows {
            counts.add(&outcome, n);
        }
        Ok(counts)
    }

    /// The most frequent failure and skip reasons: (outcome, reason code, reason, count).
    pub async fn top_reasons(&self, limit: i64) -> Result<Vec<(String, String, String, i64)>, DbError> {
        sqlx::query_as(
            "SELECT outcome, coalesce(reason_code, ''), coalesce(reason, ''), count(*) AS n FROM outcomes
             WHERE outcome <> 'stored' GROUP BY 1, 2, 3 ORDER BY n DESC, 3 LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(query("top reasons"))
    }

    /// The outcomes recorded for these jobs so far.
    pub async fn outcomes_for(&self, job_ids: &[JobId]) -> Result<Vec<OutcomeRow>, DbError> {
        sqlx::query_as(
            "SELECT job_id, url, outcome, reason, reason_code, recorded_at FROM outcomes WHERE job_id = ANY($1)",
        )
        .bind(job_ids)
        .fetch_all(&self.pool)
        .await
        .map_err(query("outcomes for jobs"))
    }

    /// Every outcome recorded, in no order: what a test or a benchmark compares with what it submitted.
    pub async fn all_outcomes(&self) -> Result<Vec<OutcomeRow>, DbError> {
        sqlx::query_as("SELECT job_id, url, outcome, reason, reason_code, recorded_at FROM outcomes")
            .fetch_all(&self.pool)
            .await
            .map_err(query("all outcomes"))
    }

    /// How many outcomes are recorded.
    pub async fn outcome_count(&self) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT count(*) FROM outcomes")
            .fetch_one(&self.pool)
            .await
            .map_err(query("count all outcomes"))
    }

    /// The outcomes of these jobs and of every job discovered from them (feed items, sitemap entries...),
    /// with how many jobs each expanded one queued: what `submit --wait` waits for.
    pub async fn outcome_tree(&self, roots: &[JobId]) -> Result<Vec<TreeOutcome>, DbError> {
        sqlx::query_as(
            "WITH RECURSIVE tree AS (
                 SELECT job_id, url, outcome, reason, reason_code, children FROM outcomes WHERE job_id = ANY($1)
                 UNION
                 SELECT o.job_id, o.url, o.outcome, o.reason, o.reason_code, o.children
                 FROM outcomes o JOIN tree t ON o.parent_job_id = t.job_id)
             SELECT job_id, url, outcome, reason, reason_code, children FROM tree",
        )
        .bind(roots)
        .fetch_all(&self.pool)
        .await
        .map_err(query("outcome tree"))
    }

    pub async fn article_count(&self) -> Result<i64, DbError> {
        sqlx::query_scalar("SELECT count(*) FROM articles")
            .fetch_one(&self.pool)
            .await
            .map_err(query("count articles"))
    }

    /// Every stored article, oldest first, streamed from the database (never loaded whole).
    pub fn articles(&self) -> impl Stream<Item = Result<Article, DbError>> + '_ {
        sqlx::query_as::<_, ArticleRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY id"
        )))
        .fetch(&self.pool)
        .map(|row| row.map(Article::from).map_err(query("read articles")))
    }

    /// The article stored from `url`, if any.
    pub async fn article_by_url(&self, url: &str) -> Result<Option<Article>, DbError> {
        let row: Option<ArticleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ARTICLE_COLUMNS} FROM articles WHERE url = $1"
        )))
        .bind(url)
        .fetch_optional(&self.pool)
        .await
        .map_err(query("article by url"))?;
        Ok(row.map(Article::from))
    }

    /// How many articles an export with this filter writes (`since`: stored or updated since).
    pub async fn count_articles(&self, filter: &ArticleFilter) -> Result<i64, DbError> {
        let sql = format!("SELECT count(*) FROM articles WHERE {}", filter_sql("updated_at"));
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .fetch_one(&self.pool)
            .await
            .map_err(query("count articles"))
    }

    /// The articles an export writes, oldest first, streamed (never loaded whole).
    pub fn articles_matching<'a>(
        &'a self,
        filter: &'a ArticleFilter,
    ) -> impl Stream<Item = Result<Article, DbError>> + 'a {
        let sql =
            format!("SELECT {ARTICLE_COLUMNS} FROM articles WHERE {} ORDER BY id", filter_sql("updated_at"));
        sqlx::query_as::<_, ArticleRow>(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .fetch(&self.pool)
            .map(|row| row.map(Article::from).map_err(query("read articles")))
    }

    /// A page of the matching articles (`since`: stored or updated since; `until`: before), by id, after the
    /// article `after`: keyset paging, so that articles stored while a client pages through come at the end
    /// and none is skipped or repeated (an offset would shift under concurrent writes).
    pub async fn article_page(
        &self,
        filter: &ArticleFilter,
        until: Option<DateTime<Utc>>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ArticleSummary>, DbError> {
        let sql = format!(
            "SELECT id, url, title, authors, site_name, language, published_at, word_count, stored_at, updated_at
             FROM articles
             WHERE {} AND ($4::timestamptz IS NULL OR updated_at < $4) AND ($5::bigint IS NULL OR id > $5)
             ORDER BY id LIMIT $6",
            filter_sql("updated_at")
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .bind(until)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(query("list articles"))
    }

    /// A page of the matching articles in full (as [`Database::articles_matching`], `since`: stored or
    /// updated since), by id after `after`: what the API's export streams a page at a time, each page its
    /// own short statement (one statement streaming a whole archive to a slow client would outlive any
    /// statement time limit).
    pub async fn articles_after(
        &self,
        filter: &ArticleFilter,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Article)>, DbError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            #[sqlx(flatten)]
            article: ArticleRow,
        }
        let sql = format!(
            "SELECT id, {ARTICLE_COLUMNS} FROM articles WHERE {} AND id > $4 ORDER BY id LIMIT $5",
            filter_sql("updated_at")
        );
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read a page of articles"))?;
        Ok(rows.into_iter().map(|row| (row.id, Article::from(row.article))).collect())
    }

    /// The WARC files the matching articles were read from or archived into (`since`: fetched since), for
    /// `newspipe reextract`; oldest file first.
    pub async fn warc_files_of_articles(&self, filter: &ArticleFilter) -> Result<Vec<String>, DbError> {
        let sql = format!(
            "SELECT warc_file FROM articles WHERE warc_file IS NOT NULL AND {}
             GROUP BY warc_file ORDER BY min(fetched_at), warc_file",
            filter_sql("fetched_at")
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .fetch_all(&self.pool)
            .await
            .map_err(query("warc files of articles"))
    }

    /// An article by its URL (or canonical URL), its id, or the id of a job that stored it.
    pub async fn find_article(&self, key: &str) -> Result<Option<StoredArticle>, DbError> {
        let columns = format!("id, job_id, stored_at, updated_at, {ARTICLE_COLUMNS}");
        let row: Option<StoredArticleRow> = if let Ok(id) = key.parse::<i64>() {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {columns} FROM articles WHERE id = $1")))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
        } else if let Ok(job_id) = key.parse::<JobId>() {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {columns} FROM articles WHERE job_id = $1
                    OR id = (SELECT article_id FROM outcomes WHERE job_id = $1) LIMIT 1"
            )))
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
        } else {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {columns} FROM articles WHERE url = $1
                 UNION ALL (SELECT {columns} FROM articles WHERE canonical_url = $1 ORDER BY id LIMIT 1)
                 UNION ALL (SELECT {columns} FROM articles WHERE id = (SELECT article_id FROM outcomes
                     WHERE url = $1 AND article_id IS NOT NULL ORDER BY recorded_at DESC LIMIT 1))
                 LIMIT 1"
            )))
            .bind(key)
            .fetch_optional(&self.pool)
            .await
        }
        .map_err(query("find article"))?;
        Ok(row.map(|row| StoredArticle {
            id: row.id,
            job_id: row.job_id,
            stored_at: row.stored_at,
            updated_at: row.updated_at,
            article: row.article.into(),
        }))
    }

    /// Every outcome recorded for a URL (or for a job id, or for jobs that stored `article_id`), oldest first.
    pub async fn outcome_history(
        &self,
        url: &str,
        article_id: Option<i64>,
    ) -> Result<Vec<OutcomeRow>, DbError> {
        let job_id = url.parse::<JobId>().ok();
        sqlx::query_as(
            "SELECT job_id, url, outcome, reason, reason_code, recorded_at FROM outcomes
             WHERE url = $1 OR article_id = $2 OR job_id = $3 ORDER BY recorded_at, job_id",
        )
        .bind(url)
        .bind(article_id)
        .bind(job_id)
        .fetch_all(&self.pool)
        .await
        .map_err(query("outcome history"))
    }

    /// URLs whose latest outcome is `failed`, with a reason whose code or text starts with `reason`, in any case,
    /// a space matching a code's underscore (`http 5`, `http_5` and `timeout` all work) and recorded since
    /// `since`, when given. A URL stored or skipped after it failed is not listed.
    pub async fn failed_urls(
        &self,
        reason: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<FailedUrl>, DbError> {
        sqlx::query_as(
            "SELECT url, reason, reason_code, recorded_at FROM (
                 SELECT DISTINCT ON (url) url, outcome, reason, reason_code, recorded_at FROM outcomes
                 WHERE url IN (SELECT url FROM outcomes WHERE outcome = 'failed'
                     AND ($2::timestamptz IS NULL OR recorded_at >= $2))
                 ORDER BY url, recorded_at DESC, job_id DESC) latest
             WHERE outcome = 'failed'
               AND ($1::text IS NULL OR lower(coalesce(reason, '')) LIKE lower($1) || '%'
                    OR coalesce(reason_code, '') LIKE replace(lower($1), ' ', '\\_') || '%')
               AND ($2::timestamptz IS NULL OR recorded_at >= $2)
             ORDER BY recorded_at, url",
        )
        .bind(reason.map(escape_like))
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(query("failed urls"))
    }

    /// Outcome counts over the last minute, 5 minutes and hour.
    pub async fn recent_outcomes(&self) -> Result<RecentOutcomes, DbError> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT outcome,
                 count(*) FILTER (WHERE recorded_at > now() - interval '1 minute'),
                 count(*) FILTER (WHERE recorded_at > now() - interval '5 minutes'),
                 count(*)
             FROM outcomes WHERE recorded_at > now() - interval '1 hour' GROUP BY outcome",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query("recent outcomes"))?;
        let mut recent = RecentOutcomes::default();
        for (outcome, minute, five_minutes, hour) in rows {
            recent.last_minute.add(&outcome, minute);
            recent.last_5_minutes.add(&outcome, five_minutes);
            recent.last_hour.add(&outcome, hour);
        }
        Ok(recent)
    }

    /// The most frequent failure reasons (outcome `failed` only): (reason code, reason, count).
    pub async fn top_failure_reasons(&self, limit: i64) -> Result<Vec<(String, String, i64)>, DbError> {
        sqlx::query_as(
            "SELECT coalesce(reason_code, ''), coalesce(reason, ''), count(*) AS n FROM outcomes
             WHERE outcome = 'failed' GROUP BY 1, 2 ORDER BY n DESC, 2 LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(query("top failure reasons"))
    }
}

fn escape_like(value: &str) -> String {
    value.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
