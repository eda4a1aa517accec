//! Reads WARC files and counts their records, without extracting anything: what reading alone costs.
//!
//! ```text
//! cargo run --release -p newspipe-warc --example count -- FILE...
//! ```
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use newspipe_warc::{Body, Item, LocalFile, ReadOptions, Records, detect_layout};

fn main() {
    let mut records = 0u64;
    let mut pages = 0u64;
    let mut bytes = 0u64;
    let mut damage = 0u64;
    let started = Instant::now();
    for path in std::env::args().skip(1) {
        let source = LocalFile::new(&path);
        let layout = detect_layout(&source).unwrap();
        for item in Records::new(source, layout, ReadOptions::default()) {
            match item {
                Item::Record(record) => {
                    records += 1;
                    if let Body::Page(body) = &record.body {
                        pages += 1;
                        bytes += body.len() as u64;
                    }
                }
                Item::Damage(_) => damage += 1,
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{records} records ({pages} pages, {:.1} MB of page bodies, {damage} damaged) in {seconds:.2} s: \
         {:.3} ms per record, {:.0} MB/s of pages",
        bytes as f64 / 1e6,
        seconds * 1000.0 / records.max(1) as f64,
        bytes as f64 / 1e6 / seconds
    );
}
