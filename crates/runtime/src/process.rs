//! The `main` of every worker binary: arguments, settings, telemetry, runtime, exit codes.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde::de::DeserializeOwned;

use crate::{LogSettings, SettingsError, load_settings, memory, telemetry};

/// Exit code for settings that cannot be loaded or are invalid.
pub const EXIT_BAD_SETTINGS: u8 = 2;

/// Settings of a whole process.
pub trait ProcessSettings: DeserializeOwned {
    fn log(&self) -> &LogSettings;
    /// Checks beyond types (ranges, combinations); the error names the key and the value.
    fn validate(&self) -> Result<(), SettingsError> {
        Ok(())
    }
    /// How this process tunes malloc ([`memory`] has the measurements behind each choice).
    fn allocator(&self) -> memory::Allocator {
        memory::Allocator::ReturnLargeBlocks
    }
}

#[derive(Parser)]
struct WorkerArgs {
    /// A settings file (TOML); environment variables `NEWSPIPE__SECTION__KEY` override it.
    #[arg(long, env = "NEWSPIPE_CONFIG")]
    config: Option<PathBuf>,
}

/// Loads settings, starts telemetry and a tokio runtime, and runs `run`. Exits 2 on bad settings, 1 when
/// `run` fails, 0 after a clean shutdown.
pub fn run_process<S, F, Fut>(about: &'static str, run: F) -> ExitCode
where
    S: ProcessSettings,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let args = WorkerArgs::command_about(about);
    let settings = match load_settings::<S>(args.config.as_deref()).and_then(|s| s.validate().map(|_| s)) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_BAD_SETTINGS);
        }
    };
    memory::tune_allocator(settings.allocator());
    telemetry::init_subscriber(settings.log(), std::io::stderr);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "exiting");
            ExitCode::FAILURE
        }
    }
}

impl WorkerArgs {
    fn command_about(about: &'static str) -> WorkerArgs {
        use clap::{CommandFactory, FromArgMatches};
        let matches = WorkerArgs::command().about(about).version(env!("CARGO_PKG_VERSION")).get_matches();
        WorkerArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}
