use lapin::{Connection, ConnectionProperties};

use crate::BrokerError;

/// Opens a connection named after the process and its role, as shown in RabbitMQ's connection list.
pub async fn connect(url: &str, name: &str) -> Result<Connection, BrokerError> {
    let properties = ConnectionProperties::default().with_connection_name(name.to_string().into());
    Connection::connect(url, properties)
        .await
        .map_err(|source| BrokerError::Connect { url: redact(url), source })
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
    #[test]
    fn connection_errors_do_not_show_the_password() {
        assert_eq!(super::redact("amqp://user:pw@host:1/%2f"), "amqp://user:***@host:1/%2f");
        assert_eq!(super::redact("amqp://host:1/%2f"), "amqp://host:1/%2f");
    }
}
