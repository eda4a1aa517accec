//! `newspipe-warc-reader`: reads WARC files, one per job, and extracts their pages. All the work is in
//! `newspipe_warc_reader`.
fn main() -> std::process::ExitCode {
    newspipe_runtime::run_process("Reads WARC files and extracts their pages", newspipe_warc_reader::run)
}
