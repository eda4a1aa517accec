-- When the page behind a stored claim was fetched. A claim keeps the validators (ETag, Last-Modified) of the
-- page fetched last, as its article does: a request for an older fetch that arrives later (a redelivery, a
-- slow extractor) leaves both alone, so the next conditional refresh asks about the version that is stored.
ALTER TABLE url_claims ADD COLUMN fetched_at TIMESTAMPTZ;
