//! The fetcher against local servers that behave, and servers that misbehave in every way a
//! limit exists for. Every server listens on loopback only and every loop is bounded.

// Tests (and the tools beside them) may unwrap: a failure names what it expected.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use newspipe_net::http::{ConnectFailure, FetchError, HttpFetcher, TimeoutPhase, Validators};
use newspipe_net::settings::FetcherSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

// ---------------------------------------------------------------------------------------------
// A tiny raw HTTP/1.1 server: it reads each request head, counts it, and lets the test's handler
// write whatever bytes it likes.

#[derive(Clone)]
struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Connections accepted, whether or not a request followed.
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn last_head(&self) -> String {
        self.heads.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

/// The request line's path.
fn path_of(head: &str) -> String {
    head.split_whitespace().nth(1).unwrap_or("/").to_owned()
}

async fn serve<F, Fut>(ip: &str, handler: F) -> Server
where
    F: Fn(String, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let server = Server {
        addr: listener.local_addr().unwrap(),
        hits: Arc::default(),
        connections: Arc::default(),
        heads: Arc::default(),
    };
    let handler = Arc::new(handler);
    let s = server.clone();
    tokio::spawn(async move {
        // Bounded: no test makes more than a few dozen connections.
        for _ in 0..64 {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            s.connections.fetch_add(1, Ordering::SeqCst);
            let (s, handler) = (s.clone(), handler.clone());
            tokio::spawn(async move {
                // One request per connection: every response closes it.
                let Some(head) = read_head(&mut stream).await else { return };
                s.hits.fetch_add(1, Ordering::SeqCst);
                s.heads.lock().unwrap().push(head.clone());
                handler(path_of(&head), stream).await;
            });
        }
    });
    server
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Writes a complete response with a Content-Length and closes.
async fn respond(mut stream: TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

async fn write_chunk(stream: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    stream.write_all(format!("{:x}\r\n", data.len()).as_bytes()).await?;
    stream.write_all(data).await?;
    stream.write_all(b"\r\n").await
}

/// Settings for loopback tests: private addresses allowed, small limits and timeouts.
fn local() -> FetcherSettings {
    FetcherSettings {
        allow_private_addresses: true,
        connect_timeout_ms: 1_000,
        timeout_ms: 4_000,
        read_timeout_ms: 1_000,
        ..FetcherSettings::default()
    }
}

fn fetcher(settings: FetcherSettings) -> HttpFetcher {
    HttpFetcher::new(&settings).expect("fetcher")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Pages that behave.

#[tokio::test]
async fn a_page_is_fetched_with_its_kept_headers_and_its_raw_bytes() {
    // Latin-1 bytes: the fetcher must not decode charsets.
    let body: &'static [u8] = b"<html><p>caf\xe9</p></html>";
    let server = serve("127.0.0.1", move |_, s| {
        respond(
            s,
            "200 OK",
            &[
                ("Content-Type", "text/html; charset=iso-8859-1"),
                ("Content-Language", "fr"),
                ("ETag", "\"v1\""),
                ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
                ("X-Secret", "not kept"),
            ],
            body,
        )
    })
    .await;
    let page = fetcher(local()).fetch(&server.url("/article#section")).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.final_url, server.url("/article"));
    assert_eq!(page.body, body);
    assert_eq!(page.headers["content-type"], "text/html; charset=iso-8859-1");
    assert_eq!(page.headers["content-language"], "fr");
    assert_eq!(page.headers["etag"], "\"v1\"");
    assert_eq!(page.headers["last-modified"], "Wed, 21 Oct 2015 07:28:00 GMT");
    assert!(!page.headers.contains_key("x-secret"));
    let head = server.last_head().to_ascii_lowercase();
    assert!(head.contains("user-agent: newspipe/0.1"), "{head}");
    assert!(head.contains("accept-encoding:") && head.contains("gzip"), "{head}");
}

#[tokio::test]
async fn a_gzip_encoded_page_is_returned_decompressed() {
    let html = "<html><body>".to_owned() + &"news ".repeat(2000) + "</body></html>";
    let compressed = gzip(html.as_bytes());
    let server = serve("127.0.0.1", move |_, s| {
        let compressed = compressed.clone();
        async move { respond(s, "200 OK", &[("Content-Encoding", "gzip")], &compressed).await }
    })
    .await;
    let page = fetcher(local()).fetch(&server.url("/")).await.unwrap();
    assert_eq!(page.body, html.as_bytes());
}

#[tokio::test]
async fn redirects_are_followed_and_the_final_url_is_reported() {
    let server = serve("127.0.0.1", |path, s| async move {
        match path.as_str() {
            "/old" => respond(s, "301 Moved Permanently", &[("Location", "/middle")], b"").await,
            "/middle" => respond(s, "302 Found", &[("Location", "new?x=1")], b"").await,
            _ => respond(s, "200 OK", &[("Content-Type", "text/html")], b"here").await,
        }
    })
    .await;
    let page = fetcher(local()).fetch(&server.url("/old")).await.unwrap();
    assert_eq!(page.final_url, server.url("/new?x=1"));
    assert_eq!(page.body, b"here");
    assert_eq!(server.hits(), 3);
}

/// What the WARC archive is given: every hop with the request as the server received it, the body as read.
#[tokio::test]
async fn a_recorded_fetch_reports_every_hop_with_the_headers_sent_and_the_body_read() {
    let html = "<p>".to_owned() + &"news ".repeat(500) + "</p>";
    let compressed = gzip(html.as_bytes());
    let server = serve("127.0.0.1", move |path, s| {
        let compressed = compressed.clone();
        async move {
            match path.as_str() {
                "/old" => respond(s, "301 Moved Permanently", &[("Location", "/new")], b"moved").await,
                "/gone" => respond(s, "410 Gone", &[], b"no more").await,
                _ => respond(s, "200 OK", &[("Content-Encoding", "gzip")], &compressed).await,
            }
        }
    })
    .await;
    let fetcher = fetcher(local());
    let mut exchanges = Vec::new();
    let page =
        fetcher.fetch_recorded(&server.url("/old"), &Validators::default(), &mut exchanges).await.unwrap();
    let hops: Vec<(String, u16, &[u8])> =
        exchanges.iter().map(|e| (e.url.clone(), e.status.as_u16(), &e.body[..])).collect();
    assert_eq!(hops, [(server.url("/old"), 301, &b"moved"[..]), (server.url("/new"), 200, html.as_bytes())]);
    assert_eq!(page.body, html.as_bytes());
    assert!(exchanges.iter().all(|e| e.remote_ip == Some("127.0.0.1".parse().unwrap())));
    assert!(!exchanges[1].response_headers.contains_key("content-encoding"), "decoded by the client");

    // The headers recorded are the ones the server got (names lower case; the order is not kept).
    let received = server.heads.lock().unwrap().clone();
    for (exchange, head) in exchanges.iter().zip(&received) {
        let mut sent: Vec<String> = head
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (name, value) = l.split_once(':').unwrap();
                format!("{}: {}", name.to_ascii_lowercase(), value.trim())
            })
            .collect();
        let mut recorded: Vec<String> = exchange
            .request_headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        sent.sort();
        recorded.sort();
        assert_eq!(recorded, sent);
    }

    let mut exchanges = Vec::new();
    let err = fetcher.fetch_recorded(&server.url("/gone"), &Validators::default(), &mut exchanges).await;
    assert_eq!(err.unwrap_err().status(), Some(410));
    assert_eq!(exchanges.len(), 1, "an error status is recorded too");
    assert_eq!(exchanges[0].body, b"no more");
}

// ---------------------------------------------------------------------------------------------
// Redirect limits.

#[tokio::test]
async fn a_redirect_chain_longer_than_the_limit_fails_with_too_many_redirects() {
    let server = serve("127.0.0.1", |path, s| async move {
        let n: u32 = path.trim_start_matches("/r/").parse().unwrap_or(0);
        let next = format!("/r/{}", n + 1);
        respond(s, "302 Found", &[("Location", &next)], b"").await
    })
    .await;
    let err = fetcher(FetcherSettings { max_redirects: 3, ..local() })
        .fetch(&server.url("/r/0"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects { max: 3, .. }), "{err}");
    assert_eq!(err.reason().to_string(), "too many redirects");
    assert!(!err.is_transient());
    // The original request and 3 redirects followed; the 4th redirect is not.
    assert_eq!(server.hits(), 4);
}

#[tokio::test]
async fn a_redirect_loop_is_detected_before_the_limit() {
    let server = serve("127.0.0.1", |path, s| async move {
        let next = if path == "/a" { "/b" } else { "/a" };
        respond(s, "307 Temporary Redirect", &[("Location", next)], b"").await
    })
    .await;
    let err = fetcher(local()).fetch(&server.url("/a")).await.unwrap_err();
    assert!(matches!(err, FetchError::RedirectLoop { .. }), "{err}");
    assert_eq!(err.reason().to_string(), "redirect loop");
    assert!(!err.is_transient());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_refused() {
    let server = serve("127.0.0.1", |_, s| async move {
        respond(s, "302 Found", &[("Location", "file:///etc/passwd")], b"").await
    })
    .await;
    let err = fetcher(local()).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::UnsupportedScheme { .. }), "{err}");
    assert_eq!(err.reason().to_string(), "unsupported scheme");
}

