//! Whole databases on a server: created and dropped by name, as a test or a benchmark does for a scratch
//! database of its own. The workers never call these; `newspipe migrate` and the deployment create the real
//! database.

use sqlx::{Connection as _, PgConnection};

use crate::{DbError, query};

/// Creates the database `name` on the server `server_url` points at (any database of it to connect to).
pub async fn create_database(server_url: &str, name: &str) -> Result<(), DbError> {
    let mut admin = connect(server_url).await?;
    let result = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {}", quote_identifier(name))))
        .execute(&mut admin)
        .await
        .map_err(query("create a database"));
    let _ = admin.close().await;
    result.map(drop)
}

/// Drops the database `name` if it exists, ending the sessions still connected to it.
pub async fn drop_database(server_url: &str, name: &str) -> Result<(), DbError> {
    let mut admin = connect(server_url).await?;
    let result = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_identifier(name)
    )))
    .execute(&mut admin)
    .await
    .map_err(query("drop a database"));
    let _ = admin.close().await;
    result.map(drop)
}

async fn connect(server_url: &str) -> Result<PgConnection, DbError> {
    PgConnection::connect(server_url)
        .await
        .map_err(|source| DbError::Connect { url: newspipe_runtime::redact_url(server_url), source })
}

/// `name` as a PostgreSQL identifier: in double quotes, a double quote in it doubled.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::quote_identifier;

    #[test]
    fn identifiers_are_quoted_and_their_quotes_doubled() {
        assert_eq!(quote_identifier("newspipe_test_1"), "\"newspipe_test_1\"");
        assert_eq!(quote_identifier("a\"; DROP DATABASE x; --"), "\"a\"\"; DROP DATABASE x; --\"");
    }
}
