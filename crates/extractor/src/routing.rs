//! Which pages go to the renderer: pure, so the rule is tested without a broker (docs/rendering.md).

use newspipe_extract::{Page, THIN_ARTICLE_WORDS, shell_signals};
use newspipe_models::{Outcome, RawPage, SkipReason};
use serde::Deserialize;

/// The extractor's part of the `[renderer]` section: which hosts, and how long a page may wait. The other
/// keys of the section are the renderer's, so they are not refused here.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RenderRouting {
    /// Hosts (or parent domains) whose pages are always rendered.
    pub always: Vec<String>,
    /// Hosts (or parent domains) never rendered, whatever their pages look like; they win over `always`.
    pub never: Vec<String>,
    /// How long a page may wait in the render queue; then it is extracted as it is.
    pub max_wait_secs: u64,
}

impl Default for RenderRouting {
    fn default() -> Self {
        RenderRouting { always: Vec::new(), never: Vec::new(), max_wait_secs: 120 }
    }
}

/// Why `page`, extracted into `outcome`, should be rendered (a code: `always`, `app_root`,
/// `script_heavy`, `no_text`), or `None` to store `outcome` as it is.
///
/// - A page that was rendered, or sent to rendering before, never is again (it came back from the
///   renderer, or waited past `max_wait_secs`).
/// - `never` hosts are never rendered; `always` hosts always are (their archived pages too).
/// - Otherwise the page must have extracted poorly (`skipped: empty`, `skipped: not an article`, or an
///   article under [`THIN_ARTICLE_WORDS`] words, after the embedded-data fallback) and look like an app
///   shell ([`shell_signals`]).
/// - A page read from a WARC file is kept as it was archived: rendering it would fetch today's scripts
///   and data, not the archive's.
pub fn render_reason(page: &RawPage, outcome: &Outcome, routing: &RenderRouting) -> Option<String> {
    if page.rendering.is_some() {
        return None;
    }
    let url = url::Url::parse(&page.final_url).ok()?;
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    if listed(&host, &routing.never) {
        return None;
    }
    if listed(&host, &routing.always) {
        return Some("always".into());
    }
    if page.warc.is_some() || !extracted_poorly(outcome) {
        return None;
    }
    let input = Page {
        body: &page.body,
        url: &page.final_url,
        content_type: page.header("content-type"),
        content_language: page.header("content-language"),
        hints: page.hints.as_ref(),
    };
    shell_signals(&input).map(|shell| shell.code.as_str().to_string())
}

fn extracted_poorly(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Skipped { reason: SkipReason::Empty | SkipReason::NotAnArticle { .. } } => true,
        Outcome::Stored { article } => article.word_count < THIN_ARTICLE_WORDS,
        _ => false,
    }
}

/// `host` is one of `hosts` or under one of them (`example.com` lists `www.example.com`).
fn listed(host: &str, hosts: &[String]) -> bool {
    hosts.iter().any(|entry| {
        let entry = entry.trim().trim_end_matches('.').to_ascii_lowercase();
        !entry.is_empty()
            && (host == entry || host.strip_suffix(entry.as_str()).is_some_and(|rest| rest.ends_with('.')))
    })
}

#[cfg(test)]
mod tests {
    use newspipe_extract::Options;
    use newspipe_models::{Rendering, SCHEMA_VERSION, WarcLocation, new_job_id};

    use super::*;
    use crate::extract_outcome;

    const SHELL: &str = r#"<!doctype html><html><head><title>Story</title>
        <script src="/static/app.3f2a.js"></script></head>
        <body><div id="root"></div><noscript>Enable JavaScript</noscript></body></html>"#;

    fn page(url: &str, html: &str) -> RawPage {
        RawPage {
            schema: SCHEMA_VERSION,
            job_id: new_job_id(),
            url: url.into(),
            final_url: url.into(),
            status: 200,
            headers: [("content-type".to_string(), "text/html; charset=utf-8".to_string())].into(),
            fetched_at: chrono::Utc::now(),
            hints: None,
            parent_job_id: None,
            revisit: None,
            rendering: None,
            warc: None,
            body: html.as_bytes().to_vec(),
        }
    }

