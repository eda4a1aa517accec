//! Why a job was skipped or failed, as types: each reason has a stable **code** (a metric label, the
//! `newspipe retry --reason` filter, the `reason_code` of JSON output and of the `outcomes` table) and a
//! human **text** beside it, which is what the wire and the `reason` column carry (`http 404`,
//! `not html: application/pdf`).
//!
//! The text is the reason's one spelling: [`Display`](std::fmt::Display) writes it and [`FromStr`] reads it
//! back, so a message or a row written before the reasons had types (or by a producer outside newspipe)
//! reads as the same reason. A text this build does not know is kept whole as `Other`, with the code
//! `other`: never refused, never cut into a label. Migration `20261202000100_reason_codes.sql` gives the
//! rows already stored their codes with the same rules (`newspipe_reason_code`), and a test holds the two
//! to each other.

use std::fmt;
use std::str::FromStr;

/// Why a job ended without an article, though nothing went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The page is not HTML: the media type it was served or sniffed as.
    NotHtml { mime: String },
    /// Nothing to extract: a blank page, or no text in it.
    Empty,
    /// An HTML page that is not an article: what it is instead (`home page`, `listing page`...).
    NotAnArticle { kind: String },
    /// Another job has the URL stored or in flight.
    Duplicate,
    /// robots.txt disallows the URL.
    Robots,
    /// A feed or sitemap, expanded into jobs for its entries (cut at the discovery limits when truncated).
    Expanded { truncated: bool },
    /// A WARC `response` record holding another status than 200: what the crawler got, not a page.
    ArchivedStatus { status: u16 },
    /// A reason this build does not know, kept as it was written.
    Other(String),
}

/// Why a job failed: the fetch, the feed or sitemap, or the extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    InvalidUrl,
    UnsupportedScheme,
    /// The URL resolves to an address newspipe will not connect to (private, loopback...).
    ForbiddenAddress,
    Dns,
    ConnectionRefused,
    ConnectionReset,
    Unreachable,
    Tls,
    ConnectionError,
    Timeout,
    TooManyRedirects,
    RedirectLoop,
    InvalidRedirect,
    /// The server answered with an error status.
    Http {
        status: u16,
    },
    /// The body is larger than the limit (the fetcher's or the extractor's).
    TooLarge,
    HeadersTooLarge,
    DecodeError,
    BodyReadError,
    InvalidResponse,
    RequestError,
    /// robots.txt stayed unreachable through every retry (RFC 9309: assume disallowed); why it was.
    RobotsUnreachable(Box<FailureReason>),
    /// A job for a feed or sitemap fetched something else: its content type.
    NotAFeedOrSitemap {
        content_type: String,
    },
    /// A feed or sitemap that cannot be read: the parser's message, naming the document.
    MalformedDocument {
        detail: String,
    },
    /// Extraction ran past its time budget.
    ExtractionTimeBudget,
    /// The extractor failed on the page (a bug, caught so that it fails one page).
    ExtractorError,
    /// A WARC record that is cut short or cannot be read (the file's own failure says where).
    DamagedRecord,
    /// The renderer's browser crashed or hung on the page through every retry.
    RenderFailed,
    /// A reason this build does not know, kept as it was written.
    Other(String),
}

impl SkipReason {
    /// The stable code: a metric label, a filter, a JSON field. Never carries the detail.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::NotHtml { .. } => "not_html",
            SkipReason::Empty => "empty",
            SkipReason::NotAnArticle { .. } => "not_an_article",
            SkipReason::Duplicate => "duplicate",
            SkipReason::Robots => "robots",
            SkipReason::Expanded { .. } => "expanded",
            SkipReason::ArchivedStatus { .. } => "archived_status",
            SkipReason::Other(_) => "other",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotHtml { mime } => write!(f, "not html: {mime}"),
            SkipReason::Empty => f.write_str("empty"),
            SkipReason::NotAnArticle { kind } => write!(f, "not an article: {kind}"),
            SkipReason::Duplicate => f.write_str("duplicate"),
            SkipReason::Robots => f.write_str("robots"),
            SkipReason::Expanded { truncated: false } => f.write_str("expanded"),
            SkipReason::Expanded { truncated: true } => f.write_str("expanded (truncated)"),
            SkipReason::ArchivedStatus { status } => write!(f, "archived http {status}"),
            SkipReason::Other(text) => f.write_str(text),
        }
    }
}

impl FromStr for SkipReason {
    type Err = std::convert::Infallible;

