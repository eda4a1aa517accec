//! What newspipe's integration tests (`tests/it`) and its pipeline benchmark (`benches/pipeline`) share, so
//! that both run the pipeline the same way:
//!
//! - [`services`]: where the RabbitMQ and the PostgreSQL are (`AMQP_URL`/`DATABASE_URL`, else the file
//!   `deploy/services.sh` writes).
//! - [`scratch`]: a database and a queue prefix of one's own on those services, removed afterwards.
//! - [`process`]: the worker binaries, started with only the environment given and their output in a log.
//! - [`warc`]: WARC files written byte by byte from pages a test chooses.
//!
//! A dev-dependency only: nothing a deployment runs depends on it. Its queries go through `newspipe_db`.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

pub mod process;
pub mod scratch;
pub mod services;
pub mod warc;

pub use process::{Binaries, Worker, kill_and_reap, signal, spawn_logged};
pub use scratch::{Scratch, ScratchKind};
pub use services::{Services, services_dir, shared_setting};
