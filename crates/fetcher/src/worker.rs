//! The fetcher worker: fetch jobs in; raw pages, discovered jobs or outcomes out.
//!
//! For each job: canonicalise the URL, claim it (a URL stored or in flight under another job is a
//! `duplicate`), respect robots.txt, wait for the host's turn (shared by every fetcher through PostgreSQL),
//! fetch, then either pass the page on to the extractor or, for a feed or sitemap, queue a job per entry.
//! With `fetcher.warc.dir` set, every response (and its request) is archived, and on disk, before the job's
//! page or outcome is published (see [`crate::archive`]).

use std::sync::Arc;
use std::time::Duration;

use newspipe_broker::{BrokerSettings, Disposition, Handler, Incoming, Outgoing, Queue, run_worker};
use newspipe_db::{Database, DatabaseSettings, DbError};
use newspipe_discover::{
    CanonicalSettings, DiscoveredUrl, DiscoveryLimits, DocumentKind, RobotsTxt, Sitemap, canonicalize,
    feed_links, filter_since, parse_feed, parse_sitemap, sniff,
};
use newspipe_models::{
    FailureReason, FeedHints, FetchJob, JobId, JobKind, Outcome, RawPage, SCHEMA_VERSION, SkipReason,
    StoreRequest, WarcLocation, decode_json, encode_json, encode_page,
};
use newspipe_runtime::{Health, InternalEvent, LogSettings, MetricsSettings, ProcessSettings, SettingsError};
use serde::Deserialize;

use crate::archive::Archive;
use crate::coordination::{Claim, Coordinator, PolitenessSettings, Turn};
use crate::{FetchError, FetchedPage, FetcherSettings, HttpFetcher, RevisitSettings, Validators};

/// The content type of a raw page message (see `newspipe_models::encode_page`).
pub const PAGE_CONTENT_TYPE: &str = "application/x-newspipe-page";

/// Turns a job takes in a row, each lost by waking too late for it, before it comes back later instead.
const MAX_LATE_TURNS: usize = 3;

/// How long a job waits before trying again while the database is unreachable.
const DATABASE_DOWN_RETRY: Duration = Duration::from_secs(5);

/// How long a job waits before trying again when its responses could not be archived (a full disk...).
const ARCHIVE_DOWN_RETRY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub database: DatabaseSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub fetcher: FetcherSettings,
    pub politeness: PolitenessSettings,
    pub discovery: DiscoveryLimits,
    pub canonical: CanonicalSettings,
    pub revisit: RevisitSettings,
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn validate(&self) -> Result<(), SettingsError> {
        newspipe_runtime::check_credentials_of_each("broker.url", &self.broker.url)?;
        newspipe_runtime::check_credentials("database.url", &self.database.url)?;
        self.fetcher.validate().map_err(|why| SettingsError::Message(format!("fetcher settings: {why}")))
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let health = Health::default();
    let database = Database::open_when_reachable(&settings.database, &health.component("database")).await?;
    let coordinator = Coordinator::new(database.clone(), settings.politeness.clone());
    tokio::spawn(crate::watch::run_scheduler(
        database.clone(),
        settings.broker.clone(),
        settings.revisit.clone(),
        Duration::from_millis(settings.politeness.interval_ms),
    ));
    let archive = match settings.fetcher.warc.dir.clone() {
        Some(dir) => {
            let (warc, user_agent) = (settings.fetcher.warc.clone(), settings.fetcher.user_agent.clone());
            // Closing a crashed fetcher's files reads them whole: off the async threads.
            let archive =
                tokio::task::spawn_blocking(move || Archive::open(&dir, &warc, &user_agent)).await??;
            tracing::info!(dir = %archive.dir().display(), "archiving every response as WARC");
            Some(archive)
        }
        None => None,
    };
    let handler = FetchHandler {
        fetcher: HttpFetcher::new(&settings.fetcher)?,
        coordinator,
        discovery: settings.discovery.clone(),
        canonical: settings.canonical.clone(),
        archive: archive.clone(),
    };
    let result = run_worker(Queue::Fetch, handler, &settings.broker, &settings.metrics, health).await;
    // The open WARC file gets its final name only now, whatever stopped the worker: a file without it is
    // one a crash left, for the next fetcher to close.
    if let Some(archive) = archive {
        tokio::task::spawn_blocking(move || archive.close()).await??;
    }
    result?;
    Ok(())
}

