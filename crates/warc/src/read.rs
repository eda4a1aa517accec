//! Records out of a WARC file, one at a time, with where each starts, and the damage between them.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use fastwarc::warc::header::WarcHeader;
use fastwarc::warc::iter::ArchiveIterator;
use fastwarc::warc::record::{SharedWarcRecord, WarcRecord, WarcRecordType};

/// What a [`Source`] hands out: the file's bytes from some offset on. `Seek` need only say where it is
/// (`SeekFrom::Current(0)`): the parser asks, to report offsets; it never seeks back.
pub trait ReadSeekSend: Read + Seek + Send + 'static {}
impl<T: Read + Seek + Send + 'static> ReadSeekSend for T {}

pub type OpenedSource = Box<dyn ReadSeekSend>;

/// Where a WARC file's bytes come from. Opened again at any offset: to resume a file at a checkpoint, or
/// to look for the next whole record after a damaged one.
pub trait Source: Send {
    /// The file's bytes from `offset` to its end, positioned so that `stream_position` answers `offset`.
    fn open_at(&self, offset: u64) -> io::Result<OpenedSource>;
}

/// A source shared between readers (a resume that falls back to the start opens it again).
impl<T: Source + Sync + ?Sized> Source for std::sync::Arc<T> {
    fn open_at(&self, offset: u64) -> io::Result<OpenedSource> {
        (**self).open_at(offset)
    }
}

/// A WARC file on a local disk.
pub struct LocalFile {
    path: PathBuf,
}

impl LocalFile {
    pub fn new(path: impl Into<PathBuf>) -> LocalFile {
        LocalFile { path: path.into() }
    }
}

impl Source for LocalFile {
    fn open_at(&self, offset: u64) -> io::Result<OpenedSource> {
        let mut file = std::fs::File::open(&self.path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(file))
    }
}

/// How a WARC file is laid out, which decides where it can be entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Uncompressed: every record can be entered at its offset.
    Plain,
    /// Gzip, one member per record (how crawlers write `.warc.gz`): every record can be entered at its
    /// member's offset.
    GzipPerRecord,
    /// One gzip stream for the whole file (`gzip file.warc`): records have no offset anyone can seek to, so a
    /// resume reads from the start and a bad byte ends the file.
    GzipWhole,
}

impl Layout {
    /// Whether a record's offset is a place the file can be entered again.
    pub fn has_offsets(self) -> bool {
        !matches!(self, Layout::GzipWhole)
    }
}

/// The largest first gzip member [`detect_layout`] decompresses to tell the layouts apart: a first member
/// larger than any one record is a whole-file stream.
const LAYOUT_PROBE_BYTES: u64 = 256 << 20;

/// Tells how `source` is laid out: plain unless it starts with the gzip magic; gzip per record when its
/// first member holds exactly its first record (warcinfo or a page), else one stream for the whole file.
pub fn detect_layout(source: &dyn Source) -> io::Result<Layout> {
    let mut reader = BufReader::new(source.open_at(0)?);
    if !reader.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        return Ok(Layout::Plain);
    }
    // The first member alone (flate2's bufread decoder stops at its end).
    // A first member that does not decompress to its end (damage, or a whole-file stream cut short) is
    // judged by what it gave before the error.
    let mut member = Vec::new();
    let complete = flate2::bufread::GzDecoder::new(&mut reader)
        .take(LAYOUT_PROBE_BYTES)
        .read_to_end(&mut member)
        .is_ok();
    let Some(header_end) = member.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(if complete { Layout::GzipWhole } else { Layout::GzipPerRecord });
    };
    let header = String::from_utf8_lossy(&member[..header_end]);
    let length = header.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    let Some(length) = length else {
        return Ok(Layout::GzipWhole);
    };
    // The record, its two CRLFs, and nothing after them but blank lines.
    let end = header_end + 4 + length;
    let rest = member.get(end..).unwrap_or_default();
    let one_record = rest.iter().all(|b| b.is_ascii_whitespace()) && (complete || member.len() < end);
    Ok(if one_record { Layout::GzipPerRecord } else { Layout::GzipWhole })
}

