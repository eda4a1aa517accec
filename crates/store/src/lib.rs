//! The store worker: writes each job's outcome (and its article) to PostgreSQL, idempotently, through
//! `newspipe_db` (each article with its search vector); and indexes the articles stored before vectors
//! were written with them.

mod events;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use newspipe_broker::{BrokerSettings, Disposition, Handler, Incoming, Queue, run_worker};
use newspipe_models::{StoreRequest, decode_store_requests};
use newspipe_runtime::{Health, InternalEvent, LogSettings, MetricsSettings, ProcessSettings};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

use newspipe_db::{Database, DatabaseSettings, DbError};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub database: DatabaseSettings,
    pub store: StoreSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// Most outcomes written in one transaction. The store holds at least `writers + 1` times this many
    /// messages (`broker.prefetch` is raised to it): a batch being written per writer while the next fills.
    pub batch_size: u16,
    /// Transactions written at once, each on its own connection. Requests are shared out by URL, so all
    /// requests for one URL are written by the same writer.
    pub writers: u16,
    /// Most articles the search indexer analyses per transaction; 0 = this store does not index (another
    /// replica, or a store run for that alone, does).
    pub index_batch_size: u16,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings { batch_size: 64, writers: 2, index_batch_size: 256 }
    }
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn validate(&self) -> Result<(), newspipe_runtime::SettingsError> {
        newspipe_runtime::check_credentials_of_each("broker.url", &self.broker.url)?;
        newspipe_runtime::check_credentials("database.url", &self.database.url)?;
        if self.store.batch_size == 0 {
            return Err(newspipe_runtime::SettingsError::Invalid {
                key: "store.batch_size",
                value: "0".into(),
                why: "at least 1 outcome per transaction",
            });
        }
        if self.store.writers == 0 {
            return Err(newspipe_runtime::SettingsError::Invalid {
                key: "store.writers",
                value: "0".into(),
                why: "at least 1 transaction at a time",
            });
        }
        Ok(())
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let health = Health::default();
    let database_ready = health.component("database");
    let database = Database::open_when_reachable(&settings.database, &database_ready).await?;
    if settings.store.index_batch_size > 0 {
        tokio::spawn(index_for_search(database.clone(), settings.store.index_batch_size));
    }
    let store = &settings.store;
    let handler = StoreHandler::start(database, database_ready, store.batch_size, store.writers);
    let mut broker = settings.broker.clone();
    broker.prefetch = broker.prefetch.max(store.batch_size.saturating_mul(store.writers.saturating_add(1)));
    run_worker(Queue::Store, handler, &broker, &settings.metrics, health).await?;
    Ok(())
}

/// Writes outcomes in batches (group commit): every message the consume loop hands over joins its writer's
/// next transaction, and its handler returns (so the message is acked) only after that transaction committed.
/// Batches form by themselves: while one commits, the messages arriving meanwhile gather for the next, so
/// a trickle is written one by one without waiting and a flood in batches of up to `batch_size`.
///
/// There are `writers` writers, each with its own connection, and each request goes to the writer its URL
/// hashes to. So requests for different URLs are written side by side (PostgreSQL works on as many batches
/// as there are writers), while every request for one URL goes through one writer and never waits on
/// another writer's lock. Which version of a URL is kept does not depend on the order requests reach their
/// writer (deliveries are handled concurrently, so that order is not the queue's): the one fetched last is
/// (see `newspipe_db::outcomes`).
pub struct StoreHandler {
    writers: Vec<mpsc::Sender<Pending>>,
}

/// A request waiting for its transaction, and where to say how it went: the article id, or why the
/// database refused this request (it is then dead-lettered).
struct Pending {
    request: StoreRequest,
    done: oneshot::Sender<Result<Option<i64>, String>>,
}

impl StoreHandler {
    /// Starts `writers` writer tasks, each with a queue of its own. `ready` is cleared while the database is
    /// unreachable, so `/healthz` tells.
    pub fn start(database: Database, ready: Arc<AtomicBool>, batch_size: u16, writers: u16) -> StoreHandler {
        let batch_size = usize::from(batch_size.max(1));
        let writers = (0..writers.max(1))
            .map(|_| {
                let (writer, requests) = mpsc::channel(batch_size * 2);
                tokio::spawn(write_batches(database.clone(), ready.clone(), requests, batch_size));
                writer
            })
            .collect();
        StoreHandler { writers }
    }

    /// The writer of every request for `url`: the same for as long as the process runs (`DefaultHasher::new`
    /// has fixed keys); nothing outside depends on which it is.
    fn writer_for(&self, url: &str) -> &mpsc::Sender<Pending> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        url.hash(&mut hasher);
        &self.writers[(hasher.finish() % self.writers.len() as u64) as usize]
    }
}

