-- Pages built by JavaScript (docs/rendering.md): an article extracted from the DOM the renderer's browser
-- built says so, and the renderer's failure has its code. The function is 20261202000300's with
-- 'render failed' added; tests/it/reasons.rs holds it to the Rust.
ALTER TABLE articles ADD COLUMN rendered BOOLEAN NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION newspipe_reason_code(outcome TEXT, reason TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN reason IS NULL THEN NULL
        WHEN outcome = 'skipped' THEN CASE
            WHEN reason IN ('empty', 'duplicate', 'robots') THEN reason
            WHEN reason IN ('expanded', 'expanded (truncated)') THEN 'expanded'
            WHEN reason LIKE 'not html: %' THEN 'not_html'
            WHEN reason LIKE 'not an article: %' THEN 'not_an_article'
            WHEN reason ~ '^archived http [0-9]{1,5}$' AND substr(reason, 15)::int <= 65535 THEN 'archived_status'
            ELSE 'other' END
        WHEN outcome = 'failed' THEN CASE
            WHEN reason IN ('invalid url', 'unsupported scheme', 'forbidden address', 'dns', 'connection refused',
                    'connection reset', 'unreachable', 'tls', 'connection error', 'timeout', 'too many redirects',
                    'redirect loop', 'invalid redirect', 'too large', 'headers too large', 'decode error',
                    'body read error', 'invalid response', 'request error', 'extraction time budget',
                    'extractor error', 'damaged record', 'render failed')
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
