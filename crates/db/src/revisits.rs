//! Revisits: when each stored article is fetched again to see whether it changed (docs/history.md).
//!
//! The store inserts a row with each new article (its first fetch, and its watched feed's schedule when it
//! came through one); the fetcher that holds the watch scheduler's lock ([`WatchScheduler`]) plans it (the
//! first due time, from the schedule), queues it when due (at most one per host at a time, so a site is
//! never flooded), and moves it to its next step, or removes it after its last. Queue first, then advance:
//! a crash in between revisits twice, never zero times.

use chrono::{DateTime, Utc};
use newspipe_models::JobId;

use crate::{Database, DbError, WatchScheduler, query};

/// A revisit row not planned yet: the scheduler gives it a due time from its schedule.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnplannedRevisit {
    pub article_id: i64,
    pub host: String,
    pub first_fetched_at: DateTime<Utc>,
    /// A watched feed's schedule (`watch add --revisit`); `None`: the site's or the default.
    pub schedule: Option<String>,
    pub step: i16,
}

/// A revisit that is due: its article's URL is fetched again.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueRevisit {
    pub article_id: i64,
    pub url: String,
    pub host: String,
    pub first_fetched_at: DateTime<Utc>,
    pub schedule: Option<String>,
    pub step: i16,
    pub due_at: DateTime<Utc>,
}

impl DueRevisit {
    /// The job id of this step of this article's revisits: the same however often it is queued (a crash
    /// between queueing and advancing queues it again), so it has one outcome.
    pub fn job_id(&self) -> JobId {
        JobId::revisit(self.article_id, self.step.max(0) as u32)
    }
}

/// Revisit counts for `newspipe status`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, utoipa::ToSchema)]
pub struct RevisitCounts {
    /// Articles that will be fetched again (planned or not yet).
    pub scheduled: i64,
    /// Revisits whose time has come.
    pub due: i64,
    /// Revisits due for more than a minute: the scheduler or the fetchers are behind.
    pub late: i64,
    /// Versions after the first, over all articles.
    pub versions_made: i64,
}

impl WatchScheduler {
    /// Up to `limit` revisit rows that have no due time yet.
    pub async fn unplanned_revisits(&mut self, limit: i64) -> Result<Vec<UnplannedRevisit>, DbError> {
        sqlx::query_as(
            "SELECT article_id, host, first_fetched_at, schedule, step FROM revisits
             WHERE due_at IS NULL ORDER BY article_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut self.connection)
        .await
        .map_err(query("read unplanned revisits"))
    }

    /// Gives each row its due time, or removes it (`None`: its schedule is off or over).
    pub async fn plan_revisits(&mut self, plans: &[(i64, Option<DateTime<Utc>>)]) -> Result<(), DbError> {
        let (planned, removed): (Vec<_>, Vec<_>) = plans.iter().partition(|(_, due)| due.is_some());
        if !planned.is_empty() {
            let ids: Vec<i64> = planned.iter().map(|(id, _)| *id).collect();
            let due: Vec<DateTime<Utc>> = planned.iter().filter_map(|(_, due)| *due).collect();
            sqlx::query(
                "UPDATE revisits r SET due_at = p.due FROM UNNEST($1::int8[], $2::timestamptz[]) AS p(id, due)
                 WHERE r.article_id = p.id",
            )
            .bind(&ids)
            .bind(&due)
            .execute(&mut self.connection)
            .await
            .map_err(query("plan revisits"))?;
        }
        if !removed.is_empty() {
            let ids: Vec<i64> = removed.iter().map(|(id, _)| *id).collect();
            sqlx::query("DELETE FROM revisits WHERE article_id = ANY($1)")
                .bind(&ids)
                .execute(&mut self.connection)
                .await
                .map_err(query("remove finished revisits"))?;
        }
        Ok(())
    }

    /// Revisits due now, most overdue first, up to `limit`: at most `per_host` of each host, and none of the
    /// hosts in `resting` (queued enough for now). Every host with something due gets its turn, so a site
    /// with a hundred thousand articles due does not hold back the others (each host's rows are read from
    /// the `(host, due_at)` index).
    pub async fn due_revisits(
        &mut self,
        resting: &[String],
        per_host: i64,
        limit: i64,
    ) -> Result<Vec<DueRevisit>, DbError> {
        sqlx::query_as(
            "WITH RECURSIVE hosts AS (
                 (SELECT host FROM revisits WHERE due_at <= now() ORDER BY host LIMIT 1)
                 UNION ALL
                 SELECT (SELECT r.host FROM revisits r WHERE r.due_at <= now() AND r.host > hosts.host
                         ORDER BY r.host LIMIT 1)
                 FROM hosts WHERE hosts.host IS NOT NULL)
             SELECT r.article_id, r.url, r.host, r.first_fetched_at, r.schedule, r.step, r.due_at
             FROM hosts CROSS JOIN LATERAL (
                 SELECT * FROM revisits WHERE host = hosts.host AND due_at <= now() ORDER BY due_at LIMIT $2) r
             WHERE hosts.host IS NOT NULL AND hosts.host <> ALL($1)
             ORDER BY r.due_at LIMIT $3",
        )
        .bind(resting)
        .bind(per_host)
        .bind(limit)
        .fetch_all(&mut self.connection)
        .await
        .map_err(query("read due revisits"))
    }

    /// A revisit was queued: the row moves to `next` (step and due time), or goes when it was the last.
    /// Only if it is still at the step that was queued, so a revisit cannot be advanced twice.
    pub async fn revisit_queued(
        &mut self,
        article_id: i64,
        queued_step: i16,
        next: Option<(i16, DateTime<Utc>)>,
    ) -> Result<(), DbError> {
        let statement = match next {
            Some((step, due)) => {
                sqlx::query("UPDATE revisits SET step = $3, due_at = $4 WHERE article_id = $1 AND step = $2")
                    .bind(article_id)
                    .bind(queued_step)
                    .bind(step)
                    .bind(due)
            }
            None => sqlx::query("DELETE FROM revisits WHERE article_id = $1 AND step = $2")
                .bind(article_id)
                .bind(queued_step),
        };
        statement.execute(&mut self.connection).await.map_err(query("advance a revisit"))?;
        Ok(())
    }
}

impl Database {
    /// What `status` shows of revisits and versions.
    pub async fn revisit_counts(&self) -> Result<RevisitCounts, DbError> {
        let (scheduled, due, late): (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE due_at <= now()),
                 count(*) FILTER (WHERE due_at <= now() - interval '1 minute')
             FROM revisits",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(query("count revisits"))?;
        // Every article has one version row per content; those after the first are edits.
        let versions_made: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(n - 1), 0)::int8 FROM (SELECT count(*) AS n FROM article_versions GROUP BY article_id) v",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(query("count article versions"))?;
        Ok(RevisitCounts { scheduled, due, late, versions_made })
    }
}
