//! The `newspipe` command line: submit URLs, watch the pipeline, get articles out.

mod common;
mod dlq;
mod export;
mod extract;
mod history;
mod reextract;
mod retry;
mod search;
mod serve;
mod show;
mod status;
mod submit;
mod token;
mod warc;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
pub use export::CSV_HEADER;
use newspipe_broker::BrokerSettings;
use newspipe_db::DatabaseSettings;
use newspipe_runtime::{LogSettings, ProcessSettings, load_settings};
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
#[command(
    name = "newspipe",
    version,
    about = "Turn article URLs into a clean, searchable news archive.",
    after_help = "Examples:\n  newspipe submit --wait https://example.com/news/some-article\n  newspipe status --watch\n  \
        newspipe search 'climate summit' --since 7d\n  newspipe dlq list\n\n\
        Exit codes: 0 success; 1 an error (the message says what failed, with which input); 2 bad arguments, \
        input or settings; 3 `submit --wait`: some URL failed (`extract`: the page was skipped); 4 `submit \
        --wait` timed out."
)]
struct Cli {
    /// A settings file (TOML); `NEWSPIPE__SECTION__KEY`, `AMQP_URL` and `DATABASE_URL` override it.
    #[arg(long, global = true, env = "NEWSPIPE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Submit article URLs, feeds, sitemaps or sites: one fetch job each (`--wait` for their outcomes).
    Submit(submit::SubmitArgs),
    /// Queue depths, consumers, rates, outcomes and the top skip and failure reasons (`--watch` to follow).
    Status(status::StatusArgs),
    /// Stream the stored articles out as JSON Lines, CSV or Parquet files, optionally filtered.
    Export(export::ExportArgs),
    /// Extract local page files without any service: one page, or folders of them as JSON Lines.
    Extract(extract::ExtractArgs),
    /// Feeds and sitemaps polled on a schedule: add, list, remove.
    Watch(watch::WatchArgs),
    /// Full-text search over the stored articles: ranked, with highlighted snippets.
    Search(search::SearchArgs),
    /// One article and its URL's outcome history.
    Show(show::ShowArgs),
    /// An article's versions (each with what changed) and events, or a diff of two versions.
    History(history::HistoryArgs),
    /// The articles edited in a time window, largest change first.
    Changes(history::ChangesArgs),
    /// Rebuild articles from their archived WARC records with the current extractor, fetching nothing.
    Reextract(reextract::ReextractArgs),
    /// Dead letters: list, show, replay to where they came from, purge.
    Dlq(dlq::DlqArgs),
    /// Serve the HTTP API (/v1, OpenAPI at /openapi.json) and the web page (/).
    Serve(serve::ServeArgs),
    /// The HTTP API's tokens: create, list, revoke.
    Token(token::TokenArgs),
    /// Resubmit the URLs whose latest outcome is `failed`.
    Retry(retry::RetryArgs),
    /// Apply the database migrations (as the schema's owner: the workers' own roles may not).
    #[command(
        after_help = "Example:\n  DATABASE_URL=postgres://newspipe:PASSWORD@db:5432/newspipe newspipe migrate"
    )]
    Migrate,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  newspipe completions bash > ~/.local/share/bash-completion/completions/newspipe\n  \
        newspipe completions zsh > \"${fpath[1]}/_newspipe\"\n  newspipe completions fish > ~/.config/fish/completions/newspipe.fish"
    )]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Settings the command line reads: where the broker and the database are.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub broker: BrokerSettings,
    pub database: DatabaseSettings,
    /// A command logs warnings and errors to standard error unless `log.level` says more.
    pub log: LogSettings,
    pub canonical: newspipe_discover::CanonicalSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            broker: BrokerSettings::default(),
            database: DatabaseSettings::default(),
            log: LogSettings { level: "warn".into(), ..LogSettings::default() },
            canonical: newspipe_discover::CanonicalSettings::default(),
        }
    }
}

impl ProcessSettings for Settings {
    fn log(&self) -> &LogSettings {
        &self.log
    }
}

/// `newspipe migrate`: what every command does first, alone, for a deployment whose workers may not.
async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let database = newspipe_db::Database::connect(&settings.database).await?;
    database.migrate().await?;
    println!("database migrations applied");
    Ok(())
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(shell, &mut Cli::command(), "newspipe", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let cli = match cli.command {
        Command::Serve(args) => {
            return match serve::run(cli.config.as_deref(), args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(exit) => fail(&exit),
            };
        }
        command => Cli { command, ..cli },
    };
    let settings = match load_settings::<Settings>(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => return fail(&Exit::usage(error.to_string())),
    };
    newspipe_runtime::telemetry::init_command_subscriber(&settings.log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Submit(args) => submit::run(&settings, args).await,
            Command::Status(args) => status::run(&settings, args).await,
            Command::Export(args) => export::run(&settings, args).await,
            Command::Extract(args) => extract::run(args),
            Command::Watch(args) => watch::run(&settings, args).await,
            Command::Search(args) => search::run(&settings, args).await,
            Command::Show(args) => show::run(&settings, args).await,
            Command::History(args) => history::history(&settings, args).await,
            Command::Changes(args) => history::changes(&settings, args).await,
            Command::Reextract(args) => reextract::run(&settings, args).await,
            Command::Dlq(args) => dlq::run(&settings, args).await,
            Command::Retry(args) => retry::run(&settings, args).await,
            Command::Token(args) => token::run(&settings, args).await,
            Command::Migrate => migrate(&settings).await,
            Command::Serve(_) => unreachable!("served before the command line's settings are read"),
            Command::Completions { .. } => unreachable!("handled before the settings are read"),
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

/// Help and version go to standard output as usual; a usage error is one line (clap's message without its
/// usage block), exit code 2.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    let text = error.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    eprintln!("{} (see `newspipe --help`)", message.join(" "));
    ExitCode::from(exit::USAGE)
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Regression: `newspipe --help` listed `submit`, `status`, `export` and `extract` with no description.
    #[test]
    fn every_command_says_what_it_does_in_the_help() {
        for command in super::Cli::command().get_subcommands() {
            let about = command.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(
                about.len() > 10,
                "`newspipe {}` has no description in `newspipe --help`",
                command.get_name()
            );
        }
    }
}
