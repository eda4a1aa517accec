//! Revisits: each stored article is fetched again on a schedule (`revisit.schedule`, offsets from its first
//! fetch), conditionally (the claim's ETag / Last-Modified), to record how it changes (docs/history.md).
//!
//! The fetcher that schedules the watches schedules these too, in the same loop (see [`crate::watch`]). Each
//! tick it plans new rows, then queues what is due, no faster for a host than its politeness interval lets
//! it be fetched (one revisit per interval), so a site's revisits are spread out instead of queued at once;
//! the fetch itself takes its host's turn, robots.txt and the address guard like every fetch.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use newspipe_broker::{Outgoing, Publisher, Queue};
use newspipe_db::WatchScheduler;
use newspipe_db::revisits::DueRevisit;
use newspipe_models::{FetchJob, RevisitSchedule, encode_json};
use newspipe_runtime::InternalEvent;
use serde::Deserialize;

/// The `[revisit]` section of the fetcher's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RevisitSettings {
    /// Offsets from an article's first fetch at which it is fetched again (`1h,6h,24h,72h,7d`), or `off`.
    pub schedule: RevisitSchedule,
    /// A schedule per site: the key is a host, and applies to its subdomains too (`example.com` covers
    /// `www.example.com`); the longest matching key wins. A watched feed's `--revisit` wins over both.
    pub sites: BTreeMap<String, RevisitSchedule>,
    /// Most revisits queued per second by the scheduler (and rows planned per second).
    pub batch: u32,
}

impl Default for RevisitSettings {
    fn default() -> Self {
        RevisitSettings { schedule: RevisitSchedule::default(), sites: BTreeMap::new(), batch: 200 }
    }
}

impl RevisitSettings {
    /// The schedule of an article on `host`: its feed's (`own`, as stored), else its site's, else the
    /// default. A stored schedule that no longer parses falls back the same way.
    pub fn schedule_for(&self, host: &str, own: Option<&str>) -> RevisitSchedule {
        if let Some(schedule) = own.and_then(|s| s.parse().ok()) {
            return schedule;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.sites
            .iter()
            .filter(|(site, _)| {
                let site = site.trim_end_matches('.').to_ascii_lowercase();
                host == site || host.ends_with(&format!(".{site}"))
            })
            .max_by_key(|(site, _)| site.len())
            .map(|(_, schedule)| schedule.clone())
            .unwrap_or_else(|| self.schedule.clone())
    }
}

/// When step `step` of a schedule is due for an article first fetched at `first`; `None` after the last.
pub fn due_at(schedule: &RevisitSchedule, first: DateTime<Utc>, step: usize) -> Option<DateTime<Utc>> {
    let offset = chrono::Duration::from_std(schedule.offset(step)?).ok()?;
    // Never past the end of time: a step beyond it is no step (regression: an offset of 300000 years
    // panicked the scheduler, and every fetcher that took over from it).
    first.checked_add_signed(offset)
}

/// After step `queued` was queued at `now`: the next step and when it is due, skipping steps whose time has
/// passed already (after an outage, one revisit catches up, not one per missed step); `None`: it was the last.
pub fn next_step(
    schedule: &RevisitSchedule,
    first: DateTime<Utc>,
    queued: usize,
    now: DateTime<Utc>,
) -> Option<(usize, DateTime<Utc>)> {
    (queued + 1..schedule.offsets().len())
        .filter_map(|step| Some((step, due_at(schedule, first, step)?)))
        .find(|(_, due)| *due > now)
}

/// How often the scheduler's loop ticks (see [`crate::watch`]).
pub(crate) const TICK: Duration = Duration::from_secs(1);

/// The revisit half of the scheduler's loop, with what it remembers between ticks.
pub struct RevisitScheduler {
    settings: RevisitSettings,
    gap: Duration,
    /// When each host may have its next revisit queued.
    next_for_host: HashMap<String, Instant>,
}

impl RevisitScheduler {
    /// `politeness_interval`: the fetchers' gap between two requests to a host; revisits of a host are
    /// queued no closer than that (0: no spacing, as `politeness.interval_ms = 0` asks).
    pub fn new(settings: RevisitSettings, politeness_interval: Duration) -> RevisitScheduler {
        RevisitScheduler { settings, gap: politeness_interval, next_for_host: HashMap::new() }
    }

    /// How many revisits of one host a tick may queue: a tick's worth of its politeness interval, at least
    /// one; a whole batch without an interval.
    pub fn per_host(&self) -> i64 {
        let batch = i64::from(self.settings.batch.max(1));
        if self.gap.is_zero() {
            return batch;
        }
        i64::try_from(TICK.as_nanos() / self.gap.as_nanos()).unwrap_or(batch).clamp(1, batch)
    }

    /// One tick: plans new rows, then queues the revisits due now.
    pub async fn tick(
        &mut self,
        scheduler: &mut WatchScheduler,
        publisher: &Publisher,
    ) -> anyhow::Result<()> {
        let limit = i64::from(self.settings.batch.max(1));
        let unplanned = scheduler.unplanned_revisits(limit).await?;
        if !unplanned.is_empty() {
            let plans: Vec<(i64, Option<DateTime<Utc>>)> = unplanned
                .iter()
                .map(|row| {
                    let schedule = self.settings.schedule_for(&row.host, row.schedule.as_deref());
                    (row.article_id, due_at(&schedule, row.first_fetched_at, row.step.max(0) as usize))
                })
                .collect();
            scheduler.plan_revisits(&plans).await?;
        }

        let now = Instant::now();
        self.next_for_host.retain(|_, next| *next > now);
        let resting: Vec<String> = self.next_for_host.keys().cloned().collect();
        for revisit in scheduler.due_revisits(&resting, self.per_host(), limit).await? {
            self.queue(scheduler, publisher, &revisit).await?;
        }
        Ok(())
    }

