//! `newspipe serve`: the HTTP API and the web page (docs/api.md).

use std::path::Path;

use crate::Exit;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  newspipe serve\n  newspipe serve --listen 0.0.0.0:8080\n  \
    NEWSPIPE__API__PUBLIC_READ=true newspipe serve\n\n\
    The JSON API is under /v1 (its OpenAPI document at /openapi.json), the web page at /, health at /healthz, \
    metrics at /metrics. Make tokens with `newspipe token create`. Settings: [api] (docs/api.md).")]
pub struct ServeArgs {
    /// HOST:PORT to listen on (overrides api.listen, default 127.0.0.1:8080).
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
}

/// Runs the server in its own process setup: its settings (with `[api]`), logs at `log.level` (info).
pub fn run(config: Option<&Path>, args: ServeArgs) -> Result<(), Exit> {
    let mut settings = newspipe_runtime::load_settings::<newspipe_api::Settings>(config)
        .map_err(|e| Exit::usage(e.to_string()))?;
    if let Some(listen) = args.listen {
        settings.api.listen = listen;
    }
    if settings.api.listen.parse::<std::net::SocketAddr>().is_err() && !settings.api.listen.contains(':') {
        return Err(Exit::usage(format!("api.listen `{}` is not HOST:PORT", settings.api.listen)));
    }
    newspipe_runtime::telemetry::init_subscriber(&settings.log, std::io::stderr);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Exit { code: 1, message: format!("cannot start the async runtime: {e}") })?;
    runtime.block_on(newspipe_api::run(settings)).map_err(|e| Exit { code: 1, message: format!("{e:#}") })
}
