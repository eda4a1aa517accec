-- WARC in: one row per WARC file submitted (`newspipe submit --warc`), written by `submit` when it queues
-- the file and by the WARC reader (`newspipe-warc-reader`) as it reads it. The reader checkpoints here: a
-- redelivered job (a reader killed, or one that held the job past RabbitMQ's consumer_timeout) resumes at
-- `resume_offset` with the counts as they were there, instead of reading the file again from its start.
-- The records' outcomes are ordinary outcomes (table outcomes, parent_job_id = this job_id).
CREATE TABLE warc_files (
    job_id          UUID PRIMARY KEY,
    -- An absolute path or an http(s) URL, as the job names it.
    source          TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'reading', 'done', 'failed')),
    -- Where the first record not yet handed on starts (a gzip member's or a record's byte offset); NULL
    -- when reading must start over (nothing read yet, or a whole-file gzip, which cannot be entered midway).
    resume_offset   BIGINT,
    -- The WARC-Record-ID of the record at resume_offset (or of the record number records_read, in a
    -- whole-file gzip): a resume checks it finds that record there before it trusts the offset.
    resume_record_id TEXT,
    -- Counts up to resume_offset (or to the end, once done): every record read, the response records
    -- given an outcome, the other records (requests, metadata, revisits...) passed over, and the records
    -- skipped because they were damaged.
    records_read    BIGINT NOT NULL DEFAULT 0,
    responses       BIGINT NOT NULL DEFAULT 0,
    passed_over     BIGINT NOT NULL DEFAULT 0,
    damaged         BIGINT NOT NULL DEFAULT 0,
    -- Why the file failed, and at which byte offset the damage starts.
    error           TEXT,
    error_offset    BIGINT,
    -- Deliveries of the job so far (a resumed file has more than one).
    attempts        INTEGER NOT NULL DEFAULT 0,
    submitted_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX warc_files_state ON warc_files (state);

-- Where an article's page is kept in a WARC file (read from one, or archived by the fetcher into one):
-- NULL for a page fetched live without an archive.
ALTER TABLE articles ADD COLUMN warc_file TEXT;
ALTER TABLE articles ADD COLUMN warc_offset BIGINT;
ALTER TABLE articles ADD COLUMN warc_record_id TEXT;

-- The grants of 20261128000400_worker_roles, and the WARC reader's: it reads and writes its files' rows
-- (a file published by another producer than `submit` gets its row from the reader; checkpoints, counts,
-- the end) and nothing else: the records' outcomes go through the store.
CREATE OR REPLACE FUNCTION newspipe_grant_worker_roles() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_store') THEN
        GRANT SELECT, INSERT, UPDATE ON articles, outcomes TO newspipe_store;
        GRANT USAGE ON SEQUENCE articles_id_seq TO newspipe_store;
        GRANT SELECT, INSERT, UPDATE, DELETE ON url_claims TO newspipe_store;
        GRANT SELECT ON _sqlx_migrations TO newspipe_store;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_fetcher') THEN
        GRANT SELECT, INSERT, UPDATE ON hosts, url_claims TO newspipe_fetcher;
        GRANT SELECT, INSERT, UPDATE, DELETE ON fetch_leases TO newspipe_fetcher;
        GRANT SELECT, UPDATE ON watches TO newspipe_fetcher;
        GRANT SELECT ON _sqlx_migrations TO newspipe_fetcher;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_warc_reader') THEN
        GRANT SELECT, INSERT, UPDATE ON warc_files TO newspipe_warc_reader;
        GRANT SELECT ON _sqlx_migrations TO newspipe_warc_reader;
    END IF;
END
$$;

SELECT newspipe_grant_worker_roles();