pub struct FetchHandler {
    pub fetcher: HttpFetcher,
    pub coordinator: Coordinator,
    pub discovery: DiscoveryLimits,
    pub canonical: CanonicalSettings,
    /// Where responses are archived, when `fetcher.warc.dir` is set.
    pub archive: Option<Archive>,
}

impl Handler for FetchHandler {
    async fn handle(&self, message: Incoming) -> Disposition {
        let job: FetchJob = match decode_json(&message.body) {
            Ok(job) => job,
            Err(error) => return Disposition::DeadLetter { reason: error.to_string() },
        };
        let url = match canonicalize(&job.url, &self.canonical) {
            Ok(canonical) => canonical.url,
            Err(error) => {
                tracing::info!(url = %job.url, %error, "refused");
                return Disposition::Forward(vec![outcome(
                    &job,
                    Outcome::Failed { reason: FailureReason::InvalidUrl },
                )]);
            }
        };
        match self.process(&job, &url, &message).await {
            Ok(disposition) => disposition,
            Err(error) => {
                tracing::warn!(%error, "database unavailable; trying the job again later");
                Disposition::Defer { after: DATABASE_DOWN_RETRY }
            }
        }
    }
}

impl FetchHandler {
    async fn process(&self, job: &FetchJob, url: &str, message: &Incoming) -> Result<Disposition, DbError> {
        let host = site_key(url);
        let validators = if job.kind == JobKind::Page {
            match self.coordinator.claim(url, job.job_id, job.refresh).await? {
                Claim::Duplicate => {
                    return Ok(Disposition::Forward(vec![outcome(
                        job,
                        Outcome::Skipped { reason: SkipReason::Duplicate },
                    )]));
                }
                Claim::Ours(validators) => validators,
            }
        } else {
            Validators::default()
        };

        let robots = match self.robots(url, &host, job.job_id).await? {
            Ok(robots) => robots,
            Err(RobotsUnknown::NotYourTurn(disposition)) => return Ok(disposition),
            Err(RobotsUnknown::Unreachable(reason)) => {
                // RFC 9309: an unreachable robots.txt means "assume disallowed for now": try later, and if it
                // stays unreachable the job fails saying so (it must not vanish with its retries).
                let failed = outcome(job, Outcome::Failed { reason: reason.clone() });
                return Ok(Disposition::Retry {
                    reason: reason.to_string(),
                    after: None,
                    exhausted: vec![failed],
                });
            }
        };
        if !robots.allowed(url) {
            tracing::info!(url, "disallowed by robots.txt");
            return Ok(Disposition::Forward(vec![outcome(
                job,
                Outcome::Skipped { reason: SkipReason::Robots },
            )]));
        }
        if let Err(disposition) = self.wait_for_turn(&host, job.job_id).await? {
            return Ok(disposition);
        }

        let started = std::time::Instant::now();
        let (result, exchanges) = self.fetch(url, &validators).await;
        self.coordinator.release(job.job_id).await?;
        // Archived, and on disk, before anything about the job is published: a stored article's location
        // then names a record that exists. Unarchived, the job comes back later (and is fetched again).
        let warc = match self.archive(exchanges).await {
            Ok(location) => location,
            Err(error) => {
                tracing::error!(url, %error, "cannot archive the response; trying the job again later");
                return Ok(Disposition::Defer { after: ARCHIVE_DOWN_RETRY });
            }
        };
        if job.revisit_step.is_some() {
            let result = match &result {
                Ok(_) => "page",
                Err(FetchError::HttpStatus { status: 304, .. }) => "not_modified",
                Err(error) => error.reason().code(),
            };
            crate::events::RevisitFetched { result }.emit();
        }
        match result {
            Ok(page) => {
                crate::events::PageFetched {
                    bytes: page.body.len(),
                    status: page.status,
                    elapsed: started.elapsed(),
                }
                .emit();
                self.route(job, url, page, &robots, warc).await
            }
            Err(FetchError::HttpStatus { status: 304, .. }) => {
                Ok(Disposition::Forward(vec![outcome(job, Outcome::Unchanged)]))
            }
            Err(error) => {
                crate::events::FetchFailed { url, error: &error, attempt: message.attempt }.emit();
                if matches!(error.status(), Some(429 | 503)) {
                    // The whole host slows down, not only this URL.
                    let pause = error.retry_after().unwrap_or(Duration::from_secs(5));
                    self.coordinator.block_host(&host, pause).await?;
                }
                let failed = outcome(job, Outcome::Failed { reason: error.reason() });
                Ok(if error.is_transient() {
                    Disposition::Retry {
                        reason: error.reason().to_string(),
                        after: error.retry_after(),
                        exhausted: vec![failed],
                    }
                } else {
                    Disposition::Forward(vec![failed])
                })
            }
        }
    }

