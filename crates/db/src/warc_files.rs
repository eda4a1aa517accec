//! `warc_files`: one row per WARC file submitted, its progress and its end. `submit` queues a file
//! ([`Database::queue_warc_files`]); the WARC reader starts it ([`Database::start_warc_file`]: a
//! redelivered job finds its checkpoint here), checkpoints as the records it handed on are confirmed
//! ([`Database::checkpoint_warc_file`]) and ends it ([`Database::finish_warc_file`]). The records' own
//! outcomes are in `outcomes`, with the file's job id as their `parent_job_id`.

use chrono::{DateTime, Utc};
use newspipe_models::JobId;

use crate::{Database, DbError, query};

/// How far a file was read: the counts up to the checkpoint, and where to go on from.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct WarcCheckpoint {
    /// Where the next record to hand on starts; `None`: from the start of the file (skipping
    /// `records_read` records, in a whole-file gzip).
    pub resume_offset: Option<i64>,
    pub resume_record_id: Option<String>,
    pub records_read: i64,
    pub responses: i64,
    pub passed_over: i64,
    pub damaged: i64,
    /// The first damage met (a resumed file keeps it): what went wrong, and at which byte.
    pub error: Option<String>,
    pub error_offset: Option<i64>,
}

/// A file's row, as `submit --wait` and `status` show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct WarcFile {
    pub job_id: JobId,
    pub source: String,
    pub state: String,
    pub records_read: i64,
    pub responses: i64,
    pub passed_over: i64,
    pub damaged: i64,
    pub error: Option<String>,
    pub error_offset: Option<i64>,
    pub attempts: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The file's records' outcomes recorded so far, by kind.
    pub stored: i64,
    pub skipped: i64,
    pub failed: i64,
}

impl WarcFile {
    /// Read to its end (damaged or not), and every response record it handed on has its outcome.
    pub fn is_settled(&self) -> bool {
        matches!(self.state.as_str(), "done" | "failed")
            && self.stored + self.skipped + self.failed >= self.responses
    }
}

/// Every file's progress at once, for `newspipe status`.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct WarcProgress {
    pub files_queued: i64,
    pub files_reading: i64,
    pub files_done: i64,
    pub files_failed: i64,
    pub records_read: i64,
    pub articles_stored: i64,
    /// Records read per second by the files being read now (from their start or resume to their last
    /// checkpoint), summed.
    pub records_per_second: f64,
}

impl Database {
    /// Queues files (or queues them again: a file submitted again is read again from its start, and its
    /// records' outcomes are recorded again under the same job ids).
    pub async fn queue_warc_files(&self, files: &[(JobId, String)]) -> Result<(), DbError> {
        let (ids, sources): (Vec<JobId>, Vec<String>) = files.iter().cloned().unzip();
        sqlx::query(
            "INSERT INTO warc_files (job_id, source)
             SELECT * FROM UNNEST($1::uuid[], $2::text[])
             ON CONFLICT (job_id) DO UPDATE SET state = 'queued', source = EXCLUDED.source, resume_offset = NULL,
                 resume_record_id = NULL, records_read = 0, responses = 0, passed_over = 0, damaged = 0,
                 error = NULL, error_offset = NULL, started_at = NULL, finished_at = NULL,
                 submitted_at = now(), updated_at = now()",
        )
        .bind(ids)
        .bind(sources)
        .execute(&self.pool)
        .await
        .map_err(query("queue warc files"))?;
        Ok(())
    }

    /// Marks a file being read (one more attempt) and returns where its last reader got to. A file no
    /// `submit` queued (another producer published the job) gets its row here.
    pub async fn start_warc_file(&self, job_id: JobId, source: &str) -> Result<WarcCheckpoint, DbError> {
        sqlx::query_as::<_, WarcCheckpoint>(
            "INSERT INTO warc_files (job_id, source, state, attempts, started_at) VALUES ($1, $2, 'reading', 1, now())
             ON CONFLICT (job_id) DO UPDATE SET state = 'reading', attempts = warc_files.attempts + 1,
                 started_at = COALESCE(warc_files.started_at, now()), finished_at = NULL, updated_at = now()
             RETURNING resume_offset, resume_record_id, records_read, responses, passed_over, damaged, error,
                 error_offset",
        )
        .bind(job_id)
        .bind(source)
        .fetch_one(&self.pool)
        .await
        .map_err(query("start warc file"))
    }

