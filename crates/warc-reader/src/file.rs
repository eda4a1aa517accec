//! One WARC file, read to its end: records come off a blocking thread in order, pages are extracted on
//! the cores (as many at once as `warc_reader.concurrency`), each response record's outcome is published
//! (and confirmed), and the file's checkpoint follows the first record whose outcome is not yet confirmed.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use newspipe_broker::{Outgoing, PublishError, Publisher, Queue};
use newspipe_db::{Database, DbError, WarcCheckpoint};
use newspipe_extract::{ExtractError, Extraction, Options, Page, extract};
use newspipe_models::{FailureReason, Outcome, SkipReason, StoreRequest, WarcJob, WarcLocation, encode_json};
use newspipe_runtime::InternalEvent;
use newspipe_warc::{
    Body, Damage, Item, LocalFile, ReadOptions, Record, RecordKind, Records, Source, detect_layout,
};
use tokio::sync::{Semaphore, mpsc};

use crate::remote::Download;
use crate::{Settings, events};

/// Why a file could not be finished now (it will be resumed); a damaged file is not an error, it ends
/// `failed` with its damage recorded.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("publishing a record's outcome failed: {0}")]
    Publish(#[source] PublishError),
    #[error("recording the file's progress failed: {0}")]
    Database(#[source] DbError),
}

/// Reads WARC files: what every job of one reader process shares.
pub struct FileReader {
    database: Database,
    download: Download,
    read_options: ReadOptions,
    extract_options: Arc<Options>,
    cpu: Arc<Semaphore>,
    in_flight: usize,
    checkpoint_every: Duration,
}

/// What became of one item, in file order.
struct Done {
    kind: DoneKind,
}

enum DoneKind {
    /// A response record whose outcome is confirmed.
    Response,
    /// Any other record (request, metadata, revisit, warcinfo...).
    PassedOver,
    /// Damage: what and where (a damaged response record's failed outcome is confirmed too).
    Damaged(Damage),
}

/// Outcomes sent to the store in one message: at most this many...
const BATCH_REQUESTS: usize = 32;
/// ...or about this many bytes of JSON (the store holds a prefetch of messages decoded: bounded in bytes).
const BATCH_BYTES: usize = 256 << 10;
/// A batch not full is sent after this long (a slow download still hands its records on).
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Items settled (in file order) whose outcomes wait to be published together.
#[derive(Default)]
struct Batch {
    done: Vec<Done>,
    requests: Vec<StoreRequest>,
    bytes: usize,
}

impl Batch {
    fn add(&mut self, done: Done, request: Option<StoreRequest>) {
        if let Some(request) = request {
            // An estimate of its JSON: the article's text and Markdown are most of it.
            self.bytes += match &request.outcome {
                Outcome::Stored { article } => {
                    article.text.len() + article.markdown.as_ref().map_or(0, String::len) + 1024
                }
                _ => 512,
            };
            self.requests.push(request);
        }
        self.done.push(done);
    }

    fn is_full(&self) -> bool {
        self.requests.len() >= BATCH_REQUESTS || self.bytes >= BATCH_BYTES
    }
}

/// Where a record starts: what a checkpoint resumes at.
#[derive(Clone)]
struct Start {
    offset: Option<u64>,
    record_id: String,
    index: u64,
}

impl FileReader {
    pub fn new(settings: &Settings, database: Database) -> anyhow::Result<FileReader> {
        let reader = &settings.warc_reader;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let concurrency = if reader.concurrency == 0 { cores } else { reader.concurrency };
        Ok(FileReader {
            database,
            download: Download::new(
                &settings.fetcher.user_agent,
                settings.fetcher.allow_private_addresses,
                reader.download_attempts,
                Duration::from_millis(reader.download_retry_ms),
            )?,
            read_options: ReadOptions { max_body_bytes: settings.extractor.max_page_bytes as u64 },
            extract_options: Arc::new(Options {
                max_bytes: settings.extractor.max_page_bytes,
                time_budget: Duration::from_millis(settings.extractor.time_budget_ms.max(1)),
            }),
            cpu: Arc::new(Semaphore::new(concurrency)),
            in_flight: reader.in_flight.max(1),
            checkpoint_every: Duration::from_secs(reader.checkpoint_secs.max(1)),
        })
    }

    /// Reads `job`'s file from its checkpoint to its end, publishing each response record's outcome with
    /// `publisher`. Returns when every outcome is confirmed and the file's end is recorded.
    pub async fn read(&self, job: &WarcJob, publisher: &Publisher) -> Result<(), FileError> {
        let started = Instant::now();
        let checkpoint =
            self.database.start_warc_file(job.job_id, &job.source).await.map_err(FileError::Database)?;
        if checkpoint.records_read > 0 {
            events::FileResumed {
                source: &job.source,
                records_read: checkpoint.records_read,
                at: checkpoint.resume_offset,
            }
            .emit();
        }
        let mut progress = checkpoint.clone();
        let (items, mut incoming) = mpsc::channel::<Item>(self.in_flight.min(16));
        let source = self.source(&job.source);
        let options = self.read_options;
        let reading = tokio::task::spawn_blocking(move || produce(source, options, &checkpoint, &items));

        let mut pending = FuturesOrdered::new();
        let mut starts: VecDeque<Option<Start>> = VecDeque::new();
        let mut batch = Batch::default();
        let mut last_checkpoint = Instant::now();
        let mut read_all = false;
        let mut flush_timer = tokio::time::interval(FLUSH_EVERY);
        loop {
            tokio::select! {
                item = incoming.recv(), if !read_all && pending.len() + batch.done.len() < self.in_flight => match item {
                    Some(item) => {
                        starts.push_back(match &item {
                            Item::Record(r) => Some(Start { offset: r.offset, record_id: r.record_id.clone(), index: r.index }),
                            Item::Damage(_) => None,
                        });
                        pending.push_back(self.settle(job, item));
                    }
                    None => read_all = true,
                },
                Some((done, request)) = pending.next() => {
                    batch.add(done, request);
                    if batch.is_full() || (read_all && pending.is_empty()) {
                        self.flush(&mut batch, publisher, &mut starts, &mut progress).await?;
                    }
                },
                _ = flush_timer.tick(), if !batch.done.is_empty() => {
                    self.flush(&mut batch, publisher, &mut starts, &mut progress).await?;
                },
                else => break,
            }
            if last_checkpoint.elapsed() >= self.checkpoint_every
                && let Some(Some(next)) = starts.front()
            {
                progress.resume_offset = next.offset.and_then(|o| i64::try_from(o).ok());
                progress.resume_record_id = Some(next.record_id.clone());
                progress.records_read = next.index as i64;
                self.database
                    .checkpoint_warc_file(job.job_id, &progress)
                    .await
                    .map_err(FileError::Database)?;
                last_checkpoint = Instant::now();
            }
        }
        self.flush(&mut batch, publisher, &mut starts, &mut progress).await?;
        let records = reading.await.unwrap_or(0);
        progress.records_read = records as i64;
        progress.resume_offset = None;
        progress.resume_record_id = None;
        self.database.finish_warc_file(job.job_id, &progress).await.map_err(FileError::Database)?;
        events::FileRead {
            source: &job.source,
            records: progress.records_read,
            responses: progress.responses,
            damaged: progress.damaged,
            error: progress.error.as_deref(),
            elapsed: started.elapsed(),
        }
        .emit();
        Ok(())
    }

    /// Marks a file failed for good: its job ran out of attempts (the broker or database kept failing).
    pub async fn give_up(&self, job: &WarcJob, why: &str) {
        let mut progress = self.database.start_warc_file(job.job_id, &job.source).await.unwrap_or_default();
        progress.error.get_or_insert_with(|| format!("gave up: {why}"));
        if let Err(error) = self.database.finish_warc_file(job.job_id, &progress).await {
            tracing::error!(source = %job.source, %error, "cannot record the end of a warc file");
        }
    }

    fn source(&self, source: &str) -> Result<Arc<dyn Source + Sync>, String> {
        if source.starts_with("http://") || source.starts_with("https://") {
            self.download
                .file(source)
                .map(|f| Arc::new(f) as Arc<dyn Source + Sync>)
                .map_err(|e| e.to_string())
        } else if Path::new(source).is_absolute() {
            Ok(Arc::new(LocalFile::new(source)))
        } else {
            Err(format!("{source}: neither an absolute path nor an http(s) URL"))
        }
    }

    /// What one item comes to: its outcome, for a response record (published with its batch).
    async fn settle(&self, job: &WarcJob, item: Item) -> (Done, Option<StoreRequest>) {
        let (request, kind) = match item {
            Item::Record(record) if record.kind == RecordKind::Response => {
                events::RecordRead { kind: "response" }.emit();
                (Some(self.outcome(job, record).await), DoneKind::Response)
            }
            Item::Record(record) => {
                events::RecordRead { kind: record.kind.as_str() }.emit();
                (None, DoneKind::PassedOver)
            }
            Item::Damage(damage) => {
                events::RecordRead { kind: "damaged" }.emit();
                let request = match (&damage.record_id, damage.kind) {
                    (Some(id), Some(RecordKind::Response)) => {
                        let url = damage.target_uri.clone().unwrap_or_else(|| id.clone());
                        let mut request = StoreRequest::new(
                            job.record_job_id(id),
                            url,
                            Outcome::Failed { reason: FailureReason::DamagedRecord },
                        );
                        request.parent_job_id = Some(job.job_id);
                        Some(request)
                    }
                    _ => None,
                };
                (request, DoneKind::Damaged(damage))
            }
        };
        (Done { kind }, request)
    }

    /// Publishes the batch's outcomes as one message and waits for the confirm; then (only then) its items
    /// count as handed on, and the checkpoint may move past them.
    async fn flush(
        &self,
        batch: &mut Batch,
        publisher: &Publisher,
        starts: &mut VecDeque<Option<Start>>,
        progress: &mut WarcCheckpoint,
    ) -> Result<(), FileError> {
        if !batch.requests.is_empty() {
            let body = encode_json(&batch.requests);
            let message = Outgoing::json(Queue::Store, body).compressed().for_job(batch.requests[0].job_id);
            publisher.publish(&message).await.map_err(FileError::Publish)?;
        }
        for done in batch.done.drain(..) {
            starts.pop_front();
            apply(progress, done);
        }
        batch.requests.clear();
        batch.bytes = 0;
        Ok(())
    }

    /// The outcome of a response record: its page extracted, or why not.
    async fn outcome(&self, job: &WarcJob, record: Record) -> StoreRequest {
        let job_id = job.record_job_id(&record.record_id);
        let url = record.target_uri.clone().unwrap_or_else(|| record.record_id.clone());
        let outcome = match (&record.body, record.http_status) {
            (Body::Page(_), _) => {
                let _permit = self.cpu.acquire().await.expect("the semaphore is never closed");
                let options = self.extract_options.clone();
                let location = WarcLocation {
                    file: job.source.clone(),
                    offset: record.offset,
                    record_id: record.record_id.clone(),
                };
                match tokio::task::spawn_blocking(move || extract_page(&record, &options, &location)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Outcome::Failed { reason: FailureReason::ExtractorError },
                }
            }
            (Body::TooLarge { .. }, _) => Outcome::Failed { reason: FailureReason::TooLarge },
            (Body::Undecodable(why), _) => {
                tracing::debug!(url, why, "page payload does not decode");
                Outcome::Failed { reason: FailureReason::DecodeError }
            }
            (Body::NotRead, Some(status)) if status != 200 => {
                Outcome::Skipped { reason: SkipReason::ArchivedStatus { status } }
            }
            (Body::NotRead, Some(_)) => Outcome::Skipped {
                reason: SkipReason::NotHtml { mime: record.mime().unwrap_or_else(|| "unknown".into()) },
            },
            // A response record that holds no HTTP response (a `resource` written as `response`).
            (Body::NotRead, None) => Outcome::Skipped {
                reason: SkipReason::NotHtml { mime: record.mime().unwrap_or_else(|| "unknown".into()) },
            },
        };
        let mut request = StoreRequest::new(job_id, url, outcome);
        request.parent_job_id = Some(job.job_id);
        request
    }
}

/// Extracts one archived page: pure, so it is tested without a broker.
pub fn extract_page(record: &Record, options: &Options, location: &WarcLocation) -> Outcome {
    let Body::Page(body) = &record.body else {
        return Outcome::Failed { reason: FailureReason::ExtractorError };
    };
    let url = record.target_uri.as_deref().unwrap_or_default();
    let page = Page {
        body,
        url,
        content_type: record.content_type.as_deref(),
        content_language: record.content_language.as_deref(),
        hints: None,
    };
    match extract(&page, options) {
        Ok(Extraction::Article(mut article)) => {
            article.url = url.to_string();
            // The archive's time is when the page was fetched.
            article.fetched_at = record.date;
            article.set_warc(location);
            Outcome::Stored { article }
        }
        Ok(Extraction::Skipped(reason)) => Outcome::Skipped { reason },
        Err(ExtractError::TooLarge { .. }) => Outcome::Failed { reason: FailureReason::TooLarge },
        Err(ExtractError::TimeBudget(_)) => Outcome::Failed { reason: FailureReason::ExtractionTimeBudget },
        Err(ExtractError::Internal(error)) => {
            tracing::warn!(url, %error, "extraction failed");
            Outcome::Failed { reason: FailureReason::ExtractorError }
        }
    }
}

fn apply(progress: &mut WarcCheckpoint, done: Done) {
    match done.kind {
        DoneKind::Response => progress.responses += 1,
        DoneKind::PassedOver => progress.passed_over += 1,
        DoneKind::Damaged(damage) => {
            progress.damaged += 1;
            if damage.kind == Some(RecordKind::Response) && damage.record_id.is_some() {
                progress.responses += 1;
            }
            if progress.error.is_none() {
                progress.error = Some(damage.why);
                progress.error_offset = i64::try_from(damage.offset).ok();
            }
        }
    }
}

/// Reads the file on a blocking thread and sends its items on, from the checkpoint: at its offset when the
/// record found there is the one checkpointed, else from the start, skipping the records already handed on.
/// Returns how many records the file has.
fn produce(
    source: Result<Arc<dyn Source + Sync>, String>,
    options: ReadOptions,
    checkpoint: &WarcCheckpoint,
    items: &mpsc::Sender<Item>,
) -> u64 {
    let fail = |why: String| {
        let _ = items.blocking_send(Item::Damage(Damage {
            offset: 0,
            why,
            record_id: None,
            target_uri: None,
            kind: None,
        }));
        0
    };
    let source = match source {
        Ok(source) => source,
        Err(why) => return fail(why),
    };
    let layout = match detect_layout(&source) {
        Ok(layout) => layout,
        Err(error) => return fail(format!("cannot read the file: {error}")),
    };
    let skip = u64::try_from(checkpoint.records_read).unwrap_or(0);
    let mut count = 0;
    if let (Some(offset), Some(id)) = (checkpoint.resume_offset, &checkpoint.resume_record_id)
        && layout.has_offsets()
    {
        let mut records = Records::starting_at(source.clone(), layout, options, offset as u64, skip);
        match records.next() {
            Some(Item::Record(first)) if &first.record_id == id => {
                count = first.index + 1;
                if items.blocking_send(Item::Record(first)).is_err() {
                    return count;
                }
                for item in records {
                    if let Item::Record(r) = &item {
                        count = r.index + 1;
                    }
                    if items.blocking_send(item).is_err() {
                        break;
                    }
                }
                return count;
            }
            _ => {
                tracing::warn!(offset, "the checkpointed record is not at its offset; reading from the start")
            }
        }
    }
    for item in Records::new(source, layout, options) {
        if let Item::Record(r) = &item {
            count = r.index + 1;
            if r.index < skip {
                continue;
            }
        } else if count < skip {
            // Damage before the checkpoint was counted then.
            continue;
        }
        if items.blocking_send(item).is_err() {
            break;
        }
    }
    count
}
