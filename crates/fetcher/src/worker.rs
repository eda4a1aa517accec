//! The fetcher worker: fetch jobs in, raw pages (or failed outcomes) out.

use chrono::Utc;
use newspipe_broker::{BrokerSettings, Disposition, Handler, Incoming, Outgoing, Queue, run_worker};
use newspipe_models::{
    FetchJob, Outcome, RawPage, SCHEMA_VERSION, StoreRequest, decode_json, encode_json, encode_page,
};
use newspipe_runtime::{Health, LogSettings, MetricsSettings, ProcessSettings, SettingsError};
use serde::Deserialize;

use crate::{FetchError, FetcherSettings, HttpFetcher};

/// The content type of a raw page message (see `newspipe_models::encode_page`).
pub const PAGE_CONTENT_TYPE: &str = "application/x-newspipe-page";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub fetcher: FetcherSettings,
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.fetcher.validate().map_err(|why| SettingsError::Message(format!("fetcher settings: {why}")))
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let handler = FetchHandler { fetcher: HttpFetcher::new(&settings.fetcher)? };
    run_worker(Queue::Fetch, handler, &settings.broker, &settings.metrics, Health::default()).await?;
    Ok(())
}

pub struct FetchHandler {
    pub fetcher: HttpFetcher,
}

impl Handler for FetchHandler {
    async fn handle(&self, message: Incoming) -> Disposition {
        let job: FetchJob = match decode_json(&message.body) {
            Ok(job) => job,
            Err(error) => return Disposition::DeadLetter { reason: error.to_string() },
        };
        tracing::debug!(url = %job.url, attempt = message.attempt, "fetching");
        let started = std::time::Instant::now();
        match self.fetcher.fetch(&job.url).await {
            Ok(page) => {
                crate::events::PageFetched {
                    bytes: page.body.len(),
                    status: page.status,
                    elapsed: started.elapsed(),
                }
                .emit();
                let raw = RawPage {
                    schema: SCHEMA_VERSION,
                    job_id: job.job_id,
                    url: job.url.clone(),
                    final_url: page.final_url,
                    status: page.status,
                    headers: page.headers,
                    fetched_at: Utc::now(),
                    hints: job.hints.clone(),
                    body: page.body,
                };
                let outgoing = Outgoing::bytes(Queue::Extract, encode_page(&raw), PAGE_CONTENT_TYPE);
                Disposition::Forward(vec![outgoing.for_job(job.job_id)])
            }
            Err(error) => {
                crate::events::FetchFailed { url: &job.url, error: &error, attempt: message.attempt }.emit();
                let failed = failed_outcome(&job, &error);
                if error.is_transient() {
                    Disposition::Retry {
                        reason: error.reason(),
                        after: error.retry_after(),
                        exhausted: vec![failed],
                    }
                } else {
                    Disposition::Forward(vec![failed])
                }
            }
        }
    }
}

fn failed_outcome(job: &FetchJob, error: &FetchError) -> Outgoing {
    let request = StoreRequest::new(job.job_id, job.url.clone(), Outcome::Failed { reason: error.reason() });
    Outgoing::json(Queue::Store, encode_json(&request)).for_job(job.job_id)
}
