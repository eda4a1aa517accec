//! Names and declaration of every exchange and queue. Every process declares the whole topology at start
//! (declarations are idempotent), so the order in which processes start does not matter.
//!
//! ```text
//! producer ──► <prefix> (direct) ──fetch──► <prefix>.fetch ──► fetcher
//!                                ──extract► <prefix>.extract ─► extractor
//!                                ──store──► <prefix>.store ───► store
//!                                ──render─► <prefix>.render ──► renderer ──extract──► (back to the extractor)
//! render: a page that waits in <prefix>.render past its expiration, or a poison one, is dead-lettered to
//!         <prefix> with routing key `extract`: extracted as it is, never lost (docs/rendering.md)
//! retry:  worker ──► <prefix>.delay (headers, by delay) ──► <prefix>.delay.<ms>ms (TTL) ──expired──► <prefix>
//! poison: worker ──► <prefix>.dead (fanout) ──► <prefix>.dead   ◄── also the work queues' dead-letter exchange
//! ```
//! Delay queues keep the message's routing key when they dead-letter it back, so one set of delay queues
//! serves every stage.
//!
//! Length limits: each work queue has `x-max-length` (`broker.max_queue_length`) with `x-overflow:
//! reject-publish`, so a full queue refuses (nacks) a publish instead of dropping anything; the publisher
//! backs off and retries ([`crate::Publisher`]), and a worker acks its input only after that publish is
//! confirmed, so the stage before slows down and its own queue grows. Messages that reach a work queue by
//! dead-lettering from a delay queue are not lost either: delay queues dead-letter `at-least-once` and keep
//! a message until the full work queue takes it. The dead-letter queue has no limit and no overflow
//! behaviour: a limit there would either refuse dead letters (the worker dead-lettering a poison message
//! would stall on it) or drop the oldest (the evidence an operator needs); it grows only by poison
//! messages, and `newspipe status` shows its depth. The delay queues have no limit either: what they hold
//! was taken out of a bounded work queue and is on its way back to it.

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};

use crate::{BrokerError, BrokerSettings, QueueLengths};

/// Header on a message sent to a delay queue: which delay queue it goes to. Not `x-` prefixed: headers
/// exchanges ignore `x-` headers when matching, and every delay queue would get a copy.
pub(crate) const DELAY_HEADER: &str = "newspipe-delay-ms";

/// Delay queues that always exist, for deferring a message that is not due yet (see `Disposition::Defer`),
/// whatever the retry settings.
const DEFER_DELAYS_MS: [u64; 5] = [250, 1_000, 5_000, 30_000, 120_000];

/// The work queues, one per stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    Fetch,
    Extract,
    Store,
    /// WARC files to read: one message per file, held by the reader for as long as the file takes.
    Warc,
    /// Pages the extractor found to be shells built by JavaScript, for the renderer's browser.
    Render,
}

impl Queue {
    pub const ALL: [Queue; 5] = [Queue::Fetch, Queue::Extract, Queue::Store, Queue::Warc, Queue::Render];

    /// The routing key on the work exchange, and the suffix of the queue name.
    pub fn routing_key(self) -> &'static str {
        match self {
            Queue::Fetch => "fetch",
            Queue::Extract => "extract",
            Queue::Store => "store",
            Queue::Warc => "warc",
            Queue::Render => "render",
        }
    }

    pub fn from_routing_key(key: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.routing_key() == key)
    }
}

/// What `newspipe status` shows of a queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct QueueStats {
    pub name: String,
    pub messages: u32,
    pub consumers: u32,
}

#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    delays: Vec<Duration>,
    delivery_limit: u32,
    max_queue_length: QueueLengths,
    full_queue_wait: Duration,
    /// `x-quorum-initial-group-size` of every queue; 0: not sent.
    quorum_initial_group_size: u32,
}

impl Topology {
    pub fn new(settings: &BrokerSettings) -> Self {
        Topology {
            prefix: settings.prefix.clone(),
            delays: {
                let mut delays = settings.retry.delays();
                delays.extend(DEFER_DELAYS_MS.iter().map(|ms| Duration::from_millis(*ms)));
                delays.sort();
                delays.dedup();
                delays
            },
            delivery_limit: settings.delivery_limit,
            max_queue_length: settings.max_queue_length,
            full_queue_wait: Duration::from_secs(settings.full_queue_wait_secs),
            quorum_initial_group_size: settings.quorum_initial_group_size,
        }
    }

    /// The `x-max-length` of a work queue, if it has one.
    pub fn max_length(&self, queue: Queue) -> Option<u32> {
        self.max_queue_length.of(queue)
    }

    /// How long a publisher retries a message refused by a full queue (`broker.full_queue_wait_secs`).
    pub fn full_queue_wait(&self) -> Duration {
        self.full_queue_wait
    }

    pub fn work_exchange(&self) -> String {
        self.prefix.clone()
    }

