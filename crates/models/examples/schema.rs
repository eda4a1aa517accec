//! Prints the JSON Schema of a fetch job (the message any producer publishes to request a fetch):
//! `cargo run -p newspipe-models --example schema > schemas/fetch-job.schema.json`
fn main() {
    print!("{}", newspipe_models::fetch_job_schema());
}
