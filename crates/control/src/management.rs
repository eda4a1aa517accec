//! RabbitMQ's management HTTP API, where `newspipe status` reads each queue's message rates: published into
//! the queue (in), delivered to consumers (out) and acknowledged. AMQP itself only tells depth and consumers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use newspipe_broker::BrokerSettings;
use serde::Deserialize;

/// A status screen must not hang on a broker whose management API is slow or firewalled.
const TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The broker keeps a sample of each counter every 5 s, and its instant `rate` compares the last two: it
/// flickers between a value and 0.0. The average over three samples is steady and still recent.
pub const RATES_AGE_SECS: u32 = 15;

/// One queue's rates in messages per second, averaged over the last [`RATES_AGE_SECS`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueRates {
    pub published: f64,
    pub delivered: f64,
    pub acked: f64,
}

/// What the management API says of one queue: its rates and, for a quorum queue, where its replicas are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueDetails {
    pub rates: QueueRates,
    /// The node of the queue's Raft leader.
    pub leader: Option<String>,
    /// The nodes holding a replica.
    pub members: Option<Vec<String>>,
    /// The members that are up.
    pub online: Option<Vec<String>>,
}

/// One node of the broker's cluster, as the management API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct ClusterNode {
    /// The Erlang node name, `rabbit@host`.
    pub name: String,
    /// Whether the node is up and in the cluster.
    pub running: bool,
}

/// A client of the management API of the broker in `broker.url`: one endpoint per node (or those of
/// `broker.management_url`), asked in turn, starting with the last that answered, so that the status of a
/// cluster still shows while one of its nodes is down.
pub struct Management {
    client: reqwest::Client,
    endpoints: Vec<Endpoint>,
    /// The endpoint that answered last.
    preferred: AtomicUsize,
}

struct Endpoint {
    /// Base URL with the credentials (reqwest turns them into basic auth).
    base: url::Url,
    /// The base URL without credentials: for messages.
    address: String,
    /// The virtual host, percent-encoded as it goes into a path.
    vhost: String,
}

