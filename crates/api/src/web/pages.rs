//! The pages: search (`/`), an article (`/articles/{id}`), the pipeline's status (`/status`).

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::session::csrf_token;
use crate::AppState;
use crate::auth::{Caller, Refusal, Scope, peer};
use crate::problem::Problem;

/// What the layout needs to know about the page.
pub struct Page<'a> {
    pub title: &'a str,
    pub logged_in: bool,
    /// The CSRF token for the logout form.
    pub csrf: Option<&'a str>,
}

pub fn layout(page: Page<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · newspipe" }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    a.brand href="/" { "newspipe" }
                    nav aria-label="Main" {
                        a href="/" { "Search" }
                        a href="/status" { "Status" }
                        a href="/openapi.json" { "API" }
                    }
                    @if page.logged_in {
                        @if let Some(csrf) = page.csrf {
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The reader of a page, or where to send them: to `/login` without access.
async fn reader(state: &AppState, parts: &Parts) -> Result<Caller, Response> {
    match state.auth.check(&parts.method, &parts.headers, peer(parts), Scope::Read).await {
        Ok(caller) => Ok(caller),
        Err(Refusal::Unauthenticated(_)) => Err(Redirect::to("/login").into_response()),
        Err(other) => Err(other.into_response()),
    }
}

/// A page with the reader's logout form (and its CSRF cookie, when the browser has none yet).
fn page(parts: &Parts, caller: &Caller, status: StatusCode, title: &str, body: Markup) -> Response {
    let (csrf, set_cookie) = csrf_token(&parts.headers);
    let markup = layout(Page { title, logged_in: caller.name.is_some(), csrf: Some(&csrf) }, body);
    let mut response = (status, markup).into_response();
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The search form's fields, as the browser sends them (empty when left blank).
#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
}

/// A date field: empty, a date (`2026-11-27`, from `<input type=date>`) or an RFC 3339 time.
fn date_field(name: &str, text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()));
    }
    crate::v1::params::parse_time(text).map(Some).map_err(|e| format!("{name}: {e}"))
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Private-use characters mark the matched words in a snippet: they cannot be in the escaped text, so the
/// snippet is escaped first and only they become `<mark>`.
const MARK_START: &str = "\u{E000}";
const MARK_STOP: &str = "\u{E001}";

fn highlighted(snippet: &str) -> Markup {
    let escaped = html! { (snippet) }.into_string();
    PreEscaped(escaped.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))
}

