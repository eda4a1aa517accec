//! The pipeline's operations: its status (what `newspipe status --json` shows) and the dead letters (list
//! and replay: admin only).

use axum::Json;
use axum::extract::{Query, State};
use newspipe_broker::dead_letters::{self, Listing, ReplayReport, Selection};
use newspipe_control::Status;
use serde::Deserialize;

use super::params::JsonBody;
use crate::AppState;
use crate::auth::{AdminAccess, ReadAccess};
use crate::problem::Problem;

/// Queue depths, consumers and rates, outcomes, throughput, the top reasons, dead letters, WARC and history
/// progress: what `newspipe status --json` prints.
#[utoipa::path(
    get, path = "/v1/status", tag = "operations",
    responses((status = 200, description = "The pipeline's status now", body = Status)),
    security(("bearer" = []))
)]
pub async fn status(_access: ReadAccess, State(state): State<AppState>) -> Result<Json<Status>, Problem> {
    read_status(&state).await.map(Json)
}

/// What the API's status and the web page's status page show.
pub async fn read_status(state: &AppState) -> Result<Status, Problem> {
    let queues =
        state.broker.with_channel(async |channel, topology| Ok(topology.stats(channel).await?)).await?;
    let mut sampler = state.sampler.lock().await;
    sampler.sample_with(&state.database, state.broker.topology(), queues).await.map_err(|error| {
        match error.downcast::<newspipe_db::DbError>() {
            Ok(error) => Problem::from(error),
            Err(error) => Problem::unavailable("the database", &format!("{error:#}")),
        }
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// List at most this many, oldest first (1 to 1000; 100 when not given).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// The dead letters: each with its id, queue, reason, death times and a payload preview. Listing never
/// removes a message.
#[utoipa::path(
    get, path = "/v1/dead-letters", tag = "operations",
    params(DeadLetterQuery),
    responses((status = 200, description = "The dead letters, oldest first", body = Listing)),
    security(("bearer" = []))
)]
pub async fn dead_letter_list(
    _access: AdminAccess,
    State(state): State<AppState>,
    Query(query): Query<DeadLetterQuery>,
) -> Result<Json<Listing>, Problem> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request(format!("`limit` is {limit}: it must be from 1 to 1000")));
    }
    let connection = state.broker.own_connection("newspipe api dead letters").await?;
    let listing = dead_letters::scan(
        &connection,
        state.broker.topology(),
        limit,
        &|_| false,
        state.broker.dead_letter_timeout(),
    )
    .await;
    let _ = connection.close(200, "bye".into()).await;
    listing.map(Json).map_err(|e| Problem::unavailable("the broker", &e))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Ids (or unique prefixes of at least 4 characters) from the listing; or
    #[schema(max_items = 1000, inline)]
    #[serde(default)]
    pub ids: Vec<DeadLetterId>,
    /// `true` to replay every dead letter (`ids` is then checked, not used).
    #[serde(default)]
    pub all: bool,
}

/// A dead letter's id, or a prefix of it.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct DeadLetterId(pub String);

impl utoipa::PartialSchema for DeadLetterId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::params::string_schema(1, 128, "^[A-Za-z0-9_-]+$", "A dead letter's id, or a prefix of it")
    }
}

impl utoipa::ToSchema for DeadLetterId {}

fn is_dead_letter_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Puts dead letters back on the queue they came from (with a confirm), then removes them from the
/// dead-letter queue: those named by `ids`, or every one with `all: true` (neither: nothing is replayed).
#[utoipa::path(
    post, path = "/v1/dead-letters/replay", tag = "operations",
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "What was replayed, and what was kept and why", body = ReplayReport),
        (status = 404, description = "An id names no dead letter (or several)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn dead_letter_replay(
    _access: AdminAccess,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ReplayRequest>,
) -> Result<Json<ReplayReport>, Problem> {
    if request.ids.len() > 1000 || !request.ids.iter().all(|id| is_dead_letter_id(&id.0)) {
        return Err(Problem::unprocessable(
            "`ids`: at most 1000, each 1 to 128 letters, digits, `_` or `-`",
            Vec::new(),
        ));
    }
    let timeout = state.broker.dead_letter_timeout();
    let selection = match (request.all, request.ids.is_empty()) {
        (true, _) => Selection::All,
        (false, true) => return Ok(Json(ReplayReport::default())),
        (false, false) => {
            let connection = state.broker.own_connection("newspipe api dead letters").await?;
            let listing =
                dead_letters::scan(&connection, state.broker.topology(), 100_000, &|_| false, timeout).await;
            let _ = connection.close(200, "bye".into()).await;
            let listing = listing.map_err(|e| Problem::unavailable("the broker", &e))?;
            let wanted: Vec<String> = request.ids.into_iter().map(|id| id.0).collect();
            Selection::Ids(dead_letters::resolve_ids(&listing, &wanted).map_err(Problem::not_found)?)
        }
    };
    // A connection of its own: the listing's messages are back in the queue once its connection closed.
    let connection = state.broker.own_connection("newspipe api replay").await?;
    let report = dead_letters::replay(&connection, state.broker.topology(), &selection, timeout).await;
    let _ = connection.close(200, "bye".into()).await;
    report.map(Json).map_err(|e| Problem::unavailable("the broker", &e))
}
