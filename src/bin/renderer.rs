//! `newspipe-renderer`: renders pages built by JavaScript in headless Chromium. All the work is in
//! `newspipe_renderer`.
fn main() -> std::process::ExitCode {
    newspipe_runtime::run_process(
        "Renders pages built by JavaScript in headless Chromium",
        newspipe_renderer::run,
    )
}
