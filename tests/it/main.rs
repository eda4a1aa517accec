//! newspipe's integration tests: the real binaries against a real RabbitMQ and a real PostgreSQL (started by
//! `deploy/services.sh`; see `support`), with a local HTTP server standing in for the web.
//!
//! - `broker`: the one consume loop with scripted handlers: panics, retries through delay queues.
//! - `pipeline`: URLs in, one outcome each, articles stored with their fields; export and status.
//! - `delivery`: redelivery, poison messages, kill -9 of a worker mid-run: nothing lost, nothing duplicated.
//! - `extract_command`: `newspipe extract` on files, folders and manifests, without services.
//! - `fetching`: politeness across fetchers, robots.txt, Retry-After, private addresses, duplicates,
//!   refreshes, feeds, sitemaps and watches.
//! - `resilience`: the broker or the database going away and coming back; shutdown on SIGTERM; settings.
//! - `compose`: the services of docker-compose.yml run natively with their command and environment.

mod broker;
mod compose;
mod delivery;
mod extract_command;
mod fetching;
mod pipeline;
mod resilience;
mod support;
