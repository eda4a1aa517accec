//! The reader against files written byte by byte (newspipe_testkit::warc): every layout, every kind of
//! record, and each kind of damage the issue names.
#![allow(clippy::unwrap_used)]

use std::io::{self, Cursor};
use std::sync::Arc;

use newspipe_testkit::warc::{Compression, WarcBuilder, article_html, chunked, gzip, http_response};
use newspipe_warc::{Body, Item, Layout, ReadOptions, Record, RecordKind, Records, Source, detect_layout};

/// A file in memory.
#[derive(Clone)]
struct Bytes(Arc<Vec<u8>>);

impl Source for Bytes {
    fn open_at(&self, offset: u64) -> io::Result<newspipe_warc::OpenedSource> {
        let mut cursor = Cursor::new(self.0.as_ref().clone());
        cursor.set_position(offset);
        Ok(Box::new(cursor))
    }
}

fn read_all(bytes: Vec<u8>) -> (Layout, Vec<Item>) {
    let source = Bytes(Arc::new(bytes));
    let layout = detect_layout(&source).unwrap();
    (layout, Records::new(source, layout, ReadOptions::default()).collect())
}

fn records(items: &[Item]) -> Vec<&Record> {
    items.iter().filter_map(|i| if let Item::Record(r) = i { Some(r) } else { None }).collect()
}

fn damage(items: &[Item]) -> Vec<&newspipe_warc::Damage> {
    items.iter().filter_map(|i| if let Item::Damage(d) = i { Some(d) } else { None }).collect()
}

fn mixed_file() -> WarcBuilder {
    let mut warc = WarcBuilder::new();
    warc.warcinfo();
    for n in 0..5 {
        let uri = format!("http://example.com/news/{n}");
        warc.request(&uri);
        warc.page(&uri, &article_html(&format!("Story {n}"), 200));
        warc.metadata(&uri);
    }
    warc.revisit("http://example.com/news/0");
    warc.response("http://example.com/logo.png", &http_response(200, "image/png", &[], b"\x89PNG...."));
    warc.response("http://example.com/gone", &http_response(404, "text/html", &[], b"<html>gone</html>"));
    warc
}

#[test]
fn every_record_of_every_layout_is_read_with_its_kind_and_the_pages_with_their_bodies() {
    let warc = mixed_file();
    for (compression, layout) in [
        (Compression::None, Layout::Plain),
        (Compression::PerRecord, Layout::GzipPerRecord),
        (Compression::Whole, Layout::GzipWhole),
    ] {
        let (bytes, offsets) = warc.build(compression);
        let (found, items) = read_all(bytes);
        assert_eq!(found, layout);
        assert!(damage(&items).is_empty(), "{compression:?}: {:?}", damage(&items));
        let records = records(&items);
        assert_eq!(records.len(), warc.records.len(), "{compression:?}");
        for (n, (record, built)) in records.iter().zip(&warc.records).enumerate() {
            assert_eq!(record.record_id, built.record_id);
            assert_eq!(record.target_uri, built.target_uri);
            assert_eq!(record.index, n as u64);
            if layout.has_offsets() {
                assert_eq!(record.offset, Some(offsets[n]), "{compression:?} record {n}");
            } else {
                assert_eq!(record.offset, None);
            }
        }
        let pages: Vec<_> = records.iter().filter(|r| matches!(r.body, Body::Page(_))).collect();
        assert_eq!(pages.len(), 5, "{compression:?}: only the 200 HTML responses are read");
        let Body::Page(body) = &pages[0].body else { unreachable!() };
        assert!(String::from_utf8_lossy(body).contains("<title>Story 0</title>"));
        let kinds: Vec<RecordKind> = records.iter().map(|r| r.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == RecordKind::Request).count(), 5);
        assert_eq!(kinds.iter().filter(|k| **k == RecordKind::Revisit).count(), 1);
        assert!(records.iter().any(|r| r.http_status == Some(404) && r.body == Body::NotRead));
        assert!(records.iter().any(|r| r.mime().as_deref() == Some("image/png") && r.body == Body::NotRead));
    }
}