/// What kind of record this is (`WARC-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Warcinfo,
    Response,
    Resource,
    Request,
    Metadata,
    Revisit,
    Conversion,
    Continuation,
    Unknown,
}

impl RecordKind {
    fn of(kind: WarcRecordType) -> RecordKind {
        match kind {
            WarcRecordType::WarcInfo => RecordKind::Warcinfo,
            WarcRecordType::Response => RecordKind::Response,
            WarcRecordType::Resource => RecordKind::Resource,
            WarcRecordType::Request => RecordKind::Request,
            WarcRecordType::Metadata => RecordKind::Metadata,
            WarcRecordType::Revisit => RecordKind::Revisit,
            WarcRecordType::Conversion => RecordKind::Conversion,
            WarcRecordType::Continuation => RecordKind::Continuation,
            _ => RecordKind::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Warcinfo => "warcinfo",
            RecordKind::Response => "response",
            RecordKind::Resource => "resource",
            RecordKind::Request => "request",
            RecordKind::Metadata => "metadata",
            RecordKind::Revisit => "revisit",
            RecordKind::Conversion => "conversion",
            RecordKind::Continuation => "continuation",
            RecordKind::Unknown => "unknown",
        }
    }
}

/// A record's HTTP payload, as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A page (a `response` with status 200 and an HTML or unnamed content type): its payload, with the
    /// transfer and content encodings undone.
    Page(Vec<u8>),
    /// A page larger than [`ReadOptions::max_body_bytes`] (encoded or decoded): passed over unread.
    TooLarge { bytes: u64 },
    /// A page whose `Transfer-Encoding` or `Content-Encoding` cannot be undone: why.
    Undecodable(String),
    /// Not a page: not read.
    NotRead,
}

/// One whole record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Where the record starts (its gzip member, or itself uncompressed); `None` in a whole-file gzip.
    pub offset: Option<u64>,
    /// Records before this one in the file (0 for the first), damaged ones not counted.
    pub index: u64,
    pub kind: RecordKind,
    pub record_id: String,
    pub target_uri: Option<String>,
    pub date: Option<DateTime<Utc>>,
    /// The HTTP status, for a record holding an HTTP response.
    pub http_status: Option<u16>,
    /// The HTTP `Content-Type` and `Content-Language`, as sent.
    pub content_type: Option<String>,
    pub content_language: Option<String>,
    pub body: Body,
}

impl Record {
    /// The media type of `content_type`, lower-case, without parameters.
    pub fn mime(&self) -> Option<String> {
        let mime = self.content_type.as_deref()?.split(';').next()?.trim().to_ascii_lowercase();
        (!mime.is_empty()).then_some(mime)
    }
}

/// Where a file is damaged and how: the reader reports it, then goes on at the next whole record it
/// finds (if the layout allows, and there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Where the damage was met: the start of the damaged record, or of the last whole one before it.
    pub offset: u64,
    pub why: String,
    /// The damaged record's id and target, when its header was whole (a body cut short).
    pub record_id: Option<String>,
    pub target_uri: Option<String>,
    pub kind: Option<RecordKind>,
}

/// What the reader yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Record(Record),
    Damage(Damage),
}

#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Pages larger than this are passed over unread ([`Body::TooLarge`]).
    pub max_body_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_body_bytes: 10 << 20 }
    }
}

type Iter = fastwarc::warc::iter::ArchiveIterator;

/// The records of one WARC file, in order, streamed: memory holds one page at a time, whatever the size of
/// the file. Damage is an [`Item::Damage`]; after it the reader looks for the next record that parses
/// (the gzip magic of the next member, or the next `WARC/1.` line) and goes on from there, so one bad
/// record costs only itself. In a whole-file gzip nothing after damage can be read.
pub struct Records<S: Source> {
    source: S,
    layout: Layout,
    options: ReadOptions,
    iter: Option<Iter>,
    /// Where the reader opens the file next (a start, or a point to look for a record from).
    reopen_at: Option<Reopen>,
    /// The start of the last record whose header was read: where a search for the next one begins.
    last_start: u64,
    next_index: u64,
    finished: bool,
}

