-- What the fetchers share, so that politeness and de-duplication hold however many of them run.

-- 304 Not Modified on a refresh is its own outcome.
ALTER TABLE outcomes DROP CONSTRAINT outcomes_outcome_check;
ALTER TABLE outcomes ADD CONSTRAINT outcomes_outcome_check
    CHECK (outcome IN ('stored', 'skipped', 'failed', 'unchanged'));
-- Jobs discovered from a feed or sitemap point at the job that found them; an expanded feed or sitemap
-- records how many jobs it queued, so `submit --wait` knows how many outcomes to wait for.
ALTER TABLE outcomes ADD COLUMN parent_job_id UUID;
ALTER TABLE outcomes ADD COLUMN children INTEGER;
CREATE INDEX outcomes_parent_job_id ON outcomes (parent_job_id) WHERE parent_job_id IS NOT NULL;

-- One row per canonical URL that is being fetched or has been stored: a second job for it is a duplicate.
-- A failed or skipped outcome releases the claim, so the URL can be submitted again.
CREATE TABLE url_claims (
    url            TEXT PRIMARY KEY,
    job_id         UUID NOT NULL,
    state          TEXT NOT NULL DEFAULT 'in_flight' CHECK (state IN ('in_flight', 'stored')),
    etag           TEXT,
    last_modified  TEXT,
    claimed_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Per-host politeness: the next free request slot, the crawl delay and any Retry-After, and robots.txt.
CREATE TABLE hosts (
    host               TEXT PRIMARY KEY,
    next_slot          TIMESTAMPTZ NOT NULL DEFAULT now(),
    crawl_delay_ms     INTEGER,
    blocked_until      TIMESTAMPTZ,
    robots_txt         BYTEA,
    robots_fetched_at  TIMESTAMPTZ
);

-- Feeds and sitemaps polled on a schedule (`newspipe watch`).
CREATE TABLE watches (
    id              BIGSERIAL PRIMARY KEY,
    url             TEXT NOT NULL UNIQUE,
    every_secs      INTEGER NOT NULL CHECK (every_secs > 0),
    next_due        TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_polled_at  TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
