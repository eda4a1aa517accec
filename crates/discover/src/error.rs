/// Why a feed or a sitemap could not be read. Each variant names the document (its URL) it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoverError {
    /// The document's own URL, used to resolve relative links, is not an absolute http(s) URL.
    #[error("invalid base URL {base_url:?}: {reason}")]
    InvalidBaseUrl { base_url: String, reason: String },
    /// The feed parser refused the document; `message` is the parser's.
    #[error("malformed feed at {base_url}: {message}")]
    MalformedFeed { base_url: String, message: String },
    /// The XML of a sitemap is not well formed; `message` is the parser's.
    #[error("malformed sitemap at {base_url}: {message} (at byte {position})")]
    MalformedSitemap { base_url: String, position: u64, message: String },
    /// The document is well formed but its root element is neither `urlset` nor `sitemapindex`.
    #[error("not a sitemap at {base_url}: root element is {root:?}")]
    NotASitemap { base_url: String, root: String },
    /// The gzip stream of a compressed sitemap or feed is corrupt.
    #[error("corrupt gzip data at {base_url}: {message}")]
    Gzip { base_url: String, message: String },
    /// The decompressed sitemap or feed exceeds `max_decompressed_bytes` (for example a gzip bomb).
    #[error("document at {base_url} decompresses to more than {limit} bytes")]
    DecompressedTooLarge { base_url: String, limit: usize },
}
