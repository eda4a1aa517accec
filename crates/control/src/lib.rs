//! What people do to a running pipeline, written once for both front ends: the `newspipe` command line and
//! the HTTP API (`newspipe serve`). Submitting checks and canonicalises URLs and publishes one fetch job each
//! with confirms ([`submit`]); the status gathers queue depths and rates, outcomes and progress ([`status`]),
//! the rates from RabbitMQ's management API ([`management`]).

pub mod management;
pub mod status;
pub mod submit;

pub use status::{Sampler, Status};
pub use submit::{SubmittedUrl, publish_messages, validate};
