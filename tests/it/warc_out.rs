//! WARC out: the fetcher archives every response it gets, with its request, in WARC files
//! (`fetcher.warc.dir`), checked with warcio (Python); stored articles point at their response records; a
//! file a crashed fetcher left open is closed by the next fetcher to start.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use newspipe_fetcher::archive::sha1_digest;

use crate::support::web::article_html;
use crate::support::{TestApp, Worker, spawn_app};

/// Runs warcio's command line (`warcio check`, `warcio index`) through the Python module.
fn warcio(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg("-c")
        .arg("import sys; from warcio.cli import main; main(sys.argv[1:])")
        .args(args)
        .output()
        .expect("run python3 (warcio: pip install warcio)")
}

/// `warcio check -v` on `file`, asserting it found every digest right.
fn assert_warcio_check_passes(file: &Path) {
    let output = warcio(&["check", "-v", file.to_str().unwrap()]);
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "warcio check {}:\n{text}", file.display());
    assert!(!text.contains("fail"), "{text}");
    assert!(text.contains("digest pass"), "digests were checked:\n{text}");
}

/// `warcio index` of `file`: one JSON object per record, with the fields named.
fn warcio_index(file: &Path) -> Vec<serde_json::Value> {
    let fields = "offset,warc-type,warc-target-uri,warc-record-id,warc-payload-digest,warc-concurrent-to";
    let output = warcio(&["index", "-f", fields, file.to_str().unwrap()]);
    assert!(output.status.success(), "warcio index: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn is_open(path: &Path) -> bool {
    path.to_string_lossy().ends_with(".open")
}

/// The WARC record whose gzip member starts at `offset`, read alone (as a reader given a location does).
fn record_at(file: &str, offset: i64) -> String {
    let mut file = std::fs::File::open(file).unwrap_or_else(|e| panic!("open {file}: {e}"));
    file.seek(SeekFrom::Start(offset as u64)).unwrap();
    let mut record = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut record).unwrap();
    record
}

fn warc_field<'a>(record: &'a str, name: &str) -> Option<&'a str> {
    let head = &record[..record.find("\r\n\r\n").unwrap()];
    head.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
}

/// Starts a fetcher archiving into `dir` (fsync at most 50 ms apart).
fn start_archiving_fetcher(app: &mut TestApp, dir: &Path) -> usize {
    let dir = dir.to_str().unwrap().to_owned();
    app.start_worker_with(
        Worker::Fetcher,
        &[("NEWSPIPE__FETCHER__WARC__DIR", &dir), ("NEWSPIPE__FETCHER__WARC__FSYNC_MS", "50")],
    )
}

/// Stops a worker with SIGTERM and asserts that it exited cleanly.
fn stop(app: &mut TestApp, worker: usize) {
    app.workers[worker].signal("TERM");
    let status =
        app.workers[worker].wait_exit(Duration::from_secs(30)).expect("the fetcher stops on SIGTERM");
    assert!(status.success(), "{status}\n{}", app.logs());
}

/// An article's URL and WARC columns as stored.
type LocationRow = (String, Option<String>, Option<i64>, Option<String>);

