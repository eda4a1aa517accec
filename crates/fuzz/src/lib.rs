//! Fuzz targets for every parser of untrusted input: page bytes, messages from any producer, URLs, feeds,
//! sitemaps and robots.txt. They live in `tests/targets.rs` as bolero `check!` tests:
//!
//! - `cargo test -p newspipe-fuzz` runs each target on random inputs (stable Rust; what CI runs);
//! - `cargo bolero test -p newspipe-fuzz --test targets <target> --engine libfuzzer` fuzzes one with coverage
//!   guidance for as long as you like (needs nightly and `cargo install cargo-bolero`).
//!
//! Every crash found becomes a regression test in the crate it belongs to.
