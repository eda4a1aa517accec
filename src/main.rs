//! `newspipe`: the command line. All the work is in `newspipe_cli`.
fn main() -> std::process::ExitCode {
    newspipe_cli::main()
}
