//! Settings are layered by the `config` crate: the serde defaults of each struct, then an optional file
//! (`--config FILE` or `NEWSPIPE_CONFIG`), then `NEWSPIPE__SECTION__KEY` environment variables, then the
//! conventional `AMQP_URL` and `DATABASE_URL`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid settings: {0}")]
    Message(String),
    #[error("setting `{key}` = {value:?} is invalid: {why}")]
    Invalid { key: &'static str, value: String, why: &'static str },
}

/// Loads settings of type `T` from every layer. `file` wins over `NEWSPIPE_CONFIG`.
pub fn load_settings<T: DeserializeOwned>(file: Option<&Path>) -> Result<T, SettingsError> {
    let file = file.map(Path::to_path_buf).or_else(|| std::env::var_os("NEWSPIPE_CONFIG").map(PathBuf::from));
    let mut builder = config::Config::builder();
    if let Some(file) = file {
        builder = builder.add_source(config::File::from(file).required(true));
    }
    builder = builder.add_source(
        config::Environment::with_prefix("NEWSPIPE")
            .prefix_separator("__")
            .separator("__")
            .list_separator(",")
            .with_list_parse_key("fetcher.tracking_parameters")
            .try_parsing(true),
    );
    for (variable, key) in [("AMQP_URL", "broker.url"), ("DATABASE_URL", "database.url")] {
        if let Ok(value) = std::env::var(variable) {
            builder = builder.set_override(key, value)?;
        }
    }
    Ok(builder.build()?.try_deserialize()?)
}

/// The URL with its password replaced, for logs and status output.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable url>".to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `newspipe_fetcher=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings { format: LogFormat::Text, level: "info".into() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Address the `/healthz` and `/metrics` endpoint listens on.
    pub host: String,
    /// Its port; 0 picks any free port (logged at start), so several workers can share a host.
    pub port: u16,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings { host: "127.0.0.1".into(), port: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_a_url_is_redacted() {
        let redacted = redact_url("amqp://newspipe:s3cret@127.0.0.1:5692/%2f");
        assert_eq!(redacted, "amqp://newspipe:***@127.0.0.1:5692/%2f");
        assert!(!redact_url("not a url s3cret").contains("s3cret"));
    }
}