    fn article_html() -> String {
        let paragraph = "The council voted on Tuesday to expand the harbour, after a long debate about the \
            cost of dredging and the fishing fleet's future in the town, which the mayor called decisive. ";
        let body: String = (0..8).map(|_| format!("<p>{}</p>", paragraph.repeat(2))).collect();
        format!(
            "<html><head><title>Harbour vote</title><script src=\"/a.js\"></script></head>\
             <body><article><h1>Harbour vote</h1>{body}</article></body></html>"
        )
    }

    fn reason(page: &RawPage, routing: &RenderRouting) -> Option<String> {
        render_reason(page, &extract_outcome(page, &Options::default()), routing)
    }

    #[test]
    fn an_app_shell_goes_to_rendering_and_a_real_article_does_not() {
        let routing = RenderRouting::default();
        assert_eq!(
            reason(&page("https://spa.example/story/1", SHELL), &routing).as_deref(),
            Some("app_root")
        );
        let article = page("https://news.example/2026/harbour-vote", &article_html());
        assert!(matches!(extract_outcome(&article, &Options::default()), Outcome::Stored { .. }));
        assert_eq!(reason(&article, &routing), None);
    }

    #[test]
    fn a_page_rendered_or_sent_to_rendering_before_is_never_sent_again() {
        let routing = RenderRouting { always: vec!["spa.example".into()], ..RenderRouting::default() };
        for state in [
            Rendering::Rendered { elapsed_ms: 900 },
            Rendering::Requested { at: chrono::Utc::now(), reason: "app_root".into() },
            Rendering::Abandoned { reason: "page_timeout".into() },
        ] {
            let mut shell = page("https://spa.example/story/1", SHELL);
            shell.rendering = Some(state.clone());
            assert_eq!(reason(&shell, &routing), None, "{state:?}");
        }
    }

    #[test]
    fn always_hosts_are_rendered_whatever_the_page_and_never_hosts_are_not_and_never_wins() {
        let routing = RenderRouting {
            always: vec!["news.example".into()],
            never: vec!["SPA.example.".into(), "both.news.example".into()],
            ..RenderRouting::default()
        };
        let article = page("https://www.news.example/2026/harbour-vote", &article_html());
        assert_eq!(reason(&article, &routing).as_deref(), Some("always"));
        assert_eq!(reason(&page("https://m.spa.example/story/1", SHELL), &routing), None);
        assert_eq!(reason(&page("https://both.news.example/story", SHELL), &routing), None);
        // A suffix that is not a parent domain does not match.
        assert_eq!(
            reason(&page("https://notspa.example/story/1", SHELL), &routing).as_deref(),
            Some("app_root")
        );
    }

    #[test]
    fn an_archived_shell_is_kept_as_archived_unless_its_host_is_always_rendered() {
        let mut shell = page("https://spa.example/story/1", SHELL);
        shell.warc = Some(WarcLocation {
            file: "cc-news.warc.gz".into(),
            offset: Some(0),
            record_id: "<urn:x>".into(),
        });
        assert_eq!(reason(&shell, &RenderRouting::default()), None);
        let always = RenderRouting { always: vec!["spa.example".into()], ..RenderRouting::default() };
        assert_eq!(reason(&shell, &always).as_deref(), Some("always"));
    }

    #[test]
    fn what_is_not_html_or_failed_is_not_rendered() {
        let mut json = page("https://spa.example/api/story", r#"{"id": 1}"#);
        json.headers.insert("content-type".into(), "application/json".into());
        assert_eq!(reason(&json, &RenderRouting::default()), None);
        let failed = Outcome::Failed { reason: newspipe_models::FailureReason::TooLarge };
        assert_eq!(
            render_reason(&page("https://spa.example/s", SHELL), &failed, &RenderRouting::default()),
            None
        );
    }

    #[test]
    fn only_a_rendered_page_makes_a_rendered_article() {
        let mut article = page("https://news.example/2026/harbour-vote", &article_html());
        let stored = |page: &RawPage| match extract_outcome(page, &Options::default()) {
            Outcome::Stored { article } => article.rendered,
            other => panic!("not stored: {other:?}"),
        };
        assert!(!stored(&article));
        article.rendering = Some(Rendering::Requested { at: chrono::Utc::now(), reason: "always".into() });
        assert!(!stored(&article));
        article.rendering = Some(Rendering::Rendered { elapsed_ms: 700 });
        assert!(stored(&article));
    }
}
