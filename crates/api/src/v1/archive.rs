//! The archive's reads: search, the article listing (keyset pages), one article, its history, and the
//! streamed export.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use newspipe_db::{ArticleSummary, EventRow, OutcomeRow, SearchHit, StoredArticle, VersionRow};
use serde::{Deserialize, Serialize};

use super::params::{Filters, Until, check_limit};
use crate::AppState;
use crate::auth::ReadAccess;
use crate::problem::Problem;

/// The matched words of a snippet are between these, as `newspipe search --json` prints them.
pub const HIGHLIGHT: (&str, &str) = ("[", "]");

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for, in web-search syntax: words are ANDed, "quoted phrases", `or`, -excluded words.
    #[param(min_length = 1, max_length = 500, pattern = "^[^\\u0000]*$")]
    pub q: String,
    /// At most this many results (1 to 100; 10 when not given).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub query: String,
    /// Best first, each with a snippet whose matched words are between `[` and `]`.
    pub results: Vec<SearchHit>,
}

/// Full-text search over the stored articles: the same ranking, filters and snippets as `newspipe search`.
#[utoipa::path(
    get, path = "/v1/search", tag = "archive",
    params(SearchQuery, Filters, Until),
    responses((status = 200, description = "The matching articles, best first", body = SearchResults)),
    security(("bearer" = []))
)]
pub async fn search(
    _access: ReadAccess,
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
    Query(filters): Query<Filters>,
    Query(until): Query<Until>,
) -> Result<Json<SearchResults>, Problem> {
    filters.check()?;
    let limit = check_limit(query.limit.unwrap_or(10))?;
    if query.q.is_empty() || query.q.chars().count() > 500 || query.q.contains('\0') {
        return Err(Problem::bad_request("`q` must be 1 to 500 characters, without NUL"));
    }
    let results = state.database.search(&query.q, &filters.filter(), until.until, limit, HIGHLIGHT).await?;
    Ok(Json(SearchResults { query: query.q, results }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Continue after this article id: the `next_after` of the previous page.
    #[param(minimum = 0, maximum = 9_007_199_254_740_991_i64)]
    // (JavaScript's largest safe integer: ids stay exact in every client.)
    pub after: Option<i64>,
    /// Articles per page (1 to 100; 20 when not given).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArticlePage {
    /// Oldest id first.
    pub articles: Vec<ArticleSummary>,
    /// Pass as `after` for the next page; `null` on the last page. Pages are keyed on the article id, so
    /// articles stored while a client pages through come at the end, and none is skipped or repeated.
    pub next_after: Option<i64>,
}

/// The stored articles, filtered, a page at a time (keyset paging: stable under concurrent writes).
#[utoipa::path(
    get, path = "/v1/articles", tag = "archive",
    params(PageQuery, Filters, Until),
    responses((status = 200, description = "A page of articles", body = ArticlePage)),
    security(("bearer" = []))
)]
pub async fn list(
    _access: ReadAccess,
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
    Query(filters): Query<Filters>,
    Query(until): Query<Until>,
) -> Result<Json<ArticlePage>, Problem> {
    filters.check()?;
    let limit = check_limit(page.limit.unwrap_or(20))?;
    if page.after.is_some_and(|after| !(0..=MAX_SAFE_INTEGER).contains(&after)) {
        return Err(Problem::bad_request("`after` must be an article id (from 0), as `next_after` gives"));
    }
    let articles = state.database.article_page(&filters.filter(), until.until, page.after, limit).await?;
    let next_after = (articles.len() as i64 == limit).then(|| articles.last().map(|a| a.id)).flatten();
    Ok(Json(ArticlePage { articles, next_after }))
}

/// An article id in a path: a positive integer.
fn article_id(text: &str) -> Result<i64, Problem> {
    match text.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Problem::bad_request(format!("`{text}` is not an article id (a positive integer)"))),
    }
}

