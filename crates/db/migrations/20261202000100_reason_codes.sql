-- Each outcome's reason gets its stable code beside its text (`http_404` beside `http 404`): the code is
-- what `newspipe retry --reason`, the JSON output and the metric labels use; the text stays for people.
-- The store writes both from the typed reason (crates/models/src/reason.rs). This function gives the rows
-- written before with the same rules as the reason's `FromStr` there; a test
-- (tests/it/reasons.rs) holds the two to each other for every reason.
ALTER TABLE outcomes ADD COLUMN reason_code TEXT;

CREATE FUNCTION newspipe_reason_code(outcome TEXT, reason TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN reason IS NULL THEN NULL
        WHEN outcome = 'skipped' THEN CASE
            WHEN reason IN ('empty', 'duplicate', 'robots') THEN reason
            WHEN reason IN ('expanded', 'expanded (truncated)') THEN 'expanded'
            WHEN reason LIKE 'not html: %' THEN 'not_html'
            WHEN reason LIKE 'not an article: %' THEN 'not_an_article'
            ELSE 'other' END
        WHEN outcome = 'failed' THEN CASE
            WHEN reason IN ('invalid url', 'unsupported scheme', 'forbidden address', 'dns', 'connection refused',
                    'connection reset', 'unreachable', 'tls', 'connection error', 'timeout', 'too many redirects',
                    'redirect loop', 'invalid redirect', 'too large', 'headers too large', 'decode error',
                    'body read error', 'invalid response', 'request error', 'extraction time budget',
                    'extractor error')
                THEN replace(reason, ' ', '_')
            WHEN reason ~ '^http [0-9]{3}$' THEN
                CASE WHEN substr(reason, 6)::int BETWEEN 100 AND 599 THEN 'http_' || substr(reason, 6)
                     ELSE 'http_other' END
            WHEN reason LIKE 'robots.txt %' THEN 'robots_unreachable'
            WHEN reason LIKE 'not a feed or sitemap: %' THEN 'not_a_feed_or_sitemap'
            WHEN reason LIKE 'malformed feed at %' OR reason LIKE 'malformed sitemap at %'
                OR reason LIKE 'not a sitemap at %' OR reason LIKE 'corrupt gzip data at %'
                OR reason LIKE 'invalid base URL %' OR reason LIKE 'document at %'
                THEN 'malformed_document'
            ELSE 'other' END
        ELSE NULL END
$$;

UPDATE outcomes SET reason_code = newspipe_reason_code(outcome, reason) WHERE reason IS NOT NULL;

-- `retry --reason` and `status` look failures up by code.
CREATE INDEX outcomes_failed_reason_code ON outcomes (reason_code) WHERE outcome = 'failed';
