//! The renderer's settings (the `[renderer]` section), some of which the extractor reads too.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// How pages are rendered, and which pages are.
///
/// Every field has a default, so an empty `[renderer]` section is valid; unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RendererSettings {
    /// The Chromium executable.
    pub chromium: PathBuf,
    /// Pages rendered at once, each in a tab of its own browser context (the worker's prefetch).
    pub concurrency: usize,
    /// Time for one page: loading, its scripts and their requests. Then the DOM is taken as it is.
    pub page_timeout_secs: u64,
    /// After the load event, the page is done once no request of its own has been in flight for this long.
    pub quiet_ms: u64,
    /// A rendered DOM larger than this is not used (the page is extracted as fetched).
    pub max_dom_bytes: usize,
    /// Requests one page may make (scripts, XHR, frames); the rest are refused.
    pub max_requests_per_page: usize,
    /// The browser is restarted after this many pages...
    pub max_pages_per_browser: u32,
    /// ...or when it (all its processes) uses more memory than this, in MB, after a page.
    pub max_rss_mb: u64,
    /// The JavaScript heap of one page, in MB (V8's `--max-old-space-size`).
    pub max_js_heap_mb: u64,
    /// The user Chromium runs as when the renderer runs as root (its sandbox refuses root).
    pub user: String,
    /// Chromium's own sandbox. Off only where the machine cannot give it user namespaces.
    pub sandbox: bool,
    /// Read by the extractor: hosts (or parent domains) whose pages are always rendered...
    pub always: Vec<String>,
    /// ...and hosts never rendered, whatever the page looks like.
    pub never: Vec<String>,
    /// Read by the extractor: how long a page may wait for a renderer before it is extracted as it is.
    pub max_wait_secs: u64,
}

impl Default for RendererSettings {
    fn default() -> Self {
        RendererSettings {
            chromium: PathBuf::from("/usr/bin/chromium"),
            concurrency: 2,
            page_timeout_secs: 20,
            quiet_ms: 500,
            max_dom_bytes: 8 * 1024 * 1024,
            max_requests_per_page: 200,
            max_pages_per_browser: 200,
            max_rss_mb: 1024,
            max_js_heap_mb: 256,
            user: "nobody".into(),
            sandbox: true,
            always: Vec::new(),
            never: Vec::new(),
            max_wait_secs: 120,
        }
    }
}

impl RendererSettings {
    pub fn page_timeout(&self) -> Duration {
        Duration::from_secs(self.page_timeout_secs)
    }

    pub fn quiet(&self) -> Duration {
        Duration::from_millis(self.quiet_ms)
    }

    pub fn validate(&self) -> Result<(), String> {
        for (key, ok) in [
            ("renderer.concurrency", self.concurrency > 0),
            ("renderer.page_timeout_secs", self.page_timeout_secs > 0),
            ("renderer.max_dom_bytes", self.max_dom_bytes > 0),
            ("renderer.max_pages_per_browser", self.max_pages_per_browser > 0),
            ("renderer.max_rss_mb", self.max_rss_mb > 0),
            ("renderer.max_js_heap_mb", self.max_js_heap_mb > 0),
            ("renderer.max_wait_secs", self.max_wait_secs > 0),
        ] {
            if !ok {
                return Err(format!("{key} must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_ones_and_valid() {
        let s = RendererSettings::default();
        assert_eq!(s.chromium, PathBuf::from("/usr/bin/chromium"));
        assert_eq!((s.concurrency, s.page_timeout_secs, s.max_wait_secs), (2, 20, 120));
        assert!(s.sandbox && s.user == "nobody");
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn a_zero_limit_is_refused_naming_the_key_and_unknown_keys_are_refused() {
        let s = RendererSettings { page_timeout_secs: 0, ..RendererSettings::default() };
        assert!(s.validate().unwrap_err().contains("renderer.page_timeout_secs"));
        assert!(serde_json::from_str::<RendererSettings>(r#"{"concurency": 2}"#).is_err());
        let s: RendererSettings = serde_json::from_str(r#"{"always": ["spa.example"]}"#).unwrap();
        assert_eq!(s.always, ["spa.example"]);
    }
}
