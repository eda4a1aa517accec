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
            .with_list_parse_key("canonical.tracking_parameters")
            .with_list_parse_key("api.cors_origins")
            .try_parsing(true),
    );
    for (variable, key) in [("AMQP_URL", "broker.url"), ("DATABASE_URL", "database.url")] {
        if let Ok(value) = std::env::var(variable) {
            builder = builder.set_override(key, value)?;
        }
    }
    Ok(builder.build()?.try_deserialize()?)
}

/// A service URL with a password in it (`amqp://user:PASSWORD@host/`, `postgres://...`): `Debug` and
/// `Display` show it with the password replaced, so settings can be logged and printed; only
/// [`SecretUrl::expose`] gives the whole URL, to the client library that connects with it.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> SecretUrl {
        SecretUrl(url.into())
    }

    /// The URL with its password, for connecting. Never log this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        SecretUrl(url)
    }
}

impl From<&str> for SecretUrl {
    fn from(url: &str) -> Self {
        SecretUrl(url.to_string())
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

impl std::fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// One or more service URLs, one per node of a cluster (RabbitMQ's nodes): in a settings file a string or a
/// list of strings, in the environment (`AMQP_URL`, `NEWSPIPE__BROKER__URL`) a comma-separated string. Each
/// element is a whole URL with its own credentials and parameters; a comma inside one (a password) is written
/// `%2C`. Shown redacted, like [`SecretUrl`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretUrls(Vec<SecretUrl>);

impl SecretUrls {
    /// The URLs of a comma-separated list; blanks around each and empty elements are dropped.
    pub fn parse(list: &str) -> SecretUrls {
        SecretUrls(list.split(',').map(str::trim).filter(|u| !u.is_empty()).map(SecretUrl::from).collect())
    }

    pub fn iter(&self) -> std::slice::Iter<'_, SecretUrl> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first URL, if any: where a single-node setting is expected.
    pub fn first(&self) -> Option<&SecretUrl> {
        self.0.first()
    }
}

impl From<&str> for SecretUrls {
    fn from(list: &str) -> Self {
        SecretUrls::parse(list)
    }
}

impl From<String> for SecretUrls {
    fn from(list: String) -> Self {
        SecretUrls::parse(&list)
    }
}

impl From<Vec<SecretUrl>> for SecretUrls {
    fn from(urls: Vec<SecretUrl>) -> Self {
        SecretUrls(urls)
    }
}

impl<'a> IntoIterator for &'a SecretUrls {
    type Item = &'a SecretUrl;
    type IntoIter = std::slice::Iter<'a, SecretUrl>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'de> Deserialize<'de> for SecretUrls {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum StringOrList {
            One(String),
            Many(Vec<String>),
        }
        Ok(match StringOrList::deserialize(deserializer)? {
            StringOrList::One(list) => SecretUrls::parse(&list),
            StringOrList::Many(urls) => {
                SecretUrls(urls.iter().flat_map(|u| SecretUrls::parse(u).0).collect())
            }
        })
    }
}

impl std::fmt::Debug for SecretUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl std::fmt::Display for SecretUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, url) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{url}")?;
        }
        Ok(())
    }
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

