//! Fuzz targets for every parser of untrusted input: page bytes, messages from any producer, URLs, feeds,
//! sitemaps and robots.txt. They live in `tests/targets.rs` as bolero `check!` tests:
//!
//! - `cargo test -p newspipe-fuzz` runs each target on random inputs (stable Rust; what CI runs);
//! - `deploy/fuzz.sh [SECONDS] [TARGET...]` fuzzes them with coverage guidance (libFuzzer through
//!   `cargo +nightly bolero test -p newspipe-fuzz <target> --engine libfuzzer -T <time>`; needs nightly and
//!   `cargo install cargo-bolero --locked`), keeps the corpora outside the repository and prints each
//!   target's executions.
//!
//! Every crash found becomes a regression test in the crate it belongs to.
