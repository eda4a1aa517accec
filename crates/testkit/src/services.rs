//! Where the test services are: `AMQP_URL` and `DATABASE_URL` in the environment, else in the `env` file
//! that `deploy/services.sh start` writes in its folder (`NEWSPIPE_SERVICES_DIR`, `/tmp/newspipe-services`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The broker and the database server (its default database: the one scratch databases are made from).
#[derive(Debug, Clone)]
pub struct Services {
    pub amqp_url: String,
    pub database_url: String,
}

impl Services {
    /// The shared services: each URL from the environment, else from the shared services' `env` file.
    pub fn find() -> anyhow::Result<Services> {
        let dir = services_dir();
        let get = |key: &str| {
            shared_setting(key).with_context(|| {
                format!(
                    "{key} is not set and {}/env has none: start the services with `deploy/services.sh start`",
                    dir.display()
                )
            })
        };
        Ok(Services { amqp_url: get("AMQP_URL")?, database_url: get("DATABASE_URL")? })
    }

    /// The services of another instance of `deploy/services.sh` (run with `NEWSPIPE_SERVICES_DIR=dir`): from
    /// its `env` file alone, whatever the environment says.
    pub fn in_dir(dir: &Path) -> anyhow::Result<Services> {
        let file = env_file(dir);
        let get = |key: &str| {
            file.get(key).cloned().with_context(|| format!("{key} missing from {}/env", dir.display()))
        };
        Ok(Services { amqp_url: get("AMQP_URL")?, database_url: get("DATABASE_URL")? })
    }
}

/// The folder of the shared services: `NEWSPIPE_SERVICES_DIR`, else `/tmp/newspipe-services`.
pub fn services_dir() -> PathBuf {
    std::env::var_os("NEWSPIPE_SERVICES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/tmp/newspipe-services".into())
}

/// `key` from the environment, else from the shared services' `env` file (which also names, for example,
/// the workers' least-privilege database URLs).
pub fn shared_setting(key: &str) -> Option<String> {
    std::env::var(key).ok().or_else(|| env_file(&services_dir()).remove(key))
}

/// The `KEY=VALUE` lines of `dir/env`; empty when there is no such file.
fn env_file(dir: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(dir.join("env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}