/// Refuses a service URL that reaches beyond this machine with no password or RabbitMQ's well-known `guest`:
/// such a setting only belongs to local development, where the services listen on loopback.
pub fn check_credentials(key: &'static str, url: &SecretUrl) -> Result<(), SettingsError> {
    let url = url.expose();
    let Ok(parsed) = url::Url::parse(url) else {
        return Err(SettingsError::Invalid { key, value: redact_url(url), why: "not a URL" });
    };
    let local = match parsed.host() {
        // Non-special schemes (amqp, postgres) keep IP hosts as text.
        Some(url::Host::Domain(name)) => {
            name == "localhost"
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // A Unix socket or the default host of the client library: this machine.
        None => true,
    };
    let weak = match parsed.password() {
        None | Some("") => true,
        Some(password) => password == "guest",
    };
    if weak && !local {
        return Err(SettingsError::Invalid {
            key,
            value: redact_url(url),
            why: "a service beyond this machine needs a real password (not empty, not `guest`)",
        });
    }
    Ok(())
}

/// [`check_credentials`] for each URL of a list (each node of a cluster); an empty list is refused.
pub fn check_credentials_of_each(key: &'static str, urls: &SecretUrls) -> Result<(), SettingsError> {
    if urls.is_empty() {
        return Err(SettingsError::Invalid { key, value: String::new(), why: "no URL given" });
    }
    urls.iter().try_for_each(|url| check_credentials(key, url))
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

    /// Regression: the list key named a section that does not exist, so the README's comma-separated
    /// `NEWSPIPE__CANONICAL__TRACKING_PARAMETERS` was read as one string and failed to load.
    #[test]
    // Setting a variable is unsafe with other threads reading the environment; see the SAFETY note.
    #[allow(unsafe_code)]
    fn tracking_parameters_are_a_comma_separated_list_in_the_environment() {
        #[derive(Debug, Deserialize)]
        struct Canonical {
            tracking_parameters: Vec<String>,
        }
        #[derive(Debug, Deserialize)]
        struct Settings {
            canonical: Canonical,
        }
        // SAFETY: no other test of this crate reads or writes this variable.
        unsafe { std::env::set_var("NEWSPIPE__CANONICAL__TRACKING_PARAMETERS", "utm_*,fbclid") };
        let settings: Settings = load_settings(None).unwrap();
        unsafe { std::env::remove_var("NEWSPIPE__CANONICAL__TRACKING_PARAMETERS") };
        assert_eq!(settings.canonical.tracking_parameters, ["utm_*", "fbclid"]);
    }

    #[test]
    fn a_service_url_prints_and_debugs_without_its_password() {
        let url = SecretUrl::from("postgres://newspipe:s3cret@db.example:5432/newspipe");
        for shown in [format!("{url}"), format!("{url:?}")] {
            assert!(shown.contains("newspipe:***@db.example") && !shown.contains("s3cret"), "{shown}");
        }
        assert_eq!(url.expose(), "postgres://newspipe:s3cret@db.example:5432/newspipe");
    }

    #[test]
    fn weak_credentials_are_refused_only_beyond_this_machine() {
        assert!(check_credentials("broker.url", &"amqp://guest:guest@127.0.0.1:5672/%2f".into()).is_ok());
        assert!(check_credentials("broker.url", &"amqp://localhost/%2f".into()).is_ok());
        assert!(check_credentials("broker.url", &"amqp://newspipe:s3cret@rabbitmq:5672/%2f".into()).is_ok());
        let error =
            check_credentials("broker.url", &"amqp://guest:guest@rabbitmq:5672/%2f".into()).unwrap_err();
        assert!(
            error.to_string().contains("broker.url") && !error.to_string().contains("guest:guest"),
            "{error}"
        );
        assert!(
            check_credentials("database.url", &"postgres://newspipe@db.example:5432/newspipe".into())
                .is_err()
        );
        assert!(check_credentials("database.url", &"postgres://newspipe:@10.0.0.5/newspipe".into()).is_err());
    }

    #[test]
    fn a_list_of_urls_comes_from_a_comma_separated_string_or_a_list_and_shows_without_passwords() {
        #[derive(Debug, Deserialize)]
        struct Broker {
            url: SecretUrls,
        }
        let from_string: Broker =
            serde_json::from_str(r#"{"url": "amqp://u:s3cret@a:5672/%2f, amqp://u:s3cret@b:5672/%2f,"}"#)
                .unwrap();
        let from_list: Broker =
            serde_json::from_str(r#"{"url": ["amqp://u:s3cret@a:5672/%2f", "amqp://u:s3cret@b:5672/%2f"]}"#)
                .unwrap();
        assert_eq!(from_string.url, from_list.url);
        let exposed: Vec<&str> = from_list.url.iter().map(SecretUrl::expose).collect();
        assert_eq!(exposed, ["amqp://u:s3cret@a:5672/%2f", "amqp://u:s3cret@b:5672/%2f"]);
        for shown in [format!("{}", from_list.url), format!("{:?}", from_list.url)] {
            assert!(shown.contains("u:***@a:5672") && shown.contains("u:***@b:5672"), "{shown}");
            assert!(!shown.contains("s3cret"), "{shown}");
        }
        assert_eq!(SecretUrls::parse("amqp://one/%2f").len(), 1);
        assert!(SecretUrls::parse(" , ").is_empty());
    }

    #[test]
    fn a_password_in_a_url_is_redacted() {
        let redacted = redact_url("amqp://newspipe:s3cret@127.0.0.1:5692/%2f");
        assert_eq!(redacted, "amqp://newspipe:***@127.0.0.1:5692/%2f");
        assert!(!redact_url("not a url s3cret").contains("s3cret"));
    }
}