    /// Records how far a file's records are handed on (and confirmed by the broker).
    pub async fn checkpoint_warc_file(&self, job_id: JobId, at: &WarcCheckpoint) -> Result<(), DbError> {
        self.write_progress(job_id, at, "reading").await
    }

    /// Ends a file: `failed` if it had damage (`at.error`), else `done`.
    pub async fn finish_warc_file(&self, job_id: JobId, at: &WarcCheckpoint) -> Result<(), DbError> {
        let state = if at.error.is_some() { "failed" } else { "done" };
        self.write_progress(job_id, at, state).await
    }

    async fn write_progress(&self, job_id: JobId, at: &WarcCheckpoint, state: &str) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE warc_files SET state = $2, resume_offset = $3, resume_record_id = $4, records_read = $5,
                 responses = $6, passed_over = $7, damaged = $8, error = $9, error_offset = $10,
                 finished_at = CASE WHEN $2 IN ('done', 'failed') THEN now() END, updated_at = now()
             WHERE job_id = $1",
        )
        .bind(job_id)
        .bind(state)
        .bind(at.resume_offset)
        .bind(&at.resume_record_id)
        .bind(at.records_read)
        .bind(at.responses)
        .bind(at.passed_over)
        .bind(at.damaged)
        .bind(&at.error)
        .bind(at.error_offset)
        .execute(&self.pool)
        .await
        .map_err(query("checkpoint warc file"))?;
        Ok(())
    }

    /// The files with these job ids, with their records' outcomes counted.
    pub async fn warc_files(&self, job_ids: &[JobId]) -> Result<Vec<WarcFile>, DbError> {
        sqlx::query_as::<_, WarcFile>(
            "SELECT w.job_id, w.source, w.state, w.records_read, w.responses, w.passed_over, w.damaged, w.error,
                 w.error_offset, w.attempts, w.started_at, w.finished_at, w.updated_at,
                 COALESCE(o.stored, 0) AS stored, COALESCE(o.skipped, 0) AS skipped, COALESCE(o.failed, 0) AS failed
             FROM warc_files w
             LEFT JOIN LATERAL (
                 SELECT count(*) FILTER (WHERE outcome = 'stored') AS stored,
                        count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
                        count(*) FILTER (WHERE outcome = 'failed') AS failed
                 -- Since it was (re)submitted: `reextract` submits a file again under the same job id, and the
                 -- outcomes of its first reading must not count as this one's.
                 FROM outcomes WHERE parent_job_id = w.job_id AND recorded_at >= w.submitted_at) o ON true
             WHERE w.job_id = ANY($1)
             ORDER BY w.source",
        )
        .bind(job_ids)
        .fetch_all(&self.pool)
        .await
        .map_err(query("read warc files"))
    }

    /// Every file's progress, summed.
    pub async fn warc_progress(&self) -> Result<WarcProgress, DbError> {
        sqlx::query_as::<_, WarcProgress>(
            "SELECT count(*) FILTER (WHERE state = 'queued') AS files_queued,
                    count(*) FILTER (WHERE state = 'reading') AS files_reading,
                    count(*) FILTER (WHERE state = 'done') AS files_done,
                    count(*) FILTER (WHERE state = 'failed') AS files_failed,
                    COALESCE(sum(records_read), 0)::int8 AS records_read,
                    (SELECT count(*) FROM outcomes o JOIN warc_files f ON o.parent_job_id = f.job_id
                      WHERE o.outcome = 'stored') AS articles_stored,
                    COALESCE(sum(records_read / GREATEST(EXTRACT(EPOCH FROM updated_at - started_at), 1))
                      FILTER (WHERE state = 'reading'), 0)::float8 AS records_per_second
             FROM warc_files",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(query("read warc progress"))
    }
}
