//! Errors, one shape everywhere: RFC 9457 problem details (`application/problem+json`) saying what failed
//! with which input, never a stack trace or SQL. Handlers return [`Problem`]; responses made by the
//! framework or a middleware (an unknown path, a method not allowed, a body too large, a timeout) are turned
//! into one by [`problem_for_bare_errors`].

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem: `type` is a stable code a client can branch on (`about:blank` is not used: every problem says
/// which it is), `title` the code for people, `detail` what failed with which input.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "urn:newspipe:problem:not_found", "title": "Not Found", "status": 404,
    "detail": "no article has id 42"}))]
pub struct Problem {
    /// `urn:newspipe:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Each refused input, for a request refused for several (`POST /v1/jobs` lists every bad URL).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:newspipe:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn unprocessable(detail: impl Into<String>, errors: Vec<String>) -> Problem {
        Problem { errors, ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail) }
    }

    /// A dependency (the database, the broker) failed: logged in full, answered without its details.
    pub fn unavailable(what: &str, error: &dyn std::fmt::Display) -> Problem {
        tracing::warn!(what, error = %error, "request failed on a dependency");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{what} is unavailable right now; try again shortly"),
        )
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).expect("a problem serialises");
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl From<newspipe_db::DbError> for Problem {
    fn from(error: newspipe_db::DbError) -> Problem {
        if is_statement_timeout(&error) {
            tracing::warn!(error = %error, "a query ran past api.request_timeout_secs");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the query took longer than this server allows; narrow it (fewer results, a filter)",
            );
        }
        Problem::unavailable("the database", &error)
    }
}

fn is_statement_timeout(error: &newspipe_db::DbError) -> bool {
    // 57014 query_canceled: what statement_timeout raises.
    matches!(error, newspipe_db::DbError::Query { source, .. }
        if source.as_database_error().and_then(|e| e.code()).as_deref() == Some("57014"))
}

/// Turns an error response that is not a problem (axum's rejections, its 404 and 405, a body limit, a
/// timeout) into one, keeping its status and headers (`Allow` on a 405) and its text as the detail.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response.headers().get(header::CONTENT_TYPE).is_some_and(|t| {
        t.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || t.as_bytes().starts_with(b"text/html")
    });
    if is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", format!("no such resource: {path}")),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", format!("{path} does not take this method")),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("too_large", "the request body is larger than this server takes".into())
        }
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
            ("timeout", "the request took longer than this server allows".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", text_or(&text, "send application/json"))
        }
        StatusCode::UNPROCESSABLE_ENTITY => {
            ("invalid_input", text_or(&text, "the body is not what the schema says"))
        }
        StatusCode::FORBIDDEN => ("forbidden", text_or(&text, "forbidden")),
        _ => ("bad_request", text_or(&text, status.canonical_reason().unwrap_or("bad request"))),
    };
    let problem = Problem::new(status, code, detail);
    let body = serde_json::to_vec(&problem).expect("a problem serialises");
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

fn text_or(text: &str, fallback: &str) -> String {
    if text.is_empty() { fallback.to_string() } else { text.to_string() }
}
