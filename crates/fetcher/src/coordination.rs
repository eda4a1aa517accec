//! What the fetchers agree on through PostgreSQL, so that it holds however many of them run: each host's
//! request slots (politeness, crawl-delay, Retry-After), its robots.txt, and which URLs are already claimed.
//!
//! Why the database and not the broker: per-host limits need shared state that every replica updates
//! atomically. Sharding queues by host (consistent-hash exchange + single active consumer) would put each
//! host on one replica, but RabbitMQ activates the first consumer of every shard, so one fetcher would
//! take all shards and the others would idle. A row per host, updated in one statement, is exact, needs no
//! leader and survives any replica dying.

use std::sync::Arc;
use std::time::Duration;

use newspipe_discover::RobotsTxt;
use serde::Deserialize;
use sqlx::{PgPool, Row};

use crate::Validators;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolitenessSettings {
    /// Minimum time between two requests to one host, across all fetchers (a larger robots.txt
    /// `Crawl-delay` wins).
    pub interval_ms: u64,
    /// Added to every interval to absorb the time between taking a slot and the request leaving.
    pub slack_ms: u64,
    /// A fetcher waits in place for a host's turn up to this long; a later turn sends the job back through
    /// a delay queue, so waiting never holds up other hosts or holds a message for long.
    pub max_hold_ms: u64,
    /// Respect robots.txt (fetched once per host and kept for `robots_ttl_secs`).
    pub respect_robots: bool,
    pub robots_ttl_secs: u64,
    /// Longest `Retry-After` honoured for a host.
    pub max_retry_after_secs: u64,
    /// Requests in flight to one host at once, across all fetchers.
    pub max_concurrent_per_host: u32,
}

impl Default for PolitenessSettings {
    fn default() -> Self {
        PolitenessSettings {
            interval_ms: 1_000,
            slack_ms: 20,
            max_hold_ms: 2_000,
            respect_robots: true,
            robots_ttl_secs: 86_400,
            max_retry_after_secs: 3_600,
            max_concurrent_per_host: 2,
        }
    }
}

/// The answer to "may I fetch from this host now?".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Turn {
    /// A slot is reserved: wait this long, then fetch.
    WaitThenFetch(Duration),
    /// The host's next free slot is further away than `max_hold_ms`: come back after this long.
    ComeBack(Duration),
}

/// Whether this job may fetch its URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Ours (new, a refresh, or our own redelivery), with what an earlier fetch said about the page's version.
    Ours(Validators),
    /// Another job has it stored or in flight.
    Duplicate,
}

#[derive(Clone)]
pub struct Coordinator {
    pool: PgPool,
    settings: PolitenessSettings,
    /// Each host's parsed robots.txt, remembered by this fetcher for a while (see [`Coordinator::new`]).
    robots_memo: moka::sync::Cache<String, Arc<RobotsTxt>>,
}

/// How long a fetcher trusts the robots.txt it read, at most (shorter if `robots_ttl_secs` is).
const ROBOTS_MEMO_SECS: u64 = 600;
/// Bytes of robots.txt a fetcher remembers across all hosts: a bound on the memo's memory.
const ROBOTS_MEMO_BYTES: u64 = 8 * 1024 * 1024;

type Result<T> = std::result::Result<T, sqlx::Error>;

impl Coordinator {
    /// Robots.txt is shared through the database; each fetcher also remembers what it read for up to
    /// ten minutes, so a host's pages do not each read and parse it again (a query and a parse per URL,
    /// otherwise). A robots.txt fetched again by another fetcher is seen here when the memo expires.
    pub fn new(pool: PgPool, settings: PolitenessSettings) -> Self {
        let memo_secs = ROBOTS_MEMO_SECS.min(settings.robots_ttl_secs).max(1);
        let robots_memo = moka::sync::Cache::builder()
            .max_capacity(ROBOTS_MEMO_BYTES)
            .weigher(|host: &String, robots: &Arc<RobotsTxt>| {
                u32::try_from(host.len() + robots.source_bytes() + 256).unwrap_or(u32::MAX)
            })
            .time_to_live(Duration::from_secs(memo_secs))
            .build();
        Coordinator { pool, settings, robots_memo }
    }

    /// The robots.txt this fetcher read for the host lately, if any.
    pub fn remembered_robots(&self, host: &str) -> Option<Arc<RobotsTxt>> {
        self.robots_memo.get(host)
    }

    pub fn remember_robots(&self, host: &str, robots: RobotsTxt) -> Arc<RobotsTxt> {
        let robots = Arc::new(robots);
        self.robots_memo.insert(host.to_string(), robots.clone());
        robots
    }

    pub fn settings(&self) -> &PolitenessSettings {
        &self.settings
    }

    fn interval_secs(&self, crawl_delay: Option<Duration>) -> f64 {
        let configured = Duration::from_millis(self.settings.interval_ms);
        (configured.max(crawl_delay.unwrap_or_default()) + Duration::from_millis(self.settings.slack_ms))
            .as_secs_f64()
    }

