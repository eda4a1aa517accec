//! The fetcher's WARC archive: every request it sends and every response it gets, written as WARC/1.1
//! `request` and `response` records to files in `fetcher.warc.dir`.
//!
//! - One gzip member per record, so a record can be read alone from its offset; each file starts with a
//!   `warcinfo` record. Records carry `WARC-Block-Digest` and `WARC-Payload-Digest` (SHA-1, base32),
//!   `WARC-Target-URI`, `WARC-IP-Address` (the peer of the connection), and `WARC-Concurrent-To` linking a
//!   request with its response.
//! - A file is named `newspipe-<UTC time it was opened>-<host>-<pid>-<serial>.warc.gz` and, while it is being
//!   written, carries `.open` after that name. It gets its final name only when closed: before a record
//!   would take it past `max_file_bytes`, and at a clean shutdown ([`Archive::close`]). Readers therefore
//!   never take a half-written file for a finished one.
//! - An open file is locked (`flock`, exclusive) by its fetcher. A fetcher starting on the folder closes
//!   the `.open` files nobody holds (a fetcher that crashed): cut after the last whole record, renamed.
//! - Writes are made durable in groups: one fsync, no sooner than `fsync_ms` after the one before, covers
//!   every record written since (so a record waits at most `fsync_ms`, plus the fsync, for its own). [`Archive::write`] returns once the fsync covering its records is done, so a page
//!   published after it points at a record that is on disk.
//!
//! Response bodies are recorded as the fetcher read them: reqwest decompresses content-coded bodies (gzip,
//! brotli, deflate, zstd) and drops `Content-Encoding` and `Content-Length`, so the raw bytes are gone. The
//! response record therefore keeps the decoded body with headers consistent with it: no
//! `Content-Encoding` or `Transfer-Encoding`, and a `Content-Length` of the body as written. The payload
//! digest is of those bytes. Header names are lower case and the reason phrase is the standard one (the
//! client keeps neither as sent).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use data_encoding::BASE32;
use flate2::Compression;
use flate2::write::GzEncoder;
use newspipe_models::WarcLocation;
use reqwest::header::{self, HeaderMap};
use sha1::{Digest, Sha1};

use crate::config::WarcSettings;
use crate::http::Exchange;

/// The ending of a file being written; the file's final name is without it.
pub const OPEN_SUFFIX: &str = ".open";
/// The ending of a closed WARC file.
pub const WARC_SUFFIX: &str = ".warc.gz";

/// Why the archive could not do something; every message names the file or folder.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another process holds a file this fetcher has just created (two fetchers picked the same name).
    #[error("{} is locked by another process", path.display())]
    Locked { path: PathBuf },
    #[error("the WARC archive in {} is closed", dir.display())]
    Closed { dir: PathBuf },
    /// An fsync failed: the kernel may have dropped the data it could not write, so nothing written since
    /// the last good fsync can be trusted, and the archive takes no more records (the fetcher needs a
    /// restart, which closes the file at its last whole record).
    #[error("the WARC archive in {} stopped after a failed write: {message}", dir.display())]
    Failed { dir: PathBuf, message: String },
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ArchiveError + 'a {
    move |source| ArchiveError::Io { action, path: path.to_path_buf(), source }
}

/// A `.open` file left by a fetcher that stopped without closing it, as [`recover`] closed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The closed file (its final name), or the `.open` file when it was removed.
    pub path: PathBuf,
    /// Bytes kept: up to the end of the last whole record.
    pub kept_bytes: u64,
    /// Bytes cut off after it (a record half written).
    pub cut_bytes: u64,
    /// True when not one whole record was left, and the file was removed.
    pub removed: bool,
}

/// The WARC files of one fetcher. Cheap to clone (one writer shared by every clone).
#[derive(Debug, Clone)]
pub struct Archive {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    max_file_bytes: u64,
    fsync_interval: Duration,
    /// The host name in file names and the warcinfo record.
    host: String,
    user_agent: String,
    state: Mutex<State>,
    /// Wakes the fsync thread when records were written (or the archive closed).
    written: Condvar,
    /// How far records are durable; every writer waits on it for its own.
    synced: tokio::sync::watch::Sender<Synced>,
    /// Fsyncs done by the fsync thread (for the tests of grouping).
    fsyncs: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    file: Option<OpenFile>,
    /// Files opened so far (the serial in file names).
    serial: u32,
    /// Writes so far: each [`Archive::write`] gets the next number, made durable in order.
    written: u64,
    /// The write number the latest fsync started on covers.
    sync_started: u64,
    closed: bool,
    failed: Option<String>,
}