    /// Reads a reason's text back; never fails (an unknown text is [`SkipReason::Other`]).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "empty" => SkipReason::Empty,
            "duplicate" => SkipReason::Duplicate,
            "robots" => SkipReason::Robots,
            "expanded" => SkipReason::Expanded { truncated: false },
            "expanded (truncated)" => SkipReason::Expanded { truncated: true },
            _ => {
                if let Some(mime) = text.strip_prefix("not html: ") {
                    SkipReason::NotHtml { mime: mime.to_string() }
                } else if let Some(kind) = text.strip_prefix("not an article: ") {
                    SkipReason::NotAnArticle { kind: kind.to_string() }
                } else if let Some(status) =
                    text.strip_prefix("archived http ").and_then(|s| s.parse::<u16>().ok())
                {
                    SkipReason::ArchivedStatus { status }
                } else {
                    SkipReason::Other(text.to_string())
                }
            }
        })
    }
}

/// The reasons without a detail, with their code and their text (the code is the text with `_` for spaces).
const PLAIN_FAILURES: &[(FailureReason, &str, &str)] = &[
    (FailureReason::InvalidUrl, "invalid_url", "invalid url"),
    (FailureReason::UnsupportedScheme, "unsupported_scheme", "unsupported scheme"),
    (FailureReason::ForbiddenAddress, "forbidden_address", "forbidden address"),
    (FailureReason::Dns, "dns", "dns"),
    (FailureReason::ConnectionRefused, "connection_refused", "connection refused"),
    (FailureReason::ConnectionReset, "connection_reset", "connection reset"),
    (FailureReason::Unreachable, "unreachable", "unreachable"),
    (FailureReason::Tls, "tls", "tls"),
    (FailureReason::ConnectionError, "connection_error", "connection error"),
    (FailureReason::Timeout, "timeout", "timeout"),
    (FailureReason::TooManyRedirects, "too_many_redirects", "too many redirects"),
    (FailureReason::RedirectLoop, "redirect_loop", "redirect loop"),
    (FailureReason::InvalidRedirect, "invalid_redirect", "invalid redirect"),
    (FailureReason::TooLarge, "too_large", "too large"),
    (FailureReason::HeadersTooLarge, "headers_too_large", "headers too large"),
    (FailureReason::DecodeError, "decode_error", "decode error"),
    (FailureReason::BodyReadError, "body_read_error", "body read error"),
    (FailureReason::InvalidResponse, "invalid_response", "invalid response"),
    (FailureReason::RequestError, "request_error", "request error"),
    (FailureReason::ExtractionTimeBudget, "extraction_time_budget", "extraction time budget"),
    (FailureReason::ExtractorError, "extractor_error", "extractor error"),
    (FailureReason::DamagedRecord, "damaged_record", "damaged record"),
    (FailureReason::RenderFailed, "render_failed", "render failed"),
];

/// How the feed and sitemap parsers' messages begin (`newspipe_discover::DiscoverError`): a failure whose
/// text begins so is a [`FailureReason::MalformedDocument`].
const MALFORMED_DOCUMENT_PREFIXES: &[&str] = &[
    "malformed feed at ",
    "malformed sitemap at ",
    "not a sitemap at ",
    "corrupt gzip data at ",
    "invalid base URL ",
    "document at ",
];

impl FailureReason {
    /// The stable code: a metric label, a filter, a JSON field. `http_404` for an HTTP status (a bounded set
    /// of three-digit numbers); never a URL or a parser's message.
    pub fn code(&self) -> &'static str {
        match self {
            FailureReason::Http { status } => http_code(*status),
            FailureReason::RobotsUnreachable(_) => "robots_unreachable",
            FailureReason::NotAFeedOrSitemap { .. } => "not_a_feed_or_sitemap",
            FailureReason::MalformedDocument { .. } => "malformed_document",
            FailureReason::Other(_) => "other",
            plain => PLAIN_FAILURES.iter().find(|(r, _, _)| r == plain).map_or("other", |(_, code, _)| code),
        }
    }
}

/// `http_NNN` for the statuses servers send (100-599); `http_other` beyond, so the label stays bounded.
fn http_code(status: u16) -> &'static str {
    static CODES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let codes = CODES.get_or_init(|| (100..600).map(|s| format!("http_{s}")).collect());
    match status {
        100..=599 => &codes[usize::from(status - 100)],
        _ => "http_other",
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Http { status } => write!(f, "http {status}"),
            FailureReason::RobotsUnreachable(cause) => write!(f, "robots.txt {cause}"),
            FailureReason::NotAFeedOrSitemap { content_type } => {
                write!(f, "not a feed or sitemap: {content_type}")
            }
            FailureReason::MalformedDocument { detail } => f.write_str(detail),
            FailureReason::Other(text) => f.write_str(text),
            plain => {
                let text =
                    PLAIN_FAILURES.iter().find(|(r, _, _)| r == plain).map_or("other", |(_, _, text)| text);
                f.write_str(text)
            }
        }
    }
}

impl FromStr for FailureReason {
    type Err = std::convert::Infallible;

