//! The fetchers' politeness, shared through PostgreSQL so that it holds however many fetchers run: each
//! host's request slots and leases (`hosts`, `fetch_leases`, `newspipe_take_turn`), its Retry-After, and its
//! robots.txt. Why the database and not the broker: docs/decisions/0001-postgresql-for-politeness.md.

use std::time::Duration;

use newspipe_models::JobId;

use crate::{Database, DbError, query};

/// What `newspipe_take_turn` answered (its migration says how it decides).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnAnswer {
    /// A slot is reserved (and a lease taken) when true; otherwise the host's next slot is too far away.
    pub granted: bool,
    /// How long to wait: for the reserved slot, or before asking again.
    pub wait: Duration,
}

/// The limits a turn is taken under (the fetcher's politeness settings, in the units SQL takes).
#[derive(Debug, Clone, Copy)]
pub struct TurnLimits {
    pub interval: Duration,
    pub slack: Duration,
    pub max_hold: Duration,
    pub max_concurrent: u32,
    pub lease: Duration,
}

impl Database {
    /// Reserves the host's next request slot if it is within `max_hold` and fewer than `max_concurrent`
    /// requests to it are in flight, and takes a lease for `job_id` until [`Database::release_lease`] (or
    /// until `lease` passes, should the fetcher die). One call to `newspipe_take_turn`: it holds the host's
    /// row, so concurrent fetchers get distinct slots at least an interval apart; times are the database's,
    /// so the replicas' clocks do not matter.
    pub async fn take_turn(
        &self,
        host: &str,
        job_id: JobId,
        limits: TurnLimits,
    ) -> Result<TurnAnswer, DbError> {
        let (granted, wait): (bool, f64) =
            sqlx::query_as("SELECT granted, wait_secs FROM newspipe_take_turn($1, $2, $3, $4, $5, $6, $7)")
                .bind(host)
                .bind(job_id)
                .bind(limits.interval.as_secs_f64())
                .bind(limits.slack.as_secs_f64())
                .bind(limits.max_hold.as_secs_f64())
                .bind(i32::try_from(limits.max_concurrent).unwrap_or(i32::MAX))
                .bind(limits.lease.as_secs_f64())
                .fetch_one(&self.pool)
                .await
                .map_err(query("take a host's turn"))?;
        Ok(TurnAnswer { granted, wait: Duration::from_secs_f64(wait.max(0.0)) })
    }

    /// The request of `job_id` is over: its lease no longer counts against the host.
    pub async fn release_lease(&self, job_id: JobId) -> Result<(), DbError> {
        sqlx::query("DELETE FROM fetch_leases WHERE job_id = $1")
            .bind(job_id)
            .execute(&self.pool)
            .await
            .map_err(query("release a fetch lease"))?;
        Ok(())
    }

    /// The host asked us to slow down (429/503 with Retry-After): no fetcher sends it anything before then.
    pub async fn block_host(&self, host: &str, retry_after: Duration) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE hosts SET blocked_until = greatest(coalesce(blocked_until, now()), now() + make_interval(secs => $2))
             WHERE host = $1",
        )
        .bind(host)
        .bind(retry_after.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(query("block a host"))?;
        Ok(())
    }

    /// The stored robots.txt of a host, if fetched within `ttl` (empty when the host has none).
    pub async fn cached_robots(&self, host: &str, ttl: Duration) -> Result<Option<Vec<u8>>, DbError> {
        let row: Option<(Option<Vec<u8>>,)> = sqlx::query_as(
            "SELECT robots_txt FROM hosts
             WHERE host = $1 AND robots_fetched_at > now() - make_interval(secs => $2)",
        )
        .bind(host)
        .bind(ttl.as_secs_f64())
        .fetch_optional(&self.pool)
        .await
        .map_err(query("read a host's robots.txt"))?;
        Ok(row.map(|(robots,)| robots.unwrap_or_default()))
    }

    /// Whether this job may fetch the host's robots.txt now: true for one job at a time (for 30 s, should
    /// its fetcher die), so concurrent first requests to a host fetch robots.txt once.
    pub async fn claim_robots(&self, host: &str) -> Result<bool, DbError> {
        sqlx::query("INSERT INTO hosts (host) VALUES ($1) ON CONFLICT (host) DO NOTHING")
            .bind(host)
            .execute(&self.pool)
            .await
            .map_err(query("add a host"))?;
        let claimed = sqlx::query(
            "UPDATE hosts SET robots_claimed_until = clock_timestamp() + interval '30 seconds'
             WHERE host = $1 AND (robots_claimed_until IS NULL OR robots_claimed_until < clock_timestamp())",
        )
        .bind(host)
        .execute(&self.pool)
        .await
        .map_err(query("claim a host's robots.txt"))?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Gives the claim back without a robots.txt (it could not be fetched), so another job may try.
    pub async fn unclaim_robots(&self, host: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE hosts SET robots_claimed_until = NULL WHERE host = $1")
            .bind(host)
            .execute(&self.pool)
            .await
            .map_err(query("give back a host's robots.txt claim"))?;
        Ok(())
    }

    pub async fn save_robots(
        &self,
        host: &str,
        robots: &[u8],
        crawl_delay: Option<Duration>,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE hosts SET robots_txt = $2, robots_fetched_at = now(), crawl_delay_ms = $3 WHERE host = $1",
        )
        .bind(host)
        .bind(robots)
        .bind(crawl_delay.map(|d| d.as_millis().min(i32::MAX as u128) as i32))
        .execute(&self.pool)
        .await
        .map_err(query("save a host's robots.txt"))?;
        Ok(())
    }
}