// ---------------------------------------------------------------------------------------------
// Time limits.

/// A server that writes `head`, then one byte `x` every `every`, `times` times (or until the client hangs up).
async fn trickle(head: &'static [u8], times: usize, every: Duration) -> Server {
    serve("127.0.0.1", move |_, mut s| async move {
        let _ = s.write_all(head).await;
        for _ in 0..times {
            if s.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    })
    .await
}

/// Fetches `/` of `server` with `settings` and asserts that it failed with a timeout in `phase`, transient,
/// within 3 s.
async fn assert_times_out(server: &Server, settings: FetcherSettings, phase: TimeoutPhase) -> FetchError {
    let started = Instant::now();
    let err = fetcher(settings).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(&err, FetchError::Timeout { phase: p, .. } if *p == phase), "{err}");
    assert_eq!(err.reason().to_string(), "timeout");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    err
}

#[tokio::test]
async fn a_page_that_trickles_past_the_total_time_fails_with_a_timeout() {
    // A byte every 100 ms keeps the read timeout happy; only the total limit can stop it.
    let server =
        trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 100, Duration::from_millis(100)).await;
    let settings = FetcherSettings { timeout_ms: 700, read_timeout_ms: 1_000, ..local() };
    let err = assert_times_out(&server, settings, TimeoutPhase::Total).await;
    assert_eq!(err.reason().to_string(), "timeout");
}