    /// Fetches `url`, recording the exchanges when there is an archive.
    async fn fetch(
        &self,
        url: &str,
        validators: &Validators,
    ) -> (Result<FetchedPage, FetchError>, Vec<crate::Exchange>) {
        let mut exchanges = Vec::new();
        let result = match &self.archive {
            Some(_) => self.fetcher.fetch_recorded(url, validators, &mut exchanges).await,
            None => self.fetcher.fetch_conditional(url, validators).await,
        };
        (result, exchanges)
    }

    /// Archives the exchanges of one fetch; the location of the last response, which is the page's when
    /// the fetch succeeded.
    async fn archive(
        &self,
        exchanges: Vec<crate::Exchange>,
    ) -> Result<Option<WarcLocation>, crate::archive::ArchiveError> {
        match &self.archive {
            Some(archive) => Ok(archive.write(exchanges).await?.pop()),
            None => Ok(None),
        }
    }

    /// Waits for the host's turn if it is near; otherwise the job comes back when it is due. A turn holds a
    /// lease on one of the host's concurrent requests until [`Coordinator::release`].
    ///
    /// Slots are `interval + slack` apart, so a request may leave up to `slack` after its slot and still be
    /// an interval after the one before. A fetcher that wakes later than that (a busy machine) could send
    /// too close to the next slot's request: it gives its slot up and takes a new one instead.
    async fn wait_for_turn(&self, host: &str, job_id: JobId) -> Result<Result<(), Disposition>, DbError> {
        // A lease outlives the longest request, so a fetcher that dies mid-request frees it soon after.
        let lease = self.fetcher.settings().timeout() + Duration::from_secs(5);
        let politeness = self.coordinator.settings();
        let slack = Duration::from_millis(politeness.slack_ms);
        // Without an interval (or without slack to spend) there is nothing to keep apart.
        let check_lateness = politeness.interval_ms > 0 && politeness.slack_ms > 0;
        for _ in 0..MAX_LATE_TURNS {
            match self.coordinator.take_turn(host, job_id, lease).await? {
                Turn::WaitThenFetch(wait) => {
                    crate::events::HostTurnWaited { wait }.emit();
                    // Sleeping `wait` from the answer never wakes before the slot; what it oversleeps is how
                    // late the request leaves.
                    let slot = tokio::time::Instant::now() + wait;
                    tokio::time::sleep_until(slot).await;
                    let late = slot.elapsed();
                    if !check_lateness || late <= slack {
                        return Ok(Ok(()));
                    }
                    tracing::debug!(
                        host,
                        late_ms = late.as_millis() as u64,
                        "woke too late for the host's turn"
                    );
                    self.coordinator.release(job_id).await?;
                }
                Turn::ComeBack(after) => return Ok(Err(Disposition::Defer { after })),
            }
        }
        // Too busy to keep a slot now: the job comes back shortly, through a delay queue, holding nothing.
        Ok(Err(Disposition::Defer { after: Duration::from_millis(500) }))
    }

