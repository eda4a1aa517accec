//! Downloading one URL: [`HttpFetcher::fetch`] and the classified [`FetchError`].

use std::collections::{BTreeMap, HashSet};
use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use newspipe_models::FailureReason;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Version, redirect};
use url::{Host, Url};

use crate::settings::FetcherSettings;
use crate::{AddressPolicy, GuardedResolver, ResolveError};

/// Response headers kept in [`FetchedPage::headers`] (lower-case names).
pub const KEPT_HEADERS: &[&str] =
    &["content-type", "content-language", "last-modified", "etag", "retry-after"];

/// What an earlier response said about its version, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A successfully downloaded page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPage {
    /// The URL of the last hop, after redirects.
    pub final_url: String,
    /// The HTTP status (always 2xx).
    pub status: u16,
    /// The kept headers ([`KEPT_HEADERS`]), lower-case names; repeated headers joined by `, `.
    pub headers: BTreeMap<String, String>,
    /// The body after content-encoding decompression, bytes untouched otherwise (no charset
    /// decoding).
    pub body: Vec<u8>,
    /// When the response came, to the microsecond: the page's fetch time, and its WARC record's
    /// `WARC-Date` when it is archived. The same instant in both, so a re-extraction from the archive
    /// (`newspipe reextract`) is not older than the article it rebuilds (the fetched-last rule).
    pub fetched_at: DateTime<Utc>,
}

/// The `Accept-Encoding` the client sends: reqwest's decompression layer (tower-http) adds it with every
/// content coding the `reqwest` features enable (gzip, brotli, deflate, zstd), in this order. It is not
/// visible in the request we build, so [`Exchange::request_headers`] names it from here.
const SENT_ACCEPT_ENCODING: &str = "zstd,gzip,deflate,br";

/// One request the fetcher sent and the response it got (every hop of a redirect chain, errors too), as
/// [`HttpFetcher::fetch_recorded`] reports them for the WARC archive.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: Method,
    /// The URL requested (the WARC target URI).
    pub url: String,
    /// When the request was sent.
    pub requested_at: DateTime<Utc>,
    /// The request's headers as sent, `Host` first (lower-case names: the client does not keep case).
    pub request_headers: HeaderMap,
    /// When the response head arrived.
    pub responded_at: DateTime<Utc>,
    pub version: Version,
    pub status: StatusCode,
    /// The response headers as the client gives them: after decompression, when the body was content-coded,
    /// the client has removed `Content-Encoding` and `Content-Length` already.
    pub response_headers: HeaderMap,
    /// The peer address of the connection (the WARC-IP-Address), when the client knows it.
    pub remote_ip: Option<IpAddr>,
    /// The body after content-encoding decompression (what the fetcher read); empty when it was not read.
    pub body: Vec<u8>,
    /// True when the body could not be read whole (over a limit, a timeout, a broken connection): `body`
    /// is then empty and the record says it is truncated.
    pub body_incomplete: bool,
}

/// Which time limit ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Establishing the connection (`connect_timeout_ms`).
    Connect,
    /// Silence while waiting for the response or between body chunks (`read_timeout_ms`).
    Read,
    /// The whole fetch (`timeout_ms`).
    Total,
}

impl TimeoutPhase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Read => "read",
            Self::Total => "total",
        }
    }
}

/// Why a connection could not be made or kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The server refused the connection.
    Refused,
    /// The connection was reset or closed early.
    Reset,
    /// No route to the host or network.
    Unreachable,
    /// The TLS handshake or the certificate failed.
    Tls,
    /// Anything else.
    Other,
}

