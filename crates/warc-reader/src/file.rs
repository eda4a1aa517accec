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
use newspipe_models::{
    FailureReason, Outcome, RevisitSchedule, SkipReason, StoreRequest, WarcJob, WarcLocation, encode_json,
};
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
    #[error("writing the file's Parquet output failed: {0}")]
    Sink(String),
}

/// Reads WARC files: what every job of one reader process shares.
pub struct FileReader {
    /// `None` with a Parquet sink (`warc_reader.parquet_dir`): no database at all.
    database: Option<Database>,
    parquet_dir: Option<std::path::PathBuf>,
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
    pub fn new(settings: &Settings, database: Option<Database>) -> anyhow::Result<FileReader> {
        let reader = &settings.warc_reader;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let concurrency = if reader.concurrency == 0 { cores } else { reader.concurrency };
        Ok(FileReader {
            database,
            parquet_dir: settings.warc_reader.parquet_dir.clone(),
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
        let (Some(database), None) = (&self.database, &self.parquet_dir) else {
            return self.read_to_parquet(job).await;
        };
        let started = Instant::now();
        let job = &Arc::new(job.clone());
        let checkpoint =
            database.start_warc_file(job.job_id, &job.source).await.map_err(FileError::Database)?;
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
                        pending.push_back(self.spawn_settle(job, item));
                    }
                    None => read_all = true,
                },
                Some((done, request)) = pending.next() => {
                    batch.add(done, request);
                    if batch.is_full() || (read_all && pending.is_empty()) {
                        Settler::flush(&mut batch, publisher, &mut starts, &mut progress).await?;
                    }
                },
                _ = flush_timer.tick(), if !batch.done.is_empty() => {
                    Settler::flush(&mut batch, publisher, &mut starts, &mut progress).await?;
                },
                else => break,
            }
            if last_checkpoint.elapsed() >= self.checkpoint_every
                && let Some(Some(next)) = starts.front()
            {
                progress.resume_offset = next.offset.and_then(|o| i64::try_from(o).ok());
                progress.resume_record_id = Some(next.record_id.clone());
                progress.records_read = next.index as i64;
                database.checkpoint_warc_file(job.job_id, &progress).await.map_err(FileError::Database)?;
                last_checkpoint = Instant::now();
            }
        }
        Settler::flush(&mut batch, publisher, &mut starts, &mut progress).await?;
        let records = reading.await.unwrap_or(0);
        progress.records_read = records as i64;
        progress.resume_offset = None;
        progress.resume_record_id = None;
        database.finish_warc_file(job.job_id, &progress).await.map_err(FileError::Database)?;
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

    /// The Parquet sink: the file read from its start, its articles written to `DIR/NAME.parquet` and every
    /// response record's outcome to `DIR/NAME.outcomes.jsonl`, each written under a temporary name and
    /// renamed when complete. Nothing goes to the broker or a database; a redelivered job reads the file
    /// again and replaces both (no checkpoint: the outputs are whole or absent).
    async fn read_to_parquet(&self, job: &WarcJob) -> Result<(), FileError> {
        let started = Instant::now();
        let job = &Arc::new(job.clone());
        let dir = self.parquet_dir.clone().expect("the Parquet sink has its folder");
        let stem = parquet_stem(&job.source);
        let (items, mut incoming) = mpsc::channel::<Item>(self.in_flight.min(16));
        let source = self.source(&job.source);
        let options = self.read_options;
        let reading =
            tokio::task::spawn_blocking(move || produce(source, options, &WarcCheckpoint::default(), &items));
        let (requests, written) = mpsc::channel::<StoreRequest>(64);
        let writing = tokio::task::spawn_blocking(move || write_parquet(&dir, &stem, written));
        let mut progress = WarcCheckpoint::default();
        let mut pending = FuturesOrdered::new();
        let mut read_all = false;
        loop {
            tokio::select! {
                item = incoming.recv(), if !read_all && pending.len() < self.in_flight => match item {
                    Some(item) => pending.push_back(self.spawn_settle(job, item)),
                    None => read_all = true,
                },
                Some((done, request)) = pending.next() => {
                    apply(&mut progress, done);
                    if let Some(request) = request && requests.send(request).await.is_err() {
                        break;
                    }
                },
                else => break,
            }
        }
        drop(requests);
        let records = reading.await.unwrap_or(0);
        let (articles, outcomes) = writing
            .await
            .map_err(|e| FileError::Sink(format!("the Parquet writer stopped: {e}")))?
            .map_err(FileError::Sink)?;
        events::FileRead {
            source: &job.source,
            records: records as i64,
            responses: progress.responses,
            damaged: progress.damaged,
            error: progress.error.as_deref(),
            elapsed: started.elapsed(),
        }
        .emit();
        tracing::info!(source = %job.source, articles, outcomes, "warc file written as parquet");
        Ok(())
    }

    /// Marks a file failed for good: its job ran out of attempts (the broker or database kept failing).
    pub async fn give_up(&self, job: &WarcJob, why: &str) {
        let Some(database) = &self.database else {
            tracing::error!(source = %job.source, why, "warc file given up");
            return;
        };
        let mut progress = database.start_warc_file(job.job_id, &job.source).await.unwrap_or_default();
        progress.error.get_or_insert_with(|| format!("gave up: {why}"));
        if let Err(error) = database.finish_warc_file(job.job_id, &progress).await {
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

    /// Settles an item on a task of its own, so that its extraction goes on while the file's loop waits
    /// for a confirm, a checkpoint or the Parquet writer (polled only by the loop, it would stall there and
    /// leave cores idle). The result comes back in file order through the loop's `FuturesOrdered`.
    fn spawn_settle(
        &self,
        job: &Arc<WarcJob>,
        item: Item,
    ) -> impl std::future::Future<Output = (Done, Option<StoreRequest>)> + use<> {
        let settler = Settler { cpu: self.cpu.clone(), extract_options: self.extract_options.clone() };
        let job = job.clone();
        let task = tokio::spawn(async move { settler.settle(&job, item).await });
        async move { task.await.expect("settling a record never panics: extraction panics are caught") }
    }
}

/// What settling a record needs, shared by the tasks of one reader.
struct Settler {
    cpu: Arc<Semaphore>,
    extract_options: Arc<Options>,
}

impl Settler {
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
        // An archive is kept as it was captured: its URLs are not fetched live again (docs/history.md). Its
        // own captures of one URL at different times are that article's versions.
        request.revisit = Some(RevisitSchedule::off());
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

/// The name a WARC file's outputs take: its file name without `.gz` and `.warc`.
fn parquet_stem(source: &str) -> String {
    let name = source.rsplit('/').next().unwrap_or(source);
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.strip_suffix(".warc").unwrap_or(name).to_string()
}

/// Writes a file's articles as Parquet and every outcome as a JSON line, each renamed into place at the
/// end (the outcomes first: an articles file in place means its outcomes are too). Returns the counts.
fn write_parquet(
    dir: &Path,
    stem: &str,
    mut requests: mpsc::Receiver<StoreRequest>,
) -> Result<(u64, u64), String> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut articles = newspipe_parquet::ParquetFile::create(&dir.join(format!("{stem}.parquet")))
        .map_err(|e| e.to_string())?;
    let outcomes_name = dir.join(format!("{stem}.outcomes.jsonl"));
    let outcomes_temporary = dir.join(format!(".{stem}.outcomes.jsonl.tmp"));
    let file = std::fs::File::create(&outcomes_temporary)
        .map_err(|e| format!("cannot create {}: {e}", outcomes_temporary.display()))?;
    let mut lines = std::io::BufWriter::new(file);
    let mut outcomes = 0u64;
    let write_error = |e: std::io::Error| format!("cannot write {}: {e}", outcomes_temporary.display());
    while let Some(request) = requests.blocking_recv() {
        let line = serde_json::json!({
            "job_id": request.job_id,
            "url": request.url,
            "outcome": request.outcome.kind(),
            "reason_code": request.outcome.reason_code(),
            "reason": request.outcome.reason(),
        });
        serde_json::to_writer(&mut lines, &line).map_err(|e| write_error(e.into()))?;
        lines.write_all(b"\n").map_err(write_error)?;
        outcomes += 1;
        if let Outcome::Stored { article } = request.outcome {
            articles.write(*article).map_err(|e| e.to_string())?;
        }
    }
    let file = lines.into_inner().map_err(|e| write_error(e.into_error()))?;
    file.sync_all().map_err(write_error)?;
    std::fs::rename(&outcomes_temporary, &outcomes_name)
        .map_err(|e| format!("cannot rename {} into place: {e}", outcomes_name.display()))?;
    let articles = articles.finish().map_err(|e| e.to_string())?;
    Ok((articles, outcomes))
}
