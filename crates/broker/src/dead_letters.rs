//! The dead-letter queue as something a person can work with: list and inspect dead letters without
//! losing any, replay them to the queue they came from, purge them.
//!
//! Where dead letters come from, and what they carry:
//! - a worker dead-letters a message it cannot process at all (see [`crate::consumer`]): the body untouched,
//!   plus headers `x-newspipe-reason`, `x-newspipe-queue` (the work queue's routing key), `x-newspipe-dead-at`
//!   (unix seconds) and `x-newspipe-dead-id` (a random id, stable for the life of the dead letter);
//! - the broker dead-letters a message delivered `broker.delivery_limit` times (a worker crashed on it again
//!   and again): it carries RabbitMQ's `x-death` header (queue, reason, count, time) and none of ours. Its
//!   id is then derived from its content ([`fallback_id`]), so it is stable across listings too.
//!
//! **Reading without losing.** A listing takes messages with `basic.get` (manual ack) on a channel of its
//! own, never acks them, and closes the channel: the broker then returns every unacked message to the queue,
//! in its place. Nothing is removed and no copy is made. The catch is quorum queues' delivery counting: a
//! returned message counts as delivered once more, and RabbitMQ 4.x gives quorum queues a default delivery
//! limit of 20 (3.x has none unless `x-delivery-limit` is set, and the dead queue sets none). The dead queue
//! has no dead-letter exchange of its own, so a message past that limit would be dropped. To keep listings
//! harmless on every version, a listed message whose `x-delivery-count` has reached
//! [`REFRESH_AT_DELIVERY_COUNT`] is *refreshed*: a copy (same body and headers, without the count) is
//! published to the dead exchange with a confirm, and only then is the original acked. It moves to the back
//! of the queue, and its id does not change.
//!
//! **Replay** publishes each chosen message to the work exchange with its origin's routing key, waits for the
//! broker's confirm, and only then acks the dead letter: a crash in between leaves a duplicate (the workers
//! are idempotent), never a loss. Our dead-letter and retry headers, and RabbitMQ's `x-death`, are removed so
//! the message starts afresh with all its retries. A replay looks at most at the messages that were in the
//! queue when it started, so a message that dies again while the replay runs is not replayed in a loop.

use std::collections::BTreeMap;
use std::time::Duration;

use lapin::options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions, QueuePurgeOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection};
use sha2::{Digest, Sha256};

use crate::consumer::{
    ATTEMPT_HEADER, DEAD_AT_HEADER, DEAD_ID_HEADER, DEAD_QUEUE_HEADER, DEAD_REASON_HEADER, LAST_ERROR_HEADER,
    header_u64,
};
use crate::topology::{Queue, Topology, long_string};
use crate::{BrokerError, Publisher};

/// A listed message whose broker delivery count reached this is re-published and acked (see the module doc).
pub const REFRESH_AT_DELIVERY_COUNT: u64 = 10;
/// Header a replayed message carries: how many times it was replayed.
pub const REPLAYED_HEADER: &str = "x-newspipe-replayed";
/// Bytes of the body kept as a preview in listings.
pub const PREVIEW_BYTES: usize = 240;

/// One dead letter, as `newspipe dlq list` and `dlq show` present it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// Stable id: our `x-newspipe-dead-id` header, else derived from the content.
    pub id: String,
    /// The work queue (routing key) it came from, when known: `fetch`, `extract` or `store`.
    pub queue: Option<String>,
    /// Why it was dead-lettered, for a person.
    pub reason: String,
    /// When it was first and last dead-lettered (unix seconds), when known.
    pub first_death: Option<u64>,
    pub last_death: Option<u64>,
    /// How many times it died (RabbitMQ's `x-death` count; 1 for ours).
    pub deaths: u64,
    /// The job id (AMQP correlation id), when the producer set one.
    pub job_id: Option<String>,
    pub content_type: Option<String>,
    /// The body's `content-encoding` on the wire (`zstd` for pages and articles), when it has one.
    pub content_encoding: Option<String>,
    /// The body's size as it sits in the queue (compressed, when it is).
    pub body_bytes: usize,
    /// The start of the body, as text (decompressed when it can be; invalid UTF-8 replaced, control
    /// characters escaped).
    pub preview: String,
    /// Every header, rendered as text.
    pub headers: BTreeMap<String, String>,
    /// The whole body, decompressed when it can be, only when asked for ([`scan`]'s `full_body`).
    #[serde(skip)]
    pub body: Option<Vec<u8>>,
}

