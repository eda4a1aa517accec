//! One tokenizer pass over the decoded page for what the DOM does not keep: the text of data scripts
//! (`__NEXT_DATA__`, `__NUXT_DATA__`), inline scripts that assign framework state, and the measures of
//! the shell rule (visible text, scripts, app-root markers, the AMP link).

use newspipe_html::{Content, Token, Tokenizer};

/// Framework state assigned in inline scripts, by global name. The value after `=` is read as JSON.
pub(crate) const STATE_NAMES: &[&str] =
    &["__INITIAL_STATE__", "__PRELOADED_STATE__", "__APOLLO_STATE__", "__NUXT__"];

/// At most this many assignments are kept from one page (the rest of a page's scripts are not read).
const MAX_STATES: usize = 16;

/// Element ids that single-page-app frameworks mount on, and the marker each is reported as.
const ROOT_IDS: &[(&str, &str)] = &[
    ("root", "#root"),
    ("app", "#app"),
    ("__next", "#__next"),
    ("__nuxt", "#__nuxt"),
    ("svelte", "#svelte"),
    ("___gatsby", "#___gatsby"),
    ("react-root", "#react-root"),
    ("app-root", "#app-root"),
];

/// Attributes that frameworks put on their root (or, for `data-reactroot`, its first child).
const ROOT_ATTRIBUTES: &[(&str, &str)] = &[
    ("ng-app", "[ng-app]"),
    ("data-ng-app", "[ng-app]"),
    ("ng-version", "[ng-version]"),
    ("data-reactroot", "[data-reactroot]"),
];

/// What the pass found.
#[derive(Debug, Default)]
pub(crate) struct Scan<'a> {
    /// The text of `<script id="__NEXT_DATA__">`.
    pub next_data: Option<&'a str>,
    /// The text of `<script id="__NUXT_DATA__">`.
    pub nuxt_data: Option<&'a str>,
    /// `window.NAME = <this text to the end of the script>`, in page order.
    pub states: Vec<(&'static str, &'a str)>,
    /// The `href` of `<link rel="amphtml">`, as written (references decoded).
    pub amp_href: Option<String>,
    /// Characters of text outside scripts, styles, `<noscript>`, `<template>`, `<title>` and `<textarea>`,
    /// with runs of whitespace counted as one.
    pub text_chars: usize,
    /// Executable `<script>` elements (no `type`, a JavaScript type or `module`), and script bundles
    /// preloaded by `<link rel="modulepreload">` or `<link rel="preload" as="script">`.
    pub scripts: usize,
    /// Executable scripts with a `src`, and preloaded bundles.
    pub external_scripts: usize,
    /// Bytes of inline script content: executable scripts and JSON data scripts alike.
    pub script_bytes: usize,
    /// The first app-root marker seen (`#root`, `#__next`, `[ng-app]`, `<app-root>`, `<custom-app>`...).
    pub app_root: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScriptKind {
    Executable,
    Data,
    Other,
}

fn script_kind(ty: Option<&str>) -> ScriptKind {
    let Some(ty) = ty else { return ScriptKind::Executable };
    let ty = ty.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match ty.as_str() {
        ""
        | "module"
        | "text/javascript"
        | "application/javascript"
        | "application/x-javascript"
        | "text/ecmascript"
        | "application/ecmascript"
        | "text/jsx"
        | "text/babel" => ScriptKind::Executable,
        t if t.ends_with("json") => ScriptKind::Data,
        _ => ScriptKind::Other,
    }
}