    pub fn queue_name(&self, queue: Queue) -> String {
        format!("{}.{}", self.prefix, queue.routing_key())
    }

    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub fn dead_queue(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub fn delay_exchange(&self) -> String {
        format!("{}.delay", self.prefix)
    }

    pub fn delay_queue(&self, delay: Duration) -> String {
        format!("{}.delay.{}ms", self.prefix, delay.as_millis())
    }

    /// The delay queue to use for a wanted delay: the shortest one at least as long, else the longest.
    pub fn delay_for(&self, wanted: Duration) -> Option<Duration> {
        self.delays.iter().copied().find(|d| *d >= wanted).or_else(|| self.delays.last().copied())
    }

    /// The delay queue for a deferral: the longest delay not beyond `wanted` (coming back early only means
    /// checking again), or the shortest.
    pub fn defer_delay(&self, wanted: Duration) -> Duration {
        let shortest = self.delays.first().copied().unwrap_or(Duration::from_millis(DEFER_DELAYS_MS[0]));
        self.delays.iter().copied().filter(|d| *d <= wanted).max().unwrap_or(shortest)
    }

    /// Every queue this topology declares.
    pub fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Queue::ALL.iter().map(|q| self.queue_name(*q)).collect();
        names.push(self.dead_queue());
        names.extend(self.delays.iter().map(|d| self.delay_queue(*d)));
        names
    }

    /// Declares every exchange, queue and binding. Idempotent; fails if an existing queue was declared
    /// with other arguments (for example another `broker.delivery_limit`), naming the queue.
    pub async fn declare(&self, channel: &Channel) -> Result<(), BrokerError> {
        let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        for (name, kind) in [
            (self.work_exchange(), ExchangeKind::Direct),
            (self.dead_exchange(), ExchangeKind::Fanout),
            (self.delay_exchange(), ExchangeKind::Headers),
        ] {
            channel
                .exchange_declare(name.as_str().into(), kind, durable, FieldTable::default())
                .await
                .map_err(BrokerError::amqp(format!("declare exchange {name}")))?;
        }

        for queue in Queue::ALL {
            let mut arguments = self.quorum_arguments();
            if queue == Queue::Render {
                // What no renderer took in time (its expiration, set by the extractor) or what kept killing
                // renderers (the delivery limit) goes on to be extracted as it is: a stack without a
                // renderer still ends every URL. The explicit dead letters of the consume loop (a message
                // that cannot be decoded) still go to the dead-letter exchange.
                arguments.insert("x-dead-letter-exchange".into(), long_string(&self.work_exchange()));
                arguments
                    .insert("x-dead-letter-routing-key".into(), long_string(Queue::Extract.routing_key()));
            } else {
                arguments.insert("x-dead-letter-exchange".into(), long_string(&self.dead_exchange()));
            }
            arguments.insert("x-delivery-limit".into(), AMQPValue::LongInt(self.delivery_limit as i32));
            if let Some(length) = self.max_length(queue) {
                let length = i32::try_from(length).unwrap_or(i32::MAX);
                arguments.insert("x-max-length".into(), AMQPValue::LongInt(length));
            }
            let name = self.queue_name(queue);
            declare_queue(channel, &name, arguments).await?;
            bind(channel, &name, &self.work_exchange(), queue.routing_key(), FieldTable::default()).await?;
        }

        // Never refuses a dead letter (see the module documentation): no length limit, no overflow setting,
        // and it dead-letters nowhere itself, so it needs no dead-letter strategy.
        let dead = self.dead_queue();
        let mut dead_arguments = FieldTable::default();
        dead_arguments.insert("x-queue-type".into(), long_string("quorum"));
        self.replicate(&mut dead_arguments);
        declare_queue(channel, &dead, dead_arguments).await?;
        bind(channel, &dead, &self.dead_exchange(), "", FieldTable::default()).await?;

        for delay in &self.delays {
            let mut arguments = self.quorum_arguments();
            arguments.insert("x-message-ttl".into(), AMQPValue::LongLongInt(delay.as_millis() as i64));
            arguments.insert("x-dead-letter-exchange".into(), long_string(&self.work_exchange()));
            let name = self.delay_queue(*delay);
            declare_queue(channel, &name, arguments).await?;
            let mut matching = FieldTable::default();
            matching.insert("x-match".into(), long_string("all"));
            matching.insert(DELAY_HEADER.into(), AMQPValue::LongLongInt(delay.as_millis() as i64));
            bind(channel, &name, &self.delay_exchange(), "", matching).await?;
        }
        Ok(())
    }

    /// Depth and consumers of every queue (passive declarations: nothing is created).
    pub async fn stats(&self, channel: &Channel) -> Result<Vec<QueueStats>, BrokerError> {
        let mut stats = Vec::new();
        for name in self.queue_names() {
            let queue = channel
                .queue_declare(
                    name.as_str().into(),
                    QueueDeclareOptions::default().passive(),
                    FieldTable::default(),
                )
                .await
                .map_err(BrokerError::amqp(format!("inspect queue {name}")))?;
            stats.push(QueueStats {
                name,
                messages: queue.message_count(),
                consumers: queue.consumer_count(),
            });
        }
        Ok(stats)
    }