    /// The host's robots.txt: remembered by this fetcher, else cached in the database, else fetched (in the
    /// host's turn) and cached.
    async fn robots(
        &self,
        url: &str,
        host: &str,
        job_id: JobId,
    ) -> Result<Result<Arc<RobotsTxt>, RobotsUnknown>, DbError> {
        let user_agent = &self.fetcher.settings().user_agent;
        if !self.coordinator.settings().respect_robots {
            return Ok(Ok(Arc::new(RobotsTxt::allow_all())));
        }
        if let Some(remembered) = self.coordinator.remembered_robots(host) {
            return Ok(Ok(remembered));
        }
        if let Some(cached) = self.coordinator.cached_robots(host).await? {
            return Ok(Ok(self.coordinator.remember_robots(host, RobotsTxt::parse(&cached, user_agent))));
        }
        let Ok(mut robots_url) = url::Url::parse(url) else {
            return Ok(Ok(Arc::new(RobotsTxt::allow_all())));
        };
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        // Another job is fetching it: come back when it is likely cached.
        if !self.coordinator.claim_robots(host).await? {
            return Ok(Err(RobotsUnknown::NotYourTurn(Disposition::Defer { after: Duration::from_secs(1) })));
        }
        if let Err(disposition) = self.wait_for_turn(host, job_id).await? {
            self.coordinator.unclaim_robots(host).await?;
            return Ok(Err(RobotsUnknown::NotYourTurn(disposition)));
        }
        let (fetched, exchanges) = self.fetch(robots_url.as_str(), &Validators::default()).await;
        self.coordinator.release(job_id).await?;
        // robots.txt is never published: an archive failure here is the page's to report (its own write
        // fails the same way), not a reason to forget the answer.
        if let Err(error) = self.archive(exchanges).await {
            tracing::warn!(url = %robots_url, %error, "cannot archive robots.txt");
        }
        let bytes = match fetched {
            Ok(page) => page.body,
            // No robots.txt (4xx): everything is allowed.
            Err(FetchError::HttpStatus { status, .. }) if (400..500).contains(&status) => Vec::new(),
            // Unreachable for now (5xx, timeout, connection): ask again later.
            Err(error) if error.is_transient() => {
                self.coordinator.unclaim_robots(host).await?;
                return Ok(Err(RobotsUnknown::Unreachable(FailureReason::RobotsUnreachable(Box::new(
                    error.reason(),
                )))));
            }
            // A permanent failure (a forbidden address, a TLS error...) will be the page's own failure too:
            // let the page's fetch report it, and cache nothing.
            Err(_) => {
                self.coordinator.unclaim_robots(host).await?;
                return Ok(Ok(Arc::new(RobotsTxt::allow_all())));
            }
        };
        let robots = RobotsTxt::parse(&bytes, user_agent);
        self.coordinator.save_robots(host, &bytes, robots.crawl_delay()).await?;
        Ok(Ok(self.coordinator.remember_robots(host, robots)))
    }

    /// A page goes to the extractor; a feed or sitemap becomes jobs for its entries.
    async fn route(
        &self,
        job: &FetchJob,
        url: &str,
        page: FetchedPage,
        robots: &RobotsTxt,
        warc: Option<WarcLocation>,
    ) -> Result<Disposition, DbError> {
        let content_type = page.headers.get("content-type").map(String::as_str);
        let kind = sniff(&page.body, content_type);
        let base = page.final_url.as_str();
        let discovered = match (job.kind, kind) {
            (_, DocumentKind::Rss | DocumentKind::Atom | DocumentKind::JsonFeed) => {
                parse_feed(&page.body, base, &self.discovery).map(|d| (d.urls, Vec::new(), d.truncated))
            }
            (_, DocumentKind::SitemapUrlSet | DocumentKind::SitemapIndex) => {
                parse_sitemap(&page.body, base, &self.discovery).map(|parsed| match parsed.sitemap {
                    Sitemap::UrlSet(urls) => (urls, Vec::new(), parsed.truncated),
                    Sitemap::Index(children) => (Vec::new(), children, parsed.truncated),
                })
            }
            (JobKind::Site, _) => Ok(self.site_documents(job, &page, robots)),
            (JobKind::Page, _) => return Ok(forward_page(job, url, page, warc)),
            (JobKind::Feed | JobKind::Sitemap, _) => {
                let content_type = content_type.unwrap_or("no content type").to_string();
                let reason = FailureReason::NotAFeedOrSitemap { content_type };
                return Ok(Disposition::Forward(vec![outcome(job, Outcome::Failed { reason })]));
            }
        };
        match discovered {
            Ok((pages, documents, truncated)) => self.expand(job, pages, documents, truncated).await,
            Err(error) => {
                tracing::info!(%error, "malformed feed or sitemap");
                Ok(Disposition::Forward(vec![outcome(
                    job,
                    Outcome::Failed {
                        reason: FailureReason::MalformedDocument { detail: error.to_string() },
                    },
                )]))
            }
        }
    }