#[derive(Debug, Clone, Copy)]
enum Reopen {
    /// A record starts here.
    At(u64),
    /// Look for the next record from here on.
    SearchFrom(u64),
}

impl<S: Source> Records<S> {
    /// Reads `source` from its start.
    pub fn new(source: S, layout: Layout, options: ReadOptions) -> Records<S> {
        Records::starting_at(source, layout, options, 0, 0)
    }

    /// Reads `source` from a record at `offset` that has `index` records before it (a checkpoint). In a
    /// whole-file gzip only offset 0 can be entered: skip records instead ([`Records::skip`]).
    pub fn starting_at(
        source: S,
        layout: Layout,
        options: ReadOptions,
        offset: u64,
        index: u64,
    ) -> Records<S> {
        Records {
            source,
            layout,
            options,
            iter: None,
            reopen_at: Some(Reopen::At(offset)),
            last_start: offset,
            next_index: index,
            finished: false,
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    fn open(&mut self, offset: u64) -> io::Result<Iter> {
        let reader = BufReader::with_capacity(1 << 20, self.source.open_at(offset)?);
        Ok(match self.layout {
            Layout::Plain => ArchiveIterator::new(reader).with_stream_detect(false),
            Layout::GzipPerRecord | Layout::GzipWhole => {
                ArchiveIterator::new(fastwarc::stream_io::gzip::GzipReader::new(reader))
                    .with_stream_detect(false)
            }
        })
    }

    /// The next place at or after `from` where a record that parses starts, if any.
    fn find_record(&mut self, from: u64) -> io::Result<Option<u64>> {
        let magic: &[u8] = match self.layout {
            Layout::Plain => b"WARC/1.",
            Layout::GzipPerRecord => &[0x1f, 0x8b, 0x08],
            Layout::GzipWhole => return Ok(None),
        };
        let mut from = from;
        loop {
            let Some(candidate) = scan_for(self.source.open_at(from)?, from, magic)? else {
                return Ok(None);
            };
            let mut iter = self.open(candidate)?;
            let parses = match iter.next() {
                Some(Ok(record)) => record.with_mut(header_whole),
                _ => false,
            };
            if parses {
                return Ok(Some(candidate));
            }
            from = candidate + 1;
        }
    }

    fn damage(
        &mut self,
        offset: u64,
        why: String,
        header: Option<(String, Option<String>, RecordKind)>,
    ) -> Item {
        self.iter = None;
        self.reopen_at = self.layout.has_offsets().then_some(Reopen::SearchFrom(offset + 1));
        if self.reopen_at.is_none() {
            self.finished = true;
        }
        let (record_id, target_uri, kind) = match header {
            Some((id, uri, kind)) => (Some(id), uri, Some(kind)),
            None => (None, None, None),
        };
        Item::Damage(Damage { offset, why, record_id, target_uri, kind })
    }

    /// fastwarc ends a gzip file whose last member is cut short as if it ended there: what follows the last
    /// whole member is damage (a record cut short), found by decompressing that member to its end.
    fn trailing_damage(&mut self) -> Option<Item> {
        if self.layout != Layout::GzipPerRecord {
            return None;
        }
        let start = self.last_start;
        let mut reader = BufReader::new(self.source.open_at(start).ok()?);
        let mut decoder = flate2::bufread::GzDecoder::new(&mut reader);
        if io::copy(&mut decoder, &mut io::sink()).is_err() {
            return None;
        }
        // The decoder consumed the member and no more: the buffered reader's position (which counts what
        // it holds but has not handed out) is the member's end.
        let end = reader.stream_position().ok()?;
        let mut rest = [0u8; 1];
        let more = reader.read(&mut rest).ok()? > 0;
        more.then(|| {
            Item::Damage(Damage {
                offset: end,
                why: format!("the file ends inside a record: the gzip member at byte {end} is cut short"),
                record_id: None,
                target_uri: None,
                kind: None,
            })
        })
    }

    /// Reads what the iterator gives for one record.
    fn take(&mut self, record: &mut WarcRecord) -> Item {
        let start = record.stream_pos();
        let offset = match self.layout {
            Layout::GzipWhole => None,
            _ => Some(start),
        };
        // A reopened file reports offsets from where it was opened: never before the record that started it.
        self.last_start = self.last_start.max(start);
        if !header_whole(record) {
            return self.damage(
                start,
                format!("a record header at byte {start} is cut short or malformed"),
                None,
            );
        }
        let kind = RecordKind::of(record.record_type());
        let record_id = record.record_id().map(|id| id.to_string()).unwrap_or_default();
        // WARC/1.0 writers (wget among them) put the URI in angle brackets, as WARC/1.1 does record ids.
        let target_uri = record.headers().get(WarcHeader::WarcTargetUri).map(|u| {
            let uri = u.trim();
            uri.strip_prefix('<').and_then(|u| u.strip_suffix('>')).unwrap_or(uri).to_string()
        });
        let date = record
            .record_date()
            .and_then(|t| DateTime::<Utc>::from_timestamp(t.unix_timestamp(), t.nanosecond()));
        let (http_status, content_type, content_language) = match record.http_headers() {
            Some(headers) => (
                headers.status_code(),
                headers.get("Content-Type").map(|v| v.to_string()),
                headers.get("Content-Language").map(|v| v.to_string()),
            ),
            None => (None, None, None),
        };
        let header = (record_id.clone(), target_uri.clone(), kind);
        let wanted = kind == RecordKind::Response
            && http_status == Some(200)
            && is_html_or_unnamed(content_type.as_deref());
        let expected = record.content_length();
        // The page is read whole; anything else is passed over unread. Either way every byte of the record
        // must be there: fewer is a record cut short.
        let read_page = wanted && expected <= self.options.max_body_bytes;
        let mut raw = Vec::new();
        let read = if read_page {
            raw.reserve(expected as usize);
            match record.reader_mut() {
                Some(reader) => reader.take(expected).read_to_end(&mut raw),
                None => Ok(0),
            }
        } else {
            record.consume()
        };
        match read {
            Ok(n) if n as u64 == expected => {}
            Ok(n) => {
                let why = format!("the record at byte {start} is cut short: {n} of its {expected} bytes");
                return self.damage(start, why, Some(header));
            }
            Err(error) => {
                let why = format!("the record at byte {start} cannot be read: {error}");
                return self.damage(start, why, Some(header));
            }
        }
        let body = if read_page {
            let encodings = record.http_headers().map(|h| {
                (
                    h.get("Transfer-Encoding").map(|v| v.to_string()),
                    h.get("Content-Encoding").map(|v| v.to_string()),
                )
            });
            let (transfer, content) = encodings.unwrap_or_default();
            decode(raw, transfer.as_deref(), content.as_deref(), self.options.max_body_bytes)
                .unwrap_or_else(Body::Undecodable)
        } else if wanted {
            Body::TooLarge { bytes: expected }
        } else {
            Body::NotRead
        };
        let index = self.next_index;
        self.next_index += 1;
        Item::Record(Record {
            offset,
            index,
            kind,
            record_id,
            target_uri,
            date,
            http_status,
            content_type,
            content_language,
            body,
        })
    }
}

impl<S: Source> Iterator for Records<S> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.finished {
            return None;
        }
        if let Some(reopen) = self.reopen_at.take() {
            let start = match reopen {
                Reopen::At(offset) => Ok(Some(offset)),
                Reopen::SearchFrom(from) => self.find_record(from),
            };
            match start.and_then(|start| start.map(|s| self.open(s).map(|iter| (s, iter))).transpose()) {
                Ok(Some((start, iter))) => {
                    self.last_start = start;
                    self.iter = Some(iter);
                }
                Ok(None) => {
                    self.finished = true;
                    return None;
                }
                Err(error) => {
                    self.finished = true;
                    let at = match reopen {
                        Reopen::At(offset) | Reopen::SearchFrom(offset) => offset,
                    };
                    return Some(Item::Damage(Damage {
                        offset: at,
                        why: format!("cannot read the file from byte {at}: {error}"),
                        record_id: None,
                        target_uri: None,
                        kind: None,
                    }));
                }
            }
        }
        let iter = self.iter.as_mut()?;
        match iter.next() {
            None => {
                self.finished = true;
                self.trailing_damage()
            }
            Some(Err(error)) => {
                let at = self.last_start;
                Some(self.damage(at, format!("unreadable data after the record at byte {at}: {error}"), None))
            }
            Some(Ok(record)) => Some(record.with_mut(|r| self.take(r))),
        }
    }
}

