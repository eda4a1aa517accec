-- The rule for which version of a URL is kept, in one place for every upsert: what was fetched at `incoming`
-- may replace what was fetched at `stored` unless it was fetched before (equal times replace: the same fetch
-- extracted again). An unknown time (a producer outside newspipe) falls back to the order of arrival. The
-- store's Rust side applies the same rule within a batch (`supersedes` in crates/store/src/db.rs).
CREATE FUNCTION newspipe_fetched_no_earlier(incoming timestamptz, stored timestamptz) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN incoming IS NULL OR stored IS NULL OR incoming >= stored;

-- When the page behind a stored claim was fetched. A claim keeps the validators (ETag, Last-Modified) of the
-- page fetched last, as its article does: a request for an older fetch that arrives later (a redelivery, a
-- slow extractor) leaves both alone, so the next conditional refresh asks about the version that is stored.
ALTER TABLE url_claims ADD COLUMN fetched_at TIMESTAMPTZ;
