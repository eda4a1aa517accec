//! Watched feeds and sitemaps (`newspipe watch`): the command line adds and removes them; one fetcher at a
//! time, holding a PostgreSQL advisory lock ([`WatchScheduler`]), polls those that are due.

use std::time::Duration;

use chrono::{DateTime, Utc};
use newspipe_models::RevisitSchedule;
use sqlx::{Connection, PgConnection};

use crate::{Database, DbError, query};

/// The advisory lock key of the watch scheduler ("newspipe" in ASCII, as a number).
const SCHEDULER_LOCK: i64 = 0x6e65_7773_7069_7065;

/// One watched feed or sitemap.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Watch {
    pub id: i64,
    pub url: String,
    #[sqlx(try_from = "i32")]
    pub every_secs: u32,
    pub next_due: DateTime<Utc>,
    pub last_polled_at: Option<DateTime<Utc>>,
    /// The revisit schedule of the articles found through it (`--revisit`); `None`: the fetchers'.
    pub revisit: Option<String>,
}

/// A watch whose poll is due.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueWatch {
    pub id: i64,
    pub url: String,
    pub revisit: Option<String>,
}

impl Database {
    /// Watches `url` every `every` (at least a second), its articles revisited on `revisit` (`None`: the
    /// fetchers' schedule); watching it again changes both.
    pub async fn add_watch(
        &self,
        url: &str,
        every: Duration,
        revisit: Option<&RevisitSchedule>,
    ) -> Result<(), DbError> {
        let seconds = i32::try_from(every.as_secs().max(1)).unwrap_or(i32::MAX);
        sqlx::query(
            "INSERT INTO watches (url, every_secs, revisit) VALUES ($1, $2, $3)
             ON CONFLICT (url) DO UPDATE SET every_secs = EXCLUDED.every_secs, revisit = EXCLUDED.revisit",
        )
        .bind(url)
        .bind(seconds)
        .bind(revisit.map(|r| r.to_string()))
        .execute(&self.pool)
        .await
        .map_err(query("add a watch"))?;
        Ok(())
    }

    pub async fn watches(&self) -> Result<Vec<Watch>, DbError> {
        sqlx::query_as(
            "SELECT id, url, every_secs, next_due, last_polled_at, revisit FROM watches ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query("list watches"))
    }

    /// Stops watching, by id or URL; false when there was no such watch.
    pub async fn remove_watch(&self, id: Option<i64>, url: &str) -> Result<bool, DbError> {
        let removed = sqlx::query("DELETE FROM watches WHERE id = $1 OR ($1 IS NULL AND url = $2)")
            .bind(id)
            .bind(url)
            .execute(&self.pool)
            .await
            .map_err(query("remove a watch"))?;
        Ok(removed.rows_affected() > 0)
    }

    /// Takes the watch scheduler's role if no other process holds it: on a connection of its own, out of
    /// the pool, so the lock lives and dies with it (a fetcher that dies lets another take over).
    pub async fn try_lead_watches(&self) -> Result<Option<WatchScheduler>, DbError> {
        let mut connection =
            self.pool.acquire().await.map_err(query("connect for the watch scheduler"))?.detach();
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(SCHEDULER_LOCK)
            .fetch_one(&mut connection)
            .await
            .map_err(query("take the watch scheduler's lock"))?;
        if !leader {
            let _ = connection.close().await;
            return Ok(None);
        }
        Ok(Some(WatchScheduler { connection }))
    }
}

/// The one process that polls watches, for as long as it holds this (its connection holds the lock).
pub struct WatchScheduler {
    pub(crate) connection: PgConnection,
}

impl WatchScheduler {
    /// Up to 100 watches due now, most overdue first.
    pub async fn due(&mut self) -> Result<Vec<DueWatch>, DbError> {
        sqlx::query_as(
            "SELECT id, url, revisit FROM watches WHERE next_due <= now() ORDER BY next_due LIMIT 100",
        )
        .fetch_all(&mut self.connection)
        .await
        .map_err(query("watches due"))
    }

    /// The watch was polled: it is due again after its interval. Call after its job is queued, so a crash
    /// in between polls twice, never zero times.
    pub async fn polled(&mut self, id: i64) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE watches SET next_due = now() + make_interval(secs => every_secs), last_polled_at = now()
             WHERE id = $1",
        )
        .bind(id)
        .execute(&mut self.connection)
        .await
        .map_err(query("mark a watch polled"))?;
        Ok(())
    }
}
