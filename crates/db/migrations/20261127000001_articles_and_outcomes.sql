-- One row per article, keyed by the URL it was fetched from (after redirects): a redelivered or
-- re-fetched page updates its row instead of adding one.
CREATE TABLE articles (
    id             BIGSERIAL PRIMARY KEY,
    url            TEXT NOT NULL UNIQUE,
    job_id         UUID NOT NULL,
    canonical_url  TEXT,
    title          TEXT,
    authors        TEXT[] NOT NULL DEFAULT '{}',
    published_at   TIMESTAMPTZ,
    modified_at    TIMESTAMPTZ,
    language       TEXT,
    site_name      TEXT,
    description    TEXT,
    image          TEXT,
    tags           TEXT[] NOT NULL DEFAULT '{}',
    section        TEXT,
    text           TEXT NOT NULL,
    markdown       TEXT,
    word_count     INTEGER NOT NULL,
    content_hash   TEXT NOT NULL,
    simhash        BIGINT,
    paywalled      BOOLEAN NOT NULL DEFAULT false,
    fetched_at     TIMESTAMPTZ,
    stored_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX articles_published_at ON articles (published_at);
CREATE INDEX articles_content_hash ON articles (content_hash);

-- The terminal outcome of every job (one submitted URL): exactly one row per job id.
CREATE TABLE outcomes (
    job_id       UUID PRIMARY KEY,
    url          TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('stored', 'skipped', 'failed')),
    reason       TEXT,
    article_id   BIGINT REFERENCES articles (id) ON DELETE SET NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outcomes_url ON outcomes (url);
CREATE INDEX outcomes_recorded_at ON outcomes (recorded_at);
