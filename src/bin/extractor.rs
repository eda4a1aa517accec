//! `newspipe-extractor`: turns raw pages into articles. All the work is in `newspipe_extractor`.
fn main() -> std::process::ExitCode {
    newspipe_runtime::run_process("Extracts articles from fetched pages", newspipe_extractor::run)
}
