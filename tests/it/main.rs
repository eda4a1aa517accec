//! newspipe's integration tests: the real binaries against a real RabbitMQ and a real PostgreSQL (started by
//! `deploy/services.sh`; see `support`), with a local HTTP server standing in for the web.
//!
//! - `api`: `newspipe serve`: submit, search, list, read, export over HTTP; tokens and scopes; limits, hostile
//!   input, slow clients; the web page's login, CSRF and escaping; schemathesis over every operation; the web
//!   page in headless Chromium (tests/browser).
//! - `broker`: the one consume loop with scripted handlers: panics, retries through delay queues.
//! - `backpressure`: queue length limits: a full queue refuses, publishers wait and retry, nothing is lost.
//! - `pipeline`: URLs in, one outcome each, articles stored with their fields; export and status.
//! - `delivery`: redelivery, poison messages, kill -9 of a worker mid-run: nothing lost, nothing duplicated.
//! - `extract_command`: `newspipe extract` on files, folders and manifests, without services.
//! - `fetching`: politeness across fetchers, robots.txt, Retry-After, private addresses, duplicates,
//!   refreshes, feeds, sitemaps and watches.
//! - `history`: pages edited between revisits: versions, events, take-downs, flips, `history --diff`,
//!   `changes`, `export --versions`; a store killed and revisits queued twice or by two fetchers.
//! - `resilience`: the broker or the database going away and coming back; shutdown on SIGTERM; settings.
//! - `compose`: the services of docker-compose.yml run natively with their command and environment.
//! - `operations`: search, show, export filters, retry, the dead-letter queue, status --watch, help texts.
//! - `parquet_export`: `export --format parquet` in parts, read back with pyarrow; its output directory.
//! - `foreign_producer`: a fetch job published from Python (pika) is stored; an invalid one is dead-lettered.
//! - `least_privilege`: the store's and the fetcher's own database roles can do their work and nothing else.
//! - `monitoring`: every metric the Grafana dashboard and the Prometheus config name exists on the workers.
//! - `reasons`: outcome reasons stored with their codes (and old rows given theirs); retry by code or text.
//! - `tls`: `amqps://` with a CA file, and PostgreSQL with `sslmode=verify-full` against a private TLS instance.
//! - `warc_in`: WARC files in (`submit --warc`, `--warc-paths`): one outcome per response record, damaged
//!   files, a reader killed mid-file, a remote file resumed by range, a WARC written by wget.
//! - `warc_out`: the fetcher's WARC archive (`fetcher.warc.dir`): files closed on SIGTERM that warcio checks
//!   and indexes, stored articles pointing at their response records, a crashed fetcher's file cut and closed.
//! - `chaos`: workers killed, frozen, RabbitMQ and PostgreSQL restarted mid-run (a private instance of them):
//!   every URL still ends with exactly one outcome; prints one line of figures.
//! - `cluster`: a three-node RabbitMQ cluster and worker hosts in network namespaces (deploy/cluster.sh): a node
//!   killed, a worker host cut off, PostgreSQL restarted, a rolling restart; prints its figures. Root only.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

mod api;
mod backpressure;
mod broker;
mod chaos;
mod cluster;
mod compose;
mod delivery;
mod extract_command;
mod fetching;
mod foreign_producer;
mod history;
mod least_privilege;
mod monitoring;
mod operations;
mod parquet_export;
mod pipeline;
mod reasons;
mod rendering;
mod resilience;
mod support;
mod tls;
mod warc_in;
mod warc_out;