    /// Reserves the host's next request slot if it is within `max_hold_ms` and fewer than
    /// `max_concurrent_per_host` requests to it are in flight, and takes a lease for `job_id` until
    /// [`Coordinator::release`] (or until `lease` passes, should this fetcher die). One call to
    /// `newspipe_take_turn` (its migration says how): it holds the host's row, so concurrent fetchers get
    /// distinct slots at least an interval apart; times are the database's, so the replicas' clocks do not
    /// matter.
    pub async fn take_turn(&self, host: &str, job_id: uuid::Uuid, lease: Duration) -> Result<Turn> {
        let (granted, wait): (bool, f64) =
            sqlx::query_as("SELECT granted, wait_secs FROM newspipe_take_turn($1, $2, $3, $4, $5, $6, $7)")
                .bind(host)
                .bind(job_id)
                .bind(self.interval_secs(None))
                .bind(Duration::from_millis(self.settings.slack_ms).as_secs_f64())
                .bind(Duration::from_millis(self.settings.max_hold_ms).as_secs_f64())
                .bind(i32::try_from(self.settings.max_concurrent_per_host).unwrap_or(i32::MAX))
                .bind(lease.as_secs_f64())
                .fetch_one(&self.pool)
                .await?;
        let wait = Duration::from_secs_f64(wait.max(0.0));
        Ok(if granted { Turn::WaitThenFetch(wait) } else { Turn::ComeBack(wait) })
    }

    /// The request of `job_id` is over: its lease no longer counts against the host.
    pub async fn release(&self, job_id: uuid::Uuid) -> Result<()> {
        sqlx::query("DELETE FROM fetch_leases WHERE job_id = $1").bind(job_id).execute(&self.pool).await?;
        Ok(())
    }

    /// The host asked us to slow down (429/503 with Retry-After): no fetcher sends it anything before then.
    pub async fn block_host(&self, host: &str, retry_after: Duration) -> Result<()> {
        let seconds = retry_after.min(Duration::from_secs(self.settings.max_retry_after_secs)).as_secs_f64();
        sqlx::query(
            "UPDATE hosts SET blocked_until = greatest(coalesce(blocked_until, now()), now() + make_interval(secs => $2))
             WHERE host = $1",
        )
        .bind(host)
        .bind(seconds)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The cached robots.txt of a host, if fetched within the TTL.
    pub async fn cached_robots(&self, host: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query(
            "SELECT robots_txt FROM hosts
             WHERE host = $1 AND robots_fetched_at > now() - make_interval(secs => $2)",
        )
        .bind(host)
        .bind(self.settings.robots_ttl_secs as f64)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.get::<Option<Vec<u8>>, _>(0).unwrap_or_default()))
    }

    /// Whether this job may fetch the host's robots.txt now: true for one job at a time (for 30 s, should
    /// its fetcher die), so concurrent first requests to a host fetch robots.txt once.
    pub async fn claim_robots(&self, host: &str) -> Result<bool> {
        sqlx::query("INSERT INTO hosts (host) VALUES ($1) ON CONFLICT (host) DO NOTHING")
            .bind(host)
            .execute(&self.pool)
            .await?;
        let claimed = sqlx::query(
            "UPDATE hosts SET robots_claimed_until = clock_timestamp() + interval '30 seconds'
             WHERE host = $1 AND (robots_claimed_until IS NULL OR robots_claimed_until < clock_timestamp())",
        )
        .bind(host)
        .execute(&self.pool)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Gives the claim back without a robots.txt (it could not be fetched), so another job may try.
    pub async fn unclaim_robots(&self, host: &str) -> Result<()> {
        sqlx::query("UPDATE hosts SET robots_claimed_until = NULL WHERE host = $1")
            .bind(host)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn save_robots(&self, host: &str, robots: &[u8], crawl_delay: Option<Duration>) -> Result<()> {
        sqlx::query(
            "UPDATE hosts SET robots_txt = $2, robots_fetched_at = now(), crawl_delay_ms = $3 WHERE host = $1",
        )
        .bind(host)
        .bind(robots)
        .bind(crawl_delay.map(|d| d.as_millis().min(i32::MAX as u128) as i32))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims a canonical URL for a job. A refresh takes the claim over; otherwise a URL stored or in
    /// flight under another job is a duplicate. The store releases the claim of a failed or skipped job.
    pub async fn claim(&self, url: &str, job_id: uuid::Uuid, refresh: bool) -> Result<Claim> {
        let row = if refresh {
            sqlx::query(
                "INSERT INTO url_claims (url, job_id) VALUES ($1, $2)
                 ON CONFLICT (url) DO UPDATE SET job_id = EXCLUDED.job_id, claimed_at = now()
                 RETURNING job_id, etag, last_modified",
            )
            .bind(url)
            .bind(job_id)
            .fetch_one(&self.pool)
            .await?
        } else {
            // Either our insert's row or the existing one. When another fetcher inserted the same URL an instant
            // earlier, this statement's snapshot sees neither, so ask again: the next one sees theirs.
            let mut attempt = 0;
            loop {
                let row = sqlx::query(
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
                .await?;
                match row {
                    Some(row) => break row,
                    None if attempt < 3 => attempt += 1,
                    None => return Err(sqlx::Error::RowNotFound),
                }
            }
        };
        let owner: uuid::Uuid = row.get(0);
        if owner != job_id {
            return Ok(Claim::Duplicate);
        }
        let validators = Validators { etag: row.get(1), last_modified: row.get(2) };
        Ok(Claim::Ours(if refresh { validators } else { Validators::default() }))
    }

    /// Of these canonical URLs, those claimed (stored or in flight) by jobs other than `job_ids`: a feed
    /// polled again queues only its new items, and a redelivered one queues the same jobs as the first time.
    pub async fn claimed_by_others(
        &self,
        urls: &[String],
        job_ids: &[uuid::Uuid],
    ) -> Result<std::collections::HashSet<String>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT url FROM url_claims WHERE url = ANY($1) AND NOT (job_id = ANY($2))")
                .bind(urls)
                .bind(job_ids)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }
}
