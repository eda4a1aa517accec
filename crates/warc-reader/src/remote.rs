//! A WARC file over HTTP: read as a stream on the reader's blocking thread, resumed with a range request
//! where a connection drops, and waited out where the server says it is busy (`429`, `503 Slow Down`, as
//! Common Crawl's bucket answers under load). A server that ignores `Range` (answers `200` with the whole
//! file) still works: the bytes before the wanted offset are read and dropped.

use std::io::{self, Read, Seek, SeekFrom};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use newspipe_net::{AddressPolicy, GuardedResolver, check_ip};
use newspipe_warc::{OpenedSource, Source};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE, RETRY_AFTER};
use tokio::runtime::Handle;
use url::{Host, Url};

/// How downloads are made and retried.
#[derive(Debug, Clone)]
pub struct Download {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
    /// Attempts at one request (the first and its retries) before the read fails.
    pub attempts: u32,
    /// The first pause between attempts; it doubles each time, up to 60 s.
    pub first_pause: Duration,
}

impl Download {
    /// A client like the fetcher's: no proxy, no redirects, every address checked by the same policy
    /// (`fetcher.allow_private_addresses`).
    pub fn new(
        user_agent: &str,
        allow_private: bool,
        attempts: u32,
        first_pause: Duration,
    ) -> anyhow::Result<Download> {
        let policy = Arc::new(AddressPolicy { allow_private, allowed_networks: Vec::new() });
        let client = reqwest::Client::builder()
            .user_agent(user_agent.to_string())
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .build()?;
        Ok(Download { client, policy, attempts: attempts.max(1), first_pause })
    }

    /// The file at `url`, as a [`Source`]. Refuses a URL whose host is an address the policy forbids.
    pub fn file(&self, url: &str) -> io::Result<RemoteFile> {
        let parsed = Url::parse(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {e}")))?;
        // IP literals never reach the resolver: checked here, as the fetcher checks them.
        let literal: Option<IpAddr> = match parsed.host() {
            Some(Host::Ipv4(ip)) => Some(ip.into()),
            Some(Host::Ipv6(ip)) => Some(ip.into()),
            _ => None,
        };
        if let Some(ip) = literal
            && let Err(range) = check_ip(&self.policy, ip)
        {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{url}: {ip} is a {range} address (fetcher.allow_private_addresses is off)"),
            ));
        }
        Ok(RemoteFile { url: parsed, download: self.clone(), runtime: Handle::current() })
    }
}

/// One remote WARC file.
pub struct RemoteFile {
    url: Url,
    download: Download,
    runtime: Handle,
}

impl Source for RemoteFile {
    fn open_at(&self, offset: u64) -> io::Result<OpenedSource> {
        let mut reader = RemoteReader {
            url: self.url.clone(),
            download: self.download.clone(),
            runtime: self.runtime.clone(),
            position: offset,
            response: None,
            chunk: Bytes::new(),
        };
        reader.connect()?;
        Ok(Box::new(reader))
    }
}

/// The bytes of a remote file from some offset on, read on a blocking thread.
struct RemoteReader {
    url: Url,
    download: Download,
    runtime: Handle,
    position: u64,
    response: Option<reqwest::Response>,
    chunk: Bytes,
}

impl RemoteReader {
    /// Requests the file from `position` on, retrying what may pass; drops what a server that ignores
    /// `Range` sends before it.
    fn connect(&mut self) -> io::Result<()> {
        let mut pause = self.download.first_pause;
        let mut last_error = String::new();
        for attempt in 1..=self.download.attempts {
            if attempt > 1 {
                tracing::warn!(url = %self.url, offset = self.position, attempt, error = %last_error, retry_in_ms = pause.as_millis() as u64, "warc download retried");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(60));
            }
            let mut request = self.download.client.get(self.url.clone());
            if self.position > 0 {
                request = request.header(RANGE, format!("bytes={}-", self.position));
            }
            let response = match self.runtime.block_on(request.send()) {
                Ok(response) => response,
                Err(error) => {
                    last_error = error_chain(&error);
                    if error.is_connect() && error_chain(&error).contains("forbidden") {
                        return Err(io::Error::new(
                            io::ErrorKind::PermissionDenied,
                            format!("{}: {last_error}", self.url),
                        ));
                    }
                    continue;
                }
            };
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                last_error = format!("http {}", status.as_u16());
                if let Some(wait) = retry_after(&response) {
                    pause = pause.max(wait.min(Duration::from_secs(120)));
                }
                continue;
            }
            if status == StatusCode::RANGE_NOT_SATISFIABLE {
                // At or past the end: nothing more to read.
                self.response = None;
                self.chunk = Bytes::new();
                return Ok(());
            }
            if status == StatusCode::PARTIAL_CONTENT {
                let start = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if start != Some(self.position) {
                    return Err(io::Error::other(format!(
                        "{}: asked for bytes from {}, the server sent a range from {start:?}",
                        self.url, self.position
                    )));
                }
                self.response = Some(response);
                return Ok(());
            }
            if status == StatusCode::OK {
                self.response = Some(response);
                let mut skip = self.position;
                // The server ignored the range: drop the bytes before the position.
                while skip > 0 {
                    match self.next_chunk()? {
                        Some(chunk) if (chunk.len() as u64) <= skip => skip -= chunk.len() as u64,
                        Some(chunk) => {
                            self.chunk = chunk.slice(skip as usize..);
                            skip = 0;
                        }
                        None => break,
                    }
                }
                return Ok(());
            }
            return Err(io::Error::new(
                if status == StatusCode::NOT_FOUND { io::ErrorKind::NotFound } else { io::ErrorKind::Other },
                format!("{}: http {}", self.url, status.as_u16()),
            ));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{}: gave up after {} attempts: {last_error}", self.url, self.download.attempts),
        ))
    }

    fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        let Some(response) = self.response.as_mut() else {
            return Ok(None);
        };
        self.runtime.block_on(response.chunk()).map_err(|e| io::Error::other(error_chain(&e)))
    }
}

impl Read for RemoteReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut drops = 0;
        while self.chunk.is_empty() {
            match self.next_chunk() {
                Ok(Some(chunk)) => self.chunk = chunk,
                Ok(None) => return Ok(0),
                // The connection dropped mid-file: ask again from here.
                Err(error) => {
                    drops += 1;
                    if drops > self.download.attempts {
                        return Err(error);
                    }
                    tracing::warn!(url = %self.url, offset = self.position, %error, "warc download interrupted; resuming by range");
                    self.connect()?;
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for RemoteReader {
    /// Says where it is; goes forward by reading; going back opens the file again there.
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => self
                .position
                .checked_add_signed(d)
                .ok_or_else(|| io::Error::other("seek before the start"))?,
            SeekFrom::End(_) => {
                return Err(io::Error::new(io::ErrorKind::Unsupported, "seek from the end of a remote file"));
            }
        };
        if target < self.position {
            self.position = target;
            self.chunk = Bytes::new();
            self.connect()?;
        } else {
            let ahead = target - self.position;
            io::copy(&mut (&mut *self).take(ahead), &mut io::sink())?;
        }
        Ok(self.position)
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