/// Whether a record's header block is whole: a type, a record id in its angle brackets (WARC/1.1 writes
/// `<urn:...>`) and a `Content-Length`. fastwarc gives a header cut by the end of the file as a record
/// with what it had; a body cut short shows as fewer bytes than its length.
fn header_whole(record: &mut WarcRecord) -> bool {
    let id_whole = record.record_id().is_some_and(|id| {
        let id = id.trim();
        !id.is_empty() && (!id.starts_with('<') || id.ends_with('>'))
    });
    id_whole
        && record.record_type() != WarcRecordType::NoType
        && record.headers().contains_key(WarcHeader::ContentLength)
}

fn is_html_or_unnamed(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime.is_empty() || mime == "text/html" || mime == "application/xhtml+xml" || mime == "text/plain"
}

/// Undoes a payload's transfer and content encodings (a crawler may keep the bytes as they came: chunked,
/// gzip, brotli), reading at most `max` bytes of the result.
fn decode(raw: Vec<u8>, transfer: Option<&str>, content: Option<&str>, max: u64) -> Result<Body, String> {
    let mut body = raw;
    for (header, encodings) in [("Transfer-Encoding", transfer), ("Content-Encoding", content)] {
        let Some(encodings) = encodings else { continue };
        for encoding in encodings.split(',').map(|e| e.trim().to_ascii_lowercase()).rev() {
            let reader: Box<dyn Read> = match encoding.as_str() {
                "" | "identity" => continue,
                "chunked" => {
                    Box::new(fastwarc::stream_io::chunked::ChunkedReader::new(io::Cursor::new(body)))
                }
                "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(io::Cursor::new(body))),
                "deflate" => {
                    // `deflate` is zlib-wrapped by the standard and raw by some servers.
                    if body.first().is_some_and(|b| b & 0x0f == 8) {
                        Box::new(flate2::read::ZlibDecoder::new(io::Cursor::new(body)))
                    } else {
                        Box::new(flate2::read::DeflateDecoder::new(io::Cursor::new(body)))
                    }
                }
                "br" => Box::new(fastwarc::stream_io::brotli::BrotliReader::new(io::Cursor::new(body))),
                other => return Err(format!("{header} `{other}` is not supported")),
            };
            let mut decoded = Vec::new();
            reader
                .take(max + 1)
                .read_to_end(&mut decoded)
                .map_err(|e| format!("{header} `{encoding}` does not decode: {e}"))?;
            if decoded.len() as u64 > max {
                return Ok(Body::TooLarge { bytes: decoded.len() as u64 });
            }
            body = decoded;
        }
    }
    Ok(Body::Page(body))
}

/// The first place at or after `from` where `magic` occurs in `reader` (which starts at `from`); for the
/// text magic `WARC/1.`, only at the start of a line.
fn scan_for(reader: OpenedSource, from: u64, magic: &[u8]) -> io::Result<Option<u64>> {
    let at_line_start = magic.is_ascii();
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    // The bytes carried over from the previous buffer: a magic may straddle two reads.
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_start = from;
    let mut previous: Option<u8> = None;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let mut window = std::mem::take(&mut carry);
        window.extend_from_slice(buf);
        let consumed = buf.len();
        reader.consume(consumed);
        let mut search = 0;
        while let Some(found) = find(&window[search..], magic) {
            let at = search + found;
            let before = if at == 0 { previous } else { Some(window[at - 1]) };
            let starts_line = carry_start + at as u64 == 0 || before == Some(b'\n');
            if !at_line_start || starts_line {
                return Ok(Some(carry_start + at as u64));
            }
            search = at + 1;
        }
        let keep = magic.len().saturating_sub(1).min(window.len());
        let cut = window.len() - keep;
        previous = cut.checked_sub(1).map(|i| window[i]).or(previous);
        carry = window[cut..].to_vec();
        carry_start += cut as u64;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