/// Why a fetch failed. `Display` gives the detail with the URL; [`FetchError::reason`] a short
/// stable label; [`FetchError::is_transient`] whether a retry may succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The URL could not be parsed or has no host.
    #[error("invalid URL {url:?}: {message}")]
    InvalidUrl { url: String, message: String },
    /// A scheme other than http or https (on the submitted URL or a redirect).
    #[error("unsupported scheme {scheme:?} in {url}")]
    UnsupportedScheme { url: String, scheme: String },
    /// The host is, or resolves only to, a loopback/private/reserved address.
    #[error("forbidden address for {url}: {detail}")]
    ForbiddenAddress { url: String, detail: String },
    /// The host name could not be resolved.
    #[error("DNS failure for {url}: {message}")]
    Dns { url: String, message: String, temporary: bool },
    /// The connection could not be made, or broke before the response arrived.
    #[error("connection error ({kind:?}) for {url}: {message}")]
    Connect { url: String, kind: ConnectFailure, message: String },
    /// A time limit ran out.
    #[error("{} timeout after {limit:?} for {url}", phase.as_str())]
    Timeout { url: String, phase: TimeoutPhase, limit: Duration },
    /// More than `max_redirects` redirects.
    #[error("too many redirects (more than {max}) from {url}")]
    TooManyRedirects { url: String, max: usize },
    /// A redirect back to a URL already visited.
    #[error("redirect loop: {url} redirects to {location}, already visited")]
    RedirectLoop { url: String, location: String },
    /// A redirect whose `Location` cannot be used.
    #[error("invalid redirect from {url} to {location:?}: {message}")]
    InvalidRedirect { url: String, location: String, message: String },
    /// A non-2xx final status.
    #[error("HTTP {status} for {url}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    HttpStatus { url: String, status: u16, retry_after: Option<Duration> },
    /// The body (after decompression) exceeds `max_body_bytes`.
    #[error("body of {url} exceeds {limit} bytes")]
    TooLarge { url: String, limit: usize },
    /// The response headers exceed `max_header_bytes` or `max_headers`.
    #[error("response headers of {url} are too large: {message}")]
    HeadersTooLarge { url: String, message: String },
    /// The body could not be decompressed (corrupt content-encoding).
    #[error("cannot decode the body of {url}: {message}")]
    Decode { url: String, message: String },
    /// The body stopped or failed while being read.
    #[error("error reading the body of {url}: {message}")]
    BodyRead { url: String, message: String },
    /// The server's response is not valid HTTP.
    #[error("invalid HTTP response from {url}: {message}")]
    InvalidResponse { url: String, message: String },
    /// Any other request failure.
    #[error("request to {url} failed: {message}")]
    Request { url: String, message: String },
}

impl FetchError {
    /// True when retrying later may succeed: timeouts, connection errors, temporary DNS failures,
    /// a body cut short, HTTP 408, 429 and 5xx. False for everything the target or the URL will
    /// keep doing: other 4xx, forbidden address, too large, redirects, invalid URL, TLS failures.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::BodyRead { .. } => true,
            Self::Connect { kind, .. } => *kind != ConnectFailure::Tls,
            Self::Dns { temporary, .. } => *temporary,
            Self::HttpStatus { status, .. } => matches!(status, 408 | 429 | 500..=599),
            Self::Request { .. } => true,
            Self::InvalidUrl { .. }
            | Self::UnsupportedScheme { .. }
            | Self::ForbiddenAddress { .. }
            | Self::TooManyRedirects { .. }
            | Self::RedirectLoop { .. }
            | Self::InvalidRedirect { .. }
            | Self::TooLarge { .. }
            | Self::HeadersTooLarge { .. }
            | Self::InvalidResponse { .. }
            | Self::Decode { .. } => false,
        }
    }

    /// Why a job failed, as its outcome records it (`http 404`, `timeout`, `forbidden address`...): a
    /// reason with a stable code, without the URL or the error's message.
    pub fn reason(&self) -> FailureReason {
        match self {
            Self::InvalidUrl { .. } => FailureReason::InvalidUrl,
            Self::UnsupportedScheme { .. } => FailureReason::UnsupportedScheme,
            Self::ForbiddenAddress { .. } => FailureReason::ForbiddenAddress,
            Self::Dns { .. } => FailureReason::Dns,
            Self::Connect { kind, .. } => match kind {
                ConnectFailure::Refused => FailureReason::ConnectionRefused,
                ConnectFailure::Reset => FailureReason::ConnectionReset,
                ConnectFailure::Unreachable => FailureReason::Unreachable,
                ConnectFailure::Tls => FailureReason::Tls,
                ConnectFailure::Other => FailureReason::ConnectionError,
            },
            Self::Timeout { .. } => FailureReason::Timeout,
            Self::TooManyRedirects { .. } => FailureReason::TooManyRedirects,
            Self::RedirectLoop { .. } => FailureReason::RedirectLoop,
            Self::InvalidRedirect { .. } => FailureReason::InvalidRedirect,
            Self::HttpStatus { status, .. } => FailureReason::Http { status: *status },
            Self::TooLarge { .. } => FailureReason::TooLarge,
            Self::HeadersTooLarge { .. } => FailureReason::HeadersTooLarge,
            Self::Decode { .. } => FailureReason::DecodeError,
            Self::BodyRead { .. } => FailureReason::BodyReadError,
            Self::InvalidResponse { .. } => FailureReason::InvalidResponse,
            Self::Request { .. } => FailureReason::RequestError,
        }
    }

    /// The server's `Retry-After`, for HTTP status errors that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::HttpStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, for HTTP status errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::HttpStatus { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The error of [`HttpFetcher::new`].
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A setting has an unusable value.
    #[error("invalid fetcher settings: {0}")]
    Settings(String),
    /// reqwest could not build its client (TLS backend initialisation).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (a date in the past is zero).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Parses a URL the way [`HttpFetcher::fetch`] does: http or https, with a host; the fragment