/// One stored article: its text and metadata.
#[utoipa::path(
    get, path = "/v1/articles/{id}", tag = "archive", operation_id = "get_article",
    params(("id" = i64, Path, minimum = 1, description = "An article id")),
    responses(
        (status = 200, description = "The article", body = StoredArticle),
        (status = 404, description = "No article has this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn article(
    _access: ReadAccess,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<StoredArticle>, Problem> {
    let id = article_id(&id)?;
    let article = state.database.find_article(&id.to_string()).await?;
    article.map(Json).ok_or_else(|| Problem::not_found(format!("no article has id {id}")))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArticleHistory {
    pub article_id: i64,
    pub url: String,
    /// When the page answered 404 or 410 on a revisit, if it did.
    pub taken_down_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Every outcome recorded for the article's URL (or for the jobs that stored it), oldest first.
    pub outcomes: Vec<OutcomeRow>,
    /// Every version of its content, oldest first (one, for an article never seen to change).
    pub versions: Vec<VersionRow>,
    /// Edits, take-downs and returns seen on revisits.
    pub events: Vec<EventRow>,
}

/// An article's history: the outcomes of its URL, its versions and its events.
#[utoipa::path(
    get, path = "/v1/articles/{id}/history", tag = "archive", operation_id = "get_article_history",
    params(("id" = i64, Path, minimum = 1, description = "An article id")),
    responses(
        (status = 200, description = "The article's history", body = ArticleHistory),
        (status = 404, description = "No article has this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    _access: ReadAccess,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ArticleHistory>, Problem> {
    let id = article_id(&id)?;
    let history = read_history(&state, id).await?;
    history.map(Json).ok_or_else(|| Problem::not_found(format!("no article has id {id}")))
}

/// What the API's history and the web page's article page show.
pub async fn read_history(state: &AppState, id: i64) -> Result<Option<ArticleHistory>, Problem> {
    let Some(history) = state.database.article_history(id).await? else { return Ok(None) };
    let outcomes = state.database.outcome_history(&history.url, Some(id)).await?;
    Ok(Some(ArticleHistory {
        article_id: id,
        url: history.url,
        taken_down_at: history.taken_down_at,
        outcomes,
        versions: history.versions,
        events: history.events,
    }))
}

/// Articles read per statement: memory holds a page and the lines in flight, whatever the archive's size.
const EXPORT_PAGE: i64 = 200;
/// Lines queued ahead of a slow client; the database is read no faster than the client takes them.
const EXPORT_BUFFER: usize = 64;

/// The stored articles as JSON Lines (every field, one article a line, oldest first), streamed: memory stays
/// bounded whatever the archive's size, and a slow client slows the database reads, not the server's memory.
/// Read a page at a time by id, so articles stored during the export come at its end and none twice.
#[utoipa::path(
    get, path = "/v1/export", tag = "archive",
    params(Filters),
    responses((status = 200, description = "One JSON object (an article, every field) a line",
        content((String = "application/x-ndjson")))),
    security(("bearer" = []))
)]
pub async fn export(
    _access: ReadAccess,
    State(state): State<AppState>,
    Query(filters): Query<Filters>,
) -> Result<Response, Problem> {
    filters.check()?;
    let filter = filters.filter();
    // The first page before the answer: a database that is down is a 503, not an empty export.
    let first = state.database.articles_after(&filter, 0, EXPORT_PAGE).await?;
    let (lines, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(EXPORT_BUFFER);
    let database = state.database.clone();
    tokio::spawn(async move {
        let mut page = first;
        loop {
            let Some(last) = page.last().map(|(id, _)| *id) else { return };
            let full = page.len() as i64 == EXPORT_PAGE;
            for (_, article) in page {
                let mut line = serde_json::to_vec(&article).expect("an article serialises");
                line.push(b'\n');
                if lines.send(Ok(Bytes::from(line))).await.is_err() {
                    return; // The client went away.
                }
            }
            if !full {
                return;
            }
            page = match database.articles_after(&filter, last, EXPORT_PAGE).await {
                Ok(page) => page,
                Err(error) => {
                    // The status line is sent: the client sees the stream cut short.
                    tracing::warn!(error = %error, "export stopped on a database error");
                    let _ = lines
                        .send(Err(std::io::Error::other("the export stopped on a database error")))
                        .await;
                    return;
                }
            };
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(response)
}
