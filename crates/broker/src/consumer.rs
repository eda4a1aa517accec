//! The one consume loop every worker runs.
//!
//! For each delivery: decode nothing, call the worker's [`Handler`], carry out its [`Disposition`]
//! (publish what it produced, or a delayed retry, or a dead letter), wait for the broker's confirms, and
//! only then ack. Deliveries are processed concurrently up to `broker.prefetch`. A lost connection ends
//! the session: unacked messages go back to the queue and the loop reconnects with backoff.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Connection};
use newspipe_models::JobId;
use newspipe_runtime::InternalEvent;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::topology::{Queue, Topology, long_string};
use crate::{BrokerError, BrokerSettings, Outgoing, Publisher, RetrySettings, events};

/// Header counting attempts at a message (1 for the first delivery from a producer).
pub const ATTEMPT_HEADER: &str = "x-newspipe-attempt";
/// Headers a dead letter carries: why, from which queue, and when.
pub const DEAD_REASON_HEADER: &str = "x-newspipe-reason";
pub const DEAD_QUEUE_HEADER: &str = "x-newspipe-queue";
pub const DEAD_AT_HEADER: &str = "x-newspipe-dead-at";
/// A dead letter's stable id (a random UUID, assigned when it is dead-lettered): what `newspipe dlq show`
/// and `dlq replay` name it by.
pub const DEAD_ID_HEADER: &str = "x-newspipe-dead-id";
/// The reason of the last transient failure, on a message waiting in a delay queue.
pub const LAST_ERROR_HEADER: &str = "x-newspipe-last-error";

/// One message as a handler sees it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    /// From the AMQP correlation id, when the producer set it.
    pub job_id: Option<JobId>,
    /// 1 on the first attempt; counts retries through delay queues, not redeliveries after a crash.
    pub attempt: u32,
    pub max_attempts: u32,
    /// The broker delivered it before (a worker died or disconnected holding it).
    pub redelivered: bool,
    /// The worker's confirm-mode publisher, for a handler whose work is too long to return as one
    /// [`Disposition::Forward`] (a WARC file: thousands of outcomes, sent as they are made). What it
    /// publishes is confirmed before `publish` returns, so it all precedes the ack of this message.
    pub publisher: Publisher,
}

impl Incoming {
    /// No retry is left after this attempt: a transient failure now becomes final.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// What to do with a message once the handler is done with it. The message is acked after the broker has
/// confirmed whatever this asks to publish.
#[derive(Debug, Clone)]
pub enum Disposition {
    /// Publish these (possibly none) and ack.
    Forward(Vec<Outgoing>),
    /// A transient failure: try again after a delay (at least `after`, if given); when no attempt is left,
    /// publish `exhausted` instead (typically a `failed` outcome naming `reason`).
    Retry { reason: String, after: Option<Duration>, exhausted: Vec<Outgoing> },
    /// The message cannot be processed at all: keep it in the dead-letter queue with the reason.
    DeadLetter { reason: String },
    /// Not now, and not a failure (a host's turn is further off, a dependency is down): the message comes
    /// back through a delay queue after about `after`, its attempt count unchanged.
    Defer { after: Duration },
}

/// A worker's logic for one queue.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, message: Incoming) -> impl Future<Output = Disposition> + Send;
}

/// Consumes `queue` until `shutdown` is cancelled, reconnecting when the broker goes away. `ready` is true
/// while the worker is connected and consuming. Returns an error only when the broker stayed unreachable
/// longer than `broker.reconnect_timeout_secs`: exit non-zero then, and let the supervisor restart.
pub async fn run_consumer<H: Handler>(
    settings: &BrokerSettings,
    queue: Queue,
    handler: Arc<H>,
    ready: Arc<AtomicBool>,
    shutdown: CancellationToken,
) -> Result<(), BrokerError> {
    let consumer = Consumer {
        settings,
        topology: Topology::new(settings),
        queue,
        handler,
        ready: &ready,
        shutdown: &shutdown,
    };
    let mut unreachable_since: Option<Instant> = None;
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut connected = false;
        let result = consumer.session(&mut connected).await;
        ready.store(false, Ordering::Relaxed);
        let error = match result {
            Ok(()) => return Ok(()),
            Err(_) if shutdown.is_cancelled() => return Ok(()),
            Err(error) => error,
        };
        if connected {
            unreachable_since = None;
            backoff = Duration::from_millis(200);
        }
        let since = *unreachable_since.get_or_insert_with(Instant::now);
        let limit = settings.reconnect_timeout_secs;
        if limit > 0 && since.elapsed() > Duration::from_secs(limit) {
            tracing::error!(%error, "giving up on the broker");
            return Err(BrokerError::GaveUp { seconds: limit });
        }
        events::BrokerLost { error: &error, retry_in: backoff }.emit();
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.cancelled() => return Ok(()),
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Closes a connection that is still up, within [`CLOSE_TIMEOUT`]; one that is lost is only dropped.
/// Regression: a session ended by a lost connection awaited `close` on it, which never answers, so the
/// worker neither reconnected nor told `/healthz` (1 run in 6 of the broker-outage test).
async fn close_connection(connection: &Connection) {
    if connection.status().connected() {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, connection.close(200, "bye".into())).await;
    }
}

