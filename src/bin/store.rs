//! `newspipe-store`: records articles and outcomes in PostgreSQL. All the work is in `newspipe_store`.
fn main() -> std::process::ExitCode {
    newspipe_runtime::run_process("Stores articles and outcomes in PostgreSQL", newspipe_store::run)
}