/// The body as a person should read it, up to `max` bytes of it: decompressed by its content encoding, else
/// as it came (a body that does not decode is often why it is a dead letter, and is shown as it is).
fn readable(properties: &BasicProperties, body: &[u8], max: usize) -> Vec<u8> {
    let encoding = properties.content_encoding().as_ref().map(|e| e.as_str());
    let decoded = match max {
        usize::MAX => crate::encoding::decode(body, encoding),
        _ => crate::encoding::decode_prefix(body, encoding, max),
    };
    decoded.unwrap_or_else(|_| body[..body.len().min(max)].to_vec())
}

/// What a listing found.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Listing {
    /// Messages in the dead queue when the listing started.
    pub total: u32,
    pub letters: Vec<DeadLetter>,
}

/// What a replay did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ReplayReport {
    /// (id, routing key) of each message put back.
    #[schema(value_type = Vec<Vec<String>>)]
    pub replayed: Vec<(String, String)>,
    /// (id, why) of each chosen message left in the dead queue.
    #[schema(value_type = Vec<Vec<String>>)]
    pub kept: Vec<(String, String)>,
}

/// Which dead letters a replay takes.
#[derive(Debug, Clone)]
pub enum Selection {
    All,
    /// Full ids (see [`resolve_ids`] for prefixes).
    Ids(Vec<String>),
}

impl Selection {
    fn contains(&self, id: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::Ids(ids) => ids.iter().any(|i| i == id),
        }
    }
}

/// Number of messages in the dead queue (a passive declaration: nothing is created).
pub async fn depth(channel: &Channel, topology: &Topology) -> Result<u32, BrokerError> {
    let name = topology.dead_queue();
    let queue = channel
        .queue_declare(name.as_str().into(), QueueDeclareOptions::default().passive(), FieldTable::default())
        .await
        .map_err(BrokerError::amqp(format!("inspect queue {name}")))?;
    Ok(queue.message_count())
}

/// Lists up to `limit` dead letters, oldest first, leaving every one of them in the queue. With `full_body`
/// the listed letters keep their whole body (`newspipe dlq show`); otherwise only a preview.
pub async fn scan(
    connection: &Connection,
    topology: &Topology,
    limit: usize,
    full_body: &(dyn Fn(&DeadLetter) -> bool + Sync),
    publish_timeout: Duration,
) -> Result<Listing, BrokerError> {
    let channel = connection.create_channel().await.map_err(BrokerError::amqp("open a channel"))?;
    let total = depth(&channel, topology).await?;
    let queue = topology.dead_queue();
    let mut letters = Vec::new();
    let mut refresh = Vec::new();
    let result = async {
        while letters.len() < limit && letters.len() < total as usize {
            let Some(got) = channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(BrokerError::amqp(format!("read {queue}")))?
            else {
                break;
            };
            let delivery = got.delivery;
            let mut letter = describe(&delivery.properties, &delivery.data, topology);
            if full_body(&letter) {
                letter.body = Some(readable(&delivery.properties, &delivery.data, usize::MAX));
            }
            if header_u64(delivery.properties.headers(), "x-delivery-count")
                .is_some_and(|n| n >= REFRESH_AT_DELIVERY_COUNT)
            {
                refresh.push(delivery);
            }
            letters.push(letter);
        }
        // Refreshing: publish the copy with a confirm, then ack the original (see the module doc).
        if !refresh.is_empty() {
            let publisher = Publisher::open(connection, topology.clone(), publish_timeout).await?;
            for delivery in refresh {
                let mut properties = delivery.properties.clone();
                let mut headers = properties.headers().clone().unwrap_or_default();
                let id = describe(&properties, &delivery.data, topology).id;
                headers.insert(DEAD_ID_HEADER.into(), long_string(&id));
                properties = properties.with_headers(strip(headers, &["x-delivery-count"]));
                publisher
                    .publish_raw(
                        &topology.dead_exchange(),
                        delivery.routing_key.as_str(),
                        &delivery.data,
                        properties,
                    )
                    .await?;
                delivery
                    .acker
                    .ack(BasicAckOptions::default())
                    .await
                    .map_err(BrokerError::amqp(format!("ack refreshed dead letter {id}")))?;
            }
        }
        Ok::<(), BrokerError>(())
    }
    .await;
    // Closing the channel returns every message we did not ack to the queue.
    let _ = tokio::time::timeout(Duration::from_secs(5), channel.close(200, "listed".into())).await;
    result?;
    Ok(Listing { total, letters })
}

