//! The command line's read queries: search, filtered export, one article and its history, failed URLs to
//! retry, recent outcome counts. (The store's writes and the older reads are in [`crate::db`].)

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use newspipe_models::{Article, JobId};
use sqlx::Row;

use crate::db::{ARTICLE_COLUMNS, article_from_row};
use crate::{Database, DbError, OutcomeCounts};

fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Query { what, source }
}

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
fn filter_sql(since_column: &str) -> String {
    format!(
        "($1::text IS NULL OR lower(site_name) = lower($1) OR {HOST} = lower($1) OR {HOST} LIKE '%.' || lower($1))
         AND ($2::text IS NULL OR newspipe_language(language) = newspipe_language($2))
         AND ($3::timestamptz IS NULL OR {since_column} >= $3)"
    )
}

/// One search result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchHit {
    pub id: i64,
    pub url: String,
    pub title: Option<String>,
    pub site_name: Option<String>,
    pub language: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub rank: f32,
    /// Passages with the matched words between `[` and `]` (or the markers given).
    pub snippet: String,
}

/// An article with its database identity, as `newspipe show` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredArticle {
    pub id: i64,
    pub job_id: JobId,
    pub stored_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub article: Article,
}

/// A URL whose latest outcome is `failed`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedUrl {
    pub url: String,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// Outcome counts over recent windows.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RecentOutcomes {
    pub last_minute: OutcomeCounts,
    pub last_5_minutes: OutcomeCounts,
    pub last_hour: OutcomeCounts,
}

