use std::time::Duration;

use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::{Connection, ConnectionProperties, DefaultConnectionBuilder};

use newspipe_runtime::{SecretUrl, SecretUrls};

use crate::BrokerError;

/// How long connecting to one node may take unless the settings say otherwise (`connect_with_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a connection to one of the broker's nodes (see [`connect_with_timeout`]).
pub async fn connect(urls: &SecretUrls, name: &str) -> Result<Connection, BrokerError> {
    connect_with_timeout(urls, name, CONNECT_TIMEOUT).await
}

/// Opens a connection named after the process and its role, as shown in RabbitMQ's connection list, to one
/// of the nodes of `urls`: they are tried in a shuffled order, so that the processes of a deployment spread
/// over the nodes and none keeps coming back to a node that is down, each for at most `timeout` (a node
/// cut off the network answers nothing). The error of a single node is its own; that of several lists each.
pub async fn connect_with_timeout(
    urls: &SecretUrls,
    name: &str,
    timeout: Duration,
) -> Result<Connection, BrokerError> {
    let mut order: Vec<&SecretUrl> = urls.iter().collect();
    fastrand::shuffle(&mut order);
    let mut failures = Vec::with_capacity(order.len());
    for url in order {
        let attempt = match tokio::time::timeout(timeout, connect_to_node(url, name)).await {
            Ok(attempt) => attempt,
            Err(_) => {
                Err(BrokerError::ConnectTimeout { url: redact(url.expose()), seconds: timeout.as_secs() })
            }
        };
        match attempt {
            Ok(connection) => {
                if urls.len() > 1 {
                    tracing::debug!(node = %url, connection = name, "connected to a broker node");
                }
                return Ok(connection);
            }
            Err(error) if urls.len() == 1 => return Err(error),
            Err(error) => {
                tracing::debug!(node = %url, %error, "broker node unreachable; trying the next");
                failures.push(error.to_string());
            }
        }
    }
    if failures.is_empty() {
        return Err(BrokerError::NoNodes);
    }
    Err(BrokerError::AllNodes { nodes: failures.len(), errors: failures.join("; ") })
}

impl crate::BrokerSettings {
    /// [`connect_with_timeout`] to this broker's nodes with its `connect_timeout_secs`.
    pub async fn connect(&self, name: &str) -> Result<Connection, BrokerError> {
        let timeout = Duration::from_secs(self.connect_timeout_secs.max(1));
        connect_with_timeout(&self.url, name, timeout).await
    }
}

/// Opens a connection to the one node of `url`.
///
/// `amqps://` URLs use TLS (rustls), verifying the broker's certificate against the system's trust store
/// plus, if given, the CA certificates of the URL's `cacertfile` query parameter (a PEM file). `certfile`
/// and `keyfile` (PEM) add a client certificate. These are the parameter names of RabbitMQ's own URI
/// specification; they are read here and not sent to the broker.
async fn connect_to_node(url: &SecretUrl, name: &str) -> Result<Connection, BrokerError> {
    let url = url.expose();
    let connect_error = |source| BrokerError::Connect { url: redact(url), source };
    let tls = tls_config(url).map_err(|why| BrokerError::Tls { url: redact(url), why })?;
    let properties = ConnectionProperties::default().with_connection_name(name.to_string().into());
    DefaultConnectionBuilder::new()
        .map_err(connect_error)?
        .with_uri_str(url.to_string())
        .with_properties(properties)
        .with_tls_config(tls)
        .connect()
        .await
        .map_err(connect_error)
}

/// The TLS files named in the URL's query, read; or why not.
fn tls_config(url: &str) -> Result<OwnedTLSConfig, String> {
    let parameters = TlsParameters::parse(url);
    if parameters == TlsParameters::default() {
        return Ok(OwnedTLSConfig::default());
    }
    if !url.starts_with("amqps://") {
        return Err("cacertfile, certfile and keyfile need an amqps:// URL".into());
    }
    let read = |parameter: &str, path: &str| {
        std::fs::read(path).map_err(|e| format!("cannot read {parameter}={path}: {e}"))
    };
    let cert_chain = match &parameters.cacertfile {
        Some(path) => Some(
            String::from_utf8(read("cacertfile", path)?)
                .map_err(|_| format!("cacertfile={path} is not a PEM file"))?,
        ),
        None => None,
    };
    let identity = match (&parameters.certfile, &parameters.keyfile) {
        (Some(cert), Some(key)) => {
            Some(OwnedIdentity::PKCS8 { pem: read("certfile", cert)?, key: read("keyfile", key)? })
        }
        (None, None) => None,
        _ => return Err("certfile and keyfile go together".into()),
    };
    Ok(OwnedTLSConfig { identity, cert_chain })
}