/// Scans a decoded page once.
pub(crate) fn scan(html: &str) -> Scan<'_> {
    let mut out = Scan::default();
    let mut tokens = Tokenizer::new(html);
    // The script just opened: its kind and which data id it carries (1: Next.js, 2: Nuxt).
    let mut open_script: Option<(ScriptKind, u8)> = None;
    let mut last_space = true;
    while let Some(token) = tokens.next_token() {
        match token {
            Token::Text(text) => {
                for c in text.chars() {
                    if c.is_whitespace() {
                        if !last_space {
                            out.text_chars += 1;
                            last_space = true;
                        }
                    } else {
                        out.text_chars += 1;
                        last_space = false;
                    }
                }
            }
            Token::EndTag(_) => {}
            Token::StartTag(start) => {
                open_script = None;
                if out.app_root.is_none() {
                    out.app_root = app_root_marker(&start.name, start.attrs);
                }
                match &*start.name {
                    "script" => {
                        let kind = script_kind(start.attr("type").as_deref());
                        let id = start.attr("id");
                        let data_id = match id.as_deref() {
                            Some("__NEXT_DATA__") => 1,
                            Some("__NUXT_DATA__") => 2,
                            _ => 0,
                        };
                        if kind == ScriptKind::Executable {
                            out.scripts += 1;
                            if start.attr("src").is_some_and(|s| !s.trim().is_empty()) {
                                out.external_scripts += 1;
                            }
                        }
                        open_script = Some((kind, data_id));
                    }
                    "link" => {
                        let rel = start.attr("rel").unwrap_or_default().to_ascii_lowercase();
                        let rels = || rel.split_ascii_whitespace();
                        if out.amp_href.is_none() && rels().any(|r| r == "amphtml") {
                            out.amp_href =
                                start.attr("href").map(|h| h.trim().to_string()).filter(|h| !h.is_empty());
                        }
                        // A bundle loaded ahead of its <script> (or by one that imports it) is a script too.
                        let preload_script = rels().any(|r| r == "modulepreload")
                            || rels().any(|r| r == "preload")
                                && start.attr("as").is_some_and(|a| a.eq_ignore_ascii_case("script"));
                        if preload_script {
                            out.scripts += 1;
                            out.external_scripts += 1;
                        }
                    }
                    _ => {}
                }
            }
            Token::ElementText { text, content } => {
                if let (Some((kind, data_id)), Content::Raw) = (open_script.take(), content) {
                    if kind != ScriptKind::Other {
                        out.script_bytes += text.len();
                    }
                    match (kind, data_id) {
                        (_, 1) if out.next_data.is_none() => out.next_data = Some(text),
                        (_, 2) if out.nuxt_data.is_none() => out.nuxt_data = Some(text),
                        (ScriptKind::Executable, _) => find_states(text, &mut out.states),
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

fn app_root_marker(name: &str, attrs: &[newspipe_html::Attribute<'_>]) -> Option<&'static str> {
    if name == "app-root" {
        return Some("<app-root>");
    }
    // A custom element that names itself the app (`<gg-app>`, `<my-app>`, `<app-shell>`).
    if name.contains('-') && (name.ends_with("-app") || name.ends_with("-root") || name.starts_with("app-")) {
        return Some("<custom-app>");
    }
    for a in attrs {
        if a.name.eq_ignore_ascii_case("id") {
            let id = a.value.trim();
            if let Some((_, marker)) = ROOT_IDS.iter().find(|(i, _)| id.eq_ignore_ascii_case(i)) {
                return Some(marker);
            }
        } else if let Some((_, marker)) = ROOT_ATTRIBUTES.iter().find(|(n, _)| a.name.eq_ignore_ascii_case(n))
        {
            return Some(marker);
        }
    }
    None
}

/// Finds `NAME = value` (also `NAME=`, `["NAME"] =`) in one inline script and keeps the text after `=`.
/// `NAME == x`, `NAME || {}` and other uses are passed over.
fn find_states<'a>(script: &'a str, out: &mut Vec<(&'static str, &'a str)>) {
    for name in STATE_NAMES {
        let mut from = 0;
        let mut looks = 0;
        while out.len() < MAX_STATES && looks < 8 {
            let Some(at) = script.get(from..).and_then(|s| s.find(name)) else { break };
            looks += 1;
            let after = from + at + name.len();
            from = after;
            let rest = script[after..].trim_start_matches(['"', '\'', ']']).trim_start();
            if let Some(value) = rest.strip_prefix('=')
                && !value.starts_with('=')
            {
                out.push((name, value));
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_measures_text_scripts_and_markers_and_keeps_data_scripts() {
        let html = r#"<html><head><title>Long title that is not counted</title>
            <link rel="amphtml" href="/amp/a">
            <script src="/bundle.js"></script><script type="module">import x from "y";</script>
            <script id="__NEXT_DATA__" type="application/json">{"props":{}}</script>
            <script>window.__INITIAL_STATE__ = {"a":1};</script>
            <script type="text/template"><p>not text</p></script></head>
            <body><noscript>Enable JavaScript</noscript><div id="root">  Hello   world </div></body></html>"#;
        let s = scan(html);
        assert_eq!(s.next_data, Some(r#"{"props":{}}"#));
        assert_eq!(s.states, vec![("__INITIAL_STATE__", r#" {"a":1};"#)]);
        assert_eq!(s.amp_href.as_deref(), Some("/amp/a"));
        assert_eq!((s.scripts, s.external_scripts), (3, 1));
        assert_eq!(s.app_root, Some("#root"));
        // "Hello world" and the whitespace between the tags, each run counted once.
        assert!(s.text_chars >= 11 && s.text_chars < 20, "{}", s.text_chars);
    }

    #[test]
    fn state_names_that_are_read_or_compared_are_not_assignments() {
        let mut out = Vec::new();
        find_states(
            "var s = window.__PRELOADED_STATE__ || {}; if (window.__APOLLO_STATE__ == null) {}",
            &mut out,
        );
        assert!(out.is_empty());
        find_states(r#"window["__APOLLO_STATE__"] = {"x": 1}"#, &mut out);
        assert_eq!(out, vec![("__APOLLO_STATE__", r#" {"x": 1}"#)]);
    }
}
