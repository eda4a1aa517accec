use serde::Deserialize;

/// Bounds on what one feed, sitemap or page may make us do. A settings section (`discovery`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryLimits {
    /// Maximum number of URLs taken from one feed, sitemap urlset or sitemap index; the rest are dropped
    /// and the result is marked truncated.
    pub max_urls_per_document: usize,
    /// Maximum nesting of sitemap indexes: a sitemap reached through more indexes than this is not fetched.
    /// The parsers do not recurse themselves; the caller counts the depth.
    pub max_sitemap_depth: u32,
    /// Maximum size in bytes of a gzip-compressed sitemap or feed once decompressed; a larger one (a gzip
    /// bomb) is an error.
    pub max_decompressed_bytes: usize,
}

impl Default for DiscoveryLimits {
    fn default() -> Self {
        Self { max_urls_per_document: 50_000, max_sitemap_depth: 3, max_decompressed_bytes: 50 * 1024 * 1024 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_fifty_thousand_urls_depth_three_and_fifty_mebibytes() {
        let limits = DiscoveryLimits::default();
        assert_eq!(limits.max_urls_per_document, 50_000);
        assert_eq!(limits.max_sitemap_depth, 3);
        assert_eq!(limits.max_decompressed_bytes, 52_428_800);
    }

    #[test]
    fn a_partial_settings_section_keeps_the_other_defaults() {
        let limits: DiscoveryLimits = serde_json::from_str(r#"{"max_sitemap_depth": 5}"#).unwrap();
        assert_eq!(limits, DiscoveryLimits { max_sitemap_depth: 5, ..DiscoveryLimits::default() });
    }

    #[test]
    fn unknown_settings_fields_are_rejected() {
        let err = serde_json::from_str::<DiscoveryLimits>(r#"{"max_urls": 5}"#).unwrap_err();
        assert!(err.to_string().contains("max_urls"), "{err}");
    }
}
