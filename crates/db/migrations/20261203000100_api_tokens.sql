-- The HTTP API's tokens (`newspipe token create|list|revoke`, docs/api.md). A token is shown once; only its
-- SHA-256 digest is kept, found by its public prefix and compared in constant time by the API. A revoked token
-- keeps its row (its name stays taken, `token list` shows when it was revoked) and is refused from the next
-- request on, by every API replica: nothing caches a token.
CREATE TABLE api_tokens (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    scope text NOT NULL CHECK (scope IN ('read', 'submit', 'admin')),
    prefix text NOT NULL UNIQUE,
    digest bytea NOT NULL CHECK (length(digest) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- The grants of 20261202000400_article_history, and the API's role: it reads the archive and the tokens, and
-- writes only the rows of the WARC files it queues (`submit --warc` does the same; upserted, so UPDATE);
-- submitting is otherwise publishing, and tokens are made by `newspipe token` as the schema's owner.
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
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_api') THEN
        GRANT SELECT ON articles, outcomes, article_versions, article_events, revisits, api_tokens TO newspipe_api;
        GRANT SELECT, INSERT, UPDATE ON warc_files TO newspipe_api;
        GRANT SELECT ON _sqlx_migrations TO newspipe_api;
    END IF;
END
$$;

SELECT newspipe_grant_worker_roles();
