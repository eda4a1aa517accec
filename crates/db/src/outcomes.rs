//! The store's writes: a batch of outcomes, with their articles, in one transaction, idempotently.
//!
//! Which version of a URL's article is kept is decided by when its page was fetched, not by when its request
//! arrived: the fetched-last rule (docs/decisions/0004-fetched-last-rule.md), applied here to a batch
//! ([`keep_fetched_last`]) and in SQL across batches (`newspipe_fetched_no_earlier`).

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use newspipe_models::{FailureReason, JobId, Outcome, StoreRequest, version};
use sqlx::{Postgres, Row, Transaction};

use crate::claims::update_claims;
use crate::history::{self, ArticleWrite, EventKind, Observation, Plan, StoredArticle};
use crate::{Database, DbError, query};

/// What recording a batch wrote: each request's article id, in order, and what history made of it.
#[derive(Debug, Default)]
pub struct Recorded {
    pub article_ids: Vec<Option<i64>>,
    pub history: HistoryCounts,
}

/// What a batch added to articles' histories.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCounts {
    /// New versions of articles stored before (edits).
    pub versions_created: usize,
    /// Fetches of a stored article that found it unchanged (a check or a 304).
    pub checks: usize,
    /// Fetches that found a page back in an earlier version.
    pub reverts: usize,
    pub take_downs: usize,
}

impl Database {
    /// Records a job's outcome (and its article) in one transaction. Idempotent: recording the same request
    /// again leaves one article row and one outcome row.
    pub async fn record(&self, request: &StoreRequest) -> Result<Option<i64>, DbError> {
        Ok(self.record_batch(std::slice::from_ref(request)).await?.article_ids.pop().flatten())
    }

