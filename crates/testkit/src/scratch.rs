//! A database and a queue prefix of one's own on shared services: what each test (and each benchmark run)
//! works in, so that any number of them run at once on one RabbitMQ and one PostgreSQL.

use newspipe_broker::Topology;
use newspipe_db::admin::{create_database, drop_database};
use uuid::Uuid;

use crate::Services;

/// Whose scratch it is: it shows in its names (`t…`/`newspipe_test_…`, `bench…`/`newspipe_bench_…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScratchKind {
    Test,
    Bench,
}

#[derive(Debug, Clone)]
pub struct Scratch {
    /// The queue and exchange prefix (`NEWSPIPE__BROKER__PREFIX`).
    pub prefix: String,
    pub database_name: String,
    /// The scratch database on the services' server.
    pub database_url: String,
    pub amqp_url: String,
    /// The services' own database: where the scratch database is created and dropped from.
    pub server_url: String,
}

impl Scratch {
    /// Creates a fresh, empty database on `services` (no migrations: the workers apply them) and chooses a
    /// queue prefix no one else uses.
    pub async fn create(services: &Services, kind: ScratchKind) -> anyhow::Result<Scratch> {
        let id = Uuid::new_v4().simple().to_string();
        let (prefix, database_name) = match kind {
            ScratchKind::Test => (format!("t{}", &id[..12]), format!("newspipe_test_{}", &id[..16])),
            ScratchKind::Bench => (format!("bench{}", &id[..12]), format!("newspipe_bench_{}", &id[..16])),
        };
        create_database(&services.database_url, &database_name).await?;
        let mut url = url::Url::parse(&services.database_url)?;
        url.set_path(&format!("/{database_name}"));
        Ok(Scratch {
            prefix,
            database_name,
            database_url: url.to_string(),
            amqp_url: services.amqp_url.clone(),
            server_url: services.database_url.clone(),
        })
    }

    /// The environment every worker of this scratch needs: its broker, database and prefix, private
    /// (loopback) addresses allowed, no politeness slack, and metrics on a port of the system's choosing.
    pub fn worker_env(&self) -> Vec<(String, String)> {
        [
            ("AMQP_URL", self.amqp_url.as_str()),
            ("DATABASE_URL", self.database_url.as_str()),
            ("NEWSPIPE__BROKER__PREFIX", self.prefix.as_str()),
            ("NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES", "true"),
            ("NEWSPIPE__POLITENESS__SLACK_MS", "0"),
            ("NEWSPIPE__METRICS__PORT", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Best effort, nothing reported: deletes the queues of `topology` (this scratch's prefix) and drops the
    /// database, leaving the shared services as they were found. Close pools on the database first.
    pub async fn remove(&self, topology: &Topology) {
        if let Ok(connection) =
            newspipe_broker::connect(&self.amqp_url.as_str().into(), "newspipe-scratch-cleanup").await
        {
            if let Ok(channel) = connection.create_channel().await {
                let _ = topology.delete(&channel).await;
            }
            let _ = connection.close(200, "bye".into()).await;
        }
        let _ = drop_database(&self.server_url, &self.database_name).await;
    }
}
