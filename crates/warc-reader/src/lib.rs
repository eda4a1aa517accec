//! The WARC reader worker: takes one WARC file per job from the `warc` queue, reads it where it is (a local
//! path, or HTTP with range resumes), extracts its pages in this process, and hands only each response
//! record's outcome on to the store. Pages never cross the broker as raw bytes (docs/decisions/0006).
//!
//! Delivery: the job is acked only when every record's outcome is confirmed by the broker. Progress is
//! checkpointed in `warc_files` (where the first record not yet confirmed starts, and the counts before
//! it), so a redelivered job (a reader killed, or one that held the job past RabbitMQ's
//! `consumer_timeout`) resumes there; the records read twice around a checkpoint get the same job ids, and
//! the store records each job once.

mod events;
mod file;
mod remote;

use std::sync::Arc;
use std::time::Duration;

use newspipe_broker::{BrokerSettings, Disposition, Handler, Incoming, Queue, run_worker};
use newspipe_db::{Database, DatabaseSettings};
use newspipe_models::{WarcJob, decode_json};
use newspipe_runtime::{Health, LogSettings, MetricsSettings, ProcessSettings, SettingsError};
use serde::Deserialize;

pub use file::{FileError, FileReader};
pub use remote::Download;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub database: DatabaseSettings,
    pub warc_reader: WarcReaderSettings,
    /// The extractor's limits apply to pages read from WARC files too.
    pub extractor: ExtractorLimits,
    /// The fetcher's address policy and name apply to WARC downloads too.
    pub fetcher: FetcherAccess,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarcReaderSettings {
    /// WARC files read at once by one reader (its prefetch): each already uses every core.
    pub files: u16,
    /// Pages extracted at once (CPU-bound work); 0 = one per core.
    pub concurrency: usize,
    /// Records in hand at once, between reading and the broker's confirm of their outcome.
    pub in_flight: usize,
    /// Seconds between two checkpoints of a file's progress.
    pub checkpoint_secs: u64,
    /// Attempts at each HTTP request of a remote file before its read fails.
    pub download_attempts: u32,
    /// The first pause between two attempts, in milliseconds (it doubles, up to 60 s).
    pub download_retry_ms: u64,
    /// Write each file's articles to `DIR/NAME.parquet` (and its outcomes to `DIR/NAME.outcomes.jsonl`)
    /// instead of handing them to the store: no database, no outcomes through the broker. For runs too large
    /// for one database.
    pub parquet_dir: Option<std::path::PathBuf>,
}

impl Default for WarcReaderSettings {
    fn default() -> Self {
        WarcReaderSettings {
            files: 1,
            concurrency: 0,
            in_flight: 64,
            checkpoint_secs: 2,
            download_attempts: 8,
            download_retry_ms: 500,
            parquet_dir: None,
        }
    }
}

/// The `[extractor]` settings the reader shares (the rest of that section is the extractor's).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ExtractorLimits {
    /// Pages larger than this are `failed` with reason `too large`, unread.
    pub max_page_bytes: usize,
    pub time_budget_ms: u64,
}

impl Default for ExtractorLimits {
    fn default() -> Self {
        let defaults = newspipe_extract::Options::default();
        ExtractorLimits {
            max_page_bytes: defaults.max_bytes,
            time_budget_ms: defaults.time_budget.as_millis() as u64,
        }
    }
}

/// The `[fetcher]` settings the reader shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct FetcherAccess {
    pub allow_private_addresses: bool,
    pub user_agent: String,
}

impl Default for FetcherAccess {
    fn default() -> Self {
        FetcherAccess {
            allow_private_addresses: false,
            user_agent: concat!(
                "newspipe/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/newspipe/newspipe)"
            )
            .to_string(),
        }
    }
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn allocator(&self) -> newspipe_runtime::memory::Allocator {
        newspipe_runtime::memory::Allocator::HeapPerCore
    }

    fn validate(&self) -> Result<(), SettingsError> {
        newspipe_runtime::check_credentials_of_each("broker.url", &self.broker.url)?;
        if self.warc_reader.parquet_dir.is_none() {
            newspipe_runtime::check_credentials("database.url", &self.database.url)?;
        }
        if self.warc_reader.files == 0 {
            return Err(SettingsError::Invalid {
                key: "warc_reader.files",
                value: "0".into(),
                why: "at least 1 file at a time",
            });
        }
        if self.warc_reader.in_flight == 0 {
            return Err(SettingsError::Invalid {
                key: "warc_reader.in_flight",
                value: "0".into(),
                why: "at least 1",
            });
        }
        Ok(())
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let health = Health::default();
    let database = match &settings.warc_reader.parquet_dir {
        Some(_) => None,
        None => {
            let database_ready = health.component("database");
            Some(Database::open_when_reachable(&settings.database, &database_ready).await?)
        }
    };
    let handler = WarcHandler { reader: Arc::new(FileReader::new(&settings, database)?) };
    let mut broker = settings.broker.clone();
    broker.prefetch = settings.warc_reader.files;
    run_worker(Queue::Warc, handler, &broker, &settings.metrics, health).await?;
    Ok(())
}

pub struct WarcHandler {
    reader: Arc<FileReader>,
}

impl Handler for WarcHandler {
    async fn handle(&self, message: Incoming) -> Disposition {
        let job: WarcJob = match decode_json(&message.body) {
            Ok(job) => job,
            Err(error) => return Disposition::DeadLetter { reason: error.to_string() },
        };
        match self.reader.read(&job, &message.publisher).await {
            Ok(()) => Disposition::Forward(Vec::new()),
            // The broker or the database went away: the job goes back (or waits in a delay queue) and the next
            // attempt resumes at the last checkpoint.
            Err(error) if message.is_last_attempt() => {
                tracing::error!(source = %job.source, %error, "warc file given up: no attempt left");
                self.reader.give_up(&job, &error.to_string()).await;
                Disposition::Forward(Vec::new())
            }
            Err(error) => {
                tracing::warn!(source = %job.source, %error, "warc file interrupted; it will resume");
                Disposition::Retry {
                    reason: error.to_string(),
                    after: Some(Duration::from_secs(1)),
                    exhausted: Vec::new(),
                }
            }
        }
    }
}
