//! What the fault tests (chaos, cluster) check at the end of a run: every URL submitted has exactly one
//! outcome, the one expected; nothing is stored twice; no queue holds anything unexplained; every dead
//! letter belongs to a job that still got its outcome.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use lapin::Channel;
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::AMQPValue;
use uuid::Uuid;

use super::TestApp;

/// url -> the outcome it must end with, and the reason (when it matters).
pub type Expected = HashMap<String, (&'static str, Option<&'static str>)>;

/// job id, url, outcome, reason, article id
type OutcomeRow = (Uuid, String, String, Option<String>, Option<i64>);

/// Waits until `expected` outcomes are recorded and then no message is ready in any work or delay queue for
/// three seconds in a row, or until `deadline`. Returns how long the outcomes took (from `started`), or
/// `None` if the deadline came first. `alive` is asked every second: an error ends the wait with it.
pub async fn settle(
    app: &mut TestApp,
    channel: &Channel,
    expected: i64,
    started: Instant,
    deadline: Instant,
    mut alive: impl FnMut(&mut TestApp) -> Result<(), String>,
) -> Result<Option<Duration>, String> {
    let dead_queue = app.topology().dead_queue();
    let mut finished_at = None;
    let mut quiet = 0;
    while quiet < 3 {
        alive(app)?;
        let count = app.outcome_count().await;
        if count >= expected && finished_at.is_none() {
            finished_at = Some(started.elapsed());
        }
        // The broker may be changing leaders: a failed read is one more second of waiting.
        let ready: Option<u32> = match app.topology().stats(channel).await {
            Ok(stats) => Some(stats.iter().filter(|q| q.name != dead_queue).map(|q| q.messages).sum()),
            Err(_) => None,
        };
        quiet = if finished_at.is_some() && ready == Some(0) { quiet + 1 } else { 0 };
        if Instant::now() > deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(finished_at)
}

/// The end of a run, counted. Take it after every worker is stopped, so that what one still held unacked
/// is back in its queue.
#[derive(Debug, Default)]
pub struct Audit {
    pub lost: Vec<String>,
    pub extra_outcomes: usize,
    pub extra_articles: usize,
    pub wrong: Vec<String>,
    pub unknown: Vec<String>,
    pub left: Vec<String>,
    pub dead_lettered: u32,
    pub unexplained_dead_letters: Vec<String>,
    pub articles: i64,
    pub distinct_article_urls: i64,
    pub stored_outcomes: usize,
}

impl Audit {
    /// Outcomes and articles beyond one per URL.
    pub fn duplicated(&self) -> usize {
        self.extra_outcomes + self.extra_articles
    }

    /// Each check that failed, said with examples; empty when the run kept every promise.
    pub fn failures(&self) -> Vec<String> {
        let sample = |items: &[String]| items.iter().take(20).cloned().collect::<Vec<_>>().join("\n  ");
        let checks = [
            (
                self.lost.is_empty(),
                format!("{} URLs have no outcome:\n  {}", self.lost.len(), sample(&self.lost)),
            ),
            (
                self.duplicated() == 0,
                format!("{} extra outcome rows, {} extra articles", self.extra_outcomes, self.extra_articles),
            ),
            (
                self.wrong.is_empty(),
                format!(
                    "{} URLs ended otherwise than expected:\n  {}",
                    self.wrong.len(),
                    sample(&self.wrong)
                ),
            ),
            (self.unknown.is_empty(), format!("outcomes for URLs never submitted: {:?}", self.unknown)),
            (self.left.is_empty(), format!("messages left in queues: {:?}", self.left)),
            (
                self.unexplained_dead_letters.is_empty(),
                format!(
                    "dead letters of jobs without an outcome:\n  {}",
                    sample(&self.unexplained_dead_letters)
                ),
            ),
            (
                self.articles == self.distinct_article_urls && self.articles as usize == self.stored_outcomes,
                format!(
                    "{} articles ({} URLs) for {} stored outcomes",
                    self.articles, self.distinct_article_urls, self.stored_outcomes
                ),
            ),
        ];
        checks.into_iter().filter(|(ok, _)| !ok).map(|(_, why)| why).collect()
    }
}

/// Counts the run's end against `expected`; drains (acks) the dead-letter queue as it reads it.
pub async fn audit(app: &TestApp, channel: &Channel, expected: &Expected) -> Audit {
    let dead_queue = app.topology().dead_queue();
    let stats = app.topology().stats(channel).await.unwrap();
    let left: Vec<String> = stats
        .iter()
        .filter(|q| q.name != dead_queue && q.messages > 0)
        .map(|q| format!("{}: {}", q.name, q.messages))
        .collect();

    // Outcomes: exactly one per URL, the expected one; articles: one per stored outcome.
    let rows: Vec<OutcomeRow> =
        sqlx::query_as("SELECT job_id, url, outcome, reason, article_id FROM outcomes")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let mut per_url: HashMap<&str, Vec<(&str, Option<&str>)>> = HashMap::new();
    for (_, url, outcome, reason, _) in &rows {
        per_url.entry(url.as_str()).or_default().push((outcome.as_str(), reason.as_deref()));
    }
    let lost: Vec<String> =
        expected.keys().filter(|url| !per_url.contains_key(url.as_str())).cloned().collect();
    let extra_outcomes: usize = per_url.values().map(|o| o.len() - 1).sum();
    let unknown: Vec<String> =
        per_url.keys().filter(|url| !expected.contains_key(**url)).map(|u| u.to_string()).collect();
    let wrong: Vec<String> = per_url
        .iter()
        .filter_map(|(url, outcomes)| {
            let (outcome, reason) = expected.get(*url)?;
            let ok = outcomes.iter().all(|(o, r)| o == outcome && (reason.is_none() || r == reason));
            (!ok).then(|| format!("{url}: {outcomes:?}, expected {outcome} {reason:?}"))
        })
        .collect();
    let (articles, distinct_article_urls): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT url) FROM articles")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let stored_articles: HashSet<i64> = rows.iter().filter(|r| r.2 == "stored").filter_map(|r| r.4).collect();
    let stored_outcomes = rows.iter().filter(|r| r.2 == "stored").count();
    // An article row that no stored outcome points at is a page stored twice (or stored without its outcome).
    let extra_articles = (articles - stored_articles.len() as i64).max(0) as usize;

    // Dead letters: each must belong to a job that still got its outcome (a redundant copy), else it is a loss.
    let jobs_with_outcome: HashSet<Uuid> = rows.iter().map(|r| r.0).collect();
    let mut dead_lettered = 0;
    let mut unexplained_dead_letters = Vec::new();
    while let Some(message) =
        channel.basic_get(dead_queue.as_str().into(), BasicGetOptions::default()).await.unwrap()
    {
        dead_lettered += 1;
        let properties = &message.delivery.properties;
        let job = properties.correlation_id().as_ref().and_then(|id| Uuid::parse_str(id.as_str()).ok());
        let header = |key: &str| match properties.headers().as_ref().and_then(|h| h.inner().get(key)) {
            Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            Some(other) => format!("{other:?}"),
            None => "-".into(),
        };
        if !job.is_some_and(|job| jobs_with_outcome.contains(&job)) {
            unexplained_dead_letters.push(format!(
                "job {job:?} from {}: {} (x-death {})",
                header("x-newspipe-queue"),
                header("x-newspipe-reason"),
                header("x-death")
            ));
        }
        message.delivery.acker.ack(BasicAckOptions::default()).await.unwrap();
    }
    Audit {
        lost,
        extra_outcomes,
        extra_articles,
        wrong,
        unknown,
        left,
        dead_lettered,
        unexplained_dead_letters,
        articles,
        distinct_article_urls,
        stored_outcomes,
    }
}
