//! Publishing with publisher confirms. A publish succeeds only when the broker has confirmed it and it was
//! routed to a queue (`mandatory`: an unroutable message comes back and is an error, not a silent drop).

use std::time::Duration;

use lapin::Confirmation;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection};
use newspipe_models::JobId;
use newspipe_runtime::InternalEvent;

use crate::topology::{Queue, Topology};
use crate::{BrokerError, events};

/// Persistent delivery mode: the message survives a broker restart.
const PERSISTENT: u8 = 2;

/// The longest pause between two attempts at a message a full queue refused.
const MAX_REFUSED_PAUSE: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publishing to {exchange}/{routing_key} failed: {source}")]
    Amqp {
        exchange: String,
        routing_key: String,
        #[source]
        source: lapin::Error,
    },
    #[error("message to {exchange}/{routing_key} was returned unroutable: {reply}")]
    Unroutable { exchange: String, routing_key: String, reply: String },
    #[error(
        "the broker kept refusing a message to {exchange}/{routing_key} for {waited:?} (the queue is at its \
         length limit, broker.max_queue_length; nothing consumes it fast enough); gave up after \
         broker.full_queue_wait_secs"
    )]
    Refused { exchange: String, routing_key: String, waited: Duration },
    #[error("no confirm for a message to {exchange}/{routing_key} within {0:?}", timeout)]
    Timeout { exchange: String, routing_key: String, timeout: Duration },
}

/// A message a handler wants sent on.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub(crate) queue: Queue,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: &'static str,
    pub(crate) content_encoding: Option<&'static str>,
    pub(crate) job_id: Option<JobId>,
    /// The AMQP `expiration`: how long the message may wait in its queue.
    pub(crate) expiration: Option<Duration>,
}

impl Outgoing {
    /// A JSON message for a work queue.
    pub fn json(queue: Queue, body: Vec<u8>) -> Self {
        Outgoing {
            queue,
            body,
            content_type: "application/json",
            content_encoding: None,
            job_id: None,
            expiration: None,
        }
    }

    /// A message with its own content type (a raw page, for example).
    pub fn bytes(queue: Queue, body: Vec<u8>, content_type: &'static str) -> Self {
        Outgoing { queue, body, content_type, content_encoding: None, job_id: None, expiration: None }
    }

    /// Compresses the body on the wire (`content-encoding: zstd`); the consuming worker decodes it.
    pub fn compressed(mut self) -> Self {
        self.body = crate::encoding::compress(&self.body);
        self.content_encoding = Some(crate::encoding::CONTENT_ENCODING);
        self
    }

    /// Carries the job id (as the AMQP correlation id), so every stage can log it without decoding.
    pub fn for_job(mut self, job_id: JobId) -> Self {
        self.job_id = Some(job_id);
        self
    }

    /// The message may wait in its queue this long; then the queue dead-letters it (for the render queue:
    /// on to extraction as it is).
    pub fn expires_after(mut self, wait: Duration) -> Self {
        self.expiration = Some(wait);
        self
    }

    pub fn queue(&self) -> Queue {
        self.queue
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// A confirm-mode channel on its own connection: broker flow control on publishers then cannot stall the
/// consumer connection's acks.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
    topology: Topology,
    timeout: Duration,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("exchange", &self.topology.work_exchange()).finish()
    }
}

impl Publisher {
    pub async fn open(
        connection: &Connection,
        topology: Topology,
        timeout: Duration,
    ) -> Result<Self, BrokerError> {
        let channel =
            connection.create_channel().await.map_err(BrokerError::amqp("open publisher channel"))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(BrokerError::amqp("enable publisher confirms"))?;
        Ok(Publisher { channel, topology, timeout })
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Publishes to a work queue through the work exchange and waits for the confirm.
    pub async fn publish(&self, message: &Outgoing) -> Result<(), PublishError> {
        let mut properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_content_type(ShortString::from(message.content_type));
        if let Some(encoding) = message.content_encoding {
            properties = properties.with_content_encoding(ShortString::from(encoding));
        }
        if let Some(job_id) = message.job_id {
            properties = properties.with_correlation_id(ShortString::from(job_id.to_string()));
        }
        if let Some(wait) = message.expiration {
            properties = properties.with_expiration(ShortString::from(wait.as_millis().max(1).to_string()));
        }
        self.publish_raw(
            &self.topology.work_exchange(),
            message.queue.routing_key(),
            &message.body,
            properties,
        )
        .await
    }

    /// Publishes to any exchange and waits for the confirm (`timeout` for each attempt). A nack (a work queue
    /// at its `x-max-length`, which `reject-publish` turns into a refusal) is retried with exponential
    /// backoff, for at most `broker.full_queue_wait_secs` in all: a full queue slows producers down, it never
    /// drops their messages. Giving up is an error the caller sees ([`PublishError::Refused`]); a worker then
    /// leaves its input unacked, for the broker to redeliver.
    pub async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PublishError> {
        let started = tokio::time::Instant::now();
        let wait = self.topology.full_queue_wait();
        let mut pause = Duration::from_millis(50);
        let mut refusals = 0u32;
        loop {
            let amqp = |source| PublishError::Amqp {
                exchange: exchange.to_string(),
                routing_key: routing_key.to_string(),
                source,
            };
            let confirm = self
                .channel
                .basic_publish(
                    exchange.into(),
                    routing_key.into(),
                    BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                    body,
                    properties.clone(),
                )
                .await
                .map_err(amqp)?;
            let confirmation = match tokio::time::timeout(self.timeout, confirm).await {
                Ok(confirmation) => confirmation.map_err(amqp)?,
                Err(_) => {
                    return Err(PublishError::Timeout {
                        exchange: exchange.to_string(),
                        routing_key: routing_key.to_string(),
                        timeout: self.timeout,
                    });
                }
            };
            match confirmation {
                Confirmation::Ack(None) | Confirmation::NotRequested => {
                    if refusals > 0 {
                        events::PublishAccepted { routing_key, refusals, waited: started.elapsed() }.emit();
                    }
                    return Ok(());
                }
                Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                    return Err(PublishError::Unroutable {
                        exchange: exchange.to_string(),
                        routing_key: routing_key.to_string(),
                        reply: format!("{} {}", returned.reply_code, returned.reply_text),
                    });
                }
                Confirmation::Nack(None) => {
                    refusals += 1;
                    events::PublishRefused { exchange, routing_key, refusals }.emit();
                    if started.elapsed() + pause > wait {
                        return Err(PublishError::Refused {
                            exchange: exchange.to_string(),
                            routing_key: routing_key.to_string(),
                            waited: started.elapsed(),
                        });
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_REFUSED_PAUSE);
                }
            }
        }
    }

    /// Sends a copy of a message to a delay queue; it comes back to `routing_key` after `delay`.
    pub(crate) async fn publish_delayed(
        &self,
        routing_key: &str,
        body: &[u8],
        properties: &BasicProperties,
        delay: Duration,
        extra_headers: FieldTable,
    ) -> Result<(), PublishError> {
        let mut headers = properties.headers().clone().unwrap_or_default();
        for (key, value) in extra_headers.inner() {
            headers.insert(key.clone(), value.clone());
        }
        headers
            .insert(crate::topology::DELAY_HEADER.into(), AMQPValue::LongLongInt(delay.as_millis() as i64));
        let properties = properties.clone().with_headers(headers).with_delivery_mode(PERSISTENT);
        self.publish_raw(&self.topology.delay_exchange(), routing_key, body, properties).await
    }
}