/// is dropped. Addresses are not checked (that needs the fetcher's policy and DNS), so this is
/// the check a submitter can make without a fetcher.
pub fn parse_url(url: &str) -> Result<Url, FetchError> {
    let mut parsed = Url::parse(url.trim())
        .map_err(|e| FetchError::InvalidUrl { url: url.to_owned(), message: e.to_string() })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FetchError::UnsupportedScheme {
            url: url.to_owned(),
            scheme: parsed.scheme().to_owned(),
        });
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(FetchError::InvalidUrl { url: url.to_owned(), message: "no host".to_owned() });
    }
    parsed.set_fragment(None);
    Ok(parsed)
}

/// Downloads pages with every limit of [`FetcherSettings`] enforced. Cheap to clone (shares
/// one connection pool); build one per process.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    /// The headers the client adds to every request (`Accept`, `Accept-Language`, `User-Agent`), kept to
    /// record requests as they were sent.
    default_headers: Arc<HeaderMap>,
    policy: Arc<AddressPolicy>,
    settings: Arc<FetcherSettings>,
}

impl HttpFetcher {
    /// Builds the client: rustls, gzip/brotli/deflate/zstd, no proxy (a proxy would resolve
    /// names where we cannot check them), redirects handled by [`Self::fetch`] itself, and the
    /// DNS resolver that refuses forbidden addresses.
    pub fn new(settings: &FetcherSettings) -> Result<Self, BuildError> {
        settings.validate().map_err(BuildError::Settings)?;
        let policy = Arc::new(AddressPolicy {
            allow_private: settings.allow_private_addresses,
            allowed_networks: settings.allowed_networks.clone(),
        });
        let mut headers = HeaderMap::new();
        let accept = HeaderValue::from_str(&settings.accept)
            .map_err(|e| BuildError::Settings(format!("fetcher.accept: {e}")))?;
        headers.insert(header::ACCEPT, accept);
        if !settings.accept_language.is_empty() {
            let lang = HeaderValue::from_str(&settings.accept_language)
                .map_err(|e| BuildError::Settings(format!("fetcher.accept_language: {e}")))?;
            headers.insert(header::ACCEPT_LANGUAGE, lang);
        }
        let user_agent = HeaderValue::from_str(&settings.user_agent)
            .map_err(|e| BuildError::Settings(format!("fetcher.user_agent: {e}")))?;
        let mut default_headers = headers.clone();
        default_headers.insert(header::USER_AGENT, user_agent);
        default_headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(SENT_ACCEPT_ENCODING));
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .default_headers(headers)
            .no_proxy()
            .redirect(redirect::Policy::none())
            .referer(false)
            .connect_timeout(settings.connect_timeout())
            .read_timeout(settings.read_timeout())
            .http1_max_headers(settings.max_headers)
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .build()?;
        Ok(Self {
            client,
            default_headers: Arc::new(default_headers),
            policy,
            settings: Arc::new(settings.clone()),
        })
    }

    /// The settings this fetcher enforces.
    pub fn settings(&self) -> &FetcherSettings {
        &self.settings
    }

    /// Downloads `url`, following redirects, and returns the page when the final status is 2xx.
    ///
    /// Every hop is checked (scheme, IP-literal host) before connecting; names are checked by
    /// the resolver. The whole call is bounded by `timeout_ms`.
    pub async fn fetch(&self, url: &str) -> Result<FetchedPage, FetchError> {
        self.fetch_conditional(url, &Validators::default()).await
    }

    /// Like [`HttpFetcher::fetch`], sending `If-None-Match`/`If-Modified-Since` from what an earlier fetch
    /// returned; an unchanged page is `FetchError::HttpStatus { status: 304, .. }`.
    pub async fn fetch_conditional(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<FetchedPage, FetchError> {
        self.fetch_bounded(url, validators, None).await
    }

    /// Like [`HttpFetcher::fetch_conditional`], and appends to `exchanges` every request sent and the
    /// response it got, whatever the result: each hop of a redirect chain, an error status, a body over the
    /// limit. A request that got no response (refused, timed out) leaves nothing. With recording, the bodies
    /// of redirects and error responses are read too (within the same limits), for the archive.
    pub async fn fetch_recorded(
        &self,
        url: &str,
        validators: &Validators,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<FetchedPage, FetchError> {
        self.fetch_bounded(url, validators, Some(exchanges)).await
    }

    async fn fetch_bounded(
        &self,
        url: &str,
        validators: &Validators,
        exchanges: Option<&mut Vec<Exchange>>,
    ) -> Result<FetchedPage, FetchError> {
        let total = self.settings.timeout();
        // On the total timeout the future is dropped; what it recorded until then stays in `exchanges`.
        match tokio::time::timeout(total, self.fetch_following(url, validators, exchanges)).await {
            Ok(result) => result,
            Err(_) => {
                Err(FetchError::Timeout { url: url.to_owned(), phase: TimeoutPhase::Total, limit: total })
            }
        }
    }

    /// Checks that a URL may be fetched: http(s), a host, and not a forbidden IP literal.
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::UnsupportedScheme {
                url: url.to_string(),
                scheme: url.scheme().to_owned(),
            });
        }
        let ip = match url.host() {
            None => {
                return Err(FetchError::InvalidUrl { url: url.to_string(), message: "no host".into() });
            }
            Some(Host::Domain(_)) => return Ok(()),
            Some(Host::Ipv4(ip)) => ip.into(),
            Some(Host::Ipv6(ip)) => ip.into(),
        };
        self.policy.check(ip).map_err(|range| FetchError::ForbiddenAddress {
            url: url.to_string(),
            detail: format!("{ip} is {range}"),
        })
    }

    async fn fetch_following(
        &self,
        url: &str,
        validators: &Validators,
        mut exchanges: Option<&mut Vec<Exchange>>,
    ) -> Result<FetchedPage, FetchError> {
        let mut current = parse_url(url)?;
        self.check_url(&current)?;
        let mut visited = HashSet::from([current.to_string()]);
        let mut redirects = 0usize;
        loop {
            let mut request = self.client.get(current.clone());
            if let Some(etag) = &validators.etag {
                request = request.header(header::IF_NONE_MATCH, etag.as_str());
            }
            if let Some(last_modified) = &validators.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, last_modified.as_str());
            }
            let request = request.build().map_err(|e| classify(&e, &current, &self.settings))?;
            let requested_at = Utc::now();
            let request_headers = exchanges.is_some().then(|| self.sent_headers(&current, request.headers()));
            let response =
                self.client.execute(request).await.map_err(|e| classify(&e, &current, &self.settings))?;
            let responded_at = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
            let mut exchange = request_headers.map(|request_headers| Exchange {
                method: Method::GET,
                url: current.to_string(),
                requested_at,
                request_headers,
                responded_at,
                version: response.version(),
                status: response.status(),
                response_headers: response.headers().clone(),
                remote_ip: response.remote_addr().map(|addr| addr.ip()),
                body: Vec::new(),
                body_incomplete: false,
            });
            if let Err(error) = self.check_headers(&current, response.headers()) {
                record(&mut exchanges, exchange, Err(()));
                return Err(error);
            }
            let status = response.status();
            if status.is_redirection()
                && status != StatusCode::NOT_MODIFIED
                && let Some(location) = response.headers().get(header::LOCATION).cloned()
            {
                if let Some(exchange) = exchange.take() {
                    let body = self.read_body(&current, response).await.map_err(drop);
                    record(&mut exchanges, Some(exchange), body);
                }
                current = self.next_hop(&current, &location, &mut visited, &mut redirects)?;
                continue;
            }
            let headers = kept_headers(response.headers());
            if !status.is_success() {
                if let Some(exchange) = exchange.take() {
                    let body = self.read_body(&current, response).await.map_err(drop);
                    record(&mut exchanges, Some(exchange), body);
                }
                let retry_after = headers.get("retry-after").and_then(|v| parse_retry_after(v));
                return Err(FetchError::HttpStatus {
                    url: current.to_string(),
                    status: status.as_u16(),
                    retry_after,
                });
            }
            let body = match self.read_body(&current, response).await {
                Ok(body) => body,
                Err(error) => {
                    record(&mut exchanges, exchange, Err(()));
                    return Err(error);
                }
            };
            if exchange.is_some() {
                record(&mut exchanges, exchange, Ok(body.clone()));
            }
            return Ok(FetchedPage {
                final_url: current.to_string(),
                status: status.as_u16(),
                headers,
                body,
                fetched_at: responded_at,
            });
        }
    }

    /// The headers a request goes out with: `Host` (hyper adds it from the URL), the request's own, then the
    /// client's defaults that the request did not set (as reqwest merges them).
    fn sent_headers(&self, url: &Url, own: &HeaderMap) -> HeaderMap {
        let mut sent = HeaderMap::new();
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        };
        if let Ok(host) = HeaderValue::from_str(&host) {
            sent.insert(header::HOST, host);
        }
        for (name, value) in own {
            sent.append(name, value.clone());
        }
        for (name, value) in self.default_headers.iter() {
            if !own.contains_key(name) {
                sent.append(name, value.clone());
            }
        }
        sent
    }

    fn next_hop(
        &self,
        current: &Url,
        location: &HeaderValue,
        visited: &mut HashSet<String>,
        redirects: &mut usize,
    ) -> Result<Url, FetchError> {
        let raw = String::from_utf8_lossy(location.as_bytes()).into_owned();
        let invalid = |message: String| FetchError::InvalidRedirect {
            url: current.to_string(),
            location: raw.clone(),
            message,
        };
        let mut next = current.join(raw.trim()).map_err(|e| invalid(e.to_string()))?;
        next.set_fragment(None);
        if !visited.insert(next.to_string()) {
            return Err(FetchError::RedirectLoop { url: current.to_string(), location: next.to_string() });
        }
        *redirects += 1;
        if *redirects > self.settings.max_redirects {
            return Err(FetchError::TooManyRedirects {
                url: current.to_string(),
                max: self.settings.max_redirects,
            });
        }
        self.check_url(&next)?;
        tracing::debug!(from = %current, to = %next, "following redirect");
        Ok(next)
    }

    fn check_headers(&self, url: &Url, headers: &HeaderMap) -> Result<(), FetchError> {
        // Name, ": ", value and CRLF for each line: the size of the header block on the wire.
        let size: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
        if size > self.settings.max_header_bytes {
            return Err(FetchError::HeadersTooLarge {
                url: url.to_string(),
                message: format!("{size} bytes, limit {}", self.settings.max_header_bytes),
            });
        }
        Ok(())
    }

    async fn read_body(&self, url: &Url, mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let limit = self.settings.max_body_bytes;
        let too_large = || FetchError::TooLarge { url: url.to_string(), limit };
        let encoded = response.headers().contains_key(header::CONTENT_ENCODING);
        let announced = response.content_length();
        if let Some(len) = announced.filter(|len| !encoded && *len > limit as u64) {
            tracing::debug!(%url, len, "content-length over the body limit");
            return Err(too_large());
        }
        let read_timeout = self.settings.read_timeout();
        let mut body = Vec::with_capacity(announced.map_or(0, |len| len.min(limit as u64) as usize));
        loop {
            let chunk = tokio::time::timeout(read_timeout, response.chunk())
                .await
                .map_err(|_| FetchError::Timeout {
                    url: url.to_string(),
                    phase: TimeoutPhase::Read,
                    limit: read_timeout,
                })?
                .map_err(|e| classify_body(&e, url, &self.settings))?;
            let Some(chunk) = chunk else { return Ok(body) };
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
    }
}

