//! The API's link to RabbitMQ: one connection, opened on first use and again after it breaks, with a
//! confirm-mode publisher (submitting) and a channel for queue depths (status). A request that finds the
//! broker away gets 503, and the next one tries to connect again.

use std::time::Duration;

use lapin::{Channel, Connection};
use newspipe_broker::{BrokerSettings, Outgoing, Publisher, Topology};
use tokio::sync::Mutex;

use crate::problem::Problem;

pub struct BrokerClient {
    settings: BrokerSettings,
    topology: Topology,
    link: Mutex<Option<Link>>,
}

struct Link {
    connection: Connection,
    publisher: Publisher,
    channel: Channel,
}

impl BrokerClient {
    pub fn new(settings: &BrokerSettings) -> BrokerClient {
        BrokerClient { settings: settings.clone(), topology: Topology::new(settings), link: Mutex::new(None) }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    fn publish_timeout(&self) -> Duration {
        Duration::from_secs(self.settings.publish_timeout_secs)
    }

    async fn link(&self) -> Result<tokio::sync::MappedMutexGuard<'_, Link>, Problem> {
        let mut guard = self.link.lock().await;
        if guard
            .as_ref()
            .is_some_and(|l| !l.connection.status().connected() || !l.channel.status().connected())
        {
            *guard = None;
        }
        if guard.is_none() {
            let connection = self
                .settings
                .connect("newspipe api")
                .await
                .map_err(|e| Problem::unavailable("the broker", &e))?;
            let channel =
                connection.create_channel().await.map_err(|e| Problem::unavailable("the broker", &e))?;
            self.topology.declare(&channel).await.map_err(|e| Problem::unavailable("the broker", &e))?;
            let publisher = Publisher::open(&connection, self.topology.clone(), self.publish_timeout())
                .await
                .map_err(|e| Problem::unavailable("the broker", &e))?;
            *guard = Some(Link { connection, publisher, channel });
        }
        Ok(tokio::sync::MutexGuard::map(guard, |l| l.as_mut().expect("connected above")))
    }

    /// Publishes every message with confirms; on a failure the link is dropped (the next request
    /// reconnects) and the caller learns that nothing can be promised about the batch.
    pub async fn publish(&self, messages: Vec<(Outgoing, String)>) -> Result<(), Problem> {
        let publisher = self.link().await?.publisher.clone();
        match newspipe_control::submit::publish_with(&publisher, messages).await {
            Ok(()) => Ok(()),
            Err(error) => {
                *self.link.lock().await = None;
                Err(Problem::unavailable("the broker", &format!("{error:#}")))
            }
        }
    }

    /// The channel queue depths are read on, for `f`.
    pub async fn with_channel<T>(
        &self,
        f: impl AsyncFnOnce(&Channel, &Topology) -> anyhow::Result<T>,
    ) -> Result<T, Problem> {
        let link = self.link().await?;
        match f(&link.channel, &self.topology).await {
            Ok(value) => Ok(value),
            Err(error) => {
                drop(link);
                *self.link.lock().await = None;
                Err(Problem::unavailable("the broker", &format!("{error:#}")))
            }
        }
    }

    /// A connection of its own, for the dead letters (a listing holds its messages until its channel closes;
    /// a replay must see them put back).
    pub async fn own_connection(&self, name: &str) -> Result<Connection, Problem> {
        self.settings.connect(name).await.map_err(|e| Problem::unavailable("the broker", &e))
    }

    pub fn dead_letter_timeout(&self) -> Duration {
        self.publish_timeout()
    }
}
