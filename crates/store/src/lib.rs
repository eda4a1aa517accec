//! The store worker: writes each job's outcome (and its article) to PostgreSQL, idempotently. Also the
//! database access the command line uses.

pub mod db;
pub mod read;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use metrics::{counter, histogram};
use newspipe_broker::{BrokerSettings, Disposition, Handler, Incoming, Queue, run_worker};
use newspipe_models::{StoreRequest, decode_json};
use newspipe_runtime::{Health, LogSettings, MetricsSettings, ProcessSettings};
use serde::Deserialize;

pub use db::{Database, DatabaseSettings, DbError, OutcomeCounts, OutcomeRow, TreeOutcome};
pub use read::{ArticleFilter, FailedUrl, RecentOutcomes, SearchHit, StoredArticle};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub database: DatabaseSettings,
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn validate(&self) -> Result<(), newspipe_runtime::SettingsError> {
        newspipe_runtime::check_credentials("broker.url", &self.broker.url)?;
        newspipe_runtime::check_credentials("database.url", &self.database.url)
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let health = Health::default();
    let database_ready = health.component("database");
    let database = Database::connect_lazy(&settings.database)?;
    migrate_when_reachable(&database).await?;
    database_ready.store(true, Ordering::Relaxed);
    let handler = StoreHandler { database, ready: database_ready };
    run_worker(Queue::Store, handler, &settings.broker, &settings.metrics, health).await?;
    Ok(())
}

/// The database may come up after the store: keep trying, with backoff, rather than crash-looping.
pub async fn migrate_when_reachable(database: &Database) -> Result<(), DbError> {
    let mut pause = Duration::from_millis(200);
    loop {
        match database.migrate().await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_unavailable() => {
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "database unreachable; waiting for it");
            }
            Err(error) => return Err(error),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

pub struct StoreHandler {
    pub database: Database,
    /// Cleared while the database is unreachable, so `/healthz` tells.
    pub ready: Arc<AtomicBool>,
}

impl Handler for StoreHandler {
    async fn handle(&self, message: Incoming) -> Disposition {
        let request: StoreRequest = match decode_json(&message.body) {
            Ok(request) => request,
            Err(error) => return Disposition::DeadLetter { reason: error.to_string() },
        };
        // The database being down is not the message's fault: hold it and retry (it goes back to the queue
        // if the worker stops), instead of spending its retries or dead-lettering it.
        let mut pause = Duration::from_millis(200);
        loop {
            let started = Instant::now();
            match self.database.record(&request).await {
                Ok(article_id) => {
                    self.ready.store(true, Ordering::Relaxed);
                    let kind = request.outcome.kind().as_str();
                    tracing::info!(url = %request.url, outcome = kind, reason = request.outcome.reason(), article_id, "recorded");
                    counter!("newspipe_outcomes_total", "outcome" => kind,
                        "reason" => reason_class(request.outcome.reason()))
                    .increment(1);
                    histogram!("newspipe_stage_seconds", "stage" => "store")
                        .record(started.elapsed().as_secs_f64());
                    return Disposition::Forward(Vec::new());
                }
                Err(error) if error.is_unavailable() => {
                    self.ready.store(false, Ordering::Relaxed);
                    tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "database unavailable; holding the message");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(error) => return Disposition::DeadLetter { reason: error.to_string() },
            }
        }
    }
}

/// A reason as a metric label with few values: the part before any `:` (`not html: application/pdf` is
/// `not html`), at most 40 characters; empty for a stored article. The full reason is in the database.
pub fn reason_class(reason: Option<&str>) -> String {
    let reason = reason.unwrap_or_default();
    let class = reason.split(':').next().unwrap_or_default().trim();
    class.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reason_label_keeps_the_kind_of_reason_not_its_details() {
        use super::reason_class;
        assert_eq!(reason_class(Some("not html: application/pdf")), "not html");
        assert_eq!(reason_class(Some("http 404")), "http 404");
        assert_eq!(reason_class(Some("not an article: home page")), "not an article");
        assert_eq!(reason_class(None), "");
        assert_eq!(reason_class(Some(&"x".repeat(100))).len(), 40);
    }
}
