//! The limits every request meets: a rate per caller (`tower_governor`, keyed by token, or by address
//! without one), the body size, the query string's length, a time limit on every handler (and, through the
//! database settings, on every statement), and CORS only where configured.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_governor::GovernorLayer;
use tower_governor::errors::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;

use crate::AppState;
use crate::events::{RateLimited, RequestServed, emit};
use crate::problem::Problem;
use crate::settings::ApiSettings;

/// Who a request counts against: its token's public prefix when it sends one (bearer or cookie), else the
/// address it came from.
#[derive(Debug, Clone, Copy)]
pub struct CallerKey;

impl KeyExtractor for CallerKey {
    type Key = String;

    fn extract<T>(&self, request: &axum::http::Request<T>) -> Result<String, GovernorError> {
        let headers = request.headers();
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_whitespace().nth(1))
            .map(str::to_string)
            .or_else(|| crate::auth::session_cookie(headers));
        if let Some(token) = token {
            // The prefix only: the secret is never kept in memory longer than the request.
            let prefix: String = token.chars().take(20).collect();
            return Ok(format!("token:{prefix}"));
        }
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| format!("address:{}", c.0.ip()))
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

pub fn apply(router: Router<AppState>, settings: &ApiSettings) -> Router<AppState> {
    let rate = settings.requests_per_second.max(0.001);
    let governor = GovernorConfigBuilder::default()
        .key_extractor(CallerKey)
        .period(Duration::from_secs_f64(1.0 / rate))
        .burst_size(settings.burst.max(1))
        .finish()
        .expect("a positive period and burst");
    let max_query = settings.max_query_bytes;
    let mut router = router
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(settings.request_timeout_secs.max(1)),
        ))
        .layer(axum::middleware::from_fn(move |request: Request, next: Next| {
            query_length(request, next, max_query)
        }))
        .layer(GovernorLayer::new(governor).error_handler(rate_limited));
    if !settings.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> =
            settings.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    }
    router
}

fn rate_limited(error: GovernorError) -> Response {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            emit(RateLimited);
            let mut response = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many requests from this caller (api.requests_per_second); retry in {}s",
                    wait_time.max(1)
                ),
            )
            .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_time.max(1)));
            response
        }
        GovernorError::UnableToExtractKey => {
            Problem::bad_request("cannot tell who the request is from").into_response()
        }
        GovernorError::Other { code, msg, .. } => {
            Problem::new(code, "refused", msg.unwrap_or_else(|| "refused".into())).into_response()
        }
    }
}

async fn query_length(request: Request, next: Next, max: usize) -> Response {
    let length = request.uri().query().map_or(0, str::len);
    if length > max {
        return Problem::new(
            StatusCode::URI_TOO_LONG,
            "query_too_long",
            format!(
                "the query string is {length} bytes; this server takes at most {max} (api.max_query_bytes)"
            ),
        )
        .into_response();
    }
    // serde's query parsing replaces bytes that are not UTF-8: refuse them instead of searching for U+FFFD.
    if let Some(query) = request.uri().query()
        && percent_encoding::percent_decode_str(query).decode_utf8().is_err()
    {
        return Problem::bad_request("the query string is not UTF-8 once percent-decoded").into_response();
    }
    next.run(request).await
}

/// Counts and times every request by its route's template (never its path: ids and queries stay out).
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    emit(RequestServed { route, method, status: response.status().as_u16(), elapsed: started.elapsed() });
    response
}