impl Handler for StoreHandler {
    async fn handle(&self, message: Incoming) -> Disposition {
        // One request, or a batch of them (a WARC file's outcomes): each goes to its URL's writer, and the
        // message is acked when every one of them is committed.
        let requests = match decode_store_requests(&message.body) {
            Ok(requests) => requests,
            Err(error) => return Disposition::DeadLetter { reason: error.to_string() },
        };
        // The consume loop keeps its own copy for a retry; this one is not needed while the batch is written.
        drop(message);
        let started = Instant::now();
        let mut replies = Vec::with_capacity(requests.len());
        for request in requests {
            let (done, written) = oneshot::channel();
            let writer = self.writer_for(&request.url);
            // The writer lives as long as the handler; if it is gone the process is broken: the panic
            // dead-letters nothing silently (the consume loop keeps the message) and the supervisor restarts.
            writer.send(Pending { request, done }).await.expect("the store's writer task is running");
            replies.push(written);
        }
        let mut refused = Vec::new();
        for written in replies {
            if let Err(reason) = written.await.expect("the store's writer task answers every request") {
                refused.push(reason);
            }
        }
        if refused.is_empty() {
            events::RequestStored { elapsed: started.elapsed() }.emit();
            Disposition::Forward(Vec::new())
        } else {
            // The others of a batch are written (idempotently: a replay of the dead letter writes them again).
            Disposition::DeadLetter { reason: refused.join("; ") }
        }
    }
}

async fn write_batches(
    database: Database,
    ready: Arc<AtomicBool>,
    mut requests: mpsc::Receiver<Pending>,
    batch_size: usize,
) {
    let mut batch = Vec::with_capacity(batch_size);
    while requests.recv_many(&mut batch, batch_size).await > 0 {
        let (requests, replies): (Vec<StoreRequest>, Vec<_>) =
            batch.drain(..).map(|p| (p.request, p.done)).unzip();
        events::BatchWriting { requests: requests.len() }.emit();
        match write_holding(&database, &ready, &requests).await {
            Ok(recorded) => {
                events::HistoryRecorded { counts: recorded.history }.emit();
                for ((request, reply), article_id) in requests.iter().zip(replies).zip(recorded.article_ids) {
                    events::OutcomeRecorded { request, article_id }.emit();
                    let _ = reply.send(Ok(article_id));
                }
            }
            // The database refused the batch (a value it will not take): write each request on its own, in
            // order, so only the one at fault is dead-lettered.
            Err(error) if requests.len() > 1 => {
                tracing::warn!(%error, batch = requests.len(), "batch refused; writing its requests one by one");
                for (request, reply) in requests.into_iter().zip(replies) {
                    let result = match write_holding(&database, &ready, std::slice::from_ref(&request)).await
                    {
                        Ok(mut recorded) => {
                            events::HistoryRecorded { counts: recorded.history }.emit();
                            let article_id = recorded.article_ids.pop().flatten();
                            events::OutcomeRecorded { request: &request, article_id }.emit();
                            Ok(article_id)
                        }
                        Err(error) => Err(error.to_string()),
                    };
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
        }
    }
}

/// Writes the batch, waiting out an unreachable database (and retrying a lost deadlock) for as long as it
/// takes: that is not the messages' fault, so they are held (they go back to the queue if the worker stops)
/// instead of spending their retries or being dead-lettered. Returns only a refusal of the data.
async fn write_holding(
    database: &Database,
    ready: &AtomicBool,
    requests: &[StoreRequest],
) -> Result<newspipe_db::Recorded, DbError> {
    let mut pause = Duration::from_millis(200);
    loop {
        match database.record_batch(requests).await {
            Ok(recorded) => {
                ready.store(true, Ordering::Relaxed);
                return Ok(recorded);
            }
            Err(error) if error.is_transient() => {
                if error.is_unavailable() {
                    ready.store(false, Ordering::Relaxed);
                }
                tracing::warn!(%error, batch = requests.len(), retry_in_ms = pause.as_millis() as u64,
                    "database unavailable; holding the messages");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error),
        }
    }
}

/// Indexes the articles that have no search vector (stored before the store wrote them with one, decision
/// 0009) in batches, and looks again every half second when none wait. Runs beside the writer.
pub async fn index_for_search(database: Database, batch_size: u16) {
    let limit = i64::from(batch_size.max(1));
    let mut pause = Duration::from_millis(500);
    loop {
        let started = Instant::now();
        match database.index_for_search(limit).await {
            Ok(0) => {
                pause = Duration::from_millis(500);
                tokio::time::sleep(pause).await;
            }
            Ok(indexed) => events::ArticlesIndexed { indexed, elapsed: Some(started.elapsed()) }.emit(),
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "search indexing paused");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            // An article PostgreSQL will not analyse: index one by one, so only that one is left out.
            Err(error) => match database.index_for_search_one_by_one(limit).await {
                Ok((indexed, refused)) => {
                    events::ArticlesIndexed { indexed, elapsed: None }.emit();
                    for (article_id, reason) in refused {
                        events::ArticleUnindexable { article_id, reason: &reason, batch_error: &error }
                            .emit();
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "search indexing paused");
                    tokio::time::sleep(pause).await;
                }
            },
        }
    }
}
