//! Full-text search: vectors made by `newspipe_search` (written with each article, or by the store's
//! indexer for articles stored before, see docs/decisions/0009-search-vectors-made-by-newspipe.md) and the
//! search the command line and the API run.

use chrono::{DateTime, Utc};

use sqlx::Row;

use crate::read::{ArticleFilter, filter_sql};
use crate::{Database, DbError, query, unavailable};

/// The columns [`vector_of`] reads, in its order, of the articles waiting for a vector, oldest first.
const WAITING: &str =
    "SELECT id, language, title, description, text FROM articles WHERE search IS NULL ORDER BY id";

/// One search result.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
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

impl Database {
    /// Fills the search vector of up to `limit` articles that wait for it (written before vectors were made
    /// by newspipe, see decision 0009); returns how many. Several stores can index at once: each takes rows
    /// no other holds.
    pub async fn index_for_search(&self, limit: i64) -> Result<u64, DbError> {
        let mut tx = self.pool.begin().await.map_err(query("begin indexing articles for search"))?;
        let waiting = sqlx::query(sqlx::AssertSqlSafe(format!("{WAITING} LIMIT $1 FOR UPDATE SKIP LOCKED")))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(query("take articles waiting for the search index"))?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let (ids, vectors): (Vec<i64>, Vec<String>) =
            waiting.iter().map(|row| (row.get::<i64, _>(0), vector_of(row))).unzip();
        let done = sqlx::query(
            "UPDATE articles a SET search = v.search::tsvector FROM UNNEST($1::int8[], $2::text[]) AS v(id, search)
             WHERE a.id = v.id",
        )
        .bind(&ids)
        .bind(&vectors)
        .execute(&mut *tx)
        .await
        .map_err(query("index articles for search"))?;
        tx.commit().await.map_err(query("commit the search index"))?;
        Ok(done.rows_affected())
    }

    /// Like [`Database::index_for_search`], one article at a time, for when a batch was refused: an article
    /// whose vector PostgreSQL will not take gets an empty one (it is then found by no search, and logged)
    /// instead of blocking the indexer. Returns how many were indexed and the ids that could not be.
    pub async fn index_for_search_one_by_one(
        &self,
        limit: i64,
    ) -> Result<(u64, Vec<(i64, String)>), DbError> {
        let waiting = sqlx::query(sqlx::AssertSqlSafe(format!("{WAITING} LIMIT $1")))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(query("articles waiting for the search index"))?;
        let (mut indexed, mut refused) = (0, Vec::new());
        for row in &waiting {
            let id: i64 = row.get(0);
            let one =
                sqlx::query("UPDATE articles SET search = $2::tsvector WHERE id = $1 AND search IS NULL")
                    .bind(id)
                    .bind(vector_of(row))
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

    /// Full-text search, best first, with highlighted snippets. `highlight` is (start, stop) markers; `until`:
    /// published (or, undated, stored) before it.
    pub async fn search(
        &self,
        text: &str,
        filter: &ArticleFilter,
        until: Option<DateTime<Utc>>,
        limit: i64,
        highlight: (&str, &str),
    ) -> Result<Vec<SearchHit>, DbError> {
        // Ranking and filtering first, on the index; snippets (costly) only for the rows kept.
        let sql = format!(
            "WITH q AS (SELECT $9::tsquery AS query),
             -- Articles waiting for their vector (written before newspipe made them) are analysed here with
             -- PostgreSQL's own analysis, the query too, so that the two match.
             pg AS (SELECT newspipe_tsquery($4, $2) AS query),
             candidates AS (
                 SELECT a.id, ts_rank_cd(a.search, q.query) AS rank
                 FROM articles a, q
                 WHERE a.search @@ q.query AND {filter} AND {until}
                 UNION ALL
                 SELECT a.id, ts_rank_cd(v.search, q.query)
                 FROM articles a, pg q,
                     LATERAL (SELECT newspipe_search_vector(a.language, a.title, a.description, a.text) AS search) v
                 WHERE a.search IS NULL AND v.search @@ q.query AND {filter} AND {until}),
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
            filter = filter_sql("coalesce(a.published_at, a.stored_at)"),
            until = "($8::timestamptz IS NULL OR coalesce(a.published_at, a.stored_at) < $8)"
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&filter.site)
            .bind(&filter.language)
            .bind(filter.since)
            .bind(text)
            .bind(limit)
            .bind(quote_option(highlight.0))
            .bind(quote_option(highlight.1))
            .bind(until)
            .bind(newspipe_search::search_query(text, filter.language.as_deref()))
            .fetch_all(&self.pool)
            .await
            .map_err(query("search articles"))
    }
}

/// The vector of a row of [`WAITING`].
fn vector_of(row: &sqlx::postgres::PgRow) -> String {
    let language: Option<String> = row.get(1);
    let title: Option<String> = row.get(2);
    let description: Option<String> = row.get(3);
    let text: String = row.get(4);
    newspipe_search::article_vector(language.as_deref(), title.as_deref(), description.as_deref(), &text)
}

/// `ts_headline` options are `key=value` pairs: a marker with a comma or a space must be double-quoted.
fn quote_option(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}
