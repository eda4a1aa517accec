//! Where the database is and how many connections each process keeps to it.

use newspipe_runtime::SecretUrl;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// PostgreSQL URL; `DATABASE_URL` overrides it.
    pub url: SecretUrl,
    /// Connections in the pool of each process.
    pub max_connections: u32,
    /// How long to wait for a free connection (or a connection to a database that is down) per try.
    pub acquire_timeout_secs: u64,
    /// Cancel any statement running longer than this (PostgreSQL's `statement_timeout`); 0: no limit. The
    /// API sets it from `api.request_timeout_secs`: a request can never hold the database longer.
    pub statement_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "postgres://127.0.0.1:5432/newspipe".into(),
            max_connections: 4,
            acquire_timeout_secs: 5,
            statement_timeout_secs: 0,
        }
    }
}