#[derive(Debug)]
struct OpenFile {
    /// Shared with the fsync thread, which syncs it without holding the state lock.
    file: Arc<File>,
    open_path: PathBuf,
    final_path: PathBuf,
    bytes: u64,
    /// Records after the warcinfo record.
    records: u64,
}

#[derive(Debug, Clone, Default)]
struct Synced {
    /// Every write numbered up to this is on disk.
    upto: u64,
    failed: Option<String>,
}

/// One exchange made into its two records, compressed: what a write appends to a file.
struct Pair {
    request: Vec<u8>,
    response: Vec<u8>,
    response_id: String,
}

impl Archive {
    /// Opens the archive in `dir` (created if missing): closes the `.open` files no fetcher holds (see
    /// [`recover`]) and starts the fsync thread. The first file is created with the first write.
    ///
    /// `user_agent` goes into each file's warcinfo record.
    pub fn open(dir: &Path, settings: &WarcSettings, user_agent: &str) -> Result<Archive, ArchiveError> {
        std::fs::create_dir_all(dir).map_err(io_error("create the WARC folder", dir))?;
        // Locations in articles are absolute, so that they stay valid whatever folder a reader runs in.
        let dir = std::fs::canonicalize(dir).map_err(io_error("resolve the WARC folder", dir))?;
        for recovered in recover(&dir)? {
            tracing::warn!(
                file = %recovered.path.display(),
                kept_bytes = recovered.kept_bytes,
                cut_bytes = recovered.cut_bytes,
                removed = recovered.removed,
                "closed a WARC file a stopped fetcher left open"
            );
        }
        let (synced, _) = tokio::sync::watch::channel(Synced::default());
        let inner = Arc::new(Inner {
            dir,
            max_file_bytes: settings.max_file_bytes,
            fsync_interval: settings.fsync_interval(),
            host: host_name(),
            user_agent: user_agent.to_owned(),
            state: Mutex::new(State::default()),
            written: Condvar::new(),
            synced,
            fsyncs: std::sync::atomic::AtomicU64::new(0),
        });
        let syncer = inner.clone();
        std::thread::Builder::new()
            .name("warc-fsync".into())
            .spawn(move || syncer.sync_loop())
            .map_err(io_error("start the fsync thread for", &inner.dir))?;
        Ok(Archive { inner })
    }

    /// The folder the files are in (absolute).
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Writes a request and a response record for each exchange, in order and in one file, and returns
    /// once they are on disk (fsync'd): one location per exchange, its response record's.
    pub async fn write(&self, exchanges: Vec<Exchange>) -> Result<Vec<WarcLocation>, ArchiveError> {
        if exchanges.is_empty() {
            return Ok(Vec::new());
        }
        let inner = self.inner.clone();
        let (locations, number) = tokio::task::spawn_blocking(move || inner.append(&exchanges))
            .await
            .map_err(|e| ArchiveError::Failed { dir: self.inner.dir.clone(), message: e.to_string() })??;
        let mut synced = self.inner.synced.subscribe();
        let state = synced
            .wait_for(|s| s.upto >= number || s.failed.is_some())
            .await
            .map_err(|e| ArchiveError::Failed { dir: self.inner.dir.clone(), message: e.to_string() })?
            .clone();
        match state.failed {
            Some(message) if state.upto < number => {
                Err(ArchiveError::Failed { dir: self.inner.dir.clone(), message })
            }
            _ => Ok(locations),
        }
    }

