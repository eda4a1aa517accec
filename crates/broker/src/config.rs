use std::time::Duration;

use newspipe_runtime::SecretUrls;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerSettings {
    /// AMQP URL of RabbitMQ, or of each node of a RabbitMQ cluster: a comma-separated string or a list, each
    /// a whole URL with its own credentials and TLS parameters. Every process tries the nodes in a shuffled
    /// order and connects to the first that answers; when its node goes away it reconnects to another.
    /// `AMQP_URL` overrides it.
    pub url: SecretUrls,
    /// RabbitMQ's management API, where `newspipe status` reads each queue's rates and the cluster's nodes:
    /// `http://host:port`, or one per node (a comma-separated string or a list), tried in turn. Empty: the
    /// host of each node of `url` on port 15672 (`https` on 15671 for `amqps`). A URL without credentials
    /// uses those of the first node of `url`.
    pub management_url: SecretUrls,
    /// How long connecting to one node may take before the next is tried (a node cut off the network
    /// answers nothing at all).
    pub connect_timeout_secs: u64,
    /// Replicas of each quorum queue when it is first declared (`x-quorum-initial-group-size`); 0 sends
    /// nothing and RabbitMQ's default applies (every cluster node, up to its configured limit). Changing it
    /// for queues that exist needs them drained and deleted first, like `max_queue_length` (README).
    pub quorum_initial_group_size: u32,
    /// Prefix of every exchange and queue name, so several pipelines (or tests) can share one broker.
    pub prefix: String,
    /// How many unacked messages a worker holds at once; this bounds its memory.
    pub prefetch: u16,
    /// How long a publish may wait for the broker's confirm before the worker reconnects.
    pub publish_timeout_secs: u64,
    /// Deliveries of one message (crashes included) before the broker dead-letters it.
    pub delivery_limit: u32,
    /// Maximum messages in each work queue (`x-max-length` with `reject-publish`): beyond it the broker
    /// refuses publishes, and publishers back off and retry (0 = unlimited).
    pub max_queue_length: QueueLengths,
    /// How long a publisher keeps retrying a message that a full queue refuses before giving up with an
    /// error (the message is then not acked, or not reported as submitted: never dropped).
    pub full_queue_wait_secs: u64,
    /// How long a worker keeps trying to reach a lost broker before exiting non-zero (0 = forever).
    pub reconnect_timeout_secs: u64,
    /// Time a worker gives messages in flight to finish after SIGTERM before closing.
    pub shutdown_grace_secs: u64,
    pub retry: RetrySettings,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            url: "amqp://127.0.0.1:5672/%2f".into(),
            management_url: SecretUrls::default(),
            connect_timeout_secs: 10,
            quorum_initial_group_size: 0,
            prefix: "newspipe".into(),
            prefetch: 16,
            publish_timeout_secs: 30,
            delivery_limit: 10,
            max_queue_length: QueueLengths::default(),
            full_queue_wait_secs: 600,
            reconnect_timeout_secs: 300,
            shutdown_grace_secs: 20,
            retry: RetrySettings::default(),
        }
    }
}

/// Length limits of the work queues, in messages. The defaults keep each full queue to roughly
/// 1 GB of broker disk with this pipeline's messages: fetch jobs are well under 1 KB, stored articles some
/// 10 KB, and pages (zstd-compressed) some 15-80 KB, so the queue of pages is the shortest. A full queue
/// holds its producers back (the stage before it stops acking and its own queue grows) instead of letting
/// the broker run out of disk, where RabbitMQ would block every publisher at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueLengths {
    pub fetch: u32,
    pub extract: u32,
    pub store: u32,
    /// WARC file jobs (a few hundred bytes each; one file is thousands of records).
    pub warc: u32,
    /// Pages waiting for a renderer (compressed like the extract queue's).
    pub render: u32,
}

impl Default for QueueLengths {
    fn default() -> Self {
        QueueLengths { fetch: 1_000_000, extract: 20_000, store: 100_000, warc: 100_000, render: 5_000 }
    }
}

impl QueueLengths {
    /// No limit on any work queue.
    pub const UNLIMITED: QueueLengths = QueueLengths { fetch: 0, extract: 0, store: 0, warc: 0, render: 0 };

    /// The limit of `queue`, if it has one.
    pub fn of(&self, queue: crate::Queue) -> Option<u32> {
        let length = match queue {
            crate::Queue::Fetch => self.fetch,
            crate::Queue::Extract => self.extract,
            crate::Queue::Store => self.store,
            crate::Queue::Warc => self.warc,
            crate::Queue::Render => self.render,
        };
        (length > 0).then_some(length)
    }
}

/// Transient failures are retried through delay queues: `base_delay_ms * 4^(n-1)` before attempt `n + 1`,
/// capped at `max_delay_ms`, for at most `max_attempts` attempts in all.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings { max_attempts: 5, base_delay_ms: 2_000, max_delay_ms: 600_000 }
    }
}

impl RetrySettings {
    /// The delay before the attempt that follows attempt `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 4u64.saturating_pow(attempt.saturating_sub(1));
        Duration::from_millis(self.base_delay_ms.saturating_mul(factor).min(self.max_delay_ms))
    }

    /// Every distinct delay in use: one delay queue each.
    pub fn delays(&self) -> Vec<Duration> {
        let mut delays: Vec<Duration> = (1..self.max_attempts.max(1)).map(|a| self.delay_after(a)).collect();
        delays.dedup();
        delays
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_fourfold_and_stop_at_the_cap() {
        let retry = RetrySettings { max_attempts: 6, base_delay_ms: 1_000, max_delay_ms: 30_000 };
        let delays: Vec<u64> = retry.delays().iter().map(|d| d.as_millis() as u64).collect();
        assert_eq!(delays, vec![1_000, 4_000, 16_000, 30_000]);
    }

    #[test]
    fn every_work_queue_is_limited_by_default_and_zero_means_unlimited() {
        let lengths = QueueLengths::default();
        assert_eq!(lengths.of(crate::Queue::Fetch), Some(1_000_000));
        assert_eq!(lengths.of(crate::Queue::Extract), Some(20_000));
        assert_eq!(lengths.of(crate::Queue::Store), Some(100_000));
        assert_eq!(QueueLengths { store: 0, ..lengths }.of(crate::Queue::Store), None);
    }

    #[test]
    fn a_single_attempt_needs_no_delay_queue() {
        let retry = RetrySettings { max_attempts: 1, ..RetrySettings::default() };
        assert!(retry.delays().is_empty());
    }
}