/// How long closing a connection may take before it is given up (the broker then sees it go).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What every session of one consumer shares: a session lasts from a connection to its loss.
struct Consumer<'a, H> {
    settings: &'a BrokerSettings,
    topology: Topology,
    queue: Queue,
    handler: Arc<H>,
    ready: &'a AtomicBool,
    shutdown: &'a CancellationToken,
}

impl<H: Handler> Consumer<'_, H> {
    async fn session(&self, connected: &mut bool) -> Result<(), BrokerError> {
        let role = self.queue.routing_key();
        let consume_connection = self.settings.connect(&format!("newspipe {role} consumer")).await?;
        let publish_connection = self.settings.connect(&format!("newspipe {role} publisher")).await?;
        let result = self.consume(connected, &consume_connection, &publish_connection).await;
        // Closing returns every unacked message to its queue at once instead of after a heartbeat timeout.
        close_connection(&consume_connection).await;
        close_connection(&publish_connection).await;
        result
    }

    async fn consume(
        &self,
        connected: &mut bool,
        consume_connection: &Connection,
        publish_connection: &Connection,
    ) -> Result<(), BrokerError> {
        let Consumer { settings, topology, queue, handler, ready, shutdown } = self;
        let queue = *queue;
        let channel =
            consume_connection.create_channel().await.map_err(BrokerError::amqp("open consumer channel"))?;
        topology.declare(&channel).await?;
        channel
            .basic_qos(settings.prefetch, BasicQosOptions::default())
            .await
            .map_err(BrokerError::amqp("set prefetch"))?;
        let publisher = Publisher::open(
            publish_connection,
            topology.clone(),
            Duration::from_secs(settings.publish_timeout_secs),
        )
        .await?;
        let queue_name = topology.queue_name(queue);
        let mut consumer = channel
            .basic_consume(
                queue_name.as_str().into(),
                ShortString::from(""),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(BrokerError::amqp(format!("consume {queue_name}")))?;
        *connected = true;
        ready.store(true, Ordering::Relaxed);
        events::BrokerConnected { queue: &queue_name, prefetch: settings.prefetch }.emit();

        let context = Arc::new(Context { queue, publisher, retry: settings.retry.clone() });
        let mut in_flight: JoinSet<Result<(), BrokerError>> = JoinSet::new();
        let outcome = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ok(()),
                Some(done) = in_flight.join_next() => {
                    if let Ok(Err(error)) = done {
                        break Err(error);
                    }
                }
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        in_flight.spawn(process(delivery, handler.clone(), context.clone()));
                    }
                    Some(Err(error)) => break Err(BrokerError::Amqp { operation: format!("consume {queue_name}"), source: error }),
                    None => break Err(BrokerError::Amqp {
                        operation: format!("consume {queue_name}"),
                        source: lapin::Error::from(lapin::ErrorKind::InvalidChannelState(
                            lapin::ChannelState::Closed, "consumer stream ended")),
                    }),
                }
            }
        };

        if outcome.is_ok() {
            // Shutdown: take nothing new, give what is in flight the grace period, then let the rest go back.
            let _ = channel.basic_cancel(consumer.tag(), BasicCancelOptions::default()).await;
            let grace = Duration::from_secs(settings.shutdown_grace_secs);
            let drained = tokio::time::timeout(grace, async {
            while let Some(done) = in_flight.join_next().await {
                if let Ok(Err(error)) = done {
                    tracing::warn!(%error, "a message in flight could not be finished; it will be redelivered");
                }
            }
        })
        .await;
            if drained.is_err() {
                tracing::warn!(
                    left = in_flight.len(),
                    "grace period over; unfinished messages go back to the queue"
                );
            }
        }
        // What is left goes back to the queue when the connection closes (each task's in-flight guard drops).
        in_flight.shutdown().await;
        outcome
    }
}

struct Context {
    queue: Queue,
    publisher: Publisher,
    retry: RetrySettings,
}

