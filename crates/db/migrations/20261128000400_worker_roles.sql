-- Least privilege: what each worker's own database role may do (README, "Least privilege"). The login roles
-- `newspipe_store` and `newspipe_fetcher` are made by an administrator (deploy/postgres/worker-roles.sql,
-- which deploy/services.sh runs); the extractor has no database role at all. The schema's owner, which runs
-- these migrations, grants on its tables here, to whichever of the roles exist, and again each time the
-- function is called (worker-roles.sql calls it, for a database migrated before the roles were made). A later
-- migration that adds a table replaces this function with one that also covers it, and calls it.
CREATE FUNCTION newspipe_grant_worker_roles() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_store') THEN
        -- Articles and outcomes, upserted (ON CONFLICT ... DO UPDATE ... RETURNING needs SELECT); never
        -- deleted. A stored URL keeps its claim, a failed or skipped one releases it.
        GRANT SELECT, INSERT, UPDATE ON articles, outcomes TO newspipe_store;
        GRANT USAGE ON SEQUENCE articles_id_seq TO newspipe_store;
        GRANT SELECT, INSERT, UPDATE, DELETE ON url_claims TO newspipe_store;
        -- To check at start that the owner applied every migration.
        GRANT SELECT ON _sqlx_migrations TO newspipe_store;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_fetcher') THEN
        -- Coordination between fetchers: per-host politeness slots and robots.txt (SELECT ... FOR UPDATE
        -- needs UPDATE), leases on requests in flight, claims on URLs, and the watch schedule.
        GRANT SELECT, INSERT, UPDATE ON hosts, url_claims TO newspipe_fetcher;
        GRANT SELECT, INSERT, UPDATE, DELETE ON fetch_leases TO newspipe_fetcher;
        GRANT SELECT, UPDATE ON watches TO newspipe_fetcher;
        GRANT SELECT ON _sqlx_migrations TO newspipe_fetcher;
    END IF;
END
$$;

SELECT newspipe_grant_worker_roles();