#[test]
fn chunked_and_compressed_payloads_are_decoded_and_a_non_utf8_page_is_kept_byte_for_byte() {
    let html = article_html("Encoded", 100);
    let latin1: Vec<u8> = b"<html><head><meta charset=\"iso-8859-1\"><title>Caf\xe9</title></head><body><p>cr\xe8me</p></body></html>".to_vec();
    let mut warc = WarcBuilder::new();
    warc.response(
        "http://e.com/chunked",
        &http_response(200, "text/html", &[("Transfer-Encoding", "chunked")], &chunked(html.as_bytes(), 100)),
    );
    warc.response(
        "http://e.com/gzip",
        &http_response(200, "text/html", &[("Content-Encoding", "gzip")], &gzip(html.as_bytes())),
    );
    warc.response(
        "http://e.com/both",
        &http_response(
            200,
            "text/html",
            &[("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
            &chunked(&gzip(html.as_bytes()), 50),
        ),
    );
    warc.response("http://e.com/latin1", &http_response(200, "text/html; charset=iso-8859-1", &[], &latin1));
    warc.response(
        "http://e.com/odd",
        &http_response(200, "text/html", &[("Content-Encoding", "compress")], b"??"),
    );
    let (bytes, _) = warc.build(Compression::PerRecord);
    let (_, items) = read_all(bytes);
    let records = records(&items);
    for record in &records[..3] {
        assert_eq!(record.body, Body::Page(html.clone().into_bytes()), "{:?}", record.target_uri);
    }
    assert_eq!(records[3].body, Body::Page(latin1));
    assert!(
        matches!(&records[4].body, Body::Undecodable(why) if why.contains("compress")),
        "{:?}",
        records[4].body
    );
}

#[test]
fn a_page_over_the_limit_is_passed_over_unread() {
    let mut warc = WarcBuilder::new();
    warc.page("http://e.com/big", &"x".repeat(5000));
    warc.page("http://e.com/small", "<p>small</p>");
    let (bytes, _) = warc.build(Compression::PerRecord);
    let source = Bytes(Arc::new(bytes));
    let items: Vec<Item> =
        Records::new(source, Layout::GzipPerRecord, ReadOptions { max_body_bytes: 1000 }).collect();
    let records = records(&items);
    assert!(matches!(records[0].body, Body::TooLarge { bytes } if bytes >= 5000));
    assert!(matches!(records[1].body, Body::Page(_)));
}

#[test]
fn a_file_cut_in_the_middle_of_a_record_yields_every_record_before_it_then_the_cut_with_its_offset() {
    let mut warc = WarcBuilder::new();
    for n in 0..4 {
        warc.page(&format!("http://e.com/{n}"), &article_html(&format!("Cut {n}"), 100));
    }
    for compression in [Compression::None, Compression::PerRecord, Compression::Whole] {
        let (bytes, offsets) = warc.build(compression);
        // In the middle of the third record (of its member, gzip per record).
        let cut = match compression {
            Compression::Whole => bytes.len() * 2 / 3,
            _ => (offsets[2] + (offsets[3] - offsets[2]) / 2) as usize,
        };
        let (_, items) = read_all(bytes[..cut].to_vec());
        let records = records(&items);
        let damage = damage(&items);
        assert_eq!(damage.len(), 1, "{compression:?}: {items:?}");
        assert!(!records.is_empty() && records.len() <= 3, "{compression:?}");
        if compression != Compression::Whole {
            assert_eq!(records.len(), 2, "{compression:?}");
            assert_eq!(damage[0].offset, offsets[2], "{compression:?}: {}", damage[0].why);
        }
        assert!(!damage[0].why.is_empty());
    }
}

#[test]
fn a_bad_gzip_member_costs_only_its_record_and_the_rest_of_the_file_is_read() {
    let mut warc = WarcBuilder::new();
    for n in 0..6 {
        warc.page(&format!("http://e.com/{n}"), &article_html(&format!("Member {n}"), 100));
    }
    let (mut bytes, offsets) = warc.build(Compression::PerRecord);
    let middle = (offsets[2] + (offsets[3] - offsets[2]) / 2) as usize;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xff;
    }
    let (_, items) = read_all(bytes);
    let uris: Vec<_> = records(&items).iter().map(|r| r.target_uri.clone().unwrap()).collect();
    assert_eq!(
        uris,
        ["http://e.com/0", "http://e.com/1", "http://e.com/3", "http://e.com/4", "http://e.com/5"]
    );
    let damage = damage(&items);
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert!(damage[0].offset >= offsets[1] && damage[0].offset <= offsets[2], "{damage:?}");
}

#[test]
fn a_record_whose_length_lies_is_reported_and_the_records_after_it_are_still_read() {
    let mut warc = WarcBuilder::new();
    for n in 0..5 {
        warc.page(&format!("http://e.com/{n}"), &article_html(&format!("Lie {n}"), 100));
    }
    for delta in [40i64, -40] {
        let mut lying = warc.clone();
        let record = &mut lying.records[2];
        let text = String::from_utf8_lossy(&record.bytes).to_string();
        let start = text.find("Content-Length: ").unwrap() + 16;
        let end = start + text[start..].find("\r\n").unwrap();
        let length: i64 = text[start..end].parse().unwrap();
        let fixed = format!("{}{}{}", &text[..start], length + delta, &text[end..]);
        record.bytes = fixed.into_bytes();
        let (bytes, _) = lying.build(Compression::None);
        let (_, items) = read_all(bytes);
        let uris: Vec<_> = records(&items).iter().map(|r| r.target_uri.clone().unwrap()).collect();
        assert!(
            uris.contains(&"http://e.com/3".to_string()) && uris.contains(&"http://e.com/4".to_string()),
            "{delta}: {uris:?}"
        );
        assert_eq!(damage(&items).len(), 1, "{delta}: {items:?}");
    }
}

#[test]
fn reading_from_a_records_offset_starts_at_that_record() {
    let mut warc = WarcBuilder::new();
    for n in 0..5 {
        warc.page(&format!("http://e.com/{n}"), &article_html(&format!("Resume {n}"), 50));
    }
    for compression in [Compression::None, Compression::PerRecord] {
        let (bytes, offsets) = warc.build(compression);
        let source = Bytes(Arc::new(bytes));
        let layout = detect_layout(&source).unwrap();
        let items: Vec<Item> =
            Records::starting_at(source, layout, ReadOptions::default(), offsets[3], 3).collect();
        let records = records(&items);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].record_id, warc.records[3].record_id);
        assert_eq!((records[0].index, records[0].offset), (3, Some(offsets[3])));
    }
}

#[test]
fn a_gzip_file_cut_just_after_a_members_start_reports_the_cut_where_the_member_starts() {
    let mut warc = WarcBuilder::new();
    for n in 0..3 {
        warc.page(&format!("http://e.com/{n}"), &article_html(&format!("Tail {n}"), 50));
    }
    let (bytes, offsets) = warc.build(Compression::PerRecord);
    let (_, items) = read_all(bytes[..offsets[2] as usize + 20].to_vec());
    assert_eq!(records(&items).len(), 2);
    let damage = damage(&items);
    assert_eq!(damage.len(), 1, "{items:?}");
    assert_eq!(damage[0].offset, offsets[2], "{}", damage[0].why);
    // A whole file has no trailing damage.
    let (bytes, _) = warc.build(Compression::PerRecord);
    assert!(read_all(bytes).1.iter().all(|i| matches!(i, Item::Record(_))));
}
