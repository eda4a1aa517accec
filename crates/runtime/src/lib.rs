//! What every newspipe process shares: typed settings, telemetry and its events, the health and metrics
//! endpoint, and shutdown on signals.

pub mod configuration;
pub mod events;
pub mod health;
pub mod memory;
pub mod ops_server;
pub mod process;
pub mod shutdown;
pub mod telemetry;

pub use configuration::{
    LogFormat, LogSettings, MetricsSettings, SecretUrl, SecretUrls, SettingsError, check_credentials,
    check_credentials_of_each, load_settings, redact_url,
};
pub use events::InternalEvent;
pub use health::Health;
pub use ops_server::{OpsServer, install_metrics_recorder};
pub use process::{ProcessSettings, run_process};
pub use shutdown::shutdown_on_signals;