/// Turns ids or unique id prefixes (at least 4 characters) into full ids, using a listing. Errors name the
/// unknown or ambiguous input.
pub fn resolve_ids(listing: &Listing, wanted: &[String]) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    for want in wanted {
        let matches: Vec<&DeadLetter> = listing
            .letters
            .iter()
            .filter(|l| l.id == *want || (want.len() >= 4 && l.id.starts_with(want.as_str())))
            .collect();
        match matches.as_slice() {
            [] => return Err(format!("no dead letter with id `{want}` (see `newspipe dlq list`)")),
            [one] => ids.push(one.id.clone()),
            _ => {
                return Err(format!(
                    "id `{want}` matches {} dead letters; give more of it (see `newspipe dlq list`)",
                    matches.len()
                ));
            }
        }
    }
    Ok(ids)
}

/// Puts the selected dead letters back on the queue they came from: publish with a confirm, then ack.
/// Messages whose origin is unknown stay in the dead queue and are reported in [`ReplayReport::kept`].
pub async fn replay(
    connection: &Connection,
    topology: &Topology,
    selection: &Selection,
    publish_timeout: Duration,
) -> Result<ReplayReport, BrokerError> {
    let channel = connection.create_channel().await.map_err(BrokerError::amqp("open a channel"))?;
    let total = depth(&channel, topology).await?;
    let publisher = Publisher::open(connection, topology.clone(), publish_timeout).await?;
    let queue = topology.dead_queue();
    let mut report = ReplayReport::default();
    let result = async {
        for _ in 0..total {
            let Some(got) = channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .map_err(BrokerError::amqp(format!("read {queue}")))?
            else {
                break;
            };
            let delivery = got.delivery;
            let letter = describe(&delivery.properties, &delivery.data, topology);
            if !selection.contains(&letter.id) {
                continue; // left unacked: back in the queue when the channel closes
            }
            let Some(routing_key) = letter.queue.clone() else {
                report.kept.push((letter.id, "its origin queue is unknown".into()));
                continue;
            };
            let replayed = header_u64(delivery.properties.headers(), REPLAYED_HEADER).unwrap_or(0) + 1;
            let mut headers = strip(
                delivery.properties.headers().clone().unwrap_or_default(),
                &[
                    DEAD_REASON_HEADER,
                    DEAD_QUEUE_HEADER,
                    DEAD_AT_HEADER,
                    DEAD_ID_HEADER,
                    ATTEMPT_HEADER,
                    LAST_ERROR_HEADER,
                    "x-delivery-count",
                    "x-death",
                    "x-first-death-exchange",
                    "x-first-death-queue",
                    "x-first-death-reason",
                    "x-last-death-exchange",
                    "x-last-death-queue",
                    "x-last-death-reason",
                ],
            );
            headers.insert(REPLAYED_HEADER.into(), AMQPValue::LongLongInt(replayed as i64));
            let properties = delivery.properties.clone().with_headers(headers).with_delivery_mode(2);
            publisher
                .publish_raw(&topology.work_exchange(), &routing_key, &delivery.data, properties)
                .await?;
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .map_err(BrokerError::amqp(format!("ack replayed dead letter {}", letter.id)))?;
            report.replayed.push((letter.id, routing_key));
        }
        Ok::<(), BrokerError>(())
    }
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(5), channel.close(200, "replayed".into())).await;
    result?;
    if let Selection::Ids(ids) = selection {
        for id in ids {
            let done =
                report.replayed.iter().any(|(i, _)| i == id) || report.kept.iter().any(|(i, _)| i == id);
            if !done {
                report
                    .kept
                    .push((id.clone(), "not found in the dead queue (replayed or purged meanwhile?)".into()));
            }
        }
    }
    Ok(report)
}

/// Deletes every dead letter; returns how many there were.
pub async fn purge(channel: &Channel, topology: &Topology) -> Result<u32, BrokerError> {
    let name = topology.dead_queue();
    channel
        .queue_purge(name.as_str().into(), QueuePurgeOptions::default())
        .await
        .map_err(BrokerError::amqp(format!("purge {name}")))
}

