//! newspipe's HTTP API and web page, served by `newspipe serve`: the JSON API under `/v1` (with its
//! OpenAPI document at `/openapi.json`), the web page at `/`, and `/healthz` and `/metrics` as every worker
//! has. The server keeps no state of its own beyond rate-limit counters, so replicas scale side by side;
//! tokens are read from the database on every request. docs/api.md is the manual.
//!
//! Modules: [`auth`] (tokens and scopes), [`problem`] (the one error shape), [`v1`] (the JSON operations and
//! the OpenAPI document), [`web`] (the pages), [`limits`] (rates, sizes, time limits), [`serve`] (the
//! listener: connections, slow clients, shutdown).

pub mod auth;
mod broker;
pub mod events;
pub mod limits;
pub mod problem;
pub mod serve;
mod settings;
pub mod v1;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use newspipe_broker::BrokerSettings;
use newspipe_db::{Database, DatabaseSettings};
use newspipe_runtime::{LogSettings, ProcessSettings};
use serde::Deserialize;
pub use settings::ApiSettings;
use tokio::sync::Mutex;

/// Everything `newspipe serve` reads: `[api]`, where the broker and the database are, how URLs are
/// canonicalised (as `submit` does), and logging.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub api: ApiSettings,
    pub broker: BrokerSettings,
    pub database: DatabaseSettings,
    pub canonical: newspipe_discover::CanonicalSettings,
    pub log: LogSettings,
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }
}

/// What every handler reaches.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

pub struct Shared {
    pub settings: Settings,
    pub database: Database,
    broker: broker::BrokerClient,
    pub auth: auth::Authenticator,
    sampler: Mutex<newspipe_control::Sampler>,
    metrics: Option<PrometheusHandle>,
    /// The OpenAPI document, rendered once.
    openapi: String,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.inner
    }
}

impl AppState {
    /// The state of a server on these settings; the database pool connects lazily (a database that is down
    /// at start answers 503 until it is back). `metrics`: where `/metrics` reads from, if anywhere.
    pub fn new(settings: Settings, metrics: Option<PrometheusHandle>) -> anyhow::Result<AppState> {
        let mut database_settings = settings.database.clone();
        database_settings.statement_timeout_secs = settings.api.request_timeout_secs;
        let database = Database::connect_lazy(&database_settings)?;
        let openapi = serde_json::to_string_pretty(&v1::openapi_value(settings.api.public_read))?;
        Ok(AppState {
            inner: Arc::new(Shared {
                auth: auth::Authenticator::new(
                    database.clone(),
                    settings.api.public_read,
                    settings.api.auth_failures_per_minute,
                ),
                broker: broker::BrokerClient::new(&settings.broker),
                sampler: Mutex::new(newspipe_control::Sampler::new(&settings.broker)),
                database,
                metrics,
                openapi,
                settings,
            }),
        })
    }
}

/// The whole application: `/v1`, the web page, the OpenAPI document, health and metrics, behind the limits.
pub fn app(state: AppState) -> Router {
    let limited = Router::new().merge(v1::router()).merge(web::router());
    let limited = limits::apply(limited, &state.settings.api);
    Router::new()
        .route("/openapi.json", get(openapi_document))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(limited)
        .layer(axum::middleware::from_fn(problem::problem_for_bare_errors))
        .layer(axum::middleware::from_fn(limits::count_requests))
        .with_state(state)
}

async fn openapi_document(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], state.openapi.clone())
        .into_response()
}

/// Ready when the database answers (the broker is connected on demand, and its absence answered per
/// request).
async fn healthz(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(2), state.database.ping()).await;
    match ping {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => handle.render().into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not recorded by this server\n").into_response(),
    }
}

/// `newspipe serve`: binds `api.listen` and serves until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let metrics = newspipe_runtime::install_metrics_recorder()?;
    let listen = settings.api.listen.clone();
    let limits = serve::ConnectionLimits::from(&settings.api);
    let state = AppState::new(settings, Some(metrics))?;
    // As the workers do: apply the migrations (or, on a role that may not, check they are applied), waiting
    // for a database that is not up yet.
    newspipe_db::migrate_when_reachable(&state.database).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on api.listen {listen}: {e}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving the API and the web page");
    eprintln!("newspipe serve: listening on http://{address} (API under /v1, web page at /)");
    let shutdown = newspipe_runtime::shutdown_on_signals();
    serve::serve(listener, app(state), limits, shutdown).await
}