#[derive(Deserialize)]
struct QueueInfo {
    #[serde(default)]
    message_stats: Option<MessageStats>,
    #[serde(default)]
    leader: Option<String>,
    #[serde(default)]
    members: Option<Vec<String>>,
    #[serde(default)]
    online: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct MessageStats {
    publish_details: Option<Rate>,
    deliver_get_details: Option<Rate>,
    ack_details: Option<Rate>,
}

#[derive(Deserialize)]
struct Rate {
    rate: f64,
    /// Over `msg_rates_age`, when the broker has samples for it.
    #[serde(default)]
    avg_rate: Option<f64>,
}

/// Why one endpoint gave no answer, and whether another node could give one.
struct Failure {
    why: String,
    /// The node was not reached or could not answer (refused, timed out, 5xx): the next one is asked.
    try_next: bool,
}

impl Management {
    /// The API of each node of `broker.management_url`, or of each AMQP host on the default management port.
    pub fn new(broker: &BrokerSettings) -> Result<Management, String> {
        let first_amqp = broker.url.first().map(|u| u.expose()).ok_or("broker.url holds no URL")?;
        let pairs: Vec<(&str, &str)> = if broker.management_url.is_empty() {
            broker.url.iter().map(|amqp| (amqp.expose(), "")).collect()
        } else {
            broker.management_url.iter().map(|management| (first_amqp, management.expose())).collect()
        };
        let endpoints = pairs
            .into_iter()
            .map(|(amqp, management)| {
                let (base, vhost) = endpoint(amqp, management)?;
                let mut address = base.clone();
                let _ = address.set_username("");
                let _ = address.set_password(None);
                Ok(Endpoint { base, address: address.to_string(), vhost })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {}", chain(&e)))?;
        Ok(Management { client, endpoints, preferred: AtomicUsize::new(0) })
    }

    /// The rates and replicas of each of `queues`; an error says, in one line, why they are unavailable.
    pub async fn queues(&self, queues: &[&str]) -> Result<HashMap<String, QueueDetails>, String> {
        let answers = join_all(queues.iter().map(|queue| self.queue_details(queue))).await;
        queues.iter().zip(answers).map(|(queue, details)| Ok((queue.to_string(), details?))).collect()
    }

    /// The rates of each of `queues`.
    pub async fn rates(&self, queues: &[&str]) -> Result<HashMap<String, QueueRates>, String> {
        Ok(self.queues(queues).await?.into_iter().map(|(name, details)| (name, details.rates)).collect())
    }

    /// The nodes of the broker's cluster (one for a single broker).
    pub async fn nodes(&self) -> Result<Vec<ClusterNode>, String> {
        let body =
            self.get("the cluster's nodes", |_| "api/nodes".into(), Some("columns=name,running")).await?;
        serde_json::from_slice(&body)
            .map_err(|e| format!("the management API sent unexpected JSON for its nodes: {e}"))
    }

    async fn queue_details(&self, queue: &str) -> Result<QueueDetails, String> {
        // Only the fields we read: the full answer also lists every consumer and the backing queue's state.
        let query = format!(
            "msg_rates_age={RATES_AGE_SECS}&msg_rates_incr=5&columns=message_stats.publish_details,\
             message_stats.deliver_get_details,message_stats.ack_details,leader,members,online"
        );
        let body = self
            .get(
                &format!("queue {queue}"),
                |vhost| format!("api/queues/{vhost}/{}", encode_segment(queue)),
                Some(&query),
            )
            .await?;
        let info: QueueInfo = serde_json::from_slice(&body)
            .map_err(|e| format!("the management API sent unexpected JSON for queue {queue}: {e}"))?;
        let stats = info.message_stats;
        let rate = |pick: fn(&MessageStats) -> &Option<Rate>| {
            stats.as_ref().and_then(|s| pick(s).as_ref()).map_or(0.0, |r| r.avg_rate.unwrap_or(r.rate))
        };
        Ok(QueueDetails {
            rates: QueueRates {
                published: rate(|s| &s.publish_details),
                delivered: rate(|s| &s.deliver_get_details),
                acked: rate(|s| &s.ack_details),
            },
            leader: info.leader,
            members: info.members,
            online: info.online,
        })
    }

    /// GETs `path(vhost)` under the API's base from each endpoint in turn until one answers.
    async fn get(
        &self,
        what: &str,
        path: impl Fn(&str) -> String,
        query: Option<&str>,
    ) -> Result<Vec<u8>, String> {
        let first = self.preferred.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        for offset in 0..self.endpoints.len() {
            let index = (first + offset) % self.endpoints.len();
            match self.get_from(&self.endpoints[index], what, &path, query).await {
                Ok(body) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(body);
                }
                Err(Failure { why, try_next: false }) => return Err(why),
                Err(Failure { why, try_next: true }) => failures.push(why),
            }
        }
        Err(failures.join("; "))
    }

    async fn get_from(
        &self,
        endpoint: &Endpoint,
        what: &str,
        path: &impl Fn(&str) -> String,
        query: Option<&str>,
    ) -> Result<Vec<u8>, Failure> {
        let address = &endpoint.address;
        let url = endpoint.base.join(&path(&endpoint.vhost)).map_err(|e| Failure {
            why: format!("{address}: cannot make the URL for {what}: {e}"),
            try_next: false,
        })?;
        let mut url = url;
        url.set_query(query);
        let response = self.client.get(url).send().await.map_err(|e| Failure {
            why: if e.is_timeout() {
                format!("the management API at {address} did not answer within {}s", TIMEOUT.as_secs())
            } else {
                format!("cannot reach the management API at {address}: {}", chain(&e))
            },
            try_next: true,
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(Failure {
                why: format!(
                    "the management API at {address} refused the credentials (HTTP 401; set broker.management_url with \
                     a user tagged management, monitoring or administrator)"
                ),
                try_next: false,
            });
        }
        if !status.is_success() {
            return Err(Failure {
                why: format!("the management API at {address} answered HTTP {status} for {what}"),
                try_next: status.is_server_error(),
            });
        }
        response.bytes().await.map(|body| body.to_vec()).map_err(|e| Failure {
            why: format!("reading the management API's answer for {what} from {address}: {}", chain(&e)),
            try_next: true,
        })
    }
}

/// A queue name as one path segment (`/` and `%` in it percent-encoded).
fn encode_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The management API's base URL (with credentials, ending in `/`) and the percent-encoded virtual host.
fn endpoint(amqp_url: &str, management_url: &str) -> Result<(url::Url, String), String> {
    let amqp = url::Url::parse(amqp_url).map_err(|e| format!("broker.url is not a URL ({e})"))?;
    // The AMQP URI's path is the virtual host, percent-encoded; none means the default, `/`.
    let vhost = match amqp.path().trim_start_matches('/') {
        "" => "%2F".to_string(),
        vhost => vhost.to_string(),
    };
    let mut base = if management_url.trim().is_empty() {
        let host = amqp.host_str().unwrap_or("localhost");
        let (scheme, port) = if amqp.scheme() == "amqps" { ("https", 15671) } else { ("http", 15672) };
        url::Url::parse(&format!("{scheme}://{host}:{port}/")).map_err(|e| {
            format!("cannot derive the management API's URL from host {host:?} of broker.url ({e})")
        })?
    } else {
        let url = url::Url::parse(management_url.trim()).map_err(|e| {
            format!(
                "broker.management_url {:?} is not a URL ({e})",
                newspipe_runtime::redact_url(management_url)
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "broker.management_url must be http:// or https:// (got {}://)",
                url.scheme()
            ));
        }
        url
    };
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    if base.username().is_empty() {
        // The AMQP URI's defaults when it names no user: guest/guest. Both stay percent-encoded.
        let (user, password) = match amqp.username() {
            "" => ("guest", "guest"),
            user => (user, amqp.password().unwrap_or("")),
        };
        base.set_username(user).map_err(|()| "broker.management_url cannot hold credentials".to_string())?;
        base.set_password(Some(password))
            .map_err(|()| "broker.management_url cannot hold credentials".to_string())?;
    }
    Ok((base, vhost))
}

/// The root cause of an error, e.g. "Connection refused (os error 111)": reqwest's own message is a generic
/// "error sending request for url (...)".
fn chain(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_management_url_defaults_to_the_amqp_host_on_port_15672_with_its_credentials() {
        let (base, vhost) = endpoint("amqp://newspipe:s%40cret@rabbitmq:5672/%2f", "").unwrap();
        assert_eq!(base.as_str(), "http://newspipe:s%40cret@rabbitmq:15672/");
        assert_eq!(vhost, "%2f");
        let (base, vhost) = endpoint("amqps://broker.example/pipeline", "").unwrap();
        assert_eq!(base.as_str(), "https://guest:guest@broker.example:15671/");
        assert_eq!(vhost, "pipeline");
        let (_, vhost) = endpoint("amqp://127.0.0.1:5672", "").unwrap();
        assert_eq!(vhost, "%2F");
    }

    #[test]
    fn a_management_url_without_credentials_borrows_those_of_the_amqp_url() {
        let (base, _) = endpoint("amqp://newspipe:pw@127.0.0.1:5692/%2f", "http://127.0.0.1:15694").unwrap();
        assert_eq!(base.as_str(), "http://newspipe:pw@127.0.0.1:15694/");
        let (base, _) =
            endpoint("amqp://newspipe:pw@127.0.0.1:5692/%2f", "https://watcher:other@mq.example/rabbit")
                .unwrap();
        assert_eq!(base.as_str(), "https://watcher:other@mq.example/rabbit/");
    }

    #[test]
    fn a_bad_management_url_is_named_without_its_password() {
        let error = endpoint("amqp://u:p@h/%2f", "ftp://u:s3cret@h/").unwrap_err();
        assert!(error.contains("http://") && !error.contains("s3cret"), "{error}");
        let error = endpoint("amqp://u:p@h/%2f", "not a url s3cret").unwrap_err();
        assert!(error.contains("broker.management_url") && !error.contains("s3cret"), "{error}");
    }
}
