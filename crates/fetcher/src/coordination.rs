//! What the fetchers agree on through PostgreSQL, so that it holds however many of them run: each host's
//! request slots (politeness, crawl-delay, Retry-After), its robots.txt, and which URLs are already claimed.
//! The queries are `newspipe_db`'s (`hosts`, `claims`); this is the fetcher's side: its settings, and the
//! robots.txt it remembers between queries.
//!
//! Why the database and not the broker: docs/decisions/0001-postgresql-for-politeness.md. In short, per-host
//! limits need shared state that every replica updates atomically; sharding queues by host would let one
//! fetcher take every shard. A row per host, updated in one statement, is exact, needs no leader and
//! survives any replica dying.

use std::sync::Arc;
use std::time::Duration;

use newspipe_db::{Database, DbError, TurnLimits};
use newspipe_discover::RobotsTxt;
use newspipe_models::JobId;
use serde::Deserialize;

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
    database: Database,
    settings: PolitenessSettings,
    /// Each host's parsed robots.txt, remembered by this fetcher for a while (see [`Coordinator::new`]).
    robots_memo: moka::sync::Cache<String, Arc<RobotsTxt>>,
}

/// How long a fetcher trusts the robots.txt it read, at most (shorter if `robots_ttl_secs` is).
const ROBOTS_MEMO_SECS: u64 = 600;
/// Bytes of robots.txt a fetcher remembers across all hosts: a bound on the memo's memory.
const ROBOTS_MEMO_BYTES: u64 = 8 * 1024 * 1024;

type Result<T> = std::result::Result<T, DbError>;

impl Coordinator {
    /// Robots.txt is shared through the database; each fetcher also remembers what it read for up to
    /// ten minutes, so a host's pages do not each read and parse it again (a query and a parse per URL,
    /// otherwise). A robots.txt fetched again by another fetcher is seen here when the memo expires.
    pub fn new(database: Database, settings: PolitenessSettings) -> Self {
        let memo_secs = ROBOTS_MEMO_SECS.min(settings.robots_ttl_secs).max(1);
        let robots_memo = moka::sync::Cache::builder()
            .max_capacity(ROBOTS_MEMO_BYTES)
            .weigher(|host: &String, robots: &Arc<RobotsTxt>| {
                u32::try_from(host.len() + robots.source_bytes() + 256).unwrap_or(u32::MAX)
            })
            .time_to_live(Duration::from_secs(memo_secs))
            .build();
        Coordinator { database, settings, robots_memo }
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
    /// [`Coordinator::release`] (or until `lease` passes, should this fetcher die). See
    /// `Database::take_turn`.
    pub async fn take_turn(&self, host: &str, job_id: JobId, lease: Duration) -> Result<Turn> {
        let limits = TurnLimits {
            interval: Duration::from_secs_f64(self.interval_secs(None)),
            slack: Duration::from_millis(self.settings.slack_ms),
            max_hold: Duration::from_millis(self.settings.max_hold_ms),
            max_concurrent: self.settings.max_concurrent_per_host,
            lease,
        };
        let answer = self.database.take_turn(host, job_id, limits).await?;
        Ok(if answer.granted { Turn::WaitThenFetch(answer.wait) } else { Turn::ComeBack(answer.wait) })
    }

    /// The request of `job_id` is over: its lease no longer counts against the host.
    pub async fn release(&self, job_id: JobId) -> Result<()> {
        self.database.release_lease(job_id).await
    }

    /// The host asked us to slow down (429/503 with Retry-After): no fetcher sends it anything before then
    /// (at most `max_retry_after_secs`).
    pub async fn block_host(&self, host: &str, retry_after: Duration) -> Result<()> {
        let longest = Duration::from_secs(self.settings.max_retry_after_secs);
        self.database.block_host(host, retry_after.min(longest)).await
    }

    /// The cached robots.txt of a host, if fetched within the TTL.
    pub async fn cached_robots(&self, host: &str) -> Result<Option<Vec<u8>>> {
        self.database.cached_robots(host, Duration::from_secs(self.settings.robots_ttl_secs)).await
    }

    /// Whether this job may fetch the host's robots.txt now (see `Database::claim_robots`).
    pub async fn claim_robots(&self, host: &str) -> Result<bool> {
        self.database.claim_robots(host).await
    }

    /// Gives the claim back without a robots.txt (it could not be fetched), so another job may try.
    pub async fn unclaim_robots(&self, host: &str) -> Result<()> {
        self.database.unclaim_robots(host).await
    }

    pub async fn save_robots(&self, host: &str, robots: &[u8], crawl_delay: Option<Duration>) -> Result<()> {
        self.database.save_robots(host, robots, crawl_delay).await
    }

    /// Claims a canonical URL for a job (the claim's life: `newspipe_db::claims`). A refresh takes the
    /// claim over; otherwise a URL stored or in flight under another job is a duplicate.
    pub async fn claim(&self, url: &str, job_id: JobId, refresh: bool) -> Result<Claim> {
        Ok(match self.database.claim_url(url, job_id, refresh).await? {
            newspipe_db::Claim::Ours { etag, last_modified } => {
                Claim::Ours(Validators { etag, last_modified })
            }
            newspipe_db::Claim::Duplicate => Claim::Duplicate,
        })
    }

    /// Of these canonical URLs, those claimed (stored or in flight) by jobs other than `job_ids`.
    pub async fn claimed_by_others(
        &self,
        urls: &[String],
        job_ids: &[JobId],
    ) -> Result<std::collections::HashSet<String>> {
        self.database.claimed_by_others(urls, job_ids).await
    }
}