    /// Deletes every queue and exchange of this topology (used by tests and `newspipe` maintenance).
    pub async fn delete(&self, channel: &Channel) -> Result<(), BrokerError> {
        for name in self.queue_names() {
            channel
                .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
                .await
                .map_err(BrokerError::amqp(format!("delete queue {name}")))?;
        }
        for name in [self.work_exchange(), self.dead_exchange(), self.delay_exchange()] {
            channel
                .exchange_delete(name.as_str().into(), Default::default())
                .await
                .map_err(BrokerError::amqp(format!("delete exchange {name}")))?;
        }
        Ok(())
    }
}

impl Topology {
    /// Quorum queues: replicated and durable, with at-least-once dead-lettering (which needs
    /// `reject-publish` overflow), the same on RabbitMQ 3.10 and 4.x. For the work and delay queues, which
    /// dead-letter.
    fn quorum_arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        arguments.insert("x-queue-type".into(), long_string("quorum"));
        arguments.insert("x-dead-letter-strategy".into(), long_string("at-least-once"));
        arguments.insert("x-overflow".into(), long_string("reject-publish"));
        self.replicate(&mut arguments);
        arguments
    }

    /// The replication setting, when there is one: RabbitMQ compares it with an existing queue's (a
    /// different value is a `PRECONDITION_FAILED`), so it is only sent when set.
    fn replicate(&self, arguments: &mut FieldTable) {
        if self.quorum_initial_group_size > 0 {
            let size = i32::try_from(self.quorum_initial_group_size).unwrap_or(i32::MAX);
            arguments.insert("x-quorum-initial-group-size".into(), AMQPValue::LongInt(size));
        }
    }
}

pub(crate) fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_string()))
}

async fn declare_queue(channel: &Channel, name: &str, arguments: FieldTable) -> Result<(), BrokerError> {
    let options = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel
        .queue_declare(ShortString::from(name), options, arguments)
        .await
        .map_err(BrokerError::amqp(format!("declare queue {name}")))?;
    Ok(())
}

async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    routing_key: &str,
    arguments: FieldTable,
) -> Result<(), BrokerError> {
    channel
        .queue_bind(queue.into(), exchange.into(), routing_key.into(), QueueBindOptions::default(), arguments)
        .await
        .map_err(BrokerError::amqp(format!("bind queue {queue} to {exchange}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RetrySettings;

    fn topology(max_attempts: u32) -> Topology {
        let settings = BrokerSettings {
            prefix: "t".into(),
            retry: RetrySettings { max_attempts, base_delay_ms: 100, max_delay_ms: 1_000 },
            ..BrokerSettings::default()
        };
        Topology::new(&settings)
    }

    #[test]
    fn a_wanted_delay_rounds_up_to_the_next_delay_queue() {
        let topology = topology(4); // retries 100, 400, 1000 ms, among the deferral delays
        assert_eq!(topology.delay_for(Duration::from_millis(50)), Some(Duration::from_millis(100)));
        assert_eq!(topology.delay_for(Duration::from_millis(101)), Some(Duration::from_millis(250)));
        assert_eq!(topology.delay_for(Duration::from_millis(300)), Some(Duration::from_millis(400)));
        assert_eq!(topology.delay_for(Duration::from_secs(600)), Some(Duration::from_millis(120_000)));
    }

    #[test]
    fn a_deferral_never_comes_back_later_than_wanted_unless_it_must() {
        let topology = topology(1); // no retries: only the deferral delays
        assert_eq!(topology.defer_delay(Duration::from_millis(3_000)), Duration::from_millis(1_000));
        assert_eq!(topology.defer_delay(Duration::from_millis(10)), Duration::from_millis(250));
        assert_eq!(topology.defer_delay(Duration::from_secs(3_600)), Duration::from_millis(120_000));
    }

    #[test]
    fn the_replication_of_quorum_queues_is_sent_only_when_it_is_set() {
        let key = lapin::types::ShortString::from("x-quorum-initial-group-size");
        assert!(!topology(3).quorum_arguments().inner().contains_key(&key));
        let settings = BrokerSettings { quorum_initial_group_size: 3, ..BrokerSettings::default() };
        let arguments = Topology::new(&settings).quorum_arguments();
        assert_eq!(arguments.inner().get(&key), Some(&AMQPValue::LongInt(3)));
    }

    #[test]
    fn every_queue_is_named_under_the_prefix() {
        let names = topology(3).queue_names();
        assert_eq!(names[..6], ["t.fetch", "t.extract", "t.store", "t.warc", "t.render", "t.dead"]);
        assert_eq!(names[6..8], ["t.delay.100ms", "t.delay.250ms"]);
        assert!(names.contains(&"t.delay.400ms".to_string()) && names.len() == 13, "{names:?}");
    }
}
