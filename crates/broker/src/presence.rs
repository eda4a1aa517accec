//! Whether some process consumes a queue now: the extractor sends pages to rendering only while a renderer
//! takes them, so that a stack without a renderer never parks pages in a queue nobody reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use tokio_util::sync::CancellationToken;

use crate::{BrokerError, BrokerSettings, Queue, Topology};

/// The last answer of a [`watch_consumers`] task: true while the queue had at least one consumer at the
/// last look. False until the first look, and after a look that failed (the broker is away: nothing is
/// sent to a queue whose consumers cannot be seen).
#[derive(Debug, Clone, Default)]
pub struct ConsumersSeen(Arc<AtomicBool>);

impl ConsumersSeen {
    pub fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the answer by hand (a handler tested without a broker).
    pub fn set(&self, any: bool) {
        self.0.store(any, Ordering::Relaxed);
    }
}

/// Looks at `queue`'s consumer count every `every` (a passive declaration: it needs no permission and
/// creates nothing), on a connection of its own, until `shutdown`. A consumer that just went away is seen
/// within `every`; what was sent to it meanwhile waits for its expiration (the render queue's pages go on
/// to extraction then).
pub fn watch_consumers(
    settings: &BrokerSettings,
    queue: Queue,
    every: Duration,
    shutdown: CancellationToken,
) -> ConsumersSeen {
    let seen = ConsumersSeen::default();
    let answer = seen.clone();
    let settings = settings.clone();
    let name = Topology::new(&settings).queue_name(queue);
    tokio::spawn(async move {
        let mut channel = None;
        loop {
            let looked = look(&settings, &name, &mut channel).await;
            match looked {
                Ok(consumers) => {
                    let before = answer.0.swap(consumers > 0, Ordering::Relaxed);
                    if before != (consumers > 0) {
                        tracing::info!(queue = %name, consumers, "consumers of the queue changed");
                    }
                }
                Err(error) => {
                    answer.0.store(false, Ordering::Relaxed);
                    if let Some((connection, _)) = channel.take() {
                        let close = connection.close(200, "looking again".into());
                        let _ = tokio::time::timeout(Duration::from_secs(5), close).await;
                    }
                    tracing::debug!(queue = %name, %error, "cannot see the queue's consumers");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
        }
        if let Some((connection, _)) = channel.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.close(200, "bye".into())).await;
        }
    });
    seen
}

async fn look(
    settings: &BrokerSettings,
    name: &str,
    channel: &mut Option<(lapin::Connection, lapin::Channel)>,
) -> Result<u32, BrokerError> {
    if channel.as_ref().is_none_or(|(_, c)| !c.status().connected()) {
        let connection = settings.connect("consumer-watch").await?;
        let opened = connection.create_channel().await.map_err(BrokerError::amqp("open a channel"))?;
        *channel = Some((connection, opened));
    }
    let (_, opened) = channel.as_ref().expect("opened above");
    let queue = opened
        .queue_declare(name.into(), QueueDeclareOptions::default().passive(), FieldTable::default())
        .await
        .map_err(BrokerError::amqp(format!("inspect queue {name}")))?;
    Ok(queue.consumer_count())
}
