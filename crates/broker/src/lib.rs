//! Everything the workers do with RabbitMQ, in one place: the topology, publishing with confirms, and the
//! single consume-ack-retry loop every worker runs. No worker talks to lapin directly.
//!
//! The delivery contract is at-least-once: a message is acked only after everything it produced has been
//! confirmed by the broker, so a worker killed at any moment leaves its message to be redelivered, and the
//! stages downstream are idempotent.

pub mod config;
mod connection;
pub mod consumer;
pub mod dead_letters;
pub mod encoding;
mod events;
pub mod presence;
pub mod publisher;
pub mod topology;
mod worker;

pub use config::{BrokerSettings, QueueLengths, RetrySettings};
pub use connection::{connect, connect_with_timeout};
pub use consumer::{Disposition, Handler, Incoming, run_consumer};
pub use dead_letters::{DeadLetter, Listing, ReplayReport, Selection};
pub use presence::{ConsumersSeen, watch_consumers};
pub use publisher::{Outgoing, PublishError, Publisher};
pub use topology::{Queue, QueueStats, Topology};
pub use worker::run_worker;

/// Errors of the broker plumbing. Every message names the queue or URL involved.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot connect to the broker at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: lapin::Error,
    },
    #[error("the broker node at {url} did not answer within {seconds} s (broker.connect_timeout_secs)")]
    ConnectTimeout { url: String, seconds: u64 },
    #[error("cannot connect to any of the {nodes} broker nodes: {errors}")]
    AllNodes { nodes: usize, errors: String },
    #[error("no broker URL is set (broker.url or AMQP_URL)")]
    NoNodes,
    #[error("cannot set up TLS to the broker at {url}: {why}")]
    Tls { url: String, why: String },
    #[error("broker operation `{operation}` failed: {source}")]
    Amqp {
        operation: String,
        #[source]
        source: lapin::Error,
    },
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("cannot serve the metrics endpoint: {0}")]
    Ops(#[source] std::io::Error),
    #[error("the broker stayed unreachable for {seconds} s (broker.reconnect_timeout_secs); giving up")]
    GaveUp { seconds: u64 },
}

impl BrokerError {
    pub(crate) fn amqp(operation: impl Into<String>) -> impl FnOnce(lapin::Error) -> BrokerError {
        let operation = operation.into();
        move |source| BrokerError::Amqp { operation, source }
    }
}
