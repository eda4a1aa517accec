//! WARC in: `submit --warc` and `--warc-paths`, read by `newspipe-warc-reader`, every response record with
//! exactly one outcome, one article per target URI; damaged files; a reader killed mid-file; a remote file
//! whose connection drops; a real crawler's WARC (wget).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use newspipe_testkit::warc::{Compression, WarcBuilder, chunked, gzip, http_response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::web::article_html;
use crate::support::{TestApp, Worker, spawn_app};

/// A file of `pages` article pages (with requests and metadata between them), a revisit, a PNG and a 404.
fn mixed_warc(tag: &str, pages: u32) -> WarcBuilder {
    let mut warc = WarcBuilder::new();
    warc.warcinfo();
    for n in 0..pages {
        let uri = format!("http://archive.test/{tag}/{n}");
        warc.request(&uri);
        warc.page(&uri, &article_html(n));
        warc.metadata(&uri);
    }
    warc.revisit(&format!("http://archive.test/{tag}/0"));
    warc.response(
        &format!("http://archive.test/{tag}/logo.png"),
        &http_response(200, "image/png", &[], b"\x89PNG\r\n"),
    );
    warc.response(
        &format!("http://archive.test/{tag}/gone"),
        &http_response(404, "text/html", &[], b"<p>gone</p>"),
    );
    warc
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(&app.db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_record_of_every_layout_gets_one_outcome_and_every_page_one_article_with_its_source() {
    let mut app = spawn_app().await;
    let mut paths = Vec::new();
    for (tag, compression, name) in [
        ("plain", Compression::None, "a.warc"),
        ("members", Compression::PerRecord, "b.warc.gz"),
        ("whole", Compression::Whole, "c.warc.gz"),
    ] {
        let (bytes, _) = mixed_warc(tag, 4).build(compression);
        paths.push(write(&app.dir, name, &bytes));
    }
    // Chunked and gzip payloads as a crawler may keep them, and a page in Latin-1.
    let mut encoded = WarcBuilder::new();
    let html = article_html(7);
    encoded.response(
        "http://archive.test/enc/chunked",
        &http_response(200, "text/html", &[("Transfer-Encoding", "chunked")], &chunked(html.as_bytes(), 64)),
    );
    encoded.response(
        "http://archive.test/enc/gzip",
        &http_response(200, "text/html", &[("Content-Encoding", "gzip")], &gzip(html.as_bytes())),
    );
    let latin1 = html.replace("utf-8", "iso-8859-1").replace("Council", "Conseil général élu").into_bytes();
    let latin1: Vec<u8> = String::from_utf8(latin1).unwrap().chars().map(|c| c as u32 as u8).collect();
    encoded.response(
        "http://archive.test/enc/latin1",
        &http_response(200, "text/html; charset=iso-8859-1", &[], &latin1),
    );
    paths.push(write(&app.dir, "d.warc.gz", &encoded.build(Compression::PerRecord).0));

    app.start_worker(Worker::WarcReader);
    app.start_worker(Worker::Store);
    let mut args = vec!["submit", "--warc", "--wait", "--timeout", "120"];
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let output = app.cli_async(&args).await;
    assert!(output.status.success(), "{}\n{}", text(&output), app.logs());
    assert!(text(&output).contains("stored 15"), "{}", text(&output));

    // 3 files x (4 pages + PNG + 404) + 3 encoded pages: one outcome each; requests, metadata, revisits none.
    assert_eq!(app.outcome_count().await, 3 * 6 + 3);
    assert_eq!(count(&app, "SELECT count(*) FROM outcomes WHERE reason_code = 'archived_status'").await, 3);
    assert_eq!(count(&app, "SELECT count(*) FROM outcomes WHERE reason_code = 'not_html'").await, 3);
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, 15);
    let (file, offset, record_id, fetched): (String, Option<i64>, String, String) = sqlx::query_as(
        "SELECT warc_file, warc_offset, warc_record_id, to_char(fetched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
         FROM articles WHERE url = 'http://archive.test/members/2'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(file, names[1]);
    assert!(offset.is_some_and(|o| o > 0) && record_id.starts_with("<urn:uuid:"), "{offset:?} {record_id}");
    assert_eq!(fetched, "2024-01-01", "WARC-Date is the fetch time");
    let whole: Option<i64> =
        sqlx::query_scalar("SELECT warc_offset FROM articles WHERE url = 'http://archive.test/whole/2'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(whole, None, "a whole-file gzip has no offsets");
    let latin: String =
        sqlx::query_scalar("SELECT title FROM articles WHERE url = 'http://archive.test/enc/latin1'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(latin.contains("Conseil général élu"), "{latin}");
    // Submitting the same files again records nothing twice.
    let output = app.cli_async(&args).await;
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(app.outcome_count().await, 3 * 6 + 3);
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, 15);
    let status = app.cli(&["status"], None);
    assert!(text(&status).contains("warc files: 4 done"), "{}", text(&status));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_file_keeps_every_record_it_can_and_fails_saying_where_and_why() {
    let mut app = spawn_app().await;
    let mut warc = WarcBuilder::new();
    for n in 0..6 {
        warc.page(&format!("http://damaged.test/{n}"), &article_html(n));
    }
    let (bytes, offsets) = warc.build(Compression::PerRecord);
    // A bad gzip member in the middle (record 2), and the file cut in the middle of record 5.
    let mut bad = bytes.clone();
    let middle = (offsets[2] + (offsets[3] - offsets[2]) / 2) as usize;
    for b in &mut bad[middle..middle + 16] {
        *b ^= 0xff;
    }
    let cut = (offsets[5] + 40) as usize;
    let path = write(&app.dir, "damaged.warc.gz", &bad[..cut]);
    app.start_worker(Worker::WarcReader);
    app.start_worker(Worker::Store);
    let output =
        app.cli_async(&["submit", "--warc", path.to_str().unwrap(), "--wait", "--timeout", "120"]).await;
    assert_eq!(output.status.code(), Some(3), "{}\n{}", text(&output), app.logs());
    assert!(text(&output).contains("failed: "), "{}", text(&output));
    let stored: HashSet<String> = sqlx::query_scalar("SELECT url FROM articles")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: HashSet<String> = [0, 1, 3, 4].iter().map(|n| format!("http://damaged.test/{n}")).collect();
    assert_eq!(stored, expected, "the records before, between and after the damage");
    let (state, error, at, damaged): (String, String, i64, i64) =
        sqlx::query_as("SELECT state, error, error_offset, damaged FROM warc_files")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(state, "failed");
    assert!(at >= offsets[1] as i64 && at <= offsets[2] as i64, "the first damage: {at} ({error})");
    assert_eq!(damaged, 2, "{error}");
    // The reader keeps serving: a good file after it is read.
    let (good, _) = mixed_warc("after", 2).build(Compression::PerRecord);
    let good = write(&app.dir, "good.warc.gz", &good);
    let output =
        app.cli_async(&["submit", "--warc", good.to_str().unwrap(), "--wait", "--timeout", "120"]).await;
    assert!(output.status.success(), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_file_is_refused_by_submit_and_a_listing_picks_files_by_the_dates_in_their_names() {
    let mut app = spawn_app().await;
    let output = app.cli(&["submit", "--warc", "/nonexistent/x.warc.gz"], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("/nonexistent/x.warc.gz"), "{}", text(&output));
    let output = app.cli(&["submit", "--warc", "--feed", "x"], None);
    assert_eq!(output.status.code(), Some(2), "--warc conflicts with --feed: {}", text(&output));

    let dir = app.dir.join("crawl-data");
    std::fs::create_dir_all(&dir).unwrap();
    let mut listing = String::new();
    for (n, stamp) in
        ["20240101000000", "20240102000000", "20240103000000", "20240104000000"].iter().enumerate()
    {
        let (bytes, _) = mixed_warc(&format!("day{n}"), 1).build(Compression::PerRecord);
        let name = format!("CC-NEWS-{stamp}-0000{n}.warc.gz");
        write(&dir, &name, &bytes);
        listing.push_str(&format!("crawl-data/{name}\n"));
    }
    let listing_path = write(&app.dir, "warc.paths.gz", &gzip(listing.as_bytes()));
    app.start_worker(Worker::WarcReader);
    app.start_worker(Worker::Store);
    let base = app.dir.display().to_string();
    let output = app
        .cli_async(&[
            "submit",
            "--warc-paths",
            listing_path.to_str().unwrap(),
            "--warc-base",
            &base,
            "--since",
            "2024-01-02",
            "--until",
            "2024-01-04",
            "--wait",
            "--timeout",
            "120",
        ])
        .await;
    assert!(output.status.success(), "{}\n{}", text(&output), app.logs());
    let stored: HashSet<String> = sqlx::query_scalar("SELECT url FROM articles")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        stored,
        HashSet::from(["http://archive.test/day1/0".to_string(), "http://archive.test/day2/0".to_string()])
    );
    let output = app.cli(&["submit", "--warc-paths", listing_path.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(2), "relative paths need --warc-base: {}", text(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_killed_in_the_middle_of_a_file_loses_and_duplicates_nothing() {
    let mut app = spawn_app().await;
    let pages = 1500;
    let (bytes, _) = mixed_warc("kill", pages).build(Compression::PerRecord);
    let path = write(&app.dir, "big.warc.gz", &bytes);
    let reader =
        app.start_worker_with(Worker::WarcReader, &[("NEWSPIPE__WARC_READER__CHECKPOINT_SECS", "1")]);
    app.start_worker(Worker::Store);
    let output = app.cli_async(&["submit", "--warc", path.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", text(&output));
    // Killed once a checkpoint is written and some outcomes are recorded, well before the end.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let read = count(&app, "SELECT COALESCE(max(records_read), 0) FROM warc_files").await;
        if read > 300 && app.outcome_count().await > 100 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no progress: {}", app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.workers[reader].signal("KILL");
    app.workers[reader].wait_exit(Duration::from_secs(10));
    app.start_worker(Worker::WarcReader);
    let expected = i64::from(pages) + 2;
    app.wait_for_outcomes(expected, Duration::from_secs(300)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while count(&app, "SELECT count(*) FROM warc_files WHERE state = 'done'").await < 1 {
        assert!(std::time::Instant::now() < deadline, "the file never finished: {}", app.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.outcome_count().await, expected, "exactly one outcome per response record");
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, i64::from(pages));
    let (attempts, responses, read): (i32, i64, i64) =
        sqlx::query_as("SELECT attempts, responses, records_read FROM warc_files")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(attempts, 2, "redelivered once");
    assert_eq!(responses, expected, "the counts survive the resume");
    assert_eq!(read, i64::from(pages) * 3 + 4);
    assert!(
        app.logs().contains("warc file resumed"),
        "resumed at the checkpoint, not read again from the start"
    );
}

/// Serves one file over HTTP/1.1 with `Range` support; the first `drops` responses are cut after
/// `cut_after` bytes (the connection closes mid-file).
async fn flaky_file_server(
    bytes: Vec<u8>,
    drops: u32,
    cut_after: usize,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let ranges = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = ranges.clone();
    let bytes = std::sync::Arc::new(bytes);
    let served = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (bytes, seen, served) = (bytes.clone(), seen.clone(), served.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&request).to_string();
                let start = request
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("range: bytes=")
                            .map(|r| r.trim_end_matches('-').parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                seen.lock().unwrap().push(format!("{start}"));
                let body = &bytes[start..];
                let head = if start > 0 {
                    format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                        body.len(),
                        bytes.len() - 1,
                        bytes.len()
                    )
                } else {
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
                };
                let _ = socket.write_all(head.as_bytes()).await;
                let cut = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < drops;
                let end = if cut { cut_after.min(body.len()) } else { body.len() };
                let _ = socket.write_all(&body[..end]).await;
                let _ = socket.flush().await;
            });
        }
    });
    (format!("http://{address}/CC-NEWS-20240101000000-00000.warc.gz"), ranges)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_file_whose_connection_drops_is_resumed_by_range_with_the_same_result() {
    let mut app = spawn_app().await;
    let (bytes, _) = mixed_warc("remote", 30).build(Compression::PerRecord);
    let length = bytes.len();
    // The layout probe's request and the first read are cut; the read resumes from where it was.
    let (url, ranges) = flaky_file_server(bytes, 2, length / 3).await;
    app.start_worker_with(
        Worker::WarcReader,
        &[
            ("NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES", "true"),
            ("NEWSPIPE__WARC_READER__DOWNLOAD_RETRY_MS", "50"),
        ],
    );
    app.start_worker(Worker::Store);
    let output = app.cli_async(&["submit", "--warc", &url, "--wait", "--timeout", "120"]).await;
    assert!(output.status.success(), "{}\n{}", text(&output), app.logs());
    assert_eq!(app.outcome_count().await, 32);
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, 30);
    let ranges = ranges.lock().unwrap().clone();
    assert!(ranges.iter().any(|r| r != "0"), "a range request resumed the download: {ranges:?}");

    // Without allow_private_addresses a loopback source is refused, and the file fails saying so.
    let mut guarded = spawn_app().await;
    guarded.start_worker_with(Worker::WarcReader, &[("NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES", "false")]);
    guarded.start_worker(Worker::Store);
    let output = guarded.cli_async(&["submit", "--warc", &url, "--wait", "--timeout", "60"]).await;
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(text(&output).contains("allow_private_addresses"), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warc_written_by_wget_is_read_like_any_other() {
    assert!(
        std::process::Command::new("wget").arg("--version").output().is_ok(),
        "wget is not installed (deploy/test.sh installs it: apt-get install wget)"
    );
    let mut app = spawn_app().await;
    let dir = app.dir.join("wget");
    std::fs::create_dir_all(&dir).unwrap();
    let urls: Vec<String> = (1..=3).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    let mut wget = std::process::Command::new("wget");
    wget.current_dir(&dir)
        .args(["--quiet", "--warc-file=crawl", "--no-warc-keep-log", "--tries=1", "-O", "/dev/null"])
        .args(&urls);
    let status = wget.status().unwrap();
    assert!(status.success() || status.code() == Some(8), "wget: {status}");
    let path = dir.join("crawl.warc.gz");
    assert!(path.exists(), "wget wrote no WARC");
    app.start_worker(Worker::WarcReader);
    app.start_worker(Worker::Store);
    let output =
        app.cli_async(&["submit", "--warc", path.to_str().unwrap(), "--wait", "--timeout", "120"]).await;
    assert!(output.status.success(), "{}\n{}", text(&output), app.logs());
    let stored: HashSet<String> = sqlx::query_scalar("SELECT url FROM articles")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(stored, urls.iter().cloned().collect::<HashSet<_>>());
}

/// The peak resident memory of a process, from /proc (VmHWM), in KiB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_gigabyte_file_is_streamed_in_bounded_memory() {
    let mut app = spawn_app().await;
    // Over 2 GiB: forty-two 50 MiB pages, over extractor.max_page_bytes and passed over unread, and a few pages
    // between them that are read. Written straight to disk: the test holds no more than one record either.
    let path = app.dir.join("two-gigabytes.warc");
    // Removed however the test ends: 2 GiB left in a temporary folder fills a small disk.
    struct RemovedOnDrop(std::path::PathBuf);
    impl Drop for RemovedOnDrop {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _file = RemovedOnDrop(path.clone());
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let filler = vec![b'x'; 1 << 20];
        for n in 0..42u32 {
            let mut small = WarcBuilder::new();
            small.page(&format!("http://big.test/small/{n}"), &article_html(n));
            file.write_all(&small.build(Compression::None).0).unwrap();
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n", 50 << 20);
            let block = head.len() + (50 << 20);
            write!(
                file,
                "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{n:012}>\r\n\
                 WARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Target-URI: http://big.test/huge/{n}\r\n\
                 Content-Type: application/http; msgtype=response\r\nContent-Length: {block}\r\n\r\n{head}"
            )
            .unwrap();
            for _ in 0..50 {
                file.write_all(&filler).unwrap();
            }
            file.write_all(b"\r\n\r\n").unwrap();
        }
    }
    assert!(std::fs::metadata(&path).unwrap().len() > 2 << 30);
    let reader = app.start_worker(Worker::WarcReader);
    app.start_worker(Worker::Store);
    let output =
        app.cli_async(&["submit", "--warc", path.to_str().unwrap(), "--wait", "--timeout", "120"]).await;
    // The huge pages fail `too large`: exit 3, as for any failed record.
    assert_eq!(output.status.code(), Some(3), "{}\n{}", text(&output), app.logs());
    assert_eq!(app.outcome_count().await, 84);
    assert_eq!(count(&app, "SELECT count(*) FROM outcomes WHERE reason_code = 'too_large'").await, 42);
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, 42);
    let peak = peak_rss_kb(app.workers[reader].pid());
    eprintln!("the reader's peak resident memory for a {} MiB file: {peak} KiB", (50 * 42) + 1);
    assert!(peak < 128 * 1024, "the reader's peak memory was {peak} KiB for a 2 GiB file");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dev_corpus_read_from_warc_files_extracts_as_newspipe_extract_does_page_for_page() {
    let Some(shared) = crate::support::shared_dir() else {
        eprintln!("skipped: ../shared is not here");
        return;
    };
    let corpus = shared.join("corpus/wcxb-dev-articles");
    let mut app = spawn_app().await;
    let mut manifest = String::new();
    let mut files = Vec::new();
    let mut warc = WarcBuilder::new();
    let mut names: Vec<_> =
        std::fs::read_dir(corpus.join("html")).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for (n, page) in names.iter().enumerate() {
        let id = page.file_name().unwrap().to_str().unwrap().trim_end_matches(".html.gz").to_string();
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(corpus.join(format!("ground-truth/{id}.json"))).unwrap())
                .unwrap();
        let url = truth["url"].as_str().unwrap().to_string();
        let mut html = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(page).unwrap()),
            &mut html,
        )
        .unwrap();
        warc.response(&url, &http_response(200, "text/html", &[], &html));
        manifest.push_str(&serde_json::json!({"path": page, "url": url}).to_string());
        manifest.push('\n');
        // Files of 200 records.
        if (n + 1) % 200 == 0 || n + 1 == names.len() {
            let path = write(
                &app.dir,
                &format!("corpus-{}.warc.gz", files.len()),
                &warc.build(Compression::PerRecord).0,
            );
            files.push(path.display().to_string());
            warc = WarcBuilder::new();
        }
    }
    let manifest_path = write(&app.dir, "manifest.jsonl", manifest.as_bytes());
    app.start_worker(Worker::WarcReader);
    app.start_worker(Worker::Store);
    let mut args = vec!["submit", "--warc", "--wait", "--timeout", "120"];
    args.extend(files.iter().map(String::as_str));
    let output = app.cli_async(&args).await;
    assert!(output.status.code().is_some_and(|c| c == 0 || c == 3), "{}\n{}", text(&output), app.logs());

    let extracted = app.cli(&["extract", "--jsonl", "--manifest", manifest_path.to_str().unwrap()], None);
    assert!(extracted.status.success(), "{}", text(&extracted));
    let exported = app.cli(&["export", "--format", "jsonl"], None);
    let mut stored: std::collections::HashMap<String, serde_json::Value> = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&exported.stdout).lines() {
        let article: serde_json::Value = serde_json::from_str(line).unwrap();
        stored.insert(article["url"].as_str().unwrap().to_string(), article);
    }
    let url_of: std::collections::HashMap<String, String> = manifest
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["path"].as_str().unwrap().to_string(), v["url"].as_str().unwrap().to_string()))
        .collect();
    let mut compared = 0;
    for line in String::from_utf8_lossy(&extracted.stdout).lines() {
        let article: serde_json::Value = serde_json::from_str(line).unwrap();
        let url = &url_of[article["path"].as_str().unwrap()];
        if article.get("skipped").is_some() || article.get("error").is_some() {
            // Not an article to `extract`: the WARC path did not store it either.
            assert!(
                !stored.contains_key(url),
                "{url} stored from WARC but not an article to `extract`: {line}"
            );
            continue;
        }
        let from_warc = stored.get(url).unwrap_or_else(|| panic!("{url} not stored from its WARC record"));
        for (field, value) in article.as_object().unwrap() {
            if ["path", "fetched_at", "warc_file", "warc_offset", "warc_record_id"].contains(&field.as_str())
            {
                continue;
            }
            assert_eq!(&from_warc[field], value, "{url}: {field}");
        }
        assert!(from_warc["warc_record_id"].is_string() && from_warc["warc_offset"].is_u64(), "{from_warc}");
        compared += 1;
    }
    assert!(compared > 600, "compared {compared} pages");
}

#[tokio::test(flavor = "multi_thread")]
async fn reextract_rebuilds_articles_from_their_warc_records_without_fetching() {
    let mut app = spawn_app().await;
    let (bytes, _) = mixed_warc("again", 3).build(Compression::PerRecord);
    let path = write(&app.dir, "again.warc.gz", &bytes);
    app.start_worker(Worker::WarcReader);
    app.start_worker(Worker::Store);
    let output =
        app.cli_async(&["submit", "--warc", path.to_str().unwrap(), "--wait", "--timeout", "120"]).await;
    assert!(output.status.success(), "{}", text(&output));
    // An extraction gone stale (an older extractor, say): reextract writes what the current one makes.
    sqlx::query("UPDATE articles SET title = 'stale', text = 'stale'").execute(&app.db).await.unwrap();
    let output = app.cli_async(&["reextract", "--site", "archive.test", "--wait", "--timeout", "120"]).await;
    assert!(output.status.success(), "{}\n{}", text(&output), app.logs());
    let stale = count(&app, "SELECT count(*) FROM articles WHERE title = 'stale'").await;
    assert_eq!(stale, 0, "every article rebuilt");
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, 3);
    assert_eq!(app.web.hits("/articles/1"), 0, "nothing fetched");
    // The same fetches extracted again: their content is replaced, no version or event is added.
    assert_eq!(count(&app, "SELECT count(*) FROM article_versions").await, 3);
    assert_eq!(count(&app, "SELECT count(*) FROM article_events").await, 0);
    assert_eq!(
        count(&app, "SELECT count(*) FROM revisits").await,
        0,
        "an archive's articles are not revisited"
    );
    let output = app.cli(&["reextract", "--site", "nowhere.example"], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_parquet_sink_each_file_becomes_one_parquet_file_without_a_database_and_a_redone_file_replaces_it()
 {
    let mut app = spawn_app().await;
    let (bytes, _) = mixed_warc("parquet", 5).build(Compression::PerRecord);
    let path = write(&app.dir, "CC-NEWS-20240101000000-00007.warc.gz", &bytes);
    let out = app.dir.join("parquet-out");
    let out_text = out.display().to_string();
    // A database that is not there: the sink needs none.
    app.start_worker_with(
        Worker::WarcReader,
        &[
            ("NEWSPIPE__WARC_READER__PARQUET_DIR", &out_text),
            ("DATABASE_URL", "postgres://nobody:x@127.0.0.1:9/none"),
        ],
    );
    let parquet = out.join("CC-NEWS-20240101000000-00007.parquet");
    let outcomes = out.join("CC-NEWS-20240101000000-00007.outcomes.jsonl");
    for round in 0..2 {
        // Regression: read before submitting. Read after, a reader quick enough had already replaced the file,
        // and the loop below waited for a change that had come (a flaky test).
        let before = std::fs::metadata(&parquet).and_then(|m| m.modified()).ok();
        let output = app.cli_async(&["submit", "--warc", path.to_str().unwrap()]).await;
        assert!(output.status.success(), "{}", text(&output));
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let now = std::fs::metadata(&parquet).and_then(|m| m.modified()).ok();
            if now.is_some() && now != before {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "round {round}: no parquet file: {}", app.logs());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let read = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                "import sys, pyarrow.parquet as pq; t = pq.read_table(sys.argv[1]); \
                 print(t.num_rows, t.schema.field('fetched_at').type, sorted(t.column('url').to_pylist())[0])",
            )
            .arg(&parquet)
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&read.stdout).to_string();
        assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
        assert_eq!(printed.trim(), "5 timestamp[us, tz=UTC] http://archive.test/parquet/0", "round {round}");
        let lines = std::fs::read_to_string(&outcomes).unwrap();
        assert_eq!(lines.lines().count(), 7, "one outcome per response record: {lines}");
        assert!(lines.contains("\"reason_code\":\"archived_status\""), "{lines}");
    }
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    assert_eq!(app.outcome_count().await, 0, "nothing went to the store");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_and_its_files_served_by_python_http_server_are_read_over_http() {
    let mut app = spawn_app().await;
    // python3 -m http.server ignores Range: a resume would read from the start and drop what it has.
    let dir = app.dir.join("served");
    std::fs::create_dir_all(dir.join("crawl-data")).unwrap();
    let mut listing = String::new();
    for n in 0..3 {
        let (bytes, _) = mixed_warc(&format!("served{n}"), 4).build(Compression::PerRecord);
        let name = format!("crawl-data/CC-NEWS-2024010{}000000-0000{n}.warc.gz", n + 1);
        write(&dir, &name, &bytes);
        listing.push_str(&name);
        listing.push('\n');
    }
    write(&dir, "warc.paths.gz", &gzip(listing.as_bytes()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = std::process::Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{base}warc.paths.gz")).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "python3 -m http.server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.start_worker_with(Worker::WarcReader, &[("NEWSPIPE__FETCHER__ALLOW_PRIVATE_ADDRESSES", "true")]);
    app.start_worker(Worker::Store);
    let listing_url = format!("{base}warc.paths.gz");
    let output = app
        .cli_async(&[
            "submit",
            "--warc-paths",
            &listing_url,
            "--warc-base",
            &base,
            "--wait",
            "--timeout",
            "120",
        ])
        .await;
    let _ = server.kill();
    let _ = server.wait();
    assert!(output.status.success(), "{}\n{}", text(&output), app.logs());
    assert!(text(&output).contains("3 done"), "{}", text(&output));
    assert_eq!(app.outcome_count().await, 3 * 6);
    assert_eq!(count(&app, "SELECT count(*) FROM articles").await, 12);
    let file: String =
        sqlx::query_scalar("SELECT warc_file FROM articles LIMIT 1").fetch_one(&app.db).await.unwrap();
    assert!(file.starts_with(&base), "{file}");
}