/// Adds a recorded exchange with its body (or `Err` when the body could not be read whole) to the list.
fn record(exchanges: &mut Option<&mut Vec<Exchange>>, exchange: Option<Exchange>, body: Result<Vec<u8>, ()>) {
    if let (Some(list), Some(mut exchange)) = (exchanges.as_deref_mut(), exchange) {
        match body {
            Ok(body) => exchange.body = body,
            Err(()) => exchange.body_incomplete = true,
        }
        list.push(exchange);
    }
}

fn kept_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    for name in KEPT_HEADERS {
        let values: Vec<String> = headers
            .get_all(*name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
            .collect();
        if !values.is_empty() {
            kept.insert((*name).to_owned(), values.join(", "));
        }
    }
    kept
}

/// An error and all its causes: its `source()` chain, and also the errors wrapped inside
/// `io::Error`s (whose `source()` skips the wrapped error itself).
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut pending = vec![err];
    std::iter::from_fn(move || {
        let current = pending.pop()?;
        if let Some(inner) = current.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            pending.push(inner);
        } else if let Some(source) = current.source() {
            pending.push(source);
        }
        Some(current)
    })
    .take(32)
}

fn find<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    chain(err).find_map(|e| e.downcast_ref::<T>())
}

/// The error's messages joined, skipping causes already spelled out by their wrapper.
fn message(err: &reqwest::Error) -> String {
    let mut out = String::new();
    for text in chain(err).map(|e| e.to_string()) {
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// Turns a reqwest error from sending a request into a classified [`FetchError`].
fn classify(err: &reqwest::Error, url: &Url, settings: &FetcherSettings) -> FetchError {
    let url_s = url.to_string();
    if let Some(resolve) = find::<ResolveError>(err) {
        return match resolve {
            ResolveError::Forbidden { .. } => {
                FetchError::ForbiddenAddress { url: url_s, detail: resolve.to_string() }
            }
            ResolveError::Lookup { temporary, .. } => {
                FetchError::Dns { url: url_s, message: resolve.to_string(), temporary: *temporary }
            }
        };
    }
    if let Some(hyper_err) = find::<hyper::Error>(err)
        && hyper_err.is_parse()
    {
        // hyper's TooLarge covers a head beyond its buffer and more header lines than allowed.
        return if hyper_err.to_string().contains("too large") {
            FetchError::HeadersTooLarge { url: url_s, message: message(err) }
        } else {
            FetchError::InvalidResponse { url: url_s, message: message(err) }
        };
    }
    if err.is_timeout() {
        let (phase, limit) = if err.is_connect() {
            (TimeoutPhase::Connect, settings.connect_timeout())
        } else {
            (TimeoutPhase::Read, settings.read_timeout())
        };
        return FetchError::Timeout { url: url_s, phase, limit };
    }
    if let Some(kind) = connect_failure(err) {
        return FetchError::Connect { url: url_s, kind, message: message(err) };
    }
    if err.is_connect() {
        return FetchError::Connect { url: url_s, kind: ConnectFailure::Other, message: message(err) };
    }
    if err.is_builder() {
        return FetchError::InvalidUrl { url: url_s, message: message(err) };
    }
    FetchError::Request { url: url_s, message: message(err) }
}

fn connect_failure(err: &reqwest::Error) -> Option<ConnectFailure> {
    use std::io::ErrorKind;
    if let Some(io) = find::<std::io::Error>(err) {
        match io.kind() {
            ErrorKind::ConnectionRefused => return Some(ConnectFailure::Refused),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => {
                return Some(ConnectFailure::Reset);
            }
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                return Some(ConnectFailure::Unreachable);
            }
            _ => {}
        }
    }
    if let Some(hyper_err) = find::<hyper::Error>(err)
        && (hyper_err.is_incomplete_message() || hyper_err.is_closed() || hyper_err.is_canceled())
    {
        return Some(ConnectFailure::Reset);
    }
    let tls = chain(err).any(|e| e.is::<rustls::Error>());
    let text = message(err).to_ascii_lowercase();
    if tls || text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        return Some(ConnectFailure::Tls);
    }
    None
}