fn strip(headers: FieldTable, keys: &[&str]) -> FieldTable {
    let mut kept = FieldTable::default();
    for (key, value) in headers.inner() {
        if !keys.contains(&key.as_str()) {
            kept.insert(key.clone(), value.clone());
        }
    }
    kept
}

/// Reads a dead letter's headers into what a person wants to see.
pub fn describe(properties: &BasicProperties, body: &[u8], topology: &Topology) -> DeadLetter {
    let headers = properties.headers().clone().unwrap_or_default();
    let text = |key: &str| headers.inner().get(key).and_then(as_text);
    let deaths = x_death(&headers);
    let prefix = format!("{}.", topology.work_exchange());
    let queue_key = |queue: &str| {
        queue.strip_prefix(&prefix).and_then(Queue::from_routing_key).map(|q| q.routing_key().to_string())
    };

    let ours = text(DEAD_REASON_HEADER);
    let queue = text(DEAD_QUEUE_HEADER)
        .filter(|q| Queue::from_routing_key(q).is_some())
        .or_else(|| text("x-first-death-queue").as_deref().and_then(queue_key))
        // `x-death` is newest first; the work queue is the last work-queue entry (the first death).
        .or_else(|| deaths.iter().rev().find_map(|d| queue_key(&d.queue)));
    let reason = match (&ours, deaths.iter().find(|d| queue_key(&d.queue).is_some())) {
        (Some(reason), _) => reason.clone(),
        (None, Some(death)) => broker_reason(death),
        (None, None) => "unknown (no x-newspipe-reason or x-death header)".into(),
    };
    let our_time = text(DEAD_AT_HEADER).and_then(|t| t.parse::<u64>().ok());
    let times: Vec<u64> = deaths.iter().filter_map(|d| d.time).chain(our_time).collect();
    let id = text(DEAD_ID_HEADER).unwrap_or_else(|| fallback_id(properties, body, &deaths));
    DeadLetter {
        id,
        queue,
        reason,
        first_death: times.iter().min().copied(),
        last_death: times.iter().max().copied(),
        deaths: if ours.is_some() { 1 } else { deaths.iter().map(|d| d.count).sum::<u64>().max(1) },
        job_id: properties.correlation_id().as_ref().map(|c| c.as_str().to_string()),
        content_type: properties.content_type().as_ref().map(|c| c.as_str().to_string()),
        content_encoding: properties.content_encoding().as_ref().map(|c| c.as_str().to_string()),
        body_bytes: body.len(),
        // One byte past the preview, so `preview` knows to mark it cut.
        preview: preview(&readable(properties, body, PREVIEW_BYTES + 1), PREVIEW_BYTES),
        headers: headers.inner().iter().map(|(k, v)| (k.to_string(), render(v))).collect(),
        body: None,
    }
}

fn broker_reason(death: &Death) -> String {
    let why = match death.reason.as_str() {
        "delivery_limit" => {
            "delivered too many times (broker.delivery_limit): a worker kept failing or crashing on it"
        }
        "rejected" => "rejected by a consumer",
        "expired" => "expired (message TTL)",
        "maxlen" => "the queue was at its length limit",
        other => other,
    };
    format!("dead-lettered by the broker from {}: {why}", death.queue)
}

/// A content-derived id for a message without our id header: stable across listings.
fn fallback_id(properties: &BasicProperties, body: &[u8], deaths: &[Death]) -> String {
    let mut hash = Sha256::new();
    if let Some(id) = properties.message_id() {
        hash.update(id.as_str());
    }
    if let Some(id) = properties.correlation_id() {
        hash.update(id.as_str());
    }
    if let Some(first) = deaths.last() {
        hash.update(first.queue.as_bytes());
        hash.update(first.time.unwrap_or(0).to_be_bytes());
    }
    hash.update(body);
    hash.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug)]
struct Death {
    queue: String,
    reason: String,
    count: u64,
    time: Option<u64>,
}

fn x_death(headers: &FieldTable) -> Vec<Death> {
    let Some(AMQPValue::FieldArray(entries)) = headers.inner().get("x-death") else {
        return Vec::new();
    };
    entries
        .as_slice()
        .iter()
        .filter_map(|entry| match entry {
            AMQPValue::FieldTable(table) => {
                let field = |k: &str| table.inner().get(k).and_then(as_text).unwrap_or_default();
                let wrapped = Some(table.clone());
                Some(Death {
                    queue: field("queue"),
                    reason: field("reason"),
                    count: header_u64(&wrapped, "count").unwrap_or(1),
                    time: header_u64(&wrapped, "time"),
                })
            }
            _ => None,
        })
        .collect()
}

