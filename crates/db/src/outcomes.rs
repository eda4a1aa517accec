//! The store's writes: a batch of outcomes, with their articles, in one transaction, idempotently.
//!
//! Which version of a URL's article is kept is decided by when its page was fetched, not by when its request
//! arrived: the fetched-last rule (docs/decisions/0004-fetched-last-rule.md), applied here to a batch
//! ([`keep_fetched_last`]) and in SQL across batches (`newspipe_fetched_no_earlier`).

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use newspipe_models::{Article, JobId, Outcome, StoreRequest};
use sqlx::{Postgres, Row, Transaction};

use crate::claims::update_claims;
use crate::{Database, DbError, query};

impl Database {
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

/// When the page of a stored outcome was fetched.
pub(crate) fn fetched_at(request: &StoreRequest) -> Option<DateTime<Utc>> {
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
    let mut warc_file = Vec::with_capacity(n);
    let mut warc_offset = Vec::with_capacity(n);
    let mut warc_record_id = Vec::with_capacity(n);
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
        warc_file.push(a.warc_file.as_deref().map(clean));
        warc_offset.push(a.warc_offset.and_then(|o| i64::try_from(o).ok()));
        warc_record_id.push(a.warc_record_id.as_deref().map(clean));
    }
    let rows = sqlx::query(
        "INSERT INTO articles (url, job_id, canonical_url, title, authors, published_at, modified_at, language,
             site_name, description, image, tags, section, text, markdown, word_count, content_hash, simhash,
             paywalled, fetched_at, warc_file, warc_offset, warc_record_id)
         SELECT u.url, u.job_id, u.canonical_url, u.title, string_to_array(u.authors, chr(31)), u.published_at,
             u.modified_at, u.language, u.site_name, u.description, u.image, string_to_array(u.tags, chr(31)),
             u.section, u.text, u.markdown, u.word_count, u.content_hash, u.simhash, u.paywalled, u.fetched_at,
             u.warc_file, u.warc_offset, u.warc_record_id
         FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
             $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
             $14::text[], $15::text[], $16::int4[], $17::text[], $18::int8[], $19::bool[], $20::timestamptz[],
             $21::text[], $22::int8[], $23::text[])
             AS u(url, job_id, canonical_url, title, authors, published_at, modified_at, language, site_name,
                  description, image, tags, section, text, markdown, word_count, content_hash, simhash,
                  paywalled, fetched_at, warc_file, warc_offset, warc_record_id)
         ORDER BY u.url
         ON CONFLICT (url) DO UPDATE SET job_id = EXCLUDED.job_id, canonical_url = EXCLUDED.canonical_url,
             title = EXCLUDED.title, authors = EXCLUDED.authors, published_at = EXCLUDED.published_at,
             modified_at = EXCLUDED.modified_at, language = EXCLUDED.language, site_name = EXCLUDED.site_name,
             description = EXCLUDED.description, image = EXCLUDED.image, tags = EXCLUDED.tags,
             section = EXCLUDED.section, text = EXCLUDED.text, markdown = EXCLUDED.markdown,
             word_count = EXCLUDED.word_count, content_hash = EXCLUDED.content_hash, simhash = EXCLUDED.simhash,
             paywalled = EXCLUDED.paywalled, fetched_at = EXCLUDED.fetched_at, warc_file = EXCLUDED.warc_file,
             warc_offset = EXCLUDED.warc_offset, warc_record_id = EXCLUDED.warc_record_id, updated_at = now(),
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
    .bind(warc_file)
    .bind(warc_offset)
    .bind(warc_record_id)
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
