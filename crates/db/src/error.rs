//! What can go wrong talking to the database, and which of it is worth waiting out.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot reach the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A concurrent transaction wrote what this one had planned from: trying again sees it.
    #[error("database write `{what}` lost a race with a concurrent one; trying again")]
    Conflict { what: &'static str },
    #[error("database query `{what}` failed: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl DbError {
    /// True when trying the same write again can succeed: the database is unreachable, or the transaction
    /// lost a deadlock or a serialization conflict (class 40) to a concurrent one.
    pub fn is_transient(&self) -> bool {
        self.is_unavailable()
            || matches!(self, DbError::Conflict { .. })
            || matches!(self, DbError::Query { source: sqlx::Error::Database(e), .. }
                if e.code().is_some_and(|c| c.starts_with("40")))
    }

    /// True when the database itself is unreachable (retry later), false when the data was refused.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Connect { .. } => true,
            DbError::Migrate(sqlx::migrate::MigrateError::Execute(source)) => unavailable(source),
            DbError::Migrate(_) => false,
            DbError::Query { source, .. } => unavailable(source),
            DbError::Conflict { .. } => false,
        }
    }
}

/// Errors that mean "the database is not there right now" (connection lost, shutting down, starting up).
pub(crate) fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exception; class 57P: operator intervention (shutdown, cannot connect now).
        sqlx::Error::Database(e) => e.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

pub(crate) fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError::Query { what, source }
}
