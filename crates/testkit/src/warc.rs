//! WARC files made in a test, byte by byte, from pages the test chooses: written here by hand (not by
//! newspipe's WARC code) so that what reads them is checked against an independent writer.

use std::io::Write;

/// How a built file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    /// One gzip member per record, as crawlers write `.warc.gz`.
    PerRecord,
    /// One gzip stream for the whole file.
    Whole,
}

/// One record of a file being built: its bytes (a WARC header block, a blank line, the block, two CRLFs).
#[derive(Debug, Clone)]
pub struct BuiltRecord {
    pub record_id: String,
    pub target_uri: Option<String>,
    pub bytes: Vec<u8>,
}

/// Builds a WARC/1.1 file record by record.
#[derive(Debug, Default, Clone)]
pub struct WarcBuilder {
    pub records: Vec<BuiltRecord>,
}

impl WarcBuilder {
    pub fn new() -> WarcBuilder {
        WarcBuilder::default()
    }

    /// A record of `kind` with `block` and extra header lines; its id is derived from its position and URI.
    pub fn record(
        &mut self,
        kind: &str,
        uri: Option<&str>,
        content_type: &str,
        block: &[u8],
        extra: &[(&str, &str)],
    ) -> &mut Self {
        let n = self.records.len();
        let id = format!(
            "<urn:uuid:{}>",
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("{n} {}", uri.unwrap_or("")).as_bytes())
        );
        let mut head = format!("WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: {id}\r\n");
        head.push_str(&format!("WARC-Date: 2024-01-01T00:{:02}:{:02}Z\r\n", (n / 60) % 60, n % 60));
        if let Some(uri) = uri {
            head.push_str(&format!("WARC-Target-URI: {uri}\r\n"));
        }
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", block.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(block);
        bytes.extend_from_slice(b"\r\n\r\n");
        self.records.push(BuiltRecord { record_id: id, target_uri: uri.map(str::to_string), bytes });
        self
    }

    pub fn warcinfo(&mut self) -> &mut Self {
        self.record(
            "warcinfo",
            None,
            "application/warc-fields",
            b"software: newspipe tests\r\nformat: WARC File Format 1.1\r\n",
            &[],
        )
    }

    /// A `response` record holding `http` (status line, headers, blank line, payload) as given.
    pub fn response(&mut self, uri: &str, http: &[u8]) -> &mut Self {
        self.record("response", Some(uri), "application/http; msgtype=response", http, &[])
    }

    /// A `response` with status 200 and an HTML page.
    pub fn page(&mut self, uri: &str, html: &str) -> &mut Self {
        self.response(uri, &http_response(200, "text/html; charset=utf-8", &[], html.as_bytes()))
    }

    pub fn request(&mut self, uri: &str) -> &mut Self {
        let host = uri.split('/').nth(2).unwrap_or("example.com");
        let block = format!("GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tests\r\n\r\n");
        self.record("request", Some(uri), "application/http; msgtype=request", block.as_bytes(), &[])
    }

    pub fn metadata(&mut self, uri: &str) -> &mut Self {
        self.record("metadata", Some(uri), "application/warc-fields", b"fetchTimeMs: 12\r\n", &[])
    }

    /// A `revisit` record (identical payload digest: the page was not stored again).
    pub fn revisit(&mut self, uri: &str) -> &mut Self {
        let block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n";
        self.record(
            "revisit",
            Some(uri),
            "application/http; msgtype=response",
            block,
            &[
                ("WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"),
                ("WARC-Payload-Digest", "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ],
        )
    }

    /// The file's bytes, and where each record starts in them.
    pub fn build(&self, compression: Compression) -> (Vec<u8>, Vec<u64>) {
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        match compression {
            Compression::None => {
                for record in &self.records {
                    offsets.push(out.len() as u64);
                    out.extend_from_slice(&record.bytes);
                }
            }
            Compression::PerRecord => {
                for record in &self.records {
                    offsets.push(out.len() as u64);
                    out.extend_from_slice(&gzip(&record.bytes));
                }
            }
            Compression::Whole => {
                let mut plain = Vec::new();
                for record in &self.records {
                    offsets.push(plain.len() as u64);
                    plain.extend_from_slice(&record.bytes);
                }
                out = gzip(&plain);
            }
        }
        (out, offsets)
    }
}

/// An HTTP response: status line, `Content-Type`, extra headers, `Content-Length` (unless the extra headers
/// say `Transfer-Encoding`), and the payload as given.
pub fn http_response(status: u16, content_type: &str, extra: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n");
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !extra.iter().any(|(name, _)| name.eq_ignore_ascii_case("transfer-encoding")) {
        head.push_str(&format!("Content-Length: {}\r\n", payload.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// `payload` in HTTP/1.1 chunked transfer coding, in chunks of `size` bytes.
pub fn chunked(payload: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in payload.chunks(size.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A simple article page with a title and enough paragraphs of text to be extracted.
pub fn article_html(title: &str, words: usize) -> String {
    let sentence = "The council met on Tuesday to discuss the new budget for the city's schools and parks.";
    let mut paragraphs = String::new();
    let mut n = 0;
    while n < words {
        paragraphs.push_str(&format!("<p>{sentence} {title} paragraph {n}.</p>\n"));
        n += sentence.split_whitespace().count() + 3;
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta property=\"og:title\" content=\"{title}\"></head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )
}
