//! Prints the JSON Schema of a fetch job (the message any producer publishes to request a fetch):
//! `cargo run -p newspipe-models --example schema > schemas/fetch-job.schema.json`

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]
fn main() {
    print!("{}", newspipe_models::fetch_job_schema());
}