#[tokio::test]
async fn a_slow_loris_body_trips_the_read_timeout() {
    // A byte every 2 s: well within the total time, but too slow between bytes.
    let server = trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 50, Duration::from_secs(2)).await;
    let settings = FetcherSettings { timeout_ms: 4_000, read_timeout_ms: 500, ..local() };
    assert_times_out(&server, settings, TimeoutPhase::Read).await;
}

#[tokio::test]
async fn slow_loris_headers_trip_the_read_timeout() {
    let server = trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", 50, Duration::from_secs(2)).await;
    let settings = FetcherSettings { timeout_ms: 4_000, read_timeout_ms: 500, ..local() };
    assert_times_out(&server, settings, TimeoutPhase::Read).await;
}

#[tokio::test]
async fn a_server_that_never_answers_trips_the_read_timeout() {
    let server = serve("127.0.0.1", |_, s| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(s);
    })
    .await;
    let settings = FetcherSettings { timeout_ms: 4_000, read_timeout_ms: 400, ..local() };
    let err = fetcher(settings).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Timeout { phase: TimeoutPhase::Read, .. }), "{err}");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_connection_that_is_never_accepted_trips_the_connect_timeout() {
    // A listener with a backlog of 0 that never accepts: once its queue is full, the kernel drops
    // further SYNs and connecting hangs.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    let mut full = false;
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => queued.push(stream),
            _ => {
                full = true;
                break;
            }
        }
    }
    assert!(full, "the backlog never filled up");
    let settings = FetcherSettings { connect_timeout_ms: 300, timeout_ms: 4_000, ..local() };
    let started = Instant::now();
    let err = fetcher(settings).fetch(&format!("http://{addr}/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Timeout { phase: TimeoutPhase::Connect, .. }), "{err}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    drop(listener);
}

// ---------------------------------------------------------------------------------------------
// Size limits.

#[tokio::test]
async fn a_body_over_the_limit_fails_while_streaming() {
    // Chunked, no Content-Length: the limit can only be enforced while reading.
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let server = serve("127.0.0.1", move |_, mut s| {
        let counter = counter.clone();
        async move {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await;
            let chunk = vec![b'a'; 16 * 1024];
            // Up to 1 GiB, unless the client hangs up first.
            for _ in 0..65_536 {
                if write_chunk(&mut s, &chunk).await.is_err() {
                    return;
                }
                counter.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
    })
    .await;
    let settings = FetcherSettings { max_body_bytes: 100_000, ..local() };
    let err = fetcher(settings).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { limit: 100_000, .. }), "{err}");
    assert_eq!(err.reason().to_string(), "too large");
    assert!(!err.is_transient());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        sent.load(Ordering::SeqCst) < 64 * 1024 * 1024,
        "the server sent {} bytes",
        sent.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_fails_before_reading_the_body() {
    let server = serve("127.0.0.1", |_, mut s| async move {
        // Announce 1 GB and send nothing: only the header can have told the client.
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n").await;
        tokio::time::sleep(Duration::from_secs(10)).await;
    })
    .await;
    let settings = FetcherSettings { max_body_bytes: 1_000, read_timeout_ms: 3_000, ..local() };
    let started = Instant::now();
    let err = fetcher(settings).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_body_exactly_at_the_limit_is_accepted() {
    let server =
        serve("127.0.0.1", |_, s| async move { respond(s, "200 OK", &[], &[b'z'; 1_000]).await }).await;
    let settings = FetcherSettings { max_body_bytes: 1_000, ..local() };
    let page = fetcher(settings).fetch(&server.url("/")).await.unwrap();
    assert_eq!(page.body.len(), 1_000);
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_body_limit() {
    // A gzip stream of zeros, sync-flushed every MiB: after the first two flushes every further
    // MiB of zeros compresses to the same ~1 KB block, so the server can send 100 GiB (inflated)
    // from ~100 MB of repeated blocks at almost no cost. The fetcher must stop at its 1 MiB limit
    // instead of inflating it all (which would take minutes).
    let zeros = vec![0u8; 1024 * 1024];
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    let mut blocks = Vec::new();
    for _ in 0..4 {
        enc.write_all(&zeros).unwrap();
        enc.flush().unwrap();
        blocks.push(std::mem::take(enc.get_mut()));
    }
    assert_eq!(blocks[2], blocks[3], "the repeated block is not stable");
    let blocks = Arc::new(blocks);
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let server = serve("127.0.0.1", move |_, mut s| {
        let (counter, blocks) = (counter.clone(), blocks.clone());
        async move {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\
                        Transfer-Encoding: chunked\r\n\r\n";
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for i in 0..100 * 1024 {
                let block = &blocks[i.min(2)];
                if write_chunk(&mut s, block).await.is_err() {
                    return;
                }
                counter.fetch_add(block.len(), Ordering::SeqCst);
            }
        }
    })
    .await;
    let settings = FetcherSettings { max_body_bytes: 1024 * 1024, timeout_ms: 4_000, ..local() };
    let started = Instant::now();
    let err = fetcher(settings).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { limit: 1_048_576, .. }), "{err}");
    assert_eq!(err.reason().to_string(), "too large");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The client hung up long before the end: the server could not send it all.
    let wire = sent.load(Ordering::SeqCst);
    assert!(wire < 50 * 1024 * 1024, "the server sent {wire} compressed bytes");
}

#[tokio::test]
async fn response_headers_over_the_byte_limit_are_refused() {
    let server = serve("127.0.0.1", |_, s| async move {
        let big = "v".repeat(20_000);
        respond(s, "200 OK", &[("X-Big-1", &big), ("X-Big-2", &big)], b"ok").await
    })
    .await;
    let settings = FetcherSettings { max_header_bytes: 16 * 1024, ..local() };
    let err = fetcher(settings).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::HeadersTooLarge { .. }), "{err}");
    assert_eq!(err.reason().to_string(), "headers too large");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn endless_response_headers_are_cut_off() {
    // Headers that never end: the HTTP parser's buffer limit stops them.
    let server = serve("127.0.0.1", |_, mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
        let line = format!("X-Filler: {}\r\n", "f".repeat(1000));
        for _ in 0..10_000 {
            if s.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let err = fetcher(local()).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::HeadersTooLarge { .. }), "{err}");
}

#[tokio::test]
async fn too_many_response_header_lines_are_refused() {
    let server = serve("127.0.0.1", |_, s| async move {
        let names: Vec<String> = (0..50).map(|i| format!("X-H{i}")).collect();
        let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
        respond(s, "200 OK", &headers, b"ok").await
    })
    .await;
    let err =
        fetcher(FetcherSettings { max_headers: 20, ..local() }).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::HeadersTooLarge { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Statuses and connection failures.

#[tokio::test]
async fn non_2xx_statuses_are_classified_with_retry_after() {
    let server = serve("127.0.0.1", |path, s| async move {
        let in_a_minute = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(60));
        match path.as_str() {
            "/404" => respond(s, "404 Not Found", &[], b"no").await,
            "/403" => respond(s, "403 Forbidden", &[], b"no").await,
            "/410" => respond(s, "410 Gone", &[], b"no").await,
            "/408" => respond(s, "408 Request Timeout", &[], b"").await,
            "/429" => respond(s, "429 Too Many Requests", &[("Retry-After", "120")], b"").await,
            "/503" => respond(s, "503 Service Unavailable", &[("Retry-After", &in_a_minute)], b"").await,
            "/500" => respond(s, "500 Internal Server Error", &[], b"").await,
            _ => respond(s, "502 Bad Gateway", &[("Retry-After", "soon")], b"").await,
        }
    })
    .await;
    let f = fetcher(local());
    let expect = [
        ("/404", "http 404", false),
        ("/403", "http 403", false),
        ("/410", "http 410", false),
        ("/408", "http 408", true),
        ("/429", "http 429", true),
        ("/503", "http 503", true),
        ("/500", "http 500", true),
        ("/502", "http 502", true),
    ];
    for (path, reason, transient) in expect {
        let err = f.fetch(&server.url(path)).await.unwrap_err();
        assert_eq!(err.reason().to_string(), reason, "{err}");
        assert_eq!(err.is_transient(), transient, "{err}");
        assert_eq!(err.status(), Some(reason[5..].parse().unwrap()));
        let retry_after = err.retry_after();
        match path {
            "/429" => assert_eq!(retry_after, Some(Duration::from_secs(120))),
            "/503" => {
                let secs = retry_after.expect("an HTTP-date Retry-After").as_secs();
                assert!((55..=60).contains(&secs), "{secs}");
            }
            _ => assert_eq!(retry_after, None, "{path}"),
        }
    }
}

#[tokio::test]
async fn a_response_that_is_not_http_is_a_permanent_failure() {
    let server = serve("127.0.0.1", |_, mut s| async move {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n\r\n").await;
        let _ = s.shutdown().await;
    })
    .await;
    let err = fetcher(local()).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::InvalidResponse { .. }), "{err}");
    assert_eq!(err.reason().to_string(), "invalid response");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_failed_tls_handshake_is_a_permanent_tls_failure() {
    // A server that answers a TLS ClientHello with plain HTTP.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((mut s, _)) = listener.accept().await else { return };
        let mut buf = [0u8; 512];
        let _ = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
        let _ = s.shutdown().await;
    });
    let err = fetcher(local()).fetch(&format!("https://{addr}/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Connect { kind: ConnectFailure::Tls, .. }), "{err}");
    assert_eq!(err.reason().to_string(), "tls");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_refused_connection_is_a_transient_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = fetcher(local()).fetch(&format!("http://{addr}/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Connect { kind: ConnectFailure::Refused, .. }), "{err}");
    assert_eq!(err.reason().to_string(), "connection refused");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_body_cut_short_is_a_transient_read_error() {
    let server = serve("127.0.0.1", |_, mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly this").await;
        let _ = s.shutdown().await;
    })
    .await;
    let err = fetcher(local()).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::BodyRead { .. }), "{err}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_corrupt_gzip_body_is_a_permanent_decode_error() {
    let server = serve("127.0.0.1", |_, s| async move {
        respond(s, "200 OK", &[("Content-Encoding", "gzip")], b"\x1f\x8b\x08\x00garbage-not-deflate").await
    })
    .await;
    let err = fetcher(local()).fetch(&server.url("/")).await.unwrap_err();
    assert!(matches!(err, FetchError::Decode { .. }), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn an_unknown_host_name_is_a_dns_failure() {
    let err = fetcher(local()).fetch("http://no-such-host.invalid/").await.unwrap_err();
    assert!(matches!(err, FetchError::Dns { .. }), "{err}");
    assert_eq!(err.reason().to_string(), "dns");
}

// ---------------------------------------------------------------------------------------------
// Safety: schemes, URLs and addresses.

#[tokio::test]
async fn only_http_and_https_are_fetched() {
    let f = fetcher(FetcherSettings::default());
    for url in ["ftp://example.com/a", "file:///etc/passwd", "gopher://example.com/", "data:text/html,hi"] {
        let err = f.fetch(url).await.unwrap_err();
        assert!(matches!(err, FetchError::UnsupportedScheme { .. }), "{url}: {err}");
        assert_eq!(err.reason().to_string(), "unsupported scheme");
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn invalid_urls_are_refused() {
    let f = fetcher(FetcherSettings::default());
    for url in ["not a url", "http://", "http://exa mple.com/", "/relative/path", ""] {
        let err = f.fetch(url).await.unwrap_err();
        assert!(matches!(err, FetchError::InvalidUrl { .. }), "{url}: {err}");
        assert_eq!(err.reason().to_string(), "invalid url");
        assert!(!err.is_transient());
    }
}

#[test]
fn the_url_crate_normalises_disguised_ipv4_hosts() {
    for disguised in [
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.0.0.1/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://0177.1/",
        "http://017700000001/",
        "http://127.0.0.1./",
    ] {
        let url = url::Url::parse(disguised).unwrap();
        assert_eq!(url.host(), Some(url::Host::Ipv4([127, 0, 0, 1].into())), "{disguised}");
    }
}

#[tokio::test]
async fn loopback_targets_in_every_disguise_are_refused_without_connecting() {
    let server = serve("127.0.0.1", |_, s| async move { respond(s, "200 OK", &[], b"secret").await }).await;
    let port = server.port();
    let f = fetcher(FetcherSettings::default());
    let disguises = [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
        format!("http://0x7f.0.0.1:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::ffff:7f00:1]:{port}/"),
        format!("http://[64:ff9b::7f00:1]:{port}/"),
        format!("https://0.0.0.0:{port}/"),
        format!("http://user:pw@127.0.0.1:{port}/"),
    ];
    for url in &disguises {
        let err = f.fetch(url).await.unwrap_err();
        assert!(matches!(err, FetchError::ForbiddenAddress { .. }), "{url}: {err}");
        assert_eq!(err.reason().to_string(), "forbidden address");
        assert!(!err.is_transient());
    }
    assert_eq!(server.connections(), 0, "the fetcher connected to the loopback server");
}

#[tokio::test]
async fn private_link_local_and_metadata_addresses_are_refused_before_connecting() {
    // None of these is reachable here; a refusal must come at once, not after a connect timeout.
    let f = fetcher(FetcherSettings { connect_timeout_ms: 5_000, ..FetcherSettings::default() });
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://198.18.0.1/",
        "http://192.0.2.1/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[ff02::1]/",
        "http://[::]/",
        "http://[2001:db8::1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::1]/",
    ] {
        let started = Instant::now();
        let err = f.fetch(url).await.unwrap_err();
        assert!(matches!(err, FetchError::ForbiddenAddress { .. }), "{url}: {err}");
        assert!(started.elapsed() < Duration::from_secs(1), "{url}");
    }
}

#[tokio::test]
async fn a_redirect_to_a_forbidden_address_is_refused_without_connecting() {
    // The first server is on an allow-listed address; the redirect targets are not.
    let inner = serve("127.0.0.2", |_, s| async move { respond(s, "200 OK", &[], b"secret").await }).await;
    let localhost =
        serve("127.0.0.1", |_, s| async move { respond(s, "200 OK", &[], b"secret").await }).await;
    let (inner_port, localhost_port) = (inner.port(), localhost.port());
    let outer = serve("127.0.0.3", move |path, s| async move {
        let target = match path.as_str() {
            "/literal" => format!("http://127.0.0.2:{inner_port}/"),
            "/decimal" => format!("http://2130706434:{inner_port}/"),
            "/mapped" => format!("http://[::ffff:127.0.0.2]:{inner_port}/"),
            _ => format!("http://localhost:{localhost_port}/"),
        };
        respond(s, "302 Found", &[("Location", &target)], b"").await
    })
    .await;
    let settings = FetcherSettings {
        allowed_networks: vec!["127.0.0.3/32".parse().unwrap()],
        ..FetcherSettings::default()
    };
    let f = fetcher(settings);
    for path in ["/literal", "/decimal", "/mapped", "/dns"] {
        let err = f.fetch(&outer.url(path)).await.unwrap_err();
        assert!(matches!(err, FetchError::ForbiddenAddress { .. }), "{path}: {err}");
    }
    assert_eq!(outer.hits(), 4, "the allow-listed server is reached");
    assert_eq!(inner.connections(), 0, "a redirect reached a forbidden IP literal");
    assert_eq!(localhost.connections(), 0, "a redirect reached a name resolving to loopback");
}

#[tokio::test]
async fn private_addresses_are_reachable_when_allowed() {
    let server = serve("127.0.0.1", |_, s| async move { respond(s, "200 OK", &[], b"ok").await }).await;
    let page = fetcher(local()).fetch(&format!("http://localhost:{}/", server.port())).await.unwrap();
    assert_eq!(page.body, b"ok");
    assert_eq!(server.hits(), 1);
}
