-- Article history (docs/history.md): every version of an article's content, what was seen of its page
-- besides (checks, 304s, flips back to an earlier version, take-downs), and when it is fetched again.

-- The version hash of the current content (title, authors, normalised text: newspipe_models::version), and
-- when the page last answered 404 or 410 (cleared when it is back). NULL version_hash: stored before
-- history existed; the store computes it from the row the next time the URL is written.
ALTER TABLE articles ADD COLUMN version_hash TEXT;
ALTER TABLE articles ADD COLUMN taken_down_at TIMESTAMPTZ;

-- One row per distinct content of an article, the current one included. Versions are ordered by
-- `fetched_at`, the first fetch that had the content (so a late, older fetch takes its place in the
-- history); numbers (1, 2, ...) are that order, computed when read. The current version's text is NULL:
-- the article row holds it, and it is copied here when a newer version replaces it.
CREATE TABLE article_versions (
    article_id    BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    version_hash  TEXT NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    job_id        UUID NOT NULL,
    title         TEXT,
    authors       TEXT[] NOT NULL DEFAULT '{}',
    word_count    INTEGER NOT NULL,
    text          TEXT COMPRESSION lz4,
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, version_hash),
    -- One fetch is one version: re-extracting it replaces its content instead of adding one.
    UNIQUE (article_id, fetched_at) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX article_versions_fetched_at ON article_versions (fetched_at);

-- What a fetch showed that is not a new version. At most one event of a kind per article and fetch time, so
-- a redelivered request (or a re-extraction) records it once.
CREATE TABLE article_events (
    article_id    BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('checked', 'not_modified', 'reverted', 'taken_down', 'restored')),
    at            TIMESTAMPTZ NOT NULL,
    http_status   SMALLINT,
    -- For `reverted`: the version the content went back to.
    version_hash  TEXT,
    job_id        UUID NOT NULL,
    PRIMARY KEY (article_id, kind, at)
);

-- When each stored article is fetched again. Written by the store with the article (schedule: a watched
-- feed's own, else NULL for the fetchers' `revisit.sites` / `revisit.schedule`); `due_at` is set by the
-- fetcher that schedules revisits (NULL: not planned yet); the row goes after its last step.
CREATE TABLE revisits (
    article_id        BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    url               TEXT NOT NULL,
    host              TEXT NOT NULL,
    first_fetched_at  TIMESTAMPTZ NOT NULL,
    schedule          TEXT,
    step              SMALLINT NOT NULL DEFAULT 0,
    due_at            TIMESTAMPTZ
);
CREATE INDEX revisits_due ON revisits (due_at) WHERE due_at IS NOT NULL;
-- Each host's most overdue revisits, so one big site cannot hold back every other's.
CREATE INDEX revisits_host_due ON revisits (host, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX revisits_unplanned ON revisits (article_id) WHERE due_at IS NULL;

-- Articles fetched live in the last week, before history existed, are revisited too (on the fetchers'
-- schedule, from their fetch); older ones, and those read from WARC files, are kept as they are.
INSERT INTO revisits (article_id, url, host, first_fetched_at)
SELECT id, url, lower(substring(url from '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)')),
       COALESCE(fetched_at, stored_at)
FROM articles
WHERE COALESCE(fetched_at, stored_at) > now() - interval '7 days'
  AND NOT EXISTS (SELECT FROM outcomes o JOIN warc_files w ON w.job_id = o.parent_job_id
                  WHERE o.job_id = articles.job_id)
ON CONFLICT DO NOTHING;

-- A watch's revisit schedule for the articles found through it (`watch add --revisit`); NULL: the fetchers'.
ALTER TABLE watches ADD COLUMN revisit TEXT;

-- The grants of 20261202000200_warc_files, and history's: the store writes versions, events and new
-- articles' revisits; the fetcher plans and advances revisits.
CREATE OR REPLACE FUNCTION newspipe_grant_worker_roles() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_store') THEN
        GRANT SELECT, INSERT, UPDATE ON articles, outcomes TO newspipe_store;
        GRANT USAGE ON SEQUENCE articles_id_seq TO newspipe_store;
        GRANT SELECT, INSERT, UPDATE, DELETE ON url_claims TO newspipe_store;
        -- DELETE: re-extracting a fetch replaces the version it made (docs/history.md).
        GRANT SELECT, INSERT, UPDATE, DELETE ON article_versions TO newspipe_store;
        GRANT SELECT, INSERT ON article_events TO newspipe_store;
        -- SELECT: `ON CONFLICT (article_id)` reads the key.
        GRANT SELECT, INSERT ON revisits TO newspipe_store;
        GRANT SELECT ON _sqlx_migrations TO newspipe_store;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_fetcher') THEN
        GRANT SELECT, INSERT, UPDATE ON hosts, url_claims TO newspipe_fetcher;
        GRANT SELECT, INSERT, UPDATE, DELETE ON fetch_leases TO newspipe_fetcher;
        GRANT SELECT, UPDATE ON watches TO newspipe_fetcher;
        GRANT SELECT, UPDATE, DELETE ON revisits TO newspipe_fetcher;
        GRANT SELECT ON _sqlx_migrations TO newspipe_fetcher;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_warc_reader') THEN
        GRANT SELECT, INSERT, UPDATE ON warc_files TO newspipe_warc_reader;
        GRANT SELECT ON _sqlx_migrations TO newspipe_warc_reader;
    END IF;
END
$$;

SELECT newspipe_grant_worker_roles();
