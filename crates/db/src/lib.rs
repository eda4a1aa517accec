//! newspipe's database: the schema (the migrations in `migrations/`, embedded at build time) and every
//! query any process makes, so that what each table holds and who writes it is read in one crate.
//!
//! | table | written by | read by |
//! |---|---|---|
//! | `articles` | the store ([`Database::record_batch`]), with its search vector; the indexer ([`Database::index_for_search`]) for older rows | the command line: export, search, show |
//! | `outcomes` | the store | `submit --wait`, `status`, `show`, `retry` |
//! | `url_claims` | the fetcher opens a claim, the store closes it: see [`claims`] | the fetcher, feeds polled again |
//! | `hosts`, `fetch_leases` | the fetchers' politeness: see [`hosts`] | the fetchers |
//! | `watches` | `newspipe watch` | the fetchers' watch scheduler: see [`watches`] |
//! | `article_versions`, `article_events` | the store, with the article ([`history`](outcomes)) | `history`, `changes`, `export --versions` |
//! | `revisits` | the store adds one per new article; the fetchers' scheduler plans and advances them: see [`revisits`] | the scheduler, `status` |
//! | `api_tokens` | `newspipe token` | the API, on every request: see [`tokens`] |
//! | `warc_files` | `submit --warc` queues, the WARC reader checkpoints and ends: see [`warc_files`] | `submit --wait`, `status`, the WARC reader resuming |
//!
//! Modules by table: [`outcomes`] (the store's writes), [`claims`], [`hosts`], [`watches`], [`revisits`], [`warc_files`], [`search`] and
//! [`read`] (the command line's reads); [`admin`] creates and drops whole databases (tests, benchmarks).

pub mod admin;
pub mod claims;
mod error;
mod history;
pub mod hosts;
pub mod outcomes;
pub mod read;
pub mod revisits;
mod rows;
pub mod search;
mod settings;
pub mod tokens;
pub mod versions;
pub mod warc_files;
pub mod watches;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

pub use claims::Claim;
pub use error::DbError;
pub(crate) use error::{query, unavailable};
pub use history::EventKind;
pub use hosts::{TurnAnswer, TurnLimits};
pub use outcomes::{HistoryCounts, Recorded};
pub use read::{
    ArticleFilter, ArticleSummary, FailedUrl, OutcomeCounts, OutcomeRow, RecentOutcomes, StoredArticle,
    TreeOutcome,
};
pub use revisits::{DueRevisit, RevisitCounts, UnplannedRevisit};
pub use search::SearchHit;
pub use settings::DatabaseSettings;
pub use tokens::{TokenInfo, TokenRecord};
pub use versions::{ArticleHistory, EventRow, VersionRecord, VersionRow};
pub use warc_files::{WarcCheckpoint, WarcFile, WarcProgress};
pub use watches::{DueWatch, Watch, WatchScheduler};

/// A handle on newspipe's database: a pool of connections, cheap to clone.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
}

impl Database {
    /// Connects lazily: the pool opens connections when first used, so a database that is down at start is
    /// retried by the caller instead of failing the process.
    pub fn connect_lazy(settings: &DatabaseSettings) -> Result<Database, DbError> {
        let mut options: PgConnectOptions = settings
            .url
            .expose()
            .parse()
            .map_err(|source| DbError::Connect { url: settings.url.to_string(), source })?;
        if settings.statement_timeout_secs > 0 {
            options =
                options.options([("statement_timeout", format!("{}s", settings.statement_timeout_secs))]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
            .connect_lazy_with(options);
        Ok(Database { pool })
    }

    /// Connects and checks that the database answers.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Database, DbError> {
        let database = Database::connect_lazy(settings)?;
        database.ping().await.map_err(|e| match e {
            DbError::Query { source, .. } => DbError::Connect { url: settings.url.to_string(), source },
            other => other,
        })?;
        Ok(database)
    }

    /// What a worker does at start: connects lazily, applies the migrations once the database answers
    /// (waiting for it, see [`migrate_when_reachable`]), then raises `ready` (its health's `database`).
    pub async fn open_when_reachable(
        settings: &DatabaseSettings,
        ready: &AtomicBool,
    ) -> Result<Database, DbError> {
        let database = Database::connect_lazy(settings)?;
        migrate_when_reachable(&database).await?;
        ready.store(true, Ordering::Relaxed);
        Ok(database)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(query("ping"))?;
        Ok(())
    }

    /// Applies the migrations shipped in this crate. Safe with several stores starting at once: sqlx takes
    /// an advisory lock. A role that may not create in the schema (a worker's least-privilege role, see
    /// `migrations/*_worker_roles.sql`) applies nothing: it checks that the owner applied every migration,
    /// and says which are missing otherwise.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = sqlx::migrate!("./migrations");
        let may_create: bool = sqlx::query_scalar("SELECT has_schema_privilege(current_schema(), 'CREATE')")
            .fetch_one(&self.pool)
            .await
            .map_err(query("check the privilege to migrate"))?;
        if may_create {
            migrator.run(&self.pool).await?;
            return Ok(());
        }
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&self.pool)
            .await
            .map_err(query("read the database role"))?;
        let fix = "apply the migrations as the schema's owner (`newspipe migrate` with the owner's DATABASE_URL); \
                   deploy/postgres/worker-roles.sql grants the workers' roles what they need";
        let problem = match sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
        {
            Ok(applied) => {
                let missing: Vec<i64> = migrator
                    .iter()
                    .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
                    .map(|m| m.version)
                    .collect();
                if missing.is_empty() {
                    return Ok(());
                }
                format!("migrations {missing:?} are not applied")
            }
            Err(error) if unavailable(&error) => return Err(DbError::Migrate(error.into())),
            Err(error) => format!("it cannot read which migrations are applied ({error})"),
        };
        Err(DbError::Migrate(sqlx::migrate::MigrateError::Source(
            format!("the database role {role} may not change the schema and {problem}: {fix}").into(),
        )))
    }
}

/// The database may come up after the process: keep trying, with backoff, rather than crash-looping.
pub async fn migrate_when_reachable(database: &Database) -> Result<(), DbError> {
    let mut pause = Duration::from_millis(200);
    loop {
        match database.migrate().await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_unavailable() => {
                tracing::warn!(%error, retry_in_ms = pause.as_millis() as u64, "database unreachable; waiting for it");
            }
            Err(error) => return Err(error),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
