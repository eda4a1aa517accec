//! The `newspipe` command line: submit URLs, watch the pipeline, get articles out.

mod export;
mod extract;
mod status;
mod submit;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use newspipe_broker::BrokerSettings;
use newspipe_runtime::{LogSettings, ProcessSettings, load_settings};
use newspipe_store::DatabaseSettings;
use serde::Deserialize;

/// Exit codes, documented in the README.
pub mod exit {
    /// Bad arguments, input or settings.
    pub const USAGE: u8 = 2;
    /// `submit --wait`: at least one URL ended `failed`.
    pub const SOME_FAILED: u8 = 3;
    /// `submit --wait`: the timeout passed before every URL had its outcome.
    pub const TIMED_OUT: u8 = 4;
}

#[derive(Parser)]
#[command(name = "newspipe", version, about = "Turn article URLs into a clean, searchable news archive.")]
struct Cli {
    /// A settings file (TOML); `NEWSPIPE__SECTION__KEY`, `AMQP_URL` and `DATABASE_URL` override it.
    #[arg(long, global = true, env = "NEWSPIPE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Submit(submit::SubmitArgs),
    Status(status::StatusArgs),
    Export(export::ExportArgs),
    Extract(extract::ExtractArgs),
}

/// Settings the command line reads: where the broker and the database are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }
}

/// An error with the exit code it should end the process with.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl Exit {
    pub fn usage(message: impl Into<String>) -> Exit {
        Exit { code: exit::USAGE, message: message.into() }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match load_settings::<Settings>(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => return fail(&Exit::usage(error.to_string())),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Submit(args) => submit::run(&settings, args).await,
            Command::Status(args) => status::run(&settings, args).await,
            Command::Export(args) => export::run(&settings, args).await,
            Command::Extract(args) => extract::run(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => match error.downcast::<Exit>() {
            Ok(exit) => fail(&exit),
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn fail(exit: &Exit) -> ExitCode {
    if !exit.message.is_empty() {
        eprintln!("error: {}", exit.message);
    }
    ExitCode::from(exit.code)
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}