#[derive(Debug, Default, PartialEq, Eq)]
struct TlsParameters {
    cacertfile: Option<String>,
    certfile: Option<String>,
    keyfile: Option<String>,
}

impl TlsParameters {
    fn parse(url: &str) -> TlsParameters {
        let mut parameters = TlsParameters::default();
        let Ok(parsed) = url::Url::parse(url) else {
            return parameters; // lapin reports the malformed URL
        };
        for (key, value) in parsed.query_pairs() {
            let slot = match key.as_ref() {
                "cacertfile" => &mut parameters.cacertfile,
                "certfile" => &mut parameters.certfile,
                "keyfile" => &mut parameters.keyfile,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        parameters
    }
}

fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((credentials, rest)) => match credentials.rsplit_once(':') {
            Some((user, _password)) if user.contains("://") => format!("{user}:***@{rest}"),
            _ => format!("***@{rest}"),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_do_not_show_the_password() {
        assert_eq!(super::redact("amqp://user:pw@host:1/%2f"), "amqp://user:***@host:1/%2f");
        assert_eq!(super::redact("amqp://host:1/%2f"), "amqp://host:1/%2f");
    }

    #[test]
    fn tls_files_are_read_from_the_query_of_the_url() {
        let parameters =
            TlsParameters::parse("amqps://u:p@host:5671/%2f?heartbeat=10&cacertfile=/etc/ca%20x.pem");
        assert_eq!(parameters.cacertfile.as_deref(), Some("/etc/ca x.pem"));
        assert_eq!(parameters.certfile, None);
        assert_eq!(TlsParameters::parse("amqp://host/%2f"), TlsParameters::default());
    }

    #[test]
    fn a_ca_file_with_a_plain_amqp_url_or_a_missing_file_is_an_error_naming_it() {
        let error = tls_config("amqp://u:secret@host/%2f?cacertfile=/x.pem").unwrap_err();
        assert!(error.contains("need an amqps:// URL") && !error.contains("secret"), "{error}");
        let error = tls_config("amqps://host/%2f?cacertfile=/nonexistent/ca.pem").unwrap_err();
        assert!(error.contains("cacertfile=/nonexistent/ca.pem"), "{error}");
        let error = tls_config("amqps://host/%2f?certfile=/c.pem").unwrap_err();
        assert!(error.contains("go together"), "{error}");
    }

    #[tokio::test]
    async fn with_every_node_down_the_error_names_each_node_without_its_password() {
        // Two ports nothing listens on: refused at once, and each refusal is in the message.
        let urls = SecretUrls::parse("amqp://u:secret@127.0.0.1:1/%2f,amqp://u:secret@127.0.0.1:2/%2f");
        let error = connect(&urls, "test").await.expect_err("no node answers").to_string();
        assert!(error.contains("any of the 2 broker nodes"), "{error}");
        assert!(error.contains("127.0.0.1:1") && error.contains("127.0.0.1:2"), "{error}");
        assert!(!error.contains("secret"), "{error}");
        let error = connect(&SecretUrls::default(), "test").await.expect_err("no node").to_string();
        assert!(error.contains("broker.url"), "{error}");
    }

    #[tokio::test]
    async fn a_node_that_never_answers_is_given_up_after_the_timeout() {
        // A listener that accepts and then says nothing: the AMQP handshake never completes.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("amqp://u:secret@{}/%2f", silent.local_addr().unwrap());
        let urls = SecretUrls::parse(&format!("{url},amqp://u:secret@127.0.0.1:1/%2f"));
        let started = std::time::Instant::now();
        let error = connect_with_timeout(&urls, "test", Duration::from_millis(300))
            .await
            .expect_err("no node completes a handshake")
            .to_string();
        assert!(error.contains("did not answer within"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_tls_error_names_the_url_without_its_password() {
        let error = connect(&"amqps://u:secret@127.0.0.1:1/%2f?cacertfile=/nonexistent.pem".into(), "test")
            .await
            .expect_err("an unreadable CA file")
            .to_string();
        assert!(error.contains("u:***@127.0.0.1:1") && !error.contains("secret"), "{error}");
    }
}
