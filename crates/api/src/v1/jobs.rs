//! `POST /v1/jobs` (submit URLs, feeds, sitemaps, sites or WARC files: the same checks and job ids as
//! `newspipe submit`) and `GET /v1/jobs/{job_id}` (its outcomes so far).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use newspipe_broker::{Outgoing, Queue};
use newspipe_control::SubmittedUrl;
use newspipe_control::submit::{JobOptions, job_messages, jobs};
use newspipe_db::{TreeOutcome, WarcFile};
use newspipe_models::{JobId, JobKind, WarcJob, encode_json};
use serde::{Deserialize, Serialize};

use super::params::JsonBody;
use crate::AppState;
use crate::auth::{ReadAccess, SubmitAccess};
use crate::events::{JobsSubmitted, emit};
use crate::problem::Problem;

/// The most URLs one request takes: a larger list is refused (413 above the body limit, 422 below it); send
/// several requests. Each is published with a confirm before the answer, so a request is bounded work.
pub const MAX_SUBMIT_URLS: usize = 1000;

/// An absolute http(s) URL with a host name (not a bare number), as `newspipe submit` takes them.
pub const URL_PATTERN: &str = concat!(
    "^[Hh][Tt][Tt][Pp][Ss]?://",
    // A host name whose last label starts with a letter (a number there would be read as an IPv4 address),
    "(([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    // or an IPv4 address;
    "|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))",
    // a port (1 to 65535), and a path (with its query) of visible ASCII.
    "(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?(/[!-~]*)?$"
);

/// [`URL_PATTERN`], as the handler checks it: the schema and the handler agree on every URL.
fn url_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(URL_PATTERN).expect("URL_PATTERN is a valid regex"));
    &PATTERN
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// What to fetch: 1 to 1000 absolute http(s) URLs.
    #[schema(min_items = 1, max_items = 1000, inline)]
    pub urls: Vec<SubmitUrl>,
    #[serde(default)]
    pub kind: SubmitKind,
    /// Fetch again even if the URL is already stored (conditionally: an unchanged page is `unchanged`).
    #[serde(default)]
    pub refresh: bool,
    /// Feeds and sitemaps: only entries published at or after this time (RFC 3339).
    #[serde(default, deserialize_with = "super::params::time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// One URL of a submit: [`URL_PATTERN`], at most 2048 characters.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct SubmitUrl(pub String);

impl utoipa::PartialSchema for SubmitUrl {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        super::params::string_schema(1, 2048, URL_PATTERN, "An absolute http(s) URL with a host name")
    }
}

impl utoipa::ToSchema for SubmitUrl {}

/// What the URLs are.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmitKind {
    /// Article pages.
    #[default]
    Page,
    /// RSS, Atom or JSON feeds: a job per item.
    Feed,
    /// Sitemaps or sitemap indexes: a job per entry.
    Sitemap,
    /// Sites: their feeds and sitemaps are found and expanded.
    Site,
    /// WARC files (http or https only: a local path would be a file read on a worker): one job per file,
    /// its HTML responses extracted.
    Warc,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// One job per URL, in the order given.
    pub jobs: Vec<SubmittedJob>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmittedJob {
    pub job_id: JobId,
    /// The URL fetched: the submitted one, canonicalised.
    pub url: String,
    /// The URL as submitted, when canonicalising changed it.
    pub submitted_url: Option<String>,
}

