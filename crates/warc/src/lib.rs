//! WARC files, as newspipe reads them: records streamed one at a time with the byte offset each starts at,
//! the pages among them picked out, and damage (a file cut short, a bad gzip member, a record whose
//! `Content-Length` lies) reported where it is and stepped over where the file allows it.
//!
//! Parsing is `fastwarc`'s. What this crate adds is what a pipeline with delivery guarantees needs from it:
//! fastwarc ends a truncated file silently and stops at the first bad gzip member; here the cut is an error
//! with its offset, and the reader looks for the next whole record after a bad one ([`Records`]).
//! Everything here is synchronous `std::io`: the worker runs it on a blocking thread.

mod names;
mod read;

pub use names::{date_in_name, resolve_listing_line};
pub use read::{
    Body, Damage, Item, Layout, LocalFile, OpenedSource, ReadOptions, Record, RecordKind, Records, Source,
    detect_layout,
};
