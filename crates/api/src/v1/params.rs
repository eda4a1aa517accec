//! Query parameters shared by several operations, with their validation written in the schema (what the
//! schema allows is never answered 400) and checked again here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::problem::Problem;

/// A site name or host, or a language tag: no NUL (PostgreSQL text cannot hold one).
pub const NO_NUL: &str = "^[^\\u0000]*$";
/// A BCP 47 language tag, as far as the filter reads one (its primary subtag).
pub const LANGUAGE_TAG: &str = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$";

/// A string schema with its length bounds (in characters) and pattern.
pub fn string_schema(
    min: usize,
    max: usize,
    pattern: &str,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

/// An RFC 3339 time in a query string (a `T` or `t`, `Z` or `z`, any offset).
pub fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
    parse_time(&text).map(Some).map_err(serde::de::Error::custom)
}

pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(&text.to_ascii_uppercase())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-11-27T08:00:00Z ({e})"))
}

/// The filters of a listing, a search or an export.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filters {
    /// Only this site: its name or its host (`example.com` also matches `www.example.com`).
    #[param(max_length = 253, pattern = "^[^\\u0000]*$")]
    pub site: Option<String>,
    /// Only articles in this language (a BCP 47 tag; `en` matches `en-GB` too).
    #[param(max_length = 35, pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub lang: Option<String>,
    /// Search: published (undated: stored) at or after this time. Listing and export: stored or updated since.
    #[serde(default, deserialize_with = "time")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<DateTime<Utc>>,
}

/// The end of a search's or a listing's time window.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Until {
    /// Search: published (undated: stored) before this time. Listing: stored or updated before.
    #[serde(default, deserialize_with = "time")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<DateTime<Utc>>,
}

impl Filters {
    pub fn check(&self) -> Result<(), Problem> {
        if let Some(site) = &self.site
            && (site.contains('\0') || site.chars().count() > 253)
        {
            return Err(Problem::bad_request("`site` is longer than 253 characters or holds a NUL"));
        }
        if let Some(lang) = &self.lang
            && !is_language_tag(lang)
        {
            return Err(Problem::bad_request(format!(
                "`lang` `{lang}` is not a language tag such as en or pt-BR"
            )));
        }
        Ok(())
    }

    pub fn filter(&self) -> newspipe_db::ArticleFilter {
        newspipe_db::ArticleFilter { site: self.site.clone(), language: self.lang.clone(), since: self.since }
    }
}

fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    tag.len() <= 35
        && (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A page size: 1 to [`MAX_PAGE`].
pub const MAX_PAGE: i64 = 100;

pub fn check_limit(limit: i64) -> Result<i64, Problem> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(Problem::bad_request(format!("`limit` is {limit}: it must be from 1 to {MAX_PAGE}")))
    }
}

/// A JSON body, refused with 413 from its `Content-Length` alone when that is above `api.max_body_bytes`
/// (before a byte of it is read); otherwise read up to the limit and parsed by axum's `Json`. It comes after
/// the token among a handler's arguments, so an unauthorised request is refused before its body matters.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<crate::AppState> for JsonBody<T> {
    type Rejection = axum::response::Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::response::IntoResponse;
        let limit = state.settings.api.max_body_bytes;
        let declared = request
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            let mut response = Problem::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the body is {} bytes; this server takes at most {limit} (api.max_body_bytes)",
                    declared.unwrap_or_default()
                ),
            )
            .into_response();
            // The body is left unread, so the connection cannot carry another request: say so, or a client
            // reusing it would find it closed under its next request.
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
            return Err(response);
        }
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(rejection.into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_every_rfc_3339_spelling() {
        for text in ["2026-11-27T08:00:00Z", "2026-11-27t08:00:00z", "2026-11-27T09:00:00+01:00"] {
            assert_eq!(parse_time(text).unwrap().to_rfc3339(), "2026-11-27T08:00:00+00:00", "{text}");
        }
        assert!(parse_time("2026-11-27").unwrap_err().contains("is not an RFC 3339 time"));
    }

    #[test]
    fn language_tags_are_checked_as_the_schema_says() {
        for good in ["en", "pt-BR", "zh-Hant-TW", "deu"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in ["", "e", "english", "en_GB", "en-", "en-toolongsubtag", "1a"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