/// Queue fetch jobs: the URLs are checked and canonicalised as `newspipe submit` does (every problem is
/// reported, and nothing is queued unless every URL is good), then published with confirms.
#[utoipa::path(
    post, path = "/v1/jobs", tag = "jobs",
    request_body = SubmitRequest,
    responses(
        (status = 202, description = "Queued: each URL's job id, to follow with GET /v1/jobs/{job_id}", body = Submitted),
        (status = 422, description = "A URL was refused (each one is named in `errors`), or too many", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn submit(
    access: SubmitAccess,
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SubmitRequest>,
) -> Result<(StatusCode, Json<Submitted>), Problem> {
    if request.urls.is_empty() || request.urls.len() > MAX_SUBMIT_URLS {
        return Err(Problem::unprocessable(
            format!("send 1 to {MAX_SUBMIT_URLS} URLs a request (this one has {})", request.urls.len()),
            Vec::new(),
        ));
    }
    let refused: Vec<String> = request
        .urls
        .iter()
        .enumerate()
        .filter(|(_, url)| url.0.chars().count() > 2048 || !url_pattern().is_match(&url.0))
        .map(|(i, url)| {
            format!("urls[{i}]: `{}` is not an absolute http(s) URL of at most 2048 characters", url.0)
        })
        .collect();
    if !refused.is_empty() {
        return Err(Problem::unprocessable("some URLs were refused; nothing was queued", refused));
    }
    let inputs: Vec<SubmittedUrl> = request
        .urls
        .into_iter()
        .enumerate()
        .map(|(i, url)| SubmittedUrl { origin: format!("urls[{i}]"), url: url.0 })
        .collect();
    let canonical = newspipe_control::validate(&inputs, &state.settings.canonical)
        .map_err(|errors| Problem::unprocessable("some URLs were refused; nothing was queued", errors))?;
    let token = access.caller.name.clone().unwrap_or_default();
    if let SubmitKind::Warc = request.kind {
        // The file's own URL, as given: a WARC file is read, not a page canonicalised.
        let warc: Vec<WarcJob> = inputs.iter().map(|input| WarcJob::new(input.url.trim())).collect();
        state
            .database
            .queue_warc_files(&warc.iter().map(|j| (j.job_id, j.source.clone())).collect::<Vec<_>>())
            .await?;
        let messages = warc
            .iter()
            .map(|job| {
                (Outgoing::json(Queue::Warc, encode_json(job)).for_job(job.job_id), job.source.clone())
            })
            .collect();
        state.broker.publish(messages).await?;
        emit(JobsSubmitted { kind: "warc", count: warc.len(), token });
        let jobs = warc
            .into_iter()
            .map(|job| SubmittedJob { job_id: job.job_id, url: job.source, submitted_url: None })
            .collect();
        return Ok((StatusCode::ACCEPTED, Json(Submitted { jobs })));
    }
    let kind = match request.kind {
        SubmitKind::Feed => JobKind::Feed,
        SubmitKind::Sitemap => JobKind::Sitemap,
        SubmitKind::Site => JobKind::Site,
        _ => JobKind::Page,
    };
    let jobs = jobs(canonical, JobOptions { kind, refresh: request.refresh, since: request.since });
    state.broker.publish(job_messages(&jobs)).await?;
    emit(JobsSubmitted { kind: kind_code(kind), count: jobs.len(), token });
    let jobs = jobs
        .into_iter()
        .map(|job| SubmittedJob { job_id: job.job_id, url: job.url, submitted_url: job.submitted_url })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(Submitted { jobs })))
}

fn kind_code(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Feed => "feed",
        JobKind::Sitemap => "sitemap",
        JobKind::Site => "site",
        _ => "page",
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobStatus {
    pub job_id: JobId,
    /// `done` when the job and every job discovered from it (feed items, sitemap entries) have an outcome;
    /// `pending` until then (queued, in flight, or a job id this archive has not seen).
    pub state: JobState,
    /// Outcomes expected so far: the job, plus the jobs its expanded feeds and sitemaps queued.
    pub expected: u64,
    /// The outcomes recorded: the job's and those of the jobs discovered from it.
    pub outcomes: Vec<TreeOutcome>,
    /// For a WARC file job: its progress.
    pub warc_file: Option<WarcFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Done,
}

/// A job's outcomes so far (with those of the jobs discovered from it), or its WARC file's progress.
#[utoipa::path(
    get, path = "/v1/jobs/{job_id}", tag = "jobs", operation_id = "get_job",
    params(("job_id" = String, Path, format = Uuid, description = "A job id, as POST /v1/jobs answered")),
    responses((status = 200, description = "The job's outcomes so far", body = JobStatus)),
    security(("bearer" = []))
)]
pub async fn job(
    _access: ReadAccess,
    State(state): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<JobStatus>, Problem> {
    let job_id: JobId =
        job_id.parse().map_err(|_| Problem::bad_request(format!("`{job_id}` is not a job id (a UUID)")))?;
    let outcomes = state.database.outcome_tree(&[job_id]).await?;
    let warc_file = state.database.warc_files(&[job_id]).await?.into_iter().next();
    let expected = 1 + outcomes.iter().filter_map(|o| o.children).sum::<u64>();
    let done = match &warc_file {
        Some(file) => file.is_settled(),
        None => outcomes.len() as u64 >= expected,
    };
    Ok(Json(JobStatus {
        job_id,
        state: if done { JobState::Done } else { JobState::Pending },
        expected,
        outcomes,
        warc_file,
    }))
}

#[cfg(test)]
mod tests {
    use super::url_pattern;

    #[test]
    fn the_url_pattern_takes_hosts_addresses_and_ports_and_nothing_else() {
        for good in [
            "http://example.com",
            "https://www.example.com/news/a?b=1#top",
            "HTTP://Example.COM:8080/",
            "http://127.0.0.1:34561/articles/1",
            "http://a.example:65535/x",
        ] {
            assert!(url_pattern().is_match(good), "{good}");
        }
        for bad in [
            "ftp://example.com/",
            "http://",
            "http://1.2.3.4.5/",
            "http://256.1.1.1/",
            "http://example.com:0/",
            "http://example.com:65536/",
            "http://exa mple.com/",
            "http://example.com/a b",
            "javascript:alert(1)",
        ] {
            assert!(!url_pattern().is_match(bad), "{bad}");
        }
    }
}