    /// Closes the archive: the file being written is fsync'd and given its final name (returned); writes
    /// after this fail. For a clean shutdown; a fetcher that stops without it leaves a `.open` file, which
    /// the next fetcher to start closes.
    pub fn close(&self) -> Result<Option<PathBuf>, ArchiveError> {
        let mut state = self.inner.lock();
        state.closed = true;
        self.inner.written.notify_all();
        let closed = match state.file.take() {
            Some(file) => Some(self.inner.close_file(file)?),
            None => None,
        };
        let upto = state.written;
        self.inner.mark_synced(upto);
        Ok(closed)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state as consistent as any error would: carry on.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the exchanges' records; returns their locations and the write's number.
    fn append(&self, exchanges: &[Exchange]) -> Result<(Vec<WarcLocation>, u64), ArchiveError> {
        // Compressed before taking the lock: other writers go on meanwhile.
        let pairs: Vec<Pair> = exchanges
            .iter()
            .map(|exchange| {
                let (response_id, request_id) = (record_id(), record_id());
                let response = response_record(exchange, &response_id, &request_id);
                let request = request_record(exchange, &request_id, &response_id);
                Ok(Pair { request: gzip(&request)?, response: gzip(&response)?, response_id })
            })
            .collect::<io::Result<_>>()
            .map_err(io_error("compress a record for", &self.dir))?;
        let total: u64 = pairs.iter().map(|p| (p.request.len() + p.response.len()) as u64).sum();

        let mut state = self.lock();
        if let Some(message) = &state.failed {
            return Err(ArchiveError::Failed { dir: self.dir.clone(), message: message.clone() });
        }
        if state.closed {
            return Err(ArchiveError::Closed { dir: self.dir.clone() });
        }
        // Rotate before a write that would take the file past its size; the exchanges of one write stay
        // together in one file (a file with no record yet takes them, however large).
        if state.file.as_ref().is_some_and(|f| f.records > 0 && f.bytes + total > self.max_file_bytes)
            && let Some(file) = state.file.take()
        {
            self.close_file(file)?;
            // Everything written so far was in that file (or in older ones, closed likewise): on disk now.
            let upto = state.written;
            self.mark_synced(upto);
        }
        if state.file.is_none() {
            state.serial += 1;
            let serial = state.serial;
            state.file = Some(self.create_file(serial)?);
        }
        let file = state.file.as_mut().expect("a file was opened above");
        let start = file.bytes;
        let mut locations = Vec::with_capacity(pairs.len());
        let mut offset = start;
        let mut result = Ok(());
        for pair in &pairs {
            let response_offset = offset + pair.request.len() as u64;
            result =
                (&*file.file).write_all(&pair.request).and_then(|()| (&*file.file).write_all(&pair.response));
            if result.is_err() {
                break;
            }
            offset = response_offset + pair.response.len() as u64;
            locations.push(WarcLocation {
                file: file.final_path.to_string_lossy().into_owned(),
                offset: Some(response_offset),
                record_id: pair.response_id.clone(),
            });
        }
        if let Err(source) = result {
            // Cut the half-written records off, so that the file stays whole records; if that fails too,
            // the file can no longer be trusted and the archive stops (a restart recovers the file).
            let path = file.open_path.clone();
            if let Err(cut) = file.file.set_len(start).and_then(|()| file.file.sync_data()) {
                let message = format!(
                    "writing {} failed ({source}), and cutting it back failed ({cut})",
                    path.display()
                );
                state.failed = Some(message.clone());
                self.fail(message);
            }
            return Err(ArchiveError::Io { action: "write a record to", path, source });
        }
        file.bytes = offset;
        file.records += pairs.len() as u64 * 2;
        state.written += 1;
        let number = state.written;
        self.written.notify_all();
        Ok((locations, number))
    }

    /// Creates the `.open` file of serial `serial`, locked, with its warcinfo record.
    fn create_file(&self, serial: u32) -> Result<OpenFile, ArchiveError> {
        let name = format!(
            "newspipe-{}-{}-{}-{serial:05}{WARC_SUFFIX}",
            Utc::now().format("%Y%m%d%H%M%S"),
            self.host,
            std::process::id()
        );
        let final_path = self.dir.join(&name);
        let open_path = self.dir.join(format!("{name}{OPEN_SUFFIX}"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&open_path)
            .map_err(io_error("create the WARC file", &open_path))?;
        // Locked before anything is in it: a fetcher starting now must not take it for a crashed one's.
        lock(&file, &open_path)?
            .then_some(())
            .ok_or_else(|| ArchiveError::Locked { path: open_path.clone() })?;
        let info = gzip(&warcinfo_record(&name, &self.host, &self.user_agent))
            .map_err(io_error("compress the warcinfo record of", &open_path))?;
        (&file).write_all(&info).map_err(io_error("write the warcinfo record to", &open_path))?;
        tracing::info!(file = %final_path.display(), "WARC file opened");
        Ok(OpenFile { file: Arc::new(file), open_path, final_path, bytes: info.len() as u64, records: 0 })
    }

    /// Fsyncs a file and gives it its final name (and fsyncs the folder, so that the name lasts too).
    fn close_file(&self, file: OpenFile) -> Result<PathBuf, ArchiveError> {
        file.file.sync_all().map_err(io_error("fsync", &file.open_path))?;
        // Renamed while still locked: nobody can take it for an abandoned file in between.
        std::fs::rename(&file.open_path, &file.final_path).map_err(io_error("rename", &file.open_path))?;
        sync_dir(&self.dir)?;
        tracing::info!(file = %file.final_path.display(), bytes = file.bytes, "WARC file closed");
        Ok(file.final_path)
    }

    fn mark_synced(&self, upto: u64) {
        self.synced.send_modify(|s| s.upto = s.upto.max(upto));
    }

    fn fail(&self, message: String) {
        tracing::error!(dir = %self.dir.display(), %message, "the WARC archive stops");
        self.synced.send_modify(|s| s.failed = Some(message));
    }

    /// The fsync thread: after records are written, waits until `fsync_interval` has passed since the last
    /// fsync, then fsyncs the open file once for every record written until then.
    fn sync_loop(&self) {
        let mut last = Instant::now().checked_sub(self.fsync_interval).unwrap_or_else(Instant::now);
        loop {
            {
                let mut state = self.lock();
                while !state.closed && state.written <= state.sync_started {
                    state = self.written.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
                if state.closed {
                    return;
                }
            }
            std::thread::sleep((last + self.fsync_interval).saturating_duration_since(Instant::now()));
            let (file, upto) = {
                let mut state = self.lock();
                if state.closed || state.failed.is_some() {
                    return;
                }
                state.sync_started = state.written;
                (state.file.as_ref().map(|f| (f.file.clone(), f.open_path.clone())), state.written)
            };
            last = Instant::now();
            // The file may have been rotated since: its fsync on close covered its records already.
            let result = match &file {
                Some((file, _)) => {
                    self.fsyncs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    file.sync_data()
                }
                None => Ok(()),
            };
            match result {
                Ok(()) => self.mark_synced(upto),
                Err(error) => {
                    let path = file.map(|(_, path)| path).unwrap_or_default();
                    let message = format!("fsync of {} failed: {error}", path.display());
                    self.lock().failed = Some(message.clone());
                    self.fail(message);
                    return;
                }
            }
        }
    }
}

/// Locks `file` exclusively without waiting: false when another process holds it.
fn lock(file: &File, path: &Path) -> Result<bool, ArchiveError> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(source)) => {
            Err(ArchiveError::Io { action: "lock", path: path.to_path_buf(), source })
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), ArchiveError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error("fsync the folder", dir))
}