    /// Reads a reason's text back; never fails (an unknown text is [`FailureReason::Other`]).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some((reason, _, _)) = PLAIN_FAILURES.iter().find(|(_, _, t)| *t == text) {
            return Ok(reason.clone());
        }
        if let Some(status) =
            text.strip_prefix("http ").filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        {
            return Ok(FailureReason::Http { status: status.parse().unwrap_or_default() });
        }
        if let Some(cause) = text.strip_prefix("robots.txt ") {
            let Ok(cause) = cause.parse::<FailureReason>();
            return Ok(FailureReason::RobotsUnreachable(Box::new(cause)));
        }
        if let Some(content_type) = text.strip_prefix("not a feed or sitemap: ") {
            return Ok(FailureReason::NotAFeedOrSitemap { content_type: content_type.to_string() });
        }
        if MALFORMED_DOCUMENT_PREFIXES.iter().any(|p| text.starts_with(p)) {
            return Ok(FailureReason::MalformedDocument { detail: text.to_string() });
        }
        Ok(FailureReason::Other(text.to_string()))
    }
}

/// One of every reason (and of every detail form), for tests: the store's and the migration's codes are
/// checked against each other on these.
#[doc(hidden)]
pub fn every_reason() -> (Vec<SkipReason>, Vec<FailureReason>) {
    let skips = vec![
        SkipReason::NotHtml { mime: "application/pdf".into() },
        SkipReason::Empty,
        SkipReason::NotAnArticle { kind: "listing page".into() },
        SkipReason::Duplicate,
        SkipReason::Robots,
        SkipReason::Expanded { truncated: false },
        SkipReason::Expanded { truncated: true },
        SkipReason::ArchivedStatus { status: 404 },
        SkipReason::Other("something a foreign producer wrote: with a colon".into()),
    ];
    let mut failures: Vec<FailureReason> = PLAIN_FAILURES.iter().map(|(r, _, _)| r.clone()).collect();
    failures.extend([
        FailureReason::Http { status: 404 },
        FailureReason::Http { status: 503 },
        FailureReason::RobotsUnreachable(Box::new(FailureReason::Timeout)),
        FailureReason::RobotsUnreachable(Box::new(FailureReason::Http { status: 500 })),
        FailureReason::NotAFeedOrSitemap { content_type: "text/html".into() },
        FailureReason::MalformedDocument {
            detail: "malformed feed at https://a.example/rss: bad xml".into(),
        },
        FailureReason::Http { status: 999 },
        FailureReason::Other("http 5xx".into()),
        FailureReason::Other("a reason from elsewhere".into()),
    ]);
    (skips, failures)
}

macro_rules! text_serde {
    ($($reason:ty),*) => {$(
        impl serde::Serialize for $reason {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $reason {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                let Ok(reason) = text.parse();
                Ok(reason)
            }
        }
    )*};
}
text_serde!(SkipReason, FailureReason);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_back_from_its_text_as_itself() {
        let (skips, failures) = every_reason();
        for reason in skips {
            assert_eq!(reason.to_string().parse::<SkipReason>().unwrap(), reason, "{reason}");
        }
        for reason in failures {
            assert_eq!(reason.to_string().parse::<FailureReason>().unwrap(), reason, "{reason}");
        }
    }

    #[test]
    fn texts_written_before_reasons_had_types_read_as_their_reasons() {
        let read = |t: &str| t.parse::<FailureReason>().unwrap();
        assert_eq!(read("http 404"), FailureReason::Http { status: 404 });
        assert_eq!(read("timeout"), FailureReason::Timeout);
        assert_eq!(read("robots.txt http 503").code(), "robots_unreachable");
        assert_eq!(
            read("malformed sitemap at https://x.example/s.xml: eof (at byte 9)").code(),
            "malformed_document"
        );
        assert_eq!("not html: image/png".parse::<SkipReason>().unwrap().code(), "not_html");
        assert_eq!(
            "expanded (truncated)".parse::<SkipReason>().unwrap(),
            SkipReason::Expanded { truncated: true }
        );
    }

    #[test]
    fn a_code_never_carries_a_url_or_a_detail() {
        let (skips, failures) = every_reason();
        let codes = skips.iter().map(SkipReason::code).chain(failures.iter().map(FailureReason::code));
        for code in codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{code}"
            );
            assert!(code.len() <= 24, "{code}");
        }
        assert_eq!(FailureReason::Http { status: 999 }.code(), "http_other");
    }

    #[test]
    fn reasons_travel_as_their_text() {
        let json = serde_json::to_string(&FailureReason::Http { status: 410 }).unwrap();
        assert_eq!(json, "\"http 410\"");
        assert_eq!(
            serde_json::from_str::<FailureReason>(&json).unwrap(),
            FailureReason::Http { status: 410 }
        );
    }
}