impl Database {
    /// Full-text search, best first, with highlighted snippets. `highlight` is (start, stop) markers.
    pub async fn search(
        &self,
        text: &str,
        filter: &ArticleFilter,
        limit: i64,
        highlight: (&str, &str),
    ) -> Result<Vec<SearchHit>, DbError> {
        // Ranking and filtering first, on the index; snippets (costly) only for the rows kept.
        let sql = format!(
            "WITH q AS (SELECT newspipe_tsquery($4, $2) AS query),
             candidates AS (
                 SELECT a.id, ts_rank_cd(a.search, q.query) AS rank
                 FROM articles a, q
                 WHERE a.search @@ q.query AND {filter}
                 UNION ALL
                 -- Stored moments ago and not indexed yet: analysed here (few rows, on a partial index).
                 SELECT a.id, ts_rank_cd(v.search, q.query)
                 FROM articles a, q,
                     LATERAL (SELECT newspipe_search_vector(a.language, a.title, a.description, a.text) AS search) v
                 WHERE a.search IS NULL AND v.search @@ q.query AND {filter}),
             hits AS (
                 SELECT c.id, c.rank FROM candidates c JOIN articles a USING (id)
                 ORDER BY c.rank DESC, a.published_at DESC NULLS LAST, a.id DESC
                 LIMIT $5)
             SELECT a.id, a.url, a.title, a.site_name, a.language, a.published_at, hits.rank,
                 ts_headline(newspipe_regconfig(a.language), left(a.text, 200000),
                     websearch_to_tsquery(newspipe_regconfig(a.language), $4),
                     'MaxFragments=2, MaxWords=24, MinWords=10, FragmentDelimiter=\" … \", StartSel=' || $6
                     || ', StopSel=' || $7) AS snippet
             FROM hits JOIN articles a USING (id)
             ORDER BY hits.rank DESC, a.published_at DESC NULLS LAST, a.id DESC",
            filter = filter_sql("coalesce(a.published_at, a.stored_at)")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .bind(text)
            .bind(limit)
            .bind(quote_option(highlight.0))
            .bind(quote_option(highlight.1))
            .fetch_all(self.pool())
            .await
            .map_err(query("search articles"))?;
        Ok(rows
            .iter()
            .map(|r| SearchHit {
                id: r.get("id"),
                url: r.get("url"),
                title: r.get("title"),
                site_name: r.get("site_name"),
                language: r.get("language"),
                published_at: r.get("published_at"),
                rank: r.get("rank"),
                snippet: r.get("snippet"),
            })
            .collect())
    }

    /// How many articles an export with this filter writes (`since`: stored or updated since).
    pub async fn count_articles(&self, filter: &ArticleFilter) -> Result<i64, DbError> {
        let sql = format!("SELECT count(*) FROM articles WHERE {}", filter_sql("updated_at"));
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .fetch_one(self.pool())
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
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .fetch(self.pool())
            .map(|row| row.map_err(query("read articles")).and_then(|row| article_from_row(&row)))
    }

    /// An article by its URL (or canonical URL), its id, or the id of a job that stored it.
    pub async fn find_article(&self, key: &str) -> Result<Option<StoredArticle>, DbError> {
        let columns = format!("id, job_id, stored_at, updated_at, {ARTICLE_COLUMNS}");
        let row = if let Ok(id) = key.parse::<i64>() {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {columns} FROM articles WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await
        } else if let Ok(job_id) = key.parse::<JobId>() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {columns} FROM articles WHERE job_id = $1
                    OR id = (SELECT article_id FROM outcomes WHERE job_id = $1) LIMIT 1"
            )))
            .bind(job_id)
            .fetch_optional(self.pool())
            .await
        } else {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {columns} FROM articles WHERE url = $1
                 UNION ALL (SELECT {columns} FROM articles WHERE canonical_url = $1 ORDER BY id LIMIT 1)
                 UNION ALL (SELECT {columns} FROM articles WHERE id = (SELECT article_id FROM outcomes
                     WHERE url = $1 AND article_id IS NOT NULL ORDER BY recorded_at DESC LIMIT 1))
                 LIMIT 1"
            )))
            .bind(key)
            .fetch_optional(self.pool())
            .await
        }
        .map_err(query("find article"))?;
        row.map(|row| {
            let get = |source| DbError::Query { what: "decode article", source };
            Ok(StoredArticle {
                id: row.try_get("id").map_err(get)?,
                job_id: row.try_get("job_id").map_err(get)?,
                stored_at: row.try_get("stored_at").map_err(get)?,
                updated_at: row.try_get("updated_at").map_err(get)?,
                article: article_from_row(&row)?,
            })
        })
        .transpose()
    }

    /// Every outcome recorded for a URL (or for a job id, or for jobs that stored `article_id`), oldest first.
    pub async fn outcome_history(
        &self,
        url: &str,
        article_id: Option<i64>,
    ) -> Result<Vec<crate::OutcomeRow>, DbError> {
        let job_id = url.parse::<JobId>().ok();
        let rows = sqlx::query(
            "SELECT job_id, url, outcome, reason, recorded_at FROM outcomes
             WHERE url = $1 OR article_id = $2 OR job_id = $3 ORDER BY recorded_at, job_id",
        )
        .bind(url)
        .bind(article_id)
        .bind(job_id)
        .fetch_all(self.pool())
        .await
        .map_err(query("outcome history"))?;
        Ok(rows
            .iter()
            .map(|row| crate::OutcomeRow {
                job_id: row.get("job_id"),
                url: row.get("url"),
                outcome: row.get("outcome"),
                reason: row.get("reason"),
                recorded_at: row.get("recorded_at"),
            })
            .collect())
    }

    /// URLs whose latest outcome is `failed`, with a reason starting with `reason` (any case) and recorded
    /// since `since`, when given. A URL stored or skipped after it failed is not listed.
    pub async fn failed_urls(
        &self,
        reason: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<FailedUrl>, DbError> {
        let rows = sqlx::query(
            "SELECT url, reason, recorded_at FROM (
                 SELECT DISTINCT ON (url) url, outcome, reason, recorded_at FROM outcomes
                 WHERE url IN (SELECT url FROM outcomes WHERE outcome = 'failed'
                     AND ($2::timestamptz IS NULL OR recorded_at >= $2))
                 ORDER BY url, recorded_at DESC, job_id DESC) latest
             WHERE outcome = 'failed'
               AND ($1::text IS NULL OR lower(coalesce(reason, '')) LIKE lower($1) || '%')
               AND ($2::timestamptz IS NULL OR recorded_at >= $2)
             ORDER BY recorded_at, url",
        )
        .bind(reason.map(escape_like))
        .bind(since)
        .fetch_all(self.pool())
        .await
        .map_err(query("failed urls"))?;
        Ok(rows
            .iter()
            .map(|r| FailedUrl {
                url: r.get("url"),
                reason: r.get("reason"),
                recorded_at: r.get("recorded_at"),
            })
            .collect())
    }

    /// Outcome counts over the last minute, 5 minutes and hour.
    pub async fn recent_outcomes(&self) -> Result<RecentOutcomes, DbError> {
        let rows = sqlx::query(
            "SELECT outcome,
                 count(*) FILTER (WHERE recorded_at > now() - interval '1 minute'),
                 count(*) FILTER (WHERE recorded_at > now() - interval '5 minutes'),
                 count(*)
             FROM outcomes WHERE recorded_at > now() - interval '1 hour' GROUP BY outcome",
        )
        .fetch_all(self.pool())
        .await
        .map_err(query("recent outcomes"))?;
        let mut recent = RecentOutcomes::default();
        for row in rows {
            let outcome: String = row.get(0);
            for (i, counts) in [&mut recent.last_minute, &mut recent.last_5_minutes, &mut recent.last_hour]
                .into_iter()
                .enumerate()
            {
                let n: i64 = row.get(i + 1);
                match outcome.as_str() {
                    "stored" => counts.stored = n,
                    "skipped" => counts.skipped = n,
                    "unchanged" => counts.unchanged = n,
                    _ => counts.failed = n,
                }
            }
        }
        Ok(recent)
    }

    /// The most frequent failure reasons (outcome `failed` only), with counts.
    pub async fn top_failure_reasons(&self, limit: i64) -> Result<Vec<(String, i64)>, DbError> {
        let rows = sqlx::query(
            "SELECT coalesce(reason, ''), count(*) AS n FROM outcomes WHERE outcome = 'failed'
             GROUP BY 1 ORDER BY n DESC, 1 LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(query("top failure reasons"))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// `ts_headline` options are `key=value` pairs: a marker with a comma or a space must be double-quoted.
fn quote_option(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

fn escape_like(value: &str) -> String {
    value.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