/// Every stored article's WARC location names its response record: (url, file, offset, record id).
async fn article_locations(app: &TestApp) -> Vec<(String, String, i64, String)> {
    let rows: Vec<LocationRow> =
        sqlx::query_as("SELECT url, warc_file, warc_offset, warc_record_id FROM articles ORDER BY url")
            .fetch_all(&app.db)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(url, file, offset, id)| match (file, offset, id) {
            (Some(file), Some(offset), Some(id)) => (url, file, offset, id),
            other => panic!("{url} has no whole WARC location: {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_is_archived_and_each_stored_article_points_at_its_response_record() {
    let mut app = spawn_app().await;
    let dir = app.dir.join("warc");
    let fetcher = start_archiving_fetcher(&mut app, &dir);
    app.start_worker(Worker::Extractor);
    app.start_worker(Worker::Store);
    let articles: Vec<String> = (1..=3).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    let mut urls = articles.clone();
    urls.push(app.web.url("/missing/1"));
    app.submit(&urls);
    app.wait_for_outcomes(4, Duration::from_secs(60)).await;
    assert!(
        files(&dir).iter().any(|f| is_open(f)),
        "the file is open while the fetcher runs: {:?}",
        files(&dir)
    );
    stop(&mut app, fetcher);

    let warcs = files(&dir);
    assert!(!warcs.is_empty() && warcs.iter().all(|f| !is_open(f)), "closed on SIGTERM: {warcs:?}");
    let mut responses = BTreeMap::new();
    for file in &warcs {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("newspipe-") && name.ends_with(".warc.gz"), "{name}");
        assert_warcio_check_passes(file);
        let index = warcio_index(file);
        assert_eq!(index[0]["warc-type"], "warcinfo", "a file starts with its warcinfo: {index:?}");
        let ids: BTreeMap<&str, &serde_json::Value> =
            index.iter().map(|r| (r["warc-record-id"].as_str().unwrap(), r)).collect();
        for record in index.iter().filter(|r| r["warc-type"] == "request") {
            let response = ids[record["warc-concurrent-to"].as_str().unwrap()];
            assert_eq!(response["warc-type"], "response");
            assert_eq!(response["warc-target-uri"], record["warc-target-uri"]);
        }
        for record in index.iter().filter(|r| r["warc-type"] == "response") {
            let uri = record["warc-target-uri"].as_str().unwrap().to_owned();
            responses.insert(uri, (file.clone(), record.clone()));
        }
    }
    let mut expected: Vec<String> = urls.clone();
    expected.push(app.web.url("/robots.txt"));
    expected.sort();
    assert_eq!(responses.keys().cloned().collect::<Vec<_>>(), expected, "every response, 404s too");
    for (n, url) in (1..=3).zip(&articles) {
        let digest = &responses[url].1["warc-payload-digest"];
        assert_eq!(digest, &sha1_digest(article_html(n).as_bytes()), "{url}: the payload is the page");
    }

    let locations = article_locations(&app).await;
    assert_eq!(locations.len(), 3);
    for (url, file, offset, record_id) in locations {
        let (archived, indexed) = &responses[&url];
        assert_eq!(Path::new(&file), archived.as_path(), "{url}: the absolute final name");
        // warcio writes the offset as a string.
        assert_eq!(indexed["offset"].to_string().trim_matches('"'), offset.to_string(), "{url}");
        let record = record_at(&file, offset);
        assert_eq!(warc_field(&record, "WARC-Type"), Some("response"), "{url}");
        assert_eq!(warc_field(&record, "WARC-Record-ID"), Some(record_id.as_str()), "{url}");
        assert_eq!(warc_field(&record, "WARC-Target-URI"), Some(url.as_str()));
        assert_eq!(warc_field(&record, "WARC-IP-Address"), Some("127.0.0.1"));
        assert!(record.contains("Council approves plan number"), "{url}: the body is in the record");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_left_open_by_a_crashed_fetcher_is_cut_at_its_last_whole_record_by_the_next_one() {
    let mut app = spawn_app().await;
    let dir = app.dir.join("warc");
    let first = start_archiving_fetcher(&mut app, &dir);
    app.start_worker(Worker::Extractor);
    app.start_worker(Worker::Store);
    app.submit(&[app.web.url("/articles/1"), app.web.url("/articles/2")]);
    app.wait_for_outcomes(2, Duration::from_secs(60)).await;
    app.workers[first].signal("KILL");
    app.workers[first].wait_exit(Duration::from_secs(10)).expect("killed");

    let left = files(&dir);
    let [open] = &left[..] else { panic!("one file left open: {left:?}") };
    assert!(is_open(open), "{open:?}");
    let whole = std::fs::read(open).unwrap();
    // The crash came mid-record: half a gzip member after the last whole one.
    let mut half = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut half, b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 5000\r\n\r\n")
        .unwrap();
    let half = half.finish().unwrap();
    let mut crashed = whole.clone();
    crashed.extend_from_slice(&half[..half.len() - 10]);
    std::fs::write(open, &crashed).unwrap();

    let second = start_archiving_fetcher(&mut app, &dir);
    let closed = PathBuf::from(open.to_string_lossy().strip_suffix(".open").unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !closed.exists() {
        assert!(Instant::now() < deadline, "never closed: {:?}\n{}", files(&dir), app.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files(&dir), vec![closed.clone()], "no file left open");
    assert_eq!(std::fs::read(&closed).unwrap(), whole, "cut right after the last whole record");
    assert_warcio_check_passes(&closed);
    let log = app.workers[second].log_text();
    assert!(log.contains("closed a WARC file a stopped fetcher left open"), "{log}");

    // What the crashed fetcher published points into the file as closed.
    for (url, file, offset, record_id) in article_locations(&app).await {
        assert_eq!(Path::new(&file), closed.as_path(), "{url}");
        assert_eq!(warc_field(&record_at(&file, offset), "WARC-Record-ID"), Some(record_id.as_str()));
    }
    stop(&mut app, second);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_fetched_into_the_archive_are_rebuilt_by_reextract_into_the_same_articles() {
    let mut app = spawn_app().await;
    let dir = app.dir.join("warc");
    let fetcher = start_archiving_fetcher(&mut app, &dir);
    app.start_worker(Worker::Extractor);
    app.start_worker(Worker::Store);
    app.start_worker(Worker::WarcReader);
    let urls: Vec<String> = (1..=4).map(|n| app.web.url(&format!("/articles/{n}"))).collect();
    app.submit(&urls);
    app.wait_for_outcomes(4, Duration::from_secs(60)).await;
    stop(&mut app, fetcher);
    let export = |app: &TestApp| {
        let output = app.cli(&["export", "--format", "jsonl"], None);
        assert!(output.status.success());
        let mut lines: Vec<String> =
            String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let live = export(&app);
    assert_eq!(live.len(), 4);
    sqlx::query("UPDATE articles SET text = 'stale', title = 'stale'").execute(&app.db).await.unwrap();
    let hits: Vec<u32> = (1..=4).map(|n| app.web.hits(&format!("/articles/{n}"))).collect();

    let output = app.cli_async(&["reextract", "--wait", "--timeout", "120"]).await;
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}\n{}", app.logs());
    // The same articles, field for field (fetch time and WARC location included), and nothing fetched.
    assert_eq!(export(&app), live);
    assert_eq!((1..=4).map(|n| app.web.hits(&format!("/articles/{n}"))).collect::<Vec<_>>(), hits);
}