async fn process<H: Handler>(
    delivery: Delivery,
    handler: Arc<H>,
    context: Arc<Context>,
) -> Result<(), BrokerError> {
    let properties = &delivery.properties;
    let content_encoding = properties.content_encoding().as_ref().map(|e| e.as_str());
    let (body, undecodable) = match crate::encoding::decode(&delivery.data, content_encoding) {
        Ok(body) => (body, None),
        Err(reason) => (Vec::new(), Some(reason)),
    };
    let incoming = Incoming {
        body,
        content_type: properties.content_type().as_ref().map(|c| c.as_str().to_string()),
        job_id: properties.correlation_id().as_ref().and_then(|id| id.as_str().parse::<JobId>().ok()),
        attempt: header_u64(properties.headers(), ATTEMPT_HEADER).unwrap_or(1).max(1) as u32,
        max_attempts: context.retry.max_attempts.max(1),
        redelivered: delivery.redelivered,
        publisher: context.publisher.clone(),
    };
    let queue = context.queue.routing_key();
    let span = tracing::info_span!(
        "message",
        queue,
        job_id = %incoming.job_id.map(|id| id.to_string()).unwrap_or_default()
    );
    async move {
        let started = Instant::now();
        let attempt = incoming.attempt;
        events::MessageReceived { queue, attempt, redelivered: incoming.redelivered }.emit();
        let _in_flight = events::InFlight::start(queue);
        let disposition = if let Some(reason) = undecodable {
            Disposition::DeadLetter { reason }
        } else {
            match AssertUnwindSafe(handler.handle(incoming)).catch_unwind().await {
                Ok(disposition) => disposition,
                Err(panic) => {
                    Disposition::DeadLetter { reason: format!("handler panicked: {}", panic_message(&panic)) }
                }
            }
        };
        let publisher = &context.publisher;
        let settled = match disposition {
            Disposition::Forward(messages) => {
                for message in &messages {
                    publisher.publish(message).await?;
                }
                "forwarded"
            }
            Disposition::Retry { reason, after, exhausted } => {
                let wanted = after.unwrap_or_default().max(context.retry.delay_after(attempt));
                match publisher.topology().delay_for(wanted) {
                    Some(delay) if attempt < context.retry.max_attempts => {
                        let mut headers = FieldTable::default();
                        headers.insert(ATTEMPT_HEADER.into(), AMQPValue::LongLongInt(i64::from(attempt) + 1));
                        headers.insert(LAST_ERROR_HEADER.into(), long_string(&reason));
                        publisher
                            .publish_delayed(queue, &delivery.data, &delivery.properties, delay, headers)
                            .await?;
                        events::MessageRetried { queue, attempt, delay, reason: &reason }.emit();
                        "retried"
                    }
                    _ => {
                        for message in &exhausted {
                            publisher.publish(message).await?;
                        }
                        "exhausted"
                    }
                }
            }
            Disposition::Defer { after } => {
                let delay = publisher.topology().defer_delay(after);
                let mut headers = FieldTable::default();
                headers.insert(ATTEMPT_HEADER.into(), AMQPValue::LongLongInt(i64::from(attempt)));
                publisher
                    .publish_delayed(queue, &delivery.data, &delivery.properties, delay, headers)
                    .await?;
                events::MessageDeferred { queue, delay }.emit();
                "deferred"
            }
            Disposition::DeadLetter { reason } => {
                dead_letter(publisher, queue, &delivery.data, &delivery.properties, &reason).await?;
                events::MessageDeadLettered { queue, reason: &reason }.emit();
                "dead_lettered"
            }
        };
        delivery
            .acker
            .ack(BasicAckOptions::default())
            .await
            .map_err(BrokerError::amqp(format!("ack on {queue}")))?;
        events::MessageSettled { queue, disposition: settled, elapsed: started.elapsed() }.emit();
        Ok(())
    }
    .instrument(span)
    .await
}

async fn dead_letter(
    publisher: &Publisher,
    queue: &str,
    body: &[u8],
    properties: &BasicProperties,
    reason: &str,
) -> Result<(), BrokerError> {
    let mut headers = properties.headers().clone().unwrap_or_default();
    headers.insert(DEAD_REASON_HEADER.into(), long_string(reason));
    headers.insert(DEAD_QUEUE_HEADER.into(), long_string(queue));
    headers.insert(DEAD_AT_HEADER.into(), long_string(&chrono_now()));
    headers.insert(DEAD_ID_HEADER.into(), long_string(&Uuid::new_v4().simple().to_string()));
    let properties = properties.clone().with_headers(headers).with_delivery_mode(2);
    publisher.publish_raw(&publisher.topology().dead_exchange(), queue, body, properties).await?;
    Ok(())
}

fn chrono_now() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}", now.as_secs())
}

/// Reads an integer header whatever integer type the producer used.
pub fn header_u64(headers: &Option<FieldTable>, key: &str) -> Option<u64> {
    let value = headers.as_ref()?.inner().get(key)?;
    match value {
        AMQPValue::ShortShortInt(v) => u64::try_from(*v).ok(),
        AMQPValue::ShortShortUInt(v) => Some(u64::from(*v)),
        AMQPValue::ShortInt(v) => u64::try_from(*v).ok(),
        AMQPValue::ShortUInt(v) => Some(u64::from(*v)),
        AMQPValue::LongInt(v) => u64::try_from(*v).ok(),
        AMQPValue::LongUInt(v) => Some(u64::from(*v)),
        AMQPValue::LongLongInt(v) => u64::try_from(*v).ok(),
        AMQPValue::Timestamp(v) => Some(*v),
        _ => None,
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
