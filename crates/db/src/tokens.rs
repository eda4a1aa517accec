//! The HTTP API's tokens (`api_tokens`): made, listed and revoked by `newspipe token`, looked up by the API on
//! every request (nothing caches them, so a revocation holds at once on every replica). Only a digest of each
//! token is kept; making and checking tokens is the API crate's (`newspipe_api::auth`).

use chrono::{DateTime, Utc};

use crate::{Database, DbError, query};

/// A token as listed: never its secret, which is not kept.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct TokenInfo {
    pub name: String,
    pub scope: String,
    /// The token's public part: the 16 hex digits after `np_`, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What the API checks a presented token against.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRecord {
    pub name: String,
    pub scope: String,
    pub digest: Vec<u8>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Database {
    /// Adds a token; `Ok(false)` when the name is taken (by a live or a revoked token).
    pub async fn create_token(
        &self,
        name: &str,
        scope: &str,
        prefix: &str,
        digest: &[u8],
    ) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO api_tokens (name, scope, prefix, digest) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(scope)
        .bind(prefix)
        .bind(digest)
        .execute(&self.pool)
        .await
        .map_err(query("create an API token"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Every token, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, DbError> {
        sqlx::query_as("SELECT name, scope, prefix, created_at, revoked_at FROM api_tokens ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(query("list API tokens"))
    }

    /// Revokes a token by name; `Ok(false)` when there is no live token of that name.
    pub async fn revoke_token(&self, name: &str) -> Result<bool, DbError> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL")
                .bind(name)
                .execute(&self.pool)
                .await
                .map_err(query("revoke an API token"))?;
        Ok(done.rows_affected() == 1)
    }

    /// The token with this public prefix, revoked or not.
    pub async fn token_by_prefix(&self, prefix: &str) -> Result<Option<TokenRecord>, DbError> {
        sqlx::query_as("SELECT name, scope, digest, revoked_at FROM api_tokens WHERE prefix = $1")
            .bind(prefix)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("look up an API token"))
    }
}
