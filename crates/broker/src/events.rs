//! Every observable event of the broker plumbing: each logs and counts in one place, with low-cardinality
//! labels (the queue's routing key, never a URL or job id).

use std::time::Duration;

use metrics::{counter, gauge, histogram};
use newspipe_runtime::InternalEvent;

pub(crate) struct MessageReceived<'a> {
    pub queue: &'a str,
    pub attempt: u32,
    pub redelivered: bool,
}

impl InternalEvent for MessageReceived<'_> {
    fn emit(self) {
        tracing::debug!(attempt = self.attempt, redelivered = self.redelivered, "message received");
        counter!("newspipe_messages_consumed_total", "queue" => self.queue.to_string()).increment(1);
    }
}

pub(crate) struct MessageSettled<'a> {
    pub queue: &'a str,
    /// `forwarded`, `retried`, `exhausted` or `dead_lettered`.
    pub disposition: &'static str,
    pub elapsed: Duration,
}

impl InternalEvent for MessageSettled<'_> {
    fn emit(self) {
        tracing::debug!(
            disposition = self.disposition,
            elapsed_ms = self.elapsed.as_millis() as u64,
            "message acked"
        );
        let queue = self.queue.to_string();
        counter!("newspipe_messages_acked_total", "queue" => queue.clone(), "disposition" => self.disposition)
            .increment(1);
        histogram!("newspipe_message_processing_seconds", "queue" => queue.clone())
            .record(self.elapsed.as_secs_f64());
    }
}

/// A message counted in `newspipe_messages_in_flight` from its delivery until its task ends, whichever way:
/// acked, or left unacked for the broker to redeliver (shutdown, a lost connection, a failed publish). A guard
/// rather than a pair of events, so that no way out of the task can leave the gauge too high.
pub(crate) struct InFlight {
    queue: String,
}

impl InFlight {
    pub fn start(queue: &str) -> InFlight {
        gauge!("newspipe_messages_in_flight", "queue" => queue.to_string()).increment(1.0);
        InFlight { queue: queue.to_string() }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!("newspipe_messages_in_flight", "queue" => std::mem::take(&mut self.queue)).decrement(1.0);
    }
}

pub(crate) struct MessageRetried<'a> {
    pub queue: &'a str,
    pub attempt: u32,
    pub delay: Duration,
    pub reason: &'a str,
}

impl InternalEvent for MessageRetried<'_> {
    fn emit(self) {
        tracing::info!(
            attempt = self.attempt,
            delay_ms = self.delay.as_millis() as u64,
            reason = self.reason,
            "transient failure; retrying later"
        );
        counter!("newspipe_messages_retried_total", "queue" => self.queue.to_string()).increment(1);
    }
}

pub(crate) struct MessageDeferred<'a> {
    pub queue: &'a str,
    pub delay: Duration,
}

impl InternalEvent for MessageDeferred<'_> {
    fn emit(self) {
        tracing::debug!(delay_ms = self.delay.as_millis() as u64, "deferred");
        counter!("newspipe_messages_deferred_total", "queue" => self.queue.to_string()).increment(1);
    }
}

pub(crate) struct MessageDeadLettered<'a> {
    pub queue: &'a str,
    pub reason: &'a str,
}

impl InternalEvent for MessageDeadLettered<'_> {
    fn emit(self) {
        tracing::warn!(reason = self.reason, "message dead-lettered");
        counter!("newspipe_messages_dead_lettered_total", "queue" => self.queue.to_string()).increment(1);
    }
}

pub(crate) struct PublishRefused<'a> {
    pub exchange: &'a str,
    pub routing_key: &'a str,
    /// Refusals of this message so far.
    pub refusals: u32,
}

impl InternalEvent for PublishRefused<'_> {
    /// Warns on a message's first refusal only: a full queue refuses every attempt until it drains.
    fn emit(self) {
        if self.refusals == 1 {
            tracing::warn!(
                exchange = self.exchange,
                routing_key = self.routing_key,
                "broker refused a publish (queue full?); backing off and retrying"
            );
        } else {
            tracing::debug!(
                routing_key = self.routing_key,
                refusals = self.refusals,
                "publish refused again"
            );
        }
        counter!("newspipe_publish_refused_total", "routing_key" => self.routing_key.to_string())
            .increment(1);
    }
}

pub(crate) struct PublishAccepted<'a> {
    pub routing_key: &'a str,
    pub refusals: u32,
    pub waited: Duration,
}

impl InternalEvent for PublishAccepted<'_> {
    /// A message refused by a full queue got in after all.
    fn emit(self) {
        tracing::info!(
            routing_key = self.routing_key,
            refusals = self.refusals,
            waited_ms = self.waited.as_millis() as u64,
            "publish accepted after the queue made room"
        );
    }
}

pub(crate) struct BrokerConnected<'a> {
    pub queue: &'a str,
    pub prefetch: u16,
}

impl InternalEvent for BrokerConnected<'_> {
    fn emit(self) {
        tracing::info!(queue = self.queue, prefetch = self.prefetch, "connected to the broker; consuming");
        gauge!("newspipe_broker_connected").set(1.0);
    }
}

pub(crate) struct BrokerLost<'a> {
    pub error: &'a dyn std::error::Error,
    pub retry_in: Duration,
}

impl InternalEvent for BrokerLost<'_> {
    fn emit(self) {
        tracing::warn!(error = %self.error, retry_in_ms = self.retry_in.as_millis() as u64, "broker connection lost; reconnecting");
        counter!("newspipe_broker_reconnects_total").increment(1);
        gauge!("newspipe_broker_connected").set(0.0);
    }
}
