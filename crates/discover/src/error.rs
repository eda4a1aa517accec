/// Why a feed or a sitemap could not be read. Each variant names the document (its URL) it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoverError {
    /// The document's own URL, used to resolve relative links, is not an absolute URL.
    #[error("invalid base URL {base_url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given (an excerpt when long).
        base_url: String,
        /// The URL parser's message.
        reason: String,
    },
    /// The feed parser refused the document; `message` is the parser's.
    #[error("malformed feed at {base_url}: {message}")]
    MalformedFeed {
        /// The feed's URL.
        base_url: String,
        /// The parser's message.
        message: String,
    },
    /// The XML of a sitemap is not well formed (or is cut short); `message` is the parser's.
    #[error("malformed sitemap at {base_url}: {message} (at byte {position})")]
    MalformedSitemap {
        /// The sitemap's URL.
        base_url: String,
        /// Byte offset of the error in the (decompressed) document.
        position: u64,
        /// The parser's message.
        message: String,
    },
    /// The document is well formed but its root element is neither `urlset` nor `sitemapindex`.
    #[error("not a sitemap at {base_url}: root element is {root:?}")]
    NotASitemap {
        /// The document's URL.
        base_url: String,
        /// The qualified name of its root element.
        root: String,
    },
    /// The gzip stream of a compressed sitemap or feed is corrupt.
    #[error("corrupt gzip data at {base_url}: {message}")]
    Gzip {
        /// The document's URL.
        base_url: String,
        /// The decompressor's message.
        message: String,
    },
    /// The decompressed sitemap or feed exceeds `max_decompressed_bytes` (for example a gzip bomb).
    #[error("document at {base_url} decompresses to more than {limit} bytes")]
    DecompressedTooLarge {
        /// The document's URL.
        base_url: String,
        /// The limit that was reached (`max_decompressed_bytes`).
        limit: usize,
    },
}