/// Closes the `.open` files in `dir` that no process holds locked (their fetcher stopped without closing
/// them): each is cut after its last whole record and renamed to its final name, or removed when not one
/// record is whole. Files another fetcher holds are left alone.
pub fn recover(dir: &Path) -> Result<Vec<Recovered>, ArchiveError> {
    let mut recovered = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(io_error("list the WARC folder", dir))?;
    let mut open_files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with(&format!("{WARC_SUFFIX}{OPEN_SUFFIX}")))
        .collect();
    open_files.sort();
    for open_path in open_files {
        let file = match OpenOptions::new().read(true).write(true).open(&open_path) {
            Ok(file) => file,
            // Closed by its fetcher (or recovered by another one) since the listing.
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ArchiveError::Io { action: "open", path: open_path, source }),
        };
        if !lock(&file, &open_path)? {
            continue;
        }
        // The lock may have come free because its fetcher just closed and renamed the file: then the name
        // now belongs to no file, or to another one, and there is nothing to recover.
        let held = file.metadata().map_err(io_error("read the metadata of", &open_path))?;
        match std::fs::metadata(&open_path) {
            Ok(named) if named.ino() == held.ino() && named.dev() == held.dev() => {}
            _ => continue,
        }
        let kept_bytes = whole_records_length(&file).map_err(io_error("read", &open_path))?;
        let cut_bytes = held.len().saturating_sub(kept_bytes);
        if kept_bytes == 0 {
            std::fs::remove_file(&open_path).map_err(io_error("remove", &open_path))?;
            sync_dir(dir)?;
            recovered.push(Recovered { path: open_path, kept_bytes, cut_bytes, removed: true });
            continue;
        }
        if cut_bytes > 0 {
            file.set_len(kept_bytes).map_err(io_error("cut", &open_path))?;
        }
        file.sync_all().map_err(io_error("fsync", &open_path))?;
        let final_path = final_name(&open_path);
        std::fs::rename(&open_path, &final_path).map_err(io_error("rename", &open_path))?;
        sync_dir(dir)?;
        recovered.push(Recovered { path: final_path, kept_bytes, cut_bytes, removed: false });
    }
    Ok(recovered)
}

