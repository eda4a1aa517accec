-- A fetcher's turn at a host in one call instead of seven statements in a transaction (Coordinator::take_turn
-- in crates/fetcher/src/coordination.rs): measured end to end, the fetchers' coordination cost PostgreSQL
-- 0.66 ms per URL, most of it the round trips and their transaction. Same rules as before:
-- - the host's row is locked for the turn, so concurrent fetchers get distinct slots an interval apart;
-- - at most `max_in_flight` leases (requests in flight) per host, across fetchers, not counting this job's;
-- - a slot within `hold_secs` is reserved (granted, wait that long first), with a lease until the request
--   is over or `lease_secs` after the slot; a later slot is not reserved (not granted: come back then).
-- clock_timestamp(), not now(): now() is when the statement began, before it waited for the host's row.
-- Invoker's rights: it runs with the fetcher role's grants on hosts and fetch_leases, nothing more.
CREATE FUNCTION newspipe_take_turn(
    p_host text, p_job_id uuid, p_interval_secs float8, p_slack_secs float8, p_hold_secs float8,
    p_max_in_flight integer, p_lease_secs float8,
    OUT granted boolean, OUT wait_secs float8)
LANGUAGE plpgsql AS $$
DECLARE
    in_flight bigint;
BEGIN
    PERFORM FROM hosts WHERE host = p_host FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO hosts (host) VALUES (p_host) ON CONFLICT (host) DO NOTHING;
        PERFORM FROM hosts WHERE host = p_host FOR UPDATE;
    END IF;
    SELECT count(*) INTO in_flight FROM fetch_leases
        WHERE host = p_host AND expires_at > clock_timestamp() AND job_id <> p_job_id;
    IF in_flight >= greatest(p_max_in_flight, 1) THEN
        granted := false;
        wait_secs := 1;
        RETURN;
    END IF;
    UPDATE hosts
        SET next_slot = greatest(next_slot, clock_timestamp(), coalesce(blocked_until, clock_timestamp()))
            + make_interval(secs => greatest(p_interval_secs, coalesce(crawl_delay_ms, 0) / 1000.0 + p_slack_secs))
        WHERE host = p_host
          AND greatest(next_slot, clock_timestamp(), coalesce(blocked_until, clock_timestamp()))
              <= clock_timestamp() + make_interval(secs => p_hold_secs)
        RETURNING extract(epoch FROM next_slot - clock_timestamp())::float8
            - greatest(p_interval_secs, coalesce(crawl_delay_ms, 0) / 1000.0 + p_slack_secs)
        INTO wait_secs;
    IF FOUND THEN
        granted := true;
        wait_secs := greatest(wait_secs, 0);
        INSERT INTO fetch_leases (job_id, host, expires_at)
            VALUES (p_job_id, p_host, clock_timestamp() + make_interval(secs => wait_secs + p_lease_secs))
            ON CONFLICT (job_id) DO UPDATE SET host = EXCLUDED.host, expires_at = EXCLUDED.expires_at;
        RETURN;
    END IF;
    granted := false;
    SELECT greatest(extract(epoch FROM greatest(next_slot, coalesce(blocked_until, clock_timestamp()))
                                       - clock_timestamp())::float8, 0)
        INTO wait_secs FROM hosts WHERE host = p_host;
END
$$;
