//! The pipeline's status, as `newspipe status --json` prints it and `GET /v1/status` answers: queue depths,
//! consumers and rates, outcomes, throughput, the top reasons, dead letters, WARC and history progress.

use std::collections::HashMap;
use std::time::Instant;

use lapin::Channel;
use newspipe_broker::{QueueStats, Topology};
use newspipe_db::{Database, OutcomeCounts, RecentOutcomes};
use serde::Serialize;

use crate::management::{ClusterNode, Management, QueueDetails};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub queues: Vec<QueueRow>,
    /// Why the queues' in/out rates are null: the management API could not be asked (or `null`).
    pub rates_unavailable: Option<String>,
    /// The broker's nodes, from the management API (null when it could not be asked).
    pub cluster: Option<Cluster>,
    pub dead_letters: u32,
    pub outcomes: OutcomeCounts,
    pub recent_outcomes: RecentOutcomes,
    /// Outcomes recorded per second over the last minute: the pipeline's throughput.
    pub outcomes_per_second: f64,
    pub articles: i64,
    /// Articles without a search vector: stored before the store made them (decision 0009), until its
    /// indexer reaches them.
    pub articles_waiting_for_search_index: i64,
    pub top_reasons: Vec<Reason>,
    pub top_failure_reasons: Vec<Reason>,
    /// WARC files submitted (`submit --warc`): files by state, records read, articles stored from them.
    pub warc: newspipe_db::WarcProgress,
    /// Article history: versions made (edits seen), revisits scheduled, due and late.
    pub history: newspipe_db::RevisitCounts,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueRow {
    #[serde(flatten)]
    pub stats: QueueStats,
    /// Messages published into the queue per second (null when the management API is unavailable).
    pub in_per_second: Option<f64>,
    /// Messages delivered to consumers (or fetched) per second.
    pub out_per_second: Option<f64>,
    /// Deliveries acknowledged per second.
    pub acked_per_second: Option<f64>,
    /// Change in depth per second since the previous sample (only when sampled again, as `status --watch`).
    pub depth_change_per_second: Option<f64>,
    /// The node of the quorum queue's leader (null when the management API is unavailable).
    pub leader: Option<String>,
    /// The nodes that hold a replica of the queue.
    pub members: Option<Vec<String>>,
    /// The members that are up now.
    pub online: Option<Vec<String>>,
}

/// The broker's cluster: a single broker is a cluster of one node.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Cluster {
    pub nodes: Vec<ClusterNode>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reason {
    pub outcome: String,
    /// The reason's stable code (`http_404`): what `retry --reason` and the metric labels use.
    pub reason_code: String,
    pub reason: String,
    pub count: i64,
}

/// Takes status samples, remembering the previous queue depths for the change per second.
pub struct Sampler {
    management: Result<Management, String>,
    previous: Option<(Instant, HashMap<String, u32>)>,
}

impl Sampler {
    pub fn new(broker: &newspipe_broker::BrokerSettings) -> Sampler {
        Sampler { management: Management::new(broker), previous: None }
    }

    /// One status, read now: queues through `channel` (declared by `topology`), rates from the management
    /// API (or why they are missing), everything else from the database.
    pub async fn sample(
        &mut self,
        database: &Database,
        topology: &Topology,
        channel: &Channel,
    ) -> anyhow::Result<Status> {
        let queues = topology.stats(channel).await?;
        self.sample_with(database, topology, queues).await
    }

    /// [`Sampler::sample`] with the queues' depths and consumers already read (from the broker), so that a
    /// caller can tell a broker's failure from the database's.
    pub async fn sample_with(
        &mut self,
        database: &Database,
        topology: &Topology,
        queues: Vec<QueueStats>,
    ) -> anyhow::Result<Status> {
        let now = Instant::now();
        let (details, nodes) = match &self.management {
            Ok(management) => {
                let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
                futures_util::join!(management.queues(&names), management.nodes())
            }
            Err(why) => (Err(why.clone()), Err(why.clone())),
        };
        let rows = queues
            .into_iter()
            .map(|stats| {
                let depth_change_per_second = self.previous.as_ref().and_then(|(at, depths)| {
                    let seconds = now.duration_since(*at).as_secs_f64();
                    depths.get(&stats.name).map(|d| (f64::from(stats.messages) - f64::from(*d)) / seconds)
                });
                let queue: Option<QueueDetails> =
                    details.as_ref().ok().map(|d| d.get(&stats.name).cloned().unwrap_or_default());
                let rates = queue.as_ref().map(|q| q.rates);
                let queue = queue.unwrap_or_default();
                QueueRow {
                    in_per_second: rates.map(|r| r.published),
                    out_per_second: rates.map(|r| r.delivered),
                    acked_per_second: rates.map(|r| r.acked),
                    stats,
                    depth_change_per_second,
                    leader: queue.leader,
                    members: queue.members,
                    online: queue.online,
                }
            })
            .collect::<Vec<_>>();
        self.previous = Some((now, rows.iter().map(|r| (r.stats.name.clone(), r.stats.messages)).collect()));
        let cluster = nodes.ok().map(|nodes| Cluster { nodes });
        collect(database, topology, rows, details.err(), cluster).await
    }
}

async fn collect(
    database: &Database,
    topology: &Topology,
    queues: Vec<QueueRow>,
    rates_unavailable: Option<String>,
    cluster: Option<Cluster>,
) -> anyhow::Result<Status> {
    let dead_letters =
        queues.iter().find(|q| q.stats.name == topology.dead_queue()).map_or(0, |q| q.stats.messages);
    let recent_outcomes = database.recent_outcomes().await?;
    let m = &recent_outcomes.last_minute;
    let outcomes_per_second = (m.stored + m.skipped + m.failed + m.unchanged) as f64 / 60.0;
    Ok(Status {
        queues,
        rates_unavailable,
        cluster,
        dead_letters,
        outcomes: database.outcome_counts().await?,
        recent_outcomes,
        outcomes_per_second,
        articles: database.article_count().await?,
        articles_waiting_for_search_index: database.search_backlog().await?,
        warc: database.warc_progress().await?,
        history: database.revisit_counts().await?,
        top_reasons: database
            .top_reasons(10)
            .await?
            .into_iter()
            .map(|(outcome, reason_code, reason, count)| Reason { outcome, reason_code, reason, count })
            .collect(),
        top_failure_reasons: database
            .top_failure_reasons(5)
            .await?
            .into_iter()
            .map(|(reason_code, reason, count)| Reason {
                outcome: "failed".into(),
                reason_code,
                reason,
                count,
            })
            .collect(),
    })
}