fn final_name(open_path: &Path) -> PathBuf {
    let name = open_path.to_string_lossy();
    PathBuf::from(name.strip_suffix(OPEN_SUFFIX).unwrap_or(&name).to_owned())
}

/// The length of the file's leading run of gzip members that each decompress, completely, to one whole
/// WARC record: where a file cut mid-record must be truncated.
pub fn whole_records_length(file: &File) -> io::Result<u64> {
    let mut reader = Counting { inner: BufReader::with_capacity(64 * 1024, file), position: 0 };
    let mut whole = 0;
    loop {
        if reader.fill_buf()?.is_empty() {
            return Ok(whole);
        }
        // bufread::GzDecoder reads one member and stops right after its trailer.
        let mut record = Vec::new();
        match flate2::bufread::GzDecoder::new(&mut reader).read_to_end(&mut record) {
            Ok(_) if is_whole_record(&record) => whole = reader.position,
            _ => return Ok(whole),
        }
    }
}

/// A `BufRead` that counts the bytes taken from it.
struct Counting<R> {
    inner: R,
    position: u64,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.position += amount as u64;
        self.inner.consume(amount);
    }
}

/// True when `bytes` is exactly one WARC record: a `WARC/` header block whose `Content-Length` bytes of
/// content follow, then the two CRLFs that end a record.
fn is_whole_record(bytes: &[u8]) -> bool {
    let Some(head_end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    if !bytes.starts_with(b"WARC/") {
        return false;
    }
    let head = String::from_utf8_lossy(&bytes[..head_end]);
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    let Some(length) = length else { return false };
    bytes.len() == head_end + 4 + length + 4 && bytes.ends_with(b"\r\n\r\n")
}

fn gzip(record: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(record.len() / 3 + 64), Compression::default());
    encoder.write_all(record)?;
    encoder.finish()
}

fn record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

fn warc_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `sha1:` and the base32 of the SHA-1 of `bytes`, as WARC digests are written.
pub fn sha1_digest(bytes: &[u8]) -> String {
    format!("sha1:{}", BASE32.encode(&Sha1::digest(bytes)))
}

/// A whole WARC/1.1 record: `fields` (name, value) in order, then the digests and length of `block`, the
/// block, and the record's end. `payload`: the part of the block the payload digest is of.
fn warc_record(fields: &[(&str, String)], block: &[u8], payload: Option<&[u8]>) -> Vec<u8> {
    let mut head = String::from("WARC/1.1\r\n");
    let mut field = |name: &str, value: &str| {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    };
    for (name, value) in fields {
        field(name, value);
    }
    if let Some(payload) = payload {
        field("WARC-Payload-Digest", &sha1_digest(payload));
    }
    field("WARC-Block-Digest", &sha1_digest(block));
    field("Content-Length", &block.len().to_string());
    let mut record = Vec::with_capacity(head.len() + 2 + block.len() + 4);
    record.extend_from_slice(head.as_bytes());
    record.extend_from_slice(b"\r\n");
    record.extend_from_slice(block);
    record.extend_from_slice(b"\r\n\r\n");
    record
}

fn push_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

fn common_fields(
    exchange: &Exchange,
    kind: &str,
    id: &str,
    at: DateTime<Utc>,
    other: &str,
) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("WARC-Type", kind.to_owned()),
        ("WARC-Record-ID", id.to_owned()),
        ("WARC-Date", warc_date(at)),
        ("WARC-Target-URI", exchange.url.clone()),
    ];
    if let Some(ip) = exchange.remote_ip {
        fields.push(("WARC-IP-Address", ip.to_string()));
    }
    fields.push(("WARC-Concurrent-To", other.to_owned()));
    fields
}

/// The request record: the request line and headers as sent (a GET has no body).
fn request_record(exchange: &Exchange, id: &str, response_id: &str) -> Vec<u8> {
    let target = url::Url::parse(&exchange.url)
        .map(|url| match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        })
        .unwrap_or_else(|_| "/".to_owned());
    let mut block = format!("{} {target} HTTP/1.1\r\n", exchange.method).into_bytes();
    push_headers(&mut block, &exchange.request_headers);
    block.extend_from_slice(b"\r\n");
    let mut fields = common_fields(exchange, "request", id, exchange.requested_at, response_id);
    fields.push(("Content-Type", "application/http;msgtype=request".to_owned()));
    warc_record(&fields, &block, Some(b""))
}

