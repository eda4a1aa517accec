//! The JSON Schema of the public messages, generated from the types (schemars). The committed copy lives at
//! `schemas/fetch-job.schema.json` in the repository; a test fails when it and the types drift apart.
//! Regenerate it with:
//!
//! ```sh
//! cargo run -p newspipe-models --example schema > schemas/fetch-job.schema.json
//! # or
//! UPDATE_SCHEMAS=1 cargo test -p newspipe-models schema
//! ```

use crate::FetchJob;

/// The JSON Schema of [`FetchJob`], pretty-printed, ending with a newline.
pub fn fetch_job_schema() -> String {
    let schema = schemars::schema_for!(FetchJob);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/fetch-job.schema.json")
    }

    #[test]
    fn the_committed_fetch_job_schema_matches_the_types() {
        let generated = fetch_job_schema();
        let path = committed_path();
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &generated).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is out of date with the FetchJob type; regenerate it with \
             `cargo run -p newspipe-models --example schema > schemas/fetch-job.schema.json` \
             (or UPDATE_SCHEMAS=1 cargo test -p newspipe-models schema) and commit it",
            path.display()
        );
    }

    #[test]
    fn the_schema_requires_the_schema_version_the_job_id_and_the_url() {
        let schema: serde_json::Value = serde_json::from_str(&fetch_job_schema()).unwrap();
        let required: Vec<&str> =
            schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        for field in ["schema", "job_id", "url"] {
            assert!(required.contains(&field), "{field} not required: {required:?}");
        }
        assert_eq!(schema["properties"]["job_id"]["format"], "uuid");
    }
}