    async fn queue(
        &mut self,
        scheduler: &mut WatchScheduler,
        publisher: &Publisher,
        revisit: &DueRevisit,
    ) -> anyhow::Result<()> {
        let step = revisit.step.max(0) as usize;
        let mut job = FetchJob::new(revisit.job_id(), revisit.url.clone());
        job.refresh = true;
        job.revisit_step = Some(step as u32);
        // Queue first, then advance: a crash in between queues this step again (the same job id), never
        // loses it.
        publisher.publish(&Outgoing::json(Queue::Fetch, encode_json(&job)).for_job(job.job_id)).await?;
        let now = Utc::now();
        let schedule = self.settings.schedule_for(&revisit.host, revisit.schedule.as_deref());
        let next = next_step(&schedule, revisit.first_fetched_at, step, now)
            .map(|(step, due)| (i16::try_from(step).unwrap_or(i16::MAX), due));
        scheduler.revisit_queued(revisit.article_id, revisit.step, next).await?;
        if !self.gap.is_zero() {
            // The host rests until the fetchers have had the time to fetch what was queued for it.
            let next = self.next_for_host.entry(revisit.host.clone()).or_insert_with(Instant::now);
            *next = (*next).max(Instant::now()) + self.gap;
        }
        crate::events::RevisitQueued {
            url: &revisit.url,
            job_id: job.job_id,
            step,
            lag: (now - revisit.due_at).to_std().unwrap_or_default(),
        }
        .emit();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn first() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap()
    }

    fn hours(n: i64) -> DateTime<Utc> {
        first() + chrono::Duration::hours(n)
    }

    #[test]
    fn each_step_is_due_at_its_offset_from_the_first_fetch_and_there_is_none_after_the_last() {
        let schedule = RevisitSchedule::default();
        assert_eq!(due_at(&schedule, first(), 0), Some(hours(1)));
        assert_eq!(due_at(&schedule, first(), 2), Some(hours(24)));
        assert_eq!(due_at(&schedule, first(), 4), Some(hours(24 * 7)));
        assert_eq!(due_at(&schedule, first(), 5), None);
        assert_eq!(due_at(&RevisitSchedule::off(), first(), 0), None);
        let far: RevisitSchedule = "3650d".parse().unwrap();
        assert!(
            due_at(&far, DateTime::<Utc>::MAX_UTC - chrono::Duration::days(1), 0).is_none(),
            "no overflow"
        );
    }

    #[test]
    fn the_next_step_follows_the_queued_one_and_skips_steps_whose_time_has_passed() {
        let schedule = RevisitSchedule::default();
        assert_eq!(next_step(&schedule, first(), 0, hours(1)), Some((1, hours(6))));
        // Queued two days late (an outage): the 6h and 24h steps are gone, the next is 72h.
        assert_eq!(next_step(&schedule, first(), 0, hours(50)), Some((3, hours(72))));
        assert_eq!(next_step(&schedule, first(), 4, hours(24 * 7)), None);
        assert_eq!(next_step(&schedule, first(), 1, hours(24 * 8)), None, "all passed: done");
    }

    #[test]
    fn a_feeds_schedule_wins_then_the_longest_matching_site_then_the_default() {
        let settings: RevisitSettings = serde_json::from_str(
            r#"{"schedule": "2h", "sites": {"example.com": "off", "live.example.com": ["10m", "1h"]}}"#,
        )
        .unwrap();
        assert_eq!(settings.schedule_for("other.org", None).to_string(), "2h");
        assert!(settings.schedule_for("example.com", None).is_off());
        assert!(settings.schedule_for("www.Example.com", None).is_off(), "subdomains, any case");
        assert_eq!(settings.schedule_for("live.example.com", None).to_string(), "10m,1h");
        assert_eq!(settings.schedule_for("notexample.com", None).to_string(), "2h", "not a suffix match");
        assert_eq!(settings.schedule_for("example.com", Some("30m")).to_string(), "30m");
        assert_eq!(settings.schedule_for("other.org", Some("garbage")).to_string(), "2h");
    }

    #[test]
    fn the_default_settings_are_the_documented_schedule_and_unknown_keys_are_refused() {
        let settings = RevisitSettings::default();
        assert_eq!(settings.schedule.to_string(), RevisitSchedule::default().to_string());
        assert_eq!(settings.batch, 200);
        assert!(serde_json::from_str::<RevisitSettings>(r#"{"schedul": "1h"}"#).is_err());
        assert!(serde_json::from_str::<RevisitSettings>(r#"{"schedule": "1x"}"#).is_err());
    }

    #[test]
    fn a_tick_queues_for_a_host_what_its_politeness_interval_lets_it_fetch_in_a_tick() {
        let per_host =
            |ms| RevisitScheduler::new(RevisitSettings::default(), Duration::from_millis(ms)).per_host();
        assert_eq!(per_host(1_000), 1, "the default interval: one a second");
        assert_eq!(per_host(5_000), 1, "a slow host: one, then it rests");
        assert_eq!(per_host(250), 4);
        assert_eq!(per_host(0), 200, "no interval: a whole batch");
    }
}