/// The response record: status line, headers made consistent with the decoded body (see the module's
/// documentation), and the body.
fn response_record(exchange: &Exchange, id: &str, request_id: &str) -> Vec<u8> {
    let reason = exchange.status.canonical_reason().unwrap_or("");
    let mut block = format!("{:?} {} {reason}\r\n", exchange.version, exchange.status.as_u16()).into_bytes();
    let mut headers = exchange.response_headers.clone();
    for name in [header::CONTENT_ENCODING, header::TRANSFER_ENCODING, header::CONTENT_LENGTH] {
        headers.remove(name);
    }
    push_headers(&mut block, &headers);
    block.extend_from_slice(format!("content-length: {}\r\n\r\n", exchange.body.len()).as_bytes());
    let payload_start = block.len();
    block.extend_from_slice(&exchange.body);
    let mut fields = common_fields(exchange, "response", id, exchange.responded_at, request_id);
    if exchange.body_incomplete {
        // The body was not read whole (a limit, a timeout): the record has the head only.
        fields.push(("WARC-Truncated", "unspecified".to_owned()));
    }
    fields.push(("Content-Type", "application/http;msgtype=response".to_owned()));
    warc_record(&fields, &block, Some(&block[payload_start..]))
}

/// The warcinfo record that starts each file.
fn warcinfo_record(file_name: &str, host: &str, user_agent: &str) -> Vec<u8> {
    let block = format!(
        "software: newspipe-fetcher/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: \
         https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\nhostname: \
         {host}\r\nhttp-header-user-agent: {user_agent}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let fields = [
        ("WARC-Type", "warcinfo".to_owned()),
        ("WARC-Record-ID", record_id()),
        ("WARC-Date", warc_date(Utc::now())),
        ("WARC-Filename", file_name.to_owned()),
        ("Content-Type", "application/warc-fields".to_owned()),
    ];
    warc_record(&fields, block.as_bytes(), None)
}

