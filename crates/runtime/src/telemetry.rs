//! The tracing subscriber, built with an injectable sink so tests can capture what a process logs.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::{LogFormat, LogSettings};

/// Installs the global subscriber of a worker. `RUST_LOG` wins over `log.level`.
pub fn init_subscriber<W>(settings: &LogSettings, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    install(settings, filter, sink);
}

/// Installs the global subscriber of a command (the `newspipe` CLI), writing to standard error so standard
/// output stays the command's own. Only `log.level` decides (`NEWSPIPE__LOG__LEVEL=debug` for more): a
/// `RUST_LOG` set in the shell for the workers must not fill a command's output.
pub fn init_command_subscriber(settings: &LogSettings) {
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("warn"));
    install(settings, filter, std::io::stderr);
}

fn install<W>(settings: &LogSettings, filter: EnvFilter, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // Colours only for a person at a terminal, never in files or collectors.
    let ansi = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(sink).with_ansi(ansi);
    let result = match settings.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
    // A second initialisation (several apps in one test process) keeps the first subscriber.
    let _ = result;
}