fn as_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

fn render(value: &AMQPValue) -> String {
    match value {
        AMQPValue::LongString(_) | AMQPValue::ShortString(_) => as_text(value).unwrap_or_default(),
        AMQPValue::FieldArray(items) => {
            format!("[{}]", items.as_slice().iter().map(render).collect::<Vec<_>>().join(", "))
        }
        AMQPValue::FieldTable(table) => format!(
            "{{{}}}",
            table.inner().iter().map(|(k, v)| format!("{k}: {}", render(v))).collect::<Vec<_>>().join(", ")
        ),
        other => {
            let wrapped = Some({
                let mut t = FieldTable::default();
                t.insert(ShortString::from("v"), other.clone());
                t
            });
            header_u64(&wrapped, "v").map(|n| n.to_string()).unwrap_or_else(|| format!("{other:?}"))
        }
    }
}

/// The first `max` bytes as one line of text.
pub fn preview(body: &[u8], max: usize) -> String {
    let cut = &body[..body.len().min(max)];
    let mut text: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if body.len() > max {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BrokerSettings;

    fn topology() -> Topology {
        Topology::new(&BrokerSettings { prefix: "np".into(), ..BrokerSettings::default() })
    }

    #[test]
    fn a_dead_letter_of_ours_shows_its_reason_queue_time_and_id() {
        let mut headers = FieldTable::default();
        headers.insert(DEAD_REASON_HEADER.into(), long_string("message has no `schema` field"));
        headers.insert(DEAD_QUEUE_HEADER.into(), long_string("fetch"));
        headers.insert(DEAD_AT_HEADER.into(), long_string("1764201600"));
        headers.insert(DEAD_ID_HEADER.into(), long_string("0123456789abcdef"));
        let properties = BasicProperties::default().with_headers(headers);
        let letter = describe(&properties, b"{\"url\":\n\"https://a/\"}", &topology());
        assert_eq!(letter.id, "0123456789abcdef");
        assert_eq!(letter.queue.as_deref(), Some("fetch"));
        assert_eq!(letter.reason, "message has no `schema` field");
        assert_eq!((letter.first_death, letter.last_death), (Some(1764201600), Some(1764201600)));
        assert_eq!(letter.preview, "{\"url\": \"https://a/\"}");
    }

    #[test]
    fn a_message_the_broker_dead_lettered_is_traced_to_its_work_queue_by_x_death() {
        let death = |queue: &str, reason: &str, time: u64| {
            let mut t = FieldTable::default();
            t.insert("queue".into(), long_string(queue));
            t.insert("reason".into(), long_string(reason));
            t.insert("count".into(), AMQPValue::LongLongInt(1));
            t.insert("time".into(), AMQPValue::Timestamp(time));
            AMQPValue::FieldTable(t)
        };
        let mut headers = FieldTable::default();
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(
                vec![death("np.extract", "delivery_limit", 200), death("np.delay.200ms", "expired", 100)]
                    .into(),
            ),
        );
        let properties = BasicProperties::default().with_headers(headers);
        let letter = describe(&properties, b"body", &topology());
        assert_eq!(letter.queue.as_deref(), Some("extract"));
        assert!(letter.reason.contains("np.extract") && letter.reason.contains("delivered too many times"));
        assert_eq!((letter.first_death, letter.last_death), (Some(100), Some(200)));
        assert_eq!(letter.id, describe(&properties, b"body", &topology()).id, "stable id");
        assert_eq!(letter.id.len(), 32);
    }

    #[test]
    fn ids_are_found_by_a_unique_prefix_and_an_ambiguous_one_is_refused() {
        let letter = |id: &str| {
            describe(
                &BasicProperties::default().with_headers({
                    let mut h = FieldTable::default();
                    h.insert(DEAD_ID_HEADER.into(), long_string(id));
                    h
                }),
                b"",
                &topology(),
            )
        };
        let listing = Listing { total: 2, letters: vec![letter("abcd1111"), letter("abcd2222")] };
        assert_eq!(resolve_ids(&listing, &["abcd2".into()]).unwrap(), ["abcd2222"]);
        assert!(resolve_ids(&listing, &["abcd".into()]).unwrap_err().contains("matches 2"));
        assert!(resolve_ids(&listing, &["ffff".into()]).unwrap_err().contains("no dead letter"));
    }
}