/// This machine's host name, as file names can hold it (letters, digits, `.` and `_`; a `-` would blur the
/// name's parts).
fn host_name() -> String {
    let raw = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok().filter(|name| !name.trim().is_empty()))
        .unwrap_or_else(|| "localhost".to_owned());
    raw.trim().chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use reqwest::{Method, StatusCode, Version};

    /// A folder of its own under the system's temporary folder, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            let dir = std::env::temp_dir().join(format!("newspipe-archive-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn files(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn settings() -> WarcSettings {
        WarcSettings { dir: None, max_file_bytes: 1024 * 1024, fsync_ms: 10 }
    }

    fn exchange(path: &str, body: &str) -> Exchange {
        let mut request_headers = HeaderMap::new();
        request_headers.insert(header::HOST, HeaderValue::from_static("news.example"));
        request_headers.insert(header::USER_AGENT, HeaderValue::from_static("newspipe-test"));
        let mut response_headers = HeaderMap::new();
        response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        // What a server sent for a compressed body: gone from what the record says.
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        Exchange {
            method: Method::GET,
            url: format!("http://news.example{path}"),
            requested_at: Utc::now(),
            request_headers,
            responded_at: Utc::now(),
            version: Version::HTTP_11,
            status: StatusCode::OK,
            response_headers,
            remote_ip: Some("192.0.2.7".parse().unwrap()),
            body: body.as_bytes().to_vec(),
            body_incomplete: false,
        }
    }

    /// The records of a file, each decompressed from its own gzip member, with the member's offset.
    fn members(path: &Path) -> Vec<(u64, String)> {
        let bytes = std::fs::read(path).unwrap();
        let mut reader = Counting { inner: &bytes[..], position: 0 };
        let mut records = Vec::new();
        while !reader.fill_buf().unwrap().is_empty() {
            let offset = reader.position;
            let mut record = Vec::new();
            flate2::bufread::GzDecoder::new(&mut reader).read_to_end(&mut record).unwrap();
            assert!(is_whole_record(&record), "{}", String::from_utf8_lossy(&record));
            records.push((offset, String::from_utf8(record).unwrap()));
        }
        records
    }

    fn field<'a>(record: &'a str, name: &str) -> Option<&'a str> {
        let head = &record[..record.find("\r\n\r\n").unwrap()];
        head.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
    }

    /// The record read from `offset`: one member, as a reader given an article's location does.
    fn record_at(path: &str, offset: u64) -> String {
        use std::io::{Seek, SeekFrom};
        let mut file = File::open(path).unwrap();
        file.seek(SeekFrom::Start(offset)).unwrap();
        let mut record = String::new();
        flate2::read::GzDecoder::new(file).read_to_string(&mut record).unwrap();
        record
    }

    #[tokio::test]
    async fn each_exchange_is_a_request_and_a_response_record_in_gzip_members_of_their_own() {
        let dir = TempDir::new();
        let archive = Archive::open(&dir.0, &settings(), "newspipe-test").unwrap();
        let one = exchange("/a?x=1", "<p>one</p>");
        let locations = archive.write(vec![one.clone(), exchange("/b", "<p>two</p>")]).await.unwrap();
        assert_eq!(locations.len(), 2);
        let [name] = &dir.files()[..] else { panic!("{:?}", dir.files()) };
        assert!(name.ends_with(".warc.gz.open"), "being written: {name}");
        let closed = archive.close().unwrap().unwrap();
        assert_eq!(closed.to_string_lossy(), locations[0].file, "the location names the final file");
        let name = closed.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(dir.files(), vec![name.clone()]);
        let parts: Vec<&str> = name.trim_end_matches(".warc.gz").split('-').collect();
        assert_eq!(parts[0], "newspipe");
        assert_eq!(parts[1].len(), 14, "UTC time to the second: {name}");
        assert_eq!(parts[3], std::process::id().to_string());
        assert_eq!(parts[4], "00001");

        let records = members(&closed);
        let kinds: Vec<&str> = records.iter().map(|(_, r)| field(r, "WARC-Type").unwrap()).collect();
        assert_eq!(kinds, ["warcinfo", "request", "response", "request", "response"]);
        assert!(records.iter().all(|(_, r)| r.starts_with("WARC/1.1\r\n")));
        assert_eq!(field(&records[0].1, "WARC-Filename"), Some(name.as_str()));

        let (request, (offset, response)) = (&records[1].1, &records[2]);
        assert_eq!(locations[0].offset, Some(*offset), "the location is the response's member");
        assert_eq!(field(response, "WARC-Record-ID"), Some(locations[0].record_id.as_str()));
        assert_eq!(field(request, "WARC-Concurrent-To"), Some(locations[0].record_id.as_str()));
        assert_eq!(field(response, "WARC-Concurrent-To"), field(request, "WARC-Record-ID"));
        for record in [request, response] {
            assert_eq!(field(record, "WARC-Target-URI"), Some("http://news.example/a?x=1"));
            assert_eq!(field(record, "WARC-IP-Address"), Some("192.0.2.7"));
        }
        assert!(request.contains(
            "\r\n\r\nGET /a?x=1 HTTP/1.1\r\nhost: news.example\r\nuser-agent: newspipe-test\r\n\r\n"
        ));
        let block = &response[response.find("\r\n\r\n").unwrap() + 4..response.len() - 4];
        assert_eq!(
            block,
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 10\r\n\r\n<p>one</p>"
        );
        assert_eq!(field(response, "WARC-Payload-Digest"), Some(sha1_digest(b"<p>one</p>").as_str()));
        assert_eq!(field(response, "WARC-Block-Digest"), Some(sha1_digest(block.as_bytes()).as_str()));
        assert_eq!(field(response, "Content-Length"), Some(block.len().to_string().as_str()));
        assert_eq!(record_at(&locations[1].file, locations[1].offset.unwrap()), records[4].1);
        assert!(matches!(archive.write(vec![one]).await, Err(ArchiveError::Closed { .. })));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn writes_wait_for_one_fsync_shared_by_every_record_written_meanwhile() {
        let dir = TempDir::new();
        let grouped = WarcSettings { fsync_ms: 300, ..settings() };
        let archive = Archive::open(&dir.0, &grouped, "newspipe-test").unwrap();
        // The first write after a quiet spell is synced at once (not timed here: a busy machine's fsync may
        // take longer than fsync_ms).
        archive.write(vec![exchange("/0", "zero")]).await.unwrap();
        // Twenty writes together, right after that fsync: each waits for the next one, which covers all.
        let started = Instant::now();
        let writes = (1..=20).map(|n| {
            let archive = archive.clone();
            tokio::spawn(async move { archive.write(vec![exchange(&format!("/{n}"), "body")]).await })
        });
        for write in writes.collect::<Vec<_>>() {
            write.await.unwrap().unwrap();
        }
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(200),
            "no fsync sooner than fsync_ms after the last: {waited:?}"
        );
        let fsyncs = archive.inner.fsyncs.load(std::sync::atomic::Ordering::Relaxed);
        assert!(fsyncs <= 3, "{fsyncs} fsyncs for 21 writes");
        archive.close().unwrap();
    }

    #[tokio::test]
    async fn a_file_is_closed_and_another_opened_before_a_write_would_take_it_past_its_size() {
        let dir = TempDir::new();
        let small = WarcSettings { max_file_bytes: 1, ..settings() };
        let archive = Archive::open(&dir.0, &small, "newspipe-test").unwrap();
        let first = archive.write(vec![exchange("/1", "one")]).await.unwrap();
        let second = archive.write(vec![exchange("/2", "two"), exchange("/3", "three")]).await.unwrap();
        assert_ne!(first[0].file, second[0].file);
        assert_eq!(second[0].file, second[1].file, "the exchanges of one write stay together");
        let files = dir.files();
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(
            files[0].ends_with("-00001.warc.gz") && files[1].ends_with("-00002.warc.gz.open"),
            "{files:?}"
        );
        archive.close().unwrap();
        assert!(dir.files().iter().all(|name| name.ends_with(".warc.gz")), "{:?}", dir.files());
        for location in first.iter().chain(&second) {
            let record = record_at(&location.file, location.offset.unwrap());
            assert_eq!(field(&record, "WARC-Record-ID"), Some(location.record_id.as_str()));
        }
    }

    #[tokio::test]
    async fn an_unlocked_open_file_is_cut_after_its_last_whole_record_and_renamed_and_a_locked_one_left_alone()
     {
        let dir = TempDir::new();
        let archive = Archive::open(&dir.0, &settings(), "newspipe-test").unwrap();
        archive.write(vec![exchange("/1", "one"), exchange("/2", "two")]).await.unwrap();
        assert_eq!(recover(&dir.0).unwrap(), vec![], "a file its fetcher holds is not touched");
        let closed = archive.close().unwrap().unwrap();
        let whole = std::fs::read(&closed).unwrap();
        std::fs::remove_file(&closed).unwrap();

        // What a crash leaves: the file under its open name, a record half written at its end.
        let open = dir.0.join(format!("{}{OPEN_SUFFIX}", closed.file_name().unwrap().to_string_lossy()));
        let half = gzip(&response_record(&exchange("/3", "three"), &record_id(), &record_id())).unwrap();
        let mut crashed = whole.clone();
        crashed.extend_from_slice(&half[..half.len() / 2]);
        std::fs::write(&open, &crashed).unwrap();
        // And a file that never got one whole record.
        let empty = dir.0.join("newspipe-20260101000000-h-1-00001.warc.gz.open");
        std::fs::write(&empty, &half[..10]).unwrap();

        let recovered = recover(&dir.0).unwrap();
        assert_eq!(
            recovered,
            vec![
                Recovered { path: empty.clone(), kept_bytes: 0, cut_bytes: 10, removed: true },
                Recovered {
                    path: closed.clone(),
                    kept_bytes: whole.len() as u64,
                    cut_bytes: (half.len() / 2) as u64,
                    removed: false,
                },
            ]
        );
        assert_eq!(std::fs::read(&closed).unwrap(), whole);
        assert_eq!(dir.files(), vec![closed.file_name().unwrap().to_string_lossy().into_owned()]);
        assert_eq!(members(&closed).len(), 5);
    }

    #[test]
    fn only_a_record_with_all_its_content_and_its_end_is_whole() {
        let record = warc_record(&[("WARC-Type", "resource".to_owned())], b"abc", None);
        assert!(is_whole_record(&record));
        assert!(!is_whole_record(&record[..record.len() - 1]), "without its end");
        assert!(!is_whole_record(&[&record[..], b"x"].concat()), "more than its length");
        assert!(!is_whole_record(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\r\n\r\n"));
        assert!(!is_whole_record(b"WARC/1.1\r\nWARC-Type: resource\r\n\r\n\r\n\r\n"), "no length");
    }

    #[test]
    fn a_digest_is_sha1_in_base32() {
        assert_eq!(sha1_digest(b""), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
    }

    #[test]
    fn a_body_not_read_whole_is_recorded_as_truncated_with_the_head_only() {
        let mut cut = exchange("/big", "");
        cut.body_incomplete = true;
        let record = String::from_utf8(response_record(&cut, &record_id(), &record_id())).unwrap();
        assert_eq!(field(&record, "WARC-Truncated"), Some("unspecified"));
        assert!(record.ends_with("content-length: 0\r\n\r\n\r\n\r\n"));
    }
}
