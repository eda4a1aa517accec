//! The life of a `url_claims` row: one row per canonical URL that is being fetched or has been stored, so
//! that a second job for the same URL is a `duplicate` however many fetchers run.
//!
//! 1. **Opened by the fetcher** ([`Database::claim_url`]) before it fetches a page: the row is inserted in
//!    state `in_flight` under the job's id. If a row is already there under another job (in flight or
//!    stored), the job is a duplicate and fetches nothing. A redelivery of the same job finds its own row
//!    and goes on. A refresh (`submit --refresh`) takes the row over, and gets the validators (ETag,
//!    Last-Modified) of the page stored last, for a conditional request.
//! 2. **Closed by the store** ([`update_claims`], in the same transaction as the job's outcome):
//!    - `stored`: the row becomes state `stored` and keeps the page's validators. Of two stored pages of a
//!      URL, the row keeps those of the page fetched last (the fetched-last rule, as for the article).
//!    - `skipped` or `failed`: the job's own `in_flight` row is deleted, so the URL can be submitted again.
//!      A failed refresh of a stored URL finds the row `stored` (or taken by another job) and leaves it.
//!    - `unchanged` (a 304 on a refresh): the row stays as it is.
//! 3. **A row in flight whose job never ends** cannot happen while the job exists: every job ends with
//!    exactly one outcome (retries end in a `failed` outcome, dead letters keep the job for replay, which
//!    finds its own row again).
//!
//! Feeds polled again ask [`Database::claimed_by_others`] which of their items are already claimed, so only
//! new items are queued.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use newspipe_models::{JobId, Outcome, StoreRequest};
use sqlx::{Postgres, Transaction};

use crate::outcomes::{clean, fetched_at, keep_fetched_last};
use crate::{Database, DbError, query};

/// The state of a claim, as the `state` column spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    /// A job is fetching, extracting or storing the URL.
    InFlight,
    /// The URL's article is stored.
    Stored,
}

impl ClaimState {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClaimState::InFlight => "in_flight",
            ClaimState::Stored => "stored",
        }
    }
}

/// Whether a job may fetch its URL (see [`Database::claim_url`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours: new, a refresh, or our own redelivery. For a refresh, what the page stored last said about its
    /// version (empty otherwise).
    Ours { etag: Option<String>, last_modified: Option<String> },
    /// Another job has the URL stored or in flight.
    Duplicate,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    job_id: JobId,
    etag: Option<String>,
    last_modified: Option<String>,
}

impl Database {
    /// Opens (or, for a refresh, takes over) the claim on a canonical URL for a job: step 1 above.
    pub async fn claim_url(&self, url: &str, job_id: JobId, refresh: bool) -> Result<Claim, DbError> {
        let row: ClaimRow = if refresh {
            sqlx::query_as(
                "INSERT INTO url_claims (url, job_id) VALUES ($1, $2)
                 ON CONFLICT (url) DO UPDATE SET job_id = EXCLUDED.job_id, claimed_at = now()
                 RETURNING job_id, etag, last_modified",
            )
            .bind(url)
            .bind(job_id)
            .fetch_one(&self.pool)
            .await
            .map_err(query("take over a url claim"))?
        } else {
            // Either our insert's row or the existing one. When another fetcher inserted the same URL an instant
            // earlier, this statement's snapshot sees neither, so ask again: the next one sees theirs.
            let mut attempt = 0;
            loop {
                let row = sqlx::query_as(
                    "WITH claimed AS (
                         INSERT INTO url_claims (url, job_id) VALUES ($1, $2) ON CONFLICT (url) DO NOTHING
                         RETURNING job_id, etag, last_modified)
                     SELECT job_id, etag, last_modified FROM claimed
                     UNION ALL SELECT job_id, etag, last_modified FROM url_claims WHERE url = $1
                     LIMIT 1",
                )
                .bind(url)
                .bind(job_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(query("claim a url"))?;
                match row {
                    Some(row) => break row,
                    None if attempt < 3 => attempt += 1,
                    None => return Err(query("claim a url")(sqlx::Error::RowNotFound)),
                }
            }
        };
        if row.job_id != job_id {
            return Ok(Claim::Duplicate);
        }
        Ok(if refresh {
            Claim::Ours { etag: row.etag, last_modified: row.last_modified }
        } else {
            Claim::Ours { etag: None, last_modified: None }
        })
    }

    /// Of these canonical URLs, those claimed (stored or in flight) by jobs other than `job_ids`: a feed
    /// polled again queues only its new items, and a redelivered one queues the same jobs as the first time.
    pub async fn claimed_by_others(
        &self,
        urls: &[String],
        job_ids: &[JobId],
    ) -> Result<HashSet<String>, DbError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT url FROM url_claims WHERE url = ANY($1) AND NOT (job_id = ANY($2))")
                .bind(urls)
                .bind(job_ids)
                .fetch_all(&self.pool)
                .await
                .map_err(query("urls claimed by other jobs"))?;
        Ok(rows.into_iter().collect())
    }
}

/// Step 2 above, for a batch: a stored page keeps its claim on the URL (with its validators, for a conditional refresh); a failed or
/// skipped job releases the claim it took, so the URL can be submitted again. A refresh's failure leaves
/// the stored article's claim alone. Releases go first: a release only removes its own job's in-flight
/// claim, so this order gives what one-by-one recording gives whatever the order within the batch. A claim
/// keeps the validators of the page fetched last, like the article (see [`crate::outcomes`]).
pub(crate) async fn update_claims(
    tx: &mut Transaction<'_, Postgres>,
    requests: &[StoreRequest],
) -> Result<(), DbError> {
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
             WHERE c.url = r.url AND c.job_id = r.job_id AND c.state = $3",
        )
        .bind(urls)
        .bind(jobs)
        .bind(ClaimState::InFlight.as_str())
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
             SELECT u.url, u.job_id, $6::text, u.etag, u.last_modified, u.fetched_at
             FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
                 AS u(url, job_id, etag, last_modified, fetched_at)
             ORDER BY u.url
             ON CONFLICT (url) DO UPDATE SET state = EXCLUDED.state, job_id = EXCLUDED.job_id,
                 etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified, fetched_at = EXCLUDED.fetched_at
             WHERE url_claims.state <> EXCLUDED.state
                 OR newspipe_fetched_no_earlier(EXCLUDED.fetched_at, url_claims.fetched_at)",
        )
        .bind(urls)
        .bind(jobs)
        .bind(etags)
        .bind(last_modified)
        .bind(fetched)
        .bind(ClaimState::Stored.as_str())
        .execute(&mut **tx)
        .await
        .map_err(query("keep url claims"))?;
    }
    Ok(())
}