fn day(time: &Option<DateTime<Utc>>) -> String {
    time.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

fn stamp(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

pub async fn home(State(state): State<AppState>, parts: Parts, Query(form): Query<SearchForm>) -> Response {
    let caller = match reader(&state, &parts).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let since = date_field("since", &form.since);
    let until = date_field("until", &form.until);
    let query = form.q.trim().to_string();
    let mut status = StatusCode::OK;
    // The same checks as the API's search: the page never sends PostgreSQL what it cannot hold.
    let filters = crate::v1::params::Filters {
        site: non_empty(&form.site),
        lang: non_empty(&form.lang),
        since: since.clone().ok().flatten(),
    };
    let results: Result<Option<Vec<newspipe_db::SearchHit>>, String> = match (&since, &until) {
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        _ if query.is_empty() => Ok(None),
        _ if query.chars().count() > 500 || query.contains('\0') => {
            Err("the search must be at most 500 characters, without NUL".into())
        }
        (Ok(_), Ok(until)) => match filters.check() {
            Err(problem) => Err(problem.detail),
            Ok(()) => {
                let filter = filters.filter();
                match state.database.search(&query, &filter, *until, 20, (MARK_START, MARK_STOP)).await {
                    Ok(hits) => Ok(Some(hits)),
                    Err(error) => {
                        let problem = Problem::from(error);
                        status = problem.status();
                        Err(problem.detail)
                    }
                }
            }
        },
    };
    if results.is_err() && status == StatusCode::OK {
        status = StatusCode::BAD_REQUEST;
    }
    let body = html! {
        h1 { "Search the archive" }
        form role="search" method="get" action="/" {
            label { "Words" input #q name="q" type="search" value=(form.q) autofocus[query.is_empty()] placeholder="climate summit -opinion"; }
            label { "Site" input name="site" value=(form.site) size="14" placeholder="example.com"; }
            label { "Language" input name="lang" value=(form.lang) size="5" placeholder="en"; }
            label { "Since" input name="since" type="date" value=(form.since); }
            label { "Until" input name="until" type="date" value=(form.until); }
            button type="submit" { "Search" }
        }
        @match &results {
            Err(error) => p.error role="alert" { (error) },
            Ok(None) => p.note { "Words are ANDed; use \"quoted phrases\", or, and -excluded words. Each article is matched in its own language." },
            Ok(Some(hits)) if hits.is_empty() => p { "No article matches " strong { (query) } "." },
            Ok(Some(hits)) => {
                p.note { (hits.len()) " result(s) for " strong { (query) } }
                ol.results {
                    @for hit in hits {
                        li.result {
                            a.result-title href={ "/articles/" (hit.id) } { (hit.title.as_deref().unwrap_or("(no title)")) }
                            div.meta {
                                (hit.site_name.as_deref().unwrap_or_else(|| host(&hit.url)))
                                @if hit.published_at.is_some() { " · " (day(&hit.published_at)) }
                                @if let Some(language) = &hit.language { " · " (language) }
                            }
                            p.snippet { (highlighted(&hit.snippet)) }
                        }
                    }
                }
            }
        }
    };
    let title = if query.is_empty() { "Search".to_string() } else { format!("{query} (search)") };
    page(&parts, &caller, status, &title, body)
}

fn host(url: &str) -> &str {
    url.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or(url)
}

pub async fn article(State(state): State<AppState>, parts: Parts, Path(id): Path<String>) -> Response {
    let caller = match reader(&state, &parts).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let not_found = |parts: &Parts, caller: &Caller| {
        page(
            parts,
            caller,
            StatusCode::NOT_FOUND,
            "Not found",
            html! { h1 { "No such article" } p { "No article has id " code { (id) } "." } },
        )
    };
    let Ok(article_id) = id.parse::<i64>() else { return not_found(&parts, &caller) };
    let (stored, history) = match tokio::try_join!(
        async { state.database.find_article(&article_id.to_string()).await.map_err(Problem::from) },
        crate::v1::archive::read_history(&state, article_id),
    ) {
        Ok((Some(stored), Some(history))) if article_id > 0 => (stored, history),
        Ok(_) => return not_found(&parts, &caller),
        Err(problem) => {
            let status = problem.status();
            return page(
                &parts,
                &caller,
                status,
                "Unavailable",
                html! { h1 { "Unavailable" } p.error { (problem.detail) } },
            );
        }
    };
    let a = &stored.article;
    let title = a.title.clone().unwrap_or_else(|| "(no title)".into());
    let body = html! {
        article {
            h1 { (title) }
            dl.fields {
                @if !a.authors.is_empty() { dt { "Authors" } dd { (a.authors.join(", ")) } }
                @if let Some(t) = &a.published_at { dt { "Published" } dd { time datetime=(t.to_rfc3339()) { (stamp(t)) } } }
                @if let Some(t) = &a.modified_at { dt { "Modified" } dd { time datetime=(t.to_rfc3339()) { (stamp(t)) } } }
                @if let Some(site) = &a.site_name { dt { "Site" } dd { (site) } }
                @if let Some(language) = &a.language { dt { "Language" } dd { (language) } }
                dt { "Source" } dd { a href=(a.url) rel="noopener noreferrer nofollow" { (a.url) } }
                dt { "Stored" } dd { (stamp(&stored.stored_at)) }
                @if let Some(t) = &a.taken_down_at { dt { "Taken down" } dd { (stamp(t)) " (it answered 404 or 410)" } }
                dt { "Words" } dd { (a.word_count) }
            }
            @if let Some(description) = &a.description { p.note { (description) } }
            div.article-text {
                @for paragraph in a.text.split("\n\n").filter(|p| !p.trim().is_empty()) {
                    p { (paragraph) }
                }
            }
        }
        section #versions aria-labelledby="versions-title" {
            h2 #versions-title { "Versions (" (history.versions.len()) ")" }
            table {
                thead { tr { th { "#" } th { "Fetched" } th { "Title" } th.num { "Words" } th { "Current" } } }
                tbody {
                    @for v in &history.versions {
                        tr {
                            td { (v.version) }
                            td { (stamp(&v.fetched_at)) }
                            td { (v.title.as_deref().unwrap_or("")) }
                            td.num { (v.word_count) }
                            td { @if v.current { "yes" } }
                        }
                    }
                }
            }
            @if !history.events.is_empty() {
                ul {
                    @for e in &history.events { li { (stamp(&e.at)) " " (e.kind) @if let Some(s) = e.http_status { " (HTTP " (s) ")" } } }
                }
            }
        }
        section #history aria-labelledby="history-title" {
            h2 #history-title { "Outcome history (" (history.outcomes.len()) ")" }
            table {
                thead { tr { th { "Recorded" } th { "Outcome" } th { "Reason" } th { "URL" } } }
                tbody {
                    @for o in &history.outcomes {
                        tr {
                            td { (stamp(&o.recorded_at)) }
                            td { (o.outcome) }
                            td { (o.reason.as_deref().unwrap_or("")) }
                            td { (o.url) }
                        }
                    }
                }
            }
        }
    };
    page(&parts, &caller, StatusCode::OK, &title, body)
}

/// Seconds between the status page's refreshes.
const REFRESH_SECS: u32 = 3;

pub async fn status(State(state): State<AppState>, parts: Parts) -> Response {
    let caller = match reader(&state, &parts).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let status = match crate::v1::operations::read_status(&state).await {
        Ok(status) => status,
        Err(problem) => {
            let code = problem.status();
            return page(
                &parts,
                &caller,
                code,
                "Status",
                html! { h1 { "Status" } p.error role="alert" { (problem.detail) } },
            );
        }
    };
    let body = html! {
        div data-refresh=(REFRESH_SECS) {
            h1 { "Pipeline status" }
            p.note { "Updated " span #status-updated { (stamp(&Utc::now())) } ", every " (REFRESH_SECS) " s. "
                span #status-error.error hidden {} }
            div.counts {
                div { strong #count-articles { (status.articles) } "articles" }
                div { strong #count-stored { (status.outcomes.stored) } "stored" }
                div { strong #count-skipped { (status.outcomes.skipped) } "skipped" }
                div { strong #count-failed { (status.outcomes.failed) } "failed" }
                div { strong #throughput { (format!("{:.2}", status.outcomes_per_second)) } "outcomes/s (last minute)" }
                div { strong #count-dead { (status.dead_letters) } "dead letters" }
            }
            h2 { "Queues" }
            table #queues {
                thead { tr { th { "Queue" } th.num { "Messages" } th.num { "Consumers" } th.num { "In/s" } th.num { "Out/s" } } }
                tbody {
                    @for q in &status.queues {
                        tr {
                            td.queue-name { (q.stats.name) }
                            td.num { (q.stats.messages) }
                            td.num { (q.stats.consumers) }
                            td.num { (rate(q.in_per_second)) }
                            td.num { (rate(q.out_per_second)) }
                        }
                    }
                }
            }
            @if let Some(why) = &status.rates_unavailable { p.note { "Rates unavailable: " (why) } }
            h2 { "Recent failures" }
            @if status.top_failure_reasons.is_empty() { p.note { "None." } } @else {
                table #failures {
                    thead { tr { th.num { "Count" } th { "Reason" } } }
                    tbody { @for r in &status.top_failure_reasons { tr { td.num { (r.count) } td { (r.reason) } } } }
                }
            }
        }
    };
    page(&parts, &caller, StatusCode::OK, "Status", body)
}

fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |r| format!("{r:.1}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_is_escaped_and_only_its_markers_become_marks() {
        let snippet = format!("<script>alert(1)</script> the {MARK_START}harbour{MARK_STOP} & more");
        assert_eq!(
            highlighted(&snippet).into_string(),
            "&lt;script&gt;alert(1)&lt;/script&gt; the <mark>harbour</mark> &amp; more"
        );
    }

    #[test]
    fn date_fields_take_dates_times_or_nothing() {
        assert_eq!(date_field("since", "").unwrap(), None);
        assert_eq!(
            date_field("since", "2026-11-27").unwrap().unwrap().to_rfc3339(),
            "2026-11-27T00:00:00+00:00"
        );
        assert!(date_field("since", "2026-11-27T08:00:00Z").unwrap().is_some());
        assert!(date_field("since", "yesterday").unwrap_err().starts_with("since: "));
    }
}