    /// A site's home page: its feeds, and the sitemaps robots.txt lists (or the usual paths).
    fn site_documents(
        &self,
        job: &FetchJob,
        page: &FetchedPage,
        robots: &RobotsTxt,
    ) -> (Vec<DiscoveredUrl>, Vec<String>, bool) {
        let base = url::Url::parse(&page.final_url).ok();
        let mut documents: Vec<String> = feed_links(&page.body, &page.final_url);
        let sitemaps = robots.sitemaps();
        // The usual sitemap paths only when the site announces nothing: each miss would be a failed outcome.
        if sitemaps.is_empty()
            && documents.is_empty()
            && let Some(base) = &base
        {
            documents.extend(
                newspipe_discover::COMMON_SITEMAP_PATHS
                    .iter()
                    .filter_map(|p| base.join(p).ok())
                    .map(String::from),
            );
        }
        documents.extend(sitemaps);
        tracing::debug!(site = %job.url, documents = documents.len(), "site discovery");
        (Vec::new(), documents, false)
    }

    /// Queues one page job per new entry and one discovery job per child document, and records the parent's
    /// outcome with how many jobs it queued. Child job ids derive from the parent's id and the URL, so a
    /// redelivered parent queues the very same jobs again, which the store records once.
    async fn expand(
        &self,
        job: &FetchJob,
        pages: Vec<DiscoveredUrl>,
        documents: Vec<String>,
        truncated: bool,
    ) -> Result<Disposition, DbError> {
        let pages = filter_since(pages, job.since);
        let mut seen = std::collections::HashSet::new();
        let mut children: Vec<FetchJob> = Vec::new();
        for entry in pages {
            let Ok(canonical) = canonicalize(&entry.url, &self.canonical) else { continue };
            if !seen.insert(canonical.url.clone()) {
                continue;
            }
            let mut child = child_job(job, canonical.url, JobKind::Page);
            child.submitted_url = Some(canonical.original).filter(|original| *original != child.url);
            child.hints = Some(FeedHints {
                title: entry.title,
                published_at: entry.published_at,
                source: Some(job.url.clone()),
            });
            children.push(child);
        }
        // A feed polled again queues only what is new: URLs another job already stored or is fetching are left.
        let urls: Vec<String> = children.iter().map(|c| c.url.clone()).collect();
        let taken = self
            .coordinator
            .claimed_by_others(&urls, &children.iter().map(|c| c.job_id).collect::<Vec<_>>())
            .await?;
        children.retain(|child| !taken.contains(&child.url));
        let depth_left = job.depth < self.discovery.max_sitemap_depth;
        for document in documents {
            let Ok(canonical) = canonicalize(&document, &self.canonical) else { continue };
            if depth_left && seen.insert(canonical.url.clone()) {
                let mut child = child_job(job, canonical.url, JobKind::Sitemap);
                child.depth = job.depth + 1;
                children.push(child);
            }
        }
        crate::events::DocumentExpanded { jobs: children.len(), already_known: taken.len(), truncated }
            .emit();
        let mut outgoing: Vec<Outgoing> = children
            .iter()
            .map(|child| Outgoing::json(Queue::Fetch, encode_json(child)).for_job(child.job_id))
            .collect();
        let reason = SkipReason::Expanded { truncated };
        let mut request = StoreRequest::new(job.job_id, job.url.clone(), Outcome::Skipped { reason });
        request.parent_job_id = job.parent_job_id;
        request.children = Some(children.len() as u32);
        // The children first: the parent's outcome (what `submit --wait` counts on) only once they are queued.
        outgoing.push(Outgoing::json(Queue::Store, encode_json(&request)).for_job(job.job_id));
        Ok(Disposition::Forward(outgoing))
    }
}