/// Turns a reqwest error from reading the body into a classified [`FetchError`].
fn classify_body(err: &reqwest::Error, url: &Url, settings: &FetcherSettings) -> FetchError {
    if err.is_timeout() {
        return FetchError::Timeout {
            url: url.to_string(),
            phase: TimeoutPhase::Read,
            limit: settings.read_timeout(),
        };
    }
    // reqwest reports transport failures under the decoder as decode errors too: a hyper error
    // in the chain means the connection failed, not the content.
    if err.is_decode() && find::<hyper::Error>(err).is_none() {
        return FetchError::Decode { url: url.to_string(), message: message(err) };
    }
    FetchError::BodyRead { url: url.to_string(), message: message(err) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_parsed_from_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let secs = parse_retry_after(&soon).unwrap().as_secs();
        assert!((25..=30).contains(&secs), "{secs}");
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-5"), None);
    }

    #[test]
    fn every_error_has_a_stable_reason_and_transience() {
        let url = || "http://example.com/".to_owned();
        let cases = [
            (FetchError::Dns { url: url(), message: String::new(), temporary: true }, "dns", true),
            (FetchError::Dns { url: url(), message: String::new(), temporary: false }, "dns", false),
            (
                FetchError::Connect { url: url(), kind: ConnectFailure::Tls, message: String::new() },
                "tls",
                false,
            ),
            (
                FetchError::Connect { url: url(), kind: ConnectFailure::Reset, message: String::new() },
                "connection reset",
                true,
            ),
            (
                FetchError::Timeout { url: url(), phase: TimeoutPhase::Connect, limit: Duration::ZERO },
                "timeout",
                true,
            ),
            (FetchError::HttpStatus { url: url(), status: 404, retry_after: None }, "http 404", false),
            (FetchError::HttpStatus { url: url(), status: 599, retry_after: None }, "http 599", true),
            (FetchError::TooLarge { url: url(), limit: 1 }, "too large", false),
            (FetchError::ForbiddenAddress { url: url(), detail: String::new() }, "forbidden address", false),
            (FetchError::InvalidUrl { url: url(), message: String::new() }, "invalid url", false),
        ];
        for (err, reason, transient) in cases {
            assert_eq!(err.reason().to_string(), reason, "{err}");
            assert_eq!(err.is_transient(), transient, "{err}");
            assert!(err.to_string().contains("example.com"), "{err}");
        }
    }

    #[test]
    fn parse_url_accepts_http_and_https_only_and_drops_the_fragment() {
        assert_eq!(parse_url(" https://Example.COM/a#b ").unwrap().as_str(), "https://example.com/a");
        assert_eq!(parse_url("ftp://example.com/").unwrap_err().reason().to_string(), "unsupported scheme");
        assert_eq!(parse_url("example.com/a").unwrap_err().reason().to_string(), "invalid url");
        assert_eq!(parse_url("http:///a").unwrap().host_str(), Some("a"));
    }

    #[test]
    fn bad_header_settings_are_refused_at_build_time() {
        let settings = FetcherSettings { user_agent: "bad\nagent".into(), ..FetcherSettings::default() };
        assert!(matches!(HttpFetcher::new(&settings), Err(BuildError::Settings(_))));
    }
}
