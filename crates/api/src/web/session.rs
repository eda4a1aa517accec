//! Logging in and out of the web page. The login form takes a token and sets it as an HttpOnly, SameSite=Strict
//! cookie (Secure when a proxy in front terminates HTTPS and says so with `X-Forwarded-Proto: https`, and
//! `api.trust_forwarded_proto` is on: this server itself speaks plain HTTP). On plain-HTTP localhost the cookie is not Secure, which browsers accept there;
//! anywhere else, put the server behind HTTPS. Both forms carry a CSRF token (a random value in a cookie of
//! its own, repeated in the form: a page of another site can set neither), and a request whose Origin is
//! another site's is refused.

use axum::Form;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::pages::{Page, layout};
use crate::AppState;
use crate::auth::{Refusal, SESSION_COOKIE, Scope, cookie, peer};

pub const CSRF_COOKIE: &str = "newspipe_csrf";

/// The CSRF token of this browser, and the cookie to set when it has none yet.
pub fn csrf_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(token) = cookie(headers, CSRF_COOKIE).filter(|t| t.len() == 32) {
        return (token, None);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random generator");
    let token = hex::encode(bytes);
    let cookie = format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    (token, Some(HeaderValue::from_str(&cookie).expect("a hex cookie")))
}

/// A form's CSRF token matches the cookie's, and the request does not come from another origin.
fn csrf_ok(headers: &HeaderMap, form_token: &str) -> bool {
    let same_origin = match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://").map(|(_, rest)| rest.to_string()))
            .is_some_and(|o| host.to_str().is_ok_and(|h| o.eq_ignore_ascii_case(h))),
        (Some(_), None) => false,
        (None, _) => true,
    };
    let Some(cookie) = cookie(headers, CSRF_COOKIE) else { return false };
    same_origin
        && form_token.len() == cookie.len()
        && bool::from(form_token.as_bytes().ct_eq(cookie.as_bytes()))
}

fn secure(state: &AppState, parts: &Parts) -> bool {
    state.settings.api.trust_forwarded_proto
        && parts.headers.get("x-forwarded-proto").is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"))
}

fn session_cookie(value: &str, secure: bool, max_age: Option<u64>) -> HeaderValue {
    let mut cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("a token is a valid cookie value")
}

pub async fn login_form(State(state): State<AppState>, parts: Parts) -> Response {
    login_page(&parts.headers, StatusCode::OK, None, state.settings.api.public_read)
}

fn login_page(headers: &HeaderMap, status: StatusCode, error: Option<&str>, public_read: bool) -> Response {
    let (csrf, set_cookie) = csrf_token(headers);
    let body = html! {
        form.login method="post" action="/login" {
            h1 { "Log in to newspipe" }
            p.note { "Paste a token made with " code { "newspipe token create" } " (any scope)." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            label for="token" { "Token" }
            input #token name="token" type="password" autocomplete="off" required autofocus;
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { "Log in" }
            @if public_read { p.note { "Reading is open on this server: " a href="/" { "search without logging in" } "." } }
        }
    };
    let mut response =
        (status, layout(Page { title: "Log in", logged_in: false, csrf: None }, body)).into_response();
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    csrf: String,
}

pub async fn login(State(state): State<AppState>, parts: Parts, Form(form): Form<LoginForm>) -> Response {
    let public = state.settings.api.public_read;
    if !csrf_ok(&parts.headers, &form.csrf) {
        return login_page(
            &parts.headers,
            StatusCode::FORBIDDEN,
            Some("The form expired: please try again."),
            public,
        );
    }
    match state.auth.check_token(&form.token, peer(&parts), Scope::Read).await {
        Ok(_) => {
            let mut response = Redirect::to("/").into_response();
            let cookie = session_cookie(form.token.trim(), secure(&state, &parts), Some(7 * 24 * 3600));
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(Refusal::TooManyFailures(_)) => login_page(
            &parts.headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many failed attempts from this address: wait a little and try again."),
            public,
        ),
        Err(Refusal::Unavailable(_)) => login_page(
            &parts.headers,
            StatusCode::SERVICE_UNAVAILABLE,
            Some("The database is unavailable right now: try again shortly."),
            public,
        ),
        Err(_) => {
            login_page(&parts.headers, StatusCode::UNAUTHORIZED, Some("That token is not valid."), public)
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout(State(state): State<AppState>, parts: Parts, Form(form): Form<LogoutForm>) -> Response {
    if !csrf_ok(&parts.headers, &form.csrf) {
        return (StatusCode::FORBIDDEN, "the form expired: go back, reload the page and try again")
            .into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, session_cookie("", secure(&state, &parts), Some(0)));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn a_form_passes_the_csrf_check_only_with_its_cookie_and_from_its_own_origin() {
        let token = "0123456789abcdef0123456789abcdef";
        let cookie = format!("{CSRF_COOKIE}={token}");
        assert!(csrf_ok(&headers(&[("cookie", &cookie), ("host", "a.example:8080")]), token));
        assert!(csrf_ok(
            &headers(&[("cookie", &cookie), ("host", "a.example:8080"), ("origin", "http://a.example:8080")]),
            token
        ));
        assert!(!csrf_ok(
            &headers(&[("cookie", &cookie), ("host", "a.example:8080"), ("origin", "https://evil.example")]),
            token
        ));
        assert!(!csrf_ok(&headers(&[("host", "a.example:8080")]), token), "no cookie");
        assert!(
            !csrf_ok(&headers(&[("cookie", &cookie)]), "fedcba9876543210fedcba9876543210"),
            "another token"
        );
    }
}