/// Why a host's robots.txt is not known yet.
enum RobotsUnknown {
    /// The host's turn to be asked is not now.
    NotYourTurn(Disposition),
    /// It could not be fetched (the reason, for the outcome if it never can).
    Unreachable(FailureReason),
}

/// What politeness and robots.txt are kept per: the host and, when not the default, the port (robots.txt
/// applies to one scheme, host and port).
fn site_key(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            _ => String::new(),
        },
        Err(_) => String::new(),
    }
}

fn child_job(parent: &FetchJob, url: String, kind: JobKind) -> FetchJob {
    let job_id = JobId::derived(parent.job_id, &url);
    let mut child = FetchJob::new(job_id, url);
    child.kind = kind;
    child.parent_job_id = Some(parent.job_id);
    child.depth = parent.depth;
    child.since = parent.since;
    child.revisit = parent.revisit.clone();
    child
}

fn forward_page(job: &FetchJob, url: &str, page: FetchedPage, warc: Option<WarcLocation>) -> Disposition {
    let raw = RawPage {
        schema: SCHEMA_VERSION,
        job_id: job.job_id,
        url: url.to_string(),
        final_url: page.final_url,
        status: page.status,
        headers: page.headers,
        fetched_at: page.fetched_at,
        hints: job.hints.clone(),
        parent_job_id: job.parent_job_id,
        warc,
        revisit: job.revisit.clone(),
        rendering: None,
        body: page.body,
    };
    let outgoing = Outgoing::bytes(Queue::Extract, encode_page(&raw), PAGE_CONTENT_TYPE).compressed();
    Disposition::Forward(vec![outgoing.for_job(job.job_id)])
}

/// A store request recording this job's outcome, now (what the store orders a 304 or a 410 by).
pub fn outcome(job: &FetchJob, outcome: Outcome) -> Outgoing {
    let mut request = StoreRequest::new(job.job_id, job.url.clone(), outcome);
    request.parent_job_id = job.parent_job_id;
    request.fetched_at = Some(chrono::Utc::now());
    Outgoing::json(Queue::Store, encode_json(&request)).for_job(job.job_id)
}

#[cfg(test)]
mod tests {
    use newspipe_discover::DiscoverError;
    use newspipe_models::FailureReason;

    /// A feed or sitemap that cannot be read fails with its parser's message: every message reads back as
    /// `malformed_document`, never as `other`, so the code holds for rows read again later.
    #[test]
    fn every_unreadable_document_reads_back_as_a_malformed_document() {
        let base_url = "https://news.example/feed.xml".to_string();
        let errors = [
            DiscoverError::InvalidBaseUrl { base_url: "nope".into(), reason: "relative URL".into() },
            DiscoverError::MalformedFeed { base_url: base_url.clone(), message: "eof".into() },
            DiscoverError::MalformedSitemap {
                base_url: base_url.clone(),
                position: 9,
                message: "eof".into(),
            },
            DiscoverError::NotASitemap { base_url: base_url.clone(), root: "html".into() },
            DiscoverError::Gzip { base_url: base_url.clone(), message: "bad header".into() },
            DiscoverError::DecompressedTooLarge { base_url, limit: 10 },
        ];
        for error in errors {
            let reason = FailureReason::MalformedDocument { detail: error.to_string() };
            let read: FailureReason = reason.to_string().parse().unwrap();
            assert_eq!(read, reason, "{error}");
            assert_eq!(read.code(), "malformed_document");
        }
    }
}
