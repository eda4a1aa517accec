//! The fetcher's settings (the `[fetcher]` section of the configuration).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// How the fetcher downloads pages: identity, time limits, size limits and address safety.
///
/// Every field has a default, so an empty `[fetcher]` section is valid; unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetcherSettings {
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
    /// Maximum time to establish a TCP (and TLS) connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Maximum time for the whole fetch (every redirect hop, headers and body), in milliseconds.
    pub timeout_ms: u64,
    /// Maximum silence while waiting for the response or between two chunks of its body, in
    /// milliseconds (defeats slow-loris servers).
    pub read_timeout_ms: u64,
    /// Maximum body size in bytes, counted while streaming after content-encoding decompression
    /// (a gzip bomb stops here).
    pub max_body_bytes: usize,
    /// Maximum size of a response's header block in bytes (names, values and line overhead).
    pub max_header_bytes: usize,
    /// Maximum number of response header lines.
    pub max_headers: usize,
    /// Maximum number of redirects followed; a redirect back to a URL already visited is a loop
    /// and fails at once.
    pub max_redirects: usize,
    /// Allow loopback, private, link-local and other non-public addresses. For tests and local
    /// demos only: never in production, where submitted URLs could reach the private network.
    pub allow_private_addresses: bool,
    /// Networks (CIDR, e.g. `["10.1.2.0/24"]`) that may be fetched even though they are in a
    /// forbidden range, for an internal mirror; empty by default.
    pub allowed_networks: Vec<ipnet::IpNet>,
    /// The `Accept` header sent with every request.
    pub accept: String,
    /// The `Accept-Language` header sent with every request (empty: not sent).
    pub accept_language: String,
    /// The WARC archive of every response (the `[fetcher.warc]` section); off unless `dir` is set.
    pub warc: WarcSettings,
}

/// Where and how the fetcher archives what it fetches as WARC files (see the fetcher's `archive` module).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarcSettings {
    /// The folder the WARC files are written to (created if missing). Unset: no archive.
    pub dir: Option<PathBuf>,
    /// A file is closed and a new one started before a record would take it past this size (compressed
    /// bytes); a single record larger than this still goes in a file of its own.
    pub max_file_bytes: u64,
    /// Records are fsync'd in groups: one fsync per `fsync_ms` at most, covering every record written since,
    /// so a record waits at most this long (plus the fsync) before the page it belongs to is published
    /// (0: no pause between fsyncs).
    pub fsync_ms: u64,
}

impl Default for WarcSettings {
    fn default() -> Self {
        Self { dir: None, max_file_bytes: 1024 * 1024 * 1024, fsync_ms: 200 }
    }
}

impl WarcSettings {
    /// [`Self::fsync_ms`] as a duration.
    pub fn fsync_interval(&self) -> Duration {
        Duration::from_millis(self.fsync_ms)
    }
}

impl Default for FetcherSettings {
    fn default() -> Self {
        Self {
            user_agent: "newspipe/0.1 (+https://github.com/newspipe/newspipe)".to_owned(),
            connect_timeout_ms: 10_000,
            timeout_ms: 30_000,
            read_timeout_ms: 10_000,
            max_body_bytes: 8 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_redirects: 10,
            allow_private_addresses: false,
            allowed_networks: Vec::new(),
            accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".to_owned(),
            accept_language: String::new(),
            warc: WarcSettings::default(),
        }
    }
}

impl FetcherSettings {
    /// [`Self::connect_timeout_ms`] as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// [`Self::timeout_ms`] as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// [`Self::read_timeout_ms`] as a duration.
    pub fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms)
    }

    /// Checks that the values make sense (no zero timeouts or limits), naming the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(&str, bool); 8] = [
            ("fetcher.user_agent", !self.user_agent.trim().is_empty()),
            ("fetcher.connect_timeout_ms", self.connect_timeout_ms > 0),
            ("fetcher.timeout_ms", self.timeout_ms > 0),
            ("fetcher.read_timeout_ms", self.read_timeout_ms > 0),
            ("fetcher.max_body_bytes", self.max_body_bytes > 0),
            ("fetcher.max_header_bytes", self.max_header_bytes > 0),
            ("fetcher.max_headers", self.max_headers > 0),
            ("fetcher.warc.max_file_bytes", self.warc.max_file_bytes > 0),
        ];
        match checks.iter().find(|(_, ok)| !ok) {
            Some((key, _)) => Err(format!("{key} must be set to a non-empty, non-zero value")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documented_ones_and_valid() {
        let s = FetcherSettings::default();
        assert_eq!(s.connect_timeout_ms, 10_000);
        assert_eq!(s.timeout_ms, 30_000);
        assert_eq!(s.read_timeout_ms, 10_000);
        assert_eq!(s.max_body_bytes, 8 * 1024 * 1024);
        assert_eq!(s.max_redirects, 10);
        assert!(!s.allow_private_addresses);
        assert_eq!(s.warc.dir, None, "no archive unless asked for");
        assert_eq!(s.warc.max_file_bytes, 1024 * 1024 * 1024);
        assert_eq!(s.warc.fsync_ms, 200);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn a_zero_limit_is_refused_naming_the_key() {
        let s = FetcherSettings { max_body_bytes: 0, ..FetcherSettings::default() };
        assert!(s.validate().unwrap_err().contains("fetcher.max_body_bytes"));
    }

    #[test]
    fn unknown_keys_are_refused_and_missing_keys_take_defaults() {
        let s: FetcherSettings = serde_json::from_str(r#"{"max_redirects": 3}"#).unwrap();
        assert_eq!(s.max_redirects, 3);
        assert_eq!(s.timeout_ms, 30_000);
        let err = serde_json::from_str::<FetcherSettings>(r#"{"max_redirect": 3}"#).unwrap_err();
        assert!(err.to_string().contains("max_redirect"));
    }

    #[test]
    fn the_warc_section_takes_its_keys_and_refuses_others() {
        let s: FetcherSettings = serde_json::from_str(r#"{"warc": {"dir": "/var/warc"}}"#).unwrap();
        assert_eq!(s.warc.dir, Some(PathBuf::from("/var/warc")));
        assert_eq!(s.warc.fsync_ms, 200);
        assert!(serde_json::from_str::<FetcherSettings>(r#"{"warc": {"folder": "/x"}}"#).is_err());
        let zero = FetcherSettings {
            warc: WarcSettings { max_file_bytes: 0, ..WarcSettings::default() },
            ..FetcherSettings::default()
        };
        assert!(zero.validate().unwrap_err().contains("fetcher.warc.max_file_bytes"));
    }
}
