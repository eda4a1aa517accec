-- The workers' own PostgreSQL roles, for least privilege (README, "Least privilege"). Run as a superuser (or
-- a role with CREATEROLE), connected to newspipe's database, after or before the migrations; idempotent:
--
--   psql -v ON_ERROR_STOP=1 -d newspipe -v store_password=... -v fetcher_password=... \
--       -v warc_reader_password=... -v api_password=... -f worker-roles.sql
--
-- newspipe_store   writes articles and outcomes (and keeps or releases URL claims), articles' versions and
--                  events, and new articles' revisits
-- newspipe_fetcher uses the fetchers' coordination tables only (hosts, fetch_leases, url_claims, watches,
--                  revisits)
-- newspipe_warc_reader reads and updates its WARC files' progress (warc_files) only
-- newspipe_api     the HTTP API (`newspipe serve`): reads the archive and the tokens; writes only the rows of
--                  the WARC files it queues
-- The extractor has no database role: it never connects to PostgreSQL. The migrations are applied by the
-- schema's owner (the role that owns the database, `newspipe` in deploy/services.sh and docker-compose.yml),
-- whose migration 20261128000400_worker_roles grants each role its privileges on the tables.

SELECT 'CREATE ROLE newspipe_store LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_store') \gexec
SELECT 'CREATE ROLE newspipe_fetcher LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_fetcher') \gexec
SELECT 'CREATE ROLE newspipe_warc_reader LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_warc_reader') \gexec
SELECT 'CREATE ROLE newspipe_api LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'newspipe_api') \gexec
ALTER ROLE newspipe_store LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'store_password';
ALTER ROLE newspipe_fetcher LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'fetcher_password';
ALTER ROLE newspipe_warc_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'warc_reader_password';
ALTER ROLE newspipe_api LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'api_password';

-- A database migrated before these roles existed: grant now (the function comes with the migrations).
SELECT 'SELECT newspipe_grant_worker_roles()' WHERE to_regproc('newspipe_grant_worker_roles') IS NOT NULL \gexec