    /// Records many jobs' outcomes (and articles) in one transaction, with one multi-row statement per
    /// table: what lets one store keep up with many extractors. Returns each request's article id, in order.
    /// The result is the same as recording the requests one by one in this order; idempotent like
    /// [`Database::record`]. Rows are written in key order, so two stores writing overlapping batches
    /// cannot deadlock.
    pub async fn record_batch(&self, requests: &[StoreRequest]) -> Result<Recorded, DbError> {
        if requests.is_empty() {
            return Ok(Recorded::default());
        }
        let mut tx = self.pool.begin().await.map_err(query("begin"))?;
        let (article_ids, history) = write_articles(&mut tx, requests).await?;
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
        Ok(Recorded { article_ids: ids, history })
    }
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
pub(crate) fn supersedes(incoming: Option<DateTime<Utc>>, stored: Option<DateTime<Utc>>) -> bool {
    match (incoming, stored) {
        (Some(incoming), Some(stored)) => incoming >= stored,
        _ => true,
    }
}

/// Puts `value` under `key` unless the one already there was fetched later: what a batch writes for a URL
/// is what writing its requests one by one would leave.
pub(crate) fn keep_fetched_last<'a, V>(
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

/// A time as PostgreSQL stores it: to the microsecond, cut as sqlx cuts it when it binds one.
pub(crate) fn db_time(time: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    time.trunc_subsecs(6)
}

/// When the page of a stored outcome was fetched.
pub(crate) fn fetched_at(request: &StoreRequest) -> Option<DateTime<Utc>> {
    match &request.outcome {
        Outcome::Stored { article } => article.fetched_at,
        _ => None,
    }
}

/// Writes the batch's articles and their histories (see [`crate::history`]): returns each article URL's id.
///
/// The rows of the articles the batch touches are locked first (in URL order, so two stores cannot
/// deadlock), so what history decides from them holds until the commit. A URL that two stores insert at
/// once makes one of them start over (a transient error): its plan assumed a new article.
async fn write_articles(
    tx: &mut Transaction<'_, Postgres>,
    requests: &[StoreRequest],
) -> Result<(HashMap<String, i64>, HistoryCounts), DbError> {
    let now = Utc::now();
    // What each request says about an article URL. A 304 or a 404/410 names the job's URL, which is the
    // article's unless the page was redirected: then the article its last stored outcome points at.
    let mut pages: BTreeMap<Cow<'_, str>, Vec<Observation<'_>>> = BTreeMap::new();
    let mut others: Vec<(Cow<'_, str>, Observation<'_>)> = Vec::new();
    for request in requests {
        // History compares fetch times with those read back from PostgreSQL, which keeps microseconds: a
        // time from a message (nanoseconds) is cut to them first, or the same fetch again would look later
        // than itself. (Regression: a re-extracted fetch made a second version and broke the one-fetch-one-
        // version constraint.)
        let at = db_time(request.fetched_at.unwrap_or(now));
        match &request.outcome {
            Outcome::Stored { article } => {
                let fetched_at = db_time(article.fetched_at.or(request.fetched_at).unwrap_or(now));
                let hash = version::version_hash(article.title.as_deref(), &article.authors, &article.text);
                pages.entry(clean(&article.url)).or_default().push(Observation::Page {
                    job_id: request.job_id,
                    article,
                    fetched_at,
                    hash,
                    revisit: request.revisit.as_ref(),
                });
            }
            Outcome::Unchanged => {
                others.push((clean(&request.url), Observation::NotModified { job_id: request.job_id, at }))
            }
            Outcome::Failed { reason: FailureReason::Http { status: status @ (404 | 410), .. } } => others
                .push((
                    clean(&request.url),
                    Observation::Gone { job_id: request.job_id, at, status: *status },
                )),
            _ => {}
        }
    }
    if pages.is_empty() && others.is_empty() {
        return Ok((HashMap::new(), HistoryCounts::default()));
    }
    let mut urls: Vec<Cow<'_, str>> = pages.keys().cloned().collect();
    urls.extend(others.iter().map(|(url, _)| url.clone()));
    urls.sort();
    urls.dedup();
    let mut stored = load_articles(tx, &urls).await?;
    // A 304 or 410 for a URL that is not an article's: the article its job's URL was stored as.
    let unknown: Vec<&str> =
        others.iter().map(|(u, _)| u.as_ref()).filter(|u| !stored.contains_key(*u)).collect();
    let mut aliases: HashMap<String, String> = HashMap::new();
    if !unknown.is_empty() {
        let rows = sqlx::query(
            "SELECT DISTINCT ON (o.url) o.url, a.url FROM outcomes o JOIN articles a ON a.id = o.article_id
             WHERE o.url = ANY($1) ORDER BY o.url, o.recorded_at DESC",
        )
        .bind(&unknown)
        .fetch_all(&mut **tx)
        .await
        .map_err(query("find the articles of redirected urls"))?;
        let targets: Vec<String> = rows.iter().map(|r| r.get::<String, _>(1)).collect();
        for row in &rows {
            aliases.insert(row.get(0), row.get(1));
        }
        let target_refs: Vec<Cow<'_, str>> = targets.iter().map(|t| Cow::Owned(t.clone())).collect();
        stored.extend(load_articles(tx, &target_refs).await?);
    }
    for (url, observation) in others {
        let key = aliases.get(url.as_ref()).cloned().map(Cow::Owned).unwrap_or(url);
        // Nothing stored under that URL: a 304 or 410 about no article records nothing more than its outcome.
        if stored.contains_key(key.as_ref()) || pages.contains_key(&key) {
            pages.entry(key).or_default().push(observation);
        }
    }

    let mut counts = HistoryCounts::default();
    let mut plans: Vec<(Cow<'_, str>, Plan<'_>)> = Vec::with_capacity(pages.len());
    for (url, observations) in pages {
        let plan = history::plan(stored.get(url.as_ref()), observations);
        counts.versions_created += plan.versions_created;
        for event in &plan.events {
            match event.kind {
                EventKind::Checked | EventKind::NotModified => counts.checks += 1,
                EventKind::Reverted => counts.reverts += 1,
                EventKind::TakenDown => counts.take_downs += 1,
                EventKind::Restored => {}
            }
        }
        plans.push((url, plan));
    }
    let mut ids: HashMap<String, i64> =
        stored.iter().map(|(url, article)| (url.clone(), article.id)).collect();
    let new: Vec<&ArticleWrite<'_>> =
        plans.iter().filter(|(_, p)| p.is_new).filter_map(|(_, p)| p.article.as_ref()).collect();
    if !new.is_empty() {
        let inserted = write_article_rows(tx, &new, None).await?;
        if inserted.len() < new.len() {
            // Another store inserted one of these URLs since they were looked up: start over (the caller
            // retries a transient error), so that its history is planned from what it stored.
            return Err(DbError::Conflict { what: "insert new articles" });
        }
        ids.extend(inserted);
    }
    let id_of = |url: &str| ids.get(url).copied();
    apply_history(tx, &plans, &id_of).await?;
    let replaced: Vec<(&ArticleWrite<'_>, i64)> = plans
        .iter()
        .filter(|(_, p)| !p.is_new)
        .filter_map(|(url, p)| Some((p.article.as_ref()?, id_of(url)?)))
        .collect();
    if !replaced.is_empty() {
        let (writes, row_ids): (Vec<&ArticleWrite<'_>>, Vec<i64>) = replaced.into_iter().unzip();
        write_article_rows(tx, &writes, Some(&row_ids)).await?;
    }
    apply_events(tx, &plans, &id_of).await?;
    Ok((ids, counts))
}

/// The stored articles at these URLs, locked for this transaction, with what history needs of them.
async fn load_articles(
    tx: &mut Transaction<'_, Postgres>,
    urls: &[Cow<'_, str>],
) -> Result<HashMap<String, StoredArticle>, DbError> {
    if urls.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT id, url, COALESCE(fetched_at, stored_at), version_hash, taken_down_at,
             CASE WHEN version_hash IS NULL THEN title END, CASE WHEN version_hash IS NULL THEN authors END,
             CASE WHEN version_hash IS NULL THEN text END
         FROM articles WHERE url = ANY($1) ORDER BY url FOR UPDATE",
    )
    .bind(urls)
    .fetch_all(&mut **tx)
    .await
    .map_err(query("lock the batch's stored articles"))?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let mut stored: HashMap<i64, (String, StoredArticle)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.get(0);
        // An article stored before history: its hash from the row.
        let version_hash = row.get::<Option<String>, _>(3).unwrap_or_else(|| {
            let title: Option<String> = row.get(5);
            let authors: Option<Vec<String>> = row.get(6);
            let text: Option<String> = row.get(7);
            version::version_hash(title.as_deref(), &authors.unwrap_or_default(), &text.unwrap_or_default())
        });
        let article = StoredArticle {
            id,
            fetched_at: row.get(2),
            version_hash,
            has_versions: false,
            taken_down_at: row.get(4),
            last_seen: None,
            versions: Vec::new(),
        };
        stored.insert(id, (row.get(1), article));
    }
    let ids: Vec<i64> = stored.keys().copied().collect();
    let versions = sqlx::query(
        "SELECT article_id, version_hash, fetched_at FROM article_versions WHERE article_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
    .map_err(query("read the versions of the batch's articles"))?;
    for row in &versions {
        if let Some((_, article)) = stored.get_mut(&row.get::<i64, _>(0)) {
            article.has_versions = true;
            article.versions.push((row.get(1), row.get(2)));
        }
    }
    let seen = sqlx::query(
        "SELECT article_id, max(at) FROM article_events
         WHERE article_id = ANY($1) AND kind IN ('checked', 'not_modified') GROUP BY article_id",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
    .map_err(query("read when the batch's articles were last seen"))?;
    for row in &seen {
        if let Some((_, article)) = stored.get_mut(&row.get::<i64, _>(0)) {
            article.last_seen = row.get(1);
        }
    }
    Ok(stored.into_values().collect())
}

/// Inserts new article rows (`ids: None`; returns the URL and id of each inserted: a URL another
/// transaction inserted first is not), or replaces the content of existing ones (by id).
async fn write_article_rows(
    tx: &mut Transaction<'_, Postgres>,
    writes: &[&ArticleWrite<'_>],
    ids: Option<&[i64]>,
) -> Result<HashMap<String, i64>, DbError> {
    let n = writes.len();
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
    let mut warc_file = Vec::with_capacity(n);
    let mut warc_offset = Vec::with_capacity(n);
    let mut warc_record_id = Vec::with_capacity(n);
    let mut version_hash = Vec::with_capacity(n);
    let mut search = Vec::with_capacity(n);
    let mut rendered = Vec::with_capacity(n);
    for write in writes {
        let a = write.article;
        url.push(clean(&a.url));
        job_id.push(write.job_id);
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
        rendered.push(a.rendered);
        fetched_at.push(write.fetched_at);
        warc_file.push(a.warc_file.as_deref().map(clean));
        warc_offset.push(a.warc_offset.and_then(|o| i64::try_from(o).ok()));
        warc_record_id.push(a.warc_record_id.as_deref().map(clean));
        version_hash.push(write.hash.as_str());
        // Analysed here, in the store, not by PostgreSQL (decision 0009): the values as they are written.
        search.push(newspipe_search::article_vector(
            language.last().and_then(|v: &Option<Cow<'_, str>>| v.as_deref()),
            title.last().and_then(|v: &Option<Cow<'_, str>>| v.as_deref()),
            description.last().and_then(|v: &Option<Cow<'_, str>>| v.as_deref()),
            text.last().map_or("", |v: &Cow<'_, str>| v),
        ));
    }
    const COLUMNS: &str =
        "FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
             $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
             $14::text[], $15::text[], $16::int4[], $17::text[], $18::int8[], $19::bool[], $20::timestamptz[],
             $21::text[], $22::int8[], $23::text[], $24::text[], $25::int8[], $26::text[], $27::bool[])
             AS u(url, job_id, canonical_url, title, authors, published_at, modified_at, language, site_name,
                  description, image, tags, section, text, markdown, word_count, content_hash, simhash,
                  paywalled, fetched_at, warc_file, warc_offset, warc_record_id, version_hash, id, search,
                  rendered)";
    let statement = match ids {
        None => format!(
            "INSERT INTO articles (url, job_id, canonical_url, title, authors, published_at, modified_at, language,
                 site_name, description, image, tags, section, text, markdown, word_count, content_hash, simhash,
                 paywalled, fetched_at, warc_file, warc_offset, warc_record_id, version_hash, search, rendered)
             SELECT u.url, u.job_id, u.canonical_url, u.title, string_to_array(u.authors, chr(31)), u.published_at,
                 u.modified_at, u.language, u.site_name, u.description, u.image, string_to_array(u.tags, chr(31)),
                 u.section, u.text, u.markdown, u.word_count, u.content_hash, u.simhash, u.paywalled, u.fetched_at,
                 u.warc_file, u.warc_offset, u.warc_record_id, u.version_hash, u.search::tsvector, u.rendered
             {COLUMNS}
             ORDER BY u.url
             ON CONFLICT (url) DO NOTHING
             RETURNING url, id"
        ),
        Some(_) => format!(
            "UPDATE articles SET job_id = u.job_id, canonical_url = u.canonical_url, title = u.title,
                 authors = string_to_array(u.authors, chr(31)), published_at = u.published_at,
                 modified_at = u.modified_at, language = u.language, site_name = u.site_name,
                 description = u.description, image = u.image, tags = string_to_array(u.tags, chr(31)),
                 section = u.section, text = u.text, markdown = u.markdown, word_count = u.word_count,
                 content_hash = u.content_hash, simhash = u.simhash, paywalled = u.paywalled,
                 fetched_at = u.fetched_at, warc_file = u.warc_file, warc_offset = u.warc_offset,
                 warc_record_id = u.warc_record_id, version_hash = u.version_hash, updated_at = now(),
                 search = u.search::tsvector, rendered = u.rendered
             {COLUMNS}
             WHERE articles.id = u.id
             RETURNING articles.url, articles.id"
        ),
    };
    let ids: Vec<Option<i64>> = match ids {
        Some(ids) => ids.iter().copied().map(Some).collect(),
        None => vec![None; n],
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(statement))
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
        .bind(warc_file)
        .bind(warc_offset)
        .bind(warc_record_id)
        .bind(version_hash)
        .bind(ids)
        .bind(search)
        .bind(rendered)
        .fetch_all(&mut **tx)
        .await
        .map_err(query("write articles"))?;
    Ok(rows.iter().map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1))).collect())
}

/// The version rows of the batch's plans, in the order the plans need: adopted rows, retired texts,
/// deleted and written versions. Runs before the article rows are replaced (a retired text is copied from
/// its article row).
async fn apply_history<'a>(
    tx: &mut Transaction<'_, Postgres>,
    plans: &[(Cow<'a, str>, Plan<'a>)],
    id_of: &impl Fn(&str) -> Option<i64>,
) -> Result<(), DbError> {
    let (mut adopt_ids, mut adopt_hashes) = (Vec::new(), Vec::new());
    let (mut retire_ids, mut retire_hashes) = (Vec::new(), Vec::new());
    let (mut delete_ids, mut delete_hashes) = (Vec::new(), Vec::new());
    for (url, plan) in plans {
        let Some(id) = id_of(url) else { continue };
        if let Some(hash) = &plan.adopt {
            adopt_ids.push(id);
            adopt_hashes.push(hash.as_str());
        }
        if let Some(hash) = &plan.retire {
            retire_ids.push(id);
            retire_hashes.push(hash.as_str());
        }
        for hash in &plan.delete_versions {
            delete_ids.push(id);
            delete_hashes.push(hash.as_str());
        }
    }
    if !adopt_ids.is_empty() {
        sqlx::query(
            "WITH adopted AS (
                 UPDATE articles a SET version_hash = r.hash FROM UNNEST($1::int8[], $2::text[]) AS r(id, hash)
                 WHERE a.id = r.id RETURNING a.id, r.hash, COALESCE(a.fetched_at, a.stored_at) AS fetched_at,
                     a.job_id, a.title, a.authors, a.word_count)
             INSERT INTO article_versions (article_id, version_hash, fetched_at, job_id, title, authors, word_count)
             SELECT id, hash, fetched_at, job_id, title, authors, word_count FROM adopted
             ON CONFLICT (article_id, version_hash) DO NOTHING",
        )
        .bind(&adopt_ids)
        .bind(&adopt_hashes)
        .execute(&mut **tx)
        .await
        .map_err(query("adopt articles stored before history"))?;
    }
    if !retire_ids.is_empty() {
        sqlx::query(
            "UPDATE article_versions v SET text = a.text
             FROM UNNEST($1::int8[], $2::text[]) AS r(id, hash) JOIN articles a ON a.id = r.id
             WHERE v.article_id = r.id AND v.version_hash = r.hash",
        )
        .bind(&retire_ids)
        .bind(&retire_hashes)
        .execute(&mut **tx)
        .await
        .map_err(query("keep the text of replaced versions"))?;
    }
    if !delete_ids.is_empty() {
        sqlx::query(
            "DELETE FROM article_versions v USING UNNEST($1::int8[], $2::text[]) AS r(id, hash)
             WHERE v.article_id = r.id AND v.version_hash = r.hash",
        )
        .bind(&delete_ids)
        .bind(&delete_hashes)
        .execute(&mut **tx)
        .await
        .map_err(query("remove re-extracted versions"))?;
    }
    let mut article_id = Vec::new();
    let mut hash = Vec::new();
    let mut fetched_at = Vec::new();
    let mut job_id = Vec::new();
    let mut has_content = Vec::new();
    let mut title = Vec::new();
    let mut authors = Vec::new();
    let mut word_count = Vec::new();
    let mut text = Vec::new();
    for (url, plan) in plans {
        let Some(id) = id_of(url) else { continue };
        for version in &plan.versions {
            article_id.push(id);
            hash.push(version.hash.as_str());
            fetched_at.push(version.fetched_at);
            job_id.push(version.job_id);
            has_content.push(version.content.is_some());
            let content = version.content.as_ref();
            title.push(content.and_then(|c| c.title).map(clean));
            authors.push(content.map(|c| joined(c.authors)).unwrap_or_default());
            word_count.push(content.map_or(0, |c| i32::try_from(c.word_count).unwrap_or(i32::MAX)));
            text.push(content.and_then(|c| c.text).map(clean));
        }
    }
    if !article_id.is_empty() {
        sqlx::query(
            "INSERT INTO article_versions AS v (article_id, version_hash, fetched_at, job_id, title, authors,
                 word_count, text)
             SELECT u.article_id, u.hash, u.fetched_at, u.job_id, u.title, string_to_array(u.authors, chr(31)),
                 u.word_count, u.text
             FROM UNNEST($1::int8[], $2::text[], $3::timestamptz[], $4::uuid[], $5::bool[], $6::text[], $7::text[],
                 $8::int4[], $9::text[])
                 AS u(article_id, hash, fetched_at, job_id, has_content, title, authors, word_count, text)
             ORDER BY u.article_id, u.hash
             ON CONFLICT (article_id, version_hash) DO UPDATE SET fetched_at = EXCLUDED.fetched_at,
                 job_id = EXCLUDED.job_id,
                 title = CASE WHEN EXCLUDED.word_count >= 0 THEN EXCLUDED.title ELSE v.title END,
                 authors = CASE WHEN EXCLUDED.word_count >= 0 THEN EXCLUDED.authors ELSE v.authors END,
                 text = CASE WHEN EXCLUDED.word_count >= 0 THEN EXCLUDED.text ELSE v.text END,
                 word_count = CASE WHEN EXCLUDED.word_count >= 0 THEN EXCLUDED.word_count ELSE v.word_count END",
        )
        .bind(&article_id)
        .bind(&hash)
        .bind(&fetched_at)
        .bind(&job_id)
        .bind(&has_content)
        .bind(&title)
        .bind(&authors)
        // A row whose content is kept is sent with word count -1: it exists (the plan read it), so it is
        // never inserted with it.
        .bind(word_count.iter().zip(&has_content).map(|(w, has)| if *has { *w } else { -1 }).collect::<Vec<_>>())
        .bind(&text)
        .execute(&mut **tx)
        .await
        .map_err(query("write article versions"))?;
    }
    Ok(())
}

/// The batch's history events, take-down marks and new articles' revisit rows.
async fn apply_events<'a>(
    tx: &mut Transaction<'_, Postgres>,
    plans: &[(Cow<'a, str>, Plan<'a>)],
    id_of: &impl Fn(&str) -> Option<i64>,
) -> Result<(), DbError> {
    let (mut ids, mut kinds, mut ats, mut statuses, mut hashes, mut jobs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut down_ids, mut down_at) = (Vec::new(), Vec::new());
    let (mut new_ids, mut new_urls, mut new_hosts, mut new_first, mut new_schedules) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (url, plan) in plans {
        let Some(id) = id_of(url) else { continue };
        for event in &plan.events {
            ids.push(id);
            kinds.push(event.kind.as_str());
            ats.push(event.at);
            statuses.push(event.http_status.map(|s| s as i16));
            hashes.push(event.version_hash.as_deref());
            jobs.push(event.job_id);
        }
        if let Some(value) = plan.taken_down_at {
            down_ids.push(id);
            down_at.push(value);
        }
        // A schedule that is off (a WARC file's articles, a watch's `--revisit off`) gets no row at all.
        if plan.is_new
            && !plan.revisit.is_some_and(|s| s.is_off())
            && let Some(write) = &plan.article
        {
            new_ids.push(id);
            new_urls.push(url.as_ref());
            new_hosts.push(
                url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default(),
            );
            new_first.push(plan.first_fetched_at.unwrap_or(write.fetched_at));
            new_schedules.push(plan.revisit.map(|s| s.to_string()));
        }
    }
    if !ids.is_empty() {
        sqlx::query(
            "INSERT INTO article_events (article_id, kind, at, http_status, version_hash, job_id)
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::timestamptz[], $4::int2[], $5::text[], $6::uuid[])
             ORDER BY 1, 2, 3
             ON CONFLICT (article_id, kind, at) DO NOTHING",
        )
        .bind(&ids)
        .bind(&kinds)
        .bind(&ats)
        .bind(&statuses)
        .bind(&hashes)
        .bind(&jobs)
        .execute(&mut **tx)
        .await
        .map_err(query("record article events"))?;
    }
    if !down_ids.is_empty() {
        sqlx::query(
            "UPDATE articles a SET taken_down_at = r.at FROM UNNEST($1::int8[], $2::timestamptz[]) AS r(id, at)
             WHERE a.id = r.id",
        )
        .bind(&down_ids)
        .bind(&down_at)
        .execute(&mut **tx)
        .await
        .map_err(query("mark articles taken down"))?;
    }
    if !new_ids.is_empty() {
        sqlx::query(
            "INSERT INTO revisits (article_id, url, host, first_fetched_at, schedule)
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
             ON CONFLICT (article_id) DO NOTHING",
        )
        .bind(&new_ids)
        .bind(&new_urls)
        .bind(&new_hosts)
        .bind(&new_first)
        .bind(&new_schedules)
        .execute(&mut **tx)
        .await
        .map_err(query("plan the revisits of new articles"))?;
    }
    Ok(())
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
    let (mut reason_code, mut article_id, mut parent_job_id, mut children) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for (job, (request, article)) in latest {
        job_id.push(job);
        url.push(clean(&request.url));
        outcome.push(request.outcome.kind().as_str());
        reason.push(request.outcome.reason().map(|r| clean(&r).into_owned()));
        reason_code.push(request.outcome.reason_code());
        article_id.push(article);
        parent_job_id.push(request.parent_job_id);
        children.push(request.children.map(|n| i32::try_from(n).unwrap_or(i32::MAX)));
    }
    sqlx::query(
        "INSERT INTO outcomes (job_id, url, outcome, reason, reason_code, article_id, parent_job_id, children)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::uuid[],
             $8::int4[])
         ORDER BY 1
         ON CONFLICT (job_id) DO UPDATE SET url = EXCLUDED.url, outcome = EXCLUDED.outcome,
             reason = EXCLUDED.reason, reason_code = EXCLUDED.reason_code, article_id = EXCLUDED.article_id,
             parent_job_id = EXCLUDED.parent_job_id, children = EXCLUDED.children, recorded_at = now()",
    )
    .bind(job_id)
    .bind(url)
    .bind(outcome)
    .bind(reason)
    .bind(reason_code)
    .bind(article_id)
    .bind(parent_job_id)
    .bind(children)
    .execute(&mut **tx)
    .await
    .map_err(query("upsert outcomes"))?;
    Ok(())
}

/// PostgreSQL text cannot hold NUL; a page that contains one must still be stored. Borrowed when there is
/// none (nearly always): an article's text and Markdown are bound as they came, not copied first.
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "")) } else { Cow::Borrowed(s) }
}
