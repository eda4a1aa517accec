-- Requests in flight per host, across all fetchers: a fetcher takes a lease before a request and drops it
-- after. A fetcher that dies leaves its lease to expire (after its fetch timeout), never to block a host.
CREATE TABLE fetch_leases (
    job_id      UUID PRIMARY KEY,
    host        TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX fetch_leases_host ON fetch_leases (host, expires_at);

-- One fetcher at a time fetches a host's robots.txt; the others wait for it rather than fetch it too.
ALTER TABLE hosts ADD COLUMN robots_claimed_until TIMESTAMPTZ;
