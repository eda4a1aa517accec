//! `newspipe-fetcher`: downloads the pages of fetch jobs. All the work is in `newspipe_fetcher`.
fn main() -> std::process::ExitCode {
    newspipe_runtime::run_process("Fetches article URLs from the fetch queue", newspipe_fetcher::run)
}
