//! The web page: search the archive, read an article with its history, watch the pipeline. Server-rendered
//! HTML (`maud`, which escapes every value: an article's `<script>` is shown as text), one stylesheet and one
//! small script served from here (no CDN, fonts or trackers: it works on a closed network), usable by
//! keyboard. Reading follows the API's token rules; without access a page redirects to `/login`, whose form
//! sets the login cookie. The forms that change something (login, logout) carry a CSRF token.

mod pages;
mod session;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/articles/{id}", get(pages::article))
        .route("/status", get(pages::status))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", axum::routing::post(session::logout))
        .route("/assets/app.js", get(script))
        .route("/assets/style.css", get(stylesheet))
        .layer(axum::middleware::from_fn(security_headers))
}

/// Scripts, styles and connections from this server only, no framing, no inline script: even markup that
/// slipped past escaping could not run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn script() -> Response {
    asset(include_str!("assets/app.js"), "text/javascript; charset=utf-8")
}

async fn stylesheet() -> Response {
    asset(include_str!("assets/style.css"), "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
        ],
        body,
    )
        .into_response()
}
