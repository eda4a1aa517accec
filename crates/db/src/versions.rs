//! The reads of article history (`newspipe history`, `changes`, `export --versions`): an article's versions,
//! numbered from 1 in fetch-time order, with their text (the current one's is the article row's), and its
//! events (docs/history.md).

use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use newspipe_models::JobId;

use crate::read::filter_sql;
use crate::{ArticleFilter, Database, DbError, query};

/// One version of an article's content.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VersionRow {
    pub article_id: i64,
    /// 1 for the first content seen, then in fetch-time order.
    pub version: i64,
    pub version_hash: String,
    /// The first fetch that had this content.
    pub fetched_at: DateTime<Utc>,
    pub job_id: JobId,
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub word_count: i32,
    pub text: String,
    /// The article's content now (the article row's).
    pub current: bool,
}

/// What a fetch showed that is not a version: a check, a 304, a flip back, a take-down, a return.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct EventRow {
    /// `checked`, `not_modified`, `reverted`, `taken_down` or `restored`.
    pub kind: String,
    pub at: DateTime<Utc>,
    pub http_status: Option<i16>,
    /// For `reverted`: the version the page went back to.
    pub version_hash: Option<String>,
}

/// An article's whole history.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ArticleHistory {
    pub article_id: i64,
    pub url: String,
    pub taken_down_at: Option<DateTime<Utc>>,
    pub versions: Vec<VersionRow>,
    pub events: Vec<EventRow>,
}

/// One line of `export --versions`: a version of an article, with the article's identity and metadata.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct VersionRecord {
    pub url: String,
    pub article_id: i64,
    pub version: i64,
    pub version_fetched_at: DateTime<Utc>,
    pub version_hash: String,
    /// The article's content now.
    pub current: bool,
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub word_count: i32,
    pub text: String,
    pub canonical_url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub language: Option<String>,
    pub site_name: Option<String>,
    pub taken_down_at: Option<DateTime<Utc>>,
}

/// A version's number (from 1, by first fetch), its text (the article row's for the current one) and whether
/// it is current, over `article_versions v JOIN articles a`: the same in every read.
const NUMBER: &str = "row_number() OVER (PARTITION BY v.article_id ORDER BY v.fetched_at, v.version_hash)";
const TEXT: &str = "CASE WHEN v.version_hash = a.version_hash THEN a.text ELSE COALESCE(v.text, a.text) END";
const CURRENT: &str = "v.version_hash IS NOT DISTINCT FROM a.version_hash";

impl Database {
    /// The history of one article (by id): its versions, oldest first, and its events, in time order. An
    /// article stored before history existed, and not fetched since, has no version rows: its current
    /// content is shown as version 1.
    pub async fn article_history(&self, article_id: i64) -> Result<Option<ArticleHistory>, DbError> {
        let Some((url, taken_down_at)): Option<(String, Option<DateTime<Utc>>)> =
            sqlx::query_as("SELECT url, taken_down_at FROM articles WHERE id = $1")
                .bind(article_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(query("read an article for its history"))?
        else {
            return Ok(None);
        };
        let mut versions = self.versions_of(&[article_id]).await?;
        if versions.is_empty() {
            versions = self.unversioned(article_id).await?.into_iter().collect();
        }
        let events = sqlx::query_as(
            "SELECT kind, at, http_status, version_hash FROM article_events WHERE article_id = $1 ORDER BY at, kind",
        )
        .bind(article_id)
        .fetch_all(&self.pool)
        .await
        .map_err(query("read an article's events"))?;
        Ok(Some(ArticleHistory { article_id, url, taken_down_at, versions, events }))
    }

    /// The versions of these articles, by article (in the order given), each oldest first.
    pub async fn versions_of(&self, article_ids: &[i64]) -> Result<Vec<VersionRow>, DbError> {
        let sql = format!(
            "SELECT v.article_id, {NUMBER} AS version, v.version_hash, v.fetched_at, v.job_id, v.title, v.authors,
                 v.word_count, {TEXT} AS text, {CURRENT} AS current
             FROM article_versions v JOIN articles a ON a.id = v.article_id
             WHERE v.article_id = ANY($1)
             ORDER BY v.article_id, version"
        );
        let rows: Vec<VersionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(article_ids)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read article versions"))?;
        let mut by_article: std::collections::HashMap<i64, Vec<VersionRow>> =
            std::collections::HashMap::new();
        for row in rows {
            by_article.entry(row.article_id).or_default().push(row);
        }
        Ok(article_ids.iter().flat_map(|id| by_article.remove(id).unwrap_or_default()).collect())
    }

    /// An article without version rows, as its one version.
    async fn unversioned(&self, article_id: i64) -> Result<Option<VersionRow>, DbError> {
        sqlx::query_as(
            "SELECT id AS article_id, 1::int8 AS version, COALESCE(version_hash, content_hash) AS version_hash,
                 COALESCE(fetched_at, stored_at) AS fetched_at, job_id, title, authors, word_count, text,
                 true AS current
             FROM articles WHERE id = $1",
        )
        .bind(article_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(query("read an article as its one version"))
    }

    /// Articles that got a version after their first in `since..`, on `site` when given (a site name or
    /// host, as the export's filter): (id, url), most recently changed first.
    pub async fn articles_changed_since(
        &self,
        since: DateTime<Utc>,
        site: Option<&str>,
    ) -> Result<Vec<(i64, String)>, DbError> {
        let filter = filter_sql("c.changed");
        let sql = format!(
            "SELECT id, url FROM articles a JOIN (
                 SELECT article_id, max(fetched_at) AS changed FROM (
                     SELECT article_id, fetched_at,
                         row_number() OVER (PARTITION BY article_id ORDER BY fetched_at, version_hash) AS n
                     FROM article_versions
                     WHERE article_id IN (SELECT article_id FROM article_versions WHERE fetched_at >= $3)) v
                 WHERE n > 1 AND fetched_at >= $3 GROUP BY article_id) c ON c.article_id = a.id
             WHERE {filter}
             ORDER BY c.changed DESC, a.id"
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(site)
            .bind(None::<String>)
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(query("articles changed since"))
    }

    /// Every version of the matching articles (the export's filter; `since`: articles stored or updated
    /// since), by article then version, streamed.
    pub fn versions_matching<'a>(
        &'a self,
        filter: &'a ArticleFilter,
    ) -> impl Stream<Item = Result<VersionRecord, DbError>> + 'a {
        let sql = format!(
            "SELECT a.url, a.id AS article_id, {NUMBER} AS version, v.fetched_at AS version_fetched_at,
                 v.version_hash, {CURRENT} AS current, v.title, v.authors, v.word_count, {TEXT} AS text,
                 a.canonical_url, a.published_at, a.language, a.site_name, a.taken_down_at
             FROM articles a JOIN article_versions v ON v.article_id = a.id
             WHERE {filter}
             ORDER BY a.id, version",
            filter = filter_sql("a.updated_at")
        );
        sqlx::query_as::<_, VersionRecord>(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .fetch(&self.pool)
            .map(|row| row.map_err(query("read article versions")))
    }
}
