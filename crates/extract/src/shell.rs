//! Whether a page is an app shell that a browser must build, and where its AMP version is.
//!
//! Both read the page with one pass of the tokenizer (no tree is built), so they are cheap enough to call
//! on every page whose extraction came out thin; they do not look at embedded article data, which
//! [`crate::extract`] has already tried by then.

use std::fmt;

use crate::embedded::scan::{Scan, scan};
use crate::{Page, charset, sniff_binary};

/// An app root with less visible text than this (and at least one script) is a shell: the app mounts on an
/// empty `<div id="root"></div>`, what text there is comes from a cookie banner or a footer.
pub const APP_ROOT_MAX_TEXT: usize = 1000;
/// Without an app root, a page with less text than this whose inline scripts outweigh its text
/// [`SCRIPT_HEAVY_RATIO`] times over (or that loads [`SCRIPT_HEAVY_EXTERNAL`] scripts) is a shell.
pub const SCRIPT_HEAVY_MAX_TEXT: usize = 300;
/// Inline script bytes for each character of text above which a page is script-heavy.
pub const SCRIPT_HEAVY_RATIO: usize = 20;
/// External scripts from which a page with little text is script-heavy whatever its inline bytes.
pub const SCRIPT_HEAVY_EXTERNAL: usize = 3;
/// A page with any script and less text than this shows nothing without it.
pub const NO_TEXT_MAX_TEXT: usize = 100;

/// Which rule judged the page a shell: a short, fixed code for logs and metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShellCode {
    /// A framework's mount point (`<div id="root">`, `#__next`, `#__nuxt`, `[ng-app]`, `<app-root>`...)
    /// with scripts and little text.
    AppRoot,
    /// Little text and a lot of script.
    ScriptHeavy,
    /// Almost no text at all, and scripts.
    NoText,
}

impl ShellCode {
    /// `app_root`, `script_heavy` or `no_text`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShellCode::AppRoot => "app_root",
            ShellCode::ScriptHeavy => "script_heavy",
            ShellCode::NoText => "no_text",
        }
    }
}

impl fmt::Display for ShellCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a page looks like an app shell, with what was measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellReason {
    pub code: ShellCode,
    /// Characters of visible text: outside scripts, styles, `<noscript>`, `<template>` and `<title>`, each
    /// run of whitespace counted as one.
    pub text_chars: usize,
    /// Executable `<script>` elements (not JSON data), inline or external, and script bundles preloaded
    /// with `<link rel="modulepreload">` or `<link rel="preload" as="script">`.
    pub scripts: usize,
    /// Those of them with a `src`, and the preloaded bundles.
    pub external_scripts: usize,
    /// Bytes of inline script content, JSON data scripts included.
    pub script_bytes: usize,
    /// The app-root marker found, if any: `#root`, `#app`, `#__next`, `#__nuxt`, `#svelte`, `#___gatsby`,
    /// `[ng-app]`, `[ng-version]`, `[data-reactroot]`, `<app-root>`, or `<custom-app>` (a custom element
    /// named `*-app`, `*-root` or `app-*`).
    pub app_root: Option<&'static str>,
}

impl fmt::Display for ShellReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (text {} chars, {} scripts, {} external, {} inline script bytes{})",
            self.code,
            self.text_chars,
            self.scripts,
            self.external_scripts,
            self.script_bytes,
            self.app_root.map(|m| format!(", {m}")).unwrap_or_default()
        )
    }
}

/// Whether the page's HTML looks like a shell that a browser must build before it has an article: little
/// visible text, and an app root with scripts, or much more script than text. `None` for an HTML page
/// with text of its own, and for pages that are not HTML.
///
/// The rules, in order (the first that holds names the reason):
/// - `app_root`: an app-root marker, at least one script, and fewer than [`APP_ROOT_MAX_TEXT`] characters;
/// - `script_heavy`: fewer than [`SCRIPT_HEAVY_MAX_TEXT`] characters, and at least
///   [`SCRIPT_HEAVY_EXTERNAL`] external scripts or [`SCRIPT_HEAVY_RATIO`] inline script bytes a character;
/// - `no_text`: fewer than [`NO_TEXT_MAX_TEXT`] characters and at least one script.
///
/// Call it when [`crate::extract`] returned `Skipped(Empty)` or a thin article (fewer than
/// [`crate::THIN_ARTICLE_WORDS`] words): `extract` has already used the article data the page embeds, so
/// a page that carries its article in its scripts is not a shell to render.
pub fn shell_signals(page: &Page<'_>) -> Option<ShellReason> {
    with_scan(page, judge)
}

pub(crate) fn judge(s: &Scan<'_>) -> Option<ShellReason> {
    let text = s.text_chars;
    let code = if s.app_root.is_some() && s.scripts >= 1 && text < APP_ROOT_MAX_TEXT {
        ShellCode::AppRoot
    } else if text < SCRIPT_HEAVY_MAX_TEXT
        && s.scripts >= 1
        && (s.external_scripts >= SCRIPT_HEAVY_EXTERNAL
            || s.script_bytes >= SCRIPT_HEAVY_RATIO * text.max(50))
    {
        ShellCode::ScriptHeavy
    } else if text < NO_TEXT_MAX_TEXT && s.scripts >= 1 {
        ShellCode::NoText
    } else {
        return None;
    };
    Some(ShellReason {
        code,
        text_chars: text,
        scripts: s.scripts,
        external_scripts: s.external_scripts,
        script_bytes: s.script_bytes,
        app_root: s.app_root,
    })
}

/// The absolute URL of the page's `<link rel="amphtml" href="...">`, resolved against the page's URL;
/// only `http` and `https` URLs.
pub fn amp_url(page: &Page<'_>) -> Option<String> {
    let href = with_scan(page, |s| s.amp_href.clone())?;
    let resolved = match url::Url::parse(page.url) {
        Ok(base) => base.join(&href).ok()?,
        Err(_) => url::Url::parse(&href).ok()?,
    };
    matches!(resolved.scheme(), "http" | "https").then(|| resolved.to_string())
}

/// `f` of the page's scan; `None` for what is not HTML.
fn with_scan<T>(page: &Page<'_>, f: impl FnOnce(&Scan<'_>) -> Option<T>) -> Option<T> {
    if let Some(ct) = page.content_type {
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !mime.is_empty() && mime != "text/html" && mime != "application/xhtml+xml" {
            return None;
        }
    }
    if sniff_binary(page.body).is_some() {
        return None;
    }
    let (html, _, _) = charset::decode(page.body, page.content_type, page.url);
    f(&scan(&html))
}
